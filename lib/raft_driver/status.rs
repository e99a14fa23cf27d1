//! [`DriverStatus`]: what a replica reports about itself, and the shared
//! cell behind it. The raft-core thread publishes the node's view after
//! every batch, the raft-apply thread the applied index, and any thread
//! counts what it dropped. `submit` reads the view to redirect at once.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::driver_kit::{read, Lifecycle, LifecycleCell, TickGate};
use crate::raft::{LogIndex, RaftStatus};
use crate::transport::TransportStats;

use super::recovery::RecoveryReport;

/// The driver's counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DriverCounters {
    /// Datagrams that passed the transport's checksum but did not decode as
    /// a Raft message, or claimed another sender than the one they came from.
    pub malformed_dropped: u64,
    /// Ticks dropped because the core inbox was full.
    pub ticks_dropped: u64,
    /// Submissions refused because the core inbox was full.
    pub submissions_refused: u64,
    /// Readys handled.
    pub readys: u64,
    /// Readys that wrote log entries: each cost one fsync of the log.
    pub log_writes: u64,
    /// Log entries written: `entries_persisted / log_writes` is how many
    /// entries one fsync carried on average.
    pub entries_persisted: u64,
    /// Hard state saves (term or vote changed): two fsyncs each.
    pub hard_state_saves: u64,
    /// Snapshots this replica took of its state machine.
    pub snapshots_taken: u64,
    /// Snapshots received from a leader and loaded.
    pub snapshots_installed: u64,
    /// Committed entries that failed to decode (skipped on every replica).
    pub entries_undecodable: u64,
}

/// A replica's view of itself, for tests and cluster-status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DriverStatus {
    /// Where the replicator is in its life.
    pub lifecycle: Lifecycle,
    /// The Raft node's status (role, term, leader, indexes, what the core
    /// refused) as of the core's last batch.
    pub node: RaftStatus,
    /// The state machine's applied index, as the apply thread last
    /// published it (`node.applied` is what the core last told the node).
    pub applied: LogIndex,
    /// What the driver did and dropped.
    pub driver: DriverCounters,
    /// What the transport did and dropped, while it runs.
    pub transport: Option<TransportStats>,
    /// What recovery found and repaired at this start.
    pub recovery: RecoveryReport,
}

/// The live counters behind [`DriverCounters`] (each field is documented
/// there): relaxed atomics, each independent, since a reader only needs a
/// recent value of each.
#[derive(Debug, Default)]
pub struct LiveCounters {
    /// See [`DriverCounters::malformed_dropped`].
    pub malformed_dropped: AtomicU64,
    /// See [`DriverCounters::ticks_dropped`] (shared with the ticker).
    pub ticks_dropped: Arc<AtomicU64>,
    /// See [`DriverCounters::submissions_refused`].
    pub submissions_refused: AtomicU64,
    /// See [`DriverCounters::readys`].
    pub readys: AtomicU64,
    /// See [`DriverCounters::log_writes`].
    pub log_writes: AtomicU64,
    /// See [`DriverCounters::entries_persisted`].
    pub entries_persisted: AtomicU64,
    /// See [`DriverCounters::hard_state_saves`].
    pub hard_state_saves: AtomicU64,
    /// See [`DriverCounters::snapshots_taken`].
    pub snapshots_taken: AtomicU64,
    /// See [`DriverCounters::snapshots_installed`].
    pub snapshots_installed: AtomicU64,
    /// See [`DriverCounters::entries_undecodable`].
    pub entries_undecodable: AtomicU64,
}

impl LiveCounters {
    fn snapshot(&self) -> DriverCounters {
        DriverCounters {
            malformed_dropped: read(&self.malformed_dropped),
            ticks_dropped: read(&self.ticks_dropped),
            submissions_refused: read(&self.submissions_refused),
            readys: read(&self.readys),
            log_writes: read(&self.log_writes),
            entries_persisted: read(&self.entries_persisted),
            hard_state_saves: read(&self.hard_state_saves),
            snapshots_taken: read(&self.snapshots_taken),
            snapshots_installed: read(&self.snapshots_installed),
            entries_undecodable: read(&self.entries_undecodable),
        }
    }
}

/// The cell the threads publish into.
#[derive(Debug)]
pub struct SharedStatus {
    /// The Raft node's status as of the core's last batch.
    node: Mutex<RaftStatus>,
    /// The state machine's applied index.
    applied: AtomicU64,
    /// Where the replica is in its life; `submit` holds it while it queues
    /// a request (`LifecycleCell::admit`).
    pub lifecycle: LifecycleCell,
    recovery: RecoveryReport,
    /// What the threads did and dropped.
    pub counters: LiveCounters,
    /// At most one tick waits in the core's inbox (`driver_kit::Ticker`).
    pub tick_gate: Arc<TickGate>,
}

impl SharedStatus {
    /// A cell holding the restored node's status.
    pub fn new(node: RaftStatus, applied: u64, recovery: RecoveryReport) -> SharedStatus {
        SharedStatus {
            recovery,
            node: Mutex::new(node),
            applied: AtomicU64::new(applied),
            lifecycle: LifecycleCell::new(),
            counters: LiveCounters::default(),
            tick_gate: Arc::new(TickGate::new()),
        }
    }

    /// The core publishes the node's status after a batch.
    pub fn publish_node(&self, status: RaftStatus) {
        *self.lock_node() = status;
    }

    /// The node's status as last published.
    pub fn node(&self) -> RaftStatus {
        *self.lock_node()
    }

    /// The apply thread publishes how far it applied.
    pub fn publish_applied(&self, index: u64) {
        self.applied.store(index, Ordering::Release);
    }

    /// The applied index as last published.
    pub fn applied(&self) -> u64 {
        self.applied.load(Ordering::Acquire)
    }

    /// Everything, with the transport's counters if given.
    pub fn status(&self, transport: Option<TransportStats>) -> DriverStatus {
        DriverStatus {
            lifecycle: self.lifecycle.get(),
            node: self.node(),
            applied: LogIndex(self.applied()),
            driver: self.counters.snapshot(),
            transport,
            recovery: self.recovery,
        }
    }

    fn lock_node(&self) -> MutexGuard<'_, RaftStatus> {
        // Held only to copy a plain value in or out; never poisoned mid-write.
        self.node
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
