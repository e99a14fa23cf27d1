//! Recovery from a torn tail, and refusal of corruption.
//!
//! Method: build a synced log over several segments, keep a pristine copy,
//! then for each damage (the last segment cut at every byte offset inside
//! its last record, every byte of that record flipped, zeros appended, a bad
//! record in a middle segment, a missing segment) damage a fresh copy and
//! reopen it. A torn tail must give back exactly the records before it,
//! leave the file truncated there, and accept new appends that survive
//! another reopen; damage no crash explains must be an error.

use std::fs::{self, OpenOptions};
use std::path::Path;

use super::{copy_dir, entries, open, segment_paths};
use crate::wal::frame::FRAME_HEADER_BYTES;
use crate::wal::WalError;

const SEGMENT_BYTES_MAX: u64 = 400;
const LAST_INDEX: u64 = 44;

/// A synced log of entries 1..=LAST_INDEX in several segments.
fn pristine_log() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut wal, _) = open(dir.path(), SEGMENT_BYTES_MAX);
    wal.append(&entries(1..=LAST_INDEX)).expect("append");
    wal.sync().expect("sync");
    assert!(wal.segment_count() >= 3);
    // The tests damage the end of the last segment and expect records
    // before the damage in that same segment.
    let last_segment = segment_paths(dir.path()).pop().expect("a segment");
    let tail_bytes = record_bytes(LAST_INDEX) + record_bytes(LAST_INDEX - 1);
    assert!(fs::metadata(&last_segment).expect("stat").len() > tail_bytes);
    dir
}

/// The size of the record of entry `index` on disk.
fn record_bytes(index: u64) -> u64 {
    (FRAME_HEADER_BYTES + 8 + entries(index..=index)[0].1.len()) as u64
}

/// Reopens a damaged copy, expects everything before entry LAST_INDEX back,
/// the last segment cut to `cut_to` bytes, and a working log afterwards.
fn expect_tail_cut(dir: &Path, cut_to: u64, what: &str) {
    let last_segment = segment_paths(dir).pop().expect("a segment");
    let (mut wal, recovered) = open(dir, SEGMENT_BYTES_MAX);
    assert_eq!(recovered.entries, entries(1..=LAST_INDEX - 1), "{what}");
    assert_eq!(
        fs::metadata(&last_segment).expect("stat").len(),
        cut_to,
        "{what}"
    );
    if let Some(torn) = &recovered.torn_tail {
        assert_eq!(
            (torn.path.as_path(), torn.offset),
            (last_segment.as_path(), cut_to),
            "{what}"
        );
    }
    wal.append(&entries(LAST_INDEX..=LAST_INDEX + 5))
        .expect("append after recovery");
    wal.sync().expect("sync");
    drop(wal);
    let (_, recovered) = open(dir, SEGMENT_BYTES_MAX);
    assert_eq!(recovered.entries, entries(1..=LAST_INDEX + 5), "{what}");
}

#[test]
fn a_cut_at_every_offset_inside_the_last_record_is_recovered() {
    let pristine = pristine_log();
    let last_segment = segment_paths(pristine.path()).pop().expect("a segment");
    let length = fs::metadata(&last_segment).expect("stat").len();
    let record_start = length - record_bytes(LAST_INDEX);
    for cut in record_start..length {
        let scratch = tempfile::tempdir().expect("tempdir");
        let dir = scratch.path().join("log");
        copy_dir(pristine.path(), &dir);
        let segment = dir.join(last_segment.file_name().expect("name"));
        OpenOptions::new()
            .write(true)
            .open(&segment)
            .expect("open")
            .set_len(cut)
            .expect("cut");
        expect_tail_cut(&dir, record_start, &format!("cut at byte {cut}"));
    }
}

#[test]
fn a_flipped_byte_anywhere_in_the_last_record_is_recovered() {
    let pristine = pristine_log();
    let last_segment = segment_paths(pristine.path()).pop().expect("a segment");
    let bytes = fs::read(&last_segment).expect("read");
    let record_start = bytes.len() - record_bytes(LAST_INDEX) as usize;
    for position in record_start..bytes.len() {
        let scratch = tempfile::tempdir().expect("tempdir");
        let dir = scratch.path().join("log");
        copy_dir(pristine.path(), &dir);
        let mut damaged = bytes.clone();
        damaged[position] ^= 0x01;
        fs::write(dir.join(last_segment.file_name().expect("name")), damaged).expect("write");
        expect_tail_cut(
            &dir,
            record_start as u64,
            &format!("byte {position} flipped"),
        );
    }
}

#[test]
fn a_zero_filled_tail_is_cut() {
    // A crash can leave a file longer than what was written, filled with
    // zeros; a zero length must not read as an (empty) record.
    let pristine = pristine_log();
    let last_segment = segment_paths(pristine.path()).pop().expect("a segment");
    let length = fs::metadata(&last_segment).expect("stat").len();
    let file = OpenOptions::new()
        .write(true)
        .open(&last_segment)
        .expect("open");
    file.set_len(length + 4096).expect("extend with zeros");
    let (_, recovered) = open(pristine.path(), SEGMENT_BYTES_MAX);
    assert_eq!(recovered.entries, entries(1..=LAST_INDEX));
    assert_eq!(recovered.torn_tail.expect("a torn tail").bytes_cut, 4096);
    assert_eq!(fs::metadata(&last_segment).expect("stat").len(), length);
}

#[test]
fn nothing_after_a_bad_record_is_replayed() {
    // Damage the second-to-last record: the last one is valid, but it comes
    // after the tear, so it is cut too.
    let pristine = pristine_log();
    let last_segment = segment_paths(pristine.path()).pop().expect("a segment");
    let mut bytes = fs::read(&last_segment).expect("read");
    let tail_bytes = record_bytes(LAST_INDEX) + record_bytes(LAST_INDEX - 1);
    let record_start = bytes.len() - tail_bytes as usize;
    bytes[record_start + FRAME_HEADER_BYTES + 2] ^= 0xff;
    fs::write(&last_segment, &bytes).expect("write");
    let (_, recovered) = open(pristine.path(), SEGMENT_BYTES_MAX);
    assert_eq!(recovered.entries, entries(1..=LAST_INDEX - 2));
    assert_eq!(
        fs::metadata(&last_segment).expect("stat").len(),
        record_start as u64
    );
}

#[test]
fn a_bad_record_in_a_middle_segment_is_corruption_and_nothing_is_cut() {
    let pristine = pristine_log();
    let middle = segment_paths(pristine.path())[1].clone();
    let mut bytes = fs::read(&middle).expect("read");
    let position = bytes.len() - 3;
    bytes[position] ^= 0x01;
    fs::write(&middle, &bytes).expect("write");
    let error = crate::wal::Wal::open(pristine.path(), super::options(SEGMENT_BYTES_MAX))
        .expect_err("corruption");
    match &error {
        WalError::Corrupt { path, .. } => assert_eq!(path, &middle),
        other => panic!("expected Corrupt, got {other}"),
    }
    assert_eq!(
        fs::read(&middle).expect("read"),
        bytes,
        "the damaged file is left as it was"
    );
}

#[test]
fn a_missing_middle_segment_is_corruption() {
    let pristine = pristine_log();
    fs::remove_file(&segment_paths(pristine.path())[1]).expect("remove");
    let error = crate::wal::Wal::open(pristine.path(), super::options(SEGMENT_BYTES_MAX))
        .expect_err("a gap");
    assert!(matches!(error, WalError::Corrupt { .. }), "{error}");
}

#[test]
fn an_empty_last_segment_is_removed() {
    // A crash right after a segment was created leaves it empty.
    let pristine = pristine_log();
    let empty = pristine
        .path()
        .join(crate::wal::segment_file_name(LAST_INDEX + 1));
    fs::write(&empty, b"").expect("create");
    let (mut wal, recovered) = open(pristine.path(), SEGMENT_BYTES_MAX);
    assert_eq!(recovered.entries, entries(1..=LAST_INDEX));
    assert!(!empty.exists());
    wal.append(&entries(LAST_INDEX + 1..=LAST_INDEX + 1))
        .expect("append");
}
