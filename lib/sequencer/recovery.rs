//! [`Recovery`]: a member that started with an empty disk finds out what it
//! may have been, before it takes part again (docs/SEQUENCER.md, section 5.7).
//!
//! It asks every member (`Recover`, with a nonce drawn for this start) and
//! decides from the answers ([`Recovery::decide`]):
//!
//! - **A first start.** Every other member answers that it is blank too
//!   (still asking), or that it started a new group while this member was
//!   blank under the same nonce: nothing anybody holds can come from an
//!   earlier life of this member, and it starts in view 0, incarnation 0.
//!   All members of a new group start this way, so a new group starts once
//!   every member has answered once.
//! - **A recovery.** A majority of members answered with a durable view
//!   (not recovering themselves). Their highest view is at least every
//!   view this member could have voted in or installed before it lost its
//!   disk (each was entered by a majority first, and two majorities share a
//!   member). It asks for a view above all of them, takes no part until it
//!   installs one (it neither votes nor acknowledges nor sequences), then
//!   catches up ([`CatchUp`]): it works in the view but votes in no view
//!   change until it holds every number of the view's first log with its
//!   request. Only then does it number its requests in a new incarnation:
//!   that view's number, or the later one it works in by then.
//!
//! While no answer comes from a member with a past, it waits a view-change
//! timeout for the rest of a new group before it settles for a recovery.

use std::collections::BTreeMap;

use super::ids::{GlobalSeq, MemberId};
use super::message::Standing;
use super::view::coordinator;

/// What one member answered: where it stands, and its view (the stamp's).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Answer {
    /// The answerer's view (changing to, or working in).
    pub(super) view: u64,
    /// Where it stands.
    pub(super) standing: Standing,
}

/// What the answers allow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Outcome {
    /// The group is new: start in view 0.
    FirstStart,
    /// Ask for a view with this number (above every view reported) and
    /// recover by installing it or a later one.
    AskFor(u64),
}

/// The last step of a recovery: the member installed a view formed without
/// it and works in it, but it does not vote, start a view change, answer a
/// read question or broadcast until it holds every number up to `up_to`
/// (the end of that view's first log) with its request.
///
/// Why: a number delivered before the disk was lost may have counted this
/// member among its majority, so only `f` others hold its request. Views
/// formed without this member keep its binding, but this member learns the
/// binding alone; if it voted now, a majority of voters could lack the
/// request and the coordinator would cut the log there and rebind a
/// delivered number (docs/SEQUENCER.md, section 5.7). Once it holds the
/// request too, `f + 1` members hold it again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct CatchUp {
    /// The recovery's nonce: still persisted as `Record::Recovering` until
    /// the catch-up ends (a restart recovers again).
    pub(super) nonce: u64,
    /// Every number up to here must be held with its request.
    pub(super) up_to: GlobalSeq,
}

/// A recovery under way at one member.
#[derive(Clone, Debug)]
pub(super) struct Recovery {
    /// Tags this start's queries: answers to an earlier start are ignored.
    pub(super) nonce: u64,
    /// The answers so far, one per member (the latest).
    pub(super) answers: BTreeMap<MemberId, Answer>,
    /// Once decided: the view asked for; the member installs it or a later
    /// one, and only then takes part.
    pub(super) asking_for: Option<u64>,
    /// When the recovery began.
    pub(super) started_tick: u64,
    /// When the query (or the request for a view) last went out.
    pub(super) sent_tick: u64,
}

impl Recovery {
    /// A recovery that begins at `now_tick`.
    pub(super) fn new(nonce: u64, now_tick: u64) -> Recovery {
        Recovery {
            nonce,
            answers: BTreeMap::new(),
            asking_for: None,
            started_tick: now_tick,
            sent_tick: now_tick,
        }
    }

    /// What member `me` of a group of `members` may do with the answers so
    /// far (`majority` of the group); `patient` once it waited long enough
    /// for the rest of a new group. None: wait for more.
    pub(super) fn decide(
        &self,
        members: u16,
        me: MemberId,
        majority: usize,
        patient: bool,
    ) -> Option<Outcome> {
        let others = usize::from(members) - 1;
        let new = |answer: &Answer| {
            matches!(
                answer.standing,
                Standing::Blank { .. } | Standing::NewWithYou
            )
        };
        if self.answers.len() == others && self.answers.values().all(new) {
            return Some(Outcome::FirstStart);
        }
        let durable: Vec<&Answer> = self
            .answers
            .values()
            .filter(|answer| matches!(answer.standing, Standing::Member | Standing::NewWithYou))
            .collect();
        let with_a_past = durable
            .iter()
            .any(|answer| answer.standing == Standing::Member);
        if durable.len() < majority || !(with_a_past || patient) {
            return None;
        }
        let highest = durable.iter().map(|answer| answer.view).max().unwrap_or(0);
        // Not a view this member would coordinate: it must not decide one.
        let ask_for = (highest + 1..)
            .find(|view| coordinator(*view, members) != me)
            .expect("a group of two or more has another coordinator");
        Some(Outcome::AskFor(ask_for))
    }

    /// The nonces under which the others answered blank: a first start
    /// keeps them, to answer their queries `NewWithYou` later.
    pub(super) fn blank_nonces(&self, members: u16) -> Vec<Option<u64>> {
        (0..members)
            .map(|member| match self.answers.get(&MemberId(member)) {
                Some(Answer {
                    standing: Standing::Blank { nonce },
                    ..
                }) => Some(*nonce),
                _ => None,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(view: u64, standing: Standing) -> Answer {
        Answer { view, standing }
    }

    fn recovery(answers: &[(u16, Answer)]) -> Recovery {
        let mut recovery = Recovery::new(7, 0);
        for (member, answer) in answers {
            recovery.answers.insert(MemberId(*member), *answer);
        }
        recovery
    }

    const BLANK: Standing = Standing::Blank { nonce: 3 };

    #[test]
    fn a_new_group_starts_once_every_other_member_answered_blank_or_new_with_it() {
        let blank = answer(0, BLANK);
        let new = answer(0, Standing::NewWithYou);
        let four = recovery(&[(1, blank), (2, new), (3, blank), (4, new)]);
        assert_eq!(
            four.decide(5, MemberId(0), 3, false),
            Some(Outcome::FirstStart)
        );
        let three = recovery(&[(1, blank), (2, blank), (3, blank)]);
        assert_eq!(three.decide(5, MemberId(0), 3, true), None, "all blank");
    }

    #[test]
    fn a_member_with_a_past_asks_for_a_view_above_every_view_a_majority_reported() {
        // Member 3 may have voted in view 6 before it lost its disk: view 6
        // was entered by a majority, so one of any three others knows it.
        let member = |view| answer(view, Standing::Member);
        let answers = recovery(&[(0, member(6)), (1, member(5)), (4, member(5))]);
        assert_eq!(
            answers.decide(5, MemberId(3), 3, false),
            Some(Outcome::AskFor(7))
        );
        // It never asks for a view it would coordinate itself (8 mod 5 = 3).
        let answers = recovery(&[(0, member(7)), (1, member(5)), (4, member(5))]);
        assert_eq!(
            answers.decide(5, MemberId(3), 3, false),
            Some(Outcome::AskFor(9))
        );
    }

    #[test]
    fn recovering_and_blank_answers_do_not_count_towards_the_majority() {
        let answers = recovery(&[
            (0, answer(9, Standing::Recovering)),
            (1, answer(2, Standing::Member)),
            (2, answer(0, BLANK)),
            (4, answer(2, Standing::Member)),
        ]);
        assert_eq!(answers.decide(5, MemberId(3), 3, true), None);
    }

    #[test]
    fn new_members_alone_wait_for_the_rest_of_the_group_before_a_recovery() {
        let new = answer(0, Standing::NewWithYou);
        let answers = recovery(&[(0, new), (1, new), (2, new)]);
        assert_eq!(answers.decide(5, MemberId(3), 3, false), None);
        assert_eq!(
            answers.decide(5, MemberId(3), 3, true),
            Some(Outcome::AskFor(1))
        );
    }
}
