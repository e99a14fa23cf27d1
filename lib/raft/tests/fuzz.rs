//! Forged traffic: messages that pass the decoder and the well-formedness
//! rules but carry arbitrary indexes, terms, offsets and rounds, stepped
//! into nodes in every role. The node may ignore them, refuse them as
//! contradictions (then nothing changes) or even be misled (Raft trusts its
//! peers), but it must never panic, and its own log must keep its
//! invariants.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::harness::{entries_with_terms, test_config, Cluster};
use crate::raft::{
    AppendOutcome, Body, Entry, EntryId, EntryKind, HardState, LogIndex, Message, NodeId, RaftNode,
    RaftStatus, RejectHint, Role, SnapshotMeta, Term, Verdict,
};

/// A number near the interesting range (0..20), sometimes far off.
fn near(rng: &mut StdRng) -> u64 {
    match rng.gen_range(0..10) {
        0 => rng.gen(),
        1 => u64::MAX - rng.gen_range(0..3),
        _ => rng.gen_range(0..20),
    }
}

fn entry_id(rng: &mut StdRng) -> EntryId {
    EntryId {
        term: Term(near(rng)),
        index: LogIndex(near(rng)),
    }
}

fn forged_entries(rng: &mut StdRng, prev_log: EntryId, term: Term) -> Vec<Entry> {
    let count = rng.gen_range(0..4);
    let mut entries = Vec::new();
    let mut entry_term = prev_log.term;
    for offset in 1..=count {
        entry_term = Term(rng.gen_range(entry_term.0..=term.0.max(entry_term.0)));
        let Some(index) = prev_log.index.0.checked_add(offset) else {
            break;
        };
        entries.push(Entry {
            term: entry_term,
            index: LogIndex(index),
            kind: EntryKind::Normal,
            data: vec![rng.gen()],
        });
    }
    entries
}

fn forged_body(rng: &mut StdRng, term: Term) -> Body {
    match rng.gen_range(0..10) {
        0 => Body::PreVote {
            last_log: entry_id(rng),
        },
        1 => Body::PreVoteResponse { granted: rng.gen() },
        2 => Body::Vote {
            last_log: entry_id(rng),
        },
        3 => Body::VoteResponse { granted: rng.gen() },
        4 => {
            let prev_log = entry_id(rng);
            let entries = forged_entries(rng, prev_log, term);
            Body::Append {
                prev_log,
                commit: LogIndex(near(rng)),
                entries,
            }
        }
        5 => {
            let outcome = match rng.gen_range(0..3) {
                0 => AppendOutcome::Accepted {
                    match_index: LogIndex(near(rng)),
                },
                1 => AppendOutcome::Rejected {
                    rejected_index: LogIndex(near(rng)),
                    hint: RejectHint::LogTooShort {
                        last_index: LogIndex(near(rng)),
                    },
                },
                _ => AppendOutcome::Rejected {
                    rejected_index: LogIndex(near(rng)),
                    hint: RejectHint::TermConflict {
                        term: Term(near(rng)),
                        first_index: LogIndex(near(rng)),
                    },
                },
            };
            Body::AppendResponse { outcome }
        }
        6 => Body::Heartbeat {
            commit: LogIndex(near(rng)),
            read_round: near(rng),
        },
        7 => Body::HeartbeatResponse {
            read_round: near(rng),
        },
        8 => Body::InstallSnapshot {
            snapshot: SnapshotMeta {
                index: LogIndex(near(rng)),
                term: Term(near(rng)),
            },
            offset: near(rng),
            data: vec![0; rng.gen_range(0..40)],
            last: rng.gen(),
        },
        _ => Body::SnapshotResponse {
            snapshot_index: LogIndex(near(rng)),
            next_offset: near(rng),
            accepted: rng.gen(),
        },
    }
}

/// A node of a 3-node cluster in `role`, with a short log and a snapshot
/// to send, driven through its Ready loop after each input.
fn node_in_role(role: Role, seed: u64) -> RaftNode {
    let mut config = test_config(0, 3, seed);
    config.snapshot_bytes_max = 64;
    let hard_state = HardState {
        term: Term(3),
        vote: None,
        commit: LogIndex(2),
    };
    let entries = entries_with_terms(&[1, 1, 2, 3]);
    let mut node = RaftNode::restore(config, hard_state, None, entries).expect("valid");
    if role != Role::Follower {
        node.campaign();
        drain(&mut node);
    }
    if role == Role::Candidate || role == Role::Leader {
        let granted = Body::PreVoteResponse { granted: true };
        node.step(Message {
            from: NodeId(1),
            to: NodeId(0),
            term: Term(4),
            body: granted,
        });
        drain(&mut node);
    }
    if role == Role::Leader {
        let granted = Body::VoteResponse { granted: true };
        node.step(Message {
            from: NodeId(1),
            to: NodeId(0),
            term: Term(4),
            body: granted,
        });
        drain(&mut node);
        node.propose(vec![7]).expect("leader");
        drain(&mut node);
        node.compact(LogIndex(2), vec![1; 100]).expect("newer");
    }
    assert_eq!(node.role(), role);
    // A restored follower hands out its committed entries first.
    drain(&mut node);
    node
}

fn drain(node: &mut RaftNode) {
    for _ in 0..100 {
        if !node.has_ready() {
            return;
        }
        let ready = node.ready();
        if let Some(last) = ready.committed_entries.last() {
            node.report_applied(last.index);
        }
        node.advance();
    }
    panic!("the node always has a Ready");
}

#[test]
fn forged_messages_never_panic_a_node_in_any_role() {
    let roles = [
        Role::Follower,
        Role::PreCandidate,
        Role::Candidate,
        Role::Leader,
    ];
    let mut refusals = 0;
    for seed in 0..2000 {
        let mut rng = StdRng::seed_from_u64(seed);
        let role = roles[seed as usize % roles.len()];
        let mut node = node_in_role(role, seed);
        for _ in 0..200 {
            let from = NodeId(rng.gen_range(1..3));
            // Mostly the node's own term: other terms end at the term rules,
            // and a newer term would soon make every node a follower.
            let term = match rng.gen_range(0..100) {
                0..=9 => Term(node.term().0.saturating_sub(1)),
                10..=12 => node.term().next(),
                _ => node.term(),
            };
            let body = forged_body(&mut rng, term);
            let before = node.status();
            let verdict = node.step(Message {
                from,
                to: NodeId(0),
                term,
                body,
            });
            if let Verdict::Refused(why) = verdict {
                assert_refusal_changed_nothing(&node, before, &why);
                refusals += 1;
            }
            drain(&mut node);
            if rng.gen_range(0..10) == 0 {
                node.tick();
                drain(&mut node);
            }
            node.log().check_invariants();
        }
    }
    assert!(refusals > 0, "the forged traffic exercised no refusal");
}

/// A refused message changed nothing but the `contradictions` counter: the
/// node's status is as before, and it has nothing to persist or send.
fn assert_refusal_changed_nothing(node: &RaftNode, before: RaftStatus, why: &str) {
    let mut after = node.status();
    assert_eq!(
        after.counters.contradictions,
        before.counters.contradictions + 1,
        "{why}"
    );
    after.counters.contradictions = before.counters.contradictions;
    assert_eq!(after, before, "a refusal changes nothing: {why}");
    assert!(
        !node.has_ready(),
        "a refusal persists and sends nothing: {why}"
    );
}

#[test]
#[should_panic(expected = "refused a contradictory message")]
fn a_refusal_fails_a_checked_run() {
    // The cluster the simulation and the golden scripts run on fails on any
    // refusal, as the panics that refusals replaced would have: there every
    // peer is this code, so a refusal is a protocol bug. Here node 2 claims
    // to lead node 0's term.
    let mut cluster = Cluster::new(3, 1, |_| {});
    cluster.elect(NodeId(0));
    let term = cluster.node(1).term();
    let forged = Message {
        from: NodeId(2),
        to: NodeId(1),
        term,
        body: Body::Heartbeat {
            commit: LogIndex::ZERO,
            read_round: 0,
        },
    };
    cluster.deliver(forged, None);
}
