//! [`Verdict`]: what a protocol core made of one message from a peer. Both
//! cores (`raft`, `sequencer`) answer `step` with it, so a driver, a test
//! harness and a reader see the two protocols treat peer input alike.

/// What a core did with one message from a peer.
///
/// A core *ignores* what the protocol expects on a lossy network (stale,
/// duplicate, from another term or view, not for its role) and *refuses*
/// what no correct peer sends: a message that contradicts what the core
/// holds. A refusal changes nothing but the core's `contradictions`
/// counter; the simulations and golden scripts fail if it is not 0, so a
/// protocol bug is still caught in testing, while a running replica keeps
/// going (a peer with a bug, or a corrupted or replayed datagram, cannot
/// crash it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The message was handled.
    Handled,
    /// The message was dropped, for the named reason; nothing changed.
    Ignored(&'static str),
    /// The message contradicts what the core holds (the string says how);
    /// nothing changed but the `contradictions` counter. A driver logs it
    /// at warn level.
    Refused(String),
}
