//! The golden scenarios of the sequencer core: the scripts of
//! `lib/sequencer/tests/testdata/` run by `crate::datadriven` over the
//! lossless cluster of `harness.rs`.
//!
//! The commands (arguments in `key=value` form, flags bare):
//!
//! * `members n=3`: a new group, every member up in view 0.
//! * `broadcast id=K [n=N]`: member K takes N client requests (1 by
//!   default); prints the origin of each, or the error.
//! * `read id=K`: a read at member K; prints its id, or the error.
//! * `run ticks=N [quiet] [heartbeats]`: N ticks; in each, every queued
//!   message is handed over in order, then every running member ticks.
//! * `run-until id=K max=N [view=V] [installed=V] [stable] [changing]
//!   [recovered] [delivered=D]`: runs tick by tick until member K matches
//!   every condition given (at most N ticks); prints how many ticks it
//!   took.
//! * `drop-queued`: every message in flight is lost.
//! * `deliver [n=N]`: hands over the next N queued messages (all by
//!   default), without a tick; `deliver until id=K ...` hands them over one
//!   at a time until member K matches the conditions (as `run-until`'s).
//! * `crash id=K`, `restart id=K`: member K's process stops (records it
//!   appended unsynced still reach its disk, as the page cache writes them);
//!   it starts again from its disk (and what its application applied).
//! * `power-cut id=K`: member K's machine stops: records it appended and
//!   never synced are lost. `restart` as after a crash.
//! * `lose-disk id=K`, `start-empty id=K nonce=N`: member K stops and its
//!   disk is replaced; it starts with an empty disk and recovers.
//! * `partition ids=K,L`: cuts every link between those and the others;
//!   `cut from=K to=L`: one direction; `uncut from=K to=L`: that direction
//!   works again; `cut-requests from=K to=L`: that direction loses every
//!   Request (first sends and retransmissions); `heal`: every link works
//!   again.
//! * `pause id=K`, `resume id=K [first]`: member K is frozen (no ticks;
//!   what is sent to it waits) and resumed; what waited is queued after
//!   what is in flight, or with `first` ahead of it (a socket buffer read
//!   before anything sent since). `sleep id=K`, `wake id=K`: the same, but
//!   what is sent to it meanwhile is lost.
//! * `state`: every member's headline and what it delivered.
//!
//! The trace lists each message handed over (`m0->m1 ` and `describe()`;
//! `(ignored: why)` if the member ignored it, `(refused: why)` if it
//! refused it as contradictory, `(dropped)` when lost on a cut link; those
//! to a member that is down are lost unseen), but heartbeats unless
//! `heartbeats` is given, and none with `quiet`: a last line counts those
//! left out, by kind. Indented lines say what happened at a member: a
//! delivery, a read handed back, a state transfer, or a new headline
//! (installed view, view change under way, delivered number, and whether
//! it recovers or serves).

use std::collections::{BTreeMap, VecDeque};

use super::harness::{headline, Cluster, Event};
use crate::datadriven::{run_folder, Command};
use crate::sequencer::{Member, MemberId};

/// A script's state: its group (once `members` ran) and its sleepers.
#[derive(Default)]
struct Script {
    cluster: Option<Cluster>,
    sleeping: BTreeMap<u16, Member>,
}

#[test]
fn golden_scenarios() {
    run_folder(
        "lib/sequencer/tests/testdata",
        Script::default,
        Script::execute,
    );
}

impl Script {
    fn execute(&mut self, command: &Command) -> String {
        let id = command.number("id").map(|id| id as u16);
        let required_id = || id.unwrap_or_else(|| panic!("{}: needs id=K", command.at));
        let mut printed = Vec::new();
        match command.name.as_str() {
            "members" => self.members(command.required("n") as u16),
            "broadcast" => printed = self.broadcast(required_id(), command),
            "read" => printed.push(self.read(required_id())),
            "run" => self.cluster().run(command.required("ticks")),
            "run-until" => {
                let reached = self.run_until(required_id(), command);
                printed.extend(self.trace(command));
                printed.push(reached);
                self.cluster().assert_no_contradictions(&command.at);
                return printed.join("\n");
            }
            "drop-queued" => self.cluster().queue.clear(),
            "deliver" => self.deliver(command),
            "crash" => self.cluster().crash(required_id()),
            "power-cut" => self.cluster().power_cut(required_id()),
            "tear-next-flush" => {
                self.cluster().torn.insert(required_id());
            }
            "restart" => self.cluster().restart(required_id()),
            "lose-disk" => self.cluster().wipe(required_id()),
            "start-empty" => {
                let nonce = command.required("nonce");
                self.cluster().start_empty(required_id(), nonce);
            }
            "state" => return self.state(),
            _ => self.faults(command),
        }
        printed.extend(self.trace(command));
        self.cluster().assert_no_contradictions(&command.at);
        printed.join("\n")
    }

    fn cluster(&mut self) -> &mut Cluster {
        self.cluster.as_mut().expect("members first")
    }

    fn members(&mut self, size: u16) {
        let mut cluster = Cluster::new(size);
        cluster.trace = Some(Vec::new());
        (0..size).for_each(|id| cluster.note_status(id));
        self.cluster = Some(cluster);
        self.sleeping.clear();
    }

    /// The network and process faults: `partition`, `cut`, `heal`,
    /// `pause`, `resume`, `sleep`, `wake`.
    fn faults(&mut self, command: &Command) {
        let id = || command.required("id") as u16;
        match command.name.as_str() {
            "partition" => {
                let side: Vec<u16> = command.numbers("ids").iter().map(|id| *id as u16).collect();
                self.cluster().partition(&side);
            }
            "cut" => {
                let link = (
                    command.required("from") as u16,
                    command.required("to") as u16,
                );
                self.cluster().cut.insert(link);
            }
            "uncut" => {
                let link = (
                    command.required("from") as u16,
                    command.required("to") as u16,
                );
                self.cluster().cut.remove(&link);
            }
            "cut-requests" => {
                let link = (
                    command.required("from") as u16,
                    command.required("to") as u16,
                );
                self.cluster().requests_cut.insert(link);
            }
            "heal" => {
                self.cluster().cut.clear();
                self.cluster().requests_cut.clear();
            }
            "pause" => {
                self.cluster().paused.insert(id());
            }
            "resume" => self.resume(id(), command.flag("first")),
            "unpause" => {
                // It ticks and takes new messages again; what waited for it
                // stays held until `resume`.
                self.cluster().paused.remove(&id());
            }
            "sleep" => {
                let member = self.cluster().members[usize::from(id())].take();
                self.sleeping
                    .insert(id(), member.expect("a running member sleeps"));
            }
            "wake" => {
                let member = self.sleeping.remove(&id()).expect("a sleeping member");
                self.cluster().members[usize::from(id())] = Some(member);
                self.cluster().note_status(id());
            }
            _ => command.unknown(),
        }
    }

    /// Resumes member `id`: it ticks again, and what waited for it is
    /// queued again, in order: after what is queued, or with `first`
    /// ahead of it (a socket buffer read before what was sent since).
    fn resume(&mut self, id: u16, first: bool) {
        let cluster = self.cluster();
        cluster.paused.remove(&id);
        let (mut mine, others): (VecDeque<_>, VecDeque<_>) =
            cluster.waiting.drain(..).partition(|(_, to, _)| to.0 == id);
        cluster.waiting = others;
        if first {
            mine.append(&mut cluster.queue);
            cluster.queue = mine;
        } else {
            cluster.queue.extend(mine);
        }
    }

    fn broadcast(&mut self, id: u16, command: &Command) -> Vec<String> {
        let mut lines = Vec::new();
        for _ in 0..command.number("n").unwrap_or(1) {
            let payload = command.value("payload").unwrap_or("op");
            let result = self
                .cluster()
                .member(id)
                .broadcast(payload.as_bytes().to_vec());
            lines.push(match result {
                Ok(local_seq) => format!("{id}/{local_seq}"),
                Err(error) => format!("error: {error}"),
            });
            self.cluster().drain(id);
        }
        lines
    }

    fn read(&mut self, id: u16) -> String {
        let result = self.cluster().member(id).read();
        self.cluster().drain(id);
        match result {
            Ok(read) => format!("read {}", read.0),
            Err(error) => format!("error: {error}"),
        }
    }

    fn run_until(&mut self, id: u16, command: &Command) -> String {
        let max = command.required("max");
        let condition = Condition::of(command);
        let mut ticks = 0;
        let done = self.cluster().run_until(max, |cluster| {
            let matches = condition.holds(cluster, id);
            ticks += u64::from(!matches);
            matches
        });
        assert!(done, "{}: not reached in {max} ticks", command.at);
        format!("reached after {ticks} ticks")
    }

    /// Hands over queued messages one at a time: `n` of them (all by
    /// default), or, given `until` and `id=K`, until member K matches.
    fn deliver(&mut self, command: &Command) {
        let count = command.number("n").unwrap_or(u64::MAX);
        let until = command.flag("until").then(|| {
            let id = command.required("id") as u16;
            (id, Condition::of(command))
        });
        for _ in 0..count {
            let cluster = self.cluster();
            if until
                .as_ref()
                .is_some_and(|(id, done)| done.holds(cluster, *id))
            {
                return;
            }
            if !cluster.step_one() {
                assert!(until.is_none(), "{}: the queue ran dry first", command.at);
                return;
            }
        }
    }

    /// The trace of the events since the last command.
    fn trace(&mut self, command: &Command) -> Vec<String> {
        let events = self.cluster().trace.replace(Vec::new());
        let quiet = command.flag("quiet");
        let heartbeats = command.flag("heartbeats");
        let mut lines = Vec::new();
        let mut left_out: BTreeMap<String, u64> = BTreeMap::new();
        for event in events.unwrap_or_default() {
            match event {
                Event::Note(note) => lines.push(format!("  {note}")),
                Event::Message {
                    line,
                    kind,
                    marks: (mark, count_mark),
                } => {
                    if quiet || (kind == "heartbeat" && !heartbeats) {
                        *left_out.entry(format!("{kind}{count_mark}")).or_default() += 1;
                    } else {
                        lines.push(format!("{line}{mark}"));
                    }
                }
            }
        }
        if !left_out.is_empty() {
            let counts: Vec<String> = left_out
                .iter()
                .map(|(kind, count)| format!("{kind} {count}"))
                .collect();
            lines.push(format!("not shown: {}", counts.join(", ")));
        }
        lines
    }

    /// Every member's headline and the origins it delivered, in order.
    fn state(&mut self) -> String {
        let cluster = self.cluster.as_ref().expect("members first");
        let lines: Vec<String> = (0..cluster.members.len())
            .map(|index| {
                if self.sleeping.contains_key(&(index as u16)) {
                    return format!("m{index}: asleep");
                }
                let Some(member) = cluster.members[index].as_ref() else {
                    return format!("m{index}: down");
                };
                let delivered: Vec<String> = cluster.delivered[index]
                    .iter()
                    .map(ToString::to_string)
                    .collect();
                let member_id = MemberId(index as u16);
                format!(
                    "{member_id}: {}\n    delivered [{}]",
                    headline(member),
                    delivered.join(" ")
                )
            })
            .collect();
        lines.join("\n")
    }
}

/// What `run-until` and `deliver until` wait for at one member: every
/// condition given holds.
struct Condition {
    view: Option<u64>,
    installed: Option<u64>,
    delivered: Option<u64>,
    stable: bool,
    changing: bool,
    recovered: bool,
}

impl Condition {
    fn of(command: &Command) -> Condition {
        Condition {
            view: command.number("view"),
            installed: command.number("installed"),
            delivered: command.number("delivered"),
            stable: command.flag("stable"),
            changing: command.flag("changing"),
            recovered: command.flag("recovered"),
        }
    }

    fn holds(&self, cluster: &Cluster, id: u16) -> bool {
        let Some(member) = cluster.members[usize::from(id)].as_ref() else {
            return false;
        };
        let status = member.status();
        self.view.is_none_or(|view| status.view == view)
            && self
                .installed
                .is_none_or(|view| status.installed.number == view)
            && self
                .delivered
                .is_none_or(|count| status.delivered_up_to.0 >= count)
            && (!self.stable || !status.changing)
            && (!self.changing || status.changing)
            && (!self.recovered || !status.recovering)
    }
}
