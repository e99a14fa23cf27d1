//! [`DriverError`]: why a replicator could not start, in the same shape for
//! both drivers; only the protocol core's restart error ([`RestoreError`])
//! differs. Once running, a driver reports trouble per request
//! (`ReplicationError`) and in its status; a storage failure then stops the
//! replica (see each driver's `core_loop.rs`).

use std::fmt;
use std::io;
use std::sync::Arc;

use crate::wal::WalError;

/// The error a protocol core gives when its persisted state does not fit
/// together, and the protocol's name for messages.
pub trait RestoreError: std::error::Error + Clone + Send + Sync + 'static {
    /// "raft" or "sequencer".
    const PROTOCOL: &'static str;
}

/// Why a replicator's `start` failed. Each variant says what an operator
/// may do about it.
#[derive(Clone, Debug)]
pub enum DriverError<E: RestoreError> {
    /// The options break the named rule; fix the configuration.
    InvalidOptions(String),
    /// The log, the hard state or the snapshot store cannot be opened or
    /// read (an I/O failure, or corruption no crash explains).
    Storage(WalError),
    /// A log record passed its checksum but is not one of the protocol's:
    /// the data directory holds something else, or a bug wrote it.
    CorruptRecord {
        /// The log index of the record.
        index: u64,
        /// Why it does not decode.
        why: String,
    },
    /// A file passed its checksum but its contents do not decode (the hard
    /// state), or are not a state this state machine restores (a snapshot).
    CorruptFile {
        /// Which file: "hard state" or "snapshot".
        file: &'static str,
        /// Why it is unusable.
        why: String,
    },
    /// The persisted state does not fit together (or the group size changed
    /// since it was written).
    Restore(E),
    /// A socket could not be bound or a thread could not be started.
    Io {
        /// What was being done.
        what: String,
        /// The operating system's error.
        source: Arc<io::Error>,
    },
}

impl<E: RestoreError> DriverError<E> {
    /// Builds the `map_err` adapter for an I/O call doing `what`.
    pub fn io(what: impl Into<String>) -> impl FnOnce(io::Error) -> DriverError<E> {
        let what = what.into();
        move |source| DriverError::Io {
            what,
            source: Arc::new(source),
        }
    }

    /// Builds the `map_err` adapter for a `file` ("hard state", "snapshot")
    /// whose contents are unusable.
    pub fn corrupt(file: &'static str) -> impl FnOnce(String) -> DriverError<E> {
        move |why| DriverError::CorruptFile { file, why }
    }
}

impl<E: RestoreError> fmt::Display for DriverError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let protocol = E::PROTOCOL;
        match self {
            DriverError::InvalidOptions(rule) => write!(f, "invalid {protocol} options: {rule}"),
            DriverError::Storage(error) => write!(f, "{protocol} storage: {error}"),
            DriverError::CorruptRecord { index, why } => {
                write!(f, "log record {index} is not a {protocol} record: {why}")
            }
            DriverError::CorruptFile { file, why } => write!(f, "unusable {file}: {why}"),
            DriverError::Restore(error) => {
                write!(f, "cannot restart the {protocol} replica: {error}")
            }
            DriverError::Io { what, source } => write!(f, "{what}: {source}"),
        }
    }
}

impl<E: RestoreError> std::error::Error for DriverError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DriverError::Storage(error) => Some(error),
            DriverError::Restore(error) => Some(error),
            DriverError::Io { source, .. } => Some(source.as_ref()),
            DriverError::InvalidOptions(_)
            | DriverError::CorruptRecord { .. }
            | DriverError::CorruptFile { .. } => None,
        }
    }
}

impl<E: RestoreError> From<WalError> for DriverError<E> {
    fn from(error: WalError) -> Self {
        DriverError::Storage(error)
    }
}

impl<E: RestoreError> From<E> for DriverError<E> {
    fn from(error: E) -> Self {
        DriverError::Restore(error)
    }
}
