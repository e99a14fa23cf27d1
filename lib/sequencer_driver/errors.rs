//! [`DriverError`]: why a replicator could not start. Once running, the
//! driver reports trouble per request (`ReplicationError`) and in its
//! status; a storage failure then stops the replica (see `core_loop.rs`).

use std::fmt;
use std::io;
use std::sync::Arc;

use crate::sequencer::{DecodeError, SequencerError};
use crate::wal::WalError;

/// Why [`SequencerReplicator::start`](super::SequencerReplicator::start)
/// failed. Each variant says what an operator may do about it.
#[derive(Clone, Debug)]
pub enum DriverError {
    /// The options break the named rule; fix the configuration.
    InvalidOptions(String),
    /// The log or the snapshot store cannot be opened or written (see the
    /// wal error: an I/O failure, or corruption no crash explains).
    Storage(WalError),
    /// Log entry `index` passed its checksum but is not a sequencer record:
    /// the data directory holds something else, or a bug wrote it.
    CorruptRecord {
        /// The log index of the entry.
        index: u64,
        /// Why it does not decode.
        error: DecodeError,
    },
    /// The snapshot file passed its checksum but its contents are not a
    /// snapshot image this state machine restores; the string says why.
    CorruptSnapshot(String),
    /// The log and the snapshot do not fit together (or the group size
    /// changed since they were written).
    Restore(SequencerError),
    /// A socket could not be bound or a thread could not be started.
    Io {
        /// What was being done.
        what: String,
        /// The operating system's error.
        source: Arc<io::Error>,
    },
}

impl DriverError {
    /// Builds the `map_err` adapter for an I/O call doing `what`.
    pub(super) fn io(what: impl Into<String>) -> impl FnOnce(io::Error) -> DriverError {
        let what = what.into();
        move |source| DriverError::Io {
            what,
            source: Arc::new(source),
        }
    }
}

impl fmt::Display for DriverError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DriverError::InvalidOptions(rule) => write!(f, "invalid sequencer options: {rule}"),
            DriverError::Storage(error) => write!(f, "sequencer storage: {error}"),
            DriverError::CorruptRecord { index, error } => {
                write!(f, "log entry {index} is not a sequencer record: {error}")
            }
            DriverError::CorruptSnapshot(why) => write!(f, "unusable snapshot: {why}"),
            DriverError::Restore(error) => write!(f, "cannot restart the member: {error}"),
            DriverError::Io { what, source } => write!(f, "{what}: {source}"),
        }
    }
}

impl std::error::Error for DriverError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DriverError::Storage(error) => Some(error),
            DriverError::CorruptRecord { error, .. } => Some(error),
            DriverError::Restore(error) => Some(error),
            DriverError::Io { source, .. } => Some(source.as_ref()),
            DriverError::InvalidOptions(_) | DriverError::CorruptSnapshot(_) => None,
        }
    }
}

impl From<WalError> for DriverError {
    fn from(error: WalError) -> Self {
        DriverError::Storage(error)
    }
}

impl From<SequencerError> for DriverError {
    fn from(error: SequencerError) -> Self {
        DriverError::Restore(error)
    }
}
