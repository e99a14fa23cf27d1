//! The view change, as handlers on [`Member`]: suspicion, StartViewChange,
//! DoViewChange at the coordinator, NewView, GetView, and the rejoin of a
//! member outside the turn list. docs/SEQUENCER.md, section 9, states the
//! protocol and why it is safe; `view_change.rs` holds the coordinator's
//! choice.
//!
//! The rules in one place:
//! - A member *works* in its installed view, or is *changing* to a higher
//!   one. While changing it assigns, acknowledges (watermarks of the old
//!   view's log) and delivers nothing; it still takes and forwards Requests,
//!   which belong to no view.
//! - Changing to view `w` is persisted (`Record::ViewChange`) before the
//!   member's DoViewChange leaves, so a restart cannot return to the old view.
//! - A member sends its DoViewChange for `w` only once a majority (itself
//!   included) is known to have entered `w` (their StartViewChange or
//!   DoViewChange for `w`): VR Revisited's StartViewChange round. Every
//!   vote for `w` is then backed by a majority that persisted `w`, which is
//!   what lets a member that lost its disk find every view it may have
//!   voted in (docs/SEQUENCER.md, section 5.7).
//! - A member installs a view only from a NewView whose log reaches down to
//!   its own delivered number, so installing drops no Sequence it held that
//!   might have been delivered elsewhere; otherwise it asks (GetView).

use std::collections::BTreeSet;

use log::{info, warn};

use super::{Member, OTHER_VIEW};
use crate::sequencer::ids::{GlobalSeq, LocalSeq, MemberId, Origin};
use crate::sequencer::message::{Body, Watermark, VIEW_BINDINGS_MAX};
use crate::sequencer::order::Insertion;
use crate::sequencer::output::Destination;
use crate::sequencer::persist::Record;
use crate::sequencer::view::{coordinator, View, ViewStamp};
use crate::sequencer::view_change::{choose, Gathering, ViewChange, Vote};

impl Member {
    /// Leaves the current view (working or changing) for view `view`:
    /// persists it, tells everyone, and sends this member's log to the new
    /// view's coordinator.
    pub(super) fn start_view_change(&mut self, view: u64) {
        assert!(view > self.current_view(), "view change to an older view");
        if self.catching_up.is_some() {
            // It follows the others' view change once they work in the new
            // view (`follow_view` asks for it); it must not vote yet.
            return;
        }
        info!(
            "{} starts a view change to v{view} (installed {})",
            self.config.id, self.view
        );
        assert!(self.recovery.is_none(), "a recovering member changes views");
        self.counters.view_changes += 1;
        self.abandon_reads();
        self.output.to_persist.push(Record::ViewChange { view });
        let expected = self.heard_recently();
        self.changing = Some(ViewChange::new(
            view,
            self.now_tick,
            self.config.id,
            expected,
        ));
        self.send(Destination::All, Body::StartViewChange);
        self.send_vote();
        self.try_decide();
    }

    /// Sends this member's log to the coordinator of the view being changed
    /// to (or counts it, at the coordinator). A log longer than a message
    /// can carry sits this view change out (safe: it only lacks a vote).
    fn send_vote(&mut self) {
        let majority = self.config.majority();
        let Some(change) = self.changing.as_ref() else {
            return;
        };
        if change.entered.len() < majority {
            return;
        }
        let view = change.view;
        let delivered = self.order.delivered_up_to();
        let top = self.order.sequenced_up_to();
        if top.0 - delivered.0 > VIEW_BINDINGS_MAX as u64 {
            warn!("{} sits out v{view}: its log is too long", self.config.id);
            return;
        }
        let bindings = self.order.bindings(delivered, top);
        let target = coordinator(view, self.config.members);
        if target == self.config.id {
            let vote = Vote {
                log_view: self.view.number,
                delivered,
                bindings,
                claims: self.order.watermark(),
            };
            self.count_vote(self.config.id, vote);
        } else {
            let body = Body::DoViewChange {
                delivered,
                bindings,
            };
            self.send(Destination::Member(target), body);
        }
    }

    /// `from` is known to have entered view `view` (its StartViewChange or
    /// DoViewChange): once a majority has, this member's vote may go.
    pub(super) fn note_entered(&mut self, from: MemberId, view: u64) {
        let majority = self.config.majority();
        let Some(change) = self.changing.as_mut() else {
            return;
        };
        if change.view != view || !change.entered.insert(from) {
            return;
        }
        if change.entered.len() == majority {
            self.send_vote();
            self.try_decide();
        }
    }

    fn count_vote(&mut self, from: MemberId, vote: Vote) {
        let (now_tick, majority) = (self.now_tick, self.config.majority());
        if let Some(change) = self.changing.as_mut() {
            change.vote(from, vote, now_tick, majority);
        }
    }

    /// Why a DoViewChange is dropped, if it is: it is for another view than
    /// the one this member changes to, or this member does not coordinate
    /// that view.
    pub(super) fn ignore_do_view_change(&self, stamp: ViewStamp) -> Option<&'static str> {
        if stamp.view != self.current_view() || self.changing.is_none() {
            Some(OTHER_VIEW)
        } else if coordinator(stamp.view, self.config.members) != self.config.id {
            Some("this member does not coordinate that view")
        } else {
            None
        }
    }

    /// A DoViewChange: the coordinator of the view being changed to keeps
    /// the first log each member sends.
    pub(super) fn on_do_view_change(
        &mut self,
        from: MemberId,
        stamp: ViewStamp,
        delivered: GlobalSeq,
        bindings: Vec<Origin>,
        watermark: &Watermark,
    ) {
        let vote = Vote {
            log_view: stamp.log_view,
            delivered,
            bindings,
            claims: watermark.clone(),
        };
        self.count_vote(from, vote);
        self.try_decide();
    }

    /// At the coordinator, once enough logs are in: decide the view's log and
    /// turn list, send NewView to all, and install it here if this member's
    /// delivered prefix reaches the log's first binding.
    pub(super) fn try_decide(&mut self) {
        let members = self.config.members;
        let timing = Gathering {
            gather_ticks: self.config.view_gather_ticks,
            timeout_ticks: self.config.view_change_timeout_ticks,
        };
        let Some(change) = self.changing.as_mut() else {
            return;
        };
        let mine = coordinator(change.view, members) == self.config.id;
        if !mine || change.decided || !change.ready(self.now_tick, members, timing) {
            return;
        }
        if self.working_view_heard > change.view {
            // A later view works already: this one would start only a
            // minority, on logs a state transfer may have made incomparable.
            return;
        }
        change.decided = true;
        let number = change.view;
        let decision = match choose(&change.votes, self.config.rejoin_lag_max) {
            Ok(decision) => decision,
            Err(why) => {
                // No single message is to blame: the votes together
                // contradict each other. The decision is refused, counted
                // and logged here, since no verdict carries it to a driver.
                warn!("{} cannot start v{number}: {why}", self.config.id);
                self.counters.contradictions += 1;
                return;
            }
        };
        let view = View {
            number,
            members: decision.members,
            start: GlobalSeq(decision.after.0 + decision.bindings.len() as u64 + 1),
        };
        info!("{} starts {view}", self.config.id);
        let body = Body::NewView {
            members: view.members.clone(),
            start: view.start,
            after: decision.after,
            bindings: decision.bindings.clone(),
        };
        self.send(Destination::All, body);
        if decision.after <= self.order.delivered_up_to() {
            self.accept_view(view, decision.after, &decision.bindings);
        }
    }

    /// Why a NewView is dropped, if it is: its view is older than this
    /// member's, or the one it works in already, or one a recovering member
    /// may not recover into.
    pub(super) fn ignore_new_view(&self, view: u64) -> Option<&'static str> {
        let current = self.current_view();
        if view < current {
            Some("an older view")
        } else if view == current && self.is_normal() {
            Some("the view it works in")
        } else if self.recovery.is_some() && !self.may_recover_into(view) {
            Some("not a view it may recover into")
        } else {
            None
        }
    }

    /// A NewView (from the coordinator, or from a member working in the view
    /// in answer to GetView).
    pub(super) fn on_new_view(
        &mut self,
        from: MemberId,
        view: View,
        after: GlobalSeq,
        bindings: &[Origin],
    ) {
        if after > self.order.delivered_up_to() {
            // Installing would drop Sequences held between the delivered
            // number and `after`: ask for the log from the delivered number.
            self.ask_for_view(from);
            return;
        }
        self.accept_view(view, after, bindings);
    }

    /// Installs `view` with its log `after + 1 ..`, if the log fits what this
    /// member delivered; refuses (logged, counted) a log that contradicts it.
    fn accept_view(&mut self, view: View, after: GlobalSeq, bindings: &[Origin]) {
        let delivered = self.order.delivered_up_to();
        // A peer's NewView was checked before (`contradiction` in `step`):
        // this refuses the coordinator's own decision, from votes that
        // contradict what it delivered.
        if let Err(why) = self.check_view_log(after, bindings) {
            warn!("{} refuses {view}: {why}", self.config.id);
            self.counters.contradictions += 1;
            return;
        }
        self.output.to_persist.push(Record::NewView {
            view: view.clone(),
            truncate_after: delivered,
        });
        self.order.truncate_undelivered();
        let skip = (delivered.0 - after.0) as usize;
        for (offset, origin) in bindings.iter().enumerate().skip(skip) {
            let global = GlobalSeq(after.0 + 1 + offset as u64);
            assert_eq!(
                self.order.insert_sequence(global, *origin),
                Insertion::Added,
                "view log {global}"
            );
            self.output.to_persist.push(Record::Sequence {
                global,
                origin: *origin,
            });
        }
        info!("{} installs {view}", self.config.id);
        // Installing ends a recovery's search for a view: its catch-up begins.
        self.begin_catch_up(GlobalSeq(view.start.0 - 1));
        let number = view.number;
        self.view = view;
        self.changing = None;
        self.counters.views_installed += 1;
        self.take_incarnation_of_view(number);
        self.peers.reset_held();
        self.last_heard
            .iter_mut()
            .for_each(|tick| *tick = self.now_tick);
        self.ready_since.iter_mut().for_each(|since| *since = None);
        self.nacks.forget_sequences();
        self.nacks.forget_held(&self.order);
        self.register_named_requests();
        // Tell everyone at once: delivery in the new view counts its
        // members' watermarks.
        self.send(Destination::All, Body::Heartbeat);
        self.maybe_end_catch_up();
    }

    /// Why a view's log cannot be installed here, if it cannot: it must
    /// reach down to the delivered number, agree with every
    /// delivered number still held, and keep each sender's requests in order.
    pub(super) fn check_view_log(
        &self,
        after: GlobalSeq,
        bindings: &[Origin],
    ) -> Result<(), String> {
        let delivered = self.order.delivered_up_to();
        // The log may end below the delivered number: a member that caught
        // up by state transfer after the view started is already past it
        // (its delivered numbers are final, so the view's log agrees with
        // them); it takes the view's later numbers by retransmission.
        if after > delivered {
            return Err(format!(
                "its log starts after {after}, above delivered {delivered}"
            ));
        }
        let mut numbered: Vec<LocalSeq> = self.order.snapshot_point().delivered_local;
        for (offset, origin) in bindings.iter().enumerate() {
            let global = GlobalSeq(after.0 + 1 + offset as u64);
            if global <= delivered {
                match self.order.sequence(global) {
                    Some(held) if held != *origin => {
                        return Err(format!("{global} is {origin}, delivered here as {held}"));
                    }
                    _ => continue,
                }
            }
            let next = &mut numbered[origin.sender.index()];
            if !origin.local_seq.follows(*next) {
                return Err(format!("{global} = {origin} breaks its sender's order"));
            }
            *next = origin.local_seq;
        }
        Ok(())
    }

    /// Why a GetView is dropped, if it is: this member does not work in a
    /// view, or the asker asks for a later one, or this member's view is
    /// the first (which has no log to send).
    pub(super) fn ignore_get_view(&self, stamp: ViewStamp) -> Option<&'static str> {
        if !self.is_normal() {
            Some("not working in a view")
        } else if stamp.view > self.view.number {
            Some("a later view than this member's")
        } else if self.view.number == 0 {
            Some("view 0 has no log to send")
        } else {
            None
        }
    }

    /// A GetView: a member working in its view sends the view's log from the
    /// asker's delivered number on, or says "compacted" if it no longer can.
    pub(super) fn on_get_view(&mut self, from: MemberId, delivered: GlobalSeq) {
        // An asker already past the view's start needs none of its log.
        let top = GlobalSeq(self.view.start.0 - 1);
        let after = delivered.min(top);
        if after == top {
            let body = Body::NewView {
                members: self.view.members.clone(),
                start: self.view.start,
                after,
                bindings: Vec::new(),
            };
            self.send(Destination::Member(from), body);
            return;
        }
        let too_long = top.0 - after.0 > VIEW_BINDINGS_MAX as u64;
        if after < self.order.base().global || too_long {
            let base = self
                .order
                .base()
                .global
                .max(GlobalSeq(top.0.saturating_sub(VIEW_BINDINGS_MAX as u64)));
            self.send(Destination::Member(from), Body::Compacted { base });
            return;
        }
        if self.order.sequenced_up_to() < top {
            return;
        }
        let body = Body::NewView {
            members: self.view.members.clone(),
            start: self.view.start,
            after,
            bindings: self.order.bindings(after, top),
        };
        self.send(Destination::Member(from), body);
    }

    /// Reacts to the view in a message's stamp: a higher view being changed
    /// to is joined; a view working without this member is asked for.
    pub(super) fn follow_view(&mut self, from: MemberId, stamp: ViewStamp) {
        if stamp.is_normal() {
            self.working_view_heard = self.working_view_heard.max(stamp.view);
        }
        let current = self.current_view();
        if stamp.view > current {
            if stamp.is_normal() {
                self.ask_for_view(from);
            } else {
                self.start_view_change(stamp.view);
            }
        } else if stamp.view == current && stamp.is_normal() && !self.is_normal() {
            self.ask_for_view(from);
        }
    }

    /// Sends GetView to `from`, at most once per resend interval.
    pub(super) fn ask_for_view(&mut self, from: MemberId) {
        let last = self.asked_view[from.index()];
        if last != 0 && self.now_tick < last + self.config.view_change_resend_ticks {
            return;
        }
        self.asked_view[from.index()] = self.now_tick.max(1);
        let delivered = self.order.delivered_up_to();
        self.send(Destination::Member(from), Body::GetView { delivered });
    }

    /// A tick while changing views: resend, decide, or give up on the view
    /// (its coordinator may be down) and move to the next.
    pub(super) fn view_change_tick(&mut self) {
        let Some(change) = self.changing.as_ref() else {
            return;
        };
        let (view, started, sent) = (change.view, change.started_tick, change.sent_tick);
        if self.now_tick >= started + self.config.view_change_timeout_ticks {
            self.start_view_change(view + 1);
            return;
        }
        if self.now_tick >= sent + self.config.view_change_resend_ticks {
            if let Some(change) = self.changing.as_mut() {
                change.sent_tick = self.now_tick;
            }
            self.send(Destination::All, Body::StartViewChange);
            self.send_vote();
        }
        self.try_decide();
    }

    /// The members (this one included) heard from in this view within the
    /// suspicion time: those a coordinator expects a log from.
    fn heard_recently(&self) -> BTreeSet<MemberId> {
        (0..self.config.members)
            .map(MemberId)
            .filter(|member| !self.is_silent(*member))
            .collect()
    }

    /// True if `member` (not this one) has not been heard from in this view
    /// for longer than the suspicion time.
    fn is_silent(&self, member: MemberId) -> bool {
        member != self.config.id
            && self.now_tick > self.last_heard[member.index()] + self.config.suspect_ticks
    }

    /// Suspects a member of the turn list that has been silent in this view
    /// for `suspect_ticks`: its turns would stall the order.
    pub(super) fn suspect_silent_members(&mut self) {
        let silent = self
            .view
            .members
            .iter()
            .copied()
            .find(|member| self.is_silent(*member));
        if let Some(member) = silent {
            info!("{} suspects {member}", self.config.id);
            self.counters.suspicions += 1;
            self.start_view_change(self.view.number + 1);
        }
    }

    /// Takes a live member outside the turn list back in, by a view change,
    /// once it has worked in this view and kept up for `rejoin_ready_ticks`.
    pub(super) fn take_back_ready_members(&mut self) {
        if !self.view.lists(self.config.id) {
            return;
        }
        let delivered = self.order.delivered_up_to().0;
        let mut due = false;
        for index in 0..usize::from(self.config.members) {
            let member = MemberId(index as u16);
            let recent =
                self.now_tick <= self.last_heard[index] + self.config.heartbeat_interval_ticks * 2;
            let kept_up = self.peers.held_up_to(member).0 + self.config.rejoin_lag_max >= delivered;
            if self.view.lists(member) || !(recent && kept_up) {
                self.ready_since[index] = None;
                continue;
            }
            let since = *self.ready_since[index].get_or_insert(self.now_tick);
            due |= self.now_tick >= since + self.config.rejoin_ready_ticks;
        }
        if due {
            info!("{} takes ready members back into the turns", self.config.id);
            self.counters.rejoins += 1;
            self.start_view_change(self.view.number + 1);
        }
    }
}
