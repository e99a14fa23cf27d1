//! The hand-over from a protocol's core thread to its apply thread, which
//! never blocks the core.
//!
//! Why: the core thread is the one that sends heartbeats, answers votes and
//! keeps the turns. If it blocked on a full queue while the apply thread
//! wrote a large snapshot, its peers would hear nothing from it and elect a
//! new leader (or, in the customer DB, suspect it and change views) without
//! any fault. So tasks the apply thread has no room for wait here, in
//! order, and move on at the core's next turn; and the core takes no new
//! work from clients while `backlog_max` tasks wait here ([`is_behind`]),
//! which bounds what waits.
//!
//! [`is_behind`]: ApplyQueue::is_behind

use std::collections::VecDeque;

use crossbeam_channel::{Sender, TrySendError};

/// Why a core refuses client work while its queue [`is_behind`](ApplyQueue::is_behind).
pub const APPLYING_BEHIND: &str =
    "the replica is applying behind (a snapshot may be under way); retry";

/// The apply thread has stopped; nothing more can be applied.
#[derive(Debug, PartialEq, Eq)]
pub struct ApplyThreadGone;

/// The core's end of the apply queue.
pub struct ApplyQueue<T> {
    sender: Sender<T>,
    /// Tasks the bounded channel had no room for, oldest first.
    backlog: VecDeque<T>,
    backlog_max: usize,
}

impl<T> ApplyQueue<T> {
    /// Over `sender` (a bounded channel to the apply thread); the core is
    /// behind once `backlog_max` tasks wait beyond the channel.
    pub fn new(sender: Sender<T>, backlog_max: usize) -> ApplyQueue<T> {
        ApplyQueue {
            sender,
            backlog: VecDeque::new(),
            backlog_max,
        }
    }

    /// Queues `task` after every task queued before; never blocks.
    pub fn push(&mut self, task: T) -> Result<(), ApplyThreadGone> {
        self.backlog.push_back(task);
        self.move_on()
    }

    /// Moves waiting tasks into the channel while it has room; never blocks.
    /// The core calls it at every turn.
    pub fn move_on(&mut self) -> Result<(), ApplyThreadGone> {
        while let Some(task) = self.backlog.pop_front() {
            match self.sender.try_send(task) {
                Ok(()) => {}
                Err(TrySendError::Full(task)) => {
                    self.backlog.push_front(task);
                    return Ok(());
                }
                Err(TrySendError::Disconnected(_)) => return Err(ApplyThreadGone),
            }
        }
        Ok(())
    }

    /// Hands every waiting task over, blocking as long as that takes: only
    /// for a core that is about to wait for the apply thread anyway.
    pub fn hand_over_all(&mut self) -> Result<(), ApplyThreadGone> {
        while let Some(task) = self.backlog.pop_front() {
            self.sender.send(task).map_err(|_| ApplyThreadGone)?;
        }
        Ok(())
    }

    /// True while so many tasks wait that the core should refuse new client
    /// work (the replica is applying more slowly than it takes work).
    pub fn is_behind(&self) -> bool {
        self.backlog.len() >= self.backlog_max
    }

    /// Tasks waiting beyond the channel.
    pub fn waiting(&self) -> usize {
        self.backlog.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossbeam_channel::bounded;

    #[test]
    fn a_full_channel_never_blocks_and_order_is_kept() {
        let (sender, receiver) = bounded(2);
        let mut queue = ApplyQueue::new(sender, 3);
        for task in 1..=5 {
            queue.push(task).unwrap();
        }
        assert_eq!(queue.waiting(), 3);
        assert!(queue.is_behind());
        assert_eq!(receiver.try_recv(), Ok(1));
        queue.move_on().unwrap();
        assert!(!queue.is_behind());
        let received: Vec<i32> = std::iter::from_fn(|| receiver.try_recv().ok()).collect();
        assert_eq!(received, [2, 3]);
        queue.move_on().unwrap();
        let received: Vec<i32> = std::iter::from_fn(|| receiver.try_recv().ok()).collect();
        assert_eq!(received, [4, 5]);
        assert_eq!(queue.waiting(), 0);
    }

    #[test]
    fn a_gone_apply_thread_is_reported() {
        let (sender, receiver) = bounded(1);
        let mut queue = ApplyQueue::new(sender, 1);
        drop(receiver);
        assert_eq!(queue.push(1), Err(ApplyThreadGone));
    }
}
