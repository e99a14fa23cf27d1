//! [`DriverError`]: why a Raft replicator could not start. Once running, the
//! driver reports trouble per request (`ReplicationError`) and in its
//! status; a storage failure then stops the replica (see event_loop.rs).

use std::fmt;
use std::io;
use std::sync::Arc;

use crate::raft::RaftError;
use crate::wal::WalError;

/// Why [`RaftReplicator::start`](super::RaftReplicator::start) failed. Each
/// variant says what an operator may do about it.
#[derive(Clone, Debug)]
pub enum DriverError {
    /// The options break the named rule; fix the configuration.
    InvalidOptions(String),
    /// The log, the hard state or the snapshot store cannot be opened or
    /// read (an I/O failure, or corruption no crash explains).
    Storage(WalError),
    /// A log record passed its checksum but is not a Raft entry: the data
    /// directory holds something else, or a bug wrote it.
    CorruptRecord {
        /// The log index of the record.
        index: u64,
        /// Why it does not decode.
        why: String,
    },
    /// The hard state file passed its checksum but does not decode.
    CorruptHardState(String),
    /// The snapshot passed its checksum but the state machine cannot
    /// restore it; the text says why.
    CorruptSnapshot(String),
    /// The hard state, the snapshot and the log do not fit together.
    Restore(RaftError),
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
            DriverError::InvalidOptions(rule) => write!(f, "invalid raft options: {rule}"),
            DriverError::Storage(error) => write!(f, "raft storage: {error}"),
            DriverError::CorruptRecord { index, why } => {
                write!(f, "log record {index} is not a raft entry: {why}")
            }
            DriverError::CorruptHardState(why) => write!(f, "unusable hard state: {why}"),
            DriverError::CorruptSnapshot(why) => write!(f, "unusable snapshot: {why}"),
            DriverError::Restore(error) => write!(f, "cannot restart the raft node: {error}"),
            DriverError::Io { what, source } => write!(f, "{what}: {source}"),
        }
    }
}

impl std::error::Error for DriverError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DriverError::Storage(error) => Some(error),
            DriverError::Restore(error) => Some(error),
            DriverError::Io { source, .. } => Some(source.as_ref()),
            DriverError::InvalidOptions(_)
            | DriverError::CorruptRecord { .. }
            | DriverError::CorruptHardState(_)
            | DriverError::CorruptSnapshot(_) => None,
        }
    }
}

impl From<WalError> for DriverError {
    fn from(error: WalError) -> Self {
        DriverError::Storage(error)
    }
}

impl From<RaftError> for DriverError {
    fn from(error: RaftError) -> Self {
        DriverError::Restore(error)
    }
}
