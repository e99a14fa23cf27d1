//! The safety properties of Raft (Figure 3 of the paper), checked against
//! the cluster after every step:
//!
//! * Election Safety: at most one leader per term.
//! * Log Matching: two logs holding an entry with the same index and term
//!   hold the same command there and the same entries before it. Checked
//!   with a registry: each (index, term) seen anywhere maps to one command
//!   and one previous term, so by induction the prefixes agree.
//! * Leader Completeness: a leader holds every entry committed in an
//!   earlier term. (A deposed leader that has not heard of its successor
//!   need not hold what the successor committed.)
//! * State Machine Safety: replicas apply the same command at each index;
//!   each replica's applied history is a prefix of one canonical history.
//! * Durability: a committed entry stays on a majority of disks.
//! * Linearizable reads: a confirmed read's index covers every entry
//!   committed before the read was requested.
//! * No correct node ever sees a protocol violation.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use super::harness::{chain, value_of, Replica, StateMachine};
use crate::raft::{Entry, EntryId, EntryKind, LogIndex, NodeId, RaftNode, ReadState, Role, Term};

/// A fast, non-cryptographic hasher for the registry's small integer keys
/// (the registry is looked up for every entry of every log at every step).
#[derive(Default)]
struct IntegerHasher(u64);

impl Hasher for IntegerHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.write_u64(*byte as u64);
        }
    }
    fn write_u64(&mut self, value: u64) {
        self.0 = (self.0.rotate_left(5) ^ value).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<IntegerHasher>>;

/// A committed entry as first seen, and the history hash up to it.
#[derive(Clone, Copy, Debug)]
struct CommittedEntry {
    term: Term,
    /// The term of the node that first saw it committed: the leader that
    /// committed it, which a leader of any later term must know of.
    commit_term: Term,
    command_hash: u64,
    history_hash: u64,
}

/// The global view the checks compare each replica against.
pub struct Checker {
    size: usize,
    leaders: HashMap<Term, NodeId>,
    registry: FastMap<EntryId, (u64, Term)>,
    /// The canonical committed log; index 0 is the empty prefix.
    committed: Vec<CommittedEntry>,
    /// Per replica, the commit index up to which its log was checked.
    observed_commit: Vec<LogIndex>,
    /// Read context → highest commit index when the read was requested.
    reads: HashMap<u64, LogIndex>,
    /// Confirmed reads seen.
    pub reads_confirmed: u64,
    /// Entries applied, over all replicas.
    pub entries_applied: u64,
}

fn command_hash(entry: &Entry) -> u64 {
    let kind = match entry.kind {
        EntryKind::Normal => 1,
        EntryKind::NoOp => 2,
    };
    entry
        .data
        .iter()
        .fold(kind, |hash, byte| chain(hash, *byte as u64))
}

impl Checker {
    /// A checker for `size` replicas.
    pub fn new(size: usize) -> Checker {
        let empty = CommittedEntry {
            term: Term::ZERO,
            commit_term: Term::ZERO,
            command_hash: 0,
            history_hash: 0,
        };
        Checker {
            size,
            leaders: HashMap::new(),
            registry: FastMap::default(),
            committed: vec![empty],
            observed_commit: vec![LogIndex::ZERO; size],
            reads: HashMap::new(),
            reads_confirmed: 0,
            entries_applied: 0,
        }
    }

    /// How many terms had a leader.
    pub fn terms_with_leader(&self) -> usize {
        self.leaders.len()
    }

    /// The highest index known committed anywhere.
    pub fn commit_max(&self) -> LogIndex {
        LogIndex(self.committed.len() as u64 - 1)
    }

    /// The canonical committed entry ids, from index 1.
    pub fn committed_ids(&self) -> Vec<EntryId> {
        (1..self.committed.len())
            .map(|index| EntryId {
                term: self.committed[index].term,
                index: LogIndex(index as u64),
            })
            .collect()
    }

    /// Runs every per-node check on `node`, and the durability check.
    pub fn check_node(&mut self, node: &RaftNode, replicas: &[Replica]) {
        let id = node.id();
        // A refusal is how a core survives a peer's bug; in testing, every
        // peer is this code, so a refusal is a bug to report.
        let contradictions = node.status().counters.contradictions;
        assert_eq!(contradictions, 0, "{id} refused a contradictory message");
        node.log().check_invariants();
        self.check_election_safety(node);
        self.check_log_matching(node);
        self.observe_commit(node);
        if node.role() == Role::Leader {
            self.check_leader_completeness(node);
        }
        self.check_durability(replicas);
    }

    fn check_election_safety(&mut self, node: &RaftNode) {
        if node.role() != Role::Leader {
            return;
        }
        let leader = *self.leaders.entry(node.term()).or_insert(node.id());
        assert_eq!(leader, node.id(), "two leaders in {}", node.term());
    }

    fn check_log_matching(&mut self, node: &RaftNode) {
        let snapshot = node.log().snapshot().meta;
        if snapshot.index > LogIndex::ZERO {
            let committed = self.committed.get(snapshot.index.0 as usize);
            let term = committed.map(|entry| entry.term);
            assert_eq!(
                term,
                Some(snapshot.term),
                "{} holds snapshot {} of an uncommitted entry",
                node.id(),
                snapshot.id()
            );
        }
        let mut previous_term = snapshot.term;
        for entry in node.log().entries() {
            let record = (command_hash(entry), previous_term);
            let known = *self.registry.entry(entry.id()).or_insert(record);
            assert_eq!(
                known,
                record,
                "log matching broken at {} on {}",
                entry.id(),
                node.id()
            );
            previous_term = entry.term;
        }
    }

    /// Extends the canonical committed log with what `node` newly committed,
    /// or checks `node` against it.
    fn observe_commit(&mut self, node: &RaftNode) {
        let id = node.id();
        let commit = node.log().committed();
        let start = self.observed_commit[id.0].max(node.log().snapshot().meta.index);
        for index in (start.0 + 1)..=commit.0 {
            let entry = node
                .log()
                .entry(LogIndex(index))
                .unwrap_or_else(|| panic!("{id} committed {index} without holding it"));
            if let Some(known) = self.committed.get(index as usize) {
                assert_eq!(
                    (known.term, known.command_hash),
                    (entry.term, command_hash(entry)),
                    "{id} committed {} where {} was committed",
                    entry.id(),
                    known.term
                );
                continue;
            }
            let previous = self.committed.last().expect("sentinel").history_hash;
            let history_hash = value_of(entry).map_or(previous, |value| chain(previous, value));
            self.committed.push(CommittedEntry {
                term: entry.term,
                commit_term: node.term(),
                command_hash: command_hash(entry),
                history_hash,
            });
        }
        self.observed_commit[id.0] = self.observed_commit[id.0].max(commit);
    }

    fn check_leader_completeness(&self, node: &RaftNode) {
        let log = node.log();
        let first = log.snapshot().meta.index.0 + 1;
        for index in first..self.committed.len() as u64 {
            if self.committed[index as usize].commit_term >= node.term() {
                continue;
            }
            assert_eq!(
                log.term_at(LogIndex(index)),
                Some(self.committed[index as usize].term),
                "leader {} in {} lacks committed entry {index}",
                node.id(),
                node.term()
            );
        }
    }

    /// The highest committed entry is on a majority of disks (so every
    /// committed entry is: disks obey Log Matching too).
    fn check_durability(&self, replicas: &[Replica]) {
        let index = self.commit_max();
        if index == LogIndex::ZERO {
            return;
        }
        let id = EntryId {
            term: self.committed[index.0 as usize].term,
            index,
        };
        let holders = replicas
            .iter()
            .filter(|replica| replica.disk.holds(id))
            .count();
        assert!(
            holders > self.size / 2,
            "committed {id} is on {holders} disks of {}",
            self.size
        );
    }

    /// Checks every committed entry against every disk (slower; run at
    /// restarts and at the end).
    pub fn check_all_durable(&self, replicas: &[Replica]) {
        for id in self.committed_ids() {
            let holders = replicas
                .iter()
                .filter(|replica| replica.disk.holds(id))
                .count();
            assert!(
                holders > self.size / 2,
                "committed {id} is on {holders} disks"
            );
        }
    }

    /// A replica restarted from its disk; its log is checked from its
    /// snapshot on, and its state machine against the canonical history.
    pub fn on_restart(&mut self, id: NodeId, node: &RaftNode, state: &StateMachine) {
        self.observed_commit[id.0] = node.log().snapshot().meta.index;
        self.on_snapshot_loaded(id, state);
    }

    /// A replica loaded a snapshot into its state machine.
    pub fn on_snapshot_loaded(&mut self, id: NodeId, state: &StateMachine) {
        let index = state.applied.0 as usize;
        let known = self.committed.get(index).map(|entry| entry.history_hash);
        assert_eq!(
            known,
            Some(state.hash),
            "{id} loaded a snapshot of another history"
        );
    }

    /// A replica applied `entry`.
    pub fn on_apply(&mut self, id: NodeId, entry: &Entry, state: &StateMachine) {
        self.entries_applied += 1;
        let known = self
            .committed
            .get(entry.index.0 as usize)
            .unwrap_or_else(|| panic!("{id} applied uncommitted {}", entry.id()));
        assert_eq!(
            known.term, entry.term,
            "{id} applied a different entry at {}",
            entry.index
        );
        assert_eq!(
            known.command_hash,
            command_hash(entry),
            "{id} applied another command"
        );
        assert_eq!(
            known.history_hash, state.hash,
            "{id} diverged at {}",
            entry.index
        );
    }

    /// A client asked for a linearizable read named `context`.
    pub fn on_read_request(&mut self, context: u64) {
        self.reads.insert(context, self.commit_max());
    }

    /// A replica confirmed a read.
    pub fn on_read_state(&mut self, id: NodeId, read: &ReadState) {
        let context = u64::from_le_bytes(read.request_ctx[..8].try_into().expect("8 bytes"));
        let needed = self.reads.remove(&context).expect("a requested read");
        assert!(
            read.index >= needed,
            "{id} confirmed read {context} at {} but {needed} was committed before it",
            read.index
        );
        self.reads_confirmed += 1;
    }
}
