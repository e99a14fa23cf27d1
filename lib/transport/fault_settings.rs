//! `FaultSettings`: the fault switch as plain data, to be read from the
//! cluster file (or an admin request) with serde and checked by `validate`.
//!
//! ```json
//! {"drop_outgoing_probability": 0.1, "drop_incoming_probability": 0.0,
//!  "cut_peers": [2], "seed": 7}
//! ```
//! Every field is optional (absent: no fault, random seed), an unknown field
//! is an error (a typo must not silently disable a test's faults), and
//! `drop_probability` is accepted for `drop_outgoing_probability`: with the
//! same value on every replica, that share of all datagrams is lost once.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::faults::PEERS_MAX;

/// What the fault switch should do.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaultSettings {
    /// The share of outgoing datagrams to drop, within 0..=1.
    #[serde(alias = "drop_probability")]
    pub drop_outgoing_probability: f64,
    /// The share of incoming datagrams to drop, within 0..=1.
    pub drop_incoming_probability: f64,
    /// Peers (by index) to cut off in both directions.
    pub cut_peers: Vec<usize>,
    /// The seed of the drop decisions; `None` keeps the current sequence.
    pub seed: Option<u64>,
}

/// Which rule a `FaultSettings` breaks.
#[derive(Clone, Debug, PartialEq)]
pub enum FaultSettingsError {
    /// A probability is not a number within 0..=1.
    ProbabilityOutOfRange {
        /// The field's name.
        field: &'static str,
        /// Its value.
        value: f64,
    },
    /// A cut peer's index is `PEERS_MAX` or more.
    PeerOutOfRange {
        /// The index.
        peer: usize,
    },
    /// A peer is listed twice in `cut_peers`.
    DuplicatePeer {
        /// The index.
        peer: usize,
    },
}

impl fmt::Display for FaultSettingsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FaultSettingsError::ProbabilityOutOfRange { field, value } => {
                write!(f, "{field} must be within 0..=1, not {value}")
            }
            FaultSettingsError::PeerOutOfRange { peer } => {
                write!(
                    f,
                    "cut_peers: peer {peer} out of range (at most {PEERS_MAX} peers)"
                )
            }
            FaultSettingsError::DuplicatePeer { peer } => {
                write!(f, "cut_peers: peer {peer} listed twice")
            }
        }
    }
}

impl std::error::Error for FaultSettingsError {}

impl FaultSettings {
    /// Checks every rule; the error names the first one broken. (Whether a
    /// cut peer exists in the cluster is the cluster file's check.)
    pub fn validate(&self) -> Result<(), FaultSettingsError> {
        let probabilities = [
            ("drop_outgoing_probability", self.drop_outgoing_probability),
            ("drop_incoming_probability", self.drop_incoming_probability),
        ];
        for (field, value) in probabilities {
            // Written so that NaN fails too.
            if !(0.0..=1.0).contains(&value) {
                return Err(FaultSettingsError::ProbabilityOutOfRange { field, value });
            }
        }
        let mut seen = 0u64;
        for &peer in &self.cut_peers {
            if peer >= PEERS_MAX {
                return Err(FaultSettingsError::PeerOutOfRange { peer });
            }
            if seen & (1 << peer) != 0 {
                return Err(FaultSettingsError::DuplicatePeer { peer });
            }
            seen |= 1 << peer;
        }
        Ok(())
    }
}
