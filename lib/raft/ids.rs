//! The numbers Raft names things by: a replica ([`NodeId`]), a leader's
//! reign ([`Term`]), a place in the log ([`LogIndex`]), and the pair that
//! names one entry in every log that holds it ([`EntryId`]).
//!
//! They are newtypes rather than bare integers because mixing them up
//! (passing a term where an index is expected) is a classic Raft bug that
//! the compiler can rule out for free.
//!
//! The sequencer core has its own ids (`sequencer/ids.rs`) and the market
//! its domain ids (`market/ids.rs`), shaped alike but not shared: each core
//! is a state machine that stands alone, so that it can be read, tested
//! and replaced without the other, and a Raft log index is not a sequencer
//! global number even where both are a `u64`.

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
