//! [`Peers`]: the latest watermark heard from each other member, and the
//! arithmetic on it: how far a majority holds (delivery), how far everyone
//! holds (garbage collection), and who holds an item (retransmission).
//!
//! A watermark claims durable holdings, which never shrink, so the table keeps
//! the maximum of everything heard: a reordered old message cannot lower it,
//! and a stale value only makes the member more cautious.

use super::ids::{GlobalSeq, MemberId};
use super::message::{Missing, Watermark};

/// What this member knows the others hold.
#[derive(Clone, Debug)]
pub(super) struct Peers {
    me: MemberId,
    known: Vec<Watermark>,
}

impl Peers {
    /// Knows nothing yet: every peer holds nothing as far as we know.
    pub(super) fn new(members: u16, me: MemberId) -> Peers {
        Peers {
            me,
            known: vec![Watermark::empty(members); usize::from(members)],
        }
    }

    /// Merges the per-sender part of a watermark heard from `from` (not this
    /// member): requests are named by their senders, whatever the view.
    pub(super) fn update_requests(&mut self, from: MemberId, heard: &Watermark) {
        assert_ne!(from, self.me, "a member does not hear its own watermark");
        let known = &mut self.known[from.index()];
        assert_eq!(
            known.requests_held_up_to.len(),
            heard.requests_held_up_to.len(),
            "watermark length"
        );
        known.merge_requests(heard);
    }

    /// Merges the global part of a watermark heard from `from`, which works
    /// in this member's view: only then does its held prefix mean this
    /// view's log.
    pub(super) fn update_held(&mut self, from: MemberId, held_up_to: GlobalSeq) {
        let known = &mut self.known[from.index()];
        known.held_up_to = known.held_up_to.max(held_up_to);
    }

    /// A new view: what peers held of older views' logs says nothing about
    /// the new one (bindings above the delivered prefix may be replaced).
    pub(super) fn reset_held(&mut self) {
        for known in &mut self.known {
            known.held_up_to = GlobalSeq(0);
        }
    }

    /// What `member` is known to hold of this view's log.
    pub(super) fn held_up_to(&self, member: MemberId) -> GlobalSeq {
        self.known[member.index()].held_up_to
    }

    /// The highest number that at least `majority` members, this one included
    /// with `own_held_up_to`, are known to hold with everything below it.
    pub(super) fn majority_held_up_to(
        &self,
        own_held_up_to: GlobalSeq,
        majority: usize,
    ) -> GlobalSeq {
        let mut held: Vec<GlobalSeq> = self.held_by_all(own_held_up_to).collect();
        assert!(
            (1..=held.len()).contains(&majority),
            "majority {majority} of {}",
            held.len()
        );
        held.sort_unstable_by(|left, right| right.cmp(left));
        held[majority - 1]
    }

    /// The highest number every member is known to hold.
    pub(super) fn all_held_up_to(&self, own_held_up_to: GlobalSeq) -> GlobalSeq {
        self.held_by_all(own_held_up_to)
            .min()
            .expect("a group has at least one member")
    }

    /// Members other than this one known to hold `item`, in id order.
    pub(super) fn holders<'a>(&'a self, item: &'a Missing) -> impl Iterator<Item = MemberId> + 'a {
        (0..self.known.len())
            .map(|index| MemberId(index as u16))
            .filter(move |member| {
                let known = &self.known[member.index()];
                *member != self.me
                    && match item {
                        Missing::Sequence(global) => known.held_up_to >= *global,
                        Missing::Request(origin) => known.claims(*origin),
                    }
            })
    }

    fn held_by_all(&self, own_held_up_to: GlobalSeq) -> impl Iterator<Item = GlobalSeq> + '_ {
        self.known.iter().enumerate().map(move |(index, known)| {
            if index == self.me.index() {
                own_held_up_to
            } else {
                known.held_up_to
            }
        })
    }
}
