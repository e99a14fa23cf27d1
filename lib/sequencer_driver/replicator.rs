//! [`SequencerReplicator`]: the rotating-sequencer broadcast as a
//! `Replicator<S>` for any state machine `S`. It starts the threads (see
//! mod.rs), takes requests in `submit`, and reports in `status`.

use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crossbeam_channel::{bounded, Receiver, Sender, TrySendError};

use crate::driver_kit::{
    count, ApplyQueue, CoreInbox, Driver, Lifecycle, Queues, Reply, RunningCell, SnapshotSchedule,
    SnapshotWriter, Threads, CORE_INBOX_MAX, OVERLOADED,
};
use crate::replication::{
    ReplicaStatus, Replicator, ReplyTo, StateDigest, StateMachine, ViewSummary,
};
use crate::transport::{receive_buffer, FaultSwitch, Receiving, UdpTransport};

use super::apply_loop::ApplyLoop;
use super::catch_up::CatchUp;
use super::core_loop::CoreLoop;
use super::core_loop::NOT_WORKING;
use super::errors::DriverError;
use super::events::{ApplyTask, CoreEvent, TransferTask};
use super::image::LatestImage;
use super::inbound::Router;
use super::limits::{APPLY_QUEUE_MAX, DIGEST_WAIT_MAX, TRANSFER_INBOX_MAX};
use super::options::SequencerOptions;
use super::recovery::{self, Recovered};
use super::replies::pending_broadcasts;
use super::request_batch::{self, RequestBatch};
use super::state_transfer::StateTransfer;
use super::status::{DriverStatus, SharedStatus};
use super::tick_deadline::TickDeadline;
use super::transfer_serve::Server;

/// One member of the customer DB's sequencer group, as a [`Replicator`].
///
/// Start it with [`SequencerReplicator::start`]; stop it with
/// [`SequencerReplicator::shutdown`] (or [`SequencerReplicator::crash`] in
/// tests). Dropping it without either stops the threads as a crash does.
pub struct SequencerReplicator<S: StateMachine> {
    index: usize,
    /// The largest encoded request `submit` takes.
    request_bytes_max: usize,
    inbox: CoreInbox<CoreEvent<S::Result>>,
    status: Arc<SharedStatus>,
    running: RunningCell<()>,
    local_addr: SocketAddr,
    faults: FaultSwitch,
    _state: PhantomData<fn() -> S>,
}

/// The channels between the threads: the two every driver has (with the
/// core's doorbell), and the state-transfer thread's inbox.
struct Channels<R> {
    queues: Queues<CoreEvent<R>, ApplyTask<R>>,
    transfer: (Sender<TransferTask>, Receiver<TransferTask>),
}

impl<S: StateMachine> Driver for SequencerReplicator<S> {
    type State = S;
    type Options = SequencerOptions;
    type Recovered = Recovered<S>;
    /// The core waits on the socket itself (`driver_kit/core_wake.rs`).
    const RECEIVING: Receiving = Receiving::Caller;

    fn recover(options: &SequencerOptions, initial_state: S) -> Result<Recovered<S>, DriverError> {
        recovery::recover(options, initial_state)
    }

    fn start_threads(
        options: &SequencerOptions,
        recovered: Recovered<S>,
        transport: Arc<UdpTransport>,
    ) -> Result<Self, DriverError> {
        let status = Arc::new(SharedStatus::new(recovered.applied.global));
        // A request travels inside a request batch, whose header counts too.
        let request_bytes_max =
            request_batch::request_bytes_max(recovered.member.config().payload_bytes_max);
        let queues = Queues::new(CORE_INBOX_MAX, APPLY_QUEUE_MAX)
            .map_err(DriverError::io("make the core's doorbell"))?;
        let channels = Channels {
            queues,
            transfer: bounded(TRANSFER_INBOX_MAX),
        };
        let inbox = channels.queues.core_inbox();
        let threads = spawn_threads(options, recovered, &transport, &status, channels)?;
        Ok(SequencerReplicator {
            local_addr: transport.local_addr(),
            index: options.replica.index,
            request_bytes_max,
            inbox,
            status,
            running: RunningCell::new(threads, transport, ()),
            faults: options.replica.faults.clone(),
            _state: PhantomData,
        })
    }

    /// The deliveries already taken are applied and a last snapshot is
    /// written (unless it is a crash); the member then stops serving.
    fn stop(&self, crash: bool) {
        let who = format!("sequencer {}", self.index);
        if self.running.stop(&self.status.lifecycle, crash, &who) {
            self.status.set_serving(false);
        }
    }
}

impl<S: StateMachine> SequencerReplicator<S> {
    /// How far it got, and its counters.
    pub fn driver_status(&self) -> DriverStatus {
        self.status.status(self.running.transport_stats())
    }

    /// The address the member's socket is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Why `submit` refuses now, if it does.
    fn refusal(&self) -> Option<&'static str> {
        if self.status.takes_requests() {
            return None;
        }
        Some(match self.status.lifecycle.get() {
            Lifecycle::Running if self.status.is_serving() => NOT_WORKING,
            Lifecycle::Running => "catching up with the group; try another replica",
            Lifecycle::Stopping | Lifecycle::Stopped => "the replica is shutting down",
            Lifecycle::Failed => "the replica's storage failed",
        })
    }
}

impl<S: StateMachine> Replicator<S> for SequencerReplicator<S> {
    /// Encodes the request (`S::encode_request`) and hands it to the core
    /// thread, which broadcasts it. `reply` is called exactly once: with the state
    /// machine's result when this replica delivers the request, or with
    /// `Unavailable` (not serving yet, overloaded, too large, timed out,
    /// stopped).
    fn submit(&self, request: S::Request, reply: ReplyTo<S::Result>) {
        let reply = Reply::new(reply);
        if let Some(why) = self.refusal() {
            return reply.fail(why);
        }
        let payload = match S::encode_request(&request) {
            Ok(payload) => payload,
            Err(error) => return reply.fail(format!("the request does not encode: {error}")),
        };
        if payload.len() > self.request_bytes_max {
            let (len, max) = (payload.len(), self.request_bytes_max);
            return reply.fail(format!("a request of {len} bytes exceeds {max}"));
        }
        let event = if S::is_query(&request) {
            CoreEvent::Read { payload, reply }
        } else {
            CoreEvent::Broadcast { payload, reply }
        };
        match self.inbox.try_send(event) {
            Ok(()) => {}
            Err(TrySendError::Full(event)) => {
                count(&self.status.inbox_full_drops, 1);
                if let CoreEvent::Broadcast { reply, .. } | CoreEvent::Read { reply, .. } = event {
                    reply.fail(OVERLOADED);
                }
            }
            // The core is gone: the event's reply answers as it drops.
            Err(TrySendError::Disconnected(_)) => {}
        }
    }

    /// Asks the apply thread (through the core, behind the deliveries
    /// handed over so far) for its applied number and the crc of its
    /// state's snapshot bytes. A stopped or unresponsive replica (no answer
    /// within `DIGEST_WAIT_MAX`) reports the default, applied index 0.
    fn digest(&self) -> StateDigest {
        let (reply, answer) = bounded(1);
        if self.inbox.try_send(CoreEvent::Digest(reply)).is_err() {
            return StateDigest::default();
        }
        answer.recv_timeout(DIGEST_WAIT_MAX).unwrap_or_default()
    }

    /// The switch that makes this replica's UDP transport drop packets.
    fn fault_switch(&self) -> Option<FaultSwitch> {
        Some(self.faults.clone())
    }

    fn status(&self) -> ReplicaStatus {
        replica_status(&self.status.status(None), self.index)
    }
}

impl<S: StateMachine> Drop for SequencerReplicator<S> {
    fn drop(&mut self) {
        self.stop(true);
    }
}

/// What cluster-status shows of member `me`, whose driver reports `status`.
pub(super) fn replica_status(status: &DriverStatus, me: usize) -> ReplicaStatus {
    let role = match (status.lifecycle, status.serving) {
        (Lifecycle::Running, _) if status.view.recovering_disk => "disk-recovery",
        (Lifecycle::Running, true) if !status.view.working => "view-change",
        (Lifecycle::Running, true) => "member",
        (Lifecycle::Running, false) => "recovering",
        (Lifecycle::Stopping | Lifecycle::Stopped, _) => "stopped",
        (Lifecycle::Failed, _) => "failed",
    };
    ReplicaStatus {
        protocol: "sequencer".into(),
        index: me,
        role: role.into(),
        term: 0,
        leader: None,
        commit_index: status.delivered,
        applied_index: status.applied,
        next_global: status.next_global,
        delivered: status.delivered,
        view: Some(view_summary(status, me)),
        contradictions: status.view.counters.contradictions,
    }
}

/// The view part of cluster-status.
fn view_summary(status: &DriverStatus, me: usize) -> ViewSummary {
    let view = &status.view;
    let counters = &view.counters;
    ViewSummary {
        number: view.number,
        members: view.installed.members.iter().map(|m| m.index()).collect(),
        in_view: view.installed.members.iter().any(|m| m.index() == me),
        changing: view.changing,
        turn: view.turn.map(|m| m.index()),
        suspicions: counters.suspicions,
        view_changes: counters.view_changes,
        rejoins: counters.rejoins,
        incarnation: view.incarnation,
        retransmits_pending: status.missing,
        drops: counters.other_view_drops
            + counters.contradictions
            + status.malformed_datagrams
            + status.invalid_messages
            + status.inbox_full_drops,
    }
}

/// Builds each thread's state and starts the threads, consumers first.
fn spawn_threads<S: StateMachine>(
    options: &SequencerOptions,
    recovered: Recovered<S>,
    transport: &Arc<UdpTransport>,
    status: &Arc<SharedStatus>,
    channels: Channels<S::Result>,
) -> Result<Threads, DriverError> {
    let (me, members) = (options.member_id(), options.members());
    let (mut threads, stop) = Threads::new();
    let snapshot_schedule = snapshot_schedule(options, &recovered);
    let latest = LatestImage::holding(recovered.image);
    let held_at_start = recovered.member.status().held_up_to;
    let snapshots = Arc::new(Mutex::new(recovered.snapshots));
    let writer = SnapshotWriter::spawn(
        &mut threads,
        "sequencer-snapshot-writer",
        Arc::clone(&snapshots),
    )?;
    let apply_inbox = channels.queues.core_inbox(); // before the channels come apart
    let transfer_inbox = channels.queues.core_inbox();
    let apply = ApplyLoop {
        me,
        state: recovered.state,
        snapshot_at: recovered.applied.clone(),
        snapshot_schedule,
        applied: recovered.applied,
        snapshot_wanted: None,
        writer,
        snapshots,
        latest: latest.clone(),
        pending: pending_broadcasts(),
        reply_timeout: options.replica.reply_timeout,
        tasks: channels.queues.apply.1,
        core_inbox: apply_inbox,
        status: Arc::clone(status),
    };
    threads.spawn("sequencer-apply", move || apply.run())?;
    let core = CoreLoop {
        member: recovered.member,
        storage: recovered.storage,
        transport: Arc::clone(transport),
        inbox: channels.queues.core.1,
        wake: Arc::clone(&channels.queues.wake),
        receive_buffer: receive_buffer(),
        router: Router {
            me,
            transfer_inbox: channels.transfer.0.clone(),
            status: Arc::clone(status),
        },
        stop: stop.clone(),
        apply: ApplyQueue::new(channels.queues.apply.0, APPLY_QUEUE_MAX),
        transfer_tasks: channels.transfer.0.clone(),
        status: Arc::clone(status),
        catch_up: CatchUp::new(members, me, held_at_start),
        requests: RequestBatch::new(),
        reads: BTreeMap::new(),
        tick: TickDeadline::new(options.replica.tick, Instant::now()),
    };
    threads.spawn("sequencer-core", move || core.run())?;
    let last_channels = (channels.transfer.1, transfer_inbox);
    spawn_transfer(
        &mut threads,
        options,
        (transport, status),
        latest,
        last_channels,
        stop,
    )?;
    Ok(threads)
}

/// When this member snapshots, starting from the snapshot it recovered.
fn snapshot_schedule<S>(options: &SequencerOptions, recovered: &Recovered<S>) -> SnapshotSchedule {
    let members = (options.replica.index, options.replica.peers.len());
    let bytes = recovered
        .image
        .as_ref()
        .map_or(0, |image| image.bytes.len());
    let index = recovered.applied.global.0;
    SnapshotSchedule::new(options.snapshot_every, members, index, bytes as u64)
}

/// Starts the last thread: state transfer, which fetches an image when the
/// core asks for one (`inbox`), hands it to the core (`core_inbox`) and
/// serves `latest` to peers that ask.
fn spawn_transfer<R: Send + 'static>(
    threads: &mut Threads,
    options: &SequencerOptions,
    (transport, status): (&Arc<UdpTransport>, &Arc<SharedStatus>),
    latest: LatestImage,
    (inbox, core_inbox): (Receiver<TransferTask>, CoreInbox<CoreEvent<R>>),
    stop: Receiver<()>,
) -> Result<(), DriverError> {
    let members = options.members();
    let transfer = StateTransfer {
        me: options.member_id(),
        members,
        transport: Arc::clone(transport),
        inbox,
        core_inbox,
        stop,
        latest,
        status: Arc::clone(status),
        fetch: None,
        server: Server::new(members),
    };
    threads.spawn("state-transfer", move || transfer.run())
}
