//! The expected failures of the raft core, as values.
//!
//! Only conditions that a correct driver meets in normal operation are errors
//! here (a proposal to a follower, a full queue, garbage from the network).
//! A broken invariant is a bug and panics with context instead.

use std::fmt;

pub use crate::wire::DecodeError;

use super::ids::{LogIndex, NodeId};

/// What can go wrong when the driver calls into the core.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RaftError {
    /// This node is not the leader; `leader` is the node it last heard from as
    /// leader in its current term, so a frontend can go there instead.
    NotLeader {
        /// The leader this node knows of, if any.
        leader: Option<NodeId>,
    },
    /// The leader already holds `RaftConfig::uncommitted_entries_max`
    /// uncommitted entries; the proposal is refused until some commit.
    ProposalQueueFull {
        /// The maximum that was reached.
        max: usize,
    },
    /// A proposed command is larger than `RaftConfig::entry_bytes_max`, so it
    /// could never fit in an Append message.
    EntryTooLarge {
        /// The command's size.
        bytes: usize,
        /// The configured maximum.
        max: usize,
    },
    /// `RaftConfig::pending_reads_max` reads already wait for confirmation.
    ReadQueueFull {
        /// The maximum that was reached.
        max: usize,
    },
    /// `compact` was asked for a snapshot that is not newer than the one the
    /// log already starts from.
    SnapshotOutOfDate {
        /// The index the driver wanted to compact to.
        requested: LogIndex,
        /// The index of the snapshot the log already has.
        current: LogIndex,
    },
    /// A `RaftConfig` rule was broken; the text names the rule.
    ConfigInvalid(String),
    /// What the driver read back from disk cannot be a Raft state (for example
    /// a gap in the entries); the text says what is wrong.
    StorageInconsistent(String),
}

impl fmt::Display for RaftError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RaftError::NotLeader { leader: Some(id) } => write!(f, "not the leader; try {id}"),
            RaftError::NotLeader { leader: None } => write!(f, "not the leader; leader unknown"),
            RaftError::ProposalQueueFull { max } => {
                write!(f, "too many uncommitted entries (limit {max})")
            }
            RaftError::EntryTooLarge { bytes, max } => {
                write!(f, "entry of {bytes} bytes exceeds the limit of {max}")
            }
            RaftError::ReadQueueFull { max } => {
                write!(f, "too many pending reads (limit {max})")
            }
            RaftError::SnapshotOutOfDate { requested, current } => write!(
                f,
                "snapshot at {requested} is not newer than the current one at {current}"
            ),
            RaftError::ConfigInvalid(rule) => write!(f, "invalid raft config: {rule}"),
            RaftError::StorageInconsistent(what) => write!(f, "inconsistent raft storage: {what}"),
        }
    }
}

impl std::error::Error for RaftError {}
