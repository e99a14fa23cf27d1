//! The rules of the Raft paper (Ongaro and Ousterhout, extended version) and
//! of Ongaro's thesis for pre-vote, check-quorum and ReadIndex, one test per
//! rule. Each test restates the rule, then sets up the situation (init),
//! acts, and checks; the comment ends with the section it comes from.
//!
//! The cases that take several steps of a cluster (elections, Figures 7
//! and 8, backtracking, pre-vote, check-quorum, ReadIndex, snapshots,
//! restarts) are golden scenarios instead: the scripts of `testdata/`, run
//! by `scripts.rs`, whose expected output is the trace. The few cluster
//! tests left here run on `harness.rs`, so the safety checker watches every
//! step of them too. Tests of a single node drive a bare `RaftNode` and
//! look at its `Ready` directly.

use super::harness::{entries_with_terms, test_config, Cluster};
use crate::raft::{
    AppendOutcome, Body, EntryId, HardState, LogIndex, Message, NodeId, RaftConfig, RaftNode,
    Ready, RejectHint, Role, Term,
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
