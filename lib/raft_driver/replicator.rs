//! [`RaftReplicator`]: Raft as a `Replicator<S>` for any state machine `S`.
//! It recovers from the data directory, starts the threads (see mod.rs),
//! takes requests in `submit`, and reports in `status` and `digest`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Sender, TrySendError};

use crate::driver_kit::{
    count, ApplyQueue, CoreInbox, Driver, Lifecycle, Queues, Reply, RunningCell, SnapshotSchedule,
    SnapshotWriter, Threads, Ticker, CORE_INBOX_MAX, OVERLOADED,
};
use crate::raft::Role;
use crate::replication::{ReplicaStatus, Replicator, ReplyTo, StateDigest, StateMachine};
use crate::transport::{receive_buffer, FaultSwitch, Receiving, UdpTransport};

use super::apply_loop::ApplyLoop;
use super::core_loop::{CoreLoop, TickClock};
use super::errors::DriverError;
use super::events::{ApplyTask, CoreEvent};
use super::limits::{APPLY_QUEUE_MAX, DIGEST_WAIT_MAX};
use super::options::RaftOptions;
use super::recovery::{self, Recovered};
use super::replies::{pending_proposals, PendingReads};
use super::status::{DriverStatus, SharedStatus};

/// One replica of a Raft-replicated database, as a [`Replicator`].
///
/// Start it with [`RaftReplicator::start`]; stop it with
/// [`RaftReplicator::shutdown`] (or [`RaftReplicator::crash`] in tests).
/// Dropping it without either stops the threads as a crash does.
pub struct RaftReplicator<S: StateMachine> {
    index: usize,
    reply_timeout: Duration,
    faults: FaultSwitch,
    inbox: CoreInbox<CoreEvent<S>>,
    status: Arc<SharedStatus>,
    /// Holds the apply queue's sender for `digest`; a stop drops it first,
    /// so that the apply thread sees its queue disconnect once the core is
    /// gone too.
    running: RunningCell<Sender<ApplyTask<S>>>,
    local_addr: SocketAddr,
}

/// The driver's two queues, and the core's doorbell.
type Channels<S> = Queues<CoreEvent<S>, ApplyTask<S>>;

impl<S: StateMachine> Driver for RaftReplicator<S> {
    type State = S;
    type Options = RaftOptions;
    type Recovered = Recovered<S>;
    /// The core waits on the socket itself (`driver_kit/core_wake.rs`).
    const RECEIVING: Receiving = Receiving::Caller;

    /// A fresh seed per start: two replicas restarted together must not
    /// draw the same election timeouts.
    fn recover(options: &RaftOptions, initial_state: S) -> Result<Recovered<S>, DriverError> {
        recovery::recover(options, initial_state, rand::random())
    }

    fn start_threads(
        options: &RaftOptions,
        recovered: Recovered<S>,
        transport: Arc<UdpTransport>,
    ) -> Result<Self, DriverError> {
        let status = Arc::new(SharedStatus::new(
            recovered.node.status(),
            recovered.applied.index.0,
            recovered.report,
        ));
        let channels = Channels::new(CORE_INBOX_MAX, APPLY_QUEUE_MAX)
            .map_err(DriverError::io("make the core's doorbell"))?;
        let inbox = channels.core_inbox();
        let apply_tasks = channels.apply.0.clone();
        let threads = spawn_threads(options, recovered, &transport, &status, channels)?;
        Ok(RaftReplicator {
            local_addr: transport.local_addr(),
            index: options.replica.index,
            reply_timeout: options.replica.reply_timeout,
            faults: options.replica.faults.clone(),
            inbox,
            status,
            running: RunningCell::new(threads, transport, apply_tasks),
        })
    }

    /// The core finishes its batch, the apply thread applies everything
    /// handed to it and writes a last snapshot (unless it is a crash).
    fn stop(&self, crash: bool) {
        let who = format!("raft {}", self.index);
        self.running.stop(&self.status.lifecycle, crash, &who);
    }
}

impl<S: StateMachine> RaftReplicator<S> {
    /// Role, indexes and counters, in more detail than `status`.
    pub fn driver_status(&self) -> DriverStatus {
        self.status.status(self.running.transport_stats())
    }

    /// The address the replica's socket is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The event that carries `request` to the core: a ReadIndex read for a
    /// query, a proposal otherwise.
    fn event_for(&self, request: S::Request, reply: Reply<S::Result>) -> Option<CoreEvent<S>> {
        let deadline = Instant::now() + self.reply_timeout;
        if S::is_query(&request) {
            return Some(CoreEvent::Read {
                request,
                reply,
                deadline,
            });
        }
        CoreEvent::proposal(&request, reply, deadline)
    }
}

impl<S: StateMachine> Replicator<S> for RaftReplicator<S> {
    /// Hands the request to the core thread if this replica leads; answers
    /// `NotLeader` (naming the leader if known) at once if not. `reply` is
    /// called exactly once: with the state machine's result once the write
    /// is committed and applied here (or the read confirmed and the state
    /// caught up), with `NotLeader` if this replica stops leading first, or
    /// with `Unavailable` (overloaded, timed out, stopped).
    fn submit(&self, request: S::Request, reply: ReplyTo<S::Result>) {
        let reply = Reply::new(reply);
        // Held until the request is queued; see `LifecycleCell::admit`.
        let lifecycle = self.status.lifecycle.admit();
        match *lifecycle {
            Lifecycle::Running => {}
            Lifecycle::Failed => return reply.fail("the replica's storage failed"),
            Lifecycle::Stopping | Lifecycle::Stopped => {
                return reply.fail("the replica is shutting down")
            }
        }
        let node = self.status.node();
        if node.role != Role::Leader {
            return reply.redirect(node.leader.map(|leader| leader.0));
        }
        let Some(event) = self.event_for(request, reply) else {
            return;
        };
        match self.inbox.try_send(event) {
            Ok(()) => {}
            Err(TrySendError::Full(event)) => {
                count(&self.status.counters.submissions_refused, 1);
                if let CoreEvent::Propose { reply, .. } | CoreEvent::Read { reply, .. } = event {
                    reply.fail(OVERLOADED);
                }
            }
            // The core is gone: the event's reply answers as it drops.
            Err(TrySendError::Disconnected(_)) => {}
        }
        drop(lifecycle);
    }

    fn status(&self) -> ReplicaStatus {
        let status = self.status.status(None);
        let role = match status.lifecycle {
            Lifecycle::Running => status.node.role.to_string(),
            Lifecycle::Stopping | Lifecycle::Stopped => "stopped".into(),
            Lifecycle::Failed => "failed".into(),
        };
        ReplicaStatus {
            protocol: "raft".into(),
            index: self.index,
            role,
            term: status.node.term.0,
            leader: status.node.leader.map(|leader| leader.0),
            commit_index: status.node.commit.0,
            applied_index: status.applied.0,
            contradictions: status.node.counters.contradictions,
            ..ReplicaStatus::default()
        }
    }

    /// The applied index and the crc32 of the state machine's snapshot
    /// bytes, computed by the apply thread between two entries (so the two
    /// always match). The default (zeros) once stopped.
    fn digest(&self) -> StateDigest {
        let Some(apply_tasks) = self.running.with(|running| running.held.clone()) else {
            return StateDigest::default();
        };
        let (answer, digest) = bounded(1);
        if apply_tasks
            .send_timeout(ApplyTask::Digest(answer), DIGEST_WAIT_MAX)
            .is_err()
        {
            return StateDigest::default();
        }
        digest.recv_timeout(DIGEST_WAIT_MAX).unwrap_or_default()
    }

    fn fault_switch(&self) -> Option<FaultSwitch> {
        Some(self.faults.clone())
    }
}

impl<S: StateMachine> Drop for RaftReplicator<S> {
    fn drop(&mut self) {
        self.stop(true);
    }
}

/// Builds each thread's state and starts the threads, consumers first.
fn spawn_threads<S: StateMachine>(
    options: &RaftOptions,
    recovered: Recovered<S>,
    transport: &Arc<UdpTransport>,
    status: &Arc<SharedStatus>,
    channels: Channels<S>,
) -> Result<Threads, DriverError> {
    let (mut threads, stop) = Threads::new();
    let incarnation: u64 = rand::random();
    // Producers' ends of the core inbox, before the channels come apart.
    let (apply_inbox, ticker_inbox) = (channels.core_inbox(), channels.core_inbox());
    let writer = SnapshotWriter::spawn(&mut threads, "raft-snapshot-writer", recovered.snapshots)?;
    let apply = ApplyLoop {
        me: recovered.node.id(),
        incarnation,
        state: recovered.state,
        applied: recovered.applied,
        snapshot_index: recovered.applied.index.0,
        snapshot_schedule: SnapshotSchedule::new(
            options.snapshot_every_entries,
            (options.replica.index, options.replica.peers.len()),
            recovered.applied.index.0,
            recovered.snapshot_bytes,
        ),
        writer,
        tasks: channels.apply.1,
        core_inbox: apply_inbox,
        stop: stop.clone(),
        status: Arc::clone(status),
        proposals: pending_proposals(),
        reads: PendingReads::default(),
        unsent_compaction: None,
    };
    threads.spawn("raft-apply", move || apply.run())?;
    let core = CoreLoop {
        node: recovered.node,
        storage: recovered.storage,
        transport: Arc::clone(transport),
        inbox: channels.core.1,
        wake: channels.wake,
        receive_buffer: receive_buffer(),
        apply: ApplyQueue::new(channels.apply.0, APPLY_QUEUE_MAX),
        stop: stop.clone(),
        status: Arc::clone(status),
        incarnation,
        proposals: 0,
        reads: 0,
        leading_in: None,
        // Before the ticker starts: the node's clock never runs ahead.
        clock: TickClock {
            origin: Instant::now(),
            tick: options.replica.tick,
        },
    };
    threads.spawn("raft-core", move || core.run())?;
    let ticker = Ticker {
        interval: options.replica.tick,
        inbox: ticker_inbox,
        tick: || CoreEvent::Tick,
        gate: Arc::clone(&status.tick_gate),
        dropped: Arc::clone(&status.counters.ticks_dropped),
    };
    threads.spawn("raft-ticker", move || ticker.run(stop))?;
    Ok(threads)
}
