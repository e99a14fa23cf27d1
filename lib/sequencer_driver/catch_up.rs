//! [`CatchUp`]: when a (re)started member begins taking requests again.
//!
//! Safety does not depend on it: every request, reads included, is answered
//! only once it is delivered here in the total order, and a member delivers
//! number `s` only after every number below it. So a lagging member can
//! never answer from stale state; it can only be slow. What the gate adds
//! is that a member that is far behind (or cannot reach a majority) says
//! `Unavailable` at once, and the frontend goes to another replica, instead
//! of holding the call while the member catches up.
//!
//! The rule: the member takes requests once (1) it has heard from a majority
//! of the group (itself included), and (2) it has delivered everything that
//! was held anywhere it looked when it came back: the highest of its own
//! log's held number at start and the first watermark each peer sent it.
//! Peers' later watermarks do not move the target (under load it would
//! never be reached); the total order takes care of the rest. The gate
//! latches: once open it stays open.

use crate::sequencer::{GlobalSeq, MemberId};

/// Whether a restarted member has caught up with what it found on return.
#[derive(Clone, Debug)]
pub(super) struct CatchUp {
    heard: Vec<bool>,
    heard_count: usize,
    majority: usize,
    target: GlobalSeq,
    caught_up: bool,
}

impl CatchUp {
    /// Member `me` of `members`, holding up to `held_at_start` from its log.
    pub(super) fn new(members: u16, me: MemberId, held_at_start: GlobalSeq) -> CatchUp {
        let mut heard = vec![false; usize::from(members)];
        heard[me.index()] = true;
        CatchUp {
            heard,
            heard_count: 1,
            majority: usize::from(members) / 2 + 1,
            target: held_at_start,
            caught_up: false,
        }
    }

    /// A message from `from` advertised `held_up_to`; the first one from
    /// each peer raises the target.
    pub(super) fn on_watermark(&mut self, from: MemberId, held_up_to: GlobalSeq) {
        let Some(heard) = self.heard.get_mut(from.index()) else {
            return;
        };
        if self.caught_up || *heard {
            return;
        }
        *heard = true;
        self.heard_count += 1;
        self.target = self.target.max(held_up_to);
    }

    /// Whether the member has caught up, now that it delivered `delivered`.
    pub(super) fn check(&mut self, delivered: GlobalSeq) -> bool {
        if !self.caught_up && self.heard_count >= self.majority && delivered >= self.target {
            self.caught_up = true;
        }
        self.caught_up
    }
}
