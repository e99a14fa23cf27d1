//! A deterministic simulation of a group over a seeded, faulty network.
//!
//! Goal: show that safety holds on every step under loss (up to 30%),
//! duplication, reordering and crash/restart, and that once the faults stop
//! every accepted broadcast is delivered everywhere within a bounded number
//! of ticks. Some crashes lose the disk (a replaced disk): the member
//! starts empty and must recover (docs/SEQUENCER.md, section 5.7); what its
//! earlier life broadcast and nobody numbered may then be void, and
//! nothing else. Method (after TigerBeetle's VOPR): one seed derives the fault
//! rates and the workload; a *fault phase* runs clients, a lossy network and
//! crashes; a *liveness phase* restarts every member, stops loss and new
//! requests, and must converge within `LIVENESS_TICKS_MAX`. A [`Checker`]
//! sees every persisted record and every delivery and panics with the seed.
//!
//! The simulated driver does what a real one must: it persists an output's
//! records before sending its messages (a crash falls between two inputs, so
//! "crashed before persisting" is the same as "the input was lost"), applies
//! deliveries durably and says so (`applied_durably`), and performs state
//! transfers on `snapshot_needed`. Messages travel encoded, through the codec.
//!
//! Clients also read (`Member::read`): each read notes the highest number
//! delivered anywhere when it began, and when the member hands it back as
//! ready it must have delivered at least that far (a read never misses a
//! write that completed before it began); every read is handed back, ready
//! or abandoned, within the member's read timeout.

use std::collections::BTreeMap;

use super::checker::Checker;
use super::Rng;
use crate::sequencer::{
    Config, Destination, GlobalSeq, Member, MemberId, Message, Origin, Output, PersistedState,
    ReadId, Record, SnapshotPoint, Status,
};
use crate::simulation::{Faults, PacketSim};

/// Mixed into the seed for the network's own stream of draws.
const NETWORK: u64 = 0x0005_eed0_f9ac_7e75;

/// Ticks the group gets, after the faults stop, to deliver everything.
pub(super) const LIVENESS_TICKS_MAX: u64 = 500;

/// The fault rates and workload of one run, all derived from its seed.
#[derive(Clone, Debug)]
pub(super) struct Options {
    pub(super) members: u16,
    pub(super) loss: f64,
    pub(super) duplicate: f64,
    pub(super) delay_ticks_max: u64,
    pub(super) broadcast: f64,
    pub(super) crash: f64,
    pub(super) down_ticks_max: u64,
    pub(super) fault_ticks: u64,
    pub(super) history_max: u64,
    /// The application makes its state durable every this many deliveries;
    /// a crash loses the rest, and the member must deliver them again.
    pub(super) app_flush_every: u64,
    /// At this tick every member crashes at once (a full stop).
    pub(super) full_stop_tick: Option<u64>,
    /// Members announce a moved watermark after every message they handle
    /// (`Member::announce_watermark`, as the driver does after each batch)
    /// instead of only at their next tick.
    pub(super) announce: bool,
    /// Per tick, the chance that a partition begins: a minority of the
    /// group is cut off from the rest, both ways, for a while.
    pub(super) partition: f64,
    /// Per tick and member, the chance that it is paused (SIGSTOP): no
    /// ticks, and what arrives waits in its socket until it resumes.
    pub(super) pause: f64,
    /// The chance that a crash also loses the member's disk (groups of 3 or
    /// more, one member at a time: a group survives the loss of a minority's
    /// disks, not more).
    pub(super) wipe: f64,
    /// The group starts as a real one does: every member with an empty
    /// disk, asking the others before it takes part (while clients already
    /// send requests to the first ones up).
    pub(super) boot_empty: bool,
    /// Per tick, the chance that a client reads at a random member.
    pub(super) read: f64,
    /// The chance that a member crashes after its own Requests and
    /// Sequences left early and before its output's records are durable
    /// (sections 5.8 and 5.10): they then name requests and bindings its
    /// disk never held.
    pub(super) torn_flush: f64,
}

impl Options {
    /// Draws the options of one run ("swarm testing": each seed stresses a
    /// different mix).
    pub(super) fn from_seed(rng: &mut Rng, members: u16) -> Options {
        let fault_ticks = 100 + rng.below(200);
        Options {
            members,
            loss: rng.below(31) as f64 / 100.0,
            duplicate: rng.below(11) as f64 / 100.0,
            delay_ticks_max: rng.below(6),
            broadcast: (1 + rng.below(40)) as f64 / 100.0,
            crash: [0.0, 0.0, 0.002, 0.01][rng.below(4) as usize],
            down_ticks_max: 20 + rng.below(80),
            fault_ticks,
            history_max: [0, 2, 64][rng.below(3) as usize],
            app_flush_every: [1, 1, 4][rng.below(3) as usize],
            full_stop_tick: rng.chance(0.1).then(|| rng.below(fault_ticks)),
            announce: rng.chance(0.5),
            partition: [0.0, 0.0, 0.01, 0.03][rng.below(4) as usize],
            pause: [0.0, 0.0, 0.002, 0.01][rng.below(4) as usize],
            wipe: [0.0, 0.0, 0.3, 1.0][rng.below(4) as usize],
            boot_empty: rng.chance(0.25),
            read: (rng.below(40)) as f64 / 100.0,
            torn_flush: [0.0, 0.05, 0.3][rng.below(3) as usize],
        }
    }
}

/// A datagram that fell due at its member.
struct Flight {
    from: MemberId,
    to: MemberId,
    datagram: Vec<u8>,
}

/// One simulated process: the member (None while crashed), its disk, and
/// where its application is (the checker keeps what it delivered).
struct Node {
    member: Option<Member>,
    disk: PersistedState,
    /// The application's point, and the part of it that survives a crash.
    app: SnapshotPoint,
    app_durable: SnapshotPoint,
    restart_tick: u64,
    /// Paused until this tick (no ticks; arrivals wait).
    paused_until: u64,
    /// Its disk was lost in the crash: it restarts empty and recovers.
    wiped: bool,
    /// Nothing was ever persisted: a restart is a start with an empty log.
    /// (A member that started with a new group in `new` has persisted that.)
    log_empty: bool,
    /// Records appended by outputs that needed no sync (`Output::needs_sync`)
    /// and not synced since: a crash loses them (the machine went down) or
    /// writes them (the process died, the page cache did not), at random.
    unsynced: Vec<Record>,
    /// Ticks the member has run since it (re)started.
    ticks_run: u64,
    /// Its reads not handed back yet: the number each must see delivered,
    /// and `ticks_run` when it began.
    reads: BTreeMap<ReadId, (GlobalSeq, u64)>,
}

/// What one run showed, for the summary.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct RunStats {
    pub(super) broadcasts: u64,
    pub(super) convergence_ticks: u64,
    pub(super) crashes: u64,
    pub(super) snapshots: u64,
    pub(super) partitions: u64,
    pub(super) pauses: u64,
    /// Crashes that lost the disk.
    pub(super) wipes: u64,
    /// The highest view any member installed.
    pub(super) views: u64,
    /// Reads answered from a member's state after their barrier.
    pub(super) reads_ready: u64,
    /// Reads handed back to be ordered instead.
    pub(super) reads_abandoned: u64,
    /// Crashes between a member's early Requests and its fsync.
    pub(super) torn_flushes: u64,
    /// Records a crash lost because no output had needed them synced.
    pub(super) unsynced_lost: u64,
}

/// A group, its network and its referee.
pub(super) struct Simulation {
    options: Options,
    rng: Rng,
    now_tick: u64,
    nodes: Vec<Node>,
    /// Datagrams in flight, due at a tick; those due at one tick come in a
    /// random order.
    network: PacketSim<Vec<u8>>,
    checker: Checker,
    faults: bool,
    stats: RunStats,
    /// The members cut off from the rest, and until when.
    cut_off: Vec<MemberId>,
    cut_until: u64,
}

/// The member config of the simulation: short timeouts and small windows,
/// so that every bound is hit.
pub(super) fn sim_config(members: u16, id: MemberId, history_max: u64) -> Config {
    Config {
        heartbeat_interval_ticks: 5,
        nack_delay_ticks: 2,
        nack_backoff_max_ticks: 16,
        holdback_max: 32,
        requests_window: 32,
        broadcasts_in_flight_max: 8,
        history_max,
        retransmit_items_max: 16,
        suspect_ticks: 20,
        view_change_timeout_ticks: 20,
        view_change_resend_ticks: 4,
        view_gather_ticks: 2,
        rejoin_lag_max: 8,
        rejoin_ready_ticks: 10,
        early_send: true,
        ..Config::new(members, id)
    }
}

impl Simulation {
    /// A fresh group of `members` for `seed`.
    pub(super) fn new(seed: u64, members: u16) -> Simulation {
        let mut rng = Rng::new(seed);
        let options = Options::from_seed(&mut rng, members);
        let nodes = (0..options.members)
            .map(|id| {
                let mut config = sim_config(options.members, MemberId(id), options.history_max);
                config.recovery_nonce = rng.next_u64();
                let start = SnapshotPoint::start(options.members);
                let member = if options.boot_empty {
                    Member::recover(config, start)
                } else {
                    Member::new(config)
                };
                // A member started as part of a new group has said so on its
                // disk (a first start persists its incarnation).
                Node {
                    member: Some(member.expect("valid config")),
                    disk: PersistedState::new(options.members),
                    log_empty: options.boot_empty,
                    unsynced: Vec::new(),
                    app: SnapshotPoint::start(options.members),
                    app_durable: SnapshotPoint::start(options.members),
                    restart_tick: 0,
                    paused_until: 0,
                    wiped: false,
                    ticks_run: 0,
                    reads: BTreeMap::new(),
                }
            })
            .collect();
        let mut network = PacketSim::new(usize::from(options.members), Rng::new(seed ^ NETWORK));
        network.shuffle_ties = true;
        Simulation {
            checker: Checker::new(seed, options.members),
            options,
            rng,
            now_tick: 0,
            nodes,
            network,
            faults: true,
            stats: RunStats::default(),
            cut_off: Vec::new(),
            cut_until: 0,
        }
    }

    /// Runs both phases; panics (with the seed) on any violation.
    pub(super) fn run(mut self) -> RunStats {
        for _ in 0..self.options.fault_ticks {
            self.step_tick();
        }
        self.faults = false;
        self.cut_off.clear();
        self.network.heal();
        for node in &mut self.nodes {
            node.paused_until = 0;
        }
        let healed_tick = self.now_tick;
        while !self.converged() {
            let waited = self.now_tick - healed_tick;
            assert!(
                waited < LIVENESS_TICKS_MAX,
                "seed {}: not converged {waited} ticks after the faults stopped \
                 ({:?}; delivered {:?} of {})",
                self.checker_seed(),
                self.options,
                self.delivered_counts(),
                self.checker.broadcast_count()
            );
            self.step_tick();
        }
        let incarnations: Vec<u64> = self
            .nodes
            .iter()
            .map(|node| node.member.as_ref().expect("all up").status().incarnation)
            .collect();
        self.checker.check_complete(&incarnations);
        self.stats.broadcasts = self.checker.broadcast_count();
        self.stats.views = self
            .nodes
            .iter()
            .filter_map(|node| node.member.as_ref())
            .map(|member| member.status().installed.number)
            .max()
            .unwrap_or(0);
        self.stats.convergence_ticks = self.now_tick - healed_tick;
        self.stats
    }

    fn checker_seed(&self) -> u64 {
        self.rng.seed()
    }

    fn delivered_counts(&self) -> Vec<u64> {
        (0..self.options.members)
            .map(|id| self.checker.delivered_count(MemberId(id)))
            .collect()
    }

    /// Every member is up, delivered the same history, and that history
    /// holds every broadcast of every sender's current incarnation.
    fn converged(&self) -> bool {
        let incarnations: Option<Vec<u64>> = self
            .nodes
            .iter()
            .map(|node| node.member.as_ref().map(|m| m.status().incarnation))
            .collect();
        incarnations.is_some_and(|incarnations| self.checker.is_complete(&incarnations))
    }

    /// One tick: crashes and restarts, client requests, the messages due
    /// now (in random order), then every live member's tick.
    fn step_tick(&mut self) {
        self.now_tick += 1;
        self.crash_and_restart();
        self.partition_and_pause();
        if self.faults && self.rng.chance(self.options.broadcast) {
            self.client_request();
        }
        if self.faults && self.rng.chance(self.options.read) {
            self.client_read();
        }
        while let Some(arrival) = self.network.pop_due(Some(self.now_tick)) {
            let paused_until = self.nodes[arrival.to].paused_until;
            if arrival.blocked {
                continue;
            }
            if paused_until > self.now_tick {
                // Waits in the paused process's socket buffer.
                let (from, to) = (arrival.from, arrival.to);
                self.network.send_at(paused_until, from, to, arrival.packet);
            } else {
                self.deliver(Flight {
                    from: MemberId(arrival.from as u16),
                    to: MemberId(arrival.to as u16),
                    datagram: arrival.packet,
                });
            }
        }
        for index in 0..self.nodes.len() {
            if self.nodes[index].paused_until > self.now_tick {
                continue;
            }
            let applied = self.nodes[index].app_durable.global.0;
            if let Some(member) = self.nodes[index].member.as_mut() {
                member.tick();
                let status = member.status();
                self.nodes[index].ticks_run += 1;
                self.check_no_contradictions(&status);
                self.check_history_bound(status, applied);
                self.handle_output(MemberId(index as u16));
                self.check_reads_answered(index);
            }
        }
    }

    /// A member refused no message as contradictory: every member is this
    /// code, so a refusal is a protocol bug (checked at every tick, since a
    /// crash resets the counter).
    fn check_no_contradictions(&self, status: &Status) {
        assert_eq!(
            status.counters.contradictions,
            0,
            "seed {}: {} refused contradictory messages ({:?})",
            self.checker_seed(),
            status.id,
            self.options
        );
    }

    /// After a tick's garbage collection, the history kept below the
    /// delivered number is at most `history_max`, unless the application
    /// has not made that much durable yet.
    fn check_history_bound(&self, status: Status, applied: u64) {
        let kept = status.delivered_up_to.0 - status.base.0;
        let bound = self
            .options
            .history_max
            .max(status.delivered_up_to.0 - applied);
        let seed = self.rng.seed();
        assert!(
            kept <= bound,
            "seed {seed}: {} keeps {kept} delivered, bound {bound}",
            status.id
        );
        let holdback = status.next_global.0 - 1 - status.delivered_up_to.0;
        // After a restart the log may hold Sequences up to the window of the
        // deliveries the application lost, which it never forgets; a new
        // view's log reaches a window past the most advanced voter's
        // delivered number, which may be ahead of this member's.
        let behind = self.checker.history_len() - status.delivered_up_to.0;
        let holdback_max = 32 + self.options.app_flush_every + behind;
        assert!(
            holdback <= holdback_max,
            "seed {seed}: {} holds back {holdback}",
            status.id
        );
    }

    /// Begins and ends partitions (a minority cut off from the rest) and
    /// pauses (a member frozen, then resumed believing its old view).
    fn partition_and_pause(&mut self) {
        if !self.faults {
            return;
        }
        let members = u64::from(self.options.members);
        if self.now_tick >= self.cut_until && !self.cut_off.is_empty() {
            self.cut_off.clear();
            self.network.heal();
        }
        if self.cut_off.is_empty() && members > 2 && self.rng.chance(self.options.partition) {
            let minority = 1 + self.rng.below((members - 1) / 2);
            while (self.cut_off.len() as u64) < minority {
                let member = MemberId(self.rng.below(members) as u16);
                if !self.cut_off.contains(&member) {
                    self.cut_off.push(member);
                }
            }
            self.cut_until = self.now_tick + 10 + self.rng.below(80);
            self.stats.partitions += 1;
            let side: Vec<bool> = (0..self.options.members)
                .map(|id| self.cut_off.contains(&MemberId(id)))
                .collect();
            self.network.partition(&side);
        }
        for index in 0..self.nodes.len() {
            let node = &self.nodes[index];
            if node.member.is_some()
                && node.paused_until <= self.now_tick
                && self.rng.chance(self.options.pause)
            {
                self.nodes[index].paused_until = self.now_tick + 5 + self.rng.below(60);
                self.stats.pauses += 1;
            }
        }
    }

    fn crash_and_restart(&mut self) {
        let now_tick = self.now_tick;
        if self.faults && self.options.full_stop_tick == Some(now_tick) {
            for index in 0..self.nodes.len() {
                if self.nodes[index].member.is_some() {
                    self.crash(index);
                }
            }
        }
        for index in 0..self.nodes.len() {
            let down = self
                .nodes
                .iter()
                .filter(|node| node.member.is_none())
                .count();
            let node = &self.nodes[index];
            if node.member.is_none() && (!self.faults || node.restart_tick <= now_tick) {
                self.restart(index);
            } else if node.member.is_some()
                && self.faults
                && down < 2
                && self.rng.chance(self.options.crash)
            {
                self.crash(index);
                if self.may_wipe(index) && self.rng.chance(self.options.wipe) {
                    self.wipe(index);
                }
            }
        }
    }

    /// True if member `index` may lose its disk now: the group has three
    /// members or more, and no other member lost its disk and has not
    /// recovered yet.
    fn may_wipe(&self, index: usize) -> bool {
        self.options.members >= 3
            && self.nodes.iter().enumerate().all(|(other, node)| {
                other == index || !(node.wiped || node.disk.recovering.is_some())
            })
    }

    /// The crashed member's disk is replaced: its log and its application
    /// state are gone. Its datagrams still in flight are dropped too (a
    /// disk takes longer to replace than a datagram lives).
    fn wipe(&mut self, index: usize) {
        self.stats.wipes += 1;
        let members = self.options.members;
        let id = MemberId(index as u16);
        let node = &mut self.nodes[index];
        node.wiped = true;
        node.log_empty = true;
        node.disk = PersistedState::new(members);
        node.app = SnapshotPoint::start(members);
        node.app_durable = SnapshotPoint::start(members);
        self.network.retain(|from, _, _| from != id.index());
        self.checker.on_wipe(id);
    }

    /// Crashes a member: its memory and its application's undurable part
    /// are gone; its disk stays.
    fn crash(&mut self, index: usize) {
        self.stats.crashes += 1;
        let restart_tick = self.now_tick + 1 + self.rng.below(self.options.down_ticks_max);
        if self.rng.chance(0.5) {
            self.write_back(MemberId(index as u16));
        } else {
            self.stats.unsynced_lost += self.nodes[index].unsynced.len() as u64;
            self.nodes[index].unsynced.clear();
        }
        let node = &mut self.nodes[index];
        node.member = None;
        node.reads.clear();
        node.ticks_run = 0;
        node.restart_tick = restart_tick;
        node.app = node.app_durable.clone();
        self.checker
            .on_crash(MemberId(index as u16), &node.app_durable);
    }

    /// Restores a crashed member from its disk and its application's
    /// durable point.
    fn restart(&mut self, index: usize) {
        let id = MemberId(index as u16);
        let mut config = sim_config(self.options.members, id, self.options.history_max);
        config.recovery_nonce = self.rng.next_u64();
        let node = &mut self.nodes[index];
        // An empty log starts a recovery, as the driver does (a member that
        // crashed before it persisted anything cannot tell either).
        let empty = node.log_empty;
        let member = if std::mem::take(&mut node.wiped) || empty {
            Member::recover(config, node.app_durable.clone())
        } else {
            Member::restore(config, node.disk.clone(), node.app_durable.clone())
        };
        let seed = self.rng.seed();
        node.member =
            Some(member.unwrap_or_else(|error| panic!("seed {seed}: restore {id}: {error}")));
        self.handle_output(id);
    }

    /// A client asks a random live member to broadcast a unique payload.
    fn client_request(&mut self) {
        let index = self.rng.below(u64::from(self.options.members)) as usize;
        if self.nodes[index].paused_until > self.now_tick {
            return;
        }
        let Some(member) = self.nodes[index].member.as_mut() else {
            return;
        };
        let payload = format!(
            "seed {} tick {} at m{index}",
            self.rng.seed(),
            self.now_tick
        )
        .into_bytes();
        if let Ok(local_seq) = member.broadcast(payload.clone()) {
            let origin = Origin {
                sender: MemberId(index as u16),
                local_seq,
            };
            self.checker.on_broadcast(origin, payload);
        }
        self.handle_output(MemberId(index as u16));
    }

    /// A client asks a random live member for a read.
    fn client_read(&mut self) {
        let index = self.rng.below(u64::from(self.options.members)) as usize;
        let must_see = GlobalSeq(self.checker.history_len());
        let node = &mut self.nodes[index];
        if node.paused_until > self.now_tick {
            return;
        }
        let Some(member) = node.member.as_mut() else {
            return;
        };
        if let Ok(read) = member.read() {
            node.reads.insert(read, (must_see, node.ticks_run));
        }
        self.handle_output(MemberId(index as u16));
    }

    /// Liveness of reads: none waits past the member's read timeout (in
    /// its own ticks: a paused member's time stands still).
    fn check_reads_answered(&self, index: usize) {
        let node = &self.nodes[index];
        let Some(member) = node.member.as_ref() else {
            return;
        };
        let timeout = member.config().read_timeout_ticks;
        for (read, (_, began)) in &node.reads {
            assert!(
                node.ticks_run - began <= timeout,
                "seed {}: m{index} read {read:?} waits {} ticks",
                self.rng.seed(),
                node.ticks_run - began
            );
        }
    }

    fn deliver(&mut self, flight: Flight) {
        let Some(member) = self.nodes[flight.to.index()].member.as_mut() else {
            return;
        };
        let message =
            Message::decode(&flight.datagram).expect("the simulated network does not corrupt");
        member
            .step(flight.from, message)
            .expect("members send valid messages");
        if self.options.announce {
            member.announce_watermark();
        }
        self.handle_output(flight.to);
    }

    /// Makes the member's appended records durable, in order.
    fn write_back(&mut self, id: MemberId) {
        let node = &mut self.nodes[id.index()];
        for record in std::mem::take(&mut node.unsynced) {
            self.checker.on_persist(id, &record);
            node.disk.apply(&record);
            node.log_empty = false;
        }
    }

    /// Does what a driver does with an output, in the documented order,
    /// checking every record and delivery on the way.
    fn handle_output(&mut self, id: MemberId) {
        for _ in 0..4 {
            let Some(member) = self.nodes[id.index()].member.as_mut() else {
                return;
            };
            let output = member.take_output();
            let Some(need) = self.handle_one_output(id, output) else {
                return;
            };
            self.transfer_snapshot(id, need.0, need.1);
        }
    }

    fn handle_one_output(&mut self, id: MemberId, output: Output) -> Option<(MemberId, GlobalSeq)> {
        let sync = output.needs_sync();
        if !output.early_messages.is_empty() {
            for (destination, message) in output.early_messages {
                self.checker.check_claims(id, &message.watermark);
                self.checker.on_sent(id, &message);
                self.send(id, destination, message.encode());
            }
            let down = self
                .nodes
                .iter()
                .filter(|node| node.member.is_none())
                .count();
            if self.faults && down < 2 && self.rng.chance(self.options.torn_flush) {
                self.stats.torn_flushes += 1;
                self.crash(id.index());
                return None;
            }
        }
        self.nodes[id.index()].unsynced.extend(output.to_persist);
        if sync {
            self.write_back(id);
            let member = self.nodes[id.index()].member.as_ref().expect("live");
            self.checker.check_claims(id, &member.watermark());
        }
        for (destination, message) in output.messages {
            self.checker.on_sent(id, &message);
            self.send(id, destination, message.encode());
        }
        let node = &mut self.nodes[id.index()];
        for delivery in &output.deliveries {
            self.checker.on_delivery(id, delivery);
            node.app.advance(delivery);
        }
        let member = node.member.as_mut().expect("live");
        assert_eq!(
            member.delivered_up_to(),
            node.app.global,
            "seed {}",
            self.rng.seed()
        );
        for read in &output.reads_ready {
            let (must_see, _) = node.reads.remove(read).expect("a read handed back once");
            assert!(
                node.app.global >= must_see,
                "seed {}: {id} answers read {read:?} at {}, but {must_see} was delivered \
                 before it began",
                self.rng.seed(),
                node.app.global
            );
            self.stats.reads_ready += 1;
        }
        for read in &output.reads_abandoned {
            node.reads.remove(read).expect("a read handed back once");
            self.stats.reads_abandoned += 1;
        }
        if node.app.global.0 - node.app_durable.global.0 >= self.options.app_flush_every {
            node.app_durable = node.app.clone();
            member.applied_durably(node.app_durable.global);
        }
        output.snapshot_needed.map(|need| (need.from, need.base))
    }

    /// A state transfer from `from` (or any live member far enough ahead):
    /// the donor's application state and point, made durable, then installed.
    fn transfer_snapshot(&mut self, id: MemberId, from: MemberId, base: GlobalSeq) {
        let donors = std::iter::once(from.index()).chain(0..self.nodes.len());
        let donor = donors.filter(|index| *index != id.index()).find(|index| {
            let member = self.nodes[*index].member.as_ref();
            member.is_some_and(|member| member.delivered_up_to() >= base)
        });
        let Some(donor) = donor else { return };
        let point = self.nodes[donor]
            .member
            .as_ref()
            .expect("live")
            .snapshot_point();
        let member = self.nodes[id.index()].member.as_ref().expect("live");
        if point.global <= member.delivered_up_to() {
            return;
        }
        // As the driver does: the log's records first, then the image.
        self.write_back(id);
        self.stats.snapshots += 1;
        self.checker.on_install(id, &point, MemberId(donor as u16));
        let node = &mut self.nodes[id.index()];
        let member = node.member.as_mut().expect("live");
        node.app = point.clone();
        node.app_durable = point.clone();
        member
            .install_snapshot(point)
            .expect("a snapshot ahead installs");
    }

    /// Puts a datagram on the wire to each destination, with loss,
    /// duplication and delay while faults are on.
    fn send(&mut self, from: MemberId, destination: Destination, datagram: Vec<u8>) {
        let targets: Vec<MemberId> = match destination {
            Destination::All => (0..self.options.members)
                .map(MemberId)
                .filter(|to| *to != from)
                .collect(),
            Destination::Member(to) => vec![to],
        };
        // A cut link is the network's: it loses what falls due while cut.
        self.network.faults = Faults {
            loss: if self.faults { self.options.loss } else { 0.0 },
            duplicate: if self.faults {
                self.options.duplicate
            } else {
                0.0
            },
            delay_min: 1,
            delay_max: 1 + self.options.delay_ticks_max,
        };
        for to in targets {
            let (from, to) = (from.index(), to.index());
            self.network.send(self.now_tick, from, to, datagram.clone());
        }
    }
}
