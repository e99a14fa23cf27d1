//! The small value types every other raft file speaks besides the ids
//! (`ids.rs`): log entries, the hard state, snapshots, reads and roles.

use std::fmt;

use super::ids::{EntryId, LogIndex, NodeId, Term};

/// What a log entry carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EntryKind {
    /// A command for the state machine, proposed by a client.
    Normal,
    /// The empty entry a new leader appends so that it can commit an entry of
    /// its own term at once (§5.4.2, §8); the state machine skips it.
    NoOp,
}

/// One entry of the replicated log.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Entry {
    /// The term in which a leader created the entry.
    pub term: Term,
    /// The entry's position in the log.
    pub index: LogIndex,
    /// Whether the state machine should apply `data`.
    pub kind: EntryKind,
    /// The command bytes; empty for `NoOp`.
    pub data: Vec<u8>,
}

impl Entry {
    /// The entry's name (index and term).
    pub fn id(&self) -> EntryId {
        EntryId {
            term: self.term,
            index: self.index,
        }
    }

    /// Bytes this entry adds to an Append message, used for batching limits.
    pub fn payload_bytes(&self) -> usize {
        self.data.len()
    }
}

/// The state that must be on disk before a node sends a vote or an
/// acknowledgement (Figure 2, "Persistent state on all servers").
///
/// `commit` is persisted too so that a restarted node can hand the committed
/// prefix to its state machine without waiting for a leader.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HardState {
    /// The latest term this node has seen.
    pub term: Term,
    /// The candidate this node voted for in `term`, if any.
    pub vote: Option<NodeId>,
    /// The highest log index known to be committed.
    pub commit: LogIndex,
}

/// Where a snapshot sits in the log: it replaces every entry up to and
/// including `index`, the last of which had term `term`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct SnapshotMeta {
    /// The last log index the snapshot covers.
    pub index: LogIndex,
    /// The term of the entry at `index`.
    pub term: Term,
}

impl SnapshotMeta {
    /// The id of the last entry the snapshot replaces.
    pub fn id(&self) -> EntryId {
        EntryId {
            term: self.term,
            index: self.index,
        }
    }
}

/// A state machine image covering the log up to `meta.index`. The bytes are
/// opaque to Raft: the driver produces them and hands them back to the state
/// machine.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Which prefix of the log the snapshot replaces.
    pub meta: SnapshotMeta,
    /// The serialized state machine.
    pub data: Vec<u8>,
}

/// A linearizable read that the leader has confirmed (§8, ReadIndex): once the
/// state machine has applied `index`, the read named `request_ctx` may be
/// answered from it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadState {
    /// The context the driver passed to `read_index`, returned unchanged.
    pub request_ctx: Vec<u8>,
    /// The commit index the read must wait for.
    pub index: LogIndex,
}

/// The four roles a node can be in. `PreCandidate` is the pre-vote phase
/// (thesis §9.6): a node asks whether it could win before bumping its term.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// Follows a leader (or waits for one).
    Follower,
    /// Polls the cluster without changing its term.
    PreCandidate,
    /// Asks for votes in a new term.
    Candidate,
    /// Replicates its log to the others.
    Leader,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Role::Follower => "follower",
            Role::PreCandidate => "pre-candidate",
            Role::Candidate => "candidate",
            Role::Leader => "leader",
        };
        f.write_str(name)
    }
}
