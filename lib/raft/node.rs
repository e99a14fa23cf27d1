//! `RaftNode`: the raft state machine of one replica. It owns the role, the
//! term and vote, the log, the per-follower progress and the timers, and it
//! reacts to the four inputs a driver gives it: `step` (a message), `tick`
//! (time), `propose` and `read_index` (clients). Its output waits in a
//! `Ready` (see ready.rs).
//!
//! This file holds the entry points, the term rules and the role changes.
//! The handlers live by topic: election.rs (votes), replication.rs (appends,
//! heartbeats, commit, reads) and snapshot.rs (InstallSnapshot).

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::config::{RaftConfig, ReadMode};
use super::errors::RaftError;
use super::ids::{EntryId, LogIndex, NodeId, Term};
use super::lease::Lease;
use super::log::RaftLog;
use super::message::{AppendOutcome, Body, Message};
use super::progress::{Progress, ProgressState};
use super::read_index::ReadIndexQueue;
use super::ready::ReadyReceipt;
use super::snapshot::SnapshotAssembly;
use super::types::{Entry, EntryKind, HardState, ReadState, Role, Snapshot};
use crate::verdict::Verdict;

/// The reason a message from an older term is ignored (such a message is
/// also answered, so that its sender learns the newer term).
const STALE_TERM: &str = "stale term";

/// Counts of what the node refused, for logs and `cluster-status`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RaftCounters {
    /// Messages ignored: stale, misaddressed, malformed or not for this role.
    pub messages_dropped: u64,
    /// Messages refused because they contradict what this node holds (a
    /// second leader in its term, a commit index beyond its log, an answer
    /// to something never sent): no correct node sends them. The
    /// simulations and golden scripts fail unless this is 0.
    pub contradictions: u64,
    /// ReadIndex requests dropped because the node stopped being leader.
    pub reads_dropped: u64,
    /// Reads answered on the leader lease, without a heartbeat round.
    pub lease_reads: u64,
}

/// A snapshot of a node's state for monitoring (`cluster-status`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RaftStatus {
    /// The node's id.
    pub id: NodeId,
    /// Its role.
    pub role: Role,
    /// Its current term.
    pub term: Term,
    /// The leader it knows of in this term.
    pub leader: Option<NodeId>,
    /// Its commit index.
    pub commit: LogIndex,
    /// The applied index the driver last reported (`report_applied`).
    pub applied: LogIndex,
    /// Its last log index.
    pub last_index: LogIndex,
    /// The index of its latest snapshot (0 if none).
    pub snapshot_index: LogIndex,
    /// What it refused so far.
    pub counters: RaftCounters,
}

/// One replica's raft state machine; see the module doc and `crate::raft`.
pub struct RaftNode {
    pub(super) config: RaftConfig,
    pub(super) id: NodeId,
    pub(super) role: Role,
    pub(super) term: Term,
    pub(super) vote: Option<NodeId>,
    /// The leader of the current term, once heard from.
    pub(super) leader: Option<NodeId>,
    pub(super) log: RaftLog,
    rng: StdRng,
    /// The node's clock, in ticks since it started: one per `tick`, or what
    /// the driver reports (`tick_at`, `advance_clock`). The lease is
    /// measured on it, never on the timers below, which a driver may let
    /// run slow.
    pub(super) clock: u64,
    /// Leaders with `ReadMode::LeaseBased`: the lease (lease.rs).
    pub(super) lease: Lease,
    /// Ticks since the last election timer reset (followers: since the leader
    /// was last heard; leaders: since the last check-quorum round).
    pub(super) election_elapsed: u32,
    heartbeat_elapsed: u32,
    randomized_election_ticks: u32,
    /// (Pre-)candidates: each node's answer, by id.
    pub(super) votes: Vec<Option<bool>>,
    /// Leaders: one entry per node, by id. The leader's own entry tracks its
    /// disk, so that it counts towards a majority only once persisted.
    pub(super) progress: Vec<Progress>,
    /// Leaders: the index of the no-op that opened the term.
    pub(super) term_start_index: LogIndex,
    pub(super) reads: ReadIndexQueue,
    /// Followers: a snapshot being received in chunks.
    pub(super) incoming_snapshot: Option<SnapshotAssembly>,
    /// Leaders: new entries or a new commit index wait to be broadcast at the
    /// next `ready`, so that a burst of proposals shares one Append.
    pub(super) append_pending: bool,
    /// Leaders: a new ReadIndex round waits to be broadcast at the next
    /// `ready`, so that a burst of reads shares one heartbeat round.
    pub(super) heartbeat_pending: bool,
    pub(super) messages_now: Vec<Message>,
    pub(super) messages_after_persist: Vec<Message>,
    pub(super) read_states: Vec<ReadState>,
    /// The hard state last handed out for persisting.
    pub(super) persisted_hard_state: HardState,
    applied: LogIndex,
    /// Set between `ready` and `advance`.
    pub(super) outstanding: Option<ReadyReceipt>,
    pub(super) counters: RaftCounters,
}

impl RaftNode {
    /// A fresh node with an empty log, as at the very first start.
    pub fn new(config: RaftConfig) -> Result<RaftNode, RaftError> {
        RaftNode::restore(config, HardState::default(), None, Vec::new())
    }

    /// Rebuilds a node from what the driver persisted: the last hard state,
    /// the latest snapshot (data included: a leader streams it to lagging
    /// followers) and the entries after it. The node starts as a follower;
    /// committed entries after the snapshot are handed out again, so the
    /// driver loads the snapshot into its state machine and re-applies them.
    pub fn restore(
        config: RaftConfig,
        hard_state: HardState,
        snapshot: Option<Snapshot>,
        entries: Vec<Entry>,
    ) -> Result<RaftNode, RaftError> {
        config.validate()?;
        if hard_state
            .vote
            .is_some_and(|vote| vote.0 >= config.cluster_size)
        {
            return Err(RaftError::StorageInconsistent(format!(
                "vote for {:?} outside the cluster",
                hard_state.vote
            )));
        }
        let log = RaftLog::restore(snapshot, entries, hard_state.commit)?;
        let stored_hard_state = hard_state;
        let mut hard_state = hard_state;
        let last_term = log.last_entry_id().term;
        if last_term > hard_state.term {
            // The driver writes entries before the hard state, so a torn
            // write can keep entries of a term whose hard state was lost.
            // This node never voted in that term (a vote is on disk before
            // it is sent), so it may rejoin it without a vote.
            log::warn!(
                "hard state {} behind the log's last term {last_term}",
                hard_state.term
            );
            hard_state.term = last_term;
            hard_state.vote = None;
        }
        let cluster_size = config.cluster_size;
        let mut node = RaftNode {
            id: config.id,
            role: Role::Follower,
            term: hard_state.term,
            vote: hard_state.vote,
            leader: None,
            log,
            rng: StdRng::seed_from_u64(config.random_seed),
            clock: 0,
            lease: Lease::new(config.lease_ticks()),
            election_elapsed: 0,
            heartbeat_elapsed: 0,
            randomized_election_ticks: config.election_ticks_min,
            votes: vec![None; cluster_size],
            progress: Vec::new(),
            term_start_index: LogIndex::ZERO,
            reads: ReadIndexQueue::new(config.pending_reads_max),
            incoming_snapshot: None,
            append_pending: false,
            heartbeat_pending: false,
            messages_now: Vec::new(),
            messages_after_persist: Vec::new(),
            read_states: Vec::new(),
            persisted_hard_state: stored_hard_state,
            applied: LogIndex::ZERO,
            outstanding: None,
            counters: RaftCounters::default(),
            config,
        };
        node.randomize_election_timeout();
        log::info!("{} restored: last {}", node.tag(), node.log.last_entry_id());
        Ok(node)
    }

    /// Handles one message from another node and says what came of it.
    ///
    /// The filters run before any handler: `ignore_message` names why a
    /// misaddressed, malformed or stale message is dropped (counted in
    /// `messages_dropped`), then `contradiction` names how a message no
    /// correct node sends contradicts what this node holds (refused, counted
    /// in `contradictions`). Either way nothing changes (a stale leader or
    /// pre-candidate is told the newer term) and nothing panics. Then the
    /// term rules run, and the role's filters and handlers.
    ///
    /// # Panics
    /// If called between `ready` and `advance`.
    pub fn step(&mut self, message: Message) -> Verdict {
        self.assert_no_outstanding_ready("step");
        if let Some(reason) = self.ignore_message(&message) {
            if reason == STALE_TERM {
                self.answer_stale_term(&message);
            }
            return self.ignore(&message, reason);
        }
        if let Some(why) = self.contradiction(&message) {
            return self.refuse(&message, &why);
        }
        self.follow_term(&message);
        match message.body {
            Body::PreVote { last_log } => {
                self.on_vote_request(message.from, message.term, true, last_log)
            }
            Body::Vote { last_log } => {
                self.on_vote_request(message.from, message.term, false, last_log)
            }
            _ => match self.role {
                Role::Leader => self.step_leader(message),
                Role::PreCandidate | Role::Candidate => self.step_candidate(message),
                Role::Follower => self.step_follower(message),
            },
        }
    }

    /// Advances time by one tick: followers and candidates count towards an
    /// election timeout; leaders send heartbeats and check their quorum.
    /// The clock moves one tick too.
    ///
    /// # Panics
    /// If called between `ready` and `advance`.
    pub fn tick(&mut self) {
        self.tick_at(self.clock + 1);
    }

    /// One tick of the timers, as `tick`, with the clock set to `now` ticks
    /// since the node started (it never goes back). For a driver that
    /// delivers fewer ticks than time passes, on purpose: a core that was
    /// held up, or a process that was stopped (SIGSTOP), must not fire a
    /// burst of timeouts before it reads the messages queued meanwhile, so
    /// the driver's ticker drops the ticks it could not deliver. Timers then
    /// run slow, which is safe; a lease must not, so the driver counts the
    /// time that passed on a monotonic clock and gives it here. Use either
    /// `tick` or `tick_at`, not both: `tick` counts from the node's own
    /// clock, and mixing them could run the clock ahead of time.
    ///
    /// # Panics
    /// If called between `ready` and `advance`.
    pub fn tick_at(&mut self, now: u64) {
        self.assert_no_outstanding_ready("tick");
        self.clock = self.clock.max(now);
        match self.role {
            Role::Leader => self.tick_leader(),
            Role::Follower | Role::PreCandidate | Role::Candidate => self.tick_election(),
        }
    }

    /// Proposes a command. On the leader it is appended to the log and its id
    /// returned: the command is committed when an entry with this id shows up
    /// in `Ready::committed_entries`, and lost if another entry shows up at
    /// its index. Elsewhere it fails with `NotLeader`.
    ///
    /// # Panics
    /// If called between `ready` and `advance`.
    pub fn propose(&mut self, data: Vec<u8>) -> Result<EntryId, RaftError> {
        self.assert_no_outstanding_ready("propose");
        if self.role != Role::Leader {
            return Err(RaftError::NotLeader {
                leader: self.leader,
            });
        }
        if data.len() > self.config.entry_bytes_max {
            return Err(RaftError::EntryTooLarge {
                bytes: data.len(),
                max: self.config.entry_bytes_max,
            });
        }
        let uncommitted = (self.log.last_index().0 - self.log.committed().0) as usize;
        if uncommitted >= self.config.uncommitted_entries_max {
            return Err(RaftError::ProposalQueueFull {
                max: self.config.uncommitted_entries_max,
            });
        }
        let id = self.append_entry(EntryKind::Normal, data);
        self.append_pending = true;
        Ok(id)
    }

    /// Starts a linearizable read. On the leader it comes back as a
    /// `ReadState` carrying `request_ctx`: in the next `Ready` if the leader
    /// holds a lease (`ReadMode::LeaseBased`, lease.rs), else once a
    /// heartbeat round confirms it (ReadIndex, read_index.rs). Elsewhere it
    /// fails with `NotLeader`. Reads queued when the node loses leadership
    /// are dropped: the driver times them out and retries at the new leader.
    ///
    /// A driver that lets its timers run slow (see `tick_at`) must bring the
    /// clock up to date with `advance_clock` before each read: a leader that
    /// was stopped for longer than its lease would otherwise find it still
    /// valid when it wakes.
    ///
    /// # Panics
    /// If called between `ready` and `advance`.
    pub fn read_index(&mut self, request_ctx: Vec<u8>) -> Result<(), RaftError> {
        self.assert_no_outstanding_ready("read_index");
        if self.role != Role::Leader {
            return Err(RaftError::NotLeader {
                leader: self.leader,
            });
        }
        let committed = self.log.committed();
        // Only once an entry of its own term is committed does a leader know
        // that its commit index covers every earlier leader's (§8).
        if self.holds_lease() && committed >= self.term_start_index {
            self.counters.lease_reads += 1;
            self.read_states.push(ReadState {
                request_ctx,
                index: committed,
            });
            return Ok(());
        }
        if self.reads.is_full() {
            return Err(RaftError::ReadQueueFull {
                max: self.config.pending_reads_max,
            });
        }
        self.reads
            .start(request_ctx, committed.max(self.term_start_index));
        self.heartbeat_pending = true;
        Ok(())
    }

    /// Moves the clock to `now` ticks since the node started (it never goes
    /// back), without ticking the timers; see `tick_at` and `read_index`.
    pub fn advance_clock(&mut self, now: u64) {
        self.clock = self.clock.max(now);
    }

    /// The node's clock, in ticks since it started.
    pub fn clock(&self) -> u64 {
        self.clock
    }

    /// Whether this node leads with a valid lease (`ReadMode::LeaseBased`).
    pub fn holds_lease(&self) -> bool {
        self.config.read_mode == ReadMode::LeaseBased
            && self.role == Role::Leader
            && self.lease.holds(self.clock)
    }

    /// Starts an election now, as if the election timer had fired (with a
    /// pre-vote round first if configured). Does nothing on a leader. For
    /// tests and tools: it skips the wait that the leader lease counts on,
    /// so with `ReadMode::LeaseBased` call it only on a node whose timer
    /// could have fired.
    ///
    /// # Panics
    /// If called between `ready` and `advance`.
    pub fn campaign(&mut self) {
        self.assert_no_outstanding_ready("campaign");
        self.start_election();
    }

    /// Log compaction: the driver has written a snapshot of its state machine
    /// at `applied_index` (`snapshot_bytes`) to disk; the log drops the
    /// entries it covers and keeps it to send to lagging followers.
    ///
    /// # Panics
    /// If `applied_index` was never handed out in `committed_entries`, or if
    /// called between `ready` and `advance`.
    pub fn compact(
        &mut self,
        applied_index: LogIndex,
        snapshot_bytes: Vec<u8>,
    ) -> Result<(), RaftError> {
        self.assert_no_outstanding_ready("compact");
        self.log.compact(applied_index, snapshot_bytes)?;
        log::debug!("{} compacted to {}", self.tag(), applied_index);
        Ok(())
    }

    /// Tells the node how far the state machine has applied, for `status`.
    ///
    /// # Panics
    /// If `index` was never handed out.
    pub fn report_applied(&mut self, index: LogIndex) {
        assert!(
            index <= self.log.handed_out(),
            "applied {index} beyond handed out {}",
            self.log.handed_out()
        );
        self.applied = self.applied.max(index);
    }

    /// The node's state for monitoring.
    pub fn status(&self) -> RaftStatus {
        RaftStatus {
            id: self.id,
            role: self.role,
            term: self.term,
            leader: self.leader,
            commit: self.log.committed(),
            applied: self.applied,
            last_index: self.log.last_index(),
            snapshot_index: self.log.snapshot().meta.index,
            counters: self.counters,
        }
    }

    /// This node's id.
    pub fn id(&self) -> NodeId {
        self.id
    }

    /// The node's role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The node's current term.
    pub fn term(&self) -> Term {
        self.term
    }

    /// The leader this node knows of in its term.
    pub fn leader(&self) -> Option<NodeId> {
        self.leader
    }

    /// The node's log, read-only (for tests and inspection tools).
    pub fn log(&self) -> &RaftLog {
        &self.log
    }

    /// The node's configuration.
    pub fn config(&self) -> &RaftConfig {
        &self.config
    }

    /// Why a message is dropped before anything looks at it, if it is: it
    /// is misaddressed, malformed (a sender outside the cluster among
    /// others), from an older term (§5.1), or a vote request for a newer
    /// term inside the leader lease (thesis §4.2.3: a live leader is not
    /// disrupted by a node that lost touch with it).
    fn ignore_message(&self, message: &Message) -> Option<&'static str> {
        if message.to != self.id {
            return Some("addressed to another node");
        }
        if let Err(rule) = message.check_well_formed(self.config.cluster_size) {
            return Some(rule);
        }
        if message.term < self.term {
            return Some(STALE_TERM);
        }
        let is_vote_request = matches!(message.body, Body::PreVote { .. } | Body::Vote { .. });
        if message.term > self.term && is_vote_request && self.in_lease() {
            return Some("inside the leader lease");
        }
        None
    }

    /// How a message contradicts what this node holds, if it does. No
    /// correct node sends such a message, whatever the network did to it:
    /// there is one leader per term (§5.2), a follower acknowledges only
    /// what it was sent, and a leader caps the commit index it sends at what
    /// the follower acknowledged. (An Append cannot replace a committed
    /// entry: one that starts below the commit index is answered without
    /// being applied, see `on_append`.)
    fn contradiction(&self, message: &Message) -> Option<String> {
        let same_term = message.term == self.term;
        let leads = same_term && self.role == Role::Leader;
        let last_index = self.log.last_index();
        match &message.body {
            Body::Append { .. } | Body::Heartbeat { .. } | Body::InstallSnapshot { .. }
                if same_term
                    && (self.role == Role::Leader
                        || self.leader.is_some_and(|leader| leader != message.from)) =>
            {
                Some("a second leader in my term".to_string())
            }
            Body::Heartbeat { commit, .. } if *commit > last_index => {
                Some(format!("commit {commit} beyond my log {last_index}"))
            }
            Body::AppendResponse { outcome } if leads => match outcome {
                AppendOutcome::Accepted { match_index } if *match_index > last_index => {
                    Some(format!("match {match_index} beyond my log {last_index}"))
                }
                AppendOutcome::Rejected { rejected_index, .. } if *rejected_index > last_index => {
                    Some(format!("rejects {rejected_index}, never sent"))
                }
                _ => None,
            },
            Body::HeartbeatResponse { read_round } if leads && *read_round > self.reads.round() => {
                Some(format!("confirms round {read_round}, never sent"))
            }
            _ => None,
        }
    }

    /// The rules of §5.1 for a message of a newer term: this node becomes a
    /// follower in that term (a pre-vote and a granted pre-vote answer
    /// change nothing: they bind no term), of the sender if it leads.
    fn follow_term(&mut self, message: &Message) {
        if message.term <= self.term {
            return;
        }
        match message.body {
            Body::PreVote { .. } | Body::PreVoteResponse { granted: true } => {}
            Body::Append { .. } | Body::Heartbeat { .. } | Body::InstallSnapshot { .. } => {
                self.become_follower(message.term, Some(message.from))
            }
            _ => self.become_follower(message.term, None),
        }
    }

    /// Answers a message from an older term. A leader that lost its term
    /// would never learn it (with check-quorum this node ignores its
    /// heartbeats, and with pre-vote it cannot win an election), so it is
    /// told the newer term; a pre-candidate is told it cannot win.
    fn answer_stale_term(&mut self, message: &Message) {
        let tells_leader = self.config.check_quorum || self.config.pre_vote;
        match message.body {
            Body::Append { .. } | Body::Heartbeat { .. } if tells_leader => {
                self.send_now(message.from, Body::HeartbeatResponse { read_round: 0 });
            }
            Body::PreVote { .. } => {
                self.send_now(message.from, Body::PreVoteResponse { granted: false });
            }
            _ => {}
        }
    }

    fn step_leader(&mut self, message: Message) -> Verdict {
        let from = message.from;
        let is_answer = matches!(
            message.body,
            Body::AppendResponse { .. }
                | Body::HeartbeatResponse { .. }
                | Body::SnapshotResponse { .. }
        );
        if !is_answer {
            return self.ignore(&message, "not for a leader");
        }
        // Any answer in this term, even a stale one, shows the follower is
        // alive (check-quorum).
        self.progress[from.0].recent_active = true;
        if let Some(reason) = self.ignore_answer(&message) {
            return self.ignore(&message, reason);
        }
        match message.body {
            Body::AppendResponse { outcome } => self.on_append_response(from, outcome),
            Body::HeartbeatResponse { read_round } => self.on_heartbeat_response(from, read_round),
            Body::SnapshotResponse {
                next_offset,
                accepted,
                ..
            } => self.on_snapshot_response(from, next_offset, accepted),
            _ => return self.ignore(&message, "not for a leader"),
        }
        Verdict::Handled
    }

    /// Leader: why an answer in this term is dropped, if it is (see
    /// `ignore_append_answer` and `ignore_snapshot_answer`).
    fn ignore_answer(&self, message: &Message) -> Option<&'static str> {
        match &message.body {
            Body::AppendResponse { outcome } => self.ignore_append_answer(message.from, outcome),
            Body::SnapshotResponse {
                snapshot_index,
                next_offset,
                ..
            } => self.ignore_snapshot_answer(message.from, *snapshot_index, *next_offset),
            _ => None,
        }
    }

    fn step_candidate(&mut self, message: Message) -> Verdict {
        match message.body {
            Body::PreVoteResponse { granted } if self.role == Role::PreCandidate => {
                self.step_vote_answer(&message, granted)
            }
            Body::VoteResponse { granted } if self.role == Role::Candidate => {
                self.step_vote_answer(&message, granted)
            }
            Body::Append { .. } | Body::Heartbeat { .. } | Body::InstallSnapshot { .. } => {
                // A leader won this term (§5.2): follow it.
                self.become_follower(self.term, Some(message.from));
                self.step_follower(message)
            }
            _ => self.ignore(&message, "not for a candidate"),
        }
    }

    fn step_vote_answer(&mut self, message: &Message, granted: bool) -> Verdict {
        if let Some(reason) = self.ignore_vote_answer(message.term, granted) {
            return self.ignore(message, reason);
        }
        self.on_vote_response(message.from, granted);
        Verdict::Handled
    }

    fn step_follower(&mut self, message: Message) -> Verdict {
        let from = message.from;
        if let Body::InstallSnapshot {
            snapshot,
            offset,
            data,
            ..
        } = &message.body
        {
            if let Some(reason) = self.ignore_snapshot_chunk(*snapshot, *offset, data.len()) {
                self.heard_leader(from);
                // The partial snapshot can never complete here.
                self.incoming_snapshot = None;
                return self.ignore(&message, reason);
            }
        }
        match message.body {
            Body::Append {
                prev_log,
                commit,
                entries,
            } => {
                self.heard_leader(from);
                self.on_append(from, prev_log, commit, entries);
            }
            Body::Heartbeat { commit, read_round } => {
                self.heard_leader(from);
                self.on_heartbeat(from, commit, read_round);
            }
            Body::InstallSnapshot {
                snapshot,
                offset,
                data,
                last,
            } => {
                self.heard_leader(from);
                self.on_install_snapshot(from, snapshot, offset, data, last);
            }
            _ => return self.ignore(&message, "not for a follower"),
        }
        Verdict::Handled
    }

    /// The leader of this term spoke: follow it, and restart the election
    /// timer.
    fn heard_leader(&mut self, leader: NodeId) {
        self.leader = Some(leader);
        self.election_elapsed = 0;
    }

    fn tick_election(&mut self) {
        self.election_elapsed += 1;
        if self.election_elapsed >= self.randomized_election_ticks {
            self.election_elapsed = 0;
            self.start_election();
        }
    }

    fn tick_leader(&mut self) {
        self.heartbeat_elapsed += 1;
        self.election_elapsed += 1;
        if self.election_elapsed >= self.config.election_ticks_min {
            self.election_elapsed = 0;
            if self.config.check_quorum && !self.maybe_confirm_quorum_active() {
                log::info!("{} lost contact with a majority; stepping down", self.tag());
                self.become_follower(self.term, None);
                return;
            }
        }
        if self.heartbeat_elapsed >= self.config.heartbeat_ticks {
            self.heartbeat_elapsed = 0;
            self.bcast_heartbeat();
            self.retry_snapshot_transfers();
        }
    }

    /// Clears the per-term state when the term or the role changes.
    fn reset(&mut self, term: Term) {
        if term != self.term {
            assert!(term > self.term, "{} term going back to {term}", self.tag());
            self.term = term;
            self.vote = None;
        }
        self.leader = None;
        self.election_elapsed = 0;
        self.heartbeat_elapsed = 0;
        self.randomize_election_timeout();
        self.votes = vec![None; self.config.cluster_size];
        self.progress.clear();
        self.append_pending = false;
        self.heartbeat_pending = false;
        self.lease.clear();
        let dropped = self.reads.clear() as u64;
        self.counters.reads_dropped += dropped;
    }

    /// Becomes a follower in `term`, of `leader` if known.
    pub(super) fn become_follower(&mut self, term: Term, leader: Option<NodeId>) {
        self.reset(term);
        self.role = Role::Follower;
        self.leader = leader;
        log::debug!("{} became follower of {:?}", self.tag(), leader);
    }

    /// Becomes a pre-candidate: polls the others for the next term without
    /// changing its own term or vote (thesis §9.6).
    pub(super) fn become_pre_candidate(&mut self) {
        assert_ne!(
            self.role,
            Role::Leader,
            "{} leader cannot pre-campaign",
            self.tag()
        );
        self.reset(self.term);
        self.role = Role::PreCandidate;
        log::debug!("{} became pre-candidate", self.tag());
    }

    /// Becomes a candidate: a new term and a vote for itself (§5.2).
    pub(super) fn become_candidate(&mut self) {
        assert_ne!(
            self.role,
            Role::Leader,
            "{} leader cannot campaign",
            self.tag()
        );
        self.reset(self.term.next());
        self.role = Role::Candidate;
        self.vote = Some(self.id);
        log::debug!("{} became candidate", self.tag());
    }

    /// Becomes leader: fresh progress for everyone, and a no-op entry so that
    /// an entry of this term can commit (§5.4.2, §8).
    pub(super) fn become_leader(&mut self) {
        assert_eq!(
            self.role,
            Role::Candidate,
            "{} only candidates win",
            self.tag()
        );
        self.reset(self.term);
        self.role = Role::Leader;
        self.leader = Some(self.id);
        // A leader's log is the reference; it never needs a snapshot.
        self.incoming_snapshot = None;
        let next_index = self.log.last_index().next();
        let window = self.config.inflight_appends_max;
        self.progress = (0..self.config.cluster_size)
            .map(|_| Progress::new(next_index, window))
            .collect();
        let own = &mut self.progress[self.id.0];
        own.maybe_update(self.log.persisted());
        own.state = ProgressState::Replicate;
        self.term_start_index = next_index;
        self.append_entry(EntryKind::NoOp, Vec::new());
        log::info!("{} became leader", self.tag());
        self.bcast_append();
    }

    /// Appends a new entry of this term to the leader's log.
    fn append_entry(&mut self, kind: EntryKind, data: Vec<u8>) -> EntryId {
        assert_eq!(
            self.role,
            Role::Leader,
            "{} only leaders append",
            self.tag()
        );
        let entry = Entry {
            term: self.term,
            index: self.log.last_index().next(),
            kind,
            data,
        };
        let id = entry.id();
        self.log.append(vec![entry]);
        id
    }

    fn randomize_election_timeout(&mut self) {
        self.randomized_election_ticks = self
            .rng
            .gen_range(self.config.election_ticks_min..self.config.election_ticks_max);
    }

    /// The leader lease (thesis §6.2 with check-quorum): this node heard from
    /// a live leader less than a minimum election timeout ago, so no election
    /// can be needed yet.
    ///
    /// With lease reads, a node that started less than a minimum election
    /// timeout ago counts as inside a lease too: it may have acknowledged a
    /// heartbeat just before it crashed, and the leader's read lease counts
    /// on that promise (lease.rs, docs/RAFT.md §7.1).
    pub(super) fn in_lease(&self) -> bool {
        let ticks = self.config.election_ticks_min;
        let heard_leader = self.leader.is_some() && self.election_elapsed < ticks;
        let just_started =
            self.config.read_mode == ReadMode::LeaseBased && self.clock < u64::from(ticks);
        self.config.check_quorum && (heard_leader || just_started)
    }

    /// The ids of the other nodes.
    pub(super) fn peers(&self) -> impl Iterator<Item = NodeId> {
        let own = self.id;
        (0..self.config.cluster_size)
            .map(NodeId)
            .filter(move |id| *id != own)
    }

    /// Queues a message that may leave before the next persist.
    pub(super) fn send_now(&mut self, to: NodeId, body: Body) {
        let message = self.envelope(to, self.term, body);
        self.messages_now.push(message);
    }

    /// Queues a message that may only leave once this `Ready` is on disk
    /// (votes and append acknowledgements: they promise durable state).
    pub(super) fn send_after_persist(&mut self, to: NodeId, term: Term, body: Body) {
        let message = self.envelope(to, term, body);
        self.messages_after_persist.push(message);
    }

    fn envelope(&self, to: NodeId, term: Term, body: Body) -> Message {
        assert_ne!(to, self.id, "{} sending to itself", self.tag());
        Message {
            from: self.id,
            to,
            term,
            body,
        }
    }

    /// Ignores a message for `reason`: counted in `messages_dropped`,
    /// logged at debug level (the network loses, repeats and delays
    /// messages; that is no news).
    pub(super) fn ignore(&mut self, message: &Message, reason: &'static str) -> Verdict {
        self.counters.messages_dropped += 1;
        log::debug!("{} ignores {}: {reason}", self.tag(), message.describe());
        Verdict::Ignored(reason)
    }

    /// Refuses a message that contradicts what this node holds: counted in
    /// `contradictions`; the driver logs the verdict at warn level.
    fn refuse(&mut self, message: &Message, why: &str) -> Verdict {
        self.counters.contradictions += 1;
        log::debug!("{} refuses {}: {why}", self.tag(), message.describe());
        Verdict::Refused(format!("{}: {why}", message.describe()))
    }

    /// The log prefix naming this node: id, term and role.
    pub(super) fn tag(&self) -> String {
        format!("raft[{} {} {}]", self.id, self.term, self.role)
    }

    pub(super) fn assert_no_outstanding_ready(&self, call: &str) {
        assert!(
            self.outstanding.is_none(),
            "{} {call} between ready() and advance()",
            self.tag()
        );
    }
}
