//! The raft-apply thread's two tables of replies waiting, both built on
//! `driver_kit::PendingReplies`: [`PendingProposals`] (writes, until their
//! entry is applied here) and [`PendingReads`] (ReadIndex reads, until the
//! leader confirmed them and the state machine caught up).

use std::time::Instant;

use crate::driver_kit::{Owed, PendingReplies, Reply};
use crate::replication::ReplicationError;

use super::limits::{PENDING_PROPOSALS_MAX, PENDING_READS_MAX};

/// Replies to this node's own proposals, by proposal number, until the
/// proposal's entry is applied here, the deadline passes, or this node
/// stops leading.
pub type PendingProposals<R> = PendingReplies<u64, Reply<R>>;

/// An empty table of replies to proposals.
pub fn pending_proposals<R>() -> PendingProposals<R> {
    PendingReplies::new(
        PENDING_PROPOSALS_MAX,
        "too many requests in flight; retry later",
    )
}

/// A read and the reply owed for it.
pub struct PendingRead<Q, R> {
    /// The read-only request to run against the state machine.
    pub request: Q,
    /// Where its result goes.
    pub reply: Reply<R>,
}

impl<Q, R> Owed for PendingRead<Q, R> {
    fn answer_error(self, error: &ReplicationError) {
        self.reply.answer_error(error);
    }
}

/// ReadIndex reads (§8 of the Raft paper), in two stages: waiting for the
/// leader to confirm it still leads (which fixes the read's index), then
/// waiting for the state machine to apply up to that index.
pub struct PendingReads<Q, R> {
    unconfirmed: PendingReplies<u64, PendingRead<Q, R>>,
    /// By (read index, read id): the first entries are answered first.
    confirmed: PendingReplies<(u64, u64), PendingRead<Q, R>>,
}

impl<Q, R> Default for PendingReads<Q, R> {
    fn default() -> Self {
        let full = "too many reads in flight; retry later";
        PendingReads {
            unconfirmed: PendingReplies::new(PENDING_READS_MAX, full),
            // Bounded by the unconfirmed stage, which every read passes.
            confirmed: PendingReplies::new(usize::MAX, full),
        }
    }
}

impl<Q, R> PendingReads<Q, R> {
    /// How many reads wait, in either stage.
    pub fn len(&self) -> usize {
        self.unconfirmed.len() + self.confirmed.len()
    }

    /// Registers read `id`, not yet confirmed, until `deadline`. Refuses
    /// (answering `Unavailable`) when the table is full.
    pub fn expect(&mut self, id: u64, read: PendingRead<Q, R>, deadline: Instant) {
        if self.len() >= PENDING_READS_MAX {
            return read.reply.fail("too many reads in flight; retry later");
        }
        self.unconfirmed.expect(id, read, deadline);
    }

    /// The leader confirmed read `id` at `index`: it may be answered once
    /// the state machine has applied `index`. An unknown id (expired, or
    /// failed at a step-down) is ignored.
    pub fn confirm(&mut self, id: u64, index: u64) {
        if let Some((read, deadline)) = self.unconfirmed.take_with_deadline(id) {
            self.confirmed.expect((index, id), read, deadline);
        }
    }

    /// Takes the confirmed reads whose index is at most `applied`.
    pub fn take_ready(&mut self, applied: u64) -> Vec<PendingRead<Q, R>> {
        self.confirmed.take_up_to((applied, u64::MAX))
    }

    /// Answers `Unavailable(TIMED_OUT)` to every read past its deadline.
    pub fn expire(&mut self, now: Instant) {
        self.unconfirmed.expire(now);
        self.confirmed.expire(now);
    }

    /// Answers the reads not yet confirmed with a clone of `error`. A
    /// confirmed read stays: the leader proved it led at the read's index,
    /// so the answer is linearizable whoever leads when it is given.
    pub fn fail_unconfirmed(&mut self, error: &ReplicationError) {
        self.unconfirmed.fail_all(error);
    }

    /// Answers every read with a clone of `error`.
    pub fn fail_all(&mut self, error: &ReplicationError) {
        self.unconfirmed.fail_all(error);
        self.confirmed.fail_all(error);
    }
}
