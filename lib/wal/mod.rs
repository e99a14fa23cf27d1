//! Durable storage for a replica: a checksummed write-ahead log of opaque
//! entries, the hard state, and snapshots; all crash-safe, all fsynced
//! before they are reported durable.
//!
//! The Raft driver (product DB) and the sequencer driver (customer DB) keep
//! their state here. Nothing in this module knows what an entry means: an
//! entry is `(index, bytes)` with contiguous indices, the hard state and a
//! snapshot's data are byte strings. The modules:
//!
//! * `log.rs`: [`Wal`], append / sync / truncate_from / compact_to, and
//!   why each is crash safe.
//! * `segment.rs`: segment files `wal-<first_index:020>.log` and the record
//!   format (one record per entry).
//! * `recovery.rs`: replay on open; a torn tail is cut, corruption is an error.
//! * `group_commit.rs`: [`GroupCommitter`], the "wal-writer" thread that lets
//!   many appends share one fsync.
//! * `hard_state.rs`, `snapshot.rs`: [`HardStateFile`], [`SnapshotStore`],
//!   replaced atomically through `atomic_file.rs` (temp, fsync, rename, fsync
//!   directory).
//! * `frame.rs`: `len | crc32 | payload` framing, shared with the UDP
//!   transport.
//! * `fs.rs`: the [`FileSystem`] seam and [`FaultyFileSystem`], which tests
//!   use to count fsyncs and to crash in the middle of a write.
//! * `errors.rs`: [`WalError`].
//!
//! A typical driver: open the snapshot store, the hard state and the log
//! (`Wal::open` returns every entry), skip entries the snapshot covers, then
//! hand the log to a [`GroupCommitter`] and answer a proposal only when its
//! completion says `Ok`. The three can share one directory: their file names
//! differ and each ignores the others' files.

#![deny(missing_docs)]

mod atomic_file;
pub mod errors;
pub mod frame;
pub mod fs;
pub mod group_commit;
pub mod hard_state;
pub mod log;
mod recovery;
mod segment;
pub mod snapshot;

#[cfg(test)]
mod tests;

pub use errors::{WalError, WalResult};
pub use fs::{FaultyFileSystem, FileSystem, StdFileSystem, WritableFile, WriteStall};
pub use group_commit::{
    Completion, GroupCommitter, GROUP_COMMIT_BATCH_JOBS_MAX, GROUP_COMMIT_QUEUE_MAX,
};
pub use hard_state::{HardStateFile, HARD_STATE_BYTES_MAX};
pub use log::{Wal, WalOptions, SEGMENT_BYTES_MAX_DEFAULT};
pub use recovery::{Recovered, TornTail};
pub use segment::{segment_file_name, ENTRY_BYTES_MAX};
pub use snapshot::{Snapshot, SnapshotStore, SNAPSHOT_BYTES_MAX};
