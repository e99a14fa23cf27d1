//! The snapshot writer in a running replica: the apply thread goes on
//! while a snapshot is written, the log is compacted only once the file is
//! durable, and a crash in the middle of the write loses nothing.

use std::collections::BTreeMap;

use super::cluster::{wait_until, Cluster, Disk};
use super::toy::{put, Toy};
use crate::raft_driver::RaftOptions;

/// Writes longer than this are the snapshot's: the toy state below encodes
/// to several times more, one Ready's log append to far less.
const STALL_OVER: usize = 16 * 1024;

/// A toy state whose snapshot is well over `STALL_OVER` bytes.
fn large_toy() -> Toy {
    let values: BTreeMap<String, i64> = (0..4000).map(|i| (format!("pad/{i:05}"), i)).collect();
    Toy {
        values,
        ..Toy::default()
    }
}

/// Writes `ids` one after another, each answered before the next.
fn write_all(cluster: &Cluster, ids: impl IntoIterator<Item = u64>) {
    for id in ids {
        cluster.request(0, &put(id, &format!("k{}", id % 7), id as i64));
    }
}

/// Goal: the apply thread does not wait for a snapshot's write, the log is
/// not compacted before the snapshot is durable, and a crash in the middle
/// of the write restarts from the older snapshot and the log, losing
/// nothing. Method: one replica (its own majority: nothing can come back
/// from a peer), a snapshot every 20 entries, a large state. Once one
/// snapshot is durable and compacted, the disk stalls the next snapshot's
/// file halfway; 40 more writes are answered meanwhile while the log's
/// compaction point stays. The disk then crashes and the write goes on, and
/// fails: a process killed in the middle. The restart loads the older
/// snapshot, replays the log after it, and has every write once.
#[test]
fn a_crash_in_the_middle_of_a_snapshot_write_restarts_from_the_older_one() {
    let tune = |options: &mut RaftOptions| options.snapshot_every_entries = 20;
    let cluster = Cluster::start_with(1, Disk::Fast, tune, large_toy());
    cluster.wait_leader();
    write_all(&cluster, 1..=30);
    wait_until("a snapshot is durable and compacted", || {
        cluster.status(0).node.snapshot_index.0 >= 20
    });
    let compacted = cluster.status(0).node.snapshot_index;
    let taken = cluster.status(0).driver.snapshots_taken;
    let disk = cluster.disk(0);
    let stall = disk.stall_writes_over(STALL_OVER);
    write_all(&cluster, 31..=40);
    wait_until("the next snapshot's write stalls", || {
        disk.stalled_writes() == 1
    });
    write_all(&cluster, 41..=80);
    // Answers come from the apply thread; the core learns of the last
    // apply at its next turn.
    wait_until("the core knows every entry applied", || {
        let node = cluster.status(0).node;
        node.applied == node.last_index
    });
    let status = cluster.status(0);
    assert_eq!(status.node.snapshot_index, compacted, "compacted early");
    assert_eq!(status.driver.snapshots_taken, taken);
    disk.crash_now();
    drop(stall);
    cluster.crash(0);
    cluster.restart(0);
    let recovery = cluster.status(0).recovery;
    assert_eq!(recovery.snapshot_index, compacted.0);
    assert!(
        recovery.entries_after_snapshot >= 80 - compacted.0,
        "{recovery:?}"
    );
    let toy = cluster.dump();
    assert_eq!(toy.order, (1..=80).collect::<Vec<u64>>());
}
