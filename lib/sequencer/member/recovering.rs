//! Recovery from an empty disk, as handlers on [`Member`]: the query
//! (`Recover` and its answers), the wait for a view above every view the
//! group reported, the catch-up once one is installed, and the end of the
//! recovery when the member holds that view's first log. `recovery.rs`
//! holds the decision; docs/SEQUENCER.md, section 5.7, the protocol and
//! why it is safe.
//!
//! Until it installs a view, a member sends no heartbeat and no vote,
//! assigns and delivers nothing, and its messages carry a changing stamp,
//! so no peer counts its watermark: everything it claimed in its earlier
//! life is gone, and none of it may count again. While it catches up, it
//! works in the view (its watermark is backed by its new disk) but votes in
//! no view change.

use log::{info, warn};

use super::Member;
use crate::sequencer::ids::{GlobalSeq, MemberId, INCARNATION_MAX};
use crate::sequencer::message::{Body, Standing};
use crate::sequencer::output::Destination;
use crate::sequencer::recovery::{Answer, CatchUp, Outcome};
use crate::sequencer::view::ViewStamp;

impl Member {
    /// A `Recover` query: every member answers where it stands (and, in
    /// the stamp, its view).
    pub(super) fn on_recover(&mut self, from: MemberId, nonce: u64) {
        let standing = match &self.recovery {
            Some(recovery) if recovery.asking_for.is_none() => Standing::Blank {
                nonce: recovery.nonce,
            },
            Some(_) => Standing::Recovering,
            None if self.started_with[from.index()] == Some(nonce) => Standing::NewWithYou,
            None => Standing::Member,
        };
        let body = Body::RecoverAnswer { nonce, standing };
        self.send(Destination::Member(from), body);
    }

    /// Why an answer to a `Recover` query is dropped, if it is: this member
    /// is not asking (any more), or the answer is to another start's query
    /// (the nonce).
    pub(super) fn ignore_recover_answer(&self, nonce: u64) -> Option<&'static str> {
        match &self.recovery {
            Some(recovery) if recovery.asking_for.is_none() => {
                (recovery.nonce != nonce).then_some("an answer to another start's query")
            }
            _ => Some("not asking the group"),
        }
    }

    /// An answer to this member's `Recover` query (`ignore_recover_answer`
    /// let it through).
    pub(super) fn on_recover_answer(
        &mut self,
        from: MemberId,
        stamp: ViewStamp,
        standing: Standing,
    ) {
        let Some(recovery) = self.recovery.as_mut() else {
            return;
        };
        let answer = Answer {
            view: stamp.view,
            standing,
        };
        recovery.answers.insert(from, answer);
        self.finish_query();
    }

    /// Decides, if the answers allow it: a first start, or the view to ask
    /// for.
    pub(super) fn finish_query(&mut self) {
        let (members, me, majority) = (self.config.members, self.config.id, self.config.majority());
        let patience = self.config.view_change_timeout_ticks;
        let Some(recovery) = self.recovery.as_mut() else {
            return;
        };
        if recovery.asking_for.is_some() {
            return;
        }
        let patient = self.now_tick >= recovery.started_tick + patience;
        match recovery.decide(members, me, majority, patient) {
            None => {}
            Some(Outcome::FirstStart) => {
                info!("{me} starts with a new group (every other member is new)");
                self.started_with = recovery.blank_nonces(members);
                self.recovery = None;
                self.take_incarnation(0);
                self.last_heard
                    .iter_mut()
                    .for_each(|tick| *tick = self.now_tick);
            }
            Some(Outcome::AskFor(view)) => {
                info!("{me} lost its disk: it recovers in a view from v{view} on");
                recovery.asking_for = Some(view);
                recovery.sent_tick = self.now_tick;
                self.ask_everyone_for_a_view();
            }
        }
    }

    /// A tick while recovering: the query goes out again until it is
    /// decided, then the request for a view.
    pub(super) fn recovery_tick(&mut self) {
        self.finish_query();
        let resend = self.config.view_change_resend_ticks;
        let Some(recovery) = self.recovery.as_mut() else {
            return;
        };
        if self.now_tick < recovery.sent_tick + resend {
            return;
        }
        recovery.sent_tick = self.now_tick;
        match recovery.asking_for {
            None => self.send_query(),
            Some(_) => self.ask_everyone_for_a_view(),
        }
    }

    /// Sends this recovery's query (`Recover` with its nonce) to all.
    pub(super) fn send_query(&mut self) {
        if let Some(recovery) = &self.recovery {
            let nonce = recovery.nonce;
            self.send(Destination::All, Body::Recover { nonce });
        }
    }

    /// True while the member still asks who it is: it takes in nothing but
    /// answers (it must stay blank for the others' first starts).
    pub(super) fn is_asking(&self) -> bool {
        self.recovery
            .as_ref()
            .is_some_and(|recovery| recovery.asking_for.is_none())
    }

    /// Sends GetView to all, stamped with the view asked for: members in a
    /// lower view start a view change to it (without this member, which
    /// does not vote), members working in it or later send their NewView.
    fn ask_everyone_for_a_view(&mut self) {
        let delivered = self.order.delivered_up_to();
        self.send(Destination::All, Body::GetView { delivered });
    }

    /// Reacts to a stamp while recovering: a view at or above the one asked
    /// for, worked in by `from`, is asked for. Nothing else: a recovering
    /// member joins no view change.
    pub(super) fn follow_view_recovering(&mut self, from: MemberId, stamp: ViewStamp) {
        let Some(asked) = self.recovery.as_ref().and_then(|r| r.asking_for) else {
            return;
        };
        if stamp.view >= asked && stamp.is_normal() {
            self.ask_for_view(from);
        }
    }

    /// True if installing `view` ends the recovery and the view can number
    /// an incarnation; a recovering member installs nothing else.
    pub(super) fn may_recover_into(&self, view: u64) -> bool {
        let Some(asked) = self.recovery.as_ref().and_then(|r| r.asking_for) else {
            return false;
        };
        if view > INCARNATION_MAX {
            warn!(
                "{} cannot recover into v{view}: above the highest incarnation",
                self.config.id
            );
            return false;
        }
        view >= asked
    }

    /// If recovering, the recovery installed a view formed without this
    /// member, whose first log ends at `up_to`: the member now works in it,
    /// but it votes in no view change until it holds all of that log
    /// (`CatchUp`). Nothing otherwise.
    pub(super) fn begin_catch_up(&mut self, up_to: GlobalSeq) {
        let Some(recovery) = self.recovery.take() else {
            return;
        };
        info!(
            "{} catches up to {up_to} before it votes again",
            self.config.id
        );
        self.catching_up = Some(CatchUp {
            nonce: recovery.nonce,
            up_to,
        });
    }

    /// Ends the recovery once the catch-up holds what it must: the member's
    /// requests are numbered in incarnation `view` (the view it works in)
    /// from now on, which no earlier life of it used (every earlier one was
    /// a view at most the highest the group reported, below this one).
    pub(super) fn maybe_end_catch_up(&mut self) {
        let Some(catch_up) = self.catching_up else {
            return;
        };
        if self.order.held_up_to() < catch_up.up_to {
            return;
        }
        let view = self.view.number;
        info!(
            "{} recovered in v{view}: its requests are numbered in incarnation {view}",
            self.config.id
        );
        self.catching_up = None;
        self.take_incarnation(view);
    }

    /// True from a start with an empty disk until the recovery ends: the
    /// member broadcasts nothing and answers no read question meanwhile.
    pub(crate) fn is_recovering(&self) -> bool {
        self.recovery.is_some() || self.catching_up.is_some()
    }

    /// `started_with` as persisted (0 for none), empty if it started no
    /// new group.
    pub(super) fn new_group_with(&self) -> Vec<u64> {
        if self.started_with.iter().all(Option::is_none) {
            return Vec::new();
        }
        self.started_with.iter().map(|n| n.unwrap_or(0)).collect()
    }
}
