//! The protocol's numbers: who sent a request ([`MemberId`]), its place in its
//! sender's stream ([`LocalSeq`]), its place in the one total order
//! ([`GlobalSeq`]), and the pair that names a request ([`Origin`]).
//!
//! Both sequences count from 1; the value 0 means "nothing yet", so a
//! watermark of 0 says "holds nothing" and a watermark of 7 says "holds 1..=7".

use std::fmt;

/// A member of the group, `0..members`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct MemberId(pub u16);

/// A position in the total order, assigned by the member whose turn it is
/// in the current view.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct GlobalSeq(pub u64);

/// A position in one sender's stream of requests (per-sender FIFO order).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct LocalSeq(pub u64);

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
    /// The number after this one.
    pub fn next(self) -> LocalSeq {
        LocalSeq(self.0 + 1)
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
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.sender.0, self.local_seq.0)
    }
}
