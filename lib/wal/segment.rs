//! Segments and records: the on-disk shape of the log.
//!
//! The log is a row of append-only files in one directory, each named after
//! the index of its first entry, `wal-<first_index:020>.log`, so that sorting
//! the names sorts the log and a whole file can be dropped when a snapshot
//! covers it. The zero-padded width makes the order of names the order of
//! indices.
//!
//! A segment is a sequence of records, one per log entry:
//!
//! ```text
//! record  = frame(index: u64 LE | entry bytes)      (frame: see frame.rs)
//! ```
//!
//! One entry per record, not one record per batch: a crash in the middle of
//! a batch then keeps the entries written before the tear, and suffix
//! truncation can cut between any two entries. Atomic batches are not needed:
//! Raft only relies on what was fsynced before an acknowledgement, and an
//! fsync covers whole batches anyway. The index is inside the checksummed
//! payload, so a record that moved or was duplicated is caught as well.
//! A record's payload is at least the 8 index bytes long, so a run of zeros
//! (a file extended by a crash but never written) never reads as a record:
//! its length 0 is too short, even though the CRC of nothing is 0.

use std::fmt;
use std::path::{Path, PathBuf};

use super::frame::{self, FrameError};
use crate::wire::Reader;

/// The largest log entry the log accepts: a record must fit in memory
/// whole, and a garbage length must not make recovery allocate gigabytes.
pub const ENTRY_BYTES_MAX: usize = 16 * 1024 * 1024;

/// Bytes of the index at the start of each record's payload.
const RECORD_INDEX_BYTES: usize = 8;

/// The name prefix of segment files.
const SEGMENT_PREFIX: &str = "wal-";
/// The name suffix of segment files.
const SEGMENT_SUFFIX: &str = ".log";
/// Digits of the first index in a segment's name.
const SEGMENT_INDEX_DIGITS: usize = 20;

/// The file name of the segment that starts at `first_index`.
pub fn segment_file_name(first_index: u64) -> String {
    format!(
        "{SEGMENT_PREFIX}{first_index:0width$}{SEGMENT_SUFFIX}",
        width = SEGMENT_INDEX_DIGITS
    )
}

/// The first index named by a segment file name, or `None` if `name` is not
/// exactly the name of a segment (other files in the directory are left alone).
pub fn parse_segment_file_name(name: &str) -> Option<u64> {
    let digits = name
        .strip_prefix(SEGMENT_PREFIX)?
        .strip_suffix(SEGMENT_SUFFIX)?;
    if digits.len() != SEGMENT_INDEX_DIGITS || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Appends the record of entry `index` to `out`.
///
/// # Panics
/// If `entry` is longer than `ENTRY_BYTES_MAX` (the log checks first).
pub fn encode_record(index: u64, entry: &[u8], out: &mut Vec<u8>) {
    assert!(
        entry.len() <= ENTRY_BYTES_MAX,
        "entry {index} of {} bytes",
        entry.len()
    );
    frame::encode_with(out, |payload| {
        payload.u64(index);
        payload.bytes(entry);
    });
}

/// A record read back from a segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record<'a> {
    /// The entry's log index.
    pub index: u64,
    /// The entry's bytes.
    pub entry: &'a [u8],
    /// Bytes the record takes in the file.
    pub record_bytes: usize,
}

/// Why the bytes at some offset of a segment are not a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordError {
    /// The frame around the record is bad (cut short, bad CRC, absurd length).
    Frame(FrameError),
    /// The frame is sound but too short to hold an index.
    MissingIndex {
        /// The payload's length.
        payload_bytes: usize,
    },
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordError::Frame(error) => write!(f, "{error}"),
            RecordError::MissingIndex { payload_bytes } => {
                write!(
                    f,
                    "record payload of {payload_bytes} bytes has no room for its index"
                )
            }
        }
    }
}

/// Decodes the record at the start of `bytes`.
pub fn decode_record(bytes: &[u8]) -> Result<Record<'_>, RecordError> {
    let frame =
        frame::decode(bytes, RECORD_INDEX_BYTES + ENTRY_BYTES_MAX).map_err(RecordError::Frame)?;
    let mut payload = Reader::new(frame.payload);
    let Ok(index) = payload.u64() else {
        return Err(RecordError::MissingIndex {
            payload_bytes: frame.payload.len(),
        });
    };
    Ok(Record {
        index,
        entry: payload.rest(),
        record_bytes: frame.frame_bytes,
    })
}

/// What the log knows about one segment file: where it is, which entries it
/// holds and where each record starts (to truncate between any two).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    /// The index of the first entry, as in the file name.
    pub first_index: u64,
    /// The file.
    pub path: PathBuf,
    /// The byte offset of each record: `record_offsets[k]` holds entry
    /// `first_index + k`.
    pub record_offsets: Vec<u64>,
    /// The file's length: the end of its last record.
    pub bytes: u64,
}

impl Segment {
    /// A segment with no records yet.
    pub fn new(dir: &Path, first_index: u64) -> Segment {
        Segment {
            first_index,
            path: dir.join(segment_file_name(first_index)),
            record_offsets: Vec::new(),
            bytes: 0,
        }
    }

    /// Whether it holds no record.
    pub fn is_empty(&self) -> bool {
        self.record_offsets.is_empty()
    }

    /// The index the next record appended to it must carry.
    pub fn next_index(&self) -> u64 {
        self.first_index + self.record_offsets.len() as u64
    }

    /// The index of its last entry, or `None` if it is empty.
    pub fn last_index(&self) -> Option<u64> {
        (!self.is_empty()).then(|| self.next_index() - 1)
    }

    /// Where the record of `index` starts, if the segment holds it.
    pub fn offset_of(&self, index: u64) -> Option<u64> {
        let position = usize::try_from(index.checked_sub(self.first_index)?).ok()?;
        self.record_offsets.get(position).copied()
    }

    /// Forgets the records from `index` on, and the bytes they took.
    ///
    /// # Panics
    /// If the segment does not hold `index`.
    pub fn forget_from(&mut self, index: u64) {
        let offset = self.offset_of(index).unwrap_or_else(|| {
            panic!(
                "segment {} does not hold entry {index}",
                self.path.display()
            )
        });
        self.record_offsets
            .truncate((index - self.first_index) as usize);
        self.bytes = offset;
    }
}
