//! `RaftLog`: one node's copy of the replicated log, in memory.
//!
//! The log is a snapshot (which replaces every entry up to its index) followed
//! by the entries after it. Three watermarks run along it:
//!
//! ```text
//!   snapshot.index <= handed_out <= committed <= last_index
//!                     handed_out <= persisted <= last_index
//!   |-- snapshot --|-- entries ------------------------------------|
//! ```
//!
//! * `committed`: known to be stored on a majority (§5.3, §5.4.2).
//! * `persisted`: on this node's disk, as acknowledged by `advance`.
//! * `handed_out`: given to the driver to apply; only persisted committed
//!   entries are handed out, so a node never applies what it could lose.
//!
//! The driver's disk holds the same log; `unpersisted_entries` and
//! `pending_snapshot` say what it still has to write.

use super::errors::RaftError;
use super::ids::{EntryId, LogIndex, Term};
use super::message::RejectHint;
use super::types::{Entry, Snapshot, SnapshotMeta};

/// The outcome of offering a follower the entries of an Append message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum AppendResult {
    /// The log matched at `prev_log`; it now matches the leader's up to
    /// `last_new_index`.
    Appended {
        /// The index of the last entry of the message.
        last_new_index: LogIndex,
    },
    /// The log does not hold `prev_log` (the consistency check of §5.3).
    Mismatch,
}

/// One node's log: a snapshot followed by entries; see the module doc.
#[derive(Clone, Debug)]
pub struct RaftLog {
    /// The latest snapshot; index 0 and no data if there is none.
    snapshot: Snapshot,
    /// False while a snapshot received from a leader waits to be written.
    snapshot_persisted: bool,
    /// Entries `snapshot.index + 1 ..= last_index`, in order.
    entries: Vec<Entry>,
    committed: LogIndex,
    persisted: LogIndex,
    handed_out: LogIndex,
}

impl RaftLog {
    /// An empty log.
    pub(super) fn new() -> RaftLog {
        RaftLog {
            snapshot: Snapshot::default(),
            snapshot_persisted: true,
            entries: Vec::new(),
            committed: LogIndex::ZERO,
            persisted: LogIndex::ZERO,
            handed_out: LogIndex::ZERO,
        }
    }

    /// Rebuilds the log from what the driver persisted: a snapshot, entries
    /// (those at or below the snapshot's index are skipped) and the persisted
    /// commit index. Everything given counts as persisted; the committed
    /// entries after the snapshot will be handed out again for applying.
    pub(super) fn restore(
        snapshot: Option<Snapshot>,
        entries: Vec<Entry>,
        commit: LogIndex,
    ) -> Result<RaftLog, RaftError> {
        let snapshot = snapshot.unwrap_or_default();
        let mut log = RaftLog::new();
        log.committed = snapshot.meta.index;
        log.persisted = snapshot.meta.index;
        log.handed_out = snapshot.meta.index;
        log.snapshot = snapshot;
        let mut previous = log.snapshot.meta.id();
        for entry in entries {
            if entry.index <= previous.index {
                if entry.index == previous.index && entry.term != previous.term {
                    return Err(inconsistent(format!(
                        "entry {} disagrees with snapshot {}",
                        entry.id(),
                        previous
                    )));
                }
                continue;
            }
            if entry.index != previous.index.next() || entry.term < previous.term {
                return Err(inconsistent(format!(
                    "entry {} does not follow {}",
                    entry.id(),
                    previous
                )));
            }
            previous = entry.id();
            log.entries.push(entry);
        }
        log.persisted = log.last_index();
        if commit > log.last_index() {
            return Err(inconsistent(format!(
                "commit {commit} is beyond the last entry {}",
                log.last_index()
            )));
        }
        log.committed = log.committed.max(commit);
        log.check_invariants();
        Ok(log)
    }

    /// The index of the first entry still held (one past the snapshot).
    pub fn first_index(&self) -> LogIndex {
        self.snapshot.meta.index.next()
    }

    /// The index of the last entry, or of the snapshot if no entry follows it.
    pub fn last_index(&self) -> LogIndex {
        self.snapshot.meta.index.plus(self.entries.len() as u64)
    }

    /// The id of the last entry (or of the snapshot).
    pub fn last_entry_id(&self) -> EntryId {
        match self.entries.last() {
            Some(entry) => entry.id(),
            None => self.snapshot.meta.id(),
        }
    }

    /// The highest index known to be committed.
    pub fn committed(&self) -> LogIndex {
        self.committed
    }

    /// The highest index on this node's disk.
    pub fn persisted(&self) -> LogIndex {
        self.persisted
    }

    /// The highest index handed to the driver for applying.
    pub fn handed_out(&self) -> LogIndex {
        self.handed_out
    }

    /// The latest snapshot (index 0 and empty if none).
    pub fn snapshot(&self) -> &Snapshot {
        &self.snapshot
    }

    /// The entries after the snapshot.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The term of the entry at `index`, if the log still knows it: the
    /// snapshot's own index counts, compacted and future indexes do not.
    pub fn term_at(&self, index: LogIndex) -> Option<Term> {
        if index == self.snapshot.meta.index {
            return Some(self.snapshot.meta.term);
        }
        self.entry(index).map(|entry| entry.term)
    }

    /// The entry at `index`, unless compacted or beyond the end.
    pub fn entry(&self, index: LogIndex) -> Option<&Entry> {
        let offset = index.0.checked_sub(self.first_index().0)?;
        self.entries.get(usize::try_from(offset).ok()?)
    }

    /// Whether the log holds the entry `id` (the consistency check, §5.3).
    pub fn matches(&self, id: EntryId) -> bool {
        self.term_at(id.index) == Some(id.term)
    }

    /// Whether a candidate whose log ends at `candidate_last` is at least as
    /// up to date as this log (the election restriction, §5.4.1): a later last
    /// term wins; with equal last terms, the longer log wins.
    pub fn is_up_to_date(&self, candidate_last: EntryId) -> bool {
        let own_last = self.last_entry_id();
        candidate_last.term > own_last.term
            || (candidate_last.term == own_last.term && candidate_last.index >= own_last.index)
    }

    /// Entries from `start` on, at most `count_max` of them and at most
    /// `bytes_max` payload bytes (but at least one entry if any exists).
    ///
    /// # Panics
    /// If `start` is compacted.
    pub(super) fn entries_from(
        &self,
        start: LogIndex,
        count_max: usize,
        bytes_max: usize,
    ) -> Vec<Entry> {
        assert!(
            start >= self.first_index(),
            "entries_from({start}) but the log starts at {}",
            self.first_index()
        );
        let offset = (start.0 - self.first_index().0) as usize;
        let mut bytes = 0;
        let mut batch = Vec::new();
        for entry in self.entries.iter().skip(offset).take(count_max) {
            bytes += entry.payload_bytes();
            if !batch.is_empty() && bytes > bytes_max {
                break;
            }
            batch.push(entry.clone());
        }
        batch
    }

    /// Appends entries a leader created. They must follow the last entry.
    pub(super) fn append(&mut self, entries: Vec<Entry>) {
        let mut previous = self.last_entry_id();
        for entry in entries {
            assert!(
                entry.index == previous.index.next() && entry.term >= previous.term,
                "append: {} cannot follow {}",
                entry.id(),
                previous
            );
            previous = entry.id();
            self.entries.push(entry);
        }
    }

    /// The follower side of AppendEntries (§5.3): if the log holds
    /// `prev_log`, drop any entries that conflict with `entries` (and all that
    /// follow them), append the new ones and advance the commit index to
    /// `min(leader_commit, last new index)`.
    pub(super) fn maybe_append(
        &mut self,
        prev_log: EntryId,
        leader_commit: LogIndex,
        entries: &[Entry],
    ) -> AppendResult {
        if !self.matches(prev_log) {
            return AppendResult::Mismatch;
        }
        let last_new_index = prev_log.index.plus(entries.len() as u64);
        // Entries already held are kept, so a stale or duplicated Append
        // never cuts off entries that a later Append added.
        let conflict = entries.iter().position(|entry| !self.matches(entry.id()));
        if let Some(position) = conflict {
            // No Append reaches this with a committed conflict: the node
            // answers one that starts below its commit index without
            // applying it (`on_append`), so every entry here lies above the
            // commit index. `truncate_from` asserts it.
            self.truncate_from(entries[position].index);
            self.append(entries[position..].to_vec());
        }
        self.commit_to(leader_commit.min(last_new_index));
        AppendResult::Appended { last_new_index }
    }

    /// Drops the entries from `index` on, which must be uncommitted.
    fn truncate_from(&mut self, index: LogIndex) {
        assert!(
            index > self.committed && index >= self.first_index(),
            "truncate_from({index}) with commit {} and first index {}",
            self.committed,
            self.first_index()
        );
        let keep = (index.0 - self.first_index().0) as usize;
        self.entries.truncate(keep);
        // The disk must forget these entries too; they are rewritten by the
        // next Ready, whose entries start at `index`.
        self.persisted = self.persisted.min(index.prev());
    }

    /// Raises the commit index to `index` if it is higher.
    ///
    /// # Panics
    /// If `index` is beyond the last entry.
    pub(super) fn commit_to(&mut self, index: LogIndex) {
        if index <= self.committed {
            return;
        }
        assert!(
            index <= self.last_index(),
            "commit_to({index}) beyond the last index {}",
            self.last_index()
        );
        self.committed = index;
    }

    /// The leader's commit rule (§5.3, §5.4.2): commit `index` if it holds an
    /// entry of the leader's `current_term`. Entries of older terms are never
    /// committed by counting; they commit indirectly with a newer entry.
    pub(super) fn maybe_commit(&mut self, index: LogIndex, current_term: Term) -> bool {
        if index > self.committed && self.term_at(index) == Some(current_term) {
            self.commit_to(index);
            return true;
        }
        false
    }

    /// The hint a follower sends with a rejection at `rejected_index`: where
    /// its log ends, or the conflicting term and where that term starts.
    pub(super) fn reject_hint(&self, rejected_index: LogIndex) -> RejectHint {
        if rejected_index > self.last_index() {
            return RejectHint::LogTooShort {
                last_index: self.last_index(),
            };
        }
        let term = self
            .term_at(rejected_index)
            .expect("a rejected index after the commit index is held");
        // Entries up to the commit index match every leader's, so the search
        // never needs to go below it.
        let floor = self.committed.max(self.snapshot.meta.index).next();
        let mut first_index = rejected_index;
        while first_index > floor && self.term_at(first_index.prev()) == Some(term) {
            first_index = first_index.prev();
        }
        RejectHint::TermConflict { term, first_index }
    }

    /// The leader's side of fast backtracking: the last index at or below
    /// `at_or_below` that holds `term`, if this log still has one.
    pub(super) fn last_index_of_term(&self, term: Term, at_or_below: LogIndex) -> Option<LogIndex> {
        let mut index = at_or_below.min(self.last_index());
        while index >= self.first_index() {
            let held = self.term_at(index).expect("index inside the entries");
            if held == term {
                return Some(index);
            }
            if held < term {
                return None;
            }
            index = index.prev();
        }
        None
    }

    /// Entries not yet on disk (after `persisted`).
    pub(super) fn unpersisted_entries(&self) -> &[Entry] {
        let offset = (self.persisted.0 - self.snapshot.meta.index.0) as usize;
        &self.entries[offset..]
    }

    /// A snapshot received from a leader that is not yet on disk.
    pub(super) fn pending_snapshot(&self) -> Option<&Snapshot> {
        (!self.snapshot_persisted).then_some(&self.snapshot)
    }

    /// Records that the driver wrote the pending snapshot.
    pub(super) fn mark_snapshot_persisted(&mut self) {
        assert!(!self.snapshot_persisted, "no snapshot was pending");
        self.snapshot_persisted = true;
    }

    /// Records that the driver wrote the entries up to `through`.
    ///
    /// # Panics
    /// If the log no longer holds `through` (the log must not change between
    /// `ready` and `advance`), or if a pending snapshot was not written first.
    pub(super) fn mark_entries_persisted(&mut self, through: EntryId) {
        assert!(
            self.matches(through),
            "persisted {through} but the log no longer holds it"
        );
        assert!(
            self.snapshot_persisted,
            "entries persisted before their snapshot"
        );
        self.persisted = self.persisted.max(through.index);
    }

    /// The committed entries that are on disk and not yet handed out, at most
    /// `count_max` of them.
    pub(super) fn next_committed_entries(&self, count_max: usize) -> Vec<Entry> {
        let end = self.committed.min(self.persisted);
        if end <= self.handed_out {
            return Vec::new();
        }
        let count = ((end.0 - self.handed_out.0) as usize).min(count_max);
        self.entries_from(self.handed_out.next(), count, usize::MAX)
    }

    /// Whether committed entries wait to be handed out.
    pub(super) fn has_committed_entries(&self) -> bool {
        self.committed.min(self.persisted) > self.handed_out
    }

    /// Records that entries up to `index` were handed out for applying.
    pub(super) fn mark_handed_out(&mut self, index: LogIndex) {
        assert!(
            index <= self.committed && index <= self.persisted,
            "handed out {index} beyond commit {} or persisted {}",
            self.committed,
            self.persisted
        );
        self.handed_out = self.handed_out.max(index);
    }

    /// Replaces the whole log by a snapshot received from the leader (§7):
    /// the snapshot is committed, and the driver must persist it and load it
    /// into the state machine.
    pub(super) fn install_snapshot(&mut self, snapshot: Snapshot) {
        assert!(
            snapshot.meta.index > self.committed,
            "installing snapshot {} at or below commit {}",
            snapshot.meta.id(),
            self.committed
        );
        let index = snapshot.meta.index;
        self.entries.clear();
        self.snapshot = snapshot;
        self.snapshot_persisted = false;
        self.committed = index;
        self.persisted = index;
        self.handed_out = index;
        self.check_invariants();
    }

    /// Log compaction (§7): the driver has saved a snapshot of the state
    /// machine at `index` (already applied, already on its disk); drop the
    /// entries it covers.
    ///
    /// # Panics
    /// If `index` was not handed out yet: the state machine cannot have
    /// applied it.
    pub(super) fn compact(&mut self, index: LogIndex, data: Vec<u8>) -> Result<(), RaftError> {
        if index <= self.snapshot.meta.index {
            return Err(RaftError::SnapshotOutOfDate {
                requested: index,
                current: self.snapshot.meta.index,
            });
        }
        assert!(
            index <= self.handed_out,
            "compact({index}) beyond the handed out index {}",
            self.handed_out
        );
        let term = self.term_at(index).expect("a handed out index is held");
        let drop_count = (index.0 - self.snapshot.meta.index.0) as usize;
        self.entries.drain(..drop_count);
        self.snapshot = Snapshot {
            meta: SnapshotMeta { index, term },
            data,
        };
        self.snapshot_persisted = true;
        self.check_invariants();
        Ok(())
    }

    /// Checks the written invariants of the module doc.
    ///
    /// # Panics
    /// With the broken invariant.
    pub fn check_invariants(&self) {
        let snapshot_index = self.snapshot.meta.index;
        assert!(
            snapshot_index <= self.handed_out,
            "handed out below snapshot"
        );
        assert!(
            self.handed_out <= self.committed,
            "handed out beyond commit"
        );
        assert!(
            self.handed_out <= self.persisted,
            "handed out beyond persisted"
        );
        assert!(
            self.committed <= self.last_index(),
            "commit beyond last index"
        );
        assert!(
            self.persisted <= self.last_index(),
            "persisted beyond last index"
        );
        let mut previous = self.snapshot.meta.id();
        for entry in &self.entries {
            assert!(
                entry.index == previous.index.next() && entry.term >= previous.term,
                "entry {} follows {}",
                entry.id(),
                previous
            );
            previous = entry.id();
        }
    }
}

fn inconsistent(what: String) -> RaftError {
    RaftError::StorageInconsistent(what)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raft::types::EntryKind;

    fn entry(index: u64, term: u64) -> Entry {
        Entry {
            term: Term(term),
            index: LogIndex(index),
            kind: EntryKind::Normal,
            data: vec![index as u8, term as u8],
        }
    }

    fn id(index: u64, term: u64) -> EntryId {
        EntryId {
            term: Term(term),
            index: LogIndex(index),
        }
    }

    fn log_with_terms(terms: &[u64]) -> RaftLog {
        let entries = terms
            .iter()
            .enumerate()
            .map(|(position, term)| entry(position as u64 + 1, *term))
            .collect();
        RaftLog::restore(None, entries, LogIndex::ZERO).unwrap()
    }

    fn terms_of(log: &RaftLog) -> Vec<u64> {
        log.entries().iter().map(|entry| entry.term.0).collect()
    }

    #[test]
    fn maybe_append_keeps_matching_entries_and_cuts_at_the_first_conflict() {
        let mut log = log_with_terms(&[1, 1, 2, 2]);
        // A stale, shorter Append must not cut off entries 3 and 4.
        let result = log.maybe_append(id(1, 1), LogIndex(0), &[entry(2, 1)]);
        assert_eq!(
            result,
            AppendResult::Appended {
                last_new_index: LogIndex(2)
            }
        );
        assert_eq!(terms_of(&log), vec![1, 1, 2, 2]);
        // A conflict at index 3 replaces 3 and everything after it.
        let result = log.maybe_append(id(2, 1), LogIndex(3), &[entry(3, 3)]);
        assert_eq!(
            result,
            AppendResult::Appended {
                last_new_index: LogIndex(3)
            }
        );
        assert_eq!(terms_of(&log), vec![1, 1, 3]);
        assert_eq!(log.committed(), LogIndex(3));
    }

    #[test]
    fn maybe_append_rejects_a_missing_prev_log() {
        let mut log = log_with_terms(&[1, 1]);
        assert_eq!(
            log.maybe_append(id(3, 1), LogIndex(0), &[]),
            AppendResult::Mismatch
        );
        assert_eq!(
            log.maybe_append(id(2, 2), LogIndex(0), &[]),
            AppendResult::Mismatch
        );
    }

    #[test]
    fn truncation_lowers_the_persisted_watermark() {
        let mut log = log_with_terms(&[1, 1, 1]);
        assert_eq!(log.persisted(), LogIndex(3));
        log.maybe_append(id(1, 1), LogIndex(0), &[entry(2, 2)]);
        assert_eq!(log.persisted(), LogIndex(1));
        assert_eq!(log.unpersisted_entries(), &[entry(2, 2)]);
    }

    #[test]
    fn only_entries_of_the_current_term_commit_by_counting() {
        let mut log = log_with_terms(&[1, 2]);
        assert!(!log.maybe_commit(LogIndex(1), Term(2)));
        assert!(log.maybe_commit(LogIndex(2), Term(2)));
        assert_eq!(log.committed(), LogIndex(2));
    }

    #[test]
    fn up_to_date_compares_last_term_then_length() {
        let log = log_with_terms(&[1, 2, 2]);
        assert!(log.is_up_to_date(id(1, 3)));
        assert!(log.is_up_to_date(id(3, 2)));
        assert!(!log.is_up_to_date(id(2, 2)));
        assert!(!log.is_up_to_date(id(9, 1)));
    }

    #[test]
    fn reject_hints_name_the_log_end_or_the_conflicting_term_run() {
        let log = log_with_terms(&[1, 2, 2, 2, 3]);
        assert_eq!(
            log.reject_hint(LogIndex(9)),
            RejectHint::LogTooShort {
                last_index: LogIndex(5)
            }
        );
        assert_eq!(
            log.reject_hint(LogIndex(4)),
            RejectHint::TermConflict {
                term: Term(2),
                first_index: LogIndex(2)
            }
        );
        assert_eq!(
            log.last_index_of_term(Term(2), LogIndex(5)),
            Some(LogIndex(4))
        );
        assert_eq!(log.last_index_of_term(Term(4), LogIndex(5)), None);
        assert_eq!(
            log.last_index_of_term(Term(2), LogIndex(3)),
            Some(LogIndex(3))
        );
    }

    #[test]
    fn compaction_keeps_the_snapshot_term_and_the_later_entries() {
        let mut log = log_with_terms(&[1, 1, 2, 2]);
        log.commit_to(LogIndex(3));
        log.mark_handed_out(LogIndex(3));
        log.compact(LogIndex(3), b"state".to_vec()).unwrap();
        assert_eq!(log.first_index(), LogIndex(4));
        assert_eq!(log.term_at(LogIndex(3)), Some(Term(2)));
        assert_eq!(log.term_at(LogIndex(2)), None);
        assert_eq!(log.entries_from(LogIndex(4), 10, 10), vec![entry(4, 2)]);
        let error = log.compact(LogIndex(2), Vec::new()).unwrap_err();
        assert!(matches!(error, RaftError::SnapshotOutOfDate { .. }));
    }

    #[test]
    fn entries_from_respects_both_limits_but_sends_one_entry() {
        let log = log_with_terms(&[1, 1, 1, 1]);
        assert_eq!(log.entries_from(LogIndex(1), 2, 1000).len(), 2);
        assert_eq!(log.entries_from(LogIndex(1), 10, 4).len(), 2);
        assert_eq!(log.entries_from(LogIndex(1), 10, 0).len(), 1);
    }

    #[test]
    fn committed_entries_are_handed_out_only_once_persisted() {
        let mut log = RaftLog::new();
        log.append(vec![entry(1, 1), entry(2, 1)]);
        log.commit_to(LogIndex(2));
        assert!(log.next_committed_entries(10).is_empty());
        log.mark_entries_persisted(id(1, 1));
        assert_eq!(log.next_committed_entries(10), vec![entry(1, 1)]);
    }

    #[test]
    fn restore_rejects_gaps_and_a_commit_beyond_the_log() {
        let gap = RaftLog::restore(None, vec![entry(1, 1), entry(3, 1)], LogIndex(0));
        assert!(matches!(gap, Err(RaftError::StorageInconsistent(_))));
        let beyond = RaftLog::restore(None, vec![entry(1, 1)], LogIndex(2));
        assert!(matches!(beyond, Err(RaftError::StorageInconsistent(_))));
        let snapshot = Snapshot {
            meta: SnapshotMeta {
                index: LogIndex(2),
                term: Term(1),
            },
            data: vec![],
        };
        let log =
            RaftLog::restore(Some(snapshot), vec![entry(2, 1), entry(3, 1)], LogIndex(0)).unwrap();
        assert_eq!(
            (log.first_index(), log.last_index()),
            (LogIndex(3), LogIndex(3))
        );
        assert_eq!(log.committed(), LogIndex(2));
    }
}
