//! The apply thread ("sequencer-apply"): the only owner of the application
//! state. It takes the core's tasks in order:
//!
//! - `Expect`: remember the replies owed to one of this member's broadcasts
//!   (one per request of its batch).
//! - `Deliver`: apply the next delivery in the total order to the state
//!   machine, request by request in the batch's order; if this member
//!   broadcast it (`sender == me`), answer the waiting replies with the
//!   results, matched by `local_seq` and then by position. When the
//!   `SnapshotSchedule` says (after a share of the last snapshot's size in
//!   delivered payload, or `snapshot_every` deliveries, at this member's
//!   phase, so that members do not all write at once), encode a snapshot
//!   image and hand it to the "sequencer-snapshot-writer" thread; once it
//!   reports the file durable, publish it, which lets the core forget that
//!   history. A snapshot is also taken on demand, when a peer needs a more
//!   recent image than the newest here (see `snapshot_on_demand`).
//! - `Query`: answer a query from the state (its read barrier is passed),
//!   or, if the state machine says it must be ordered after all (it would
//!   renew a session), hand it back to the core as a broadcast.
//! - `Install`: replace the state with a fetched snapshot, durably (this
//!   one is written here: the core waits for it anyway).
//!
//! Between tasks it expires replies that waited longer than the reply
//! timeout. It never waits for the core (it talks back through `SharedStatus`
//! atomics, and hands queries back with a `try_send` that never blocks), so
//! the core may block on the apply queue safely; nor for the snapshot
//! writer, except before an install and at a clean stop.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{select, Receiver, Sender, TrySendError};
use log::{debug, error, info, warn};

use crate::driver_kit::{
    count, lock_snapshots, CoreInbox, Reply, SharedSnapshots, SnapshotSchedule, SnapshotWriter,
    SnapshotWritten, Take, WriteOutcome, EXPIRY_SWEEP_INTERVAL, OVERLOADED,
};
use crate::replication::{StateDigest, StateMachine};
use crate::sequencer::{Delivery, GlobalSeq, MemberId, SnapshotPoint};
use crate::wal::WalResult;

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
    /// When to snapshot (at this member's phase).
    pub(super) snapshot_schedule: SnapshotSchedule,
    /// A peer needs an image covering this, and the snapshot being written
    /// does not: taken once that write is reported.
    pub(super) snapshot_wanted: Option<GlobalSeq>,
    /// Writes the snapshots this thread encodes.
    pub(super) writer: SnapshotWriter<Arc<Image>>,
    /// The store the writer writes to; a fetched image is saved here.
    pub(super) snapshots: SharedSnapshots,
    pub(super) latest: LatestImage,
    pub(super) pending: PendingBroadcasts<S::Result>,
    /// How long the replies of a broadcast wait for its delivery.
    pub(super) reply_timeout: Duration,
    pub(super) tasks: Receiver<ApplyTask<S::Result>>,
    /// Where queries that must be ordered after all go back to.
    pub(super) core_inbox: CoreInbox<CoreEvent<S::Result>>,
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
            let written = self.writer.written().clone();
            select! {
                recv(self.tasks) -> task => match task {
                    Ok(task) => self.handle(task),
                    Err(_) => break,
                },
                recv(written) -> report => {
                    if let Some(report) = self.writer.received(report) {
                        self.on_written(report);
                        // One that fell due during the write was skipped.
                        self.snapshot(Take::IfDue);
                    }
                }
                default(EXPIRY_SWEEP_INTERVAL) => {}
            }
            self.snapshot_on_demand();
            self.pending.expire(Instant::now());
        }
        if !self.status.lifecycle.is_crashing() {
            self.last_snapshot();
        }
    }

    /// A clean stop: the write under way finished, then a last snapshot, so
    /// that a restart replays nothing.
    fn last_snapshot(&mut self) {
        if let Some(report) = self.writer.wait() {
            self.on_written(report);
        }
        if self.applied.global > self.snapshot_at.global && self.snapshot(Take::Now) {
            if let Some(report) = self.writer.wait() {
                self.on_written(report);
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
                self.snapshot(Take::IfDue);
            }
            ApplyTask::Query { payload, reply } => self.answer_query(payload, reply),
            ApplyTask::Install { image, done } => self.install(image, &done),
            ApplyTask::Digest(reply) => {
                let _ = reply.send(StateDigest::of(self.applied.global.0, &self.state));
            }
        }
    }

    /// Takes a snapshot `when` it should be (see `driver_kit::Take`): the
    /// kit times it, schedules the next and writes it; the encoding is an
    /// [`Image`] of the state and the point it covers. True if one was
    /// handed to the writer.
    fn snapshot(&mut self, when: Take) -> bool {
        let (applied, state) = (&self.applied, &self.state);
        let at = (applied.global.0, 0);
        let schedule = &mut self.snapshot_schedule;
        self.writer.take(when, schedule, at, || {
            Arc::new(Image::encode(applied.clone(), &state.snapshot()))
        })
    }

    /// Takes a snapshot now if a peer needs an image covering a number the
    /// state has reached and the newest durable one does not (the
    /// state-transfer thread asks through `SharedStatus`); with one being
    /// written, once it is reported, and only if it falls short. Safe at
    /// any point between two deliveries, as a scheduled snapshot is: an
    /// image is the applied state and the point it covers, nothing about
    /// the order changes, and the core forgets history only once the file
    /// is durable. Each want is taken once: a fetcher that still needs an
    /// image asks again, a bounded number of times, so even a failing disk
    /// costs a bounded number of snapshots.
    fn snapshot_on_demand(&mut self) {
        if let Some(wanted) = self.status.take_snapshot_wanted() {
            self.snapshot_wanted = self.snapshot_wanted.max(Some(wanted));
        }
        let Some(wanted) = self.snapshot_wanted else {
            return;
        };
        if self.writer.is_writing() && wanted > self.snapshot_at.global {
            return;
        }
        self.snapshot_wanted = None;
        if wanted > self.snapshot_at.global && wanted <= self.applied.global {
            info!(
                "sequencer {}: snapshot on demand at {} (a peer needs {wanted})",
                self.me, self.applied.global
            );
            self.snapshot(Take::Now);
        }
    }

    /// The writer's report. One that failed (a full disk, a state past the
    /// snapshot limit) is reported and tried again one interval later: the
    /// member keeps serving, and its log keeps what the snapshot would
    /// have let it forget.
    fn on_written(&mut self, report: SnapshotWritten<Arc<Image>>) {
        let global = report.job.image.global();
        match &report.outcome {
            WriteOutcome::Durable => {
                count(&self.status.snapshots_taken, 1);
                report.log_durable(&format!("sequencer {}", self.me), global);
                self.publish(report.job.image);
            }
            // A fetched image at or past it was installed meanwhile.
            WriteOutcome::Superseded => {}
            WriteOutcome::Failed(failure) => {
                count(&self.status.snapshots_failed, 1);
                error!(
                    "sequencer {}: snapshot at {global} failed, tried again one interval \
                     later: {failure}",
                    self.me
                );
            }
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
        let bytes = delivery.payload.len() as u64;
        self.snapshot_schedule.applied(bytes);
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

    /// Tells the others that `image` is the durable snapshot; call only
    /// once its file is durable. The donor side may serve it, and the core
    /// may forget what it covers (a `Base` record): a crash before this
    /// must find everything it covers in the log.
    fn publish(&mut self, image: Arc<Image>) {
        let global = image.global();
        if global <= self.snapshot_at.global {
            return;
        }
        self.snapshot_at = image.point.clone();
        self.latest.set(image);
        self.status.publish_applied_durably(global);
        debug!("sequencer {}: snapshot at {global}", self.me);
    }

    /// Saves a fetched `image` durably, here rather than on the writer,
    /// after the write under way (which it supersedes), then publishes it.
    fn store(&mut self, image: Arc<Image>) -> WalResult<()> {
        if let Some(report) = self.writer.wait() {
            self.on_written(report);
        }
        let global = image.global();
        lock_snapshots(&self.snapshots).save_data(global.0, 0, &image.bytes)?;
        let bytes = image.bytes.len() as u64;
        self.snapshot_schedule.taken(global.0, bytes);
        self.publish(image);
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
