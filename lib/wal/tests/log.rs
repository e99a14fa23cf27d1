//! The log's API: append, reopen, suffix truncation, prefix compaction.
//!
//! Method: write through `Wal`, drop it (a drop does not sync: only what was
//! synced is expected back), reopen, and compare with the entries written.
//! Small segments make every test cross several segment files.

use std::fs;

use super::{entries, faulty_options, open, segment_paths, std_options};
use crate::wal::{segment_file_name, FaultyFileSystem, Wal, WalError, ENTRY_BYTES_MAX};

#[test]
fn round_trip() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut wal, recovered) = Wal::open(dir.path(), std_options(1 << 20)).expect("open");
    assert!(recovered.entries.is_empty());
    assert_eq!((wal.first_index(), wal.last_index()), (None, None));
    wal.append(&entries(1..=10)).expect("append");
    wal.sync().expect("sync");
    drop(wal);

    let (wal, recovered) = Wal::open(dir.path(), std_options(1 << 20)).expect("reopen");
    assert_eq!(recovered.entries, entries(1..=10));
    assert_eq!(recovered.torn_tail, None);
    assert_eq!((wal.first_index(), wal.last_index()), (Some(1), Some(10)));
}

#[test]
fn reopen_after_many_appends_across_segments() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut wal, _) = open(dir.path(), 300);
    let mut next = 1;
    for batch_len in (1..=40).cycle().take(30) {
        wal.append(&entries(next..=next + batch_len - 1))
            .expect("append");
        next += batch_len;
    }
    wal.sync().expect("sync");
    let last = next - 1;
    assert!(wal.segment_count() > 10, "{} segments", wal.segment_count());
    assert_eq!(segment_paths(dir.path()).len(), wal.segment_count());
    drop(wal);

    let (mut wal, recovered) = open(dir.path(), 300);
    assert_eq!(recovered.entries, entries(1..=last));
    // The reopened log goes on where it stopped.
    wal.append(&entries(last + 1..=last + 50))
        .expect("append after reopen");
    wal.sync().expect("sync");
    drop(wal);
    let (_, recovered) = open(dir.path(), 300);
    assert_eq!(recovered.entries, entries(1..=last + 50));
}

#[test]
fn segment_names_carry_their_first_index() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut wal, _) = open(dir.path(), 100);
    wal.append(&entries(7..=60)).expect("append");
    wal.sync().expect("sync");
    let paths = segment_paths(dir.path());
    assert_eq!(paths[0], dir.path().join(segment_file_name(7)));
    assert_eq!(segment_file_name(7), "wal-00000000000000000007.log");
}

#[test]
fn a_gap_or_an_oversized_entry_is_refused_and_the_log_stays_usable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut wal, _) = open(dir.path(), 1 << 20);
    wal.append(&entries(1..=3)).expect("append");
    let gap = wal.append(&entries(5..=6)).expect_err("a gap");
    assert!(
        matches!(
            gap,
            WalError::NonContiguous {
                expected: 4,
                found: 5
            }
        ),
        "{gap}"
    );
    let overwrite = wal
        .append(&entries(3..=3))
        .expect_err("an overwrite without truncate");
    assert!(matches!(
        overwrite,
        WalError::NonContiguous {
            expected: 4,
            found: 3
        }
    ));
    let inner_gap = wal
        .append(&[(4, vec![1]), (6, vec![2])])
        .expect_err("a gap inside a batch");
    assert!(matches!(
        inner_gap,
        WalError::NonContiguous {
            expected: 5,
            found: 6
        }
    ));
    let huge = wal
        .append(&[(4, vec![0; ENTRY_BYTES_MAX + 1])])
        .expect_err("too large");
    assert!(matches!(huge, WalError::TooLarge { .. }), "{huge}");

    wal.append(&entries(4..=5))
        .expect("the log is still usable");
    wal.sync().expect("sync");
    drop(wal);
    assert_eq!(open(dir.path(), 1 << 20).1.entries, entries(1..=5));
}

#[test]
fn an_empty_log_starts_at_any_index() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut wal, _) = open(dir.path(), 1 << 20);
    wal.append(&entries(101..=105))
        .expect("append after a snapshot at 100");
    wal.sync().expect("sync");
    drop(wal);
    let (wal, recovered) = open(dir.path(), 1 << 20);
    assert_eq!(recovered.entries, entries(101..=105));
    assert_eq!(wal.first_index(), Some(101));
}

/// Builds a log of entries 1..=last in segments of `segment_bytes_max`, synced.
fn build_log(dir: &std::path::Path, last: u64, segment_bytes_max: u64) {
    let (mut wal, _) = open(dir, segment_bytes_max);
    wal.append(&entries(1..=last)).expect("append");
    wal.sync().expect("sync");
}

/// Entries that differ from `entries` at the same indices (a new leader's).
fn rewritten(range: std::ops::RangeInclusive<u64>) -> Vec<(u64, Vec<u8>)> {
    range
        .map(|index| (index, format!("rewritten {index}").into_bytes()))
        .collect()
}

#[test]
fn truncate_from_removes_the_suffix_durably_at_every_cut_point() {
    // Cut points: mid-segment, each segment's first entry, the first entry
    // of the log, the last entry, and past the end.
    for cut in [1, 2, 10, 33, 34, 35, 59, 60, 61, 100] {
        let dir = tempfile::tempdir().expect("tempdir");
        build_log(dir.path(), 60, 200);
        let (mut wal, _) = open(dir.path(), 200);
        wal.truncate_from(cut).expect("truncate");
        let kept = cut.min(61) - 1;
        assert_eq!(wal.last_index(), (kept > 0).then_some(kept), "cut {cut}");
        // No sync: the truncation alone must be durable (a crash right after).
        drop(wal);

        let (mut wal, recovered) = open(dir.path(), 200);
        assert_eq!(recovered.entries, entries(1..=kept), "cut {cut}");
        let first_new = if kept == 0 { 1 } else { kept + 1 };
        wal.append(&rewritten(first_new..=first_new + 20))
            .expect("append after truncate");
        wal.sync().expect("sync");
        drop(wal);

        let (_, recovered) = open(dir.path(), 200);
        let mut expected = entries(1..=kept);
        expected.extend(rewritten(first_new..=first_new + 20));
        assert_eq!(recovered.entries, expected, "cut {cut}");
    }
}

#[test]
fn truncate_from_zero_empties_the_log() {
    let dir = tempfile::tempdir().expect("tempdir");
    build_log(dir.path(), 30, 200);
    let (mut wal, _) = open(dir.path(), 200);
    wal.truncate_from(0).expect("truncate");
    assert_eq!(wal.last_index(), None);
    assert!(segment_paths(dir.path()).is_empty());
    wal.append(&entries(500..=510)).expect("a fresh start");
    wal.sync().expect("sync");
    drop(wal);
    assert_eq!(open(dir.path(), 200).1.entries, entries(500..=510));
}

#[test]
fn compaction_removes_whole_old_segments_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    build_log(dir.path(), 300, 200);
    let (mut wal, _) = open(dir.path(), 200);
    let segments_before = wal.segment_count();
    let paths_before = segment_paths(dir.path());
    wal.compact_to(150).expect("compact");
    let first = wal.first_index().expect("not empty");
    assert!(first > 100 && first <= 151, "first index {first}");
    assert!(wal.segment_count() < segments_before);
    let removed = paths_before.len() - segment_paths(dir.path()).len();
    assert_eq!(removed, segments_before - wal.segment_count());
    wal.append(&entries(301..=310))
        .expect("append after compaction");
    wal.sync().expect("sync");
    drop(wal);

    let (mut wal, recovered) = open(dir.path(), 200);
    assert_eq!(recovered.entries, entries(first..=310));
    // Compacting past the end keeps the last segment: the log still knows
    // where it ends.
    wal.compact_to(u64::MAX).expect("compact everything");
    assert_eq!(wal.segment_count(), 1);
    assert_eq!(wal.last_index(), Some(310));
    drop(wal);
    let (_, recovered) = open(dir.path(), 200);
    assert_eq!(recovered.entries.last().map(|(index, _)| *index), Some(310));
    let (first, _) = recovered.entries[0];
    assert_eq!(recovered.entries, entries(first..=310));
}

#[test]
fn files_that_are_not_segments_are_left_alone() {
    let dir = tempfile::tempdir().expect("tempdir");
    fs::write(dir.path().join("hard_state"), b"not mine").expect("write");
    fs::write(dir.path().join("wal-12.log"), b"a short name").expect("write");
    build_log(dir.path(), 5, 1 << 20);
    let (_, recovered) = open(dir.path(), 1 << 20);
    assert_eq!(recovered.entries, entries(1..=5));
    assert_eq!(
        fs::read(dir.path().join("wal-12.log")).expect("read"),
        b"a short name"
    );
}

#[test]
fn open_makes_what_it_recovered_durable() {
    // A process killed before its fsync leaves records in the page cache;
    // the next open reads them, so it must fsync them before anyone relies
    // on them: the last segment and the directory, once.
    let dir = tempfile::tempdir().expect("tempdir");
    let fs = FaultyFileSystem::without_real_fsync();
    let (mut wal, _) = Wal::open(dir.path(), faulty_options(&fs, 1 << 20)).expect("open");
    wal.append(&entries(1..=3)).expect("append");
    drop(wal);
    let syncs_before = fs.sync_count();
    let (_, recovered) = Wal::open(dir.path(), faulty_options(&fs, 1 << 20)).expect("reopen");
    assert_eq!(recovered.entries, entries(1..=3));
    assert_eq!(fs.sync_count() - syncs_before, 2);
}
