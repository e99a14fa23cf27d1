//! The answers owed to submitted requests: [`Reply`], which is called
//! exactly once whatever happens, and the raft-apply thread's two bounded
//! tables of replies waiting: [`PendingProposals`] (writes, until their
//! entry is applied here) and [`PendingReads`] (ReadIndex reads, until the
//! leader confirmed them and the state machine caught up).
//!
//! "Exactly once" is enforced by the type rather than by care: a `Reply`
//! dropped unanswered (a queue dropped at shutdown, a thread that stopped, a
//! crash) answers `Unavailable` from its `Drop`, and `send` consumes it. So
//! no path leaves a caller hanging, and none answers twice.

use std::collections::BTreeMap;
use std::time::Instant;

use crate::replication::{ReplicationError, ReplyTo};

use super::limits::{PENDING_PROPOSALS_MAX, PENDING_READS_MAX};

/// What a reply says when its deadline passes. The request may still be
/// applied later; a retry with the same request id is then answered from
/// the state machine's request log, so retrying is always safe.
pub const TIMED_OUT: &str = "timed out; retry with the same request id";

/// A reply that must be answered once: by `send`, `fail`, or `Drop`.
pub struct Reply<R> {
    to: Option<ReplyTo<R>>,
    /// When the caller stops waiting: the reply then answers `TIMED_OUT`.
    pub deadline: Instant,
}

impl<R> Reply<R> {
    /// Wraps the caller's callback, which gives up at `deadline`.
    pub fn new(to: ReplyTo<R>, deadline: Instant) -> Reply<R> {
        Reply {
            to: Some(to),
            deadline,
        }
    }

    /// Answers with `result`.
    pub fn send(mut self, result: Result<R, ReplicationError>) {
        if let Some(to) = self.to.take() {
            to(result);
        }
    }

    /// Answers `Unavailable(why)`.
    pub fn fail(self, why: impl Into<String>) {
        self.send(Err(ReplicationError::Unavailable(why.into())));
    }

    /// Answers `NotLeader`, naming the leader if known, so that a frontend
    /// retries there at once.
    pub fn redirect(self, leader: Option<usize>) {
        self.send(Err(ReplicationError::NotLeader { leader }));
    }

    fn is_due(&self, now: Instant) -> bool {
        self.deadline <= now
    }
}

impl<R> Drop for Reply<R> {
    fn drop(&mut self) {
        if let Some(to) = self.to.take() {
            to(Err(ReplicationError::Unavailable(
                "the replica stopped before answering; retry with the same request id".into(),
            )));
        }
    }
}

/// Replies to this node's own proposals, by proposal number, until the
/// proposal's entry is applied here, the deadline passes, or this node
/// stops leading.
pub struct PendingProposals<R> {
    waiting: BTreeMap<u64, Reply<R>>,
}

impl<R> Default for PendingProposals<R> {
    fn default() -> Self {
        PendingProposals {
            waiting: BTreeMap::new(),
        }
    }
}

impl<R> PendingProposals<R> {
    /// How many replies wait.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.waiting.len()
    }

    /// Registers the reply owed when proposal `number` is applied. Refuses
    /// (answering `Unavailable`) when the table is full.
    ///
    /// # Panics
    /// If `number` is registered already: the core numbers proposals once each.
    pub fn expect(&mut self, number: u64, reply: Reply<R>) {
        if self.waiting.len() >= PENDING_PROPOSALS_MAX {
            return reply.fail("too many requests in flight; retry later");
        }
        let previous = self.waiting.insert(number, reply);
        assert!(previous.is_none(), "proposal {number} registered twice");
    }

    /// The reply owed for proposal `number`, if it still waits.
    pub fn take(&mut self, number: u64) -> Option<Reply<R>> {
        self.waiting.remove(&number)
    }

    /// Answers `Unavailable(TIMED_OUT)` to every reply past its deadline.
    pub fn expire(&mut self, now: Instant) {
        let due: Vec<u64> = self
            .waiting
            .iter()
            .filter(|(_, reply)| reply.is_due(now))
            .map(|(number, _)| *number)
            .collect();
        for number in due {
            if let Some(reply) = self.waiting.remove(&number) {
                reply.fail(TIMED_OUT);
            }
        }
    }

    /// Answers every reply with a clone of `error`.
    pub fn fail_all(&mut self, error: &ReplicationError) {
        for (_, reply) in std::mem::take(&mut self.waiting) {
            reply.send(Err(error.clone()));
        }
    }
}

/// A read and the reply owed for it.
pub struct PendingRead<Q, R> {
    /// The read-only request to run against the state machine.
    pub request: Q,
    /// Where its result goes.
    pub reply: Reply<R>,
}

/// ReadIndex reads (§8 of the Raft paper), in two stages: waiting for the
/// leader to confirm it still leads (which fixes the read's index), then
/// waiting for the state machine to apply up to that index.
pub struct PendingReads<Q, R> {
    unconfirmed: BTreeMap<u64, PendingRead<Q, R>>,
    /// By (read index, read id): the first entries are answered first.
    confirmed: BTreeMap<(u64, u64), PendingRead<Q, R>>,
}

impl<Q, R> Default for PendingReads<Q, R> {
    fn default() -> Self {
        PendingReads {
            unconfirmed: BTreeMap::new(),
            confirmed: BTreeMap::new(),
        }
    }
}

impl<Q, R> PendingReads<Q, R> {
    /// How many reads wait, in either stage.
    pub fn len(&self) -> usize {
        self.unconfirmed.len() + self.confirmed.len()
    }

    /// Registers read `id`, not yet confirmed. Refuses (answering
    /// `Unavailable`) when the table is full.
    pub fn expect(&mut self, id: u64, read: PendingRead<Q, R>) {
        if self.len() >= PENDING_READS_MAX {
            return read.reply.fail("too many reads in flight; retry later");
        }
        let previous = self.unconfirmed.insert(id, read);
        assert!(previous.is_none(), "read {id} registered twice");
    }

    /// The leader confirmed read `id` at `index`: it may be answered once
    /// the state machine has applied `index`. An unknown id (expired, or
    /// failed at a step-down) is ignored.
    pub fn confirm(&mut self, id: u64, index: u64) {
        if let Some(read) = self.unconfirmed.remove(&id) {
            self.confirmed.insert((index, id), read);
        }
    }

    /// Takes the confirmed reads whose index is at most `applied`.
    pub fn take_ready(&mut self, applied: u64) -> Vec<PendingRead<Q, R>> {
        let later = self.confirmed.split_off(&(applied.saturating_add(1), 0));
        std::mem::replace(&mut self.confirmed, later)
            .into_values()
            .collect()
    }

    /// Answers `Unavailable(TIMED_OUT)` to every read past its deadline.
    pub fn expire(&mut self, now: Instant) {
        let unconfirmed_due: Vec<u64> = due_keys(&self.unconfirmed, now);
        let confirmed_due: Vec<(u64, u64)> = due_keys(&self.confirmed, now);
        for id in unconfirmed_due {
            if let Some(read) = self.unconfirmed.remove(&id) {
                read.reply.fail(TIMED_OUT);
            }
        }
        for key in confirmed_due {
            if let Some(read) = self.confirmed.remove(&key) {
                read.reply.fail(TIMED_OUT);
            }
        }
    }

    /// Answers the reads not yet confirmed with a clone of `error`. A
    /// confirmed read stays: the leader proved it led at the read's index,
    /// so the answer is linearizable whoever leads when it is given.
    pub fn fail_unconfirmed(&mut self, error: &ReplicationError) {
        for (_, read) in std::mem::take(&mut self.unconfirmed) {
            read.reply.send(Err(error.clone()));
        }
    }

    /// Answers every read with a clone of `error`.
    pub fn fail_all(&mut self, error: &ReplicationError) {
        let unconfirmed = std::mem::take(&mut self.unconfirmed).into_values();
        let confirmed = std::mem::take(&mut self.confirmed).into_values();
        for read in unconfirmed.chain(confirmed) {
            read.reply.send(Err(error.clone()));
        }
    }
}

/// The keys of the reads in `table` whose deadline has passed.
fn due_keys<K: Copy + Ord, Q, R>(table: &BTreeMap<K, PendingRead<Q, R>>, now: Instant) -> Vec<K> {
    table
        .iter()
        .filter(|(_, read)| read.reply.is_due(now))
        .map(|(key, _)| *key)
        .collect()
}
