//! The threaded Raft driver: it turns the pure Raft core (`crate::raft`)
//! into a [`Replicator`](crate::replication::Replicator) for any
//! [`StateMachine`](crate::replication::StateMachine), over UDP
//! (`crate::transport`) and a write-ahead log, a hard state file and
//! snapshots (`crate::wal`). The product DB runs on it; docs/RAFT.md is the
//! design note.
//!
//! # Threads and channels
//!
//! Each thread has one job and is named after it. Every channel is bounded
//! (limits.rs) and named after what flows on it.
//!
//! ```text
//!  peers ─UDP─> udp-receiver ─datagrams─> raft-udp-receiver ─ Peer(message) ─┐
//!               (transport)               (decodes)                          │
//!  raft-ticker ──────────────────────────────────────────── Tick ───────────┤
//!  submit() ─────────────────────────── Propose(request, reply) / Read ─────┤
//!  raft-apply ─────────────────────────────────── Compact(index, bytes) ────┤
//!                                                                           v
//!                                                                  core inbox
//!                                                                           │
//!  raft-core: owns the RaftNode; per batch of events, the Ready recipe ─────┘
//!     ├── appends, truncations, compactions ──> wal-writer (GroupCommitter: one fsync per batch)
//!     ├── hard state (term, vote changed), leader's snapshots ──> files (atomic replace)
//!     ├── messages ──> udp-sender ─UDP─> peers
//!     └── apply tasks ──> raft-apply: owns the state machine and the pending replies;
//!           ExpectProposal, ExpectRead,     applies entries in order, answers replies and
//!           Committed, Install,             reads, saves snapshots every N entries
//!           ReadConfirmed, SteppedDown
//! ```
//!
//! Who may block on whom (so that nothing deadlocks): raft-core blocks only
//! on the wal-writer (the fsync) and on the apply queue; raft-apply blocks
//! on nothing (it hands compactions to the core with `try_send` and retries);
//! everything else uses `try_send` and drops (and counts) what does not
//! fit: UDP input, ticks, and, with an `Unavailable` answer, submissions.
//!
//! # Files
//!
//! - `replicator.rs`: [`RaftReplicator`] (start, submit, status, digest,
//!   shutdown, crash) and the thread start.
//! - `event_loop.rs`: the raft-core thread, the Ready recipe.
//! - `storage.rs`: what is persisted when (step 2 of the recipe).
//! - `apply.rs`: the raft-apply thread; snapshots.
//! - `proposals.rs`: replies answered exactly once; the pending tables.
//! - `receiver.rs`: the raft-udp-receiver thread (raft-ticker runs
//!   `replication::Ticker`, shared with the sequencer); `threads.rs` starts and stops them all.
//! - `recovery.rs`: a replica back from its data directory.
//! - `codec.rs`: the log record, proposal tag, hard state and read formats.
//! - `events.rs`: what flows on the two queues.
//! - `options.rs`, `errors.rs`, `limits.rs`, `status.rs`: [`RaftOptions`],
//!   [`DriverError`], the bounds, [`DriverStatus`].
//! - `tests/`: five replicas in one process over loopback UDP (the issue's
//!   scenarios), and the parts alone.

#![deny(missing_docs)]

mod apply_loop;
mod codec;
mod core_loop;
mod errors;
mod events;
mod inbound;
mod limits;
mod options;
mod recovery;
mod replicator;
mod replies;
mod status;
mod storage;

#[cfg(test)]
mod tests;

pub use crate::driver_kit::Lifecycle;
pub use crate::driver_kit::{
    Driver, DriverOptions, ReplicaOptions, LOG_SEGMENT_BYTES_DEFAULT, TICK_MAX, TICK_MIN,
};
pub use errors::DriverError;
pub use limits::{
    APPLY_QUEUE_MAX, BATCH_EVENTS_MAX, CORE_INBOX_MAX, PENDING_PROPOSALS_MAX, PENDING_READS_MAX,
};
pub use options::{
    RaftOptions, REPLY_TIMEOUT_DEFAULT, SNAPSHOT_EVERY_ENTRIES_DEFAULT, TICK_DEFAULT,
};
pub use recovery::{RecoveryReport, HARD_STATE_DIR, LOG_DIR, SNAPSHOT_DIR};
pub use replicator::RaftReplicator;
pub use status::{DriverCounters, DriverStatus};
