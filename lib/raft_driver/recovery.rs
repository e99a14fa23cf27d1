//! Recovery: rebuilding a replica from its data directory, as at every
//! start. It reads back the latest snapshot, the hard state and the log,
//! makes them fit together, restores the state machine from the snapshot
//! and the Raft node from all three. The node then hands out the committed
//! entries after the snapshot again, and the apply thread re-applies them.
//!
//! It may call: the `wal` stores, `RaftNode::restore`, `StateMachine::restore`.
//!
//! Two crash windows make the files disagree, and both are repaired here
//! rather than refused:
//! - a crash after a leader's snapshot was saved but before the log was
//!   emptied leaves old entries that may not follow the snapshot (a gap, or
//!   another term at its index). They are not committed past the snapshot
//!   (the snapshot is), so the log is emptied: the leader resends;
//! - the commit index in the hard state may point past the log's end once
//!   a torn tail was cut (it is advisory, see storage.rs), so it is clamped.

use std::path::Path;
use std::sync::{Arc, Mutex};

use log::{info, warn};

use crate::driver_kit::SharedSnapshots;
use crate::raft::{Entry, EntryId, HardState, LogIndex, RaftNode, Snapshot, SnapshotMeta, Term};
use crate::replication::StateMachine;
use crate::wal::{FileSystem, GroupCommitter, HardStateFile, SnapshotStore, Wal, WalOptions};

use super::codec::{decode_entry, decode_hard_state};
use super::errors::DriverError;
use super::options::RaftOptions;
use super::storage::RaftStorage;

/// The log's directory under the data directory.
pub const LOG_DIR: &str = "log";
/// The snapshots' directory under the data directory.
pub const SNAPSHOT_DIR: &str = "snapshots";
/// The hard state's directory under the data directory.
pub const HARD_STATE_DIR: &str = "hard_state";

/// What recovery found and repaired, for logs, status and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// The index of the snapshot the state machine was restored from.
    pub snapshot_index: u64,
    /// Log entries after the snapshot, handed to the node.
    pub entries_after_snapshot: u64,
    /// Bytes of a torn tail cut off the last log segment (0 if none).
    pub torn_tail_bytes_cut: u64,
    /// Whether the log did not follow the snapshot and was emptied.
    pub log_emptied: bool,
    /// The hard state's commit index, if it pointed past the log's end and
    /// was clamped.
    pub commit_clamped_from: Option<u64>,
}

/// A replica as its data directory left it.
pub struct Recovered<S> {
    /// The Raft node, a follower.
    pub node: RaftNode,
    /// The state machine at `applied`.
    pub state: S,
    /// The last entry the state machine reflects (the snapshot's).
    pub applied: EntryId,
    /// The size of that snapshot's data (0 without one).
    pub snapshot_bytes: u64,
    /// The storage the core writes through (its wal-writer thread runs).
    pub storage: RaftStorage,
    /// The snapshot store, shared with the apply thread.
    pub snapshots: SharedSnapshots,
    /// What was found and repaired.
    pub report: RecoveryReport,
}

/// Reads back the data directory (creating it on a first start) and
/// rebuilds the node and the state machine; `initial_state` is used when
/// there is no snapshot yet.
pub fn recover<S: StateMachine>(
    options: &RaftOptions,
    initial_state: S,
    random_seed: u64,
) -> Result<Recovered<S>, DriverError> {
    let dir = options.replica.data_dir.as_path();
    let fs = Arc::clone(&options.replica.fs);
    let (snapshot_store, snapshot) = SnapshotStore::open(&dir.join(SNAPSHOT_DIR), fs.clone())?;
    let snapshot = snapshot.map(|stored| Snapshot {
        meta: SnapshotMeta {
            index: LogIndex(stored.index),
            term: Term(stored.term),
        },
        data: stored.data,
    });
    let (hard_state_file, saved) = HardStateFile::open(&dir.join(HARD_STATE_DIR), fs.clone())?;
    let saved = match saved {
        Some(bytes) => decode_hard_state(&bytes)
            .map_err(|error| DriverError::corrupt("hard state")(error.to_string()))?,
        None => HardState::default(),
    };
    let mut report = RecoveryReport::default();
    let (mut wal, entries) = open_log(&dir.join(LOG_DIR), options, fs, &mut report)?;
    let meta = snapshot.as_ref().map(|s| s.meta).unwrap_or_default();
    let entries = fit_to_snapshot(&mut wal, meta, entries, &mut report)?;
    let last_index = entries.last().map_or(meta.index, |entry| entry.index);
    let mut hard_state = saved;
    if hard_state.commit > last_index {
        warn!(
            "raft recovery: commit {} clamped to the log's end {last_index}",
            hard_state.commit
        );
        report.commit_clamped_from = Some(hard_state.commit.0);
        hard_state.commit = last_index;
    }
    report.snapshot_index = meta.index.0;
    report.entries_after_snapshot = entries.len() as u64;
    let state = match &snapshot {
        Some(snapshot) => S::restore(&snapshot.data).map_err(DriverError::corrupt("snapshot"))?,
        None => initial_state,
    };
    let snapshot_bytes = snapshot.as_ref().map_or(0, |s| s.data.len() as u64);
    info!(
        "raft recovery: snapshot {}, {} entries after it, {hard_state:?}",
        meta.id(),
        entries.len()
    );
    let config = options.raft_config(random_seed);
    let node = RaftNode::restore(config, hard_state, snapshot, entries)?;
    let log_last = wal.last_index();
    let log = GroupCommitter::spawn(wal).map_err(DriverError::io("start the wal-writer thread"))?;
    let snapshots = Arc::new(Mutex::new(snapshot_store));
    let storage = RaftStorage::new(
        log,
        log_last,
        hard_state_file,
        hard_state,
        Arc::clone(&snapshots),
    );
    Ok(Recovered {
        node,
        state,
        applied: meta.id(),
        snapshot_bytes,
        storage,
        snapshots,
        report,
    })
}

/// Opens the log (cutting a torn tail) and decodes its records.
fn open_log(
    dir: &Path,
    options: &RaftOptions,
    fs: Arc<dyn FileSystem>,
    report: &mut RecoveryReport,
) -> Result<(Wal, Vec<Entry>), DriverError> {
    let wal_options = WalOptions {
        segment_bytes_max: options.replica.log_segment_bytes,
        fs,
    };
    let (wal, recovered) = Wal::open(dir, wal_options)?;
    if let Some(torn) = &recovered.torn_tail {
        report.torn_tail_bytes_cut = torn.bytes_cut;
        warn!(
            "raft recovery: cut a torn tail of {} bytes off {} ({})",
            torn.bytes_cut,
            torn.path.display(),
            torn.reason
        );
    }
    let entries = recovered
        .entries
        .into_iter()
        .map(|(index, bytes)| {
            decode_entry(index, &bytes).map_err(|error| DriverError::CorruptRecord {
                index,
                why: error.to_string(),
            })
        })
        .collect::<Result<Vec<Entry>, DriverError>>()?;
    Ok((wal, entries))
}

/// The entries after the snapshot `meta`, if the log fits it: it reaches
/// the snapshot's index, holds the snapshot's term there (when it still
/// holds that entry), and continues right after it. Otherwise the log is
/// emptied (see the module doc) and none are returned.
pub fn fit_to_snapshot(
    wal: &mut Wal,
    meta: SnapshotMeta,
    entries: Vec<Entry>,
    report: &mut RecoveryReport,
) -> Result<Vec<Entry>, DriverError> {
    if meta.index == LogIndex::ZERO || entries.is_empty() {
        return Ok(entries);
    }
    let reaches = entries.last().is_some_and(|last| last.index >= meta.index);
    let agrees = entries
        .iter()
        .find(|entry| entry.index == meta.index)
        .is_none_or(|entry| entry.term == meta.term);
    let continues = entries[0].index <= meta.index.next();
    if reaches && agrees && continues {
        return Ok(entries
            .into_iter()
            .filter(|e| e.index > meta.index)
            .collect());
    }
    warn!(
        "raft recovery: the log ({}..={}) does not follow snapshot {}; emptying it",
        entries[0].index,
        entries[entries.len() - 1].index,
        meta.id()
    );
    wal.truncate_from(0)?;
    report.log_emptied = true;
    Ok(Vec::new())
}
