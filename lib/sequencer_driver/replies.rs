//! The apply thread's table of replies waiting, built on
//! `driver_kit::PendingReplies`: [`PendingBroadcasts`], the replies owed
//! for each of this member's own broadcasts (one per request of its batch),
//! by the broadcast's local number, until it is delivered here.

use crate::driver_kit::{PendingReplies, Reply};
use crate::sequencer::LocalSeq;

use super::limits::PENDING_REPLIES_MAX;

/// Replies to this member's own broadcasts, by local number, until the
/// broadcast is delivered here, its deadline passes, or an installed
/// snapshot covers it.
pub(super) type PendingBroadcasts<R> = PendingReplies<LocalSeq, Vec<Reply<R>>>;

/// An empty table of replies to broadcasts.
pub(super) fn pending_broadcasts<R>() -> PendingBroadcasts<R> {
    PendingReplies::new(
        PENDING_REPLIES_MAX,
        "too many requests waiting for delivery; retry later",
    )
}

/// Answers `Unavailable(why)` to every reply of a batch.
pub(super) fn fail_all<R>(replies: Vec<Reply<R>>, why: &str) {
    for reply in replies {
        reply.fail(why);
    }
}
