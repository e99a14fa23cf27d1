//! The bounds both drivers share, with the same value and the same reason;
//! each driver's `limits.rs` holds its own.

use std::time::Duration;

/// Events waiting in a core thread's inbox: ticks, submissions and the
/// protocol's own (Raft's peer messages, reads and compactions; the
/// sequencer's fetched snapshots, whose peers' datagrams wait in the
/// transport's own channel). When it is full, ticks are dropped (the next
/// one comes), Raft's peer messages are dropped (Raft retransmits) and
/// submissions are refused with `Unavailable`: the replica is overloaded.
pub const CORE_INBOX_MAX: usize = 4096;

/// Events (and the sequencer's datagrams) a core thread takes before it
/// persists and sends: they all share one fsync (for Raft, one `Ready`'s).
/// Bounded so that a flood of input cannot hold back the batch's messages
/// (and so the whole cluster) without end.
pub const BATCH_EVENTS_MAX: usize = 1024;

/// How often an apply thread looks for replies that waited too long (and
/// Raft's retries handing a snapshot to a busy core).
pub const EXPIRY_SWEEP_INTERVAL: Duration = Duration::from_millis(50);

// One batch must fit in the inbox it drains.
const _: () = assert!(BATCH_EVENTS_MAX <= CORE_INBOX_MAX);
