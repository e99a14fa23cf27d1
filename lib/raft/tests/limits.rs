//! Every queue of the core is bounded, and a full queue refuses work with an
//! error instead of growing: proposals, reads, entry sizes and the Append
//! messages in flight to a silent follower.

use super::harness::Cluster;
use crate::raft::{Body, NodeId, RaftError};

fn leader_cut_off_from_followers() -> Cluster {
    let mut cluster = Cluster::new(3, 1, |config| config.check_quorum = false);
    cluster.elect(NodeId(0));
    cluster.network.isolate(NodeId(0));
    cluster
}

#[test]
fn a_leader_refuses_proposals_beyond_the_uncommitted_limit() {
    let mut cluster = leader_cut_off_from_followers();
    let limit = cluster.node(0).config().uncommitted_entries_max;
    let mut accepted = 0;
    let result = loop {
        match cluster.propose(NodeId(0), accepted as u64) {
            Ok(_) => accepted += 1,
            Err(error) => break error,
        }
        assert!(accepted <= limit, "more than {limit} uncommitted entries");
    };
    assert_eq!(result, RaftError::ProposalQueueFull { max: limit });
    assert_eq!(accepted, limit, "the no-op committed before the cut");
}

#[test]
fn a_leader_refuses_entries_too_large_for_an_append() {
    let mut cluster = Cluster::new(1, 1, |_| {});
    cluster.elect(NodeId(0));
    let limit = cluster.node(0).config().entry_bytes_max;
    let result = cluster.node_mut(0).propose(vec![0; limit + 1]);
    assert_eq!(
        result,
        Err(RaftError::EntryTooLarge {
            bytes: limit + 1,
            max: limit
        })
    );
}

#[test]
fn a_leader_refuses_reads_beyond_the_pending_limit() {
    let mut cluster = leader_cut_off_from_followers();
    let limit = cluster.node(0).config().pending_reads_max;
    for context in 0..limit as u64 {
        cluster.read(NodeId(0), context).expect("room left");
    }
    let result = cluster.read(NodeId(0), limit as u64);
    assert_eq!(result, Err(RaftError::ReadQueueFull { max: limit }));
}

/// A follower that answers nothing receives at most `inflight_appends_max`
/// Append messages with entries, however many proposals the leader takes.
#[test]
fn appends_in_flight_to_a_silent_follower_are_bounded() {
    let mut cluster = Cluster::new(3, 1, |config| config.check_quorum = false);
    cluster.elect(NodeId(0));
    let window = cluster.node(0).config().inflight_appends_max;
    // n2 receives nothing but the leader thinks it only lost answers:
    // drop everything n2 sends.
    let sent = std::rc::Rc::new(std::cell::Cell::new(0));
    let counter = std::rc::Rc::clone(&sent);
    cluster.network.drop_if = Some(Box::new(move |message| {
        if message.to == NodeId(2) {
            if let Body::Append { entries, .. } = &message.body {
                counter.set(counter.get() + usize::from(!entries.is_empty()));
            }
        }
        message.from == NodeId(2)
    }));
    for value in 0..40 {
        cluster.propose(NodeId(0), value).expect("leader");
        cluster.stabilize();
    }
    assert!(
        sent.get() <= window,
        "{} appends in flight, window {window}",
        sent.get()
    );
}
