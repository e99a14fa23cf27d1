//! [`DriverError`]: why a sequencer replicator could not start, in the
//! shape both drivers share (`driver_kit::DriverError`); only the core's
//! restart error is the sequencer's own.

use crate::driver_kit::{self, RestoreError};
use crate::sequencer::SequencerError;

impl RestoreError for SequencerError {
    const PROTOCOL: &'static str = "sequencer";
}

/// Why [`SequencerReplicator::start`](super::SequencerReplicator::start)
/// failed.
pub type DriverError = driver_kit::DriverError<SequencerError>;
