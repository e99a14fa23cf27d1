//! The log and recovery on their own: a rewrite keeps the persisted state
//! and lets old segments go; recovery refuses what it cannot trust; a
//! snapshot is written off the apply thread and published only once durable.

use std::sync::Arc;

use tempfile::TempDir;

use super::cluster::{wait_until, Cluster};
use super::toy::{add, Toy};
use crate::driver_kit::DriverOptions;
use crate::sequencer::{
    GlobalSeq, LocalSeq, MemberId, Origin, PersistedState, Record, SnapshotPoint,
};
use crate::sequencer_driver::errors::DriverError;
use crate::sequencer_driver::image::Image;
use crate::sequencer_driver::options::SequencerOptions;
use crate::sequencer_driver::recovery::{recover, LOG_DIR, SNAPSHOT_DIR};
use crate::sequencer_driver::storage::{replay, SequencerStorage};
use crate::wal::{Snapshot, SnapshotStore, StdFileSystem, Wal, WalOptions};

const MEMBERS: u16 = 3;

fn open_wal(dir: &TempDir) -> (Wal, Vec<(u64, Vec<u8>)>) {
    let options = WalOptions {
        segment_bytes_max: 4 * 1024,
        fs: Arc::new(StdFileSystem),
    };
    let (wal, recovered) = Wal::open(dir.path(), options).expect("open the log");
    (wal, recovered.entries)
}

/// A run of records as a member writes them: requests, their sequences,
/// and now and then a base that forgets the oldest.
fn records(count: u64) -> Vec<Record> {
    let mut records = Vec::new();
    let mut point = SnapshotPoint::start(MEMBERS);
    let mut delivered = Vec::new();
    for global in 1..=count {
        let sender = MemberId((global % u64::from(MEMBERS)) as u16);
        let local_seq = LocalSeq(global / u64::from(MEMBERS) + 1);
        let origin = Origin { sender, local_seq };
        let payload = format!("request {global}").into_bytes();
        records.push(Record::Request { origin, payload });
        records.push(Record::Sequence {
            global: GlobalSeq(global),
            origin,
        });
        delivered.push(origin);
        if global % 40 == 0 {
            while point.global.0 + 10 < global {
                let origin = delivered[point.global.0 as usize];
                point.delivered_local[origin.sender.index()] = origin.local_seq;
                point.global = point.global.next();
            }
            records.push(Record::Base(point.clone()));
        }
    }
    records
}

#[test]
fn a_rewrite_keeps_the_state_and_drops_old_segments() {
    let dir = TempDir::new().expect("temp dir");
    let (wal, _) = open_wal(&dir);
    let mut storage = SequencerStorage::new(wal, 100);
    let mut expected = PersistedState::new(MEMBERS);
    for batch in records(400).chunks(7) {
        storage.persist(batch).expect("persist");
        batch.iter().for_each(|record| expected.apply(record));
    }
    let segments_before = storage.segment_count();
    assert!(storage.rewrite_due());
    storage.rewrite(&expected).expect("rewrite");
    assert!(!storage.rewrite_due());
    assert!(
        storage.segment_count() < segments_before / 2,
        "old segments dropped"
    );
    drop(storage);
    let (_, entries) = open_wal(&dir);
    assert_eq!(replay(&entries, MEMBERS).expect("replay"), expected);
}

#[test]
fn an_entry_that_is_not_a_record_stops_recovery() {
    let dir = TempDir::new().expect("temp dir");
    let log = TempDir::new_in(dir.path()).expect("log dir");
    let (mut wal, _) = open_wal(&log);
    let good = Record::Base(SnapshotPoint::start(MEMBERS)).encode();
    wal.append(&[(1, good), (2, b"not a record".to_vec())])
        .expect("append");
    wal.sync().expect("sync");
    let (_, entries) = open_wal(&log);
    let refused = replay(&entries, MEMBERS);
    assert!(matches!(
        refused,
        Err(DriverError::CorruptRecord { index: 2, .. })
    ));
}

#[test]
fn a_snapshot_for_another_group_size_is_refused() {
    let dir = TempDir::new().expect("temp dir");
    let snapshots = dir.path().join(SNAPSHOT_DIR);
    let (mut store, _) = SnapshotStore::open(&snapshots, Arc::new(StdFileSystem)).expect("open");
    let image = Image::encode(SnapshotPoint::start(4), b"{}");
    let snapshot = Snapshot {
        index: 0,
        term: 0,
        data: image.bytes,
    };
    store.save(&snapshot).expect("save");
    let peers: Vec<std::net::SocketAddr> = (0..MEMBERS)
        .map(|i| format!("127.0.0.1:{}", 9000 + i).parse().expect("address"))
        .collect();
    let options = SequencerOptions::new(0, peers, dir.path());
    let refused = recover(&options, Toy::default()).err();
    assert!(
        matches!(refused, Some(DriverError::CorruptFile { .. })),
        "{refused:?}"
    );
    assert!(!dir.path().join(LOG_DIR).exists(), "stopped before the log");
}

#[test]
fn a_snapshot_that_fails_is_reported_and_retried_and_the_member_serves_on() {
    // Goal: a snapshot that cannot be written (a full disk, a state past
    // the limit) never stops a member. Method: member 0's snapshot folder
    // is replaced by a plain file, so every snapshot there fails; requests
    // through member 0 keep succeeding and the failures are counted. Once
    // the folder is back, the next interval's snapshot is taken.
    let cluster = Cluster::start(3, |options| options.snapshot_every = 10);
    cluster.wait_serving();
    let folder = cluster.data_dir(0).join(SNAPSHOT_DIR);
    std::fs::remove_dir_all(&folder).expect("remove the snapshot folder");
    std::fs::write(&folder, b"not a folder").expect("a file in its place");
    let taken_before = cluster.status(0).snapshots_taken;
    for id in 0..40 {
        let outcome = cluster.submit(0, add(id, "k", 1));
        assert!(
            outcome.is_ok(),
            "request {id} through member 0: {outcome:?}"
        );
    }
    // The writer reports after the apply thread answered: wait for it.
    wait_until("two failures are reported", || {
        cluster.status(0).snapshots_failed >= 2
    });
    assert_eq!(cluster.status(0).snapshots_taken, taken_before);
    std::fs::remove_file(&folder).expect("remove the file");
    std::fs::create_dir(&folder).expect("the folder is back");
    for id in 40..70 {
        assert!(cluster.submit(0, add(id, "k", 1)).is_ok());
    }
    wait_until("a snapshot is taken again", || {
        cluster.status(0).snapshots_taken > taken_before
    });
}

/// Writes longer than this are the snapshot's: the toy state below encodes
/// to several times more, one batch of log records to far less.
const STALL_OVER: usize = 16 * 1024;

/// Goal: the apply thread does not wait for a snapshot's write, the member
/// forgets no history before the snapshot is durable, and a crash in the
/// middle of the write restarts from the older snapshot and the log.
/// Method: three members, a snapshot every 10 deliveries, a large state.
/// Once member 0 has a durable snapshot, its disk stalls the next
/// snapshot's file halfway; 30 more requests through member 0 are answered
/// meanwhile while its durable point and base stay. Its disk then crashes
/// and the write goes on, and fails: a process killed in the middle. The
/// older snapshot is the whole one on disk; member 0 restarts from it and
/// its log, and every request is applied once.
#[test]
fn a_crash_in_the_middle_of_a_snapshot_write_restarts_from_the_older_one() {
    let large = Toy {
        counters: (0..4000).map(|i| (format!("pad/{i:05}"), i)).collect(),
        ..Toy::default()
    };
    let mut cluster = Cluster::start_with(3, |options| options.snapshot_every = 10, large);
    cluster.wait_serving();
    let submit = |cluster: &Cluster, id: u64| {
        let outcome = cluster.submit(0, add(id, "k", 1));
        assert!(outcome.is_ok(), "request {id}: {outcome:?}");
    };
    (0..15).for_each(|id| submit(&cluster, id));
    wait_until("member 0 has a durable snapshot", || {
        cluster.status(0).snapshot >= 10
    });
    let durable = cluster.status(0).snapshot;
    let disk = cluster.disks[0].clone();
    let stall = disk.stall_writes_over(STALL_OVER);
    let mut id = 15;
    while disk.stalled_writes() == 0 {
        assert!(id < 60, "no snapshot was due");
        submit(&cluster, id);
        id += 1;
    }
    (id..id + 30).for_each(|id| submit(&cluster, id));
    let status = cluster.status(0);
    assert_eq!(status.snapshot, durable, "published before durable");
    assert!(status.base <= durable, "{status:?}");
    disk.crash_now();
    drop(stall);
    cluster.crash(0);
    let mut files: Vec<String> = std::fs::read_dir(cluster.data_dir(0).join(SNAPSHOT_DIR))
        .expect("the snapshot folder")
        .map(|entry| {
            entry
                .expect("an entry")
                .file_name()
                .into_string()
                .expect("utf-8")
        })
        .collect();
    files.sort();
    assert_eq!(files[0], format!("snap-{durable:020}.snap"), "{files:?}");
    assert!(
        files[1..].iter().all(|file| file.ends_with(".tmp")),
        "{files:?}"
    );
    cluster.restart(0);
    cluster.wait_serving();
    let state = cluster.converged_state();
    assert_eq!(state.order, (0..id + 30).collect::<Vec<u64>>());
}
