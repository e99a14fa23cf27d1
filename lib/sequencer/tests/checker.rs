//! The simulation's referee. It sees every record a member persists (what the
//! member *actually* holds, durably) and every delivery, and checks on each
//! one the safety properties of atomic broadcast:
//!
//! - total order: every member's delivered sequence is a prefix of one
//!   canonical history (so of each other's), with no gap and no duplicate;
//! - per-sender FIFO: a sender's requests are delivered 1, 2, 3, ..., and
//!   after a lost disk 1, 2, 3, ... of a later incarnation;
//! - integrity: a delivered payload is what its sender broadcast;
//! - durability: no number is delivered first before a majority holds it
//!   (the same binding, in its durable records), where a member that lost
//!   its disk still counts with what it held before the loss (peers may
//!   count its last claims; what makes that safe is that it votes in no
//!   view change until it recovers, docs/SEQUENCER.md, section 5.7), and
//!   never more than one such member;
//! - survival across views: once a number is delivered in view `v`, every
//!   Sequence for it persisted by a member whose installed view is `v` or
//!   later names the delivered request;
//! - integrity: no request is delivered at two numbers, and no sender
//!   names two broadcasts alike (a member that lost its disk never reuses
//!   a name of its earlier life);
//! - one binding per view: every Sequence message for a number, sent in a
//!   view's log (its stamp's `log_view`) by any member in any of its
//!   lives, names the same request (an assignment that left before its
//!   fsync and was lost in a crash is never made again differently).
//!
//! A violation panics with the seed, so the schedule can be replayed.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::sequencer::{
    Body, Delivery, GlobalSeq, LocalSeq, MemberId, Message, Origin, Record, SnapshotPoint,
    Watermark,
};

/// What one member durably holds, according to the records it persisted.
#[derive(Default)]
struct Holdings {
    sequences: BTreeMap<GlobalSeq, Origin>,
    /// The view installed, by the member's records.
    view: u64,
    requests: BTreeSet<Origin>,
    /// Every number up to here is held with its request (or in a snapshot).
    held_up_to: u64,
    /// Per sender, every request up to here is held (or in a snapshot).
    requests_up_to: Vec<u64>,
    /// The member's application history: what it delivered, in order.
    delivered: Vec<Origin>,
    /// Per sender, the last local number delivered.
    delivered_local: Vec<u64>,
    /// Between `Record::Recovering` and `Record::Incarnation`: a member
    /// recovering from an empty disk, whose claims nobody counts.
    recovering: bool,
    /// The highest `Record::Delivered`: a restart delivers up to it
    /// without hearing anyone, so it must never exceed what the member
    /// delivered.
    recorded_delivered: u64,
    /// The most the member had delivered at any crash so far.
    delivered_before: u64,
}

/// The referee of one simulated run.
pub(super) struct Checker {
    seed: u64,
    majority: usize,
    /// The canonical history: the first delivery of each number decides
    /// it; with the lowest view it was delivered in.
    history: Vec<Origin>,
    delivered_in_view: Vec<u64>,
    /// Where each delivered request sits in the history.
    position: HashMap<Origin, GlobalSeq>,
    /// Every accepted broadcast and its payload.
    broadcasts: BTreeMap<Origin, Vec<u8>>,
    holdings: Vec<Holdings>,
    /// Per member, what it held in each life whose disk it lost since it
    /// last worked in a view with a complete disk: peers may still count
    /// claims of any of them.
    lost: Vec<Vec<Holdings>>,
    /// Every binding sent in a Sequence message, by the view whose log it
    /// belongs to and its number.
    bindings: HashMap<(u64, GlobalSeq), Origin>,
}

impl Checker {
    /// A referee for `members` members, reporting `seed` on failure.
    pub(super) fn new(seed: u64, members: u16) -> Checker {
        let holdings = (0..members)
            .map(|_| Holdings {
                delivered_local: vec![0; usize::from(members)],
                requests_up_to: vec![0; usize::from(members)],
                ..Holdings::default()
            })
            .collect();
        Checker {
            seed,
            majority: usize::from(members) / 2 + 1,
            history: Vec::new(),
            delivered_in_view: Vec::new(),
            position: HashMap::new(),
            broadcasts: BTreeMap::new(),
            holdings,
            lost: (0..members).map(|_| Vec::new()).collect(),
            bindings: HashMap::new(),
        }
    }

    /// Checks a message `member` sends: a Sequence names the request that
    /// every Sequence for its number in the same view's log named before.
    pub(super) fn on_sent(&mut self, member: MemberId, message: &Message) {
        let Body::Sequence {
            global,
            sender,
            local_seq,
        } = message.body
        else {
            return;
        };
        let origin = Origin { sender, local_seq };
        let view = message.stamp.log_view;
        let bound = *self.bindings.entry((view, global)).or_insert(origin);
        assert_eq!(
            bound, origin,
            "seed {}: {member} sends {global} = {origin} in the log of v{view}, \
             where {global} = {bound} was sent before",
            self.seed
        );
    }

    /// Notes an accepted broadcast.
    pub(super) fn on_broadcast(&mut self, origin: Origin, payload: Vec<u8>) {
        let seed = self.seed;
        let previous = self.broadcasts.insert(origin, payload);
        assert!(
            previous.is_none(),
            "seed {seed}: local number {origin} broadcast twice"
        );
    }

    /// Notes a record `member` persisted.
    pub(super) fn on_persist(&mut self, member: MemberId, record: &Record) {
        let seed = self.seed;
        match record {
            Record::Request { origin, payload } => {
                let broadcast = self.broadcasts.get(origin);
                assert_eq!(
                    broadcast,
                    Some(payload),
                    "seed {seed}: {member} persisted a request never broadcast"
                );
                self.holdings[member.index()].requests.insert(*origin);
            }
            Record::Sequence { global, origin } => {
                let holdings = &mut self.holdings[member.index()];
                let index = global.0 as usize - 1;
                if let Some(delivered) = self.history.get(index) {
                    if holdings.view >= self.delivered_in_view[index] {
                        assert_eq!(
                            delivered, origin,
                            "seed {seed}: {member} in v{} binds {global} to {origin}, \
                             delivered in v{} as {delivered}",
                            holdings.view, self.delivered_in_view[index]
                        );
                    }
                }
                let previous = holdings.sequences.insert(*global, *origin);
                assert!(
                    previous.is_none() || previous == Some(*origin),
                    "seed {seed}: {member} persisted two bindings for {global} in one log"
                );
            }
            Record::Recovering { .. } => self.holdings[member.index()].recovering = true,
            Record::Incarnation { .. } => self.holdings[member.index()].recovering = false,
            Record::Delivered { up_to } => {
                let holdings = &mut self.holdings[member.index()];
                holdings.recorded_delivered = holdings.recorded_delivered.max(up_to.0);
            }
            Record::Base(_) | Record::ViewChange { .. } => {}
            Record::NewView {
                view,
                truncate_after,
            } => {
                let holdings = &mut self.holdings[member.index()];
                assert!(
                    view.number >= holdings.view,
                    "seed {seed}: {member} installed v{} after v{}",
                    view.number,
                    holdings.view
                );
                holdings.view = view.number;
                let _dropped = holdings.sequences.split_off(&truncate_after.next());
                holdings.held_up_to = holdings.held_up_to.min(truncate_after.0);
            }
        }
        self.advance(member);
    }

    /// Notes that `member` installed a snapshot taken at `point` by a member
    /// whose delivered history is `donor_history`.
    pub(super) fn on_install(&mut self, member: MemberId, point: &SnapshotPoint, donor: MemberId) {
        let seed = self.seed;
        let prefix: Vec<Origin> =
            self.holdings[donor.index()].delivered[..point.global.0 as usize].to_vec();
        let holdings = &mut self.holdings[member.index()];
        assert!(
            prefix.starts_with(&holdings.delivered),
            "seed {seed}: {member} is not a prefix of {donor}"
        );
        holdings.delivered = prefix;
        holdings.delivered_local = point.delivered_local.iter().map(|local| local.0).collect();
        holdings.held_up_to = holdings.held_up_to.max(point.global.0);
        for (up_to, covered) in holdings
            .requests_up_to
            .iter_mut()
            .zip(&point.delivered_local)
        {
            *up_to = (*up_to).max(covered.0);
        }
        self.advance(member);
    }

    /// Notes that `member` crashed: its application keeps only what it had
    /// made durable, up to `durable`; it must deliver the rest again, the same.
    pub(super) fn on_crash(&mut self, member: MemberId, durable: &SnapshotPoint) {
        let seed = self.seed;
        let holdings = &mut self.holdings[member.index()];
        assert!(
            durable.global.0 <= holdings.delivered.len() as u64,
            "seed {seed}: durable beyond delivered"
        );
        let delivered = holdings
            .delivered_before
            .max(holdings.delivered.len() as u64);
        holdings.delivered_before = delivered;
        assert!(
            holdings.recorded_delivered <= delivered,
            "seed {seed}: {member} recorded {} as delivered, but delivered {delivered}",
            holdings.recorded_delivered,
        );
        holdings.delivered.truncate(durable.global.0 as usize);
        holdings.delivered_local = durable
            .delivered_local
            .iter()
            .map(|local| local.0)
            .collect();
    }

    /// Notes that `member` lost its disk: it holds nothing any more, and its
    /// application starts over. Peers may still count what it claimed in
    /// its lives since it last had a whole disk: the one before its first
    /// loss, and every recovering life that installed a view (a member
    /// catching up works in its view, and its claims count). A recovering
    /// life that installed none claimed nothing (its messages carry a
    /// changing stamp, and no peer counts them).
    pub(super) fn on_wipe(&mut self, member: MemberId) {
        let members = self.holdings.len();
        let before = std::mem::replace(
            &mut self.holdings[member.index()],
            Holdings {
                delivered_local: vec![0; members],
                requests_up_to: vec![0; members],
                // Recovering from now on, until its Incarnation record, even
                // before its Recovering record is durable.
                recovering: true,
                ..Holdings::default()
            },
        );
        let lives = &mut self.lost[member.index()];
        if !before.recovering {
            lives.clear();
        }
        if !before.recovering || before.view > 0 || lives.is_empty() {
            lives.push(before);
        }
    }

    /// Checks that what `member` claims to hold (its watermark, sent with its
    /// next message) is backed by records it persisted.
    pub(super) fn check_claims(&self, member: MemberId, claimed: &Watermark) {
        let seed = self.seed;
        let holdings = &self.holdings[member.index()];
        assert!(
            claimed.held_up_to.0 <= holdings.held_up_to,
            "seed {seed}: {member} claims {} but persisted only up to #{}",
            claimed.held_up_to,
            holdings.held_up_to
        );
        for (sender, (claim, held)) in claimed
            .requests_held_up_to
            .iter()
            .zip(&holdings.requests_up_to)
            .enumerate()
        {
            assert!(
                claim.0 <= *held,
                "seed {seed}: {member} claims requests {sender}/{claim}, persisted {held}"
            );
        }
    }

    /// Checks one delivery by `member`: order, gaps, FIFO, payload, majority.
    pub(super) fn on_delivery(&mut self, member: MemberId, delivery: &Delivery) {
        let seed = self.seed;
        let origin = Origin {
            sender: delivery.sender,
            local_seq: delivery.local_seq,
        };
        let position = self.holdings[member.index()].delivered.len() as u64;
        assert_eq!(
            delivery.global.0,
            position + 1,
            "seed {seed}: {member} delivered {origin} with a gap or twice"
        );
        let view = self.holdings[member.index()].view;
        let first_delivery = self.history.len() as u64 == position;
        match self.history.get(position as usize) {
            Some(canonical) => {
                assert_eq!(
                    *canonical, origin,
                    "seed {seed}: {member} breaks total order at {}",
                    delivery.global
                );
                let first = &mut self.delivered_in_view[position as usize];
                *first = (*first).min(view);
            }
            None => {
                let twice = self.position.insert(origin, delivery.global);
                assert!(
                    twice.is_none(),
                    "seed {seed}: {origin} delivered at {:?} and {}",
                    twice,
                    delivery.global
                );
                self.history.push(origin);
                self.delivered_in_view.push(view);
            }
        }
        let broadcast = self.broadcasts.get(&origin);
        assert_eq!(
            broadcast,
            Some(&delivery.payload),
            "seed {seed}: {member} delivered a payload never sent"
        );
        let holdings = &mut self.holdings[member.index()];
        let last_local = &mut holdings.delivered_local[origin.sender.index()];
        assert!(
            delivery.local_seq.follows(LocalSeq(*last_local)),
            "seed {seed}: {member} breaks FIFO with {origin}"
        );
        *last_local = delivery.local_seq.0;
        holdings.delivered.push(origin);
        if !first_delivery {
            // Decided earlier: the history check above is the one that
            // matters (holders may have lost their disks since).
            return;
        }
        let holds = |holdings: &Holdings| {
            holdings.held_up_to >= delivery.global.0
                && holdings
                    .sequences
                    .get(&delivery.global)
                    .is_none_or(|held| *held == origin)
        };
        let holders = self.holdings.iter().filter(|h| holds(h)).count();
        let lost_holders = self
            .holdings
            .iter()
            .zip(&self.lost)
            .filter(|(now, lives)| !holds(now) && lives.iter().any(holds))
            .count();
        assert!(
            holders + lost_holders.min(1) >= self.majority,
            "seed {seed}: {member} delivered {} while only {holders} members held it \
             ({lost_holders} before losing their disk)",
            delivery.global
        );
    }

    /// How many numbers `member` delivered.
    pub(super) fn delivered_count(&self, member: MemberId) -> u64 {
        self.holdings[member.index()].delivered.len() as u64
    }

    /// The highest number delivered anywhere.
    pub(super) fn history_len(&self) -> u64 {
        self.history.len() as u64
    }

    /// How many broadcasts were accepted.
    pub(super) fn broadcast_count(&self) -> u64 {
        self.broadcasts.len() as u64
    }

    /// The broadcasts every member must deliver, given each sender's
    /// current incarnation: those delivered anywhere, and every one of a
    /// current incarnation. What an earlier life broadcast and nobody
    /// delivered may be void (its sender lost its disk).
    fn expected(&self, incarnations: &[u64]) -> BTreeSet<Origin> {
        self.broadcasts
            .keys()
            .copied()
            .filter(|origin| {
                self.position.contains_key(origin)
                    || origin.local_seq.incarnation() == incarnations[origin.sender.index()]
            })
            .collect()
    }

    /// True if every member delivered the whole history and it holds every
    /// expected broadcast.
    pub(super) fn is_complete(&self, incarnations: &[u64]) -> bool {
        let expected = self.expected(incarnations);
        expected.len() == self.history.len()
            && self
                .holdings
                .iter()
                .all(|holdings| holdings.delivered.len() == self.history.len())
    }

    /// The final check: every expected broadcast was delivered exactly once
    /// by every member, and all members delivered the same history.
    pub(super) fn check_complete(&self, incarnations: &[u64]) {
        let seed = self.seed;
        let expected = self.expected(incarnations);
        for (index, holdings) in self.holdings.iter().enumerate() {
            let delivered: BTreeSet<Origin> = holdings.delivered.iter().copied().collect();
            assert_eq!(
                delivered.len(),
                holdings.delivered.len(),
                "seed {seed}: m{index} delivered a duplicate"
            );
            assert_eq!(
                delivered, expected,
                "seed {seed}: m{index} did not deliver every broadcast exactly once"
            );
            assert_eq!(
                holdings.delivered, self.history,
                "seed {seed}: m{index} differs from the history"
            );
        }
    }

    /// Moves a member's held prefixes (global, and per sender) over what it
    /// now holds in full.
    fn advance(&mut self, member: MemberId) {
        let holdings = &mut self.holdings[member.index()];
        for (index, up_to) in holdings.requests_up_to.iter_mut().enumerate() {
            let sender = MemberId(index as u16);
            while let Some(next) = next_held(&holdings.requests, sender, LocalSeq(*up_to)) {
                *up_to = next.0;
            }
        }
        loop {
            let next = GlobalSeq(holdings.held_up_to + 1);
            let Some(origin) = holdings.sequences.get(&next) else {
                return;
            };
            if !holdings.requests.contains(origin) {
                return;
            }
            holdings.held_up_to = next.0;
        }
    }
}

/// The request of `sender` held that may follow `after` in its stream: the
/// next number, else the first of the lowest later incarnation held (the
/// rule members use for their claims).
fn next_held(requests: &BTreeSet<Origin>, sender: MemberId, after: LocalSeq) -> Option<LocalSeq> {
    let next = LocalSeq(after.0 + 1);
    let origin = |local_seq| Origin { sender, local_seq };
    if next.incarnation() == after.incarnation() && requests.contains(&origin(next)) {
        return Some(next);
    }
    let later = after.incarnation() + 1;
    if later > crate::sequencer::INCARNATION_MAX {
        return None;
    }
    requests
        .range(origin(LocalSeq::first(later))..=origin(LocalSeq(u64::MAX)))
        .map(|held| held.local_seq)
        .find(|local_seq| local_seq.counter() == 1)
}
