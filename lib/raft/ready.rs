//! `Ready`: everything the core asks the driver to do, handed out in one
//! batch, and `advance`, by which the driver says it is done.
//!
//! Between `ready()` and `advance()` the node must not be stepped, ticked or
//! given proposals: the `Ready` describes one consistent state, and the node
//! panics if that rule is broken. Messages, proposals and ticks that arrive
//! meanwhile wait in the driver's channel and form the next batch, which is
//! how many proposals come to share one fsync.

use super::ids::EntryId;
use super::message::Message;
use super::node::RaftNode;
use super::types::{Entry, HardState, ReadState, Role, Snapshot};

/// One batch of work for the driver. Handle it in this order (crate::raft
/// explains why):
/// 1. send `messages_now`;
/// 2. write `snapshot_to_persist` (it replaces the whole persisted log),
///    then `entries_to_persist` (first discarding any persisted entry at or
///    after the first one given), then `hard_state`; fsync;
/// 3. send `messages_after_persist`;
/// 4. load `snapshot_to_persist` into the state machine, then apply
///    `committed_entries` in order;
/// 5. answer each `read_states` read once the state machine has applied its
///    index;
/// 6. call `RaftNode::advance`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ready {
    /// The term, vote and commit index to write, if they changed.
    pub hard_state: Option<HardState>,
    /// Log entries to write, in index order. They may overwrite persisted
    /// entries from their first index on.
    pub entries_to_persist: Vec<Entry>,
    /// A snapshot received from the leader, to write and to load into the
    /// state machine.
    pub snapshot_to_persist: Option<Snapshot>,
    /// Messages that may be sent before the write (heartbeats, a leader's
    /// appends: the leader writes its own log in parallel, §10.2.1).
    pub messages_now: Vec<Message>,
    /// Messages that may be sent only after the write (votes and append
    /// acknowledgements: they promise durable state).
    pub messages_after_persist: Vec<Message>,
    /// Committed entries to apply, in order. All are already on this node's
    /// disk. They may be handed to an apply thread: only the order matters,
    /// and `RaftNode::report_applied` tells the core how far it got.
    pub committed_entries: Vec<Entry>,
    /// Confirmed linearizable reads.
    pub read_states: Vec<ReadState>,
}

impl Ready {
    /// Whether there is nothing to do.
    pub fn is_empty(&self) -> bool {
        *self == Ready::default()
    }
}

/// What `advance` must record about the `Ready` it acknowledges.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct ReadyReceipt {
    hard_state: HardState,
    last_entry: Option<EntryId>,
    snapshot: bool,
}

impl RaftNode {
    /// Whether `ready` would return work.
    pub fn has_ready(&self) -> bool {
        self.append_pending
            || self.heartbeat_pending
            || self.hard_state() != self.persisted_hard_state
            || !self.log.unpersisted_entries().is_empty()
            || self.log.pending_snapshot().is_some()
            || !self.messages_now.is_empty()
            || !self.messages_after_persist.is_empty()
            || self.log.has_committed_entries()
            || !self.read_states.is_empty()
    }

    /// Hands out the pending work. Call `advance` once it is handled.
    ///
    /// # Panics
    /// If the previous `Ready` was not advanced.
    pub fn ready(&mut self) -> Ready {
        self.assert_no_outstanding_ready("ready");
        self.flush_broadcasts();
        let hard_state = self.hard_state();
        let entries_to_persist = self.log.unpersisted_entries().to_vec();
        let snapshot_to_persist = self.log.pending_snapshot().cloned();
        let committed_entries = self
            .log
            .next_committed_entries(self.config.apply_entries_max);
        if let Some(last) = committed_entries.last() {
            // Handed out now, so the driver may report them applied before
            // it calls `advance`.
            self.log.mark_handed_out(last.index);
        }
        self.outstanding = Some(ReadyReceipt {
            hard_state,
            last_entry: entries_to_persist.last().map(Entry::id),
            snapshot: snapshot_to_persist.is_some(),
        });
        Ready {
            hard_state: (hard_state != self.persisted_hard_state).then_some(hard_state),
            entries_to_persist,
            snapshot_to_persist,
            messages_now: std::mem::take(&mut self.messages_now),
            messages_after_persist: std::mem::take(&mut self.messages_after_persist),
            committed_entries,
            read_states: std::mem::take(&mut self.read_states),
        }
    }

    /// Acknowledges the last `Ready`: its writes are durable, its messages
    /// sent and its committed entries taken for applying. A leader now counts
    /// its own disk towards the commit, so `has_ready` may be true again.
    ///
    /// # Panics
    /// If no `Ready` is outstanding.
    pub fn advance(&mut self) {
        let receipt = self
            .outstanding
            .take()
            .unwrap_or_else(|| panic!("{} advance() without ready()", self.tag()));
        if receipt.snapshot {
            self.log.mark_snapshot_persisted();
        }
        if let Some(last_entry) = receipt.last_entry {
            self.log.mark_entries_persisted(last_entry);
        }
        self.persisted_hard_state = receipt.hard_state;
        if self.role == Role::Leader {
            self.on_own_persist(self.log.persisted());
        }
    }

    /// The state Figure 2 requires on disk.
    pub(super) fn hard_state(&self) -> HardState {
        HardState {
            term: self.term,
            vote: self.vote,
            commit: self.log.committed(),
        }
    }

    /// Sends the Append and heartbeat broadcasts that proposals, commits and
    /// reads asked for since the last `Ready`, once for all of them.
    fn flush_broadcasts(&mut self) {
        if self.role != Role::Leader {
            return;
        }
        if std::mem::take(&mut self.append_pending) {
            self.bcast_append();
        }
        if std::mem::take(&mut self.heartbeat_pending) {
            self.bcast_heartbeat();
        }
    }
}
