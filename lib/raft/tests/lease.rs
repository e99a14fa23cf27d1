//! Lease reads (thesis §6.4.1; etcd's `ReadOnlyLeaseBased`), one test per
//! rule, in the style of paper.rs: those a golden script cannot say. A
//! leader stopped while the others tick on, elect and commit (the scripts
//! tick every node or one alone, never all but one with delivery), whose
//! stale read without a clock update the checker must catch (a script has
//! no expected panic); and a single restarted node's rule. The others,
//! clock in hand, are golden scripts (`testdata/lease-*.txt`). A leader that holds a lease answers a
//! read at its commit index with no message round; the lease runs from the
//! sending of the heartbeat round a majority acknowledged and lasts
//! `election_ticks_min - lease_margin_ticks` ticks; without it the leader
//! falls back to ReadIndex. The safety checker (checker.rs) watches every
//! step: a read whose index misses an entry committed before the read was
//! asked for fails the test.

use super::harness::{test_config, Cluster};
use crate::raft::{
    Body, EntryId, HardState, LogIndex, Message, NodeId, RaftConfig, RaftNode, ReadMode, Role, Term,
};

fn leases(config: &mut RaftConfig) {
    config.read_mode = ReadMode::LeaseBased;
}

/// A cluster of `size` replicas with lease reads, past the start-up period
/// in which a node refuses votes (see
/// `a_node_refuses_votes_for_an_election_timeout_after_it_starts`).
fn lease_cluster(size: usize) -> Cluster {
    let mut cluster = Cluster::new(size, 1, leases);
    let started = cluster.node(0).config().election_ticks_min as u64;
    for id in 0..size {
        cluster.node_mut(id).advance_clock(started);
    }
    cluster
}

/// Elects `id`, commits its no-op and lets one heartbeat round be answered,
/// so that it holds a lease.
fn elect_with_lease(cluster: &mut Cluster, id: usize) {
    cluster.elect(NodeId(id));
    assert_eq!(cluster.node(id).role(), Role::Leader);
    tick_all(cluster, cluster.node(id).config().heartbeat_ticks);
    assert!(cluster.node(id).holds_lease(), "{}", cluster.describe());
}

fn tick_all(cluster: &mut Cluster, ticks: u32) {
    for _ in 0..ticks {
        for id in 0..cluster.replicas.len() {
            cluster.tick(NodeId(id));
        }
        cluster.stabilize();
    }
}

/// Stops leader 0 (as SIGSTOP would: no ticks, no messages) while the
/// others, cut off from it, elect a new leader that commits a write; then
/// wakes it with its clock brought up to date (`catch_up`), or not.
fn deposed_leader_wakes(catch_up: bool) -> Cluster {
    let mut cluster = lease_cluster(5);
    elect_with_lease(&mut cluster, 0);
    cluster.propose(NodeId(0), 1).expect("leader");
    cluster.stabilize();
    let stopped_at = cluster.node(0).clock();
    cluster
        .network
        .partition(&[true, false, false, false, false]);
    let mut ticks = 0;
    let new_leader = loop {
        for id in 1..5 {
            cluster.tick(NodeId(id));
        }
        cluster.stabilize();
        ticks += 1;
        if let Some(leader) = (1..5).find(|&id| cluster.node(id).role() == Role::Leader) {
            break leader;
        }
        assert!(ticks < 100, "no new leader:\n{}", cluster.describe());
    };
    cluster.propose(NodeId(new_leader), 2).expect("new leader");
    tick_all_but(&mut cluster, 0, 2);
    assert_eq!(cluster.node(new_leader).log().committed(), LogIndex(4));
    // Leader 0 wakes: the driver reads the monotonic clock before the read
    // (the ticks it missed were dropped by its ticker).
    if catch_up {
        cluster.node_mut(0).advance_clock(stopped_at + ticks + 2);
    }
    cluster.tick(NodeId(0));
    assert_eq!(cluster.node(0).role(), Role::Leader, "has not heard");
    cluster.read(NodeId(0), 1).expect("still believes it leads");
    cluster
}

fn tick_all_but(cluster: &mut Cluster, skipped: usize, ticks: u32) {
    for _ in 0..ticks {
        for id in (0..cluster.replicas.len()).filter(|&id| id != skipped) {
            cluster.tick(NodeId(id));
        }
        cluster.stabilize();
    }
}

/// A deposed leader that has not heard it was deposed (stopped, cut off)
/// serves no lease read: by the time another leader could be elected its
/// lease has run out, so it falls back to ReadIndex, whose round the others
/// answer with their newer term. It steps down and drops the read, which
/// the driver answers with a redirect. Reference: thesis 6.4.1.
#[test]
fn a_deposed_leader_serves_no_lease_read() {
    let mut cluster = deposed_leader_wakes(true);
    assert!(cluster.read_states.is_empty(), "no stale read");
    cluster.network.heal();
    tick_all(&mut cluster, 2);
    assert_eq!(cluster.node(0).role(), Role::Follower);
    assert_eq!(cluster.node(0).status().counters.reads_dropped, 1);
    assert!(cluster.read_states.is_empty());
}

/// The same without the clock brought up to date: the woken leader counts
/// only the one tick it got, believes its lease still holds, and answers
/// at its old commit index, missing the new leader's write. The checker
/// catches it. This is why a driver whose ticker drops ticks must call
/// `advance_clock` before each read (raft_driver's event loop does).
#[test]
#[should_panic(expected = "was committed before it")]
fn a_woken_leader_without_its_clock_serves_a_stale_read() {
    deposed_leader_wakes(false);
}

/// A node that just started does not know whether it acknowledged a
/// heartbeat just before it went down, so it refuses votes for an election
/// timeout, as it would inside a lease. Otherwise a follower that crashed
/// and restarted at once could help elect a new leader while the old one
/// still holds its lease. Reference: thesis 6.4.1 (the restart is our
/// addition).
#[test]
fn a_node_refuses_votes_for_an_election_timeout_after_it_starts() {
    let mut config = test_config(1, 3, 1);
    leases(&mut config);
    let hard_state = HardState {
        term: Term(2),
        vote: None,
        commit: LogIndex::ZERO,
    };
    let mut node = RaftNode::restore(config, hard_state, None, Vec::new()).expect("valid");
    let vote = |term| Message {
        from: NodeId(2),
        to: NodeId(1),
        term: Term(term),
        body: Body::Vote {
            last_log: EntryId {
                term: Term(2),
                index: LogIndex(5),
            },
        },
    };
    for _ in 0..9 {
        node.tick();
    }
    node.step(vote(3));
    assert_eq!(node.term(), Term(2), "ignored 9 ticks after the start");
    node.tick();
    node.step(vote(3));
    assert_eq!(node.term(), Term(3));
    let ready = node.ready();
    node.advance();
    assert!(matches!(
        ready.messages_after_persist[0].body,
        Body::VoteResponse { granted: true }
    ));
}
