//! `WalError`: what can go wrong in the storage layer, as values.
//!
//! Conditions that a correct program meets in operation are errors here: a
//! failed system call, a file that fails its checksum, a caller asking for
//! something that would break the log (a gap in the indices, an entry that is
//! too large). The error is `Clone` (the I/O cause sits behind an `Arc`) so
//! that the group committer can hand the outcome of one shared fsync to every
//! waiter.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The result of every fallible storage call.
pub type WalResult<T> = Result<T, WalError>;

/// Everything that can go wrong when writing or reading the log, the hard
/// state or a snapshot.
#[derive(Clone, Debug)]
pub enum WalError {
    /// A system call failed.
    Io {
        /// What was being done ("append", "fsync", "rename", ...).
        operation: &'static str,
        /// The file or directory it was done to.
        path: PathBuf,
        /// The operating system's error.
        source: Arc<io::Error>,
    },
    /// A file holds bytes that no crash can explain (a bad record before the
    /// last segment, a gap in the indices, a checksum mismatch in a file that
    /// was renamed into place only after its fsync). Data that was once
    /// acknowledged may be lost, so nothing is silently dropped: an operator
    /// must look.
    Corrupt {
        /// The damaged file.
        path: PathBuf,
        /// Where in the file the damage starts.
        offset: u64,
        /// What is wrong, in words.
        reason: String,
    },
    /// `append` was given an entry whose index does not follow the log's last
    /// index (truncate first to overwrite, and never leave a gap).
    NonContiguous {
        /// The index the log expected next.
        expected: u64,
        /// The index it was given.
        found: u64,
    },
    /// A payload is larger than the format allows.
    TooLarge {
        /// What was too large ("log entry", "hard state", "snapshot").
        what: &'static str,
        /// Its size in bytes.
        bytes: usize,
        /// The limit in bytes.
        max: usize,
    },
    /// `SnapshotStore::save` was given a snapshot older than the one on disk.
    SnapshotOutOfOrder {
        /// The index of the snapshot that was offered.
        index: u64,
        /// The index of the snapshot already on disk.
        latest: u64,
    },
    /// An earlier write, sync or removal failed, so what is on disk is no
    /// longer known (a failed fsync may even have dropped dirty pages). The
    /// log refuses further work; the process should reopen it, which recovers
    /// the durable prefix.
    Unusable {
        /// The failure that made the log unusable.
        cause: String,
    },
    /// The group committer's writer thread is gone (its log failed and the
    /// committer was closed, or it panicked).
    WriterStopped,
}

impl WalError {
    /// Builds the `map_err` adapter for an I/O call on `path`.
    pub(crate) fn io(operation: &'static str, path: &Path) -> impl FnOnce(io::Error) -> WalError {
        let path = path.to_path_buf();
        move |source| WalError::Io {
            operation,
            path,
            source: Arc::new(source),
        }
    }

    /// Builds a `Corrupt` error.
    pub(crate) fn corrupt(path: &Path, offset: u64, reason: impl Into<String>) -> WalError {
        WalError::Corrupt {
            path: path.to_path_buf(),
            offset,
            reason: reason.into(),
        }
    }
}

impl fmt::Display for WalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WalError::Io {
                operation,
                path,
                source,
            } => {
                write!(f, "{operation} {}: {source}", path.display())
            }
            WalError::Corrupt {
                path,
                offset,
                reason,
            } => {
                write!(
                    f,
                    "corrupt file {} at byte {offset}: {reason}",
                    path.display()
                )
            }
            WalError::NonContiguous { expected, found } => {
                write!(
                    f,
                    "log entry {found} does not follow the log (expected {expected})"
                )
            }
            WalError::TooLarge { what, bytes, max } => {
                write!(f, "{what} of {bytes} bytes exceeds the limit of {max}")
            }
            WalError::SnapshotOutOfOrder { index, latest } => {
                write!(
                    f,
                    "snapshot at {index} is older than the stored one at {latest}"
                )
            }
            WalError::Unusable { cause } => {
                write!(
                    f,
                    "log unusable after an earlier failure ({cause}); reopen it"
                )
            }
            WalError::WriterStopped => write!(f, "the wal-writer thread has stopped"),
        }
    }
}

impl std::error::Error for WalError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            WalError::Io { source, .. } => Some(source.as_ref()),
            _ => None,
        }
    }
}
