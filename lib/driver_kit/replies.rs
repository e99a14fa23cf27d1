//! The answers owed to submitted requests: [`Reply`], which is called
//! exactly once whatever happens, and [`PendingReplies`], an apply thread's
//! bounded table of what it owes, by key, until the request is applied, its
//! deadline passes, or the protocol says it never will be here.
//!
//! "Exactly once" is enforced by the type rather than by care: a `Reply`
//! dropped unanswered (a queue dropped at shutdown, a thread that stopped, a
//! crash) answers `Unavailable` from its `Drop`, and `send` consumes it. So
//! no path leaves a caller hanging, and none answers twice.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Instant;

use crate::replication::{ReplicationError, ReplyTo};

/// Why a replica refuses a request whose thread inbox is full.
pub const OVERLOADED: &str = "the replica is overloaded; retry later";

/// What a reply says when its deadline passes. The request may still be
/// applied later; a retry with the same request id is then answered from
/// the state machine's request log, so retrying is always safe.
pub const TIMED_OUT: &str = "timed out; retry with the same request id";

/// A reply that must be answered once: by `send`, `fail`, or `Drop`.
pub struct Reply<R> {
    to: Option<ReplyTo<R>>,
}

impl<R> Reply<R> {
    /// Wraps the caller's callback.
    pub fn new(to: ReplyTo<R>) -> Reply<R> {
        Reply { to: Some(to) }
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

/// What a pending table holds: something that owes one or more replies and
/// can answer them all with an error.
pub trait Owed {
    /// Answers every reply owed with `error`.
    fn answer_error(self, error: &ReplicationError);
}

impl<R> Owed for Reply<R> {
    fn answer_error(self, error: &ReplicationError) {
        self.send(Err(error.clone()));
    }
}

impl<A: Owed> Owed for Vec<A> {
    fn answer_error(self, error: &ReplicationError) {
        for owed in self {
            owed.answer_error(error);
        }
    }
}

/// What waits under one key, and when its caller stops waiting.
struct Waiting<A> {
    owed: A,
    deadline: Instant,
}

/// Replies owed by key (a proposal number, a broadcast's local number, a
/// read), in key order, each until its deadline.
pub struct PendingReplies<K, A> {
    waiting: BTreeMap<K, Waiting<A>>,
    max: usize,
    /// What a reply refused because the table is full says.
    full: &'static str,
}

impl<K: Ord + Copy + fmt::Debug, A: Owed> PendingReplies<K, A> {
    /// An empty table of at most `max` entries; one more is refused with
    /// `Unavailable(full)`.
    pub fn new(max: usize, full: &'static str) -> PendingReplies<K, A> {
        PendingReplies {
            waiting: BTreeMap::new(),
            max,
            full,
        }
    }

    /// How many entries wait.
    pub fn len(&self) -> usize {
        self.waiting.len()
    }

    /// True if nothing waits.
    pub fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }

    /// Registers what is owed under `key` until `deadline`. Refuses
    /// (answering `Unavailable`) when the table is full.
    ///
    /// # Panics
    /// If `key` is registered already: each driver hands out keys once.
    pub fn expect(&mut self, key: K, owed: A, deadline: Instant) {
        if self.waiting.len() >= self.max {
            return owed.answer_error(&ReplicationError::Unavailable(self.full.into()));
        }
        let previous = self.waiting.insert(key, Waiting { owed, deadline });
        assert!(previous.is_none(), "{key:?} registered twice");
    }

    /// What is owed under `key`, if it still waits.
    pub fn take(&mut self, key: K) -> Option<A> {
        self.take_with_deadline(key).map(|(owed, _)| owed)
    }

    /// What is owed under `key` and its deadline, to move it on to another
    /// table.
    pub fn take_with_deadline(&mut self, key: K) -> Option<(A, Instant)> {
        let waiting = self.waiting.remove(&key)?;
        Some((waiting.owed, waiting.deadline))
    }

    /// Takes everything owed under keys up to `last`, in key order.
    pub fn take_up_to(&mut self, last: K) -> Vec<A> {
        let mut taken = Vec::new();
        while let Some(entry) = self.waiting.first_entry() {
            if *entry.key() > last {
                break;
            }
            taken.push(entry.remove().owed);
        }
        taken
    }

    /// Answers `Unavailable(TIMED_OUT)` to everything past its deadline.
    pub fn expire(&mut self, now: Instant) {
        let due: Vec<K> = self
            .waiting
            .iter()
            .filter(|(_, waiting)| waiting.deadline <= now)
            .map(|(key, _)| *key)
            .collect();
        let timed_out = ReplicationError::Unavailable(TIMED_OUT.into());
        for key in due {
            if let Some(waiting) = self.waiting.remove(&key) {
                waiting.owed.answer_error(&timed_out);
            }
        }
    }

    /// Answers everything with a clone of `error`.
    pub fn fail_all(&mut self, error: &ReplicationError) {
        for (_, waiting) in std::mem::take(&mut self.waiting) {
            waiting.owed.answer_error(error);
        }
    }

    /// Answers `Unavailable(why)` to everything under keys up to `last`.
    pub fn fail_up_to(&mut self, last: K, why: &str) {
        let error = ReplicationError::Unavailable(why.into());
        for owed in self.take_up_to(last) {
            owed.answer_error(&error);
        }
    }
}
