//! `Wal`: the write-ahead log of one replica, an ordered run of
//! `(index, bytes)` entries in segment files, and the four things Raft does
//! to it: append at the tail, fsync, cut a conflicting suffix, drop a prefix
//! a snapshot covers.
//!
//! # Durability, step by step
//!
//! - `append` writes records but does not fsync: many appends can share one
//!   `sync` (see group_commit.rs). Nothing appended is durable before `sync`
//!   returns, and dropping a `Wal` does not sync (a drop is a crash).
//! - Rolling to a new segment first syncs the old one and the directory, so a
//!   segment is durable before any later one exists. That is what lets
//!   recovery call a bad record before the last segment corruption.
//! - `truncate_from(i)` cuts physically rather than writing a "truncate"
//!   marker for replay to apply: replay stays a plain scan and the cut entries
//!   are gone from the disk, not merely hidden. It removes the segments that
//!   start at or after `i`, newest first, fsyncing the directory after each
//!   removal, then truncates the segment holding `i` and fsyncs it. Every
//!   step is durable before the next, so a crash at any point leaves a prefix
//!   of the old log that still holds entries `..i`; it only returns once
//!   entries `i..` are durably gone, so they never come back.
//! - `compact_to(i)` removes whole segments whose entries are all `<= i`,
//!   oldest first, fsyncing the directory after each: a crash leaves a suffix
//!   of the log, still without gaps. The last segment is always kept, so the
//!   log never forgets where it ends.
//! - After any failed write, sync or removal the log is `Unusable`: what is
//!   on disk is unknown, and only a reopen (a recovery) says what survived.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::errors::{WalError, WalResult};
use super::fs::{FileSystem, StdFileSystem, WritableFile};
use super::recovery::{recover, Recovered};
use super::segment::{encode_record, Segment, ENTRY_BYTES_MAX};

/// The default size past which the log starts a new segment.
pub const SEGMENT_BYTES_MAX_DEFAULT: u64 = 64 * 1024 * 1024;

/// How the log is set up.
#[derive(Clone, Debug)]
pub struct WalOptions {
    /// Once the current segment holds this many bytes or more, the next
    /// entry goes to a new segment. A segment may pass it by one record.
    pub segment_bytes_max: u64,
    /// The file system: `StdFileSystem` except in tests.
    pub fs: Arc<dyn FileSystem>,
}

impl Default for WalOptions {
    fn default() -> WalOptions {
        WalOptions {
            segment_bytes_max: SEGMENT_BYTES_MAX_DEFAULT,
            fs: Arc::new(StdFileSystem),
        }
    }
}

/// A durable, checksummed log of `(index, bytes)` entries with contiguous
/// indices. The bytes are opaque: the caller encodes its own entries.
pub struct Wal {
    dir: PathBuf,
    options: WalOptions,
    /// Oldest first; the last is where appends go. Each holds >= 1 record,
    /// except a segment just created for the append under way.
    segments: Vec<Segment>,
    /// The last segment, open for appending (opened on first use).
    tail_file: Option<Box<dyn WritableFile>>,
    /// Records were written to the last segment since its last fsync.
    tail_dirty: bool,
    /// Segments were created since the directory's last fsync.
    dir_dirty: bool,
    /// Set by the first failed write, sync or removal; refuses all later work.
    failure: Option<String>,
    /// Reused buffer for encoding records.
    buffer: Vec<u8>,
}

impl fmt::Debug for Wal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wal")
            .field("dir", &self.dir)
            .field("first_index", &self.first_index())
            .field("last_index", &self.last_index())
            .field("segments", &self.segments.len())
            .field("failure", &self.failure)
            .finish()
    }
}

impl Wal {
    /// Opens (or creates) the log in `dir`, recovers it and returns it with
    /// every entry it holds. A torn tail is cut; corruption is an error.
    ///
    /// # Panics
    /// If `options.segment_bytes_max` is 0.
    pub fn open(dir: &Path, options: WalOptions) -> WalResult<(Wal, Recovered)> {
        assert!(
            options.segment_bytes_max > 0,
            "segment_bytes_max must be positive"
        );
        let fs = Arc::clone(&options.fs);
        fs.create_dir_all(dir)
            .map_err(WalError::io("create", dir))?;
        let log = recover(fs.as_ref(), dir)?;
        let mut wal = Wal {
            dir: dir.to_path_buf(),
            options,
            segments: log.segments,
            tail_file: None,
            tail_dirty: false,
            dir_dirty: false,
            failure: None,
            buffer: Vec::new(),
        };
        wal.make_recovered_durable()?;
        Ok((wal, log.recovered))
    }

    /// The log's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The index of the first entry, or `None` if the log is empty.
    pub fn first_index(&self) -> Option<u64> {
        self.segments
            .first()
            .filter(|segment| !segment.is_empty())
            .map(|segment| segment.first_index)
    }

    /// The index of the last entry, or `None` if the log is empty.
    pub fn last_index(&self) -> Option<u64> {
        self.segments.last().and_then(Segment::last_index)
    }

    /// How many segment files the log has.
    pub fn segment_count(&self) -> usize {
        self.segments.len()
    }

    /// Writes `entries` at the tail, without fsync. Their indices must
    /// follow the last index one by one; an empty log takes any first index
    /// (after a snapshot at `s`, the log starts at `s + 1`).
    ///
    /// A `NonContiguous` or `TooLarge` error writes nothing and leaves the
    /// log usable; an I/O error makes it `Unusable`.
    pub fn append(&mut self, entries: &[(u64, Vec<u8>)]) -> WalResult<()> {
        self.check_usable()?;
        self.check_append(entries)?;
        let result = self.write_entries(entries);
        self.note_failure(result)
    }

    /// Makes everything appended so far durable: fsyncs the last segment and,
    /// if segments were created since, the directory.
    pub fn sync(&mut self) -> WalResult<()> {
        self.check_usable()?;
        let result = self.sync_tail_and_dir();
        self.note_failure(result)
    }

    /// Removes entries `index..` durably (a follower dropping entries that
    /// conflict with the leader's). `truncate_from(0)`, or any index at or
    /// below the first, empties the log. An index past the end does nothing.
    pub fn truncate_from(&mut self, index: u64) -> WalResult<()> {
        self.check_usable()?;
        if self.last_index().is_none_or(|last| index > last) {
            return Ok(());
        }
        let result = self.cut_suffix(index);
        self.note_failure(result)
    }

    /// Removes, durably, every segment whose entries are all `<= index`,
    /// except the last segment. Entries `<= index` in the remaining segments
    /// stay (and come back from `open`): the caller's snapshot covers them.
    pub fn compact_to(&mut self, index: u64) -> WalResult<()> {
        self.check_usable()?;
        let result = self.drop_prefix(index);
        self.note_failure(result)
    }

    /// Fsyncs the last segment and the directory once at open. After a
    /// killed process (not a power cut) recovery may have read records that
    /// are still only in the page cache; the caller will treat everything
    /// `open` returned as durable (a Raft node may acknowledge it), and a
    /// later roll must not leave a segment behind that could still lose its
    /// tail. Earlier segments were synced before their successor existed.
    fn make_recovered_durable(&mut self) -> WalResult<()> {
        if let Some(tail) = self.segments.last() {
            let path = &tail.path;
            let mut file = self
                .options
                .fs
                .open_append(path)
                .map_err(WalError::io("open", path))?;
            file.sync_data().map_err(WalError::io("fsync", path))?;
            self.tail_file = Some(file);
        }
        self.sync_dir()
    }

    fn check_usable(&self) -> WalResult<()> {
        match &self.failure {
            None => Ok(()),
            Some(cause) => Err(WalError::Unusable {
                cause: cause.clone(),
            }),
        }
    }

    /// Remembers the first I/O failure: from then on the log refuses work.
    fn note_failure(&mut self, result: WalResult<()>) -> WalResult<()> {
        if let Err(error) = &result {
            self.failure.get_or_insert_with(|| error.to_string());
            self.tail_file = None;
        }
        result
    }

    /// Rejects a batch that would leave a gap or hold an oversized entry,
    /// before anything is written.
    fn check_append(&self, entries: &[(u64, Vec<u8>)]) -> WalResult<()> {
        let mut expected = self.last_index().map(|last| last + 1);
        for (index, entry) in entries {
            if entry.len() > ENTRY_BYTES_MAX {
                let bytes = entry.len();
                return Err(WalError::TooLarge {
                    what: "log entry",
                    bytes,
                    max: ENTRY_BYTES_MAX,
                });
            }
            if let Some(expected) = expected.filter(|expected| expected != index) {
                return Err(WalError::NonContiguous {
                    expected,
                    found: *index,
                });
            }
            expected = Some(index + 1);
        }
        Ok(())
    }

    /// Encodes and writes `entries`, rolling to new segments as they fill.
    fn write_entries(&mut self, entries: &[(u64, Vec<u8>)]) -> WalResult<()> {
        let mut rest = entries;
        while let Some(&(index, _)) = rest.first() {
            if self.tail_is_full() {
                self.roll(index)?;
            }
            let written = self.encode_into_tail(rest);
            self.write_buffer()?;
            rest = &rest[written..];
        }
        Ok(())
    }

    /// Whether the next entry needs a new segment (there is none, or the last
    /// one has reached its size).
    fn tail_is_full(&self) -> bool {
        self.segments
            .last()
            .is_none_or(|tail| tail.bytes >= self.options.segment_bytes_max)
    }

    /// Encodes entries into the buffer until the last segment is full (at
    /// least one), noting their offsets in it. Returns how many it took.
    fn encode_into_tail(&mut self, entries: &[(u64, Vec<u8>)]) -> usize {
        let tail = self.segments.last_mut().expect("a segment to append to");
        let bytes_max = self.options.segment_bytes_max;
        self.buffer.clear();
        let mut taken = 0;
        for (index, entry) in entries {
            let offset = tail.bytes + self.buffer.len() as u64;
            if taken > 0 && offset >= bytes_max {
                break;
            }
            assert_eq!(*index, tail.next_index(), "append out of order");
            tail.record_offsets.push(offset);
            encode_record(*index, entry, &mut self.buffer);
            taken += 1;
        }
        taken
    }

    /// Writes the buffer at the end of the last segment.
    fn write_buffer(&mut self) -> WalResult<()> {
        let tail = self.segments.last_mut().expect("a segment to append to");
        if self.tail_file.is_none() {
            let file = self.options.fs.open_append(&tail.path);
            self.tail_file = Some(file.map_err(WalError::io("open", &tail.path))?);
        }
        let file = self.tail_file.as_mut().expect("opened above");
        file.write_all(&self.buffer)
            .map_err(WalError::io("append", &tail.path))?;
        tail.bytes += self.buffer.len() as u64;
        self.tail_dirty = true;
        Ok(())
    }

    /// Starts a new segment at `first_index`, after making the current one
    /// and the directory durable.
    fn roll(&mut self, first_index: u64) -> WalResult<()> {
        self.sync_tail_and_dir()?;
        let segment = Segment::new(&self.dir, first_index);
        let file = self.options.fs.create(&segment.path);
        self.tail_file = Some(file.map_err(WalError::io("create", &segment.path))?);
        self.segments.push(segment);
        self.dir_dirty = true;
        Ok(())
    }

    fn sync_tail_and_dir(&mut self) -> WalResult<()> {
        if self.tail_dirty {
            let tail = self.segments.last().expect("dirty implies a segment");
            let file = self.tail_file.as_mut().expect("dirty implies an open file");
            file.sync_data()
                .map_err(WalError::io("fsync", &tail.path))?;
            self.tail_dirty = false;
        }
        if self.dir_dirty {
            self.sync_dir()?;
        }
        Ok(())
    }

    fn sync_dir(&mut self) -> WalResult<()> {
        self.options
            .fs
            .sync_dir(&self.dir)
            .map_err(WalError::io("fsync", &self.dir))?;
        self.dir_dirty = false;
        Ok(())
    }

    /// See `truncate_from`. Requires `index <= last_index`.
    fn cut_suffix(&mut self, index: u64) -> WalResult<()> {
        self.tail_file = None;
        while self
            .segments
            .last()
            .is_some_and(|tail| tail.first_index >= index)
        {
            let tail = self.segments.pop().expect("checked above");
            self.remove_segment(&tail)?;
        }
        // All that remains was durable before (a segment is synced before
        // the next is created), or is made so by the truncate's fsync.
        self.tail_dirty = false;
        // The new tail holds `index` unless `index` was the first entry of
        // a removed segment; then the cut is already complete.
        let Some(tail) = self.segments.last_mut() else {
            return Ok(());
        };
        if let Some(offset) = tail.offset_of(index) {
            let path = &tail.path;
            self.options
                .fs
                .truncate(path, offset)
                .map_err(WalError::io("truncate", path))?;
            tail.forget_from(index);
        }
        Ok(())
    }

    /// See `compact_to`.
    fn drop_prefix(&mut self, index: u64) -> WalResult<()> {
        // The oldest segment ends where the next one starts (no `+ 1` on
        // `index`: it may be u64::MAX).
        while self.segments.len() > 1 && self.segments[1].first_index - 1 <= index {
            let oldest = self.segments.remove(0);
            self.remove_segment(&oldest)?;
        }
        Ok(())
    }

    /// Removes a segment file and makes the removal durable at once, so that
    /// removals become durable in the order they were made.
    fn remove_segment(&mut self, segment: &Segment) -> WalResult<()> {
        let path = &segment.path;
        self.options
            .fs
            .remove_file(path)
            .map_err(WalError::io("remove", path))?;
        self.sync_dir()
    }
}
