//! [`DriverError`]: why a Raft replicator could not start, in the shape
//! both drivers share (`driver_kit::DriverError`); only the core's restart
//! error is Raft's own.

use crate::driver_kit::{self, RestoreError};
use crate::raft::RaftError;

impl RestoreError for RaftError {
    const PROTOCOL: &'static str = "raft";
}

/// Why [`RaftReplicator::start`](super::RaftReplicator::start) failed.
pub type DriverError = driver_kit::DriverError<RaftError>;
