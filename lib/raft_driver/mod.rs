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
//!  raft-ticker ──────────────────────────────────────────── Tick ───────────┐
//!  submit() ─────────────────────────── Propose(request, reply) / Read ─────┤
//!  raft-apply ─────────────────────── Compact(index, bytes), once durable ──┤
//!                                      (each rings the core's doorbell)     v
//!                                                                  core inbox
//!                                                                           │
//!  peers ─UDP─> socket ── receive_now (the core reads and decodes) ──┐      │
//!                                                                    v      v
//!  raft-core: owns the RaftNode; sleeps in poll(2) on the socket and the
//!     doorbell (driver_kit/core_wake.rs); per batch of events and
//!     messages, the Ready recipe
//!     ├── appends, truncations, compactions ──> wal-writer (GroupCommitter: one fsync per batch)
//!     ├── hard state (term, vote changed), leader's snapshots ──> files (atomic replace)
//!     ├── messages ──> udp-sender ─UDP─> peers
//!     └── apply tasks ──> raft-apply: owns the state machine and the pending replies;
//!           ExpectProposal, ExpectRead,     applies entries in order, answers replies and
//!           Committed, Install,             reads, encodes snapshots (SnapshotSchedule)
//!           ReadConfirmed, SteppedDown          │ one SnapshotJob at a time
//!                                               v
//!                          raft-snapshot-writer: writes and fsyncs it, reports back
//! ```
//!
//! Who may block on whom (so that nothing deadlocks): raft-core blocks only
//! on the wal-writer (the fsync) and on the apply queue; raft-apply blocks
//! on nothing (it hands compactions to the core with `try_send` and retries,
//! and snapshots to its writer only when the writer is idle);
//! everything else uses `try_send` and drops (and counts) what does not
//! fit: ticks, and, with an `Unavailable` answer, submissions. Peers'
//! datagrams wait in the socket until the core reads them (the kernel
//! drops what overflows its buffer; Raft retransmits).
//!
//! # Files
//!
//! The plumbing both drivers share (replies, lifecycle, threads, the
//! ticker that raft-ticker runs, the apply queue, counters, the error's
//! shape, start and stop) is in `crate::driver_kit`. A file here has the
//! same name as the sequencer driver's file for the same job:
//!
//! - `replicator.rs`: [`RaftReplicator`], as a `Replicator` (submit,
//!   status, digest) and a `driver_kit::Driver` (start, stop); it starts
//!   the threads.
//! - `options.rs`, `errors.rs`, `limits.rs`: [`RaftOptions`],
//!   [`DriverError`], the bounds.
//! - `events.rs`: what flows on the two queues.
//! - `core_loop.rs`: the raft-core thread, the Ready recipe.
//! - `storage.rs`: what is persisted when (step 2 of the recipe).
//! - `apply_loop.rs`: the raft-apply thread; snapshots.
//! - `replies.rs`: the apply thread's tables of replies waiting
//!   (proposals, and ReadIndex reads in their two stages).
//! - `inbound.rs`: a peer's datagram as a Raft message (the core reads
//!   its socket itself).
//! - `recovery.rs`: a replica back from its data directory.
//! - `status.rs`: [`DriverStatus`] and the cell the threads publish into.
//! - `codec.rs`: the log record, proposal tag, hard state and read formats.
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
pub use limits::{APPLY_QUEUE_MAX, PENDING_PROPOSALS_MAX, PENDING_READS_MAX};
pub use options::{
    RaftOptions, REPLY_TIMEOUT_DEFAULT, SNAPSHOT_EVERY_ENTRIES_DEFAULT, TICK_DEFAULT,
};
pub use recovery::{RecoveryReport, HARD_STATE_DIR, LOG_DIR, SNAPSHOT_DIR};
pub use replicator::RaftReplicator;
pub use status::{DriverCounters, DriverStatus};
