//! `Progress`: what a leader knows about one follower's log, and how it paces
//! replication to it.
//!
//! ```text
//!            reject or timeout              next index compacted
//!   +-------+ <--------------- +-----------+  -------------> +----------+
//!   | Probe |                  | Replicate |                 | Snapshot |
//!   +-------+ ---------------> +-----------+ <-------------  +----------+
//!             append accepted                snapshot installed
//! ```
//!
//! * Probe: the leader does not know where the logs match; it sends one
//!   Append and waits for the answer (or the next heartbeat answer) before
//!   sending another, stepping `next_index` back on each rejection.
//! * Replicate: the logs match up to `match_index`; the leader streams
//!   entries optimistically, at most `inflight_appends_max` messages ahead.
//! * Snapshot: the entries the follower needs are compacted; the leader sends
//!   InstallSnapshot chunks and nothing else until the follower has it.

use std::collections::VecDeque;

use super::ids::LogIndex;
use super::types::SnapshotMeta;

/// The last indexes of Append messages sent but not yet acknowledged, a
/// bounded FIFO: when full, the leader stops sending to that follower.
#[derive(Clone, Debug)]
pub struct Inflights {
    last_indexes: VecDeque<LogIndex>,
    capacity: usize,
}

impl Inflights {
    /// An empty window of `capacity` messages.
    pub fn new(capacity: usize) -> Inflights {
        assert!(
            capacity >= 1,
            "an inflight window needs room for one message"
        );
        Inflights {
            last_indexes: VecDeque::with_capacity(capacity),
            capacity,
        }
    }

    /// Records a message whose last entry is `last_index`.
    ///
    /// # Panics
    /// If the window is full or `last_index` does not grow.
    pub fn add(&mut self, last_index: LogIndex) {
        assert!(!self.is_full(), "inflight window overflow");
        if let Some(previous) = self.last_indexes.back() {
            assert!(
                last_index > *previous,
                "inflight {last_index} after {previous}"
            );
        }
        self.last_indexes.push_back(last_index);
    }

    /// Frees every message acknowledged by a match up to `index`.
    pub fn free_to(&mut self, index: LogIndex) {
        while self.last_indexes.front().is_some_and(|last| *last <= index) {
            self.last_indexes.pop_front();
        }
    }

    /// Frees the oldest message, presumed lost (a heartbeat answer shows
    /// the follower is reachable while the window stays full).
    pub fn free_first(&mut self) {
        self.last_indexes.pop_front();
    }

    /// Whether no further message may be sent.
    pub fn is_full(&self) -> bool {
        self.last_indexes.len() >= self.capacity
    }

    /// How many messages are in flight (tests inspect the window).
    #[cfg(test)]
    pub fn count(&self) -> usize {
        self.last_indexes.len()
    }

    /// Forgets every message (on a state change).
    pub fn reset(&mut self) {
        self.last_indexes.clear();
    }
}

/// A snapshot being streamed to one follower in chunks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SnapshotTransfer {
    /// The snapshot being sent.
    pub meta: SnapshotMeta,
    /// The follower holds the bytes before this offset.
    pub acked_offset: u64,
    /// The next chunk to send starts here.
    pub sent_offset: u64,
    /// Whether the last chunk has been sent (since the last rewind).
    pub all_sent: bool,
    /// Heartbeat intervals since the follower last acknowledged a chunk.
    pub idle_heartbeats: u32,
}

/// The replication state of one follower; see the module doc.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProgressState {
    /// Finding the match point, one Append at a time.
    Probe {
        /// An Append was sent and is not answered yet.
        probe_sent: bool,
    },
    /// Streaming entries.
    Replicate,
    /// Sending a snapshot.
    Snapshot(SnapshotTransfer),
}

/// What a leader knows about one follower.
#[derive(Clone, Debug)]
pub struct Progress {
    /// The follower's log matches the leader's up to here.
    pub match_index: LogIndex,
    /// The next entry to send. Invariant: `match_index < next_index`.
    pub next_index: LogIndex,
    /// How replication is paced; see `ProgressState`.
    pub state: ProgressState,
    /// The follower answered something since the last check-quorum round.
    pub recent_active: bool,
    /// The highest ReadIndex round this follower has confirmed.
    pub read_round_acked: u64,
    /// Append messages in flight (used in Replicate).
    pub inflights: Inflights,
}

impl Progress {
    /// A follower about which nothing is known: probe from `next_index`.
    pub fn new(next_index: LogIndex, inflight_appends_max: usize) -> Progress {
        Progress {
            match_index: LogIndex::ZERO,
            next_index,
            state: ProgressState::Probe { probe_sent: false },
            recent_active: false,
            read_round_acked: 0,
            inflights: Inflights::new(inflight_appends_max),
        }
    }

    /// Go back to probing from just after the match.
    pub fn become_probe(&mut self) {
        let floor = match self.state {
            ProgressState::Snapshot(transfer) => transfer.meta.index.next(),
            _ => LogIndex::ZERO,
        };
        self.state = ProgressState::Probe { probe_sent: false };
        self.next_index = self.match_index.next().max(floor);
        self.inflights.reset();
    }

    /// Stream entries from just after the match.
    pub fn become_replicate(&mut self) {
        self.state = ProgressState::Replicate;
        self.next_index = self.match_index.next();
        self.inflights.reset();
    }

    /// Start streaming snapshot `meta`.
    pub fn become_snapshot(&mut self, meta: SnapshotMeta) {
        self.state = ProgressState::Snapshot(SnapshotTransfer {
            meta,
            acked_offset: 0,
            sent_offset: 0,
            all_sent: false,
            idle_heartbeats: 0,
        });
        self.next_index = meta.index.next();
        self.inflights.reset();
    }

    /// Whether the leader must not send Append messages now.
    pub fn is_paused(&self) -> bool {
        match self.state {
            ProgressState::Probe { probe_sent } => probe_sent,
            ProgressState::Replicate => self.inflights.is_full(),
            ProgressState::Snapshot(_) => true,
        }
    }

    /// Records an Append just sent whose entries end at `last_index`
    /// (`entry_count` of them).
    pub fn sent_entries(&mut self, entry_count: usize, last_index: LogIndex) {
        match self.state {
            ProgressState::Replicate if entry_count > 0 => {
                self.next_index = last_index.next();
                self.inflights.add(last_index);
            }
            ProgressState::Replicate => {}
            ProgressState::Probe { .. } => self.state = ProgressState::Probe { probe_sent: true },
            ProgressState::Snapshot(_) => panic!("sent entries while sending a snapshot"),
        }
    }

    /// Lets a probing leader send again (an answer came in).
    pub fn resume(&mut self) {
        if let ProgressState::Probe { .. } = self.state {
            self.state = ProgressState::Probe { probe_sent: false };
        }
    }

    /// Records that the follower matches up to `index`. Returns whether that
    /// is news (the match grew).
    pub fn maybe_update(&mut self, index: LogIndex) -> bool {
        self.resume();
        if index <= self.match_index {
            return false;
        }
        self.match_index = index;
        self.next_index = self.next_index.max(index.next());
        self.inflights.free_to(index);
        true
    }

    /// True if a rejection of the Append whose `prev_log.index` was
    /// `rejected_index` answers an older message: in Replicate, one at or
    /// below the match; in Probe, any but the last probe's; while sending a
    /// snapshot, any.
    pub fn is_stale_rejection(&self, rejected_index: LogIndex) -> bool {
        match self.state {
            ProgressState::Replicate => rejected_index <= self.match_index,
            ProgressState::Probe { .. } => self.next_index.prev() != rejected_index,
            ProgressState::Snapshot(_) => true,
        }
    }

    /// Handles a rejection of the Append whose `prev_log.index` was
    /// `rejected_index`; `hint_next` is where the hint says to retry. Returns
    /// false if the rejection is stale (an answer to an older message).
    pub fn maybe_decrease_to(&mut self, rejected_index: LogIndex, hint_next: LogIndex) -> bool {
        if self.is_stale_rejection(rejected_index) {
            return false;
        }
        if self.state == ProgressState::Replicate {
            self.become_probe();
        }
        // Never retry below the match (known good) nor at or above the
        // rejected index (known bad).
        self.next_index = hint_next.min(rejected_index).max(self.match_index.next());
        self.state = ProgressState::Probe { probe_sent: false };
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raft::ids::Term;

    #[test]
    fn inflights_free_in_order_and_bound_the_window() {
        let mut inflights = Inflights::new(2);
        inflights.add(LogIndex(3));
        inflights.add(LogIndex(5));
        assert!(inflights.is_full());
        inflights.free_to(LogIndex(4));
        assert_eq!(inflights.count(), 1);
        inflights.free_to(LogIndex(5));
        assert_eq!(inflights.count(), 0);
    }

    #[test]
    fn probe_sends_one_message_until_an_answer() {
        let mut progress = Progress::new(LogIndex(5), 4);
        assert!(!progress.is_paused());
        progress.sent_entries(1, LogIndex(5));
        assert!(progress.is_paused());
        assert_eq!(
            progress.next_index,
            LogIndex(5),
            "probing does not move next"
        );
        progress.resume();
        assert!(!progress.is_paused());
    }

    #[test]
    fn replicate_advances_next_optimistically_within_the_window() {
        let mut progress = Progress::new(LogIndex(1), 2);
        progress.maybe_update(LogIndex(0));
        progress.become_replicate();
        progress.sent_entries(2, LogIndex(2));
        progress.sent_entries(2, LogIndex(4));
        assert_eq!(progress.next_index, LogIndex(5));
        assert!(progress.is_paused());
        assert!(progress.maybe_update(LogIndex(2)));
        assert!(!progress.is_paused());
    }

    #[test]
    fn stale_rejections_are_ignored() {
        let mut progress = Progress::new(LogIndex(10), 4);
        // Probe: only a rejection of the probe just sent counts.
        assert!(!progress.maybe_decrease_to(LogIndex(5), LogIndex(3)));
        assert!(progress.maybe_decrease_to(LogIndex(9), LogIndex(3)));
        assert_eq!(progress.next_index, LogIndex(3));
        // Replicate: a rejection at or below the match is old news.
        progress.maybe_update(LogIndex(4));
        progress.become_replicate();
        assert!(!progress.maybe_decrease_to(LogIndex(4), LogIndex(1)));
        assert!(progress.maybe_decrease_to(LogIndex(7), LogIndex(1)));
        assert_eq!(progress.next_index, LogIndex(5), "never below match + 1");
    }

    #[test]
    fn snapshot_state_pauses_appends_and_probes_after_it() {
        let mut progress = Progress::new(LogIndex(1), 4);
        let meta = SnapshotMeta {
            index: LogIndex(20),
            term: Term(2),
        };
        progress.become_snapshot(meta);
        assert!(progress.is_paused());
        assert!(!progress.maybe_decrease_to(LogIndex(19), LogIndex(1)));
        progress.become_probe();
        assert_eq!(progress.next_index, LogIndex(21));
    }
}
