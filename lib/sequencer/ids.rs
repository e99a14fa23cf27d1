//! The protocol's numbers: who sent a request ([`MemberId`]), its place in its
//! sender's stream ([`LocalSeq`]), its place in the one total order
//! ([`GlobalSeq`]), and the pair that names a request ([`Origin`]).
//!
//! Both sequences count from 1; the value 0 means "nothing yet", so a
//! watermark of 0 says "holds nothing" and a watermark of 7 says "holds 1..=7".
//!
//! A local number also carries its sender's *incarnation* in its high 32
//! bits: a member that lost its disk cannot know which numbers its earlier
//! life used, and a restarted one may have sent numbers its disk never held
//! (its Requests leave before their fsync), so every new life numbers its
//! requests from 1 again in a new incarnation (docs/SEQUENCER.md, sections
//! 5.7 and 5.8). Numbers compare as
//! integers, so every request of an older incarnation sorts below every
//! request of a newer one, and a sender's stream is `i:1, i:2, ...`, which
//! may jump to `j:1` for a higher incarnation `j` ([`LocalSeq::follows`]).
//! Incarnation 0 is the group's start, so numbers written before
//! incarnations existed keep their meaning.
//!
//! The Raft core has its own ids (`raft/ids.rs`) and the market its domain
//! ids (`market/ids.rs`), shaped alike but not shared: each core is a state
//! machine that stands alone, so that it can be read, tested and replaced
//! without the other, and a global number is not a Raft log index even
//! where both are a `u64`.

use std::fmt;

/// A member of the group, `0..members`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct MemberId(pub u16);

/// A position in the total order, assigned by the member whose turn it is
/// in the current view.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct GlobalSeq(pub u64);

/// A position in one sender's stream of requests (per-sender FIFO order):
/// the sender's incarnation in the high 32 bits, a counter from 1 below.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct LocalSeq(pub u64);

/// How far the incarnation is shifted in a [`LocalSeq`].
const INCARNATION_SHIFT: u32 = 32;

/// The highest incarnation a local number can carry (views above it cannot
/// start one: `Member` refuses to recover into them).
pub const INCARNATION_MAX: u64 = u32::MAX as u64;

/// The counter part of a [`LocalSeq`].
const COUNTER_MASK: u64 = (1 << INCARNATION_SHIFT) - 1;

/// Names one request: the member that broadcast it and its local number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Origin {
    /// The member that broadcast the request.
    pub sender: MemberId,
    /// Its number in the sender's stream.
    pub local_seq: LocalSeq,
}

impl MemberId {
    /// The member as an index into per-member tables.
    pub fn index(self) -> usize {
        usize::from(self.0)
    }
}

impl GlobalSeq {
    /// The number after this one.
    pub fn next(self) -> GlobalSeq {
        GlobalSeq(self.0 + 1)
    }
}

impl LocalSeq {
    /// The first request of `incarnation`.
    ///
    /// # Panics
    /// Above [`INCARNATION_MAX`].
    pub fn first(incarnation: u64) -> LocalSeq {
        assert!(incarnation <= INCARNATION_MAX, "incarnation {incarnation}");
        LocalSeq((incarnation << INCARNATION_SHIFT) | 1)
    }

    /// The sender's incarnation that numbered this request.
    pub fn incarnation(self) -> u64 {
        self.0 >> INCARNATION_SHIFT
    }

    /// The position within the incarnation, from 1 (0: nothing yet).
    pub fn counter(self) -> u64 {
        self.0 & COUNTER_MASK
    }

    /// The number after this one in the same incarnation.
    ///
    /// # Panics
    /// When the incarnation's counter is exhausted (4 billion requests).
    pub fn next(self) -> LocalSeq {
        assert!(
            self.counter() < COUNTER_MASK,
            "local number {self} exhausted"
        );
        LocalSeq(self.0 + 1)
    }

    /// True if this request may come right after `previous` in its sender's
    /// stream: the next number, or the first of a later incarnation (the
    /// sender lost its disk; what its earlier life sent and nobody numbered
    /// before this is void).
    pub fn follows(self, previous: LocalSeq) -> bool {
        let next = self.incarnation() == previous.incarnation() && self.0 == previous.0 + 1;
        let restart = self.incarnation() > previous.incarnation() && self.counter() == 1;
        next || restart
    }

    /// How many requests of its sender lie after `earlier` up to this one,
    /// counting a later incarnation from its start.
    pub fn count_after(self, earlier: LocalSeq) -> u64 {
        if self.incarnation() == earlier.incarnation() {
            self.0.saturating_sub(earlier.0)
        } else if self.incarnation() > earlier.incarnation() {
            self.counter()
        } else {
            0
        }
    }
}

impl fmt::Display for MemberId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "m{}", self.0)
    }
}

impl fmt::Display for GlobalSeq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

impl fmt::Display for LocalSeq {
    /// `7` in incarnation 0, `3:7` in incarnation 3.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.incarnation() {
            0 => write!(f, "{}", self.0),
            incarnation => write!(f, "{incarnation}:{}", self.counter()),
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.sender.0, self.local_seq)
    }
}
