//! The apply thread ("sequencer-apply"): the only owner of the application
//! state. It takes the core's tasks in order:
//!
//! - `Expect`: remember the replies owed to one of this member's broadcasts
//!   (one per request of its batch).
//! - `Deliver`: apply the next delivery in the total order to the state
//!   machine, request by request in the batch's order; if this member
//!   broadcast it (`sender == me`), answer the waiting replies with the
//!   results, matched by `local_seq` and then by position. Every
//!   `snapshot_every` deliveries (at this member's phase of that interval,
//!   so that members do not all write at once), write a snapshot image
//!   (fsync, rename) and publish it as durable, which lets the core forget
//!   that history.
//! - `Query`: answer a query from the state (its read barrier is passed),
//!   or, if the state machine says it must be ordered after all (it would
//!   renew a session), hand it back to the core as a broadcast.
//! - `Install`: replace the state with a fetched snapshot, durably.
//!
//! Between tasks it expires replies that waited longer than the reply
//! timeout. It never waits for the core (it talks back through `SharedStatus`
//! atomics, and hands queries back with a `try_send` that never blocks), so
//! the core may block on the apply queue safely.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TrySendError};
use log::{debug, error, info, warn};

use crate::driver_kit::{count, Reply, EXPIRY_SWEEP_INTERVAL, OVERLOADED};
use crate::replication::{SnapshotSchedule, StateDigest, StateMachine};
use crate::sequencer::{Delivery, GlobalSeq, MemberId, SnapshotPoint};
use crate::wal::{Snapshot, SnapshotStore, WalResult};

use super::events::{ApplyTask, CoreEvent};
use super::image::{Image, LatestImage};
use super::replies::{fail_all, PendingBroadcasts};
use super::request_batch;
use super::status::SharedStatus;

/// The answer to a request whose delivery a state transfer skipped: the
/// result is in the donor's state machine, not here. The retry is answered
/// from the request log with that first result.
const COVERED_BY_TRANSFER: &str =
    "delivered during a state transfer; retry with the same request id";

/// Everything the apply thread owns.
pub(super) struct ApplyLoop<S: StateMachine> {
    pub(super) me: MemberId,
    pub(super) state: S,
    /// What `state` covers; moved along by each delivery.
    pub(super) applied: SnapshotPoint,
    /// The point of the newest durable snapshot.
    pub(super) snapshot_at: SnapshotPoint,
    /// Where the last snapshot was tried (it may have failed).
    pub(super) snapshot_tried_at: GlobalSeq,
    /// When to snapshot (at this member's phase of the interval).
    pub(super) snapshot_schedule: SnapshotSchedule,
    pub(super) snapshots: SnapshotStore,
    pub(super) latest: LatestImage,
    pub(super) pending: PendingBroadcasts<S::Result>,
    /// How long the replies of a broadcast wait for its delivery.
    pub(super) reply_timeout: Duration,
    pub(super) tasks: Receiver<ApplyTask<S::Result>>,
    /// Where queries that must be ordered after all go back to.
    pub(super) core_inbox: Sender<CoreEvent<S::Result>>,
    pub(super) status: Arc<SharedStatus>,
}

impl<S: StateMachine> ApplyLoop<S> {
    /// The thread's body: until the core is gone (then a last snapshot, on
    /// a clean stop) or a crash is asked for (then nothing more at all).
    pub(super) fn run(mut self) {
        loop {
            if self.status.lifecycle.is_crashing() {
                return;
            }
            match self.tasks.recv_timeout(EXPIRY_SWEEP_INTERVAL) {
                Ok(task) => self.handle(task),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            self.pending.expire(Instant::now());
        }
        if self.applied.global > self.snapshot_at.global && !self.status.lifecycle.is_crashing() {
            // A clean stop: a restart then replays nothing.
            if let Err(failure) = self.take_snapshot() {
                warn!("sequencer {}: last snapshot failed: {failure}", self.me);
            }
        }
    }

    fn handle(&mut self, task: ApplyTask<S::Result>) {
        match task {
            ApplyTask::Expect { local_seq, replies } => {
                let deadline = Instant::now() + self.reply_timeout;
                self.pending.expect(local_seq, replies, deadline);
            }
            ApplyTask::Deliver(delivery) => {
                self.apply(delivery);
                self.snapshot_if_due();
            }
            ApplyTask::Query { payload, reply } => self.answer_query(payload, reply),
            ApplyTask::Install { image, done } => self.install(image, &done),
            ApplyTask::Digest(reply) => {
                let _ = reply.send(StateDigest::of(self.applied.global.0, &self.state));
            }
        }
    }

    /// Takes a snapshot at this member's point of the interval. One that
    /// fails (a full disk, a state past the snapshot limit) is reported and
    /// tried again one interval later: the member keeps serving, and its
    /// log keeps what the snapshot would have let it forget.
    fn snapshot_if_due(&mut self) {
        let last = self.snapshot_at.global.0.max(self.snapshot_tried_at.0);
        let applied = self.applied.global;
        if !self.snapshot_schedule.is_due(last, applied.0) {
            return;
        }
        self.snapshot_tried_at = applied;
        if let Err(failure) = self.take_snapshot() {
            count(&self.status.snapshots_failed, 1);
            error!(
                "sequencer {}: snapshot at {applied} failed, next try at #{}: {failure}",
                self.me,
                self.snapshot_schedule.next_after(applied.0)
            );
        }
    }

    /// Applies one delivery and answers its replies if it is ours.
    fn apply(&mut self, delivery: Delivery) {
        if delivery.global <= self.applied.global {
            // Covered by a snapshot installed after the core queued it.
            if delivery.sender == self.me {
                if let Some(replies) = self.pending.take(delivery.local_seq) {
                    fail_all(replies, COVERED_BY_TRANSFER);
                }
            }
            return;
        }
        // Panics on a gap or a repeat: the core hands deliveries in order.
        self.applied.advance(&delivery);
        let results = self.apply_requests(&delivery);
        self.status.publish_applied(delivery.global);
        if delivery.sender != self.me {
            return;
        }
        let Some(replies) = self.pending.take(delivery.local_seq) else {
            return;
        };
        match results {
            Ok(results) => {
                // One result per request of our own batch; a reply left
                // over (never, unless the batch was misbuilt) answers
                // `Unavailable` as it drops.
                for (reply, result) in replies.into_iter().zip(results) {
                    match result {
                        Ok(result) => reply.send(Ok(result)),
                        Err(why) => reply.fail(why),
                    }
                }
            }
            Err(why) => fail_all(replies, &why),
        }
    }

    /// Answers a query from the state as it is now, which covers every
    /// delivery its barrier waited for. A query the state machine will not
    /// answer this way goes back to the core to be broadcast.
    fn answer_query(&mut self, payload: Vec<u8>, reply: Reply<S::Result>) {
        let request = match S::decode_request(&payload) {
            Ok(request) => request,
            Err(undecodable) => {
                return reply.fail(format!("the request does not decode: {undecodable}"));
            }
        };
        if let Some(result) = self.state.query(&request) {
            count(&self.status.reads_answered, 1);
            return reply.send(Ok(result));
        }
        count(&self.status.reads_ordered, 1);
        let back = CoreEvent::Broadcast { payload, reply };
        if let Err(TrySendError::Full(CoreEvent::Broadcast { reply, .. })) =
            self.core_inbox.try_send(back)
        {
            count(&self.status.inbox_full_drops, 1);
            reply.fail(OVERLOADED);
        }
    }

    /// Applies the requests of one delivery in order: each one's result, or
    /// why it does not decode. Bytes that do not decode fail alike on every
    /// replica, so skipping them keeps the replicas equal.
    fn apply_requests(
        &mut self,
        delivery: &Delivery,
    ) -> Result<Vec<Result<S::Result, String>>, String> {
        let requests = request_batch::requests(&delivery.payload).map_err(|undecodable| {
            error!(
                "sequencer {}: delivery {} is not a request batch: {undecodable}",
                self.me, delivery.global
            );
            format!("the request batch does not decode: {undecodable}")
        })?;
        let results = requests
            .into_iter()
            .map(|bytes| match S::decode_request(bytes) {
                Ok(request) => Ok(self.state.apply(&request)),
                Err(undecodable) => {
                    error!(
                        "sequencer {}: a request of delivery {} does not decode: {undecodable}",
                        self.me, delivery.global
                    );
                    Err(format!("the request does not decode: {undecodable}"))
                }
            })
            .collect();
        Ok(results)
    }

    /// Writes the state as a snapshot image, durably, then publishes it.
    fn take_snapshot(&mut self) -> WalResult<()> {
        let started = Instant::now();
        let image = Image::encode(self.applied.clone(), &self.state.snapshot());
        let encoded = started.elapsed();
        let bytes = image.bytes.len();
        self.store(Arc::new(image))?;
        count(&self.status.snapshots_taken, 1);
        // Read by `bench --scale` (lib/bench/lifecycle.rs): the apply
        // thread stands still for the whole of it.
        info!(
            "sequencer {}: snapshot at {}: {bytes} bytes, encoded in {:.1} ms, \
             written in {:.1} ms",
            self.me,
            self.applied.global,
            encoded.as_secs_f64() * 1000.0,
            (started.elapsed() - encoded).as_secs_f64() * 1000.0
        );
        Ok(())
    }

    /// Makes `image` the durable snapshot, and only then tells the others:
    /// the donor side may serve it and the core may forget what it covers.
    fn store(&mut self, image: Arc<Image>) -> WalResult<()> {
        let global = image.global();
        let snapshot = Snapshot {
            index: global.0,
            term: 0,
            data: image.bytes.clone(),
        };
        self.snapshots.save(&snapshot)?;
        self.snapshot_at = image.point.clone();
        self.latest.set(image);
        self.status.publish_applied_durably(global);
        debug!("sequencer {}: snapshot at {global}", self.me);
        Ok(())
    }

    /// Replaces the state with a fetched image if it is ahead; says on
    /// `done` whether it did.
    fn install(&mut self, image: Arc<Image>, done: &Sender<bool>) {
        let global = image.global();
        if global <= self.applied.global {
            let _ = done.send(false);
            return;
        }
        let state = match S::restore(image.app()) {
            Ok(state) => state,
            Err(why) => {
                warn!(
                    "sequencer {}: fetched snapshot does not restore: {why}",
                    self.me
                );
                let _ = done.send(false);
                return;
            }
        };
        // Durable before the state changes hands, so a crash right after
        // the core's `Base` record always finds the snapshot it names. One
        // that cannot be stored is not installed; the transfer is tried
        // again.
        if let Err(failure) = self.store(Arc::clone(&image)) {
            count(&self.status.snapshots_failed, 1);
            error!(
                "sequencer {}: fetched snapshot at {global} not stored: {failure}",
                self.me
            );
            let _ = done.send(false);
            return;
        }
        self.state = state;
        self.applied = image.point.clone();
        self.status.publish_applied(global);
        let mine = image.point.delivered_local[self.me.index()];
        self.pending.fail_up_to(mine, COVERED_BY_TRANSFER);
        let _ = done.send(true);
    }
}
