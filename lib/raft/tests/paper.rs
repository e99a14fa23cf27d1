//! The rules of the Raft paper (Ongaro and Ousterhout, extended version) and
//! of Ongaro's thesis for pre-vote, check-quorum and ReadIndex, one test per
//! rule. Each test restates the rule, then sets up the situation (init),
//! acts, and checks; the comment ends with the section it comes from.
//!
//! The cluster tests run on `harness.rs`, so the safety checker watches
//! every step of them too. Tests of a single node drive a bare `RaftNode`
//! and look at its `Ready` directly.

use std::cell::Cell;
use std::rc::Rc;

use super::harness::{entries_with_terms, test_config, Cluster};
use crate::raft::{
    AppendOutcome, Body, EntryId, EntryKind, HardState, LogIndex, Message, NodeId, RaftConfig,
    RaftError, RaftNode, Ready, RejectHint, Role, Term,
};

/// A cluster of `size` fresh replicas with the default test configuration
/// (pre-vote and check-quorum on).
fn cluster(size: usize) -> Cluster {
    Cluster::new(size, 1, |_| {})
}

/// A cluster running the paper's basic algorithm: no pre-vote, no
/// check-quorum.
fn basic_cluster(size: usize) -> Cluster {
    Cluster::new(size, 1, basic)
}

fn basic(config: &mut RaftConfig) {
    config.pre_vote = false;
    config.check_quorum = false;
}

/// A bare node `id` of a `size`-node cluster, starting from `log` at `term`.
fn bare_node(id: usize, size: usize, term: u64, terms: &[u64]) -> RaftNode {
    let mut config = test_config(id, size, 1);
    basic(&mut config);
    let hard_state = HardState {
        term: Term(term),
        vote: None,
        commit: LogIndex::ZERO,
    };
    RaftNode::restore(config, hard_state, None, entries_with_terms(terms)).expect("valid")
}

/// Steps `message` into `node`, handles its Ready as a driver would (minus
/// the I/O) and returns the Ready.
fn step(node: &mut RaftNode, message: Message) -> Ready {
    node.step(message);
    take_ready(node)
}

fn take_ready(node: &mut RaftNode) -> Ready {
    let ready = node.ready();
    node.advance();
    ready
}

fn message(from: usize, to: usize, term: u64, body: Body) -> Message {
    Message {
        from: NodeId(from),
        to: NodeId(to),
        term: Term(term),
        body,
    }
}

fn entry_id(index: u64, term: u64) -> EntryId {
    EntryId {
        term: Term(term),
        index: LogIndex(index),
    }
}

/// Counts the messages of the network that match `predicate` (and lets them
/// through).
fn count_messages(cluster: &mut Cluster, predicate: fn(&Message) -> bool) -> Rc<Cell<u32>> {
    let count = Rc::new(Cell::new(0));
    let counter = Rc::clone(&count);
    cluster.network.drop_if = Some(Box::new(move |message| {
        if predicate(message) {
            counter.set(counter.get() + 1);
        }
        false
    }));
    count
}

/// Elects `id` in `cluster`, with as many campaigns as it takes (at most 5).
fn elect(cluster: &mut Cluster, id: usize) {
    for _ in 0..5 {
        cluster.elect(NodeId(id));
        if cluster.node(id).role() == Role::Leader {
            return;
        }
    }
    panic!("n{id} could not be elected:\n{}", cluster.describe());
}

/// Ticks every running replica `ticks` times, delivering all messages after
/// each tick.
fn tick_all(cluster: &mut Cluster, ticks: u32) {
    for _ in 0..ticks {
        for id in 0..cluster.replicas.len() {
            cluster.tick(NodeId(id));
        }
        cluster.stabilize();
    }
}

fn applied_values(cluster: &Cluster, id: usize) -> Vec<u64> {
    cluster.replicas[id].state.values.clone()
}

/// A follower that hears nothing for an election timeout becomes a
/// candidate: it increments its term, votes for itself and asks every other
/// node for its vote. Timeouts are drawn at random from a range so that
/// nodes rarely time out together. Reference: section 5.2.
#[test]
fn follower_campaigns_after_a_randomized_election_timeout() {
    let mut timeouts = Vec::new();
    for id in 0..5 {
        let mut node = bare_node(id, 5, 0, &[]);
        let mut ticks = 0;
        while node.role() == Role::Follower {
            node.tick();
            ticks += 1;
            assert!(ticks < 20, "no election within election_ticks_max");
        }
        assert!(ticks >= 10, "election before election_ticks_min");
        timeouts.push(ticks);
        assert_eq!((node.role(), node.term()), (Role::Candidate, Term(1)));
        let ready = take_ready(&mut node);
        let hard_state = ready.hard_state.expect("term and vote change");
        assert_eq!(hard_state.vote, Some(NodeId(id)), "votes for itself");
        let asked: Vec<usize> = ready.messages_now.iter().map(|sent| sent.to.0).collect();
        assert_eq!(asked.len(), 4, "asks every other node");
        assert!(ready
            .messages_now
            .iter()
            .all(|sent| matches!(sent.body, Body::Vote { .. }) && sent.term == Term(1)));
    }
    timeouts.sort();
    timeouts.dedup();
    assert!(timeouts.len() > 1, "timeouts are randomized: {timeouts:?}");
}

/// A candidate that receives votes from a majority becomes leader; one that
/// cannot reach a majority does not. Reference: section 5.2.
#[test]
fn candidate_wins_only_with_a_majority_of_votes() {
    let mut cluster = basic_cluster(5);
    cluster.network.cut(NodeId(0), NodeId(3));
    cluster.network.cut(NodeId(0), NodeId(4));
    cluster.elect(NodeId(0));
    assert_eq!(cluster.node(0).role(), Role::Leader, "3 of 5 votes win");

    let mut cluster = basic_cluster(5);
    cluster.network.cut(NodeId(0), NodeId(2));
    cluster.network.cut(NodeId(0), NodeId(3));
    cluster.network.cut(NodeId(0), NodeId(4));
    cluster.elect(NodeId(0));
    assert_eq!(
        cluster.node(0).role(),
        Role::Candidate,
        "2 of 5 votes do not"
    );
    assert_eq!(cluster.leader(), None);
}

/// Each server votes for at most one candidate in a term, first come first
/// served; asking again for the same candidate gets the same answer.
/// Reference: section 5.2.
#[test]
fn each_node_votes_at_most_once_per_term() {
    let mut node = bare_node(2, 3, 0, &[]);
    let vote = |from| {
        message(
            from,
            2,
            1,
            Body::Vote {
                last_log: entry_id(0, 0),
            },
        )
    };
    let granted = |ready: &Ready| match ready.messages_after_persist.as_slice() {
        [Message {
            body: Body::VoteResponse { granted },
            ..
        }] => *granted,
        other => panic!("expected one vote answer, got {other:?}"),
    };
    assert!(granted(&step(&mut node, vote(0))), "first candidate");
    assert!(
        !granted(&step(&mut node, vote(1))),
        "second candidate, same term"
    );
    assert!(
        granted(&step(&mut node, vote(0))),
        "the same candidate again"
    );
}

/// A vote is a promise that must survive a crash: the node writes its term
/// and vote before the answer leaves (Figure 2, "respond after updating
/// stable storage"). In a `Ready`, the answer is therefore held back in
/// `messages_after_persist`, next to the hard state to write.
/// Reference: Figure 2.
#[test]
fn votes_and_append_acks_leave_only_after_persisting() {
    let mut node = bare_node(1, 3, 0, &[]);
    let ready = step(
        &mut node,
        message(
            0,
            1,
            1,
            Body::Vote {
                last_log: entry_id(0, 0),
            },
        ),
    );
    assert!(ready.messages_now.is_empty());
    assert_eq!(ready.messages_after_persist.len(), 1);
    assert_eq!(
        ready.hard_state.expect("vote to write").vote,
        Some(NodeId(0))
    );

    let entries = entries_with_terms(&[1]);
    let append = Body::Append {
        prev_log: entry_id(0, 0),
        commit: LogIndex(0),
        entries: entries.clone(),
    };
    let ready = step(&mut node, message(0, 1, 1, append));
    assert_eq!(ready.entries_to_persist, entries);
    assert!(ready.messages_now.is_empty());
    assert!(matches!(
        ready.messages_after_persist[0].body,
        Body::AppendResponse {
            outcome: AppendOutcome::Accepted {
                match_index: LogIndex(1)
            }
        }
    ));
}

/// While waiting for votes, a candidate that hears from a leader of its own
/// term (or newer) recognizes it and returns to follower. Reference: 5.2.
#[test]
fn candidate_follows_a_leader_of_its_term() {
    let mut node = bare_node(2, 3, 0, &[]);
    node.campaign();
    take_ready(&mut node);
    assert_eq!((node.role(), node.term()), (Role::Candidate, Term(1)));
    let heartbeat = Body::Heartbeat {
        commit: LogIndex(0),
        read_round: 0,
    };
    step(&mut node, message(1, 2, 1, heartbeat));
    assert_eq!(
        (node.role(), node.leader()),
        (Role::Follower, Some(NodeId(1)))
    );
}

/// A server that sees a larger term adopts it, and a leader or candidate
/// steps down to follower; requests with a stale term are rejected.
/// Reference: section 5.1.
#[test]
fn newer_terms_win_and_stale_terms_are_ignored() {
    let mut cluster = basic_cluster(3);
    elect(&mut cluster, 0);
    let newer = message(1, 0, 5, Body::HeartbeatResponse { read_round: 0 });
    cluster.node_mut(0).step(newer);
    assert_eq!(
        (cluster.node(0).role(), cluster.node(0).term()),
        (Role::Follower, Term(5))
    );

    let mut node = bare_node(1, 3, 3, &[1]);
    let stale = Body::Append {
        prev_log: entry_id(1, 1),
        commit: LogIndex(1),
        entries: entries_with_terms(&[1, 2])[1..].to_vec(),
    };
    node.step(message(0, 1, 2, stale));
    assert_eq!(node.log().last_index(), LogIndex(1), "stale append ignored");
    assert_eq!(node.status().counters.messages_dropped, 1);
}

/// The leader appends each command to its log, replicates it, and once it
/// is stored on a majority the entry is committed and every server applies
/// it, in log order. Reference: section 5.3.
#[test]
fn leader_replicates_commits_and_everyone_applies_in_order() {
    let mut cluster = cluster(5);
    elect(&mut cluster, 0);
    for value in [10, 20, 30] {
        cluster.propose(NodeId(0), value).expect("leader accepts");
    }
    cluster.stabilize();
    for id in 0..5 {
        assert_eq!(applied_values(&cluster, id), vec![10, 20, 30], "n{id}");
        assert_eq!(cluster.node(id).log().committed(), LogIndex(4), "no-op + 3");
    }
}

/// A new leader appends a no-op entry of its term at once, so that it can
/// commit (and learn) everything its predecessors committed.
/// Reference: sections 5.4.2 and 8.
#[test]
fn new_leader_appends_and_commits_a_no_op() {
    let mut cluster = cluster(3);
    elect(&mut cluster, 1);
    let leader = cluster.node(1);
    let last = leader
        .log()
        .entry(leader.log().last_index())
        .expect("no-op");
    assert_eq!((last.kind, last.term), (EntryKind::NoOp, leader.term()));
    assert_eq!(leader.log().committed(), last.index);
}

/// The consistency check: an Append names the entry before the new ones,
/// and a follower that does not hold it refuses the entries. The refusal
/// carries a hint (where the follower's log ends, or the conflicting term
/// and its first index) so the leader can skip back a whole term at a time.
/// Reference: section 5.3.
#[test]
fn follower_refuses_entries_without_a_matching_predecessor() {
    let mut node = bare_node(1, 3, 3, &[1, 1, 2]);
    let append = |prev_log| Body::Append {
        prev_log,
        commit: LogIndex(0),
        entries: Vec::new(),
    };
    let outcome = |ready: Ready| match &ready.messages_after_persist[0].body {
        Body::AppendResponse { outcome } => *outcome,
        other => panic!("expected an append answer, got {other:?}"),
    };
    let answer = outcome(step(&mut node, message(0, 1, 3, append(entry_id(3, 3)))));
    let conflict = RejectHint::TermConflict {
        term: Term(2),
        first_index: LogIndex(3),
    };
    assert_eq!(
        answer,
        AppendOutcome::Rejected {
            rejected_index: LogIndex(3),
            hint: conflict
        }
    );
    let answer = outcome(step(&mut node, message(0, 1, 3, append(entry_id(5, 3)))));
    let short = RejectHint::LogTooShort {
        last_index: LogIndex(3),
    };
    assert_eq!(
        answer,
        AppendOutcome::Rejected {
            rejected_index: LogIndex(5),
            hint: short
        }
    );
    let answer = outcome(step(&mut node, message(0, 1, 3, append(entry_id(3, 2)))));
    assert_eq!(
        answer,
        AppendOutcome::Accepted {
            match_index: LogIndex(3)
        }
    );
}

/// The logs of Figure 7: the leader of term 8 forces every follower's log to
/// duplicate its own. Missing entries are filled in; conflicting entries
/// (and everything after them) are overwritten, also on a follower with
/// more entries than the leader. Reference: section 5.3, Figure 7.
#[test]
fn leader_overwrites_conflicting_entries_figure_7() {
    let figure_7: [&[u64]; 7] = [
        &[1, 1, 1, 4, 4, 5, 5, 6, 6, 6],       // the leader, for term 8
        &[1, 1, 1, 4, 4, 5, 5, 6, 6],          // (a) missing one entry
        &[1, 1, 1, 4],                         // (b) missing many
        &[1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6],    // (c) one extra entry
        &[1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7], // (d) extra entries of term 7
        &[1, 1, 1, 4, 4, 4, 4],                // (e) missing and extra
        &[1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3],    // (f) a leader of 2 and 3
    ];
    let logs = figure_7
        .iter()
        .map(|terms| {
            (
                HardState {
                    term: Term(7),
                    vote: None,
                    commit: LogIndex(0),
                },
                entries_with_terms(terms),
            )
        })
        .collect();
    let mut cluster = Cluster::with_logs(1, logs, |_| {});
    elect(&mut cluster, 0);
    cluster.stabilize();
    let expected = cluster.log_terms(0);
    assert_eq!(expected.len(), 11, "figure 7 log plus the no-op");
    for id in 1..7 {
        assert_eq!(cluster.log_terms(id), expected, "follower {id}");
    }
}

/// Fast backtracking: with the hint, the leader needs one round trip per
/// conflicting term, not one per entry. Follower (f) of Figure 7 diverges
/// over 8 entries of 2 terms, so it is repaired after 2 rejections.
/// Reference: section 5.3 ("the protocol can be optimized").
#[test]
fn leader_backtracks_a_term_per_rejection() {
    let leader: &[u64] = &[1, 1, 1, 4, 4, 5, 5, 6, 6, 6];
    let follower: &[u64] = &[1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3];
    let logs = [leader, leader, follower]
        .iter()
        .map(|terms| {
            (
                HardState {
                    term: Term(7),
                    vote: None,
                    commit: LogIndex(0),
                },
                entries_with_terms(terms),
            )
        })
        .collect();
    let mut cluster = Cluster::with_logs(1, logs, |_| {});
    cluster.network.cut(NodeId(0), NodeId(2));
    elect(&mut cluster, 0);
    cluster.network.heal();
    let rejections = count_messages(&mut cluster, |message| {
        matches!(
            message.body,
            Body::AppendResponse {
                outcome: AppendOutcome::Rejected { .. }
            }
        )
    });
    tick_all(&mut cluster, 4);
    assert_eq!(cluster.log_terms(2), cluster.log_terms(0));
    assert_eq!(rejections.get(), 2, "one rejection per conflicting term");
}

/// The election restriction: a voter denies its vote to a candidate whose
/// log is less up to date than its own (an older last term, or the same
/// last term and a shorter log), so a leader always holds every committed
/// entry. Reference: section 5.4.1.
#[test]
fn candidate_with_a_stale_log_cannot_win() {
    let logs = [&[1u64][..], &[1, 1], &[1, 2]]
        .iter()
        .map(|terms| {
            (
                HardState {
                    term: Term(2),
                    vote: None,
                    commit: LogIndex(0),
                },
                entries_with_terms(terms),
            )
        })
        .collect::<Vec<_>>();
    let mut cluster = Cluster::with_logs(1, logs.clone(), basic);
    cluster.elect(NodeId(0));
    assert_ne!(cluster.node(0).role(), Role::Leader, "shortest log loses");
    let mut cluster = Cluster::with_logs(1, logs, basic);
    cluster.elect(NodeId(2));
    assert_eq!(
        cluster.node(2).role(),
        Role::Leader,
        "latest last term wins"
    );
}

/// Figure 8: a leader must not commit an entry of an older term just because
/// a majority stores it, since a later leader may still overwrite it. Only
/// an entry of the current term commits by counting; older ones commit
/// with it. Reference: section 5.4.2, Figure 8.
#[test]
fn old_term_entries_are_not_committed_by_counting_figure_8() {
    // S0 and S1 hold (2, t2) from S0's earlier leadership; S4 holds (2, t3)
    // from a leadership that reached nobody.
    let logs = [&[1u64, 2][..], &[1, 2], &[1], &[1], &[1, 3]]
        .iter()
        .map(|terms| {
            (
                HardState {
                    term: Term(3),
                    vote: None,
                    commit: LogIndex(0),
                },
                entries_with_terms(terms),
            )
        })
        .collect();
    let mut cluster = Cluster::with_logs(1, logs, |config| {
        basic(config);
        config.append_entries_max = 1;
    });
    cluster.network.cut(NodeId(0), NodeId(3));
    cluster.network.cut(NodeId(0), NodeId(4));
    // S2 receives (2, t2) but not the term-4 no-op: (2, t2) is now on a
    // majority (S0, S1, S2), while the no-op is on S0 and S1 only. (The
    // first Append to S2 gets through: S2 rejects it, lacking index 2.)
    let mut first = true;
    cluster.network.drop_if = Some(Box::new(move |message| {
        let carries_no_op = matches!(&message.body, Body::Append { entries, .. }
            if entries.iter().any(|entry| entry.term == Term(4)));
        if message.to != NodeId(2) || !carries_no_op {
            return false;
        }
        !std::mem::take(&mut first)
    }));
    elect(&mut cluster, 0);
    tick_all(&mut cluster, 3);
    assert_eq!(cluster.log_terms(2), vec![1, 2], "S2 holds (2, t2)");
    assert_eq!(
        cluster.node(0).log().committed(),
        LogIndex(0),
        "no commit by counting"
    );

    // Why: S0 fails, and S4 (last term 3) wins votes from S2 and S3, whose
    // logs end in older terms, and overwrites (2, t2) on S2.
    cluster.crash(NodeId(0));
    cluster.network.drop_if = None;
    cluster.network.heal();
    elect(&mut cluster, 4);
    cluster.stabilize();
    assert_eq!(cluster.log_terms(2), vec![1, 3, 5], "(2, t2) overwritten");
}

/// Figure 8, continued: once the leader's own no-op reaches a majority, it
/// commits, and with it the older entry before it.
/// Reference: section 5.4.2.
#[test]
fn old_term_entries_commit_with_the_first_entry_of_the_new_term() {
    let logs = [&[1u64, 2][..], &[1, 2], &[1], &[1], &[1, 3]]
        .iter()
        .map(|terms| {
            (
                HardState {
                    term: Term(3),
                    vote: None,
                    commit: LogIndex(0),
                },
                entries_with_terms(terms),
            )
        })
        .collect();
    let mut cluster = Cluster::with_logs(1, logs, |config| {
        basic(config);
        config.append_entries_max = 1;
    });
    cluster.network.cut(NodeId(0), NodeId(3));
    cluster.network.cut(NodeId(0), NodeId(4));
    elect(&mut cluster, 0);
    tick_all(&mut cluster, 3);
    assert_eq!(
        cluster.node(0).log().committed(),
        LogIndex(3),
        "no-op and (2, t2)"
    );
    assert_eq!(applied_values(&cluster, 2), vec![1, 2]);
}

/// Pre-vote: a node that cannot reach a majority (here, a partitioned one)
/// never wins the pre-vote round, so it never raises its term, and the
/// leader is not disturbed when it comes back. Reference: thesis 9.6.
#[test]
fn pre_vote_keeps_a_partitioned_node_from_raising_its_term() {
    let mut cluster = cluster(5);
    elect(&mut cluster, 0);
    let term = cluster.node(0).term();
    cluster.network.isolate(NodeId(4));
    tick_all(&mut cluster, 100);
    assert_eq!(cluster.node(4).term(), term, "isolated node kept its term");
    cluster.network.heal();
    tick_all(&mut cluster, 20);
    assert_eq!(
        (cluster.leader(), cluster.node(0).term()),
        (Some(NodeId(0)), term)
    );
    assert_eq!(cluster.node(4).leader(), Some(NodeId(0)));
}

/// Without pre-vote, the same partitioned node raises its term at every
/// timeout, and on its return forces the working leader to step down: the
/// disruption that pre-vote prevents. Reference: thesis 9.6.
#[test]
fn without_pre_vote_a_returning_node_disrupts_the_leader() {
    let mut cluster = basic_cluster(5);
    elect(&mut cluster, 0);
    let term = cluster.node(0).term();
    cluster.network.isolate(NodeId(4));
    tick_all(&mut cluster, 100);
    assert!(cluster.node(4).term() > term);
    cluster.network.heal();
    tick_all(&mut cluster, 25);
    assert!(
        cluster.node(0).term() > term,
        "the leader was pushed out of its term"
    );
}

/// Check-quorum: a leader that has not heard from a majority within an
/// election timeout steps down, so clients stop waiting on a leader that
/// cannot commit. Reference: thesis 6.2.
#[test]
fn leader_that_loses_its_majority_steps_down() {
    let mut cluster = cluster(5);
    elect(&mut cluster, 0);
    cluster.network.isolate(NodeId(0));
    // The first check may still count answers from before the cut.
    tick_all(&mut cluster, 2 * 10 + 1);
    assert_eq!(cluster.node(0).role(), Role::Follower);
    assert!(matches!(
        cluster.propose(NodeId(0), 1),
        Err(RaftError::NotLeader { .. })
    ));
}

/// The leader lease that comes with check-quorum: a node that heard from a
/// leader less than an election timeout ago ignores vote requests, so a
/// node with a newer term cannot depose a working leader. A deposed
/// leader's messages, in turn, are answered with the newer term so that it
/// learns it. Reference: thesis 4.2.3 and 6.2.
#[test]
fn nodes_in_a_leader_lease_ignore_vote_requests() {
    let mut cluster = cluster(3);
    elect(&mut cluster, 0);
    let term = cluster.node(1).term().0;
    let dropped = cluster.node(1).status().counters.messages_dropped;
    let request = message(
        2,
        1,
        term + 5,
        Body::Vote {
            last_log: entry_id(99, term),
        },
    );
    cluster.node_mut(1).step(request);
    assert_eq!(cluster.node(1).term(), Term(term), "request ignored");
    assert_eq!(
        cluster.node(1).status().counters.messages_dropped,
        dropped + 1
    );
    assert!(!cluster.node(1).has_ready(), "and not answered");

    let config = test_config(1, 3, 1);
    let hard_state = HardState {
        term: Term(9),
        vote: None,
        commit: LogIndex(0),
    };
    let mut node = RaftNode::restore(config, hard_state, None, Vec::new()).expect("valid");
    let heartbeat = Body::Heartbeat {
        commit: LogIndex(0),
        read_round: 0,
    };
    let ready = step(&mut node, message(0, 1, 4, heartbeat));
    assert_eq!(ready.messages_now.len(), 1);
    assert_eq!(
        ready.messages_now[0].term,
        Term(9),
        "the stale leader learns term 9"
    );
}

/// ReadIndex: a read is answered without a log entry. The leader records its
/// commit index, confirms it is still leader with a heartbeat round acked by
/// a majority, then hands out the read; the state machine answers once it
/// has applied that index. Reference: section 8; thesis 6.4.
#[test]
fn read_index_is_confirmed_by_a_heartbeat_round() {
    let mut cluster = cluster(5);
    elect(&mut cluster, 0);
    cluster.propose(NodeId(0), 7).expect("leader");
    cluster.stabilize();
    cluster.read(NodeId(0), 1).expect("leader");
    assert!(
        cluster.read_states.is_empty(),
        "not before the heartbeat round"
    );
    cluster.stabilize();
    let (node, read) = cluster.read_states[0].clone();
    assert_eq!(
        (node, read.request_ctx),
        (NodeId(0), 1u64.to_le_bytes().to_vec())
    );
    assert_eq!(read.index, cluster.node(0).log().committed());
}

/// A leader cut off from the majority cannot confirm a read, so it never
/// serves a stale one (a newer leader may have committed writes).
/// Reference: section 8.
#[test]
fn isolated_leader_never_confirms_a_read() {
    let mut cluster = basic_cluster(5);
    elect(&mut cluster, 0);
    cluster.network.isolate(NodeId(0));
    cluster.read(NodeId(0), 1).expect("still believes it leads");
    tick_all(&mut cluster, 50);
    assert!(cluster.read_states.is_empty());
}

/// A new leader does not know the commit index until it has committed an
/// entry of its own term, so reads wait for its no-op to commit.
/// Reference: section 8.
#[test]
fn new_leader_answers_reads_only_after_its_first_commit() {
    let mut cluster = cluster(3);
    cluster.network.drop_if = Some(Box::new(|message| {
        matches!(message.body, Body::Append { .. })
    }));
    elect(&mut cluster, 0);
    cluster.read(NodeId(0), 1).expect("leader");
    tick_all(&mut cluster, 3);
    assert!(
        cluster.read_states.is_empty(),
        "heartbeats acked, no-op not committed"
    );
    cluster.network.drop_if = None;
    tick_all(&mut cluster, 3);
    let (_, read) = cluster.read_states[0].clone();
    assert_eq!(read.index, cluster.node(0).log().committed());
    assert_eq!(read.index, LogIndex(1), "the no-op");
}

/// Followers neither serve reads nor take proposals: they name the leader so
/// that the client goes there. Reference: section 8.
#[test]
fn followers_redirect_clients_to_the_leader() {
    let mut cluster = cluster(3);
    elect(&mut cluster, 2);
    let redirect = Err(RaftError::NotLeader {
        leader: Some(NodeId(2)),
    });
    assert_eq!(cluster.node_mut(0).read_index(vec![1]), redirect);
    assert_eq!(cluster.node_mut(0).propose(vec![1]).map(|_| ()), redirect);
}

/// InstallSnapshot: when the entries a follower needs were compacted, the
/// leader sends its snapshot instead, in chunks; the follower installs it,
/// discards its log, and continues from the snapshot.
/// Reference: section 7.
#[test]
fn lagging_follower_catches_up_from_a_snapshot_in_chunks() {
    let mut cluster = cluster(3);
    elect(&mut cluster, 0);
    cluster.network.isolate(NodeId(2));
    for value in 1..=30 {
        cluster.propose(NodeId(0), value).expect("leader");
        cluster.stabilize();
    }
    cluster.compact_every = 1;
    cluster.maybe_compact(NodeId(0));
    cluster.maybe_compact(NodeId(1));
    let snapshot_index = cluster.node(0).log().snapshot().meta.index;
    assert_eq!(snapshot_index, LogIndex(31));
    cluster.network.heal();
    let chunks = count_messages(&mut cluster, |message| {
        matches!(message.body, Body::InstallSnapshot { .. })
    });
    tick_all(&mut cluster, 4);
    assert!(chunks.get() > 3, "a 256-byte snapshot in 64-byte chunks");
    assert_eq!(cluster.node(2).log().snapshot().meta.index, snapshot_index);
    assert_eq!(applied_values(&cluster, 2), (1..=30).collect::<Vec<u64>>());
    cluster.propose(NodeId(0), 31).expect("leader");
    cluster.stabilize();
    assert_eq!(
        applied_values(&cluster, 2).last(),
        Some(&31),
        "appends resume"
    );
}

/// Lost chunks are sent again: the leader rewinds to the follower's offset
/// when a chunk arrives past a gap, or when acknowledgements stop coming.
/// Reference: section 7.
#[test]
fn snapshot_transfer_survives_lost_chunks() {
    let mut cluster = cluster(3);
    elect(&mut cluster, 0);
    cluster.network.isolate(NodeId(2));
    for value in 1..=30 {
        cluster.propose(NodeId(0), value).expect("leader");
        cluster.stabilize();
    }
    cluster.compact_every = 1;
    cluster.maybe_compact(NodeId(0));
    cluster.network.heal();
    // Drop about a quarter of the chunks, in no regular pattern.
    let mut seen: u64 = 0;
    cluster.network.drop_if = Some(Box::new(move |message| {
        let chunk = matches!(message.body, Body::InstallSnapshot { .. });
        seen += u64::from(chunk);
        chunk && (seen.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 60) < 4
    }));
    tick_all(&mut cluster, 30);
    assert_eq!(applied_values(&cluster, 2), (1..=30).collect::<Vec<u64>>());
}

/// A server that restarts recovers its term, vote and log from stable
/// storage; committed entries survive the restart of every server.
/// Reference: section 5 and Figure 2 ("persistent state").
#[test]
fn committed_entries_survive_a_restart_of_every_node() {
    let mut cluster = cluster(3);
    elect(&mut cluster, 0);
    for value in [1, 2, 3] {
        cluster.propose(NodeId(0), value).expect("leader");
    }
    cluster.stabilize();
    for id in 0..3 {
        cluster.crash(NodeId(id));
    }
    for id in 0..3 {
        cluster.start(NodeId(id));
        assert_eq!(
            applied_values(&cluster, id),
            vec![1, 2, 3],
            "re-applied from disk"
        );
    }
    elect(&mut cluster, 1);
    cluster.propose(NodeId(1), 4).expect("leader");
    cluster.stabilize();
    for id in 0..3 {
        assert_eq!(applied_values(&cluster, id), vec![1, 2, 3, 4]);
    }
}

/// Messages from unknown senders, misaddressed messages and malformed ones
/// are dropped and counted; nothing panics and nothing changes.
#[test]
fn malformed_and_unknown_messages_are_dropped() {
    let mut node = bare_node(1, 3, 2, &[1, 2]);
    let heartbeat = Body::Heartbeat {
        commit: LogIndex(0),
        read_round: 0,
    };
    let gap = Body::Append {
        prev_log: entry_id(2, 2),
        commit: LogIndex(0),
        entries: entries_with_terms(&[1, 2, 2, 2])[3..].to_vec(),
    };
    let future_entry = Body::Append {
        prev_log: entry_id(2, 2),
        commit: LogIndex(0),
        entries: entries_with_terms(&[1, 2, 9])[2..].to_vec(),
    };
    let inputs = [
        message(7, 1, 2, heartbeat.clone()),
        message(0, 2, 2, heartbeat.clone()),
        message(1, 1, 2, heartbeat),
        message(0, 1, 2, gap),
        message(0, 1, 2, future_entry),
    ];
    let count = inputs.len() as u64;
    for input in inputs {
        node.step(input);
    }
    assert_eq!(node.status().counters.messages_dropped, count);
    assert_eq!(node.log().last_index(), LogIndex(2));
    assert!(!node.has_ready());
}

/// The driver must not step the node while a Ready is being handled: the
/// Ready describes one consistent state. Breaking the rule is a bug and
/// panics.
#[test]
#[should_panic(expected = "between ready() and advance()")]
fn stepping_between_ready_and_advance_panics() {
    let mut node = bare_node(0, 3, 0, &[]);
    node.campaign();
    let _ready = node.ready();
    node.tick();
}
