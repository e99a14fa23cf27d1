//! Crashes in the middle of writing, simulated with `FaultyFileSystem`.
//!
//! Method: sync a first batch (durable, acknowledged), then let the faulty
//! file system die after N more bytes while a second batch (which rolls
//! through several segments) is written; reopen with the real file system.
//! For every N: the synced entries are all back, what follows is a
//! contiguous prefix of the second batch with the right bytes (a torn record
//! is never replayed), and the log takes new appends that survive a reopen.

use super::{entries, faulty_options, open};
use crate::wal::{FaultyFileSystem, Wal, WalError};

const SEGMENT_BYTES_MAX: u64 = 256;

#[test]
fn a_crash_at_any_byte_of_a_batch_write_keeps_a_clean_prefix() {
    let batch = entries(11..=40);
    let batch_bytes: u64 = batch.iter().map(|(_, entry)| 16 + entry.len() as u64).sum();
    for budget in (0..batch_bytes).step_by(5) {
        let dir = tempfile::tempdir().expect("tempdir");
        let fs = FaultyFileSystem::without_real_fsync();
        let (mut wal, _) =
            Wal::open(dir.path(), faulty_options(&fs, SEGMENT_BYTES_MAX)).expect("open");
        wal.append(&entries(1..=10)).expect("append");
        wal.sync().expect("sync");

        fs.crash_after_bytes(budget);
        let outcome = wal.append(&batch).and_then(|()| wal.sync());
        assert!(outcome.is_err(), "budget {budget}: the crash must surface");
        assert!(fs.has_crashed());
        let refused = wal
            .append(&entries(41..=41))
            .expect_err("a failed log refuses work");
        assert!(matches!(refused, WalError::Unusable { .. }), "{refused}");
        drop(wal);

        let (mut wal, recovered) = open(dir.path(), SEGMENT_BYTES_MAX);
        let last = recovered.entries.last().map_or(0, |(index, _)| *index);
        assert!(
            (10..40).contains(&last),
            "budget {budget}: recovered up to {last}"
        );
        assert_eq!(recovered.entries, entries(1..=last), "budget {budget}");
        wal.append(&entries(last + 1..=last + 3))
            .expect("append after recovery");
        wal.sync().expect("sync");
        drop(wal);
        let (_, recovered) = open(dir.path(), SEGMENT_BYTES_MAX);
        assert_eq!(recovered.entries, entries(1..=last + 3), "budget {budget}");
    }
}

#[test]
fn a_truncation_is_durable_before_the_crash_that_follows_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fs = FaultyFileSystem::without_real_fsync();
    let (mut wal, _) = Wal::open(dir.path(), faulty_options(&fs, SEGMENT_BYTES_MAX)).expect("open");
    wal.append(&entries(1..=50)).expect("append");
    wal.sync().expect("sync");
    wal.truncate_from(20).expect("truncate");
    fs.crash_now();
    assert!(wal.append(&entries(20..=25)).is_err());
    drop(wal);

    let (_, recovered) = open(dir.path(), SEGMENT_BYTES_MAX);
    assert_eq!(recovered.entries, entries(1..=19));
}

#[test]
fn a_crash_while_rewriting_after_a_truncation_never_resurrects_old_entries() {
    // A follower cuts 20.. and writes a new leader's entries there; the
    // process dies halfway. Whatever survives at 20.. is the new entries.
    let rewritten: Vec<(u64, Vec<u8>)> = (20..=45)
        .map(|index| (index, format!("new {index}").into_bytes()))
        .collect();
    for budget in (0..400).step_by(9) {
        let dir = tempfile::tempdir().expect("tempdir");
        let fs = FaultyFileSystem::without_real_fsync();
        let (mut wal, _) =
            Wal::open(dir.path(), faulty_options(&fs, SEGMENT_BYTES_MAX)).expect("open");
        wal.append(&entries(1..=50)).expect("append");
        wal.sync().expect("sync");
        wal.truncate_from(20).expect("truncate");
        fs.crash_after_bytes(budget);
        let _ = wal.append(&rewritten).and_then(|()| wal.sync());
        drop(wal);

        let (_, recovered) = open(dir.path(), SEGMENT_BYTES_MAX);
        let (old, new) = recovered.entries.split_at(19);
        assert_eq!(old, &entries(1..=19)[..], "budget {budget}");
        assert_eq!(new, &rewritten[..new.len()], "budget {budget}");
    }
}
