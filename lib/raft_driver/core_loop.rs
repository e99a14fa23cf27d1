//! The "raft-core" thread: the only owner of the `RaftNode`. It runs the
//! Ready loop of `crate::raft` literally:
//!
//! ```text
//! loop {
//!     wait for one event, then take every event already queued (a batch)
//!     feed each to the node: step / tick / propose / read_index / compact
//!     while the node has a Ready:
//!         1. send messages_now
//!         2. persist snapshot, entries (one fsync), hard state
//!         3. send messages_after_persist
//!         4. hand the snapshot and the committed entries to raft-apply
//!         5. hand the confirmed reads to raft-apply
//!         6. advance
//!     publish the node's status; if it stopped leading, say so to raft-apply
//! }
//! ```
//!
//! Batching is what makes it fast: while one Ready's fsync runs, new
//! proposals wait in the inbox, and the next batch proposes them all, so
//! they share the next Ready and its one fsync.
//!
//! It may call: the node, `RaftStorage` (which blocks on the wal-writer
//! thread for the fsync), the transport (`send` never blocks) and the apply
//! queue (which never blocks: while raft-apply is busy, for example writing
//! a large snapshot, tasks wait in the queue's backlog and the core keeps
//! sending heartbeats; it refuses new proposals and reads while the backlog
//! is full). It never waits on anything that waits on it, so nothing
//! deadlocks.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, TryRecvError};
use log::{debug, error, warn};

use crate::driver_kit::{
    count, warn_if_refused, ApplyQueue, ApplyThreadGone, CoreWake, Reply, APPLYING_BEHIND,
    BATCH_EVENTS_MAX,
};
use crate::raft::{LogIndex, Message, RaftError, RaftNode, RaftStatus, Ready, Role, Term};
use crate::replication::StateMachine;
use crate::transport::UdpTransport;
use crate::wal::WalError;

use super::codec::{decode_read_context, encode_proposal, encode_read_context, ProposalTag};
use super::events::{ApplyTask, CoreEvent};
use super::inbound::decode_datagram;
use super::status::SharedStatus;
use super::storage::{RaftStorage, Written};

/// Why the core loop stops before it is told to.
enum Halt {
    /// A write failed: what is on disk is unknown, so this node can no
    /// longer promise anything (a vote, an acknowledgement) and stops.
    Storage(WalError),
    /// The apply thread is gone (stopping, or it failed).
    ApplyGone,
}

impl From<ApplyThreadGone> for Halt {
    fn from(_: ApplyThreadGone) -> Halt {
        Halt::ApplyGone
    }
}

/// The raft-core thread's state.
pub struct CoreLoop<S: StateMachine> {
    /// The Raft node; only this thread touches it.
    pub node: RaftNode,
    /// The log, the hard state and the snapshots.
    pub storage: RaftStorage,
    /// Where messages go, and where peers' datagrams are read from
    /// (`receive_now`: this thread reads the socket itself).
    pub transport: Arc<UdpTransport>,
    /// Ticks, proposals, reads and compactions.
    pub inbox: Receiver<CoreEvent<S>>,
    /// The doorbell the inbox's producers ring; the core sleeps on it and
    /// on the socket (`driver_kit/core_wake.rs`).
    pub wake: Arc<CoreWake>,
    /// Room for one datagram.
    pub receive_buffer: Vec<u8>,
    /// Committed entries, snapshots, replies and reads for raft-apply.
    pub apply: ApplyQueue<ApplyTask<S>>,
    /// Disconnects when the replicator stops.
    pub stop: Receiver<()>,
    /// Where the node's status is published.
    pub status: Arc<SharedStatus>,
    /// Drawn at start; goes into every proposal's tag.
    pub incarnation: u64,
    /// The last proposal number used.
    pub proposals: u64,
    /// The last read id used.
    pub reads: u64,
    /// The term this node leads in, as of the last batch.
    pub leading_in: Option<Term>,
    /// Tick periods since the node started, on the monotonic clock.
    pub clock: TickClock,
}

/// The node's clock as the driver keeps it: whole tick periods since the
/// node was made, on the monotonic clock (which runs on while the process
/// is stopped, unlike the ticker, whose ticks a stalled or stopped core
/// misses; see `driver_kit::Ticker`). The core's timers follow the ticks
/// it gets; its lease follows this (`RaftNode::tick_at`, `advance_clock`).
/// It rounds down and starts no later than the ticker, so it never runs
/// ahead of time: a lease measured on it is never longer than it looks.
#[derive(Clone, Copy, Debug)]
pub struct TickClock {
    /// When the node's clock was 0.
    pub origin: Instant,
    /// One tick.
    pub tick: Duration,
}

impl TickClock {
    /// Whole ticks since `origin`.
    pub fn now(&self) -> u64 {
        let ticks = self.origin.elapsed().as_nanos() / self.tick.as_nanos().max(1);
        u64::try_from(ticks).unwrap_or(u64::MAX)
    }
}

impl<S: StateMachine> CoreLoop<S> {
    /// Runs batches until stopped, or until storage fails.
    pub fn run(mut self) {
        while let Some(first) = self.next_event() {
            if let Err(halt) = self.run_batch(first) {
                self.halt(halt);
                return self.answer_leftovers();
            }
        }
        self.answer_leftovers();
        // Every write was durable before anything was acknowledged, so
        // there is nothing left to flush but queued compactions.
        self.storage.close();
    }

    /// Answers the requests still queued: the replica has left `Running`
    /// (a stop, a crash or a failure), so none can be queued after them.
    /// Dropping an event answers its reply `Unavailable`.
    fn answer_leftovers(&self) {
        while let Ok(event) = self.inbox.try_recv() {
            drop(event);
        }
    }

    /// One turn of the loop: a batch of events, then every Ready.
    fn run_batch(&mut self, first: CoreEvent<S>) -> Result<(), Halt> {
        self.apply.move_on()?;
        self.on_event(first)?;
        // The inbox and the socket in turn, so neither starves the other.
        let mut taken = 1;
        while taken < BATCH_EVENTS_MAX {
            let before = taken;
            if let Ok(event) = self.inbox.try_recv() {
                self.on_event(event)?;
                taken += 1;
            }
            if let Some(message) = self.receive() {
                self.on_event(CoreEvent::Peer(message))?;
                taken += 1;
            }
            if taken == before {
                break;
            }
        }
        while self.node.has_ready() {
            let ready = self.node.ready();
            self.handle_ready(ready)?;
        }
        self.publish();
        Ok(())
    }

    /// The Ready recipe (crate::raft explains each step's reason).
    fn handle_ready(&mut self, ready: Ready) -> Result<(), Halt> {
        // 1. Heartbeats and a leader's appends need nothing on disk: the
        //    followers write while the leader writes (thesis §10.2.1).
        self.send(&ready.messages_now);
        // 2. Snapshot, entries, hard state, in that order; one fsync for
        //    the entries of every proposal in this batch.
        let written = self.storage.persist(&ready).map_err(Halt::Storage)?;
        self.count_written(written);
        // 3. Votes and acknowledgements promise durable state: only now.
        self.send(&ready.messages_after_persist);
        // 4. The snapshot first (it replaces the state machine), then the
        //    entries after it, in log order.
        if let Some(snapshot) = ready.snapshot_to_persist {
            self.hand_to_apply(ApplyTask::Install(snapshot))?;
        }
        if !ready.committed_entries.is_empty() {
            self.hand_to_apply(ApplyTask::Committed(ready.committed_entries))?;
        }
        // 5. Queued behind the entries: the apply thread answers each read
        //    once it has applied up to the read's index.
        for read in ready.read_states {
            match decode_read_context(&read.request_ctx) {
                Ok(id) => self.hand_to_apply(ApplyTask::ReadConfirmed {
                    id,
                    index: read.index.0,
                })?,
                Err(why) => warn!("raft core: a read state with a bad context: {why}"),
            }
        }
        // 6.
        self.node.advance();
        Ok(())
    }

    fn on_event(&mut self, event: CoreEvent<S>) -> Result<(), Halt> {
        match event {
            CoreEvent::Peer(message) => {
                let from = message.from;
                warn_if_refused("raft core", from, &self.node.step(message));
            }
            CoreEvent::Tick => {
                self.status.tick_gate.taken();
                self.node.tick_at(self.clock.now());
            }
            // While the apply thread is behind, client work waits nowhere:
            // it is refused at once (see `ApplyQueue::is_behind`).
            CoreEvent::Propose { reply, .. } | CoreEvent::Read { reply, .. }
                if self.apply.is_behind() =>
            {
                reply.fail(APPLYING_BEHIND)
            }
            CoreEvent::Propose {
                request,
                reply,
                deadline,
            } => self.propose(request, reply, deadline)?,
            CoreEvent::Read {
                request,
                reply,
                deadline,
            } => self.start_read(request, reply, deadline)?,
            CoreEvent::Compact { index, data } => self.compact(index, data),
        }
        Ok(())
    }

    /// Appends a write to the log, tagged so that raft-apply finds its
    /// reply. The reply is queued for raft-apply now, before the entry can
    /// commit (that takes at least one more Ready), so it is always there
    /// in time.
    fn propose(
        &mut self,
        request: Vec<u8>,
        reply: Reply<S::Result>,
        deadline: Instant,
    ) -> Result<(), Halt> {
        self.proposals += 1;
        let tag = ProposalTag {
            node: self.node.id(),
            incarnation: self.incarnation,
            number: self.proposals,
        };
        match self.node.propose(encode_proposal(tag, &request)) {
            Ok(_) => self.hand_to_apply(ApplyTask::ExpectProposal {
                number: tag.number,
                reply,
                deadline,
            }),
            Err(error) => {
                refuse(reply, error);
                Ok(())
            }
        }
    }

    /// Starts a read: nothing is written to the log; the leader answers on
    /// its lease, or confirms with a heartbeat round that it still leads.
    fn start_read(
        &mut self,
        request: S::Request,
        reply: Reply<S::Result>,
        deadline: Instant,
    ) -> Result<(), Halt> {
        // The read was queued before this clock reading, so the lease is
        // checked at a time after the read began, however long this process
        // was stopped before it took the read (the ticks it missed meanwhile
        // may still be on their way, or dropped).
        self.node.advance_clock(self.clock.now());
        self.reads += 1;
        let id = self.reads;
        match self.node.read_index(encode_read_context(id)) {
            Ok(()) => self.hand_to_apply(ApplyTask::ExpectRead {
                id,
                request,
                reply,
                deadline,
            }),
            Err(error) => {
                refuse(reply, error);
                Ok(())
            }
        }
    }

    /// The apply thread saved a snapshot at `index`: the node forgets the
    /// entries it covers, and the log drops the segments that hold them.
    fn compact(&mut self, index: u64, data: Vec<u8>) {
        match self.node.compact(LogIndex(index), data) {
            Ok(()) => self.storage.compact_log(index),
            // A newer snapshot came from the leader meanwhile.
            Err(error) => debug!("raft core: not compacting to {index}: {error}"),
        }
    }

    /// Publishes the node's status, and tells raft-apply when this node
    /// stopped leading the term it led, so that waiting replies are
    /// redirected at once instead of timing out.
    fn publish(&mut self) {
        let applied = LogIndex(self.status.applied()).min(self.node.log().handed_out());
        self.node.report_applied(applied);
        let status: RaftStatus = self.node.status();
        self.status.publish_node(status);
        let leading_now = (status.role == Role::Leader).then_some(status.term);
        if self.leading_in.is_some() && self.leading_in != leading_now {
            let leader = status.leader.map(|leader| leader.0);
            // If raft-apply is gone, the replies went with it.
            let _ = self.apply.push(ApplyTask::SteppedDown { leader });
        }
        self.leading_in = leading_now;
    }

    fn count_written(&self, written: Written) {
        let counters = &self.status.counters;
        count(&counters.readys, 1);
        if written.entries > 0 {
            count(&counters.log_writes, 1);
            count(&counters.entries_persisted, written.entries as u64);
        }
        if written.hard_state {
            count(&counters.hard_state_saves, 1);
        }
    }

    fn send(&self, messages: &[Message]) {
        for message in messages {
            if let Err(error) = self.transport.send_now(message.to.0, &message.encode()) {
                // The core's limits keep every message within a datagram.
                error!("raft core: cannot send {}: {error}", message.describe());
            }
        }
    }

    fn hand_to_apply(&mut self, task: ApplyTask<S>) -> Result<(), Halt> {
        Ok(self.apply.push(task)?)
    }

    /// Waits for the next event, from the inbox or a peer's datagram on
    /// the socket; `None` once stopped.
    fn next_event(&mut self) -> Option<CoreEvent<S>> {
        loop {
            match self.inbox.try_recv() {
                Ok(event) => return Some(event),
                Err(TryRecvError::Disconnected) => return None,
                Err(TryRecvError::Empty) => {}
            }
            if let Some(message) = self.receive() {
                return Some(CoreEvent::Peer(message));
            }
            // The stop signal is a disconnection (driver_kit::Threads).
            if !matches!(self.stop.try_recv(), Err(TryRecvError::Empty)) {
                return None;
            }
            // raft-ticker rings every tick, so this sleep is never longer;
            // the timeout is a backstop. A stop rings no bell: it is seen
            // within a tick.
            self.wake
                .sleep(&self.inbox, self.transport.socket_fd(), self.clock.tick);
        }
    }

    /// The next peer message waiting on the socket, if any. A datagram
    /// that passed the transport's checks but is no Raft message from the
    /// peer it came from is counted and dropped, never a panic.
    fn receive(&mut self) -> Option<Message> {
        while let Some(datagram) = self.transport.receive_now(&mut self.receive_buffer) {
            match decode_datagram(&datagram) {
                Ok(message) => return Some(message),
                Err(why) => {
                    count(&self.status.counters.malformed_dropped, 1);
                    debug!(
                        "raft core {}: dropping a datagram from peer {}: {why}",
                        self.node.id(),
                        datagram.peer
                    );
                }
            }
        }
        None
    }

    fn halt(&self, halt: Halt) {
        match halt {
            Halt::Storage(error) => {
                error!(
                    "raft core {}: storage failed, stopping: {error}",
                    self.node.id()
                );
                self.status.lifecycle.fail();
            }
            Halt::ApplyGone => {
                // A stop or a failure already moved the lifecycle on; if
                // not, the apply thread died of a bug, and nothing more
                // may be accepted either.
                debug!("raft core {}: the apply thread is gone", self.node.id());
                self.status.lifecycle.fail_if_running();
            }
        }
    }
}

/// Answers a request the node refused: a redirect on a follower, else
/// `Unavailable` with the reason (queue full, entry too large).
fn refuse<R>(reply: Reply<R>, error: RaftError) {
    match error {
        RaftError::NotLeader { leader } => reply.redirect(leader.map(|leader| leader.0)),
        other => reply.fail(other.to_string()),
    }
}
