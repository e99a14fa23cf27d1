//! [`SequencerStorage`]: the member's log of [`Record`]s on top of `wal::Wal`, one
//! record per log entry, and how it is replayed and kept short.
//!
//! # What is written when
//!
//! The core thread appends each batch's `to_persist`, and fsyncs once
//! before any message or delivery of the batch (the sequencer's rule: a
//! message claims what is durable) and with any `Base` record. A batch that
//! needs neither leaves its records unsynced until the next one that does
//! (`Output::needs_sync`). The log is never cut at the tail: the protocol
//! never takes back a record.
//!
//! # Keeping it short
//!
//! A record is dead once a `Base` record covers it, but dead and live
//! records share segments. So after `log_rewrite_records` appends the core
//! writes the member's whole [`PersistedState`] again (a `Base` record, then
//! every Request and Sequence held above it) at the tail, fsyncs, and drops
//! the segments that end before the rewrite (`Wal::compact_to`). Replay is
//! a plain scan: whatever older records survive (a segment that also holds
//! the rewrite's start) come before the rewrite, whose `Base` supersedes
//! them. A crash during the rewrite leaves the old records, still complete.

use crate::sequencer::{PersistedState, Record};
use crate::wal::{Wal, WalResult};

use super::errors::DriverError;

/// The member's log of records.
#[derive(Debug)]
pub(super) struct SequencerStorage {
    wal: Wal,
    /// The log index the next record gets.
    next_index: u64,
    /// Records appended since the last rewrite.
    records_since_rewrite: u64,
    /// Rewrite once this many were appended (and at least twice the last
    /// rewrite's size, so that a large persisted state is not rewritten on
    /// every batch).
    rewrite_after_records: u64,
    last_rewrite_records: u64,
}

impl SequencerStorage {
    /// The storage over a recovered `wal`.
    pub(super) fn new(wal: Wal, rewrite_after_records: u64) -> SequencerStorage {
        let next_index = wal.last_index().map_or(1, |last| last + 1);
        SequencerStorage {
            wal,
            next_index,
            records_since_rewrite: 0,
            rewrite_after_records,
            last_rewrite_records: 0,
        }
    }

    /// Appends `records` and makes them, and every record appended before
    /// them, durable (one fsync for all).
    pub(super) fn persist(&mut self, records: &[Record]) -> WalResult<()> {
        self.append(records)?;
        self.sync()
    }

    /// Makes every record appended so far durable; costs nothing when they
    /// already are.
    pub(super) fn sync(&mut self) -> WalResult<()> {
        self.wal.sync()
    }

    /// Appends `records` without waiting for the disk: a crash of the machine
    /// may lose them until the next [`SequencerStorage::sync`].
    pub(super) fn append(&mut self, records: &[Record]) -> WalResult<()> {
        if records.is_empty() {
            return Ok(());
        }
        let first = self.next_index;
        let entries: Vec<(u64, Vec<u8>)> = records
            .iter()
            .zip(first..)
            .map(|(record, index)| (index, record.encode()))
            .collect();
        self.wal.append(&entries)?;
        self.next_index += records.len() as u64;
        self.records_since_rewrite += records.len() as u64;
        Ok(())
    }

    /// True when enough was appended that a rewrite pays.
    pub(super) fn rewrite_due(&self) -> bool {
        let threshold = self
            .rewrite_after_records
            .max(2 * self.last_rewrite_records);
        self.records_since_rewrite >= threshold
    }

    /// Writes `state` (the member's persisted state now: every record
    /// appended so far is reflected in it) and drops the segments before it.
    pub(super) fn rewrite(&mut self, state: &PersistedState) -> WalResult<()> {
        let records = state_records(state);
        let first = self.next_index;
        self.persist(&records)?;
        self.wal.compact_to(first - 1)?;
        self.records_since_rewrite = 0;
        self.last_rewrite_records = records.len() as u64;
        Ok(())
    }

    /// How many segment files the log has (for tests).
    #[cfg(test)]
    pub(super) fn segment_count(&self) -> usize {
        self.wal.segment_count()
    }
}

/// The records that rebuild `state` when replayed: the base first, so that
/// it supersedes any older record replayed before it.
pub(super) fn state_records(state: &PersistedState) -> Vec<Record> {
    let mut records = Vec::with_capacity(3 + state.requests.len() + state.sequences.len());
    records.push(Record::Base(state.base.clone()));
    // The view before the Sequences: installing it drops every Sequence
    // above its truncation point, and there are none yet above the base.
    records.push(Record::NewView {
        view: state.view.clone(),
        truncate_after: state.base.global,
    });
    if let Some(view) = state.changing_to {
        records.push(Record::ViewChange { view });
    }
    match state.recovering {
        Some(nonce) => records.push(Record::Recovering { nonce }),
        None => records.push(Record::Incarnation {
            incarnation: state.incarnation,
            new_group_with: state.new_group_with.clone(),
        }),
    }
    for (origin, payload) in &state.requests {
        records.push(Record::Request {
            origin: *origin,
            payload: payload.clone(),
        });
    }
    for (global, origin) in &state.sequences {
        records.push(Record::Sequence {
            global: *global,
            origin: *origin,
        });
    }
    if state.delivered > state.base.global {
        records.push(Record::Delivered {
            up_to: state.delivered,
        });
    }
    records
}

/// Replays recovered log entries into the state a member restarts from.
///
/// # Errors
/// `CorruptRecord` for an entry that passed the log's checksum but is not a
/// record: something else wrote the directory, and guessing could lose data.
pub(super) fn replay(
    entries: &[(u64, Vec<u8>)],
    members: u16,
) -> Result<PersistedState, DriverError> {
    let mut state = PersistedState::new(members);
    for (index, bytes) in entries {
        let record = Record::decode(bytes).map_err(|error| DriverError::CorruptRecord {
            index: *index,
            why: error.to_string(),
        })?;
        state.apply(&record);
    }
    Ok(state)
}
