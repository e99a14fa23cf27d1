//! The threaded driver of the rotating-sequencer broadcast: it turns the
//! pure core (`crate::sequencer`) into a [`Replicator`](crate::replication::Replicator)
//! for any [`StateMachine`](crate::replication::StateMachine), over UDP
//! (`crate::transport`) and a durable log and snapshots (`crate::wal`).
//! The customer DB runs on it; docs/SEQUENCER.md is the design note.
//!
//! # Threads and channels
//!
//! Each thread has one job and is named after it. Every channel is
//! bounded (`limits.rs`) and named after what flows on it.
//!
//! ```text
//!  peers ─UDP─> socket ── receive_now (the core reads it; core_wake.rs) ──> sequencer-core
//!  submit() ───────── Broadcast(request, reply) ────────────────────────────> core inbox
//!  state-transfer ─── SnapshotFetched(image) ───────────────────────────────> core inbox
//!  (every producer rings the core's doorbell after it fills the inbox:
//!   driver_kit/core_wake.rs)
//!
//!  core inbox ──> sequencer-core    owns the Member and the log; decodes datagrams
//!                   │               (inbound.rs); keeps its own tick (tick_deadline.rs);
//!                   │               per batch:
//!                   │               persist (one fsync) → send → hand on
//!                   ├─ messages ──────────────────────────> udp-sender ─UDP─> peers
//!                   ├─ fetch orders, transfer messages ───> transfer inbox
//!                   └─ apply tasks (Expect, Deliver, Install) ──> sequencer-apply
//!                                   owns the state machine, the pending replies; encodes
//!                                   snapshots ──> sequencer-snapshot-writer (writes, reports)
//!
//!  transfer inbox ──> state-transfer    fetches a snapshot chunk by chunk; serves its own
//! ```
//!
//! Who may block on whom (so that nothing deadlocks): the core blocks only
//! on the apply queue (and on the apply thread's answer to an Install);
//! the apply thread blocks on nothing (its snapshot writer only before an
//! install and at a clean stop) and talks back only through
//! `SharedStatus` atomics; the state-transfer thread blocks only on the core
//! inbox, which the core drains. Everything else uses `try_send` and drops
//! (and counts) what does not fit: UDP input and, with an `Unavailable`
//! answer, submissions.
//!
//! # Files
//!
//! The plumbing both drivers share (replies, lifecycle, threads, the apply
//! queue, counters, the error's shape, start and stop) is in
//! `crate::driver_kit`. A file here has the
//! same name as the Raft driver's file for the same job:
//!
//! - `replicator.rs`: [`SequencerReplicator`], as a `Replicator` (submit,
//!   status, digest) and a `driver_kit::Driver` (start, stop); it starts
//!   the threads.
//! - `options.rs`, `errors.rs`, `limits.rs`: [`SequencerOptions`],
//!   [`DriverError`], the bounds.
//! - `events.rs`: what flows on the three queues.
//! - `core_loop.rs`: the sequencer-core thread, the batch loop.
//! - `storage.rs`: the member's log of records, and its rewrite.
//! - `apply_loop.rs`: the sequencer-apply thread; snapshots.
//! - `replies.rs`: the apply thread's table of replies waiting for each
//!   own broadcast's delivery.
//! - `inbound.rs`: peers' datagrams to core messages and transfer tasks
//!   (on the core thread).
//! - `recovery.rs`: a member back from its data directory.
//! - `status.rs`: [`DriverStatus`] and the atomics behind it.
//!
//! Only the sequencer has:
//!
//! - `image.rs`: the snapshot image (point and application state).
//! - `tick_deadline.rs`: when the core ticks (it keeps its own tick; how
//!   it sleeps on its socket and a doorbell, and who wakes it, is
//!   `driver_kit/core_wake.rs`, shared with Raft).
//! - `catch_up.rs`: when a restarted member takes requests again.
//! - `batch.rs`, `request_batch.rs`: the core messages one datagram
//!   carries, the client requests one broadcast carries.
//! - `state_transfer.rs` (the state-transfer thread), `transfer_message.rs`,
//!   `transfer_fetch.rs`, `transfer_serve.rs`: the state-transfer protocol,
//!   its fetching side and its serving side.
//! - `tests/`: five replicas in one process over loopback UDP.

#![deny(missing_docs)]

mod apply_loop;
mod batch;
mod catch_up;
mod core_loop;
mod errors;
mod events;
mod image;
mod inbound;
mod limits;
mod options;
mod recovery;
mod replicator;
mod replies;
mod request_batch;
mod state_transfer;
mod status;
mod storage;
mod tick_deadline;
mod transfer_fetch;
mod transfer_message;
mod transfer_serve;

#[cfg(test)]
mod tests;

pub use crate::driver_kit::{
    Driver, DriverOptions, Lifecycle, ReplicaOptions, LOG_SEGMENT_BYTES_DEFAULT, TICK_MAX, TICK_MIN,
};
pub use errors::DriverError;
pub use limits::{
    APPLY_QUEUE_MAX, CHUNK_BYTES_MAX, DIGEST_WAIT_MAX, PENDING_REPLIES_MAX, REQUESTS_PER_BATCH_MAX,
    TRANSFER_BYTES_MAX,
};
pub use options::{
    SequencerOptions, LOG_REWRITE_RECORDS_DEFAULT, REPLY_TIMEOUT_DEFAULT, SNAPSHOT_EVERY_DEFAULT,
    TICK_DEFAULT,
};
pub use recovery::{LOG_DIR, SNAPSHOT_DIR};
pub use replicator::SequencerReplicator;
pub use status::DriverStatus;
