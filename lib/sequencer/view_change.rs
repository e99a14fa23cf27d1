//! The view change's bookkeeping: [`ViewChange`] is one change under way at
//! one member (its target view, its timers, and at the coordinator the logs
//! gathered), and [`choose`] is the coordinator's decision: the new view's
//! log and turn list from a majority's logs.
//!
//! The rule (docs/SEQUENCER.md, sections 5.2 and 5.3, gives it with the
//! safety argument): take the log of the highest `log_view`, among those the
//! longest, and of equally long ones the one that starts lowest; cut it at the
//! first Sequence whose Request no voter holds (nobody could ever deliver
//! it, so nothing delivered is lost by cutting there); the new view starts
//! right after. Members whose delivered number is within `rejoin_lag_max`
//! of the most advanced voter's take turns in it.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};

use super::ids::{GlobalSeq, MemberId, Origin};
use super::message::Watermark;

/// One member's log, as its DoViewChange told it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Vote {
    /// The view the log belongs to.
    pub(super) log_view: u64,
    /// Every Sequence up to here is delivered at the voter (final).
    pub(super) delivered: GlobalSeq,
    /// The voter's Sequences right after `delivered`, contiguous.
    pub(super) bindings: Vec<Origin>,
    /// The requests the voter holds: its watermark's exact claims
    /// (`Watermark::claims`; the global part is not used).
    pub(super) claims: Watermark,
}

/// What the coordinator decided: the new view's turn list, start and log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Decision {
    /// The turn list, ascending.
    pub(super) members: Vec<MemberId>,
    /// The bindings follow this number.
    pub(super) after: GlobalSeq,
    /// The log's Sequences `after + 1 ..`; the view starts right after them.
    pub(super) bindings: Vec<Origin>,
}

/// The coordinator's waiting times (from the config).
#[derive(Clone, Copy, Debug)]
pub(super) struct Gathering {
    /// Wait at least this long after a majority's logs for the rest.
    pub(super) gather_ticks: u64,
    /// The view change's timeout; the coordinator waits for members heard
    /// recently until half of it has passed.
    pub(super) timeout_ticks: u64,
}

/// A view change under way at one member.
#[derive(Clone, Debug)]
pub(super) struct ViewChange {
    /// The view being changed to.
    pub(super) view: u64,
    /// When the change began here (the timeout counts from it).
    pub(super) started_tick: u64,
    /// When StartViewChange and DoViewChange last went out.
    pub(super) sent_tick: u64,
    /// The members known to have entered this view change (this one
    /// included): the vote goes out once they are a majority.
    pub(super) entered: BTreeSet<MemberId>,
    /// At the coordinator: the logs gathered, one per member (the first).
    pub(super) votes: BTreeMap<MemberId, Vote>,
    /// At the coordinator: when a majority's logs were in.
    pub(super) majority_tick: Option<u64>,
    /// The members heard from recently when the change began here: the
    /// coordinator waits a little longer for their logs (`ready`).
    pub(super) expected: BTreeSet<MemberId>,
    /// At the coordinator: the view was decided (once per view: a second
    /// decision could differ from the first).
    pub(super) decided: bool,
}

impl ViewChange {
    /// A change to `view` that `me` begins at `now_tick`, having heard
    /// recently from `expected`.
    pub(super) fn new(
        view: u64,
        now_tick: u64,
        me: MemberId,
        expected: BTreeSet<MemberId>,
    ) -> ViewChange {
        ViewChange {
            view,
            started_tick: now_tick,
            sent_tick: now_tick,
            entered: BTreeSet::from([me]),
            votes: BTreeMap::new(),
            majority_tick: None,
            expected,
            decided: false,
        }
    }

    /// Records `from`'s log (the first one counts: a member's log does not
    /// change while it changes views).
    pub(super) fn vote(&mut self, from: MemberId, vote: Vote, now_tick: u64, majority: usize) {
        self.votes.entry(from).or_insert(vote);
        if self.votes.len() >= majority && self.majority_tick.is_none() {
            self.majority_tick = Some(now_tick);
        }
    }

    /// True once the coordinator may decide: a majority's logs are in, and
    /// either every member's is, or the gathering time has passed and every
    /// member heard from recently has voted too, or half the view change's
    /// timeout has passed.
    ///
    /// Why wait for the members heard recently: the new view gives turns
    /// only to its voters, and a live member left out is taken back by the
    /// next view change, which could leave out another late voter, and so
    /// on (a churn seen in groups of seven under message delays longer than
    /// the gathering time). Why not wait for them past half the timeout: one
    /// of them may have just stopped, and the change must still end before
    /// it times out.
    pub(super) fn ready(&self, now_tick: u64, members: u16, timing: Gathering) -> bool {
        let Some(tick) = self.majority_tick else {
            return false;
        };
        if self.votes.len() == usize::from(members) {
            return true;
        }
        if now_tick < tick + timing.gather_ticks {
            return false;
        }
        let expected_in = self
            .expected
            .iter()
            .all(|member| self.votes.contains_key(member));
        expected_in || now_tick >= self.started_tick + timing.timeout_ticks / 2
    }
}

/// The coordinator's decision over a majority's votes.
///
/// # Errors
/// A description of the contradiction, if the chosen log ends below what
/// some voter delivered (impossible unless a member broke the protocol).
pub(super) fn choose(
    votes: &BTreeMap<MemberId, Vote>,
    rejoin_lag_max: u64,
) -> Result<Decision, String> {
    let top_of = |vote: &Vote| vote.delivered.0 + vote.bindings.len() as u64;
    let chosen = votes
        .values()
        .max_by_key(|vote| (vote.log_view, top_of(vote), Reverse(vote.delivered)))
        .ok_or("no votes")?;
    let someone_holds = |origin: &Origin| votes.values().any(|vote| vote.claims.claims(*origin));
    let kept = chosen
        .bindings
        .iter()
        .take_while(|origin| someone_holds(origin))
        .count();
    let top = chosen.delivered.0 + kept as u64;
    let most_delivered = votes
        .values()
        .map(|vote| vote.delivered.0)
        .max()
        .unwrap_or(0);
    if top < most_delivered {
        return Err(format!(
            "the chosen log ends at #{top}, below #{most_delivered} delivered by a voter"
        ));
    }
    let members = votes
        .iter()
        .filter(|(_, vote)| vote.delivered.0 + rejoin_lag_max >= most_delivered)
        .map(|(member, _)| *member)
        .collect();
    Ok(Decision {
        members,
        after: chosen.delivered,
        bindings: chosen.bindings[..kept].to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sequencer::ids::LocalSeq;

    fn origin(sender: u16, local_seq: u64) -> Origin {
        Origin {
            sender: MemberId(sender),
            local_seq: LocalSeq(local_seq),
        }
    }

    fn vote(log_view: u64, delivered: u64, bindings: &[Origin], held: [u64; 3]) -> Vote {
        Vote {
            log_view,
            delivered: GlobalSeq(delivered),
            bindings: bindings.to_vec(),
            claims: Watermark {
                held_up_to: GlobalSeq(0),
                requests_held_up_to: held.iter().map(|local| LocalSeq(*local)).collect(),
                earlier_runs: Vec::new(),
            },
        }
    }

    fn votes(list: Vec<(u16, Vote)>) -> BTreeMap<MemberId, Vote> {
        list.into_iter().map(|(id, v)| (MemberId(id), v)).collect()
    }

    #[test]
    fn the_highest_log_view_wins_over_a_longer_older_log() {
        // VRR 4.2: an older view's longer log is unsafe, since the later
        // view may have bound its numbers otherwise.
        let held = [5, 5, 5];
        let decision = choose(
            &votes(vec![
                (
                    0,
                    vote(1, 4, &[origin(0, 1), origin(1, 1), origin(2, 1)], held),
                ),
                (1, vote(2, 4, &[origin(2, 1)], held)),
                (2, vote(0, 3, &[], held)),
            ]),
            64,
        )
        .expect("a decision");
        assert_eq!(decision.after, GlobalSeq(4));
        assert_eq!(decision.bindings, [origin(2, 1)]);
    }

    #[test]
    fn the_log_is_cut_at_the_first_request_no_voter_holds() {
        // Nobody could ever deliver a number whose request nobody holds, and
        // every number after it waits for it: the view starts there.
        let decision = choose(
            &votes(vec![
                (
                    0,
                    vote(1, 0, &[origin(0, 1), origin(1, 2), origin(0, 2)], [2, 1, 0]),
                ),
                (1, vote(1, 0, &[origin(0, 1)], [1, 1, 0])),
            ]),
            64,
        )
        .expect("a decision");
        assert_eq!(decision.bindings, [origin(0, 1)], "1/2 is held by no voter");
    }

    #[test]
    fn a_claim_that_jumped_a_torn_request_does_not_keep_its_binding() {
        // Sender 2 sent 2/3:2 early and crashed before its disk held it;
        // its next life is incarnation 9. The voters hold 2/3:1 and 2/9:1,
        // not 2/3:2: their claims reach 2/9:1 past it, and say so (an
        // earlier run ending at 2/3:1). Nobody holds 2/3:2, so the log is
        // cut there; a claim that covered it would keep a binding nobody
        // can fill, and every later number would wait for it forever.
        let torn = origin(2, (3 << 32) | 2);
        let jumped = LocalSeq((9 << 32) | 1);
        let exact = |members: u16| Watermark {
            held_up_to: GlobalSeq(0),
            requests_held_up_to: vec![jumped; usize::from(members)],
            earlier_runs: vec![origin(2, (3 << 32) | 1)],
        };
        let mut ballot = vote(1, 0, &[origin(2, (3 << 32) | 1), torn], [0, 0, 0]);
        ballot.claims = exact(3);
        let decision =
            choose(&votes(vec![(0, ballot.clone()), (1, ballot)]), 64).expect("a decision");
        assert_eq!(decision.bindings, [origin(2, (3 << 32) | 1)]);
    }

    #[test]
    fn of_equally_long_logs_of_one_view_the_one_starting_lowest_wins() {
        // Logs of one view agree where they overlap, so the one that starts
        // at the lowest delivered number carries the most: every voter can
        // install the view at once, instead of asking a member already past
        // the others for the log between (which could take longer than the
        // view change's timeout, and the group would change views again).
        let held = [9, 9, 9];
        let decision = choose(
            &votes(vec![
                (0, vote(3, 32, &[origin(1, 8), origin(1, 9)], held)),
                (1, vote(3, 33, &[origin(1, 9)], held)),
                (2, vote(3, 34, &[], held)),
            ]),
            64,
        )
        .expect("a decision");
        assert_eq!(decision.after, GlobalSeq(32));
        assert_eq!(decision.bindings, [origin(1, 8), origin(1, 9)]);
    }

    fn gathering() -> Gathering {
        Gathering {
            gather_ticks: 2,
            timeout_ticks: 20,
        }
    }

    #[test]
    fn the_coordinator_waits_for_members_heard_recently() {
        // A live member whose log comes a little late still gets turns in
        // the view; past half the timeout, the coordinator goes on without it.
        let expected = BTreeSet::from([MemberId(0), MemberId(1), MemberId(2), MemberId(3)]);
        let mut change = ViewChange::new(5, 100, MemberId(0), expected);
        for member in 0..3 {
            change.vote(MemberId(member), vote(1, 4, &[], [0; 3]), 101, 3);
        }
        assert!(
            !change.ready(103, 5, gathering()),
            "member 3 was heard lately"
        );
        assert!(change.ready(110, 5, gathering()), "half the timeout passed");
        change.vote(MemberId(3), vote(1, 4, &[], [0; 3]), 104, 3);
        assert!(change.ready(104, 5, gathering()), "every live member voted");
        assert!(
            !change.ready(102, 5, gathering()),
            "the gathering time first"
        );
    }

    #[test]
    fn only_voters_close_to_the_front_take_turns() {
        let held = [0, 0, 0];
        let decision = choose(
            &votes(vec![
                (0, vote(1, 100, &[], held)),
                (2, vote(1, 99, &[], held)),
                (4, vote(1, 10, &[], held)),
            ]),
            8,
        )
        .expect("a decision");
        assert_eq!(decision.members, [MemberId(0), MemberId(2)]);
    }

    #[test]
    fn a_log_that_ends_below_a_voters_delivered_number_is_refused() {
        // Only a broken member can make this: say so instead of starting.
        let refused = choose(
            &votes(vec![
                (0, vote(3, 2, &[], [0, 0, 0])),
                (1, vote(2, 7, &[], [0, 0, 0])),
            ]),
            64,
        );
        assert!(refused.is_err(), "{refused:?}");
    }
}
