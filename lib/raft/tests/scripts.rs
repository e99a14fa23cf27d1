//! The golden scenarios of the raft core: the scripts of
//! `lib/raft/tests/testdata/` run by `crate::datadriven` over the cluster of
//! `harness.rs` (so the safety checker watches every step of them too).
//!
//! The commands (arguments in `key=value` form, flags bare):
//!
//! * `add-nodes n=3 [basic] [lease] [term=T] [append-max=N] [log0=1,1,2 ...]`:
//!   a new cluster; `basic` turns pre-vote and check-quorum off; `lease`
//!   makes reads lease-based; `logK` and `term` start node K from a log
//!   with those terms, as if restarted.
//! * `campaign id=K`: node K starts an election now (nothing is delivered).
//! * `stabilize [quiet]`: delivers every message, in send order, until none
//!   is left. Prints each message delivered (`describe()`), marked
//!   `(ignored: why)` if the node ignored it or `(refused: why)` if it
//!   refused it as contradictory, and each one lost on a cut link or to a
//!   `drop` rule, marked `(dropped)`.
//! * `deliver n=N`: delivers the next N messages only.
//! * `tick-all n=N [quiet]`: N times: tick every running node, stabilize.
//! * `tick id=K [n=N]`: ticks node K alone (nothing is delivered).
//! * `propose id=K value=V`, `read id=K ctx=C`: client requests; print the
//!   new entry, `ok`, or the error.
//! * `propose-range id=K first=V last=W`: proposes each value in turn and
//!   delivers every message before the next (quietly).
//! * `crash id=K`, `restart id=K`: loses node K's memory; starts it from
//!   its disk.
//! * `cut a=K b=L`, `isolate id=K`, `heal`: the network's links.
//! * `drop kind=Name [to=K] [entry-term=T] [skip=N] [every=N]`: loses the
//!   messages of that kind (to K, carrying an entry of term T), letting the
//!   first N through, or only every N-th; `drop clear` ends it.
//! * `compact id=K`: node K snapshots everything it applied.
//! * `advance-clock [id=K] by=N`: node K's clock (every node's) moves N
//!   ticks on, its timers do not; `lease id=K`: whether node K holds a
//!   lease, at which tick, and how many reads it answered on one.
//! * `status`, `log`: every node's state; every node's log.
//!
//! Under every command, an indented line shows each node whose role, term
//! or commit index changed (`  n1: leader t2 commit=i3`), and each read
//! confirmed (`  n0: read ctx=1 at i4`). With `quiet`, messages are not
//! listed: a last line counts them by kind instead.

use std::collections::BTreeMap;

use super::harness::{entries_with_terms, Cluster};
use crate::datadriven::{run_folder, verdict_marks, Command};
use crate::raft::{
    AppendOutcome, Body, HardState, LogIndex, Message, NodeId, RaftConfig, ReadMode, Term,
};
use crate::verdict::Verdict;

/// A script's state: its cluster (once `add-nodes` ran) and what the trace
/// showed last of each node.
#[derive(Default)]
struct Script {
    cluster: Option<Cluster>,
    shown: Vec<String>,
    reads_shown: usize,
}

/// What became of a message: lost on a cut link or to a `drop` rule, or
/// delivered, with the node's verdict (`None`: the node was down).
enum Fate {
    Lost,
    Delivered(Option<Verdict>),
}

/// What one command prints.
#[derive(Default)]
struct Trace {
    lines: Vec<String>,
    quiet: bool,
    /// Messages delivered (and dropped) by kind, for `quiet`.
    counts: BTreeMap<String, u64>,
}

impl Trace {
    /// A message lost on the way (`Fate::Lost`) or delivered, with what
    /// the node made of it.
    fn message(&mut self, message: &Message, fate: Fate) {
        let (mark, count_mark) = match fate {
            Fate::Lost => (" (dropped)".to_string(), " (dropped)"),
            Fate::Delivered(Some(verdict)) => verdict_marks(&verdict),
            Fate::Delivered(None) => (String::new(), ""),
        };
        if !self.quiet {
            self.lines.push(format!("{}{mark}", message.describe()));
        }
        let kind = match &message.body {
            Body::AppendResponse {
                outcome: AppendOutcome::Rejected { .. },
            } => "AppendRejected",
            body => body.name(),
        };
        *self
            .counts
            .entry(format!("{kind}{count_mark}"))
            .or_default() += 1;
    }

    fn finish(mut self) -> String {
        if self.quiet && !self.counts.is_empty() {
            let counts: Vec<String> = self
                .counts
                .iter()
                .map(|(kind, count)| format!("{kind} {count}"))
                .collect();
            self.lines.push(format!("messages: {}", counts.join(", ")));
        }
        self.lines.join("\n")
    }
}

#[test]
fn golden_scenarios() {
    run_folder("lib/raft/tests/testdata", Script::default, Script::execute);
}

impl Script {
    fn execute(&mut self, command: &Command) -> String {
        let mut trace = Trace {
            quiet: command.flag("quiet"),
            ..Trace::default()
        };
        let id = command.number("id").map(|id| id as usize);
        match command.name.as_str() {
            "add-nodes" => self.add_nodes(command),
            "status" => return self.status(),
            "log" => return self.log(),
            "propose" => return self.propose(command),
            "propose-range" => self.propose_range(&mut trace, command),
            "read" => return self.read(command),
            "compact" => return self.compact(command),
            "restart" => self
                .cluster()
                .start(NodeId(command.required("id") as usize)),
            "campaign" => {
                let id = command.required("id") as usize;
                self.cluster().node_mut(id).campaign();
                self.cluster().process_ready(NodeId(id), None);
            }
            "stabilize" => self.deliver(&mut trace, u64::MAX),
            "deliver" => self.deliver(&mut trace, command.required("n")),
            "tick-all" => self.tick_all(&mut trace, command.required("n")),
            "tick" => {
                let id = NodeId(id.expect("tick needs id=K"));
                (0..command.number("n").unwrap_or(1)).for_each(|_| self.cluster().tick(id));
            }
            "crash" => self
                .cluster()
                .crash(NodeId(command.required("id") as usize)),
            "advance-clock" | "lease" => return self.lease(command),
            _ => self.network(command),
        }
        self.changes(&mut trace);
        trace.finish()
    }

    fn cluster(&mut self) -> &mut Cluster {
        self.cluster.as_mut().expect("add-nodes first")
    }

    fn add_nodes(&mut self, command: &Command) {
        let size = command.required("n") as usize;
        let term = Term(command.number("term").unwrap_or(0));
        let logs = (0..size)
            .map(|id| {
                let terms = command.numbers(&format!("log{id}"));
                let hard_state = HardState {
                    term,
                    vote: None,
                    commit: LogIndex::ZERO,
                };
                (hard_state, entries_with_terms(&terms))
            })
            .collect();
        let basic = command.flag("basic");
        let lease = command.flag("lease");
        let append_max = command.number("append-max");
        let mut cluster = Cluster::with_logs(1, logs, |config: &mut RaftConfig| {
            if basic {
                config.pre_vote = false;
                config.check_quorum = false;
            }
            if let Some(max) = append_max {
                config.append_entries_max = max as usize;
            }
            if lease {
                config.read_mode = ReadMode::LeaseBased;
            }
        });
        cluster.network.dropped = Some(Vec::new());
        self.cluster = Some(cluster);
        self.shown = vec![String::new(); size];
        self.reads_shown = 0;
    }

    /// The network commands: `cut`, `isolate`, `heal`, `drop`.
    fn network(&mut self, command: &Command) {
        let network = &mut self.cluster().network;
        match command.name.as_str() {
            "cut" => network.cut(
                NodeId(command.required("a") as usize),
                NodeId(command.required("b") as usize),
            ),
            "isolate" => network.isolate(NodeId(command.required("id") as usize)),
            "heal" => network.heal(),
            "drop" if command.flag("clear") => network.drop_if = None,
            "drop" => network.drop_if = Some(drop_rule(command)),
            _ => command.unknown(),
        }
    }

    /// Delivers up to `count` messages, in send order.
    fn deliver(&mut self, trace: &mut Trace, count: u64) {
        for _ in 0..count {
            let next = self.cluster().network_pop_next();
            let dropped = self.cluster().network.dropped.replace(Vec::new());
            dropped
                .unwrap_or_default()
                .iter()
                .for_each(|message| trace.message(message, Fate::Lost));
            let Some(message) = next else {
                return;
            };
            let verdict = self.cluster().deliver(message.clone(), None);
            trace.message(&message, Fate::Delivered(verdict));
            self.changes(trace);
        }
    }

    fn tick_all(&mut self, trace: &mut Trace, ticks: u64) {
        for _ in 0..ticks {
            for id in 0..self.cluster().replicas.len() {
                self.cluster().tick(NodeId(id));
                self.changes(trace);
            }
            self.deliver(trace, u64::MAX);
        }
    }

    /// Adds a line for each node whose headline changed, and for each read
    /// confirmed, since the last time.
    fn changes(&mut self, trace: &mut Trace) {
        let Some(cluster) = self.cluster.as_ref() else {
            return;
        };
        for id in 0..cluster.replicas.len() {
            let line = headline(cluster, id);
            if line != self.shown[id] {
                trace.lines.push(format!("  n{id}: {line}"));
                self.shown[id] = line;
            }
        }
        for (id, read) in &cluster.read_states[self.reads_shown..] {
            let context = u64::from_le_bytes(read.request_ctx[..8].try_into().expect("8 bytes"));
            trace
                .lines
                .push(format!("  {id}: read ctx={context} at {}", read.index));
        }
        self.reads_shown = cluster.read_states.len();
    }

    fn propose(&mut self, command: &Command) -> String {
        let id = NodeId(command.required("id") as usize);
        match self.cluster().propose(id, command.required("value")) {
            Ok(entry) => entry.to_string(),
            Err(error) => format!("error: {error}"),
        }
    }

    /// Proposes each value of `first..=last`, delivering every message
    /// before the next. Only the messages' counts and each node's state at
    /// the end are shown.
    fn propose_range(&mut self, trace: &mut Trace, command: &Command) {
        let id = NodeId(command.required("id") as usize);
        let shown = self.shown.clone();
        trace.quiet = true;
        for value in command.required("first")..=command.required("last") {
            if let Err(error) = self.cluster().propose(id, value) {
                trace.lines.push(format!("error: {error}"));
            }
            self.deliver(trace, u64::MAX);
        }
        trace.lines.retain(|line| !line.starts_with("  "));
        self.shown = shown;
    }

    fn read(&mut self, command: &Command) -> String {
        let id = NodeId(command.required("id") as usize);
        match self.cluster().read(id, command.required("ctx")) {
            Ok(()) => "ok".to_string(),
            Err(error) => format!("error: {error}"),
        }
    }

    /// `advance-clock [id=K] by=N`: moves node K's clock (every node's
    /// without `id`) N ticks on, without ticking its timers, as a driver
    /// does for time it could not tick. `lease id=K`: whether node K holds
    /// a lease now, its clock, and the reads it answered on a lease.
    fn lease(&mut self, command: &Command) -> String {
        let cluster = self.cluster();
        let ids: Vec<usize> = match command.number("id") {
            Some(id) => vec![id as usize],
            None => (0..cluster.replicas.len()).collect(),
        };
        if command.name == "lease" {
            let node = cluster.node(ids[0]);
            let held = if node.holds_lease() { "holds" } else { "no" };
            let reads = node.status().counters.lease_reads;
            return format!(
                "n{}: {held} lease at tick {}, lease reads {reads}",
                ids[0],
                node.clock()
            );
        }
        for id in ids {
            let node = cluster.node_mut(id);
            node.advance_clock(node.clock() + command.required("by"));
        }
        "ok".to_string()
    }

    fn compact(&mut self, command: &Command) -> String {
        let id = command.required("id") as usize;
        let cluster = self.cluster();
        cluster.compact_every = 1;
        cluster.maybe_compact(NodeId(id));
        cluster.compact_every = 0;
        let snapshot = &cluster.node(id).log().snapshot().meta;
        format!("n{id}: snapshot at {}/{}", snapshot.index, snapshot.term)
    }

    /// One line per node: its headline and the values it applied.
    fn status(&mut self) -> String {
        let cluster = self.cluster();
        let lines: Vec<String> = (0..cluster.replicas.len())
            .map(|id| {
                let values: Vec<String> = cluster.replicas[id]
                    .state
                    .values
                    .iter()
                    .map(u64::to_string)
                    .collect();
                let line = headline(cluster, id);
                format!("n{id}: {line} applied=[{}]", values.join(" "))
            })
            .collect();
        lines.join("\n")
    }

    /// One line per node: its snapshot, then the terms of its entries.
    fn log(&mut self) -> String {
        let cluster = self.cluster();
        let lines: Vec<String> = (0..cluster.replicas.len())
            .map(|id| {
                if !cluster.is_up(id) {
                    return format!("n{id}: down");
                }
                let snapshot = &cluster.node(id).log().snapshot().meta;
                let terms: Vec<String> = cluster.log_terms(id).iter().map(u64::to_string).collect();
                let at = format!("{}/{}", snapshot.index, snapshot.term);
                format!("n{id}: snapshot={at} terms=[{}]", terms.join(" "))
            })
            .collect();
        lines.join("\n")
    }
}

/// A node's role, term and commit index, or `down`.
fn headline(cluster: &Cluster, id: usize) -> String {
    if !cluster.is_up(id) {
        return "down".to_string();
    }
    let status = cluster.node(id).status();
    format!("{} {} commit={}", status.role, status.term, status.commit)
}

/// The filter of a `drop` command.
fn drop_rule(command: &Command) -> Box<dyn FnMut(&Message) -> bool> {
    let kind = command
        .value("kind")
        .unwrap_or_else(|| panic!("{}: drop needs kind=Name", command.at))
        .to_string();
    let to = command.number("to").map(|to| NodeId(to as usize));
    let entry_term = command.number("entry-term").map(Term);
    let mut skip = command.number("skip").unwrap_or(0);
    let every = command.number("every").unwrap_or(1);
    let mut seen = 0;
    Box::new(move |message| {
        let carries = |term| match &message.body {
            Body::Append { entries, .. } => entries.iter().any(|entry| entry.term == term),
            _ => false,
        };
        let matches = message.body.name() == kind
            && to.is_none_or(|to| message.to == to)
            && entry_term.is_none_or(carries);
        if !matches {
            return false;
        }
        if skip > 0 {
            skip -= 1;
            return false;
        }
        seen += 1;
        seen % every == 0
    })
}
