//! The group committer: durability of every acknowledged submission, shared
//! fsyncs, ordering of truncations and compactions, and failure.
//!
//! Method: many threads submit through one `GroupCommitter` over a
//! `FaultyFileSystem` that counts fsyncs and makes each take 1 ms (a disk,
//! not a RAM disk: batching only shows when fsync costs something). Each
//! thread keeps a few submissions in flight, as a pipelining client would, so
//! that the count of fsyncs depends on the batching, not on how promptly
//! the scheduler wakes eight threads on a busy machine. Then the log is
//! reopened and compared with what was acknowledged.

use std::collections::{BTreeSet, VecDeque};
use std::sync::Mutex;
use std::thread;
use std::time::Duration;

use super::{entries, faulty_options, open};
use crate::wal::{Completion, FaultyFileSystem, GroupCommitter, Wal, WalError};

const THREADS: u64 = 8;
const SUBMISSIONS_PER_THREAD: u64 = 200;
const IN_FLIGHT_PER_THREAD: usize = 4;

#[test]
fn concurrent_submissions_are_durable_and_share_fsyncs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fs = FaultyFileSystem::without_real_fsync();
    fs.set_sync_latency(Duration::from_millis(1));
    let (wal, _) = Wal::open(dir.path(), faulty_options(&fs, 64 * 1024)).expect("open");
    let committer = GroupCommitter::spawn(wal).expect("spawn");
    let syncs_before = fs.sync_count();
    // The log needs contiguous indices, so the index is taken and the entry
    // queued under one lock; the wait for durability happens outside it.
    let next_index = Mutex::new(1u64);
    thread::scope(|scope| {
        for thread_id in 0..THREADS {
            let (committer, next_index) = (&committer, &next_index);
            scope.spawn(move || {
                let mut in_flight = VecDeque::with_capacity(IN_FLIGHT_PER_THREAD + 1);
                for sequence in 0..SUBMISSIONS_PER_THREAD {
                    let mut next = next_index.lock().expect("lock");
                    let payload = format!("thread {thread_id} #{sequence}").into_bytes();
                    in_flight.push_back(committer.submit(vec![(*next, payload)]));
                    *next += 1;
                    drop(next);
                    if in_flight.len() > IN_FLIGHT_PER_THREAD {
                        let oldest: Completion = in_flight.pop_front().expect("not empty");
                        oldest.recv().expect("an answer").expect("durable");
                    }
                }
                for completion in in_flight {
                    completion.recv().expect("an answer").expect("durable");
                }
            });
        }
    });
    let syncs = fs.sync_count() - syncs_before;
    let submissions = THREADS * SUBMISSIONS_PER_THREAD;
    assert!(
        syncs * 4 < submissions,
        "{syncs} fsyncs for {submissions} submissions"
    );
    drop(committer.close());

    let (_, recovered) = open(dir.path(), 64 * 1024);
    let indices: Vec<u64> = recovered.entries.iter().map(|(index, _)| *index).collect();
    assert_eq!(indices, (1..=submissions).collect::<Vec<_>>());
    let payloads: BTreeSet<Vec<u8>> = recovered.entries.into_iter().map(|(_, p)| p).collect();
    for thread_id in 0..THREADS {
        for sequence in 0..SUBMISSIONS_PER_THREAD {
            let payload = format!("thread {thread_id} #{sequence}").into_bytes();
            assert!(
                payloads.contains(&payload),
                "thread {thread_id} #{sequence} lost"
            );
        }
    }
}

#[test]
fn truncations_and_compactions_run_in_order_with_appends() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (wal, _) = open(dir.path(), 200);
    let committer = GroupCommitter::spawn(wal).expect("spawn");
    let rewritten = vec![(40, b"new 40".to_vec()), (41, b"new 41".to_vec())];
    // Queued back to back, so they likely share a batch; order must hold anyway.
    let completions = [
        committer.submit(entries(1..=60)),
        committer.truncate_from(40),
        committer.submit(rewritten.clone()),
        committer.compact_to(20),
    ];
    for completion in completions {
        completion.recv().expect("an answer").expect("done");
    }
    let wal = committer.close();
    let first = wal.first_index().expect("not empty");
    assert!(first > 1 && first <= 21, "first index {first}");
    drop(wal);

    let (_, recovered) = open(dir.path(), 200);
    let mut expected = entries(first..=39);
    expected.extend(rewritten);
    assert_eq!(recovered.entries, expected);
}

#[test]
fn a_failed_batch_fails_its_waiters_and_everything_after() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fs = FaultyFileSystem::without_real_fsync();
    let (wal, _) = Wal::open(dir.path(), faulty_options(&fs, 1 << 20)).expect("open");
    let committer = GroupCommitter::spawn(wal).expect("spawn");
    committer
        .submit(entries(1..=5))
        .recv()
        .expect("answer")
        .expect("durable");
    fs.crash_after_bytes(10);
    let failed = committer.submit(entries(6..=9)).recv().expect("answer");
    assert!(matches!(failed, Err(WalError::Io { .. })), "{failed:?}");
    let refused = committer.submit(entries(6..=6)).recv().expect("answer");
    assert!(
        matches!(refused, Err(WalError::Unusable { .. })),
        "{refused:?}"
    );
    let queued = committer.submit(entries(6..=6));
    drop(committer);
    assert!(queued
        .recv()
        .expect("answered before the writer stopped")
        .is_err());

    let (_, recovered) = open(dir.path(), 1 << 20);
    assert_eq!(recovered.entries, entries(1..=5));
}
