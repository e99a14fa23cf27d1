//! An in-memory cluster for tests: raft cores, a network that can lose,
//! duplicate, delay and cut messages, a disk per replica that keeps exactly
//! what each `Ready` wrote, and a toy state machine (a list of numbers).
//!
//! The cluster drives each core the way a real driver does (see the Ready
//! loop in `crate::raft`), and it can crash a replica at any point of that
//! loop: the replica then restarts from its disk alone. Every step ends with
//! the invariant checks of `checker.rs`.

use rand::Rng;

use super::checker::Checker;
use crate::raft::{
    Entry, EntryId, EntryKind, HardState, LogIndex, Message, NodeId, RaftConfig, RaftError,
    RaftNode, ReadState, Ready, Role, Snapshot, Term,
};
use crate::simulation::{Faults, PacketSim, SimRng};
use crate::verdict::Verdict;

/// Simulated time steps per tick: message delays are counted in steps, so
/// that messages can overtake each other within a tick.
pub const TICK_STEPS: u64 = 4;

/// Everything a replica wrote to its disk.
#[derive(Clone, Debug, Default)]
pub struct Disk {
    /// The last hard state written.
    pub hard_state: HardState,
    /// The latest snapshot written.
    pub snapshot: Option<Snapshot>,
    /// The entries after the snapshot.
    pub entries: Vec<Entry>,
}

impl Disk {
    fn snapshot_index(&self) -> LogIndex {
        self.snapshot
            .as_ref()
            .map_or(LogIndex::ZERO, |snapshot| snapshot.meta.index)
    }

    fn write_snapshot(&mut self, snapshot: &Snapshot) {
        // A received snapshot replaces the whole log.
        self.snapshot = Some(snapshot.clone());
        self.entries.clear();
    }

    fn write_entries(&mut self, entries: &[Entry]) {
        let Some(first) = entries.first() else {
            return;
        };
        self.entries.retain(|entry| entry.index < first.index);
        let expected = self
            .entries
            .last()
            .map_or(self.snapshot_index(), |entry| entry.index)
            .next();
        assert_eq!(first.index, expected, "disk: entries would leave a gap");
        self.entries.extend_from_slice(entries);
    }

    fn compact(&mut self, snapshot: Snapshot) {
        let index = snapshot.meta.index;
        self.entries.retain(|entry| entry.index > index);
        self.snapshot = Some(snapshot);
    }

    /// Whether the disk still holds entry `id`, or a snapshot covering it.
    pub fn holds(&self, id: EntryId) -> bool {
        let snapshot_index = self.snapshot_index();
        if id.index <= snapshot_index {
            return true;
        }
        let offset = (id.index.0 - snapshot_index.0 - 1) as usize;
        self.entries
            .get(offset)
            .is_some_and(|entry| entry.term == id.term)
    }
}

/// The toy state machine: the numbers proposed, in commit order, with a
/// running hash so that two histories compare in O(1).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StateMachine {
    /// The last index applied.
    pub applied: LogIndex,
    /// The numbers applied, in order.
    pub values: Vec<u64>,
    /// A hash of `values`.
    pub hash: u64,
}

/// Folds one applied number into a history hash.
pub fn chain(hash: u64, value: u64) -> u64 {
    (hash ^ value.wrapping_add(0x9e37_79b9_7f4a_7c15)).wrapping_mul(0x0100_0000_01b3)
}

/// The number an entry carries, if it is a client command.
pub fn value_of(entry: &Entry) -> Option<u64> {
    match entry.kind {
        EntryKind::NoOp => None,
        EntryKind::Normal => Some(u64::from_le_bytes(
            entry.data[..8].try_into().expect("8-byte command"),
        )),
    }
}

impl StateMachine {
    fn apply(&mut self, entry: &Entry) {
        assert_eq!(
            entry.index,
            self.applied.next(),
            "state machine: apply out of order"
        );
        self.applied = entry.index;
        if let Some(value) = value_of(entry) {
            self.values.push(value);
            self.hash = chain(self.hash, value);
        }
    }

    /// The snapshot bytes: applied index, hash, then the numbers.
    pub fn encode(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(16 + 8 * self.values.len());
        bytes.extend_from_slice(&self.applied.0.to_le_bytes());
        bytes.extend_from_slice(&self.hash.to_le_bytes());
        for value in &self.values {
            bytes.extend_from_slice(&value.to_le_bytes());
        }
        bytes
    }

    /// Loads a state machine from snapshot bytes, checking its hash.
    pub fn decode(snapshot: &Snapshot) -> StateMachine {
        let words: Vec<u64> = snapshot
            .data
            .chunks_exact(8)
            .map(|word| u64::from_le_bytes(word.try_into().expect("8 bytes")))
            .collect();
        assert_eq!(snapshot.data.len() % 8, 0, "snapshot bytes are words");
        let state = StateMachine {
            applied: LogIndex(words[0]),
            values: words[2..].to_vec(),
            hash: words[2..].iter().fold(0, |hash, value| chain(hash, *value)),
        };
        assert_eq!(state.hash, words[1], "snapshot hash");
        assert_eq!(state.applied, snapshot.meta.index, "snapshot index");
        state
    }
}

/// One replica: a running core (None while crashed) and what survives it.
pub struct Replica {
    /// The core, or None while crashed.
    pub node: Option<RaftNode>,
    /// What was written to disk.
    pub disk: Disk,
    /// The state machine (rebuilt from the disk at restart).
    pub state: StateMachine,
    /// The configuration to restart with.
    pub config: RaftConfig,
    /// Restarts so far; mixed into the seed so a restart draws new timeouts.
    pub restarts: u64,
}

/// Where a replica crashes inside one pass of the Ready loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CrashPoint {
    /// After sending `messages_now`, before writing anything.
    BeforeWrite,
    /// Mid-write: the snapshot and a prefix of the entries reach the disk,
    /// the hard state does not (a torn write).
    TornWrite,
    /// After the write, before `messages_after_persist` (the acks) leave.
    BeforeAcks,
}

/// A test's predicate over messages in flight.
pub type MessageFilter = Box<dyn FnMut(&Message) -> bool>;

/// The simulated network: the shared packet simulator
/// (`crate::simulation::PacketSim`), its faults set in percent and steps,
/// and a test's own filter.
pub struct Network {
    packets: PacketSim<Message>,
    /// Share of messages lost, in percent.
    pub drop_percent: u32,
    /// Share of messages delivered twice, in percent.
    pub duplicate_percent: u32,
    /// Largest delay, in steps (0: deliver in send order, at once).
    pub delay_steps_max: u64,
    /// A test's filter: messages for which it returns true are lost.
    pub drop_if: Option<MessageFilter>,
    /// When set, the messages lost on a cut link or to `drop_if` are kept
    /// here, so that a script's trace can show them.
    pub dropped: Option<Vec<Message>>,
}

impl Network {
    fn new(size: usize, seed: u64) -> Network {
        Network {
            packets: PacketSim::new(size, SimRng::new(seed)),
            drop_percent: 0,
            duplicate_percent: 0,
            delay_steps_max: 0,
            drop_if: None,
            dropped: None,
        }
    }

    fn send(&mut self, now: u64, message: Message) {
        self.packets.faults = Faults {
            loss: f64::from(self.drop_percent) / 100.0,
            duplicate: f64::from(self.duplicate_percent) / 100.0,
            delay_min: u64::from(self.delay_steps_max > 0),
            delay_max: self.delay_steps_max,
        };
        let (from, to) = (message.from.0, message.to.0);
        self.packets.send(now, from, to, message);
    }

    /// The next message due at `now` (or any message if `now` is None).
    fn pop_due(&mut self, now: Option<u64>) -> Option<Message> {
        loop {
            let arrival = self.packets.pop_due(now)?;
            let message = arrival.packet;
            let lost = arrival.blocked
                || self
                    .drop_if
                    .as_mut()
                    .is_some_and(|drop_if| drop_if(&message));
            if !lost {
                return Some(message);
            }
            if let Some(dropped) = self.dropped.as_mut() {
                dropped.push(message);
            }
        }
    }

    /// Cuts both directions between `a` and `b`.
    pub fn cut(&mut self, a: NodeId, b: NodeId) {
        self.packets.cut(a.0, b.0);
    }

    /// Cuts `a` off from everyone.
    pub fn isolate(&mut self, a: NodeId) {
        self.packets.isolate(a.0);
    }

    /// Splits the nodes into two sides that cannot talk.
    pub fn partition(&mut self, side: &[bool]) {
        self.packets.partition(side);
    }

    /// Repairs every link.
    pub fn heal(&mut self) {
        self.packets.heal();
    }
}

/// A cluster of replicas on a simulated network, checked after every step.
pub struct Cluster {
    /// The replicas, by id.
    pub replicas: Vec<Replica>,
    /// The network between them.
    pub network: Network,
    /// The safety checks.
    pub checker: Checker,
    /// Simulated time, in steps.
    pub now: u64,
    /// Every confirmed read so far, with the replica that confirmed it.
    pub read_states: Vec<(NodeId, ReadState)>,
    /// Snapshots received from a leader and installed, over all replicas.
    pub snapshots_installed: u64,
    /// Compact a replica's log once this many applied entries follow its
    /// snapshot (0: never).
    pub compact_every: u64,
    rng: SimRng,
}

/// A configuration for tests: small limits, so that batching, flow control
/// and chunking all happen in short runs.
pub fn test_config(id: usize, size: usize, seed: u64) -> RaftConfig {
    let mut config = RaftConfig::new(NodeId(id), size);
    config.election_ticks_min = 10;
    config.election_ticks_max = 20;
    config.heartbeat_ticks = 2;
    config.append_entries_max = 4;
    config.append_bytes_max = 1024;
    config.entry_bytes_max = 64;
    config.inflight_appends_max = 4;
    config.uncommitted_entries_max = 64;
    config.pending_reads_max = 16;
    config.apply_entries_max = 8;
    config.snapshot_chunk_bytes = 64;
    config.snapshot_chunks_inflight_max = 3;
    config.random_seed = seed.wrapping_mul(1000).wrapping_add(id as u64);
    config
}

impl Cluster {
    /// `size` fresh replicas; `configure` may adjust each configuration.
    pub fn new(size: usize, seed: u64, configure: impl Fn(&mut RaftConfig)) -> Cluster {
        let logs = vec![(HardState::default(), Vec::new()); size];
        Cluster::with_logs(seed, logs, configure)
    }

    /// Replicas that start from the given hard states and logs, as if
    /// restarted from a disk holding them.
    pub fn with_logs(
        seed: u64,
        logs: Vec<(HardState, Vec<Entry>)>,
        configure: impl Fn(&mut RaftConfig),
    ) -> Cluster {
        let size = logs.len();
        let mut replicas = Vec::new();
        for (id, (hard_state, entries)) in logs.into_iter().enumerate() {
            let mut config = test_config(id, size, seed);
            configure(&mut config);
            let disk = Disk {
                hard_state,
                snapshot: None,
                entries,
            };
            replicas.push(Replica {
                node: None,
                disk,
                state: StateMachine::default(),
                config,
                restarts: 0,
            });
        }
        let mut cluster = Cluster {
            replicas,
            network: Network::new(size, seed ^ 0x5eed),
            checker: Checker::new(size),
            now: 0,
            read_states: Vec::new(),
            snapshots_installed: 0,
            compact_every: 0,
            rng: SimRng::new(seed ^ 0xc0ffee),
        };
        for id in 0..size {
            cluster.start(NodeId(id));
        }
        cluster
    }

    /// The core of replica `id`.
    ///
    /// # Panics
    /// If it is crashed.
    pub fn node(&self, id: usize) -> &RaftNode {
        self.replicas[id].node.as_ref().expect("replica is up")
    }

    /// The core of replica `id`, mutable.
    pub fn node_mut(&mut self, id: usize) -> &mut RaftNode {
        self.replicas[id].node.as_mut().expect("replica is up")
    }

    /// Whether replica `id` is running.
    pub fn is_up(&self, id: usize) -> bool {
        self.replicas[id].node.is_some()
    }

    /// Crashes replica `id`: its memory is lost, its disk stays.
    pub fn crash(&mut self, id: NodeId) {
        self.replicas[id.0].node = None;
    }

    /// Starts replica `id` from its disk (a restart after a crash).
    pub fn start(&mut self, id: NodeId) {
        let replica = &mut self.replicas[id.0];
        assert!(replica.node.is_none(), "starting a running replica");
        let mut config = replica.config.clone();
        config.random_seed = config.random_seed.wrapping_add(replica.restarts * 7919);
        replica.restarts += 1;
        let disk = replica.disk.clone();
        let node = RaftNode::restore(config, disk.hard_state, disk.snapshot.clone(), disk.entries)
            .unwrap_or_else(|error| panic!("restart of {id} failed: {error}"));
        replica.state = match &disk.snapshot {
            Some(snapshot) => StateMachine::decode(snapshot),
            None => StateMachine::default(),
        };
        self.checker.on_restart(id, &node, &replica.state);
        replica.node = Some(node);
        self.process_ready(id, None);
    }

    /// Runs the Ready loop of replica `id` until it has nothing to do, or
    /// crashes it at `crash` during the first pass.
    pub fn process_ready(&mut self, id: NodeId, crash: Option<CrashPoint>) {
        let mut crash = crash;
        // Each pass acknowledges work; a bounded number always suffices.
        for _ in 0..1000 {
            let Some(node) = self.replicas[id.0].node.as_ref() else {
                return;
            };
            self.checker.check_node(node, &self.replicas);
            if !node.has_ready() {
                return;
            }
            let ready = self.replicas[id.0].node.as_mut().expect("up").ready();
            if !self.handle_ready(id, ready, crash.take()) {
                self.crash(id);
                return;
            }
            self.replicas[id.0].node.as_mut().expect("up").advance();
        }
        panic!("replica {id} always has a Ready");
    }

    /// One pass of the driver's Ready loop. Returns false if the replica
    /// crashed at `crash`.
    fn handle_ready(&mut self, id: NodeId, ready: Ready, crash: Option<CrashPoint>) -> bool {
        let now = self.now;
        for message in ready.messages_now {
            self.network.send(now, message);
        }
        let disk = &mut self.replicas[id.0].disk;
        match crash {
            Some(CrashPoint::BeforeWrite) => return false,
            Some(CrashPoint::TornWrite) => {
                if let Some(snapshot) = &ready.snapshot_to_persist {
                    disk.write_snapshot(snapshot);
                }
                let kept = self.rng.gen_range(0..=ready.entries_to_persist.len());
                disk.write_entries(&ready.entries_to_persist[..kept]);
                return false;
            }
            _ => {}
        }
        if let Some(snapshot) = &ready.snapshot_to_persist {
            disk.write_snapshot(snapshot);
        }
        disk.write_entries(&ready.entries_to_persist);
        if let Some(hard_state) = ready.hard_state {
            disk.hard_state = hard_state;
        }
        if crash == Some(CrashPoint::BeforeAcks) {
            return false;
        }
        for message in ready.messages_after_persist {
            self.network.send(now, message);
        }
        let replica = &mut self.replicas[id.0];
        if let Some(snapshot) = &ready.snapshot_to_persist {
            self.snapshots_installed += 1;
            replica.state = StateMachine::decode(snapshot);
            self.checker.on_snapshot_loaded(id, &replica.state);
        }
        for entry in &ready.committed_entries {
            replica.state.apply(entry);
            self.checker.on_apply(id, entry, &replica.state);
        }
        let node = replica.node.as_mut().expect("up");
        node.report_applied(replica.state.applied);
        for read in ready.read_states {
            self.checker.on_read_state(id, &read);
            self.read_states.push((id, read));
        }
        true
    }

    /// Compacts replica `id` if enough applied entries follow its snapshot.
    pub fn maybe_compact(&mut self, id: NodeId) {
        let every = self.compact_every;
        let replica = &mut self.replicas[id.0];
        let Some(node) = replica.node.as_mut() else {
            return;
        };
        let snapshot_index = node.log().snapshot().meta.index;
        if every == 0 || replica.state.applied.0 < snapshot_index.0 + every {
            return;
        }
        let data = replica.state.encode();
        let index = replica.state.applied;
        node.compact(index, data.clone())
            .unwrap_or_else(|error| panic!("compact of {id} failed: {error}"));
        let term = node.log().snapshot().meta.term;
        let meta = crate::raft::SnapshotMeta { index, term };
        replica.disk.compact(Snapshot { meta, data });
    }

    /// Delivers one message to its replica and runs its Ready loop; says
    /// what the node made of it (`None` if the node is down).
    pub fn deliver(&mut self, message: Message, crash: Option<CrashPoint>) -> Option<Verdict> {
        let to = message.to;
        let node = self.replicas[to.0].node.as_mut()?;
        log::trace!("step {}: deliver {}", self.now, message.describe());
        let verdict = node.step(message);
        self.process_ready(to, crash);
        Some(verdict)
    }

    /// Delivers messages until none is left, in send order, ignoring delays
    /// (for the scripted paper tests).
    pub fn stabilize(&mut self) {
        for _ in 0..100_000 {
            let Some(message) = self.network.pop_due(None) else {
                return;
            };
            self.deliver(message, None);
        }
        panic!("the network never went quiet");
    }

    /// The next message due at the current step, if any.
    pub fn network_pop_due(&mut self) -> Option<Message> {
        self.network.pop_due(Some(self.now))
    }

    /// The next message in send order, ignoring delays, if any.
    pub fn network_pop_next(&mut self) -> Option<Message> {
        self.network.pop_due(None)
    }

    /// Ticks replica `id` once.
    pub fn tick(&mut self, id: NodeId) {
        if let Some(node) = self.replicas[id.0].node.as_mut() {
            node.tick();
            self.process_ready(id, None);
        }
    }

    /// Makes replica `id` campaign now and delivers everything.
    pub fn elect(&mut self, id: NodeId) {
        self.node_mut(id.0).campaign();
        self.process_ready(id, None);
        self.stabilize();
    }

    /// Proposes `value` at replica `id`.
    pub fn propose(&mut self, id: NodeId, value: u64) -> Result<EntryId, RaftError> {
        let result = self.node_mut(id.0).propose(value.to_le_bytes().to_vec());
        self.process_ready(id, None);
        result
    }

    /// Starts a linearizable read at replica `id`, named `context`.
    pub fn read(&mut self, id: NodeId, context: u64) -> Result<(), RaftError> {
        self.checker.on_read_request(context);
        let result = self
            .node_mut(id.0)
            .read_index(context.to_le_bytes().to_vec());
        self.process_ready(id, None);
        result
    }

    /// The running replica that leads the highest term, if any.
    pub fn leader(&self) -> Option<NodeId> {
        self.replicas
            .iter()
            .filter_map(|replica| replica.node.as_ref())
            .filter(|node| node.role() == Role::Leader)
            .max_by_key(|node| node.term())
            .map(|node| node.id())
    }

    /// One line per replica (role, term, indexes; a leader's view of each
    /// follower), for failure messages.
    pub fn describe(&self) -> String {
        let mut lines = Vec::new();
        for (id, replica) in self.replicas.iter().enumerate() {
            let Some(node) = replica.node.as_ref() else {
                lines.push(format!("n{id}: down"));
                continue;
            };
            let status = node.status();
            let mut line = format!(
                "n{id}: {} {} leader={:?} commit={} applied={} last={} snapshot={} disk={}",
                status.role,
                status.term,
                status.leader.map(|leader| leader.0),
                status.commit,
                replica.state.applied,
                node.log().last_entry_id(),
                status.snapshot_index,
                replica
                    .disk
                    .entries
                    .last()
                    .map_or(LogIndex::ZERO, |entry| entry.index),
            );
            for (peer, progress) in node.progress.iter().enumerate() {
                line += &format!(
                    "\n    n{peer}: {:?} match={} next={} inflight={}",
                    progress.state,
                    progress.match_index,
                    progress.next_index,
                    progress.inflights.count()
                );
            }
            lines.push(line);
        }
        lines.join("\n")
    }

    /// The terms of the entries of replica `id`'s log after its snapshot.
    pub fn log_terms(&self, id: usize) -> Vec<u64> {
        self.node(id)
            .log()
            .entries()
            .iter()
            .map(|entry| entry.term.0)
            .collect()
    }
}

/// A log of entries with the given terms, from index 1, carrying their index
/// as the command value.
pub fn entries_with_terms(terms: &[u64]) -> Vec<Entry> {
    terms
        .iter()
        .enumerate()
        .map(|(position, term)| Entry {
            term: Term(*term),
            index: LogIndex(position as u64 + 1),
            kind: EntryKind::Normal,
            data: (position as u64 + 1).to_le_bytes().to_vec(),
        })
        .collect()
}
