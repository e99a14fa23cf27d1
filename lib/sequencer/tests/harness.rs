//! A small lossless cluster for scripted tests: members that hand each
//! other their messages in order, in-memory disks, and the faults a script
//! asks for (cut links, crashes, lost disks, pauses), and a trace of what
//! happened: the ground of the golden scenarios (`scripts.rs`).

use std::collections::{BTreeSet, VecDeque};

use super::sim::sim_config;
use crate::datadriven::verdict_marks;
use crate::sequencer::{
    Body, Destination, GlobalSeq, Member, MemberId, Message, Origin, PersistedState, ReadId,
    Record, SnapshotPoint,
};

/// A lossless cluster: messages arrive in order at the next `settle`.
pub(super) struct Cluster {
    pub(super) members: Vec<Option<Member>>,
    pub(super) disks: Vec<PersistedState>,
    /// Records appended by outputs that needed no sync and not synced since:
    /// a `crash` (the process died) writes them, as the page cache would; a
    /// `power_cut` (the machine went down) loses them.
    unsynced: Vec<Vec<Record>>,
    pub(super) delivered: Vec<Vec<Origin>>,
    pub(super) queue: VecDeque<(MemberId, MemberId, Message)>,
    /// Links that drop every message, as (from, to).
    pub(super) cut: BTreeSet<(u16, u16)>,
    /// Links that drop every Request (first sends and retransmissions).
    pub(super) requests_cut: BTreeSet<(u16, u16)>,
    /// Members frozen: no ticks, and what is sent to them waits.
    pub(super) paused: BTreeSet<u16>,
    /// Members that crash at their next output with early messages, after
    /// sending them and before persisting anything (sections 5.8, 5.10).
    pub(super) torn: BTreeSet<u16>,
    pub(super) waiting: VecDeque<(MemberId, MemberId, Message)>,
    /// Reads handed back ready, with the member's delivered count then.
    pub(super) reads_ready: Vec<Vec<(ReadId, usize)>>,
    /// Reads handed back abandoned.
    pub(super) reads_abandoned: Vec<Vec<ReadId>>,
    /// Restarts so far: each life gets a start nonce of its own, as the
    /// driver draws one at random.
    restarts: u64,
    /// When set, what happened, in order, for a script's trace.
    pub(super) trace: Option<Vec<Event>>,
    /// The headline of each member the trace showed last.
    shown: Vec<String>,
}

/// One thing that happened in the cluster, for a script's trace.
pub(super) enum Event {
    /// A message handed to its member, or lost on a cut link.
    Message {
        /// `m0->m1 ` and the message's `describe()`.
        line: String,
        /// Its kind, to count messages in a quiet trace.
        kind: &'static str,
        /// What is written after its line, and after its kind in a count:
        /// `(dropped)` if it was lost on a cut link, else what the member
        /// made of it (`datadriven::verdict_marks`).
        marks: (String, &'static str),
    },
    /// A delivery, a read handed back, or a state transfer.
    Note(String),
}

impl Cluster {
    pub(super) fn new(size: u16) -> Cluster {
        let config = |id| sim_config(size, MemberId(id), 64);
        Cluster {
            members: (0..size)
                .map(|id| Some(Member::new(config(id)).expect("valid")))
                .collect(),
            disks: (0..size).map(|_| PersistedState::new(size)).collect(),
            unsynced: vec![Vec::new(); usize::from(size)],
            delivered: vec![Vec::new(); usize::from(size)],
            queue: VecDeque::new(),
            cut: BTreeSet::new(),
            requests_cut: BTreeSet::new(),
            paused: BTreeSet::new(),
            torn: BTreeSet::new(),
            waiting: VecDeque::new(),
            reads_ready: vec![Vec::new(); usize::from(size)],
            reads_abandoned: vec![Vec::new(); usize::from(size)],
            restarts: 0,
            trace: None,
            shown: vec![String::new(); usize::from(size)],
        }
    }

    /// Notes member `id`'s headline if it changed since the last note.
    pub(super) fn note_status(&mut self, id: u16) {
        let line = match self.members[usize::from(id)].as_ref() {
            Some(member) => headline(member),
            None => "down".to_string(),
        };
        if self.trace.is_some() && line != self.shown[usize::from(id)] {
            self.note(format!("m{id}: {line}"));
            self.shown[usize::from(id)] = line;
        }
    }

    fn note(&mut self, note: String) {
        if let Some(trace) = self.trace.as_mut() {
            trace.push(Event::Note(note));
        }
    }

    fn message(
        &mut self,
        from: MemberId,
        to: MemberId,
        message: &Message,
        marks: (String, &'static str),
    ) {
        if let Some(trace) = self.trace.as_mut() {
            trace.push(Event::Message {
                line: format!("{from}->{to} {}", message.describe()),
                kind: kind(&message.body),
                marks,
            });
        }
    }

    pub(super) fn member(&mut self, id: u16) -> &mut Member {
        self.members[usize::from(id)].as_mut().expect("live")
    }

    /// Persists, sends and applies one member's output (its early Requests
    /// first: a torn member crashes right after them).
    pub(super) fn drain(&mut self, id: u16) {
        let mut output = self.member(id).take_output();
        let index = usize::from(id);
        let early = std::mem::take(&mut output.early_messages);
        let tears = !early.is_empty() && self.torn.remove(&id);
        self.queue_messages(id, early);
        if tears {
            self.note(format!("m{id} crashes before its fsync"));
            self.crash(id);
            return;
        }
        self.unsynced[index].append(&mut output.to_persist);
        if output.needs_sync() {
            self.write_back(index);
        }
        self.queue_messages(id, output.messages);
        for delivery in output.deliveries {
            let origin = Origin {
                sender: delivery.sender,
                local_seq: delivery.local_seq,
            };
            self.note(format!("m{id} delivers {} = {origin}", delivery.global));
            self.delivered[index].push(origin);
        }
        let delivered = self.delivered[index].len();
        for read in &output.reads_ready {
            self.note(format!(
                "m{id} read {} ready, {delivered} delivered",
                read.0
            ));
        }
        for read in &output.reads_abandoned {
            self.note(format!("m{id} read {} abandoned", read.0));
        }
        let ready = output.reads_ready.iter().map(|read| (*read, delivered));
        self.reads_ready[index].extend(ready);
        self.reads_abandoned[index].extend(output.reads_abandoned);
        let delivered = self.member(id).delivered_up_to();
        self.member(id).applied_durably(delivered);
        self.note_status(id);
        if let Some(need) = output.snapshot_needed {
            self.transfer_snapshot(id, need.base);
        }
    }

    fn queue_messages(&mut self, id: u16, messages: Vec<(Destination, Message)>) {
        for (destination, message) in messages {
            let targets: Vec<u16> = match destination {
                Destination::All => (0..self.members.len() as u16)
                    .filter(|to| *to != id)
                    .collect(),
                Destination::Member(to) => vec![to.0],
            };
            for to in targets {
                self.queue
                    .push_back((MemberId(id), MemberId(to), message.clone()));
            }
        }
    }

    /// A state transfer to `id` from a live member that delivered `base`.
    pub(super) fn transfer_snapshot(&mut self, id: u16, base: GlobalSeq) {
        let donor = (0..self.members.len()).find(|index| {
            *index != usize::from(id)
                && self.members[*index]
                    .as_ref()
                    .is_some_and(|member| member.delivered_up_to() >= base)
        });
        let Some(donor) = donor else { return };
        let point = self.members[donor].as_ref().expect("live").snapshot_point();
        self.note(format!(
            "m{id} installs m{donor}'s snapshot at {}",
            point.global
        ));
        let prefix = self.delivered[donor][..point.global.0 as usize].to_vec();
        self.delivered[usize::from(id)] = prefix;
        self.member(id)
            .install_snapshot(point)
            .expect("a snapshot ahead installs");
        self.drain(id);
    }

    /// The member crashes and its disk is replaced: nothing of it is left.
    pub(super) fn wipe(&mut self, id: u16) {
        let index = usize::from(id);
        let size = self.members.len() as u16;
        self.members[index] = None;
        self.disks[index] = PersistedState::new(size);
        self.unsynced[index].clear();
        self.delivered[index].clear();
        self.note_status(id);
    }

    /// Starts a member with an empty disk (`Member::recover`).
    pub(super) fn start_empty(&mut self, id: u16, nonce: u64) {
        let size = self.members.len() as u16;
        let mut config = sim_config(size, MemberId(id), 64);
        config.recovery_nonce = nonce;
        let member = Member::recover(config, SnapshotPoint::start(size)).expect("valid");
        self.members[usize::from(id)] = Some(member);
        self.drain(id);
    }

    /// Runs `ticks` ticks, delivering every message (dropping those to
    /// crashed members).
    pub(super) fn run(&mut self, ticks: u64) {
        for _ in 0..ticks {
            while self.step_one() {}
            for id in 0..self.members.len() as u16 {
                if self.members[usize::from(id)].is_some() && !self.paused.contains(&id) {
                    self.member(id).tick();
                    self.drain(id);
                }
            }
        }
    }

    /// Hands the first queued message to its member; false if none.
    pub(super) fn step_one(&mut self) -> bool {
        let Some((from, to, message)) = self.queue.pop_front() else {
            return false;
        };
        let is_request = matches!(message.body, Body::Request { .. });
        let cut = self.cut.contains(&(from.0, to.0))
            || is_request && self.requests_cut.contains(&(from.0, to.0));
        if cut {
            self.message(from, to, &message, (" (dropped)".into(), " (dropped)"));
            return true;
        }
        if self.paused.contains(&to.0) {
            self.waiting.push_back((from, to, message));
            return true;
        }
        if let Some(member) = self.members[to.index()].as_mut() {
            let verdict = member.step(from, message.clone()).expect("valid");
            self.message(from, to, &message, verdict_marks(&verdict));
            self.drain(to.0);
        }
        true
    }

    /// Fails the script if a member refused a message as contradictory: the
    /// members are all this code, so a refusal is a protocol bug (a running
    /// replica survives a peer's bug; a test must not let one pass).
    pub(super) fn assert_no_contradictions(&self, at: &str) {
        for (index, member) in self.members.iter().enumerate() {
            let refused = member
                .as_ref()
                .map_or(0, |member| member.status().counters.contradictions);
            assert_eq!(refused, 0, "{at}: m{index} refused contradictory messages");
        }
    }

    /// Cuts every link between a member of `side` and one outside it.
    pub(super) fn partition(&mut self, side: &[u16]) {
        let size = self.members.len() as u16;
        for inside in side {
            for outside in (0..size).filter(|id| !side.contains(id)) {
                self.cut.insert((*inside, outside));
                self.cut.insert((outside, *inside));
            }
        }
    }

    /// Runs one tick at a time until `done` holds (at most `ticks`).
    pub(super) fn run_until(
        &mut self,
        ticks: u64,
        mut done: impl FnMut(&mut Cluster) -> bool,
    ) -> bool {
        for _ in 0..ticks {
            if done(self) {
                return true;
            }
            self.run(1);
        }
        done(self)
    }

    /// The process dies; what it appended reaches its disk anyway.
    pub(super) fn crash(&mut self, id: u16) {
        self.write_back(usize::from(id));
        self.members[usize::from(id)] = None;
        self.note_status(id);
    }

    /// Makes member `index`'s appended records durable, in order.
    fn write_back(&mut self, index: usize) {
        for record in std::mem::take(&mut self.unsynced[index]) {
            self.disks[index].apply(&record);
        }
    }

    /// The machine goes down: what the member appended and never synced is
    /// lost with it.
    pub(super) fn power_cut(&mut self, id: u16) {
        self.unsynced[usize::from(id)].clear();
        self.members[usize::from(id)] = None;
        self.note_status(id);
    }

    pub(super) fn restart(&mut self, id: u16) {
        let index = usize::from(id);
        let size = self.members.len() as u16;
        let mut applied = SnapshotPoint::start(size);
        for (global, origin) in self.delivered[index].iter().enumerate() {
            applied.global = GlobalSeq(global as u64 + 1);
            applied.delivered_local[origin.sender.index()] = origin.local_seq;
        }
        let mut config = sim_config(size, MemberId(id), 64);
        self.restarts += 1;
        config.recovery_nonce = self.restarts;
        let member = Member::restore(config, self.disks[index].clone(), applied).expect("restore");
        self.members[index] = Some(member);
        self.drain(id);
    }
}

/// What a member's trace line says: its installed view, a view change
/// under way, what it delivered, whether it recovers or serves, in which
/// incarnation it numbers its requests (when not 0), and the messages it
/// refused because they contradict what it holds (when any).
pub(super) fn headline(member: &Member) -> String {
    let status = member.status();
    let mut line = format!("{}", status.installed);
    if status.changing {
        line += &format!(", changing to v{}", status.view);
    }
    line += &format!(", delivered {}", status.delivered_up_to);
    if status.recovering {
        line += ", recovering";
    }
    if status.incarnation > 0 {
        line += &format!(", incarnation {}", status.incarnation);
    }
    if !member.is_serving() {
        line += ", not serving";
    }
    if status.counters.contradictions > 0 {
        line += &format!(", {} contradictions", status.counters.contradictions);
    }
    line
}

/// The name of a message's kind, for the counts of a quiet trace.
fn kind(body: &Body) -> &'static str {
    match body {
        Body::Request { .. } => "request",
        Body::Sequence { .. } => "sequence",
        Body::Retransmit { .. } => "retransmit",
        Body::Heartbeat => "heartbeat",
        Body::Compacted { .. } => "compacted",
        Body::StartViewChange => "start view change",
        Body::DoViewChange { .. } => "do view change",
        Body::NewView { .. } => "new view",
        Body::GetView { .. } => "get view",
        Body::Recover { .. } => "recover",
        Body::RecoverAnswer { .. } => "recover answer",
        Body::ReadQuery { .. } => "read query",
        Body::ReadAnswer { .. } => "read answer",
    }
}
