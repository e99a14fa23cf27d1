//! The Ready loop of the `crate::raft` docs, written out as a minimal driver
//! for a one-node cluster: a worked example for whoever writes the real
//! driver (UDP, WAL, threads), and a test that the loop works as documented.
//!
//! A one-node cluster is its own majority, so every step is visible without
//! a network: the node elects itself, commits after its own write, confirms
//! reads at once, compacts, and restarts from what it wrote.

use crate::raft::{
    Entry, EntryKind, HardState, LogIndex, NodeId, RaftConfig, RaftNode, ReadState, Role, Snapshot,
};

/// What the driver keeps on disk (a WAL and a snapshot file, in real life).
#[derive(Default)]
struct Disk {
    hard_state: HardState,
    snapshot: Option<Snapshot>,
    entries: Vec<Entry>,
}

/// The state machine: the commands applied, in order.
#[derive(Default)]
struct Applied {
    commands: Vec<Vec<u8>>,
    index: LogIndex,
}

/// One pass of the loop per Ready, in the documented order, until the node
/// has nothing left to do. Returns the confirmed reads.
fn run_ready_loop(node: &mut RaftNode, disk: &mut Disk, applied: &mut Applied) -> Vec<ReadState> {
    let mut reads = Vec::new();
    while node.has_ready() {
        let ready = node.ready();
        // 1. Send messages_now (none: no peers).
        assert!(ready.messages_now.is_empty());
        // 2. Write snapshot, entries, hard state; then fsync once.
        if let Some(snapshot) = &ready.snapshot_to_persist {
            disk.snapshot = Some(snapshot.clone());
            disk.entries.clear();
        }
        if let Some(first) = ready.entries_to_persist.first() {
            disk.entries.retain(|entry| entry.index < first.index);
            disk.entries
                .extend(ready.entries_to_persist.iter().cloned());
        }
        if let Some(hard_state) = ready.hard_state {
            disk.hard_state = hard_state;
        }
        // 3. Send messages_after_persist (none: no peers).
        assert!(ready.messages_after_persist.is_empty());
        // 4. Apply the committed entries.
        for entry in &ready.committed_entries {
            if entry.kind == EntryKind::Normal {
                applied.commands.push(entry.data.clone());
            }
            applied.index = entry.index;
        }
        node.report_applied(applied.index);
        // 5. Reads may be answered once applied up to their index.
        reads.extend(ready.read_states);
        // 6. Done with this Ready.
        node.advance();
    }
    reads
}

#[test]
fn a_one_node_driver_runs_the_documented_ready_loop() {
    let config = RaftConfig::new(NodeId(0), 1);
    let mut node = RaftNode::new(config.clone()).expect("valid config");
    let mut disk = Disk::default();
    let mut applied = Applied::default();

    // Time passes until the election timer fires; alone, it wins at once.
    for _ in 0..config.election_ticks_max {
        node.tick();
        run_ready_loop(&mut node, &mut disk, &mut applied);
    }
    assert_eq!(node.role(), Role::Leader);

    // A proposal commits once it is on this node's disk.
    let id = node.propose(b"put chair".to_vec()).expect("leader");
    run_ready_loop(&mut node, &mut disk, &mut applied);
    assert_eq!(applied.commands, vec![b"put chair".to_vec()]);
    assert_eq!(applied.index, id.index);

    // A read is confirmed at the commit index; answer it once applied.
    node.read_index(b"get chair".to_vec()).expect("leader");
    let reads = run_ready_loop(&mut node, &mut disk, &mut applied);
    assert_eq!(reads.len(), 1);
    assert!(reads[0].index <= applied.index);

    // The state machine saved a snapshot: the log forgets what it covers.
    node.compact(applied.index, b"snapshot: chair".to_vec())
        .expect("newer");
    disk.snapshot = Some(node.log().snapshot().clone());
    disk.entries.retain(|entry| entry.index > applied.index);
    assert_eq!(node.status().snapshot_index, applied.index);

    // A restart rebuilds the node from the disk alone.
    let restored = RaftNode::restore(config, disk.hard_state, disk.snapshot.take(), disk.entries)
        .expect("consistent disk");
    let status = restored.status();
    assert_eq!(
        (status.term, status.commit),
        (node.term(), node.log().committed())
    );
    assert_eq!(
        restored.role(),
        Role::Follower,
        "every node restarts as a follower"
    );
}
