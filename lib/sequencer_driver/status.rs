//! [`SharedStatus`]: what the threads publish for `status()` and for each
//! other, as atomics (no lock between the hot loops and a status call), and
//! [`DriverStatus`], the public snapshot of it.
//!
//! Two values are also how the apply thread talks back to the core without
//! a channel (a channel back would let the two block on each other): the
//! apply thread stores `applied_durably` after each snapshot, and the core
//! reads it at every tick to let the protocol forget history. A third goes
//! the other way: the state-transfer thread stores in `snapshot_wanted` the
//! number a peer needs an image of, and the apply thread takes it.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::driver_kit::{read, Lifecycle, LifecycleCell};
use crate::sequencer::{GlobalSeq, MemberId, Status, View, ViewCounters};
use crate::transport::TransportStats;

/// What one replica's driver reports about itself: how far it got and
/// what it counted, for tests and cluster-status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DriverStatus {
    /// Where the replica is in its life.
    pub lifecycle: Lifecycle,
    /// True once it has caught up after its start and takes requests.
    pub serving: bool,
    /// The next global number to be assigned (every lower one is known here).
    pub next_global: u64,
    /// Held with every request named, contiguously.
    pub held_up_to: u64,
    /// Delivered by the protocol.
    pub delivered: u64,
    /// Forgotten by the protocol (covered by a snapshot) up to here.
    pub base: u64,
    /// Items the member is asking its peers to retransmit.
    pub missing: u64,
    /// Applied to the state machine.
    pub applied: u64,
    /// Covered by the newest durable snapshot.
    pub snapshot: u64,
    /// Snapshots taken here.
    pub snapshots_taken: u64,
    /// Snapshots that could not be written (each is reported in the log
    /// and tried again one interval later).
    pub snapshots_failed: u64,
    /// Snapshots fetched from a peer and installed (state transfers).
    pub transfers_installed: u64,
    /// Chunks of this replica's snapshot sent to peers.
    pub chunks_served: u64,
    /// Datagrams dropped because they decode as nothing we know.
    pub malformed_datagrams: u64,
    /// Decoded messages the protocol refused (they do not fit the group).
    pub invalid_messages: u64,
    /// Events dropped because a thread's inbox was full.
    pub inbox_full_drops: u64,
    /// Reads answered from the state after a read barrier (no broadcast).
    pub reads_answered: u64,
    /// Reads ordered after all: abandoned by the barrier, or due to renew
    /// something (a session) that only the total order may change.
    pub reads_ordered: u64,
    /// The UDP transport's counters (`None` once stopped).
    pub transport: Option<TransportStats>,
    /// The member's views: where it stands and what happened.
    pub view: ViewReport,
}

/// One member's view, as the core last published it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ViewReport {
    /// The view the member is in, or is changing to.
    pub number: u64,
    /// The installed view: turn list and start.
    pub installed: View,
    /// A view change is under way here.
    pub changing: bool,
    /// The member works in its view and hears from a majority: it takes
    /// requests (once caught up after its start).
    pub working: bool,
    /// Whose turn the next number is.
    pub turn: Option<MemberId>,
    /// Suspicions, view changes, rejoins, refused contradictions, drops.
    pub counters: ViewCounters,
    /// The incarnation its requests are numbered in.
    pub incarnation: u64,
    /// It started with an empty disk and has not recovered yet.
    pub recovering_disk: bool,
}

/// The shared atomics behind [`DriverStatus`], and the lifecycle.
#[derive(Debug)]
pub(super) struct SharedStatus {
    /// Where the replica is in its life (a crash is asked for here too).
    pub(super) lifecycle: LifecycleCell,
    serving: AtomicBool,
    next_global: AtomicU64,
    held_up_to: AtomicU64,
    delivered: AtomicU64,
    base: AtomicU64,
    missing: AtomicU64,
    applied: AtomicU64,
    applied_durably: AtomicU64,
    /// A peer needs an image covering this (0: none wanted).
    snapshot_wanted: AtomicU64,
    pub(super) snapshots_taken: AtomicU64,
    pub(super) snapshots_failed: AtomicU64,
    pub(super) transfers_installed: AtomicU64,
    pub(super) chunks_served: AtomicU64,
    pub(super) malformed_datagrams: AtomicU64,
    pub(super) invalid_messages: AtomicU64,
    pub(super) inbox_full_drops: Arc<AtomicU64>,
    pub(super) reads_answered: AtomicU64,
    pub(super) reads_ordered: AtomicU64,
    /// The member works in a view with a majority (read by `submit`).
    working: AtomicBool,
    view: Mutex<ViewReport>,
}

impl SharedStatus {
    /// A running replica whose application state is at `applied` (durable).
    pub(super) fn new(applied: GlobalSeq) -> SharedStatus {
        SharedStatus {
            lifecycle: LifecycleCell::new(),
            serving: AtomicBool::new(false),
            next_global: AtomicU64::new(applied.0 + 1),
            held_up_to: AtomicU64::new(applied.0),
            delivered: AtomicU64::new(applied.0),
            base: AtomicU64::new(0),
            missing: AtomicU64::new(0),
            applied: AtomicU64::new(applied.0),
            applied_durably: AtomicU64::new(applied.0),
            snapshot_wanted: AtomicU64::new(0),
            snapshots_taken: AtomicU64::new(0),
            snapshots_failed: AtomicU64::new(0),
            transfers_installed: AtomicU64::new(0),
            chunks_served: AtomicU64::new(0),
            malformed_datagrams: AtomicU64::new(0),
            invalid_messages: AtomicU64::new(0),
            inbox_full_drops: Arc::new(AtomicU64::new(0)),
            reads_answered: AtomicU64::new(0),
            reads_ordered: AtomicU64::new(0),
            working: AtomicBool::new(true),
            view: Mutex::new(ViewReport {
                number: 0,
                installed: View::initial(0),
                changing: false,
                working: true,
                turn: None,
                counters: ViewCounters::default(),
                incarnation: 0,
                recovering_disk: false,
            }),
        }
    }

    /// The core's numbers after a batch.
    pub(super) fn publish_member(&self, status: &Status) {
        self.next_global
            .store(status.next_global.0, Ordering::Relaxed);
        self.held_up_to
            .store(status.held_up_to.0, Ordering::Relaxed);
        self.delivered
            .store(status.delivered_up_to.0, Ordering::Relaxed);
        self.base.store(status.base.0, Ordering::Relaxed);
        self.missing.store(status.missing as u64, Ordering::Relaxed);
    }

    /// The core's view after a batch; `working` is `Member::is_serving`.
    pub(super) fn publish_view(&self, status: &Status, working: bool) {
        self.working.store(working, Ordering::Release);
        let report = ViewReport {
            number: status.view,
            installed: status.installed.clone(),
            changing: status.changing,
            working,
            turn: status.turn,
            counters: status.counters,
            incarnation: status.incarnation,
            recovering_disk: status.recovering,
        };
        *self
            .view
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = report;
    }

    /// Whether the member works in a view with a majority.
    pub(super) fn is_working(&self) -> bool {
        self.working.load(Ordering::Acquire)
    }

    /// The apply thread's number after each delivery.
    pub(super) fn publish_applied(&self, global: GlobalSeq) {
        self.applied.store(global.0, Ordering::Relaxed);
    }

    /// The apply thread made its state up to `global` durable.
    pub(super) fn publish_applied_durably(&self, global: GlobalSeq) {
        self.applied_durably.store(global.0, Ordering::Release);
    }

    /// What the apply thread made durable (read by the core at each tick).
    pub(super) fn applied_durably(&self) -> GlobalSeq {
        GlobalSeq(self.applied_durably.load(Ordering::Acquire))
    }

    /// What the state covers, as the apply thread last published it.
    pub(super) fn applied(&self) -> GlobalSeq {
        GlobalSeq(self.applied.load(Ordering::Relaxed))
    }

    /// A peer needs an image covering `global` (the state-transfer thread):
    /// the apply thread takes a snapshot if its newest is older.
    pub(super) fn want_snapshot(&self, global: GlobalSeq) {
        self.snapshot_wanted.fetch_max(global.0, Ordering::Relaxed);
    }

    /// The number a peer needs an image of since the last call, if any (the
    /// apply thread); the want is taken, so each is acted on once.
    pub(super) fn take_snapshot_wanted(&self) -> Option<GlobalSeq> {
        match self.snapshot_wanted.swap(0, Ordering::Relaxed) {
            0 => None,
            global => Some(GlobalSeq(global)),
        }
    }

    /// Opens (or closes) the door to submissions.
    pub(super) fn set_serving(&self, serving: bool) {
        self.serving.store(serving, Ordering::Release);
    }

    /// Whether the catch-up gate has opened.
    pub(super) fn is_serving(&self) -> bool {
        self.serving.load(Ordering::Acquire)
    }

    /// Whether submissions are taken now.
    pub(super) fn takes_requests(&self) -> bool {
        self.serving.load(Ordering::Acquire)
            && self.is_working()
            && self.lifecycle.get() == Lifecycle::Running
    }

    /// A storage failure: the replica stops taking part.
    pub(super) fn fail(&self) {
        self.serving.store(false, Ordering::Release);
        self.lifecycle.fail();
    }

    /// Everything, as plain numbers.
    pub(super) fn status(&self, transport: Option<TransportStats>) -> DriverStatus {
        DriverStatus {
            lifecycle: self.lifecycle.get(),
            serving: self.serving.load(Ordering::Acquire),
            next_global: read(&self.next_global),
            held_up_to: read(&self.held_up_to),
            delivered: read(&self.delivered),
            base: read(&self.base),
            missing: read(&self.missing),
            applied: read(&self.applied),
            snapshot: read(&self.applied_durably),
            snapshots_taken: read(&self.snapshots_taken),
            snapshots_failed: read(&self.snapshots_failed),
            transfers_installed: read(&self.transfers_installed),
            chunks_served: read(&self.chunks_served),
            malformed_datagrams: read(&self.malformed_datagrams),
            invalid_messages: read(&self.invalid_messages),
            inbox_full_drops: read(&self.inbox_full_drops),
            reads_answered: read(&self.reads_answered),
            reads_ordered: read(&self.reads_ordered),
            transport,
            view: self
                .view
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .clone(),
        }
    }
}
