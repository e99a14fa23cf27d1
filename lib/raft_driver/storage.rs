//! [`RaftStorage`]: step 2 of the Ready recipe, "persist", and what the
//! driver keeps on disk to keep Raft's promises:
//!
//! - the log (`log/`): one WAL record per entry, written through the
//!   `GroupCommitter` ("wal-writer" thread). All the entries of one Ready
//!   go in one job, and every job queued meanwhile shares the same fsync;
//! - the hard state (`hard_state/`): term and vote, saved (two fsyncs: the
//!   file, then its directory) only when one of them changes, which is rare:
//!   at elections. The commit index beside them is advisory (a restarted
//!   node relearns it from the leader), so a changed commit alone is never
//!   worth a write;
//! - the snapshots (`snapshots/`): shared with the raft-snapshot-writer
//!   thread, which saves the ones raft-apply takes; the core saves the ones
//!   a leader sends.
//!
//! It may call: the `GroupCommitter`, `HardStateFile` and `SnapshotStore`.
//! It is used by the raft-core thread only.

use log::{debug, info};

use crate::driver_kit::{lock_snapshots, SharedSnapshots};
use crate::raft::{Entry, HardState, Ready, Snapshot};
use crate::wal::{self, Completion, GroupCommitter, HardStateFile, WalError, WalResult};

use super::codec::{encode_entry, encode_hard_state};

/// What one `persist` wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Written {
    /// Log entries appended (all under one fsync).
    pub entries: usize,
    /// Whether the hard state was saved.
    pub hard_state: bool,
}

/// What the raft-core thread writes to disk, and how.
pub struct RaftStorage {
    log: GroupCommitter,
    /// The log's last index (the writer thread owns the `Wal`, so the core
    /// tracks it to know when an append must first cut a conflicting tail).
    log_last: Option<u64>,
    hard_state_file: HardStateFile,
    /// The hard state on disk.
    saved: HardState,
    snapshots: SharedSnapshots,
    /// Compactions queued behind the appends; checked at the next persist.
    compactions: Vec<Completion>,
}

impl RaftStorage {
    /// Storage over the recovered log (whose last index is `log_last`),
    /// hard state (`saved`) and snapshots.
    pub fn new(
        log: GroupCommitter,
        log_last: Option<u64>,
        hard_state_file: HardStateFile,
        saved: HardState,
        snapshots: SharedSnapshots,
    ) -> RaftStorage {
        RaftStorage {
            log,
            log_last,
            hard_state_file,
            saved,
            snapshots,
            compactions: Vec::new(),
        }
    }

    /// Writes what `ready` asks for, in the order the Raft core requires:
    /// the snapshot (which replaces the whole log), the entries, one fsync,
    /// then the hard state. Returns what was written. When it returns `Ok`,
    /// everything is durable.
    pub fn persist(&mut self, ready: &Ready) -> WalResult<Written> {
        self.check_compactions()?;
        let mut completions = Vec::new();
        if let Some(snapshot) = &ready.snapshot_to_persist {
            self.save_snapshot(snapshot)?;
            // The snapshot replaces every entry; the next append starts
            // right after it (an empty log takes any first index).
            completions.push(self.log.truncate_from(0));
            self.log_last = None;
        }
        if !ready.entries_to_persist.is_empty() {
            self.queue_entries(&ready.entries_to_persist, &mut completions);
        }
        for completion in completions {
            wait(completion)?;
        }
        let mut hard_state_saved = false;
        if let Some(hard_state) = ready.hard_state {
            hard_state_saved = self.maybe_save_hard_state(hard_state)?;
        }
        Ok(Written {
            entries: ready.entries_to_persist.len(),
            hard_state: hard_state_saved,
        })
    }

    /// Drops the log segments a durable snapshot at `index` covers. Queued
    /// behind the appends; its outcome is checked at the next persist.
    pub fn compact_log(&mut self, index: u64) {
        self.compactions.push(self.log.compact_to(index));
    }

    /// Waits for every queued job and stops the wal-writer thread.
    pub fn close(self) {
        drop(self.log.close());
    }

    /// Queues the appends of one Ready as one job, cutting first any
    /// persisted entries they replace (a follower taking the leader's
    /// version of a conflicting suffix, §5.3).
    fn queue_entries(&mut self, entries: &[Entry], completions: &mut Vec<Completion>) {
        let first = entries[0].index.0;
        if self.log_last.is_some_and(|last| last >= first) {
            debug!("raft storage: cutting the log from {first}");
            completions.push(self.log.truncate_from(first));
        }
        let records: Vec<(u64, Vec<u8>)> = entries
            .iter()
            .map(|entry| (entry.index.0, encode_entry(entry)))
            .collect();
        completions.push(self.log.submit(records));
        self.log_last = entries.last().map(|entry| entry.index.0);
    }

    fn save_snapshot(&mut self, snapshot: &Snapshot) -> WalResult<()> {
        info!(
            "raft storage: saving the leader's snapshot at {}",
            snapshot.meta.id()
        );
        lock_snapshots(&self.snapshots).save(&wal::Snapshot {
            index: snapshot.meta.index.0,
            term: snapshot.meta.term.0,
            data: snapshot.data.clone(),
        })
    }

    /// Saves the hard state if its term or vote changed: those are the
    /// promises (one vote per term, §5.2). The commit index rides along.
    /// Returns whether it saved.
    fn maybe_save_hard_state(&mut self, hard_state: HardState) -> WalResult<bool> {
        if (hard_state.term, hard_state.vote) == (self.saved.term, self.saved.vote) {
            return Ok(false);
        }
        self.hard_state_file.save(&encode_hard_state(&hard_state))?;
        self.saved = hard_state;
        Ok(true)
    }

    /// Fails if a finished compaction failed (the log is then unusable).
    fn check_compactions(&mut self) -> WalResult<()> {
        let mut pending = Vec::new();
        for completion in self.compactions.drain(..) {
            match completion.try_recv() {
                Ok(outcome) => outcome?,
                Err(crossbeam_channel::TryRecvError::Empty) => pending.push(completion),
                Err(crossbeam_channel::TryRecvError::Disconnected) => {
                    return Err(WalError::WriterStopped)
                }
            }
        }
        self.compactions = pending;
        Ok(())
    }
}

/// Waits for one job of the wal-writer thread.
fn wait(completion: Completion) -> WalResult<()> {
    completion.recv().unwrap_or(Err(WalError::WriterStopped))
}
