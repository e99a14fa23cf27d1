//! The plumbing both replication drivers share, so that the two drivers
//! differ only where their protocols do. `crate::raft_driver` and
//! `crate::sequencer_driver` each wrap a pure protocol core in threads, a
//! UDP transport and durable storage; what is the same in both lives here:
//!
//! - `driver.rs`: [`Driver`], the life every driver offers its owner:
//!   start, shut down, crash.
//! - `replies.rs`: [`Reply`], answered exactly once, and [`PendingReplies`],
//!   the bounded table of replies waiting for their request to be applied.
//! - `lifecycle.rs`: [`Lifecycle`] and the cell the threads and `submit`
//!   share it through.
//! - `running.rs`: binding the socket, starting the transport, and
//!   [`RunningCell`], what a stop takes down and in which order.
//! - `threads.rs`: [`Threads`], the named threads and their one stop signal.
//! - `queues.rs`: [`Queues`], the core inbox and the apply queue, made in
//!   one place with their bounds.
//! - `ticker.rs`: [`Ticker`], the thread that puts ticks on the Raft core's
//!   inbox, at most one waiting ([`TickGate`]). The sequencer's core keeps
//!   its own tick deadline instead (`sequencer_driver/tick_deadline.rs`);
//!   Raft keeps the ticker because its lease arithmetic (docs/RAFT.md 7.1)
//!   is worked out for it.
//! - `apply_queue.rs`: [`ApplyQueue`], the core's hand-over to its apply
//!   thread, which never blocks the core.
//! - `snapshot_schedule.rs`: [`SnapshotSchedule`], when a replica takes a
//!   snapshot (after a share of its size in log, at its own phase).
//! - `snapshot_writer.rs`: [`SnapshotWriter`], the thread that writes the
//!   snapshots the apply thread encodes, and reports when they are durable;
//!   its `take` ([`Take`]) is the apply thread's whole snapshot step.
//! - `counters.rs`: [`count`], how every thread counts what it did and
//!   dropped.
//! - `refusals.rs`: [`warn_if_refused`], how a peer message the core
//!   refused as contradictory is reported.
//! - `errors.rs`: [`DriverError`], why a replica could not start.
//! - `limits.rs`: the bounds both drivers share (the core inbox, a core
//!   batch, the reply-expiry sweep).
//! - `options.rs`: [`ReplicaOptions`], what every driver's options hold,
//!   with the rules that check them, and [`DriverOptions`], what a driver's
//!   options type offers.
//!
//! The contract the drivers fulfil (`Replicator`, `StateMachine`) is not
//! here but in `crate::replication`: that is what the database services
//! see; this module is what only the drivers see.

mod apply_queue;
mod core_wake;
mod counters;
mod driver;
mod errors;
mod lifecycle;
mod limits;
mod options;
mod queues;
mod refusals;
mod replies;
mod running;
mod snapshot_schedule;
mod snapshot_writer;
mod threads;
mod ticker;

pub use apply_queue::{ApplyQueue, ApplyThreadGone, APPLYING_BEHIND};
pub(crate) use core_wake::{CoreInbox, CoreWake};
pub use counters::{count, read};
pub use driver::{Driver, StartError};
pub use errors::{DriverError, RestoreError};
pub use lifecycle::{Lifecycle, LifecycleCell};
pub use limits::{BATCH_EVENTS_MAX, CORE_INBOX_MAX, EXPIRY_SWEEP_INTERVAL};
pub use options::{
    DriverOptions, ReplicaOptions, LOG_SEGMENT_BYTES_DEFAULT, SNAPSHOT_LOG_BYTES_MIN,
    SNAPSHOT_LOG_SHARE_PERCENT, TICK_MAX, TICK_MIN,
};
pub use queues::Queues;
pub use refusals::warn_if_refused;
pub use replies::{Owed, PendingReplies, Reply, OVERLOADED, TIMED_OUT};
pub use running::{bind_socket, log_started, start_transport, Running, RunningCell};
pub use snapshot_schedule::SnapshotSchedule;
pub use snapshot_writer::{
    lock_snapshots, SharedSnapshots, SnapshotImage, SnapshotJob, SnapshotWriter, SnapshotWritten,
    Take, WriteOutcome,
};
pub use threads::Threads;
pub use ticker::{TickGate, Ticker};

#[cfg(test)]
pub(crate) mod testing;
#[cfg(test)]
mod tests;
