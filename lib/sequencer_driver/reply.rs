//! The answer owed to each submitted request: [`Reply`], which is called
//! exactly once whatever happens, and [`PendingReplies`], the apply thread's
//! bounded table of replies waiting for their broadcast's delivery here
//! (one entry per broadcast, holding the replies of its request batch).
//!
//! "Exactly once" is enforced by the type rather than by care: a `Reply`
//! that is dropped unanswered (a queue dropped at shutdown, a thread that
//! stopped, a crash) answers `Unavailable` from its `Drop`. So no path can
//! leave a gRPC call hanging, and none can answer twice (`send` consumes it).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::replication::{ReplicationError, ReplyTo};
use crate::sequencer::LocalSeq;

use super::limits::PENDING_REPLIES_MAX;

/// A reply that must be answered once: by `send`, by `fail`, or by `Drop`.
pub(super) struct Reply<R> {
    to: Option<ReplyTo<R>>,
}

impl<R> Reply<R> {
    /// Wraps the caller's callback.
    pub(super) fn new(to: ReplyTo<R>) -> Reply<R> {
        Reply { to: Some(to) }
    }

    /// Answers with `result`.
    pub(super) fn send(mut self, result: Result<R, ReplicationError>) {
        if let Some(to) = self.to.take() {
            to(result);
        }
    }

    /// Answers `Unavailable(why)`.
    pub(super) fn fail(self, why: impl Into<String>) {
        self.send(Err(ReplicationError::Unavailable(why.into())));
    }
}

impl<R> Drop for Reply<R> {
    fn drop(&mut self) {
        if let Some(to) = self.to.take() {
            to(Err(ReplicationError::Unavailable(
                "the replica stopped before the request was delivered".into(),
            )));
        }
    }
}

/// A broadcast's replies and the moment they give up.
struct Pending<R> {
    replies: Vec<Reply<R>>,
    deadline: Instant,
}

impl<R> Pending<R> {
    fn fail(self, why: &str) {
        fail_all(self.replies, why);
    }
}

/// Answers `Unavailable(why)` to every reply of a batch.
pub(super) fn fail_all<R>(replies: Vec<Reply<R>>, why: &str) {
    for reply in replies {
        reply.fail(why);
    }
}

/// Replies to this member's own broadcasts, by local number, until the
/// broadcast is delivered here or its deadline passes.
pub(super) struct PendingReplies<R> {
    /// Local numbers are registered in increasing order with one timeout,
    /// so the first entry always has the earliest deadline.
    waiting: BTreeMap<LocalSeq, Pending<R>>,
    timeout: Duration,
}

impl<R> PendingReplies<R> {
    /// An empty table whose replies wait at most `timeout`.
    pub(super) fn new(timeout: Duration) -> PendingReplies<R> {
        PendingReplies {
            waiting: BTreeMap::new(),
            timeout,
        }
    }

    /// How many broadcasts have replies waiting.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.waiting.len()
    }

    /// Registers the replies owed when `local_seq` is delivered. Refuses
    /// (and answers `Unavailable`) when the table is full.
    ///
    /// # Panics
    /// If `local_seq` is not above every registered number: the core hands
    /// out local numbers in increasing order, once each.
    pub(super) fn expect(&mut self, local_seq: LocalSeq, replies: Vec<Reply<R>>, now: Instant) {
        if let Some((last, _)) = self.waiting.last_key_value() {
            assert!(local_seq > *last, "reply for {local_seq} after {last}");
        }
        let deadline = now + self.timeout;
        let pending = Pending { replies, deadline };
        if self.waiting.len() >= PENDING_REPLIES_MAX {
            return pending.fail("too many requests waiting for delivery; retry later");
        }
        self.waiting.insert(local_seq, pending);
    }

    /// The replies owed for `local_seq`, if they still wait.
    pub(super) fn take(&mut self, local_seq: LocalSeq) -> Option<Vec<Reply<R>>> {
        self.waiting
            .remove(&local_seq)
            .map(|pending| pending.replies)
    }

    /// Answers `Unavailable` to every reply whose deadline has passed. The
    /// request may still be delivered later; a retry with the same request
    /// id is then answered from the state machine's request log.
    pub(super) fn expire(&mut self, now: Instant) {
        while let Some(entry) = self.waiting.first_entry() {
            if entry.get().deadline > now {
                return;
            }
            entry.remove().fail(
                "timed out waiting for the request to be delivered; \
                 retry with the same request id",
            );
        }
    }

    /// Answers `Unavailable` to every reply up to `local_seq`: an installed
    /// snapshot covers those requests, so their results are not known here.
    /// A retry with the same request id gets the first result from the
    /// state machine's request log.
    pub(super) fn fail_up_to(&mut self, local_seq: LocalSeq, why: &str) {
        let later = self.waiting.split_off(&local_seq.next());
        for (_, pending) in std::mem::replace(&mut self.waiting, later) {
            pending.fail(why);
        }
    }
}
