//! Recovery: reading the segments back after a restart or a crash, and
//! deciding which damage a crash explains.
//!
//! A crash can tear only the end of the log: the log fsyncs a segment (and
//! the directory) before it creates the next one, so every segment but the
//! last was durable before anything after it existed. Hence the rule:
//!
//! - In the last segment, the first record that is cut short or fails its
//!   checksum is a torn tail: the write was under way when the process died,
//!   and nobody was told it was durable. The file is truncated there (with a
//!   warning naming the file and offset) and replay stops; nothing after the
//!   tear is ever replayed, however valid it may look.
//! - Anywhere else, a bad record, a gap between segments or a record carrying
//!   the wrong index is corruption that no crash explains: acknowledged data
//!   may be gone, so recovery fails with `WalError::Corrupt` instead of
//!   guessing.
//!
//! A last segment left with no record (created just before the crash) is
//! removed, so every segment on disk holds at least one record and its name
//! always says where its first record belongs.

use std::path::{Path, PathBuf};

use log::{debug, warn};

use super::errors::{WalError, WalResult};
use super::fs::FileSystem;
use super::segment::{decode_record, parse_segment_file_name, RecordError, Segment};

/// What `Wal::open` read back.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recovered {
    /// Every entry in the log, `(index, bytes)`, in index order, with no gaps.
    /// After `compact_to`, entries at or below the compaction point may still
    /// be here (whole segments are dropped, never parts): skip those a
    /// snapshot covers.
    pub entries: Vec<(u64, Vec<u8>)>,
    /// The torn tail that was cut off the last segment, if there was one.
    pub torn_tail: Option<TornTail>,
}

/// A torn tail found and cut during recovery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TornTail {
    /// The segment it was in.
    pub path: PathBuf,
    /// The offset the segment was truncated to: the start of the bad record.
    pub offset: u64,
    /// How many bytes were cut.
    pub bytes_cut: u64,
    /// Why the record there was rejected.
    pub reason: String,
}

/// The log's state after recovery: its segments (oldest first) and what they hold.
pub(crate) struct RecoveredLog {
    pub segments: Vec<Segment>,
    pub recovered: Recovered,
}

/// One segment as read from disk.
struct SegmentScan {
    /// The segment up to its last good record.
    segment: Segment,
    /// The file's length on disk.
    file_bytes: u64,
    /// The first bad record, if any (it starts at `segment.bytes`).
    damage: Option<RecordError>,
}

/// Reads every segment in `dir`, cuts a torn tail, and returns the log.
pub(crate) fn recover(fs: &dyn FileSystem, dir: &Path) -> WalResult<RecoveredLog> {
    let first_indices = list_segments(fs, dir)?;
    let mut segments: Vec<Segment> = Vec::with_capacity(first_indices.len());
    let mut recovered = Recovered::default();
    for (position, &first_index) in first_indices.iter().enumerate() {
        let is_last = position + 1 == first_indices.len();
        let scan = scan_segment(fs, dir, first_index, &mut recovered.entries)?;
        let segment = &scan.segment;
        if let Some(expected) = segments.last().map(Segment::next_index) {
            if first_index != expected {
                let reason =
                    format!("segment starts at {first_index}, but the log goes on at {expected}");
                return Err(WalError::corrupt(&segment.path, 0, reason));
            }
        }
        if let Some(damage) = scan.damage {
            if !is_last {
                let reason = format!("bad record before the last segment: {damage}");
                return Err(WalError::corrupt(&segment.path, segment.bytes, reason));
            }
            recovered.torn_tail = Some(cut_torn_tail(fs, segment, scan.file_bytes, damage)?);
        }
        if segment.is_empty() {
            if !is_last {
                return Err(WalError::corrupt(
                    &segment.path,
                    0,
                    "empty segment before the last",
                ));
            }
            remove_empty_segment(fs, dir, segment)?;
            continue;
        }
        segments.push(scan.segment);
    }
    Ok(RecoveredLog {
        segments,
        recovered,
    })
}

/// The first indices of the segments in `dir`, in order.
fn list_segments(fs: &dyn FileSystem, dir: &Path) -> WalResult<Vec<u64>> {
    let names = fs.list_dir(dir).map_err(WalError::io("list", dir))?;
    let mut first_indices = Vec::new();
    for name in names {
        match parse_segment_file_name(&name) {
            Some(first_index) => first_indices.push(first_index),
            None => debug!("{}: ignoring {name}, not a segment", dir.display()),
        }
    }
    first_indices.sort_unstable();
    Ok(first_indices)
}

/// Reads one segment, appending its entries to `entries`, up to the end or
/// the first bad record.
fn scan_segment(
    fs: &dyn FileSystem,
    dir: &Path,
    first_index: u64,
    entries: &mut Vec<(u64, Vec<u8>)>,
) -> WalResult<SegmentScan> {
    let mut segment = Segment::new(dir, first_index);
    let bytes = fs
        .read(&segment.path)
        .map_err(WalError::io("read", &segment.path))?;
    let mut offset = 0;
    let mut damage = None;
    while offset < bytes.len() {
        let record = match decode_record(&bytes[offset..]) {
            Ok(record) => record,
            Err(error) => {
                damage = Some(error);
                break;
            }
        };
        // A record with a sound checksum in the wrong place is not a torn
        // write: the log never writes one.
        if record.index != segment.next_index() {
            let reason = format!(
                "record of entry {} where {} belongs",
                record.index,
                segment.next_index()
            );
            return Err(WalError::corrupt(&segment.path, offset as u64, reason));
        }
        segment.record_offsets.push(offset as u64);
        entries.push((record.index, record.entry.to_vec()));
        offset += record.record_bytes;
    }
    segment.bytes = offset as u64;
    Ok(SegmentScan {
        segment,
        file_bytes: bytes.len() as u64,
        damage,
    })
}

/// Truncates the last segment at its first bad record, durably.
fn cut_torn_tail(
    fs: &dyn FileSystem,
    segment: &Segment,
    file_bytes: u64,
    damage: RecordError,
) -> WalResult<TornTail> {
    let offset = segment.bytes;
    let bytes_cut = file_bytes - offset;
    warn!(
        "{}: torn tail at byte {offset} ({damage}); cutting {bytes_cut} bytes",
        segment.path.display()
    );
    fs.truncate(&segment.path, offset)
        .map_err(WalError::io("truncate", &segment.path))?;
    Ok(TornTail {
        path: segment.path.clone(),
        offset,
        bytes_cut,
        reason: damage.to_string(),
    })
}

/// Removes a last segment that holds no record, durably.
fn remove_empty_segment(fs: &dyn FileSystem, dir: &Path, segment: &Segment) -> WalResult<()> {
    debug!(
        "{}: removing the empty last segment",
        segment.path.display()
    );
    fs.remove_file(&segment.path)
        .map_err(WalError::io("remove", &segment.path))?;
    fs.sync_dir(dir).map_err(WalError::io("fsync", dir))
}
