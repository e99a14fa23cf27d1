//! [`Order`]: what one member holds, and the total order it delivers.
//!
//! It keeps the Sequences and Requests held above the *base* (everything up to
//! the base is forgotten: garbage-collected or covered by a snapshot) and four
//! contiguous watermarks, which only grow:
//!
//! ```text
//! base <= delivered_up_to <= held_up_to <= sequenced_up_to
//!   sequenced_up_to: every Sequence 1..=s is held
//!   held_up_to:      ... and every Request those Sequences name
//!   delivered_up_to: handed to the application, in order
//! ```
//! Per sender it keeps the same idea for local numbers: requests held
//! contiguously, requests numbered by the Sequences up to `sequenced_up_to`
//! (per-sender FIFO makes that a prefix too), and requests delivered.
//! "Contiguous" follows the sender's stream ([`LocalSeq::follows`]): the
//! next number, or else the first request of a later incarnation.
//!
//! The store doubles as the retransmission history: an entry stays until it
//! is delivered *and* [`Order::collect_garbage`] is told every member holds it
//! (or the history bound forces it out). Bounds on what is accepted (the
//! holdback window) are the member's decision, not this type's.

use std::collections::BTreeMap;

use super::ids::{GlobalSeq, LocalSeq, MemberId, Origin, INCARNATION_MAX};
use super::message::{earlier_runs_per_sender_max, Missing, Watermark};
use super::output::Delivery;
use super::persist::{PersistedState, SnapshotPoint};

/// The outcome of offering an entry to the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Insertion {
    /// New; the caller must persist it.
    Added,
    /// Already held (the same content: a conflict panics).
    Duplicate,
    /// At or below the base: forgotten on purpose.
    Stale,
}

/// One sender's requests and local watermarks.
#[derive(Clone, Debug)]
struct SenderLog {
    /// Requests held above the base, by local number.
    requests: BTreeMap<LocalSeq, Vec<u8>>,
    /// The runs held, by incarnation: for the delivered number's
    /// incarnation, the end of the run held right after it (the delivered
    /// number itself if none), and for each later incarnation whose first
    /// request is held, the end of the run held from it. What lies in an
    /// incarnation beyond its run, or in one without a run, is not held in
    /// any sense a claim may use. The highest run's end is the claim.
    runs: BTreeMap<u64, LocalSeq>,
    /// Requests `1..=numbered_up_to` are named by Sequences `1..=sequenced_up_to`.
    numbered_up_to: LocalSeq,
    /// Requests `1..=delivered_up_to` are delivered.
    delivered_up_to: LocalSeq,
}

impl SenderLog {
    /// Nothing held, nothing delivered.
    fn new() -> SenderLog {
        SenderLog {
            requests: BTreeMap::new(),
            runs: BTreeMap::from([(0, LocalSeq(0))]),
            numbered_up_to: LocalSeq(0),
            delivered_up_to: LocalSeq(0),
        }
    }

    /// The claim: held along the sender's stream up to here (exactly where
    /// the stream jumped: `earlier_runs`).
    fn held_up_to(&self) -> LocalSeq {
        let highest = self.runs.values().next_back();
        highest.copied().unwrap_or(self.delivered_up_to)
    }

    /// The runs below the claim's incarnation (at most `most`, the highest
    /// ones), as a watermark lists them.
    fn earlier_runs(&self, sender: MemberId, most: usize) -> impl Iterator<Item = Origin> + '_ {
        let earlier = self.runs.len().saturating_sub(1);
        let skipped = earlier.saturating_sub(most);
        self.runs
            .values()
            .take(earlier)
            .skip(skipped)
            .map(move |end| Origin {
                sender,
                local_seq: *end,
            })
    }

    /// The request held that may come right after `after` in the sender's
    /// stream: the next number, else the first request of the lowest later
    /// incarnation held (the next number is preferred: an earlier life's
    /// request may still be numbered until its successor's first is).
    fn next_held(&self, after: LocalSeq) -> Option<LocalSeq> {
        let next = LocalSeq(after.0 + 1);
        if next.incarnation() == after.incarnation() && self.requests.contains_key(&next) {
            return Some(next);
        }
        let later = after.incarnation().checked_add(1)?;
        if later > INCARNATION_MAX {
            return None;
        }
        self.requests
            .range(LocalSeq::first(later)..)
            .map(|(local_seq, _)| *local_seq)
            .find(|local_seq| local_seq.counter() == 1)
    }

    /// Takes a request just held into the runs: it extends the run of its
    /// incarnation, or starts one if it is the first request of a later
    /// incarnation than the delivered one (the stream may jump to it).
    fn note_held(&mut self, local_seq: LocalSeq) {
        let incarnation = local_seq.incarnation();
        let mut end = match self.runs.get(&incarnation) {
            Some(end) if end.0 + 1 == local_seq.0 => *end,
            Some(_) => return,
            None if local_seq.counter() == 1
                && incarnation > self.delivered_up_to.incarnation() =>
            {
                LocalSeq(local_seq.0 - 1)
            }
            None => return,
        };
        while let Some(next) = Some(LocalSeq(end.0 + 1))
            .filter(|next| next.incarnation() == incarnation && self.requests.contains_key(next))
        {
            end = next;
        }
        self.runs.insert(incarnation, end);
    }

    /// The runs anew from the requests held and the delivered number.
    fn recompute_runs(&mut self) {
        let delivered = self.delivered_up_to;
        self.runs = BTreeMap::from([(delivered.incarnation(), delivered)]);
        let held: Vec<LocalSeq> = self.requests.keys().copied().collect();
        held.into_iter()
            .for_each(|local_seq| self.note_held(local_seq));
    }
}

/// The holdback queue, the delivered prefix and the retransmission history.
#[derive(Clone, Debug)]
pub(super) struct Order {
    base: SnapshotPoint,
    sequences: BTreeMap<GlobalSeq, Origin>,
    senders: Vec<SenderLog>,
    sequenced_up_to: GlobalSeq,
    held_up_to: GlobalSeq,
    delivered_up_to: GlobalSeq,
}

impl Order {
    /// An empty store for a group of `members`.
    pub(super) fn new(members: u16) -> Order {
        Order {
            base: SnapshotPoint::start(members),
            sequences: BTreeMap::new(),
            senders: vec![SenderLog::new(); usize::from(members)],
            sequenced_up_to: GlobalSeq(0),
            held_up_to: GlobalSeq(0),
            delivered_up_to: GlobalSeq(0),
        }
    }

    /// Rebuilds the store from persisted state. The application state is at
    /// `applied`, so delivery resumes after it. Returns the store and whether
    /// `applied` lies beyond everything persisted (the application installed
    /// a snapshot and the member crashed before persisting its `Base`): the
    /// store then jumps to it, and the caller must persist that `Base`.
    pub(super) fn restore(
        state: &PersistedState,
        applied: &SnapshotPoint,
    ) -> Result<(Order, bool), String> {
        let members = state.base.delivered_local.len();
        if applied.delivered_local.len() != members {
            return Err(format!(
                "applied point for {} senders",
                applied.delivered_local.len()
            ));
        }
        let mut order = Order::new(members as u16);
        let _empty = order.reset_to(state.base.clone());
        for (origin, payload) in &state.requests {
            if origin.sender.index() >= members {
                return Err(format!("persisted request {origin} from outside the group"));
            }
            order.insert_request(*origin, payload);
        }
        for (global, origin) in &state.sequences {
            if origin.sender.index() >= members {
                return Err(format!(
                    "persisted sequence {global} names {origin} (no such sender)"
                ));
            }
            order.insert_sequence(*global, *origin);
        }
        if applied.global < order.base.global {
            return Err(format!(
                "the application is at {}, behind the forgotten prefix up to {}",
                applied.global, order.base.global
            ));
        }
        if applied.global > order.held_up_to {
            let _dropped = order.install(applied.clone());
            return Ok((order, true));
        }
        while order.delivered_up_to < applied.global {
            order.deliver_next();
        }
        if order.snapshot_point() != *applied {
            return Err(format!(
                "the application's per-sender numbers at {} differ from the persisted order",
                applied.global
            ));
        }
        Ok((order, false))
    }

    /// Contiguous Sequences held.
    pub(super) fn sequenced_up_to(&self) -> GlobalSeq {
        self.sequenced_up_to
    }

    /// Contiguous Sequences held with every Request they name.
    pub(super) fn held_up_to(&self) -> GlobalSeq {
        self.held_up_to
    }

    /// Delivered prefix of the total order.
    pub(super) fn delivered_up_to(&self) -> GlobalSeq {
        self.delivered_up_to
    }

    /// Everything up to here is forgotten.
    pub(super) fn base(&self) -> &SnapshotPoint {
        &self.base
    }

    /// The sender's contiguous held requests.
    pub(super) fn sender_held_up_to(&self, sender: MemberId) -> LocalSeq {
        self.senders[sender.index()].held_up_to()
    }

    /// The sender's delivered requests.
    pub(super) fn sender_delivered_up_to(&self, sender: MemberId) -> LocalSeq {
        self.senders[sender.index()].delivered_up_to
    }

    /// The Sequence held for `global`, if any (and not forgotten).
    pub(super) fn sequence(&self, global: GlobalSeq) -> Option<Origin> {
        self.sequences.get(&global).copied()
    }

    /// The payload of a held request, if any (and not forgotten).
    pub(super) fn request(&self, origin: Origin) -> Option<&Vec<u8>> {
        self.senders[origin.sender.index()]
            .requests
            .get(&origin.local_seq)
    }

    /// True if the item is held or forgotten below the base: nobody need send it.
    pub(super) fn holds(&self, item: &Missing) -> bool {
        match item {
            Missing::Sequence(global) => {
                self.sequences.contains_key(global) || *global <= self.base.global
            }
            Missing::Request(origin) => {
                self.request(*origin).is_some() || self.base.covers(*origin)
            }
        }
    }

    /// True if the item is below the base: this member can no longer send it.
    pub(super) fn forgot(&self, item: &Missing) -> bool {
        match item {
            Missing::Sequence(global) => *global <= self.base.global,
            Missing::Request(origin) => self.base.covers(*origin),
        }
    }

    /// The watermark this member advertises.
    pub(super) fn watermark(&self) -> Watermark {
        let most = earlier_runs_per_sender_max(self.senders.len() as u16);
        Watermark {
            held_up_to: self.held_up_to,
            requests_held_up_to: self.senders.iter().map(SenderLog::held_up_to).collect(),
            earlier_runs: self
                .senders
                .iter()
                .enumerate()
                .filter(|(_, sender)| sender.runs.len() > 1)
                .flat_map(|(index, sender)| sender.earlier_runs(MemberId(index as u16), most))
                .collect(),
        }
    }

    /// The point after the delivered prefix: what a snapshot of the
    /// application state taken now covers.
    pub(super) fn snapshot_point(&self) -> SnapshotPoint {
        SnapshotPoint {
            global: self.delivered_up_to,
            delivered_local: self
                .senders
                .iter()
                .map(|sender| sender.delivered_up_to)
                .collect(),
        }
    }

    /// Everything held above the base, as a driver would persist it.
    pub(super) fn persisted_state(&self) -> PersistedState {
        let mut requests = BTreeMap::new();
        for (index, sender) in self.senders.iter().enumerate() {
            for (local_seq, payload) in &sender.requests {
                let origin = Origin {
                    sender: MemberId(index as u16),
                    local_seq: *local_seq,
                };
                requests.insert(origin, payload.clone());
            }
        }
        let mut state = PersistedState::new(self.senders.len() as u16);
        state.base = self.base.clone();
        state.sequences = self.sequences.clone();
        state.requests = requests;
        state
    }

    /// Adds a request. A duplicate must carry the same payload: two payloads
    /// under one name would mean a sender reused a local number.
    pub(super) fn insert_request(&mut self, origin: Origin, payload: &[u8]) -> Insertion {
        if self.base.covers(origin) {
            return Insertion::Stale;
        }
        let sender = &mut self.senders[origin.sender.index()];
        if let Some(held) = sender.requests.get(&origin.local_seq) {
            assert!(
                held == payload,
                "request {origin} arrived with two different payloads"
            );
            return Insertion::Duplicate;
        }
        sender.requests.insert(origin.local_seq, payload.to_vec());
        sender.note_held(origin.local_seq);
        self.advance_held();
        Insertion::Added
    }

    /// Adds a Sequence. A duplicate must name the same request: two requests
    /// under one number would break total order.
    pub(super) fn insert_sequence(&mut self, global: GlobalSeq, origin: Origin) -> Insertion {
        if global <= self.base.global {
            return Insertion::Stale;
        }
        if let Some(held) = self.sequences.get(&global) {
            assert!(
                *held == origin,
                "sequence {global} names both {held} and {origin}"
            );
            return Insertion::Duplicate;
        }
        assert!(
            !self.base.covers(origin),
            "sequence {global} names {origin}, which was numbered at or below base {}",
            self.base.global
        );
        self.sequences.insert(global, origin);
        self.advance_sequenced();
        self.advance_held();
        Insertion::Added
    }

    /// Drops every Sequence above the delivered prefix, for a view change:
    /// those may be bindings of an older view that the new view replaced.
    /// The requests stay; the ones no longer numbered are numbered again.
    pub(super) fn truncate_undelivered(&mut self) {
        let _dropped = self.sequences.split_off(&self.delivered_up_to.next());
        for sender in &mut self.senders {
            sender.numbered_up_to = sender.delivered_up_to;
        }
        self.sequenced_up_to = self.delivered_up_to;
        self.held_up_to = self.delivered_up_to;
    }

    /// The requests named by Sequences `after + 1 ..= up_to`, all held.
    pub(super) fn bindings(&self, after: GlobalSeq, up_to: GlobalSeq) -> Vec<Origin> {
        (after.0 + 1..=up_to.0)
            .map(|global| self.sequences[&GlobalSeq(global)])
            .collect()
    }

    /// True if Sequence `global -> origin` can be inserted without breaking
    /// per-sender FIFO: a binding that continues the contiguous prefix must
    /// name its sender's next unnumbered request, and so must each binding
    /// held beyond it that it joins to the prefix. (Bindings beyond a gap
    /// are checked when the gap fills; `advance_sequenced` relies on it.)
    pub(super) fn continues_fifo(&self, global: GlobalSeq, origin: Origin) -> bool {
        if global != self.sequenced_up_to.next() {
            return !self.base.covers(origin);
        }
        let mut numbered: Vec<LocalSeq> = self
            .senders
            .iter()
            .map(|sender| sender.numbered_up_to)
            .collect();
        let mut next = (global, Some(origin));
        while let (at, Some(origin)) = next {
            let last = &mut numbered[origin.sender.index()];
            if !origin.local_seq.follows(*last) {
                return false;
            }
            *last = origin.local_seq;
            next = (at.next(), self.sequences.get(&at.next()).copied());
        }
        true
    }

    /// Among the requests not yet numbered, the first one in FIFO order of
    /// some sender, trying senders from `start` round the group. Only legal
    /// when every Request named so far is held (the sequencing rule).
    pub(super) fn next_unnumbered(&self, start: MemberId) -> Option<Origin> {
        assert_eq!(
            self.held_up_to, self.sequenced_up_to,
            "sequencing while a named request is missing"
        );
        let members = self.senders.len();
        (0..members)
            .map(|offset| (start.index() + offset) % members)
            .find_map(|index| {
                let local_seq =
                    self.senders[index].next_held(self.senders[index].numbered_up_to)?;
                Some(Origin {
                    sender: MemberId(index as u16),
                    local_seq,
                })
            })
    }

    /// Delivers the next number. Only legal when it is held.
    pub(super) fn deliver_next(&mut self) -> Delivery {
        let global = self.delivered_up_to.next();
        assert!(
            global <= self.held_up_to,
            "delivering {global} beyond held {}",
            self.held_up_to
        );
        let origin = self.sequences[&global];
        let sender = &mut self.senders[origin.sender.index()];
        assert!(
            origin.local_seq.follows(sender.delivered_up_to),
            "per-sender FIFO broken: delivering {global} = {origin} after local {}",
            sender.delivered_up_to
        );
        sender.delivered_up_to = origin.local_seq;
        // Runs of earlier incarnations are void or delivered now.
        sender.runs = sender.runs.split_off(&origin.local_seq.incarnation());
        self.delivered_up_to = global;
        let payload = sender.requests[&origin.local_seq].clone();
        Delivery {
            global,
            sender: origin.sender,
            local_seq: origin.local_seq,
            payload,
        }
    }

    /// Forgets every entry up to `up_to` (delivered, and no longer needed for
    /// retransmission) and returns the new base.
    pub(super) fn collect_garbage(&mut self, up_to: GlobalSeq) -> SnapshotPoint {
        assert!(
            up_to > self.base.global,
            "garbage collection must move the base forward"
        );
        assert!(
            up_to <= self.delivered_up_to,
            "collecting {up_to}, which is not delivered"
        );
        let kept = self.sequences.split_off(&up_to.next());
        let forgotten = std::mem::replace(&mut self.sequences, kept);
        for (global, origin) in forgotten {
            let sender = &mut self.senders[origin.sender.index()];
            assert!(
                sender.requests.remove(&origin.local_seq).is_some(),
                "{global} names unheld {origin}"
            );
            self.base.delivered_local[origin.sender.index()] = origin.local_seq;
        }
        // Requests of an earlier incarnation that nobody numbered before its
        // sender's next life began are void: they sort below the base now.
        for (sender, covered) in self.senders.iter_mut().zip(&self.base.delivered_local) {
            sender.requests = sender.requests.split_off(&LocalSeq(covered.0 + 1));
        }
        self.base.global = up_to;
        self.base.clone()
    }

    /// Jumps to a snapshot point ahead of the delivered prefix: forgets
    /// everything it covers and keeps what lies beyond it that continues it
    /// (see `reset_to`). Returns the global numbers of the Sequences it
    /// dropped: the caller must persist that.
    pub(super) fn install(&mut self, point: SnapshotPoint) -> Vec<GlobalSeq> {
        assert!(
            point.global > self.delivered_up_to,
            "installing a snapshot that is not ahead"
        );
        assert_eq!(
            point.delivered_local.len(),
            self.senders.len(),
            "snapshot point for another group size"
        );
        self.reset_to(point)
    }

    /// Makes `point` the base and the delivered prefix, then recomputes every
    /// watermark over what is kept. Of the Sequences above the point, only
    /// the contiguous run that continues each sender's order is kept: the
    /// point may come from a later view than those Sequences, whose bindings
    /// may differ; Sequences beyond a gap were never claimed, so dropping
    /// them costs a retransmission at most. Returns the numbers dropped.
    fn reset_to(&mut self, point: SnapshotPoint) -> Vec<GlobalSeq> {
        self.sequences = self.sequences.split_off(&point.global.next());
        for (index, sender) in self.senders.iter_mut().enumerate() {
            let covered = point.delivered_local[index];
            sender.requests = sender.requests.split_off(&LocalSeq(covered.0 + 1));
            sender.delivered_up_to = covered;
            sender.numbered_up_to = covered;
            sender.recompute_runs();
        }
        let mut numbered = point.delivered_local.clone();
        let mut global = point.global.next();
        while let Some(origin) = self.sequences.get(&global) {
            let next = &mut numbered[origin.sender.index()];
            if !origin.local_seq.follows(*next) {
                break;
            }
            *next = origin.local_seq;
            global = global.next();
        }
        let dropped = self.sequences.split_off(&global).into_keys().collect();
        self.sequenced_up_to = point.global;
        self.held_up_to = point.global;
        self.delivered_up_to = point.global;
        self.base = point;
        self.advance_sequenced();
        self.advance_held();
        dropped
    }

    /// Extends the contiguous Sequence prefix, checking per-sender FIFO: each
    /// Sequence must name its sender's next unnumbered request. No peer
    /// input breaks it: the member inserts a Sequence that joins held ones
    /// to the prefix only if `continues_fifo`, a view's log only after
    /// `check_view_log`, and a restore or snapshot keeps only the run that
    /// continues each sender's order (`reset_to`).
    fn advance_sequenced(&mut self) {
        while let Some(origin) = self.sequences.get(&self.sequenced_up_to.next()).copied() {
            let sender = &mut self.senders[origin.sender.index()];
            assert!(
                origin.local_seq.follows(sender.numbered_up_to),
                "per-sender FIFO broken: {} names {origin} after local {}",
                self.sequenced_up_to.next(),
                sender.numbered_up_to
            );
            sender.numbered_up_to = origin.local_seq;
            self.sequenced_up_to = self.sequenced_up_to.next();
        }
    }

    /// Extends the held prefix over Sequences whose Request is held too.
    fn advance_held(&mut self) {
        while self.held_up_to < self.sequenced_up_to {
            let origin = self.sequences[&self.held_up_to.next()];
            if self.request(origin).is_none() {
                return;
            }
            self.held_up_to = self.held_up_to.next();
        }
    }
}
