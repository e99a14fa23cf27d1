//! Loss recovery by negative acknowledgement: [`Nacks`] remembers every item
//! this member knows it lacks and when to ask for it again, and [`answer`]
//! looks up what a peer asked for in the history (the [`Order`] store).
//!
//! An item is registered when a gap shows (the member decides which gaps; see
//! `member.rs`), asked for after `nack_delay_ticks` (a reordered message often
//! fills the gap by itself), then again after 2, 4, 8, ... times that delay,
//! capped at `nack_backoff_max_ticks`, until it is held. Whom to ask: the
//! first attempt goes to the item's original sender (the member whose turn
//! Sequence `k` is in the current view, the sender for a Request). Later
//! attempts rotate through the original sender and every member whose
//! watermark says it holds the item, so one member being down does not stop
//! recovery of what others hold.

use std::collections::BTreeMap;

use super::ids::{GlobalSeq, LocalSeq, MemberId};
use super::message::{Body, Missing};
use super::order::Order;
use super::peers::Peers;

/// When an item is next asked for, and how many times it was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Attempt {
    sent: u32,
    due_tick: u64,
}

/// The items this member lacks, with their retry schedule.
#[derive(Clone, Debug)]
pub(super) struct Nacks {
    pending: BTreeMap<Missing, Attempt>,
    /// Sequences up to here were registered once already (a scan high-water
    /// mark, so that each watermark heard does not rescan the whole window).
    sequences_scanned_up_to: GlobalSeq,
    /// The same per sender, for Requests.
    requests_scanned_up_to: Vec<LocalSeq>,
}

/// What this member can say about an item a peer asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Answer {
    /// Send this body back.
    Send(Body),
    /// Forgotten below the base: the asker needs a snapshot.
    Forgotten,
    /// Not held (yet): say nothing; the asker will try someone else.
    Unknown,
}

/// Looks `item` up in the history.
pub(super) fn answer(order: &Order, item: &Missing) -> Answer {
    match item {
        Missing::Sequence(global) => match order.sequence(*global) {
            Some(origin) => Answer::Send(Body::Sequence {
                global: *global,
                sender: origin.sender,
                local_seq: origin.local_seq,
            }),
            None if order.forgot(item) => Answer::Forgotten,
            None => Answer::Unknown,
        },
        Missing::Request(origin) => match order.request(*origin) {
            Some(payload) => Answer::Send(Body::Request {
                sender: origin.sender,
                local_seq: origin.local_seq,
                payload: payload.clone(),
            }),
            None if order.forgot(item) => Answer::Forgotten,
            None => Answer::Unknown,
        },
    }
}

/// The delay before attempt number `sent + 1`: `nack_delay * 2^sent`, capped.
pub(super) fn backoff_ticks(sent: u32, nack_delay_ticks: u64, nack_backoff_max_ticks: u64) -> u64 {
    let factor = 1u64.checked_shl(sent.min(62)).unwrap_or(u64::MAX);
    nack_delay_ticks
        .saturating_mul(factor)
        .min(nack_backoff_max_ticks)
}

/// Whom to ask for `item` at attempt `sent`: the original sender first, then
/// round the original sender and every known holder. None if nobody but this
/// member could have it.
/// `owner` is the member whose turn the number is in the current view, for a
/// Sequence (None below the view's start).
pub(super) fn target(
    item: &Missing,
    sent: u32,
    owner: Option<MemberId>,
    me: MemberId,
    peers: &Peers,
) -> Option<MemberId> {
    let original = match item {
        Missing::Sequence(_) => owner,
        Missing::Request(origin) => Some(origin.sender),
    };
    let mut candidates: Vec<MemberId> = Vec::new();
    if let Some(original) = original.filter(|original| *original != me) {
        candidates.push(original);
    }
    candidates.extend(
        peers
            .holders(item)
            .filter(|holder| Some(*holder) != original),
    );
    if candidates.is_empty() {
        return None;
    }
    Some(candidates[sent as usize % candidates.len()])
}

impl Nacks {
    /// Nothing missing, for a group of `members`.
    pub(super) fn new(members: u16) -> Nacks {
        Nacks {
            pending: BTreeMap::new(),
            sequences_scanned_up_to: GlobalSeq(0),
            requests_scanned_up_to: vec![LocalSeq(0); usize::from(members)],
        }
    }

    /// How many items are missing.
    pub(super) fn len(&self) -> usize {
        self.pending.len()
    }

    /// Registers `item` as missing, first asked for at `due_tick`. Registering
    /// an item twice keeps the first schedule.
    pub(super) fn register(&mut self, item: Missing, due_tick: u64) {
        self.pending
            .entry(item)
            .or_insert(Attempt { sent: 0, due_tick });
    }

    /// Registers every Sequence in `(after, up_to]` that `order` lacks, skipping
    /// what an earlier scan covered.
    pub(super) fn register_sequences(
        &mut self,
        order: &Order,
        after: GlobalSeq,
        up_to: GlobalSeq,
        due_tick: u64,
    ) {
        let start = after.max(self.sequences_scanned_up_to).0 + 1;
        for global in (start..=up_to.0).map(GlobalSeq) {
            let item = Missing::Sequence(global);
            if !order.holds(&item) {
                self.register(item, due_tick);
            }
        }
        self.sequences_scanned_up_to = self.sequences_scanned_up_to.max(up_to);
    }

    /// Registers every Request of `sender` in `(after, up_to]` that `order`
    /// lacks, skipping what an earlier scan covered.
    pub(super) fn register_requests(
        &mut self,
        order: &Order,
        sender: MemberId,
        range: (LocalSeq, LocalSeq),
        due_tick: u64,
    ) {
        let (after, up_to) = range;
        let scanned = &mut self.requests_scanned_up_to[sender.index()];
        let mut start = LocalSeq(after.max(*scanned).0 + 1);
        if up_to.incarnation() > start.incarnation() {
            // A later incarnation: what the earlier one sent beyond `after`
            // is asked for only if a Sequence names it.
            start = LocalSeq::first(up_to.incarnation());
        }
        *scanned = (*scanned).max(up_to);
        for local_seq in (start.0..=up_to.0).map(LocalSeq) {
            let item = Missing::Request(super::ids::Origin { sender, local_seq });
            if !order.holds(&item) {
                self.register(item, due_tick);
            }
        }
    }

    /// Forgets the scan marks (after a restore or a snapshot install, when
    /// what is held changed by a jump).
    pub(super) fn rescan(&mut self) {
        self.sequences_scanned_up_to = GlobalSeq(0);
        self.requests_scanned_up_to
            .iter_mut()
            .for_each(|scanned| *scanned = LocalSeq(0));
    }

    /// Drops every Sequence asked for: a new view may bind those numbers
    /// otherwise, and its watermarks will show again what is missing.
    pub(super) fn forget_sequences(&mut self) {
        self.pending
            .retain(|item, _| matches!(item, Missing::Request(_)));
        self.sequences_scanned_up_to = GlobalSeq(0);
    }

    /// Drops every item that is now held: it was answered (or filled by a
    /// late original), so it is not asked for again.
    pub(super) fn forget_held(&mut self, order: &Order) {
        self.pending.retain(|item, _| !order.holds(item));
    }

    /// The items due at `now_tick`, with how often each was sent already.
    pub(super) fn due(&self, now_tick: u64) -> Vec<(Missing, u32)> {
        let due = self
            .pending
            .iter()
            .filter(|(_, attempt)| attempt.due_tick <= now_tick);
        due.map(|(item, attempt)| (*item, attempt.sent)).collect()
    }

    /// Records that `item` was asked for at `now_tick`; the next attempt is
    /// `delay_ticks` later.
    pub(super) fn sent(&mut self, item: &Missing, now_tick: u64, delay_ticks: u64) {
        let attempt = self
            .pending
            .get_mut(item)
            .expect("only a pending item is sent");
        attempt.sent = attempt.sent.saturating_add(1);
        attempt.due_tick = now_tick + delay_ticks;
    }
}
