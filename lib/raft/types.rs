//! The small value types every other raft file speaks: node ids, terms, log
//! indexes, log entries, the hard state and snapshots.
//!
//! `Term` and `LogIndex` are newtypes rather than bare `u64`s because mixing
//! them up (passing a term where an index is expected) is a classic Raft bug
//! that the compiler can rule out for free.

use std::fmt;

/// A replica's position in the cluster file: replicas are numbered `0..n`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(pub usize);

/// A Raft term (§5.1): a logical clock that only grows; at most one leader
/// is elected per term.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Term(pub u64);

/// A position in the replicated log. The first entry has index 1; index 0 is
/// the empty prefix that every log shares.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LogIndex(pub u64);

impl Term {
    /// The term every node starts in.
    pub const ZERO: Term = Term(0);

    /// The term after this one.
    pub fn next(self) -> Term {
        Term(self.0.checked_add(1).expect("term overflow"))
    }
}

impl LogIndex {
    /// The empty prefix of every log.
    pub const ZERO: LogIndex = LogIndex(0);

    /// The index after this one.
    pub fn next(self) -> LogIndex {
        LogIndex(self.0.checked_add(1).expect("log index overflow"))
    }

    /// The index before this one.
    ///
    /// # Panics
    /// On index 0, which has no predecessor.
    pub fn prev(self) -> LogIndex {
        LogIndex(
            self.0
                .checked_sub(1)
                .expect("log index 0 has no predecessor"),
        )
    }

    /// This index moved forward by `count` entries.
    pub fn plus(self, count: u64) -> LogIndex {
        LogIndex(self.0.checked_add(count).expect("log index overflow"))
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "n{}", self.0)
    }
}

impl fmt::Display for Term {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "t{}", self.0)
    }
}

impl fmt::Display for LogIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "i{}", self.0)
    }
}

/// Names one log entry: two logs that hold the same `EntryId` hold the same
/// entry and the same prefix before it (the Log Matching Property, §5.3).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EntryId {
    /// The term in which a leader created the entry.
    pub term: Term,
    /// The entry's position in the log.
    pub index: LogIndex,
}

impl fmt::Display for EntryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.term)
    }
}

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
