//! `ReadIndexQueue`: linearizable reads waiting for the leader to confirm it
//! is still the leader (§8 of the paper, "ReadIndex" in the thesis §6.4).
//!
//! A read does not go through the log. Instead the leader:
//! 1. records its commit index as the read's index (if it has not yet
//!    committed an entry of its own term, its no-op's index, since only then
//!    does it know the true commit index);
//! 2. asks for a heartbeat round; when a majority has answered a round sent
//!    after the read arrived, no other leader can have been elected before
//!    the read began;
//! 3. once its commit index reaches the read's index, it emits a `ReadState`;
//!    the driver answers the read after applying up to that index.
//!
//! Every heartbeat broadcast is a new round, numbered; followers echo the
//! round of the heartbeat they answer, so one answer confirms every read of
//! that round and earlier ones. (Numbering every broadcast, not only those
//! that reads ask for, is what lets the leader lease of lease.rs know when
//! the round a majority answered was sent.)

use std::collections::VecDeque;

use super::ids::LogIndex;
use super::types::ReadState;

/// A read waiting for its round to be confirmed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingRead {
    /// The driver's context, returned in the `ReadState`.
    pub request_ctx: Vec<u8>,
    /// The commit index the read must wait for.
    pub index: LogIndex,
    /// The first heartbeat round that confirms the read: the next one sent
    /// after it arrived.
    pub round: u64,
}

/// The bounded FIFO of pending reads and the round counter.
#[derive(Clone, Debug)]
pub struct ReadIndexQueue {
    round: u64,
    pending: VecDeque<PendingRead>,
    capacity: usize,
}

impl ReadIndexQueue {
    /// An empty queue holding at most `capacity` reads.
    pub fn new(capacity: usize) -> ReadIndexQueue {
        ReadIndexQueue {
            round: 0,
            pending: VecDeque::new(),
            capacity,
        }
    }

    /// The latest round sent.
    pub fn round(&self) -> u64 {
        self.round
    }

    /// Numbers a new heartbeat round, about to be broadcast.
    pub fn next_round(&mut self) -> u64 {
        self.round += 1;
        self.round
    }

    /// Whether no further read may be queued.
    pub fn is_full(&self) -> bool {
        self.pending.len() >= self.capacity
    }

    /// Whether no read waits.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// Queues a read at `index`, to be confirmed by the next round sent
    /// (the caller makes sure one is).
    ///
    /// # Panics
    /// If the queue is full (the caller checks first) or `index` is below a
    /// queued read's index (commit indexes never go back).
    pub fn start(&mut self, request_ctx: Vec<u8>, index: LogIndex) {
        assert!(!self.is_full(), "read queue overflow");
        if let Some(last) = self.pending.back() {
            assert!(
                index >= last.index,
                "read index {index} below {}",
                last.index
            );
        }
        self.pending.push_back(PendingRead {
            request_ctx,
            index,
            round: self.round + 1,
        });
    }

    /// Releases, in order, the reads whose round a majority confirmed
    /// (`confirmed_round`) and whose index is committed.
    pub fn release(&mut self, confirmed_round: u64, committed: LogIndex) -> Vec<ReadState> {
        let mut released = Vec::new();
        while let Some(front) = self.pending.front() {
            if front.round > confirmed_round || front.index > committed {
                break;
            }
            let read = self.pending.pop_front().expect("front exists");
            released.push(ReadState {
                request_ctx: read.request_ctx,
                index: read.index,
            });
        }
        released
    }

    /// Drops every pending read (the node stopped being leader); returns how
    /// many were dropped. The driver times them out and retries elsewhere.
    pub fn clear(&mut self) -> usize {
        let count = self.pending.len();
        self.pending.clear();
        count
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_wait_for_their_round_and_their_index() {
        let mut queue = ReadIndexQueue::new(4);
        queue.start(b"a".to_vec(), LogIndex(5));
        assert_eq!(queue.next_round(), 1);
        queue.start(b"b".to_vec(), LogIndex(6));
        assert_eq!(queue.next_round(), 2);
        assert!(
            queue.release(0, LogIndex(9)).is_empty(),
            "no round confirmed"
        );
        assert!(
            queue.release(2, LogIndex(4)).is_empty(),
            "index not committed"
        );
        let released = queue.release(1, LogIndex(9));
        assert_eq!(released.len(), 1);
        assert_eq!(released[0].request_ctx, b"a".to_vec());
        let released = queue.release(2, LogIndex(6));
        assert_eq!(released[0].index, LogIndex(6));
        assert!(queue.is_empty());
    }

    #[test]
    fn the_queue_is_bounded_and_clear_counts_the_dropped() {
        let mut queue = ReadIndexQueue::new(2);
        queue.start(vec![], LogIndex(1));
        queue.next_round();
        queue.start(vec![], LogIndex(1));
        queue.next_round();
        assert!(queue.is_full());
        assert_eq!(queue.clear(), 2);
        assert_eq!(queue.round(), 2, "rounds keep counting after a clear");
    }
}
