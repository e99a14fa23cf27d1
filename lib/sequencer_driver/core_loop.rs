//! The core thread ("sequencer-core"): the only owner of the protocol's
//! [`Member`] and of the log. It runs one loop:
//!
//! 1. Wait for an event on the inbox or a datagram on the socket (or the
//!    stop signal), at most until the next tick is due. The core reads the
//!    socket itself (`UdpTransport::receive_now`) and sleeps in `poll(2)`
//!    on it and on its doorbell (`driver_kit/core_wake.rs`): a datagram wakes it with
//!    no receiver thread in between.
//! 2. Handle it, then every event and datagram already queued (up to
//!    `BATCH_EVENTS_MAX`): peer messages (decoded by `inbound.rs`, here on
//!    this thread) go to `Member::step`; client requests are gathered and go to
//!    `Member::broadcast` together, as one request batch
//!    (`request_batch.rs`), once the queue is drained and fewer than
//!    `BATCHES_IN_FLIGHT_MAX` of this member's batches are undelivered
//!    (else at a later wake-up: a delivery, a message or the next tick).
//! 3. Flush the batch's output, in the order the protocol requires: send
//!    this member's own new Requests and Sequences (they claim only what
//!    earlier flushes made durable, so they travel while the disk syncs),
//!    append every record and, if `Output::needs_sync` (the batch sends or
//!    delivers anything, or records a `Base`), fsync once (so many requests
//!    share one fsync; a batch that only took in Requests claims nothing
//!    and waits for the next), *then* send the other messages (they claim
//!    what is now durable),
//!    then queue the deliveries for the apply thread, and behind them the
//!    queries whose read barrier is passed; gather the queries the barrier
//!    gave up on into the next broadcast; pass a `snapshot_needed` to the
//!    state-transfer thread.
//! 4. Rewrite the log if it is due, and publish its numbers for `status()`.
//!
//! The loop keeps its own tick (`TickDeadline`): a batch that ends past the
//! deadline calls `Member::tick` once, and an idle loop waits no longer
//! than the deadline. A ticker thread would cost two wake-ups a tick (its
//! own and the core's) where this costs none under load and one when idle;
//! a busy loop misses ticks, as the ticker's gate of one waiting tick made
//! it do (the protocol's timers need ticks to come, not to come on time).
//!
//! A query (`StateMachine::is_query`) is not broadcast: `Member::read`
//! takes it through a read barrier (a round of questions, no log record,
//! no fsync), and the apply thread answers it from the state.
//!
//! A storage failure stops the loop: a member that cannot make its records
//! durable must not send another message claiming them.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use crossbeam_channel::{bounded, Receiver, Sender, TryRecvError};
use log::{debug, error, info};

use crate::driver_kit::{
    count, warn_if_refused, ApplyQueue, ApplyThreadGone, CoreWake, Lifecycle, Reply,
    APPLYING_BEHIND, BATCH_EVENTS_MAX,
};
use crate::sequencer::{Destination, Member, MemberId, Message, ReadId, SequencerError};
use crate::transport::{Datagram, UdpTransport};
use crate::verdict::Verdict;
use crate::wal::WalError;

use super::batch;
use super::catch_up::CatchUp;
use super::events::{ApplyTask, CoreEvent, TransferTask};
use super::image::Image;
use super::inbound::Router;
use super::limits::BATCHES_IN_FLIGHT_MAX;
use super::replies::fail_all;
use super::request_batch::RequestBatch;
use super::status::SharedStatus;
use super::storage::SequencerStorage;
use super::tick_deadline::TickDeadline;

/// Everything the core thread owns.
pub(super) struct CoreLoop<R> {
    pub(super) member: Member,
    pub(super) storage: SequencerStorage,
    pub(super) transport: Arc<UdpTransport>,
    /// Broadcasts, reads and fetched snapshots.
    pub(super) inbox: Receiver<CoreEvent<R>>,
    /// Rung by whoever fills the inbox while the core sleeps.
    pub(super) wake: Arc<CoreWake>,
    /// Where datagrams are read from the socket (`receive_now`).
    pub(super) receive_buffer: Vec<u8>,
    /// Decodes them; hands state-transfer messages on.
    pub(super) router: Router,
    /// Disconnects when the replicator stops.
    pub(super) stop: Receiver<()>,
    /// Deliveries and reply registrations, in order; never blocks the
    /// core (a busy apply thread must not silence this member).
    pub(super) apply: ApplyQueue<ApplyTask<R>>,
    /// Fetch orders for the state-transfer thread.
    pub(super) transfer_tasks: Sender<TransferTask>,
    pub(super) status: Arc<SharedStatus>,
    pub(super) catch_up: CatchUp,
    /// Client requests taken since the last broadcast, with their replies.
    pub(super) requests: RequestBatch<Reply<R>>,
    /// Queries waiting for their read barrier, by the member's read id.
    pub(super) reads: BTreeMap<ReadId, (Vec<u8>, Reply<R>)>,
    /// When `Member::tick` is next due.
    pub(super) tick: TickDeadline,
}

/// One input of the loop.
enum Input<R> {
    Event(CoreEvent<R>),
    Datagram(Datagram),
    /// Nothing came before the tick fell due.
    TickDue,
}

/// Why the loop ended.
enum Halt {
    /// `shutdown`: every batch so far is flushed.
    Stopped,
    /// `crash`: stopped wherever it was.
    Crashed,
    /// The apply thread is gone (it crashed or failed).
    ApplyGone,
    /// A write or fsync failed.
    Storage(WalError),
}

impl From<ApplyThreadGone> for Halt {
    fn from(_: ApplyThreadGone) -> Halt {
        Halt::ApplyGone
    }
}

/// Why a request is refused while the member does not work in a view with
/// a majority.
pub(super) const NOT_WORKING: &str = "not in a working view of the group (a view change is \
     under way, or no majority is heard); try another replica";

impl<R: Send + 'static> CoreLoop<R> {
    /// The thread's body; returns when stopped or failed.
    pub(super) fn run(mut self) {
        let me = self.member.config().id;
        let halt = match self.run_batches() {
            // A clean stop leaves no record unsynced: nothing needs them,
            // but a stopped member's log should not depend on the machine.
            Halt::Stopped => self
                .storage
                .sync()
                .map_or_else(Halt::Storage, |()| Halt::Stopped),
            other => other,
        };
        match halt {
            Halt::Stopped | Halt::Crashed | Halt::ApplyGone => {
                debug!("sequencer {me}: core stopped");
            }
            Halt::Storage(error) => {
                error!("sequencer {me}: storage failed, the replica stops: {error}");
                self.status.fail();
            }
        }
        // Requests still queued are answered now (a `Reply` answers
        // `Unavailable` when dropped), not when the last sender goes.
        while let Ok(event) = self.inbox.try_recv() {
            drop(event);
        }
    }

    fn run_batches(&mut self) -> Halt {
        // A restore may have queued a record (a snapshot ahead of the log).
        if let Err(halt) = self.flush() {
            return halt;
        }
        self.publish();
        loop {
            let first = match self.next_input() {
                Ok(first) => first,
                Err(halt) => return halt,
            };
            if let Err(halt) = self.run_batch(first) {
                return halt;
            }
        }
    }

    /// Step 1: the next input, sleeping for it if there is none.
    fn next_input(&mut self) -> Result<Input<R>, Halt> {
        loop {
            match self.inbox.try_recv() {
                Ok(event) => return Ok(Input::Event(event)),
                Err(TryRecvError::Disconnected) => return Err(Halt::Stopped),
                Err(TryRecvError::Empty) => {}
            }
            if let Some(datagram) = self.receive() {
                return Ok(Input::Datagram(datagram));
            }
            // The stop signal is a disconnection (driver_kit::Threads).
            if !matches!(self.stop.try_recv(), Err(TryRecvError::Empty)) {
                return Err(Halt::Stopped);
            }
            let wait = self.tick.wait(Instant::now());
            if wait.is_zero() {
                return Ok(Input::TickDue);
            }
            // A stop rings no bell: it is seen within a tick.
            self.wake
                .sleep(&self.inbox, self.transport.socket_fd(), wait);
        }
    }

    /// The next datagram waiting on the socket, if any.
    fn receive(&mut self) -> Option<Datagram> {
        self.transport.receive_now(&mut self.receive_buffer)
    }

    /// Steps 2 to 4 of the loop.
    fn run_batch(&mut self, first: Input<R>) -> Result<(), Halt> {
        self.apply.move_on()?;
        self.take(first)?;
        // Both queues in turn, so neither starves the other.
        let mut taken = 1;
        while taken < BATCH_EVENTS_MAX {
            let before = taken;
            if let Ok(event) = self.inbox.try_recv() {
                self.handle(event)?;
                taken += 1;
            }
            if let Some(datagram) = self.receive() {
                self.on_datagram(datagram);
                taken += 1;
            }
            if taken == before {
                break;
            }
        }
        if self.tick.is_due(Instant::now()) {
            self.on_tick();
        }
        if self.member.broadcasts_in_flight() < BATCHES_IN_FLIGHT_MAX {
            self.broadcast_requests()?;
        }
        // What this batch made us hold goes out with its flush, not at the
        // next tick: peers deliver once a majority's watermarks say so.
        self.member.announce_watermark();
        self.flush()?;
        if self.storage.rewrite_due() {
            // Every record taken so far is appended, so the member's
            // persisted state is exactly what the log says (the rewrite
            // syncs it all).
            let state = self.member.persisted_state();
            self.storage.rewrite(&state).map_err(Halt::Storage)?;
            debug!(
                "sequencer {}: log rewritten above {}",
                self.member.config().id,
                state.base.global
            );
        }
        self.publish();
        Ok(())
    }

    fn take(&mut self, input: Input<R>) -> Result<(), Halt> {
        match input {
            Input::Event(event) => self.handle(event),
            Input::Datagram(datagram) => {
                self.on_datagram(datagram);
                Ok(())
            }
            // `run_batch` ticks once the batch is taken.
            Input::TickDue => Ok(()),
        }
    }

    fn handle(&mut self, event: CoreEvent<R>) -> Result<(), Halt> {
        match event {
            CoreEvent::Broadcast { payload, reply } => self.on_request(payload, reply),
            CoreEvent::Read { payload, reply } => self.on_read(payload, reply),
            CoreEvent::SnapshotFetched(image) => self.on_snapshot_fetched(image),
            CoreEvent::Digest(reply) => Ok(self.apply.push(ApplyTask::Digest(reply))?),
        }
    }

    fn on_datagram(&mut self, datagram: Datagram) {
        for (from, message) in self.router.route(datagram) {
            self.on_message(from, message);
        }
    }

    fn on_message(&mut self, from: MemberId, message: Message) {
        let held_up_to = message.watermark.held_up_to;
        match self.member.step(from, message) {
            Ok(verdict @ Verdict::Refused(_)) => warn_if_refused("sequencer", from, &verdict),
            // Only a message the protocol accepted may move the catch-up
            // target: a garbage watermark could hold the gate shut forever.
            Ok(_) => self.catch_up.on_watermark(from, held_up_to),
            Err(refused) => {
                count(&self.status.invalid_messages, 1);
                debug!("sequencer: message from {from} refused: {refused}");
            }
        }
    }

    fn on_tick(&mut self) {
        // The apply thread's durable snapshot lets the protocol forget
        // history up to it (never beyond what was delivered here).
        let durable = self
            .status
            .applied_durably()
            .min(self.member.delivered_up_to());
        self.member.applied_durably(durable);
        self.member.tick();
        if !self.member.is_serving() && !self.requests.is_empty() {
            // Gathered requests wait for this member's batch in flight,
            // which a member outside a working view may never deliver. They
            // were never broadcast, so failing them changes nothing: the
            // frontend retries at another member at once.
            let (_, replies) = self.requests.take();
            fail_all(replies, NOT_WORKING);
        }
    }

    /// Gathers a client request into the batch, broadcasting the batch
    /// first if the request would not fit in it.
    fn on_request(&mut self, payload: Vec<u8>, reply: Reply<R>) -> Result<(), Halt> {
        if self.apply.is_behind() {
            reply.fail(APPLYING_BEHIND);
            return Ok(());
        }
        let payload_bytes_max = self.member.config().payload_bytes_max;
        if self.requests.is_full_for(&payload, payload_bytes_max) {
            self.broadcast_requests()?;
        }
        self.requests.push(payload, reply);
        Ok(())
    }

    /// Takes a query through the member's read barrier; one the barrier
    /// cannot take (too many wait) is ordered like a write instead.
    fn on_read(&mut self, payload: Vec<u8>, reply: Reply<R>) -> Result<(), Halt> {
        if self.apply.is_behind() {
            reply.fail(APPLYING_BEHIND);
            return Ok(());
        }
        match self.member.read() {
            Ok(read) => {
                self.reads.insert(read, (payload, reply));
                Ok(())
            }
            Err(SequencerError::TooManyReads { .. }) => self.order_read(payload, reply),
            Err(_) => {
                reply.fail(NOT_WORKING);
                Ok(())
            }
        }
    }

    /// Orders a query as a write would be: broadcast, and answered when
    /// delivered here.
    fn order_read(&mut self, payload: Vec<u8>, reply: Reply<R>) -> Result<(), Halt> {
        count(&self.status.reads_ordered, 1);
        self.on_request(payload, reply)
    }

    /// Broadcasts the gathered requests as one batch, if there are any.
    fn broadcast_requests(&mut self) -> Result<(), Halt> {
        if self.requests.is_empty() {
            return Ok(());
        }
        let (payload, replies) = self.requests.take();
        match self.member.broadcast(payload) {
            // Queued before the batch's deliveries, so the apply thread
            // knows the replies before it can see the delivery.
            Ok(local_seq) => self
                .apply
                .push(ApplyTask::Expect { local_seq, replies })
                .map_err(Halt::from),
            Err(refused) => {
                fail_all(replies, &refused.to_string());
                Ok(())
            }
        }
    }

    /// Installs a fetched snapshot: first the application state (durable,
    /// by the apply thread), then the protocol's `install_snapshot`, whose
    /// `Base` record is persisted by the next flush.
    fn on_snapshot_fetched(&mut self, image: Arc<Image>) -> Result<(), Halt> {
        // Deliveries taken so far must reach the apply queue before the
        // install, so that the apply thread is exactly at `delivered`. And
        // every record appended must be durable before the image is: the
        // log's durable part never lags a change made outside it
        // (docs/SEQUENCER.md, section 3.1).
        self.flush()?;
        self.storage.sync().map_err(Halt::Storage)?;
        let point = image.point.clone();
        let members = usize::from(self.member.config().members);
        if point.global <= self.member.delivered_up_to() || point.delivered_local.len() != members {
            debug!("sequencer: fetched snapshot at {} is stale", point.global);
            return Ok(());
        }
        let (done, installed) = bounded(1);
        let task = ApplyTask::Install { image, done };
        self.apply.push(task)?;
        // The core waits for the install below, so everything before it
        // must reach the apply thread now.
        self.apply.hand_over_all()?;
        if !installed.recv().map_err(|_| Halt::ApplyGone)? {
            return Ok(());
        }
        info!("sequencer: installed a snapshot at {}", point.global);
        self.member
            .install_snapshot(point)
            .expect("a snapshot ahead of delivered, for this group, installs");
        count(&self.status.transfers_installed, 1);
        Ok(())
    }

    /// Step 3: send this member's own new Requests, persist, then send the
    /// rest, then hand deliveries on.
    fn flush(&mut self) -> Result<(), Halt> {
        let output = self.member.take_output();
        let sync = output.needs_sync();
        if self.status.lifecycle.is_crashing() {
            return Err(Halt::Crashed);
        }
        // They claim only what earlier flushes made durable, and a restart
        // never reuses their names nor assigns in their view again
        // (docs/SEQUENCER.md, 5.8 and 5.10): their journey overlaps this
        // fsync.
        self.send(output.early_messages);
        if self.status.lifecycle.is_crashing() {
            return Err(Halt::Crashed);
        }
        self.storage
            .append(&output.to_persist)
            .map_err(Halt::Storage)?;
        if sync {
            self.storage.sync().map_err(Halt::Storage)?;
        }
        if self.status.lifecycle.is_crashing() {
            // Killed between the fsync and the sends: nothing is claimed
            // that is not durable, which is all the protocol needs.
            return Err(Halt::Crashed);
        }
        self.send(output.messages);
        for delivery in output.deliveries {
            let task = ApplyTask::Deliver(delivery);
            self.apply.push(task)?;
        }
        // Behind the deliveries they wait for.
        for read in output.reads_ready {
            if let Some((payload, reply)) = self.reads.remove(&read) {
                self.apply.push(ApplyTask::Query { payload, reply })?;
            }
        }
        for read in output.reads_abandoned {
            if let Some((payload, reply)) = self.reads.remove(&read) {
                self.order_read(payload, reply)?;
            }
        }
        if let Some(needed) = output.snapshot_needed {
            // A full inbox loses the order; the next `Compacted` answer
            // raises it again.
            if self
                .transfer_tasks
                .try_send(TransferTask::Fetch(needed))
                .is_err()
            {
                count(&self.status.inbox_full_drops, 1);
            }
        }
        Ok(())
    }

    /// Sends the flush's messages, each peer's packed into as few datagrams
    /// as fit (`batch.rs`), in the order the member produced them.
    fn send(&self, messages: Vec<(Destination, Message)>) {
        let config = self.member.config();
        let mut per_peer: Vec<Vec<Vec<u8>>> = vec![Vec::new(); usize::from(config.members)];
        for (destination, message) in messages {
            let bytes = message.encode();
            match destination {
                Destination::Member(peer) => {
                    if let Some(queue) = per_peer.get_mut(peer.index()) {
                        queue.push(bytes);
                    }
                }
                Destination::All => {
                    for (index, queue) in per_peer.iter_mut().enumerate() {
                        if index != config.id.index() {
                            queue.push(bytes.clone());
                        }
                    }
                }
            }
        }
        for (peer, queue) in per_peer.into_iter().enumerate() {
            for datagram in batch::pack(queue) {
                // Only a bug can make this fail: payloads are bounded below
                // the datagram size, and peers are the group's members.
                if let Err(refused) = self.transport.send_now(peer, &datagram) {
                    error!("sequencer {}: cannot send to {peer}: {refused}", config.id);
                }
            }
        }
    }

    /// Step 4: numbers for `status()`, and the catch-up gate.
    fn publish(&mut self) {
        let status = self.member.status();
        self.status.publish_member(&status);
        self.status.publish_view(&status, self.member.is_serving());
        // A member recovering an empty disk has nothing to catch up to yet.
        let serving = !status.recovering && self.catch_up.check(status.delivered_up_to);
        let running = self.status.lifecycle.get() == Lifecycle::Running;
        if serving && running && !self.status.is_serving() {
            info!(
                "sequencer {}: caught up at {}; taking requests",
                status.id, status.delivered_up_to
            );
            self.status.set_serving(true);
        }
    }
}
