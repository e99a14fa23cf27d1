//! [`RaftReplicator`]: Raft as a `Replicator<S>` for any state machine `S`.
//! It recovers from the data directory, starts the threads (see mod.rs),
//! takes requests in `submit`, and reports in `status` and `digest`.

use std::net::{SocketAddr, UdpSocket};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Receiver, Sender, TrySendError};
use log::info;

use crate::raft::Role;
use crate::replication::{
    ApplyQueue, ReplicaStatus, Replicator, ReplyTo, SnapshotSchedule, StateDigest, StateMachine,
    Ticker, OVERLOADED,
};
use crate::transport::{FaultSwitch, UdpTransport};

use super::apply::ApplyLoop;
use super::errors::DriverError;
use super::event_loop::{CoreLoop, TickClock};
use super::events::{ApplyTask, CoreEvent};
use super::limits::{APPLY_QUEUE_MAX, CORE_INBOX_MAX, DIGEST_WAIT_MAX};
use super::options::RaftOptions;
use super::proposals::{PendingProposals, PendingReads, Reply};
use super::receiver::UdpReceiver;
use super::recovery::{recover, Recovered};
use super::status::{count, DriverStatus, Lifecycle, SharedStatus};
use super::threads::Threads;

/// One replica of a Raft-replicated database, as a [`Replicator`].
///
/// Start it with [`RaftReplicator::start`]; stop it with
/// [`RaftReplicator::shutdown`] (or [`RaftReplicator::crash`] in tests).
/// Dropping it without either stops the threads as a crash does.
pub struct RaftReplicator<S: StateMachine> {
    index: usize,
    reply_timeout: Duration,
    faults: FaultSwitch,
    inbox: Sender<CoreEvent<S>>,
    status: Arc<SharedStatus>,
    running: Mutex<Option<Running<S>>>,
    local_addr: SocketAddr,
}

/// What a stop takes down.
struct Running<S: StateMachine> {
    threads: Threads,
    transport: Arc<UdpTransport>,
    /// For `digest`; dropped first at a stop, so that the apply thread
    /// sees its queue disconnect once the core is gone too.
    apply_tasks: Sender<ApplyTask<S>>,
}

/// The driver's two queues, made in one place.
struct Channels<S: StateMachine> {
    core: (Sender<CoreEvent<S>>, Receiver<CoreEvent<S>>),
    apply: (Sender<ApplyTask<S>>, Receiver<ApplyTask<S>>),
}

impl<S: StateMachine> RaftReplicator<S> {
    /// Binds `options.peers[options.index]`, recovers from
    /// `options.data_dir` (or starts from `initial_state` when it holds no
    /// snapshot), and starts the threads. The replica starts as a follower
    /// and re-applies the committed entries its log holds.
    ///
    /// # Errors
    /// Bad options, a data directory that does not recover, a socket or a
    /// thread that cannot be had.
    pub fn start(options: RaftOptions, initial_state: S) -> Result<Self, DriverError> {
        options.validate()?;
        let address = options.peers[options.index].bind_address();
        let socket = UdpSocket::bind(address)
            .map_err(|error| crate::config::bind_error("UDP", address, error))
            .map_err(DriverError::io(format!("bind {address}")))?;
        Self::start_on(socket, options, initial_state)
    }

    /// Like [`RaftReplicator::start`], over a socket bound already (tests
    /// bind port 0 first and build the peer list from the ports they got).
    ///
    /// # Errors
    /// As for `start`.
    pub fn start_on(
        socket: UdpSocket,
        options: RaftOptions,
        initial_state: S,
    ) -> Result<Self, DriverError> {
        options.validate()?;
        // A fresh seed per start: two replicas restarted together must not
        // draw the same election timeouts.
        let recovered = recover(&options, initial_state, rand::random())?;
        let transport = UdpTransport::from_socket(
            socket,
            options.index,
            options.peers.clone(),
            options.faults.clone(),
        )
        .map_err(DriverError::io("start the UDP transport"))?;
        let transport = Arc::new(transport);
        let local_addr = transport.local_addr();
        let status = Arc::new(SharedStatus::new(
            recovered.node.status(),
            recovered.applied.index.0,
            recovered.report,
        ));
        let channels = Channels {
            core: bounded(CORE_INBOX_MAX),
            apply: bounded(APPLY_QUEUE_MAX),
        };
        let inbox = channels.core.0.clone();
        let apply_tasks = channels.apply.0.clone();
        let threads = spawn_threads(&options, recovered, &transport, &status, channels)?;
        let own = &options.peers[options.index];
        let bound = match own.name() {
            Some(_) => own.describe_binding(),
            None => local_addr.to_string(),
        };
        info!("raft {}: started on {bound}", options.index);
        Ok(RaftReplicator {
            index: options.index,
            reply_timeout: options.reply_timeout,
            faults: options.faults,
            inbox,
            status,
            running: Mutex::new(Some(Running {
                threads,
                transport,
                apply_tasks,
            })),
            local_addr,
        })
    }

    /// Stops cleanly: the core finishes its batch, the apply thread applies
    /// everything handed to it and writes a last snapshot, every request
    /// still waiting is answered `Unavailable`, and the threads and the
    /// socket are gone when it returns. Everything Raft acknowledged was
    /// fsynced before, so a restart from the data directory loses nothing.
    pub fn shutdown(&self) {
        self.stop(false);
    }

    /// Stops as `kill -9` would, for tests: the threads stop wherever they
    /// are, with no last apply and no last snapshot. Writes already made
    /// stay (a killed process keeps its page cache); give the options a
    /// `wal::FaultyFileSystem` and crash it first to cut the disk off too.
    pub fn crash(&self) {
        self.stop(true);
    }

    /// Role, indexes and counters, in more detail than `status`.
    pub fn driver_status(&self) -> DriverStatus {
        let transport = self.lock_running().as_ref().map(|r| r.transport.stats());
        self.status.status(transport)
    }

    /// The address the replica's socket is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    fn stop(&self, crash: bool) {
        let Some(mut running) = self.lock_running().take() else {
            return;
        };
        if crash {
            self.status.set_crashing();
        }
        self.status.set_lifecycle(Lifecycle::Stopping);
        drop(running.apply_tasks);
        running.threads.stop_and_join();
        // The last handle: dropping it joins the UDP threads and closes the
        // socket, so that a restart may bind the same address at once.
        drop(running.transport);
        self.status.set_lifecycle(Lifecycle::Stopped);
        info!("raft {}: stopped", self.index);
    }

    fn lock_running(&self) -> MutexGuard<'_, Option<Running<S>>> {
        // Held only to take or read the handles; a panic there leaves them whole.
        self.running
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The event that carries `request` to the core: a ReadIndex read for a
    /// read-only request, a proposal (the request as `S::encode_request`
    /// writes it) otherwise.
    fn event_for(request: S::Request, reply: Reply<S::Result>) -> Option<CoreEvent<S>> {
        if S::is_read_only(&request) {
            return Some(CoreEvent::Read { request, reply });
        }
        match S::encode_request(&request) {
            Ok(request) => Some(CoreEvent::Propose { request, reply }),
            Err(error) => {
                reply.fail(format!("the request does not encode: {error}"));
                None
            }
        }
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
        let reply = Reply::new(reply, Instant::now() + self.reply_timeout);
        // Held until the request is queued; see `SharedStatus::admit`.
        let lifecycle = self.status.admit();
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
        let Some(event) = Self::event_for(request, reply) else {
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
            Lifecycle::Running => status.role.to_string(),
            Lifecycle::Stopping | Lifecycle::Stopped => "stopped".into(),
            Lifecycle::Failed => "failed".into(),
        };
        ReplicaStatus {
            protocol: "raft".into(),
            index: self.index,
            role,
            term: status.term.0,
            leader: status.leader.map(|leader| leader.0),
            commit_index: status.commit.0,
            applied_index: status.applied.0,
            ..ReplicaStatus::default()
        }
    }

    /// The applied index and the crc32 of the state machine's snapshot
    /// bytes, computed by the apply thread between two entries (so the two
    /// always match). The default (zeros) once stopped.
    fn digest(&self) -> StateDigest {
        let Some(apply_tasks) = self.lock_running().as_ref().map(|r| r.apply_tasks.clone()) else {
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
    let apply = ApplyLoop {
        me: recovered.node.id(),
        incarnation,
        state: recovered.state,
        applied: recovered.applied,
        snapshot_index: recovered.applied.index.0,
        snapshot_schedule: SnapshotSchedule::new(
            options.snapshot_every_entries,
            options.index,
            options.peers.len(),
        ),
        snapshots: recovered.snapshots,
        tasks: channels.apply.1,
        core_inbox: channels.core.0.clone(),
        stop: stop.clone(),
        status: Arc::clone(status),
        proposals: PendingProposals::default(),
        reads: PendingReads::default(),
        unsent_compaction: None,
    };
    threads.spawn("raft-apply", move || apply.run())?;
    let core = CoreLoop {
        node: recovered.node,
        storage: recovered.storage,
        transport: Arc::clone(transport),
        inbox: channels.core.1,
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
            tick: options.tick,
        },
    };
    threads.spawn("raft-core", move || core.run())?;
    let receiver = UdpReceiver {
        datagrams: transport.inbound().clone(),
        core_inbox: channels.core.0.clone(),
        stop: stop.clone(),
        status: Arc::clone(status),
    };
    threads.spawn("raft-udp-receiver", move || receiver.run())?;
    let ticker = Ticker {
        interval: options.tick,
        inbox: channels.core.0,
        tick: || CoreEvent::Tick,
        gate: Arc::clone(&status.tick_gate),
        dropped: Arc::clone(&status.counters.ticks_dropped),
    };
    threads.spawn("raft-ticker", move || ticker.run(stop))?;
    Ok(threads)
}
