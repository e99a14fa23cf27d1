//! The "raft-apply" thread: the only owner of the state machine. It applies
//! committed entries in log order, answers the replies of this node's own
//! proposals and its confirmed reads, encodes a snapshot when the
//! `SnapshotSchedule` says (after a share of the last one's size in log,
//! or `snapshot_every_entries` entries) and hands it to the
//! "raft-snapshot-writer" thread, and loads the snapshots a leader sends.
//!
//! It may call: the state machine, the snapshot writer (never waiting for
//! it, except at a clean stop) and the core inbox, with `try_send` only:
//! the core blocks on this thread's queue when it is full, so this thread
//! must never block on the core's.
//!
//! Exactly once, as far as the driver goes: each committed entry is handed
//! out once per start and applied once, in order (asserted); a reply is
//! found by the tag inside the entry, so an entry proposed by another node,
//! or by this node before a restart, has no waiter and answers nobody.
//! What a client retries after a timeout or a redirect is deduplicated by
//! the state machine's request log, not here.

use std::sync::Arc;
use std::time::Instant;

use crossbeam_channel::{never, select, Receiver, TrySendError};
use log::{error, info, warn};

use crate::driver_kit::{
    count, CoreInbox, Lifecycle, Reply, SnapshotSchedule, SnapshotWriter, SnapshotWritten, Take,
    WriteOutcome, EXPIRY_SWEEP_INTERVAL, OVERLOADED,
};
use crate::raft::{Entry, EntryId, EntryKind, NodeId, Snapshot};
use crate::replication::{ReplicationError, StateDigest, StateMachine};

use super::codec::{decode_proposal, ProposalTag};
use super::events::{ApplyTask, CoreEvent};
use super::replies::{PendingProposals, PendingRead, PendingReads};
use super::status::SharedStatus;

/// The raft-apply thread's state.
pub struct ApplyLoop<S: StateMachine> {
    /// This node.
    pub me: NodeId,
    /// This start's incarnation: only entries tagged with it have waiters.
    pub incarnation: u64,
    /// The state machine.
    pub state: S,
    /// The last entry applied (or the snapshot's last entry).
    pub applied: EntryId,
    /// The index of the latest snapshot made durable or loaded.
    pub snapshot_index: u64,
    /// When to take a snapshot: after a share of the last one's size in
    /// log, or `snapshot_every_entries` entries, at this replica's phase.
    pub snapshot_schedule: SnapshotSchedule,
    /// Writes the snapshots this thread encodes.
    pub writer: SnapshotWriter<Vec<u8>>,
    /// Tasks from the core.
    pub tasks: Receiver<ApplyTask<S>>,
    /// Where compactions go.
    pub core_inbox: CoreInbox<CoreEvent<S>>,
    /// Disconnects when the replicator stops.
    pub stop: Receiver<()>,
    /// Where the applied index is published.
    pub status: Arc<SharedStatus>,
    /// Replies to this node's proposals.
    pub proposals: PendingProposals<S::Result>,
    /// Reads waiting.
    pub reads: PendingReads<S::Request, S::Result>,
    /// A compaction the core's full inbox refused; retried each sweep.
    pub unsent_compaction: Option<(u64, Vec<u8>)>,
}

impl<S: StateMachine> ApplyLoop<S> {
    /// Applies until stopped. On a clean stop it applies every task the
    /// core queued (the queue disconnects once the core is gone), then
    /// takes a last snapshot; on a crash it just returns.
    pub fn run(mut self) {
        let mut stop = self.stop.clone();
        let mut last_sweep = Instant::now();
        loop {
            let written = self.writer.written().clone();
            select! {
                recv(self.tasks) -> task => match task {
                    Ok(task) => {
                        if !self.on_task(task) {
                            return;
                        }
                    }
                    Err(_) => break,
                },
                recv(written) -> report => {
                    if let Some(report) = self.writer.received(report) {
                        self.on_written(report);
                        // One that fell due during the write was skipped.
                        self.snapshot(Take::IfDue);
                    }
                }
                recv(stop) -> _ => {
                    if self.status.lifecycle.is_crashing() {
                        return;
                    }
                    // Drain: keep applying until every sender is gone.
                    stop = never();
                }
                default(EXPIRY_SWEEP_INTERVAL) => {}
            }
            if last_sweep.elapsed() >= EXPIRY_SWEEP_INTERVAL {
                self.sweep(Instant::now());
                last_sweep = Instant::now();
            }
        }
        self.finish();
    }

    /// Handles one task; false if the thread must stop (a snapshot from the
    /// leader that does not load: this replica can no longer follow).
    fn on_task(&mut self, task: ApplyTask<S>) -> bool {
        match task {
            ApplyTask::ExpectProposal {
                number,
                reply,
                deadline,
            } => self.proposals.expect(number, reply, deadline),
            ApplyTask::ExpectRead {
                id,
                request,
                reply,
                deadline,
            } => {
                let read = PendingRead {
                    request,
                    reply,
                    deadline,
                };
                self.reads.expect(id, read, deadline);
            }
            ApplyTask::Committed(entries) => {
                for entry in entries {
                    self.apply_entry(entry);
                }
                self.status.publish_applied(self.applied.index.0);
                self.answer_reads();
                self.snapshot(Take::IfDue);
            }
            ApplyTask::Install(snapshot) => return self.install(snapshot),
            ApplyTask::ReadConfirmed { id, index } => {
                self.reads.confirm(id, index);
                self.answer_reads();
            }
            ApplyTask::SteppedDown { leader } => {
                let error = ReplicationError::NotLeader { leader };
                self.proposals.fail_all(&error);
                self.reads.fail_unconfirmed(&error);
            }
            ApplyTask::Digest(answer) => {
                let _ = answer.try_send(StateDigest::of(self.applied.index.0, &self.state));
            }
        }
        true
    }

    /// Applies one committed entry and answers its proposer, if waiting here.
    fn apply_entry(&mut self, entry: Entry) {
        assert_eq!(
            entry.index,
            self.applied.index.next(),
            "raft apply {}: entries out of order after {}",
            self.me,
            self.applied
        );
        self.snapshot_schedule.applied(entry.data.len() as u64);
        if entry.kind == EntryKind::Normal {
            match decode_request::<S>(&entry.data) {
                Ok((tag, request)) => {
                    let result = self.state.apply(&request);
                    if let Some(reply) = self.take_reply(tag) {
                        reply.send(Ok(result));
                    }
                }
                Err(why) => {
                    // Every replica skips the same entry, so they stay equal.
                    count(&self.status.counters.entries_undecodable, 1);
                    error!(
                        "raft apply {}: entry {} skipped: {why}",
                        self.me,
                        entry.id()
                    );
                }
            }
        }
        self.applied = entry.id();
    }

    /// The reply waiting for the entry tagged `tag`: only this node's
    /// proposals of this start have one.
    fn take_reply(&mut self, tag: ProposalTag) -> Option<Reply<S::Result>> {
        if tag.node != self.me || tag.incarnation != self.incarnation {
            return None;
        }
        self.proposals.take(tag.number)
    }

    /// Answers the confirmed reads the state machine has caught up with.
    fn answer_reads(&mut self) {
        for read in self.reads.take_ready(self.applied.index.0) {
            match self.state.query(&read.request) {
                Some(result) => read.reply.send(Ok(result)),
                None => self.order_after_all(read),
            }
        }
    }

    /// A query the state machine would not answer from its state (it is
    /// due to change something, as a session renewal is): it goes into the
    /// log after all, as a proposal. `try_send`, as everything this thread
    /// sends the core: a full inbox answers the caller "overloaded".
    fn order_after_all(&mut self, read: PendingRead<S::Request, S::Result>) {
        let Some(event) = CoreEvent::proposal(&read.request, read.reply, read.deadline) else {
            return;
        };
        if let Err(refused) = self.core_inbox.try_send(event) {
            if let CoreEvent::Propose { reply, .. } = refused.into_inner() {
                reply.fail(OVERLOADED);
            }
        }
    }

    /// Loads a snapshot from the leader in place of the state machine.
    fn install(&mut self, snapshot: Snapshot) -> bool {
        let state = match S::restore(&snapshot.data) {
            Ok(state) => state,
            Err(why) => {
                error!(
                    "raft apply {}: the leader's snapshot {} does not load: {why}",
                    self.me,
                    snapshot.meta.id()
                );
                self.status.lifecycle.fail();
                return false;
            }
        };
        info!(
            "raft apply {}: loaded snapshot {}",
            self.me,
            snapshot.meta.id()
        );
        self.state = state;
        self.applied = snapshot.meta.id();
        self.snapshot_index = snapshot.meta.index.0;
        let bytes = snapshot.data.len() as u64;
        self.snapshot_schedule.taken(self.snapshot_index, bytes);
        count(&self.status.counters.snapshots_installed, 1);
        self.status.publish_applied(self.applied.index.0);
        // The results of entries the snapshot covers are not known here.
        let error = ReplicationError::Unavailable(
            "overtaken by a snapshot; retry with the same request id".into(),
        );
        self.proposals.fail_all(&error);
        self.answer_reads();
        true
    }

    /// Takes a snapshot `when` it should be (see `driver_kit::Take`): the
    /// kit times it, schedules the next and writes it; the encoding is the
    /// state machine's own. True if one was handed to the writer.
    fn snapshot(&mut self, when: Take) -> bool {
        let state = &self.state;
        let at = (self.applied.index.0, self.applied.term.0);
        let schedule = &mut self.snapshot_schedule;
        self.writer.take(when, schedule, at, || state.snapshot())
    }

    /// The writer's report. Only a durable snapshot lets the core compact
    /// the log up to it: until then a crash must find every entry it covers
    /// in the log, since the older snapshot is the one a restart loads.
    fn on_written(&mut self, report: SnapshotWritten<Vec<u8>>) {
        let index = report.job.index;
        match &report.outcome {
            WriteOutcome::Durable => {
                count(&self.status.counters.snapshots_taken, 1);
                report.log_durable(&format!("raft apply {}", self.me), index);
                self.snapshot_index = self.snapshot_index.max(index);
                self.unsent_compaction = Some((index, report.job.image));
                self.send_compaction();
            }
            // The leader's newer snapshot is on disk already.
            WriteOutcome::Superseded => {}
            // The log keeps everything until a later snapshot works.
            WriteOutcome::Failed(error) => warn!(
                "raft apply {}: snapshot at {index} failed: {error}",
                self.me
            ),
        }
    }

    fn send_compaction(&mut self) {
        let Some((index, data)) = self.unsent_compaction.take() else {
            return;
        };
        match self.core_inbox.try_send(CoreEvent::Compact { index, data }) {
            Ok(()) | Err(TrySendError::Disconnected(_)) => {}
            Err(TrySendError::Full(CoreEvent::Compact { index, data })) => {
                self.unsent_compaction = Some((index, data));
            }
            Err(TrySendError::Full(_)) => unreachable!("the event sent was a Compact"),
        }
    }

    /// Expires replies, retries a compaction, and fails everything once the
    /// replica failed (the core stopped: nothing will ever be applied).
    fn sweep(&mut self, now: Instant) {
        self.proposals.expire(now);
        self.reads.expire(now);
        self.send_compaction();
        if self.status.lifecycle.get() == Lifecycle::Failed {
            let error = ReplicationError::Unavailable("the replica's storage failed".into());
            self.proposals.fail_all(&error);
            self.reads.fail_all(&error);
        }
    }

    /// A clean stop: a last snapshot, so that a restart need not replay the
    /// log, and an answer to every reply still waiting.
    fn finish(mut self) {
        if let Some(report) = self.writer.wait() {
            self.on_written(report);
        }
        if self.applied.index.0 > self.snapshot_index && self.snapshot(Take::Now) {
            if let Some(report) = self.writer.wait() {
                self.on_written(report);
            }
        }
        let error = ReplicationError::Unavailable("the replica is shutting down".into());
        self.proposals.fail_all(&error);
        self.reads.fail_all(&error);
    }
}

/// A `Normal` entry's tag and the state machine's request inside it.
fn decode_request<S: StateMachine>(data: &[u8]) -> Result<(ProposalTag, S::Request), String> {
    let (tag, bytes) = decode_proposal(data).map_err(|error| error.to_string())?;
    let request = S::decode_request(bytes)?;
    Ok((tag, request))
}
