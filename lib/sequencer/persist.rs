//! What a member must keep on disk, and how a driver rebuilds it.
//!
//! The core never writes; it hands out [`Record`]s in
//! [`Output::to_persist`](super::Output::to_persist), and the driver appends
//! them to its log and makes them durable *before* it sends the messages of
//! the same output (only the member's own Requests and Sequences, the
//! output's `early_messages`, may leave before). Why each record must be
//! kept:
//!
//! - Own `Request`: a restarted member must never reuse a `local_seq` for a
//!   different payload, or two members could hold different requests under
//!   one name. Its record may be lost with a crash after the Request left
//!   early; the restart numbers its requests in a new incarnation, so the
//!   lost name is never reused (docs/SEQUENCER.md 5.8).
//! - Own `Sequence`: only one member assigns `k` in a view; if it forgot an
//!   assignment it had sent and assigned `k` again to another request after a
//!   restart, members would deliver different things as number `k`. Its
//!   record may be lost with a crash after the Sequence left early; the
//!   restart never assigns in that view again (5.10).
//! - Received `Request`/`Sequence`: the watermark in every outgoing message
//!   claims "I hold these". Others deliver once a majority claims so, which
//!   is what makes a delivered number survive the crash of a minority. A claim
//!   that a crash can erase would break that.
//! - `ViewChange`: the member left its view for a higher one. It must never
//!   again acknowledge or assign anything in the old view (its DoViewChange
//!   showed the new view's coordinator its log as it stood), so the fact
//!   must survive a restart.
//! - `NewView`: the member installed a view: it dropped every Sequence
//!   above `truncate_after` (its delivered number; those were bindings of
//!   older views the new view may have replaced) and takes the view's log
//!   (the Sequence records that follow).
//! - `Base`: the member has forgotten everything up to a snapshot point (the
//!   application state covers it). Written only after the application's
//!   snapshot is durable.
//! - `Recovering`: the member started with an empty disk and must not vote,
//!   acknowledge or sequence until it has recovered (docs/SEQUENCER.md,
//!   section 5.7); a restart in the middle of recovery must not forget that.
//! - `Incarnation`: the member's requests are numbered in this incarnation
//!   from now on (0 for a member that started with the group); it ends a
//!   recovery.
//! - `Delivered`: the member delivered every number up to here. Not needed
//!   for safety (a delivered number is final, and the log holds what it
//!   names), but for liveness: a restart delivers those numbers again from
//!   its own log at once, so that what it holds undelivered is never more
//!   than the holdback window and [`DELIVERED_UNRECORDED_MAX`], and its log
//!   fits a view-change vote (`VIEW_BINDINGS_MAX`) however long ago its
//!   application last snapshotted (docs/SEQUENCER.md, section 5.9).
//!
//! [`PersistedState::apply`] replays records in order; a driver may also
//! rewrite its log as the current [`PersistedState`] to compact it.

use std::collections::BTreeMap;

use super::ids::{GlobalSeq, LocalSeq, Origin};
use super::message::VIEW_BINDINGS_MAX;
use super::output::Delivery;
use super::view::View;

/// A member records its delivered number (`Record::Delivered`) with any
/// other record it persists, and on its own once this many deliveries went
/// unrecorded: so a batch that only delivers costs an fsync at most once
/// per this many numbers.
pub const DELIVERED_UNRECORDED_MAX: u64 = 256;

// A restarted member's undelivered log is at most the holdback window
// (`Config::holdback_max <= VIEW_BINDINGS_MAX / 2`) plus what it delivered
// unrecorded: together they fit one vote.
const _: () = assert!(DELIVERED_UNRECORDED_MAX <= VIEW_BINDINGS_MAX as u64 / 2);

/// The state after delivering `1..=global`: the application's snapshot point.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotPoint {
    /// Every number up to this one is in the snapshot.
    pub global: GlobalSeq,
    /// For each sender, the highest `local_seq` among the numbers up to
    /// `global` (0 if none): the requests a snapshot covers, per sender.
    pub delivered_local: Vec<LocalSeq>,
}

/// One durable fact, appended to the driver's log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Record {
    /// The member holds this request (its own or another's).
    Request {
        /// The request's name.
        origin: Origin,
        /// Its payload.
        payload: Vec<u8>,
    },
    /// The member holds the Sequence `global -> origin` (assigned by itself or
    /// received).
    Sequence {
        /// The number.
        global: GlobalSeq,
        /// The request it names.
        origin: Origin,
    },
    /// Everything up to this point is forgotten (garbage-collected after every
    /// member held it, or replaced by an installed snapshot).
    Base(SnapshotPoint),
    /// The member left its view and is changing to view `view`.
    ViewChange {
        /// The view it is changing to.
        view: u64,
    },
    /// The member installed `view`: every Sequence above `truncate_after`
    /// is dropped; the view's own follow as `Sequence` records.
    NewView {
        /// The view installed.
        view: View,
        /// Sequences above this number (the member's delivered number then)
        /// are forgotten.
        truncate_after: GlobalSeq,
    },
    /// The member started with an empty disk and is recovering.
    Recovering {
        /// Tags its queries, for as long as it recovers (restarts included).
        nonce: u64,
    },
    /// The member numbers its requests in this incarnation from now on.
    Incarnation {
        /// The incarnation: 0, or a view the member installed (at a
        /// restart or at the end of a recovery; docs/SEQUENCER.md, 5.8).
        incarnation: u64,
        /// If it started a new group: per member, the nonce under which that
        /// member answered blank (0: it did not), to answer its query
        /// `NewWithYou` later. Empty after a recovery.
        new_group_with: Vec<u64>,
    },
    /// The member delivered every number up to `up_to`.
    Delivered {
        /// Its delivered number when the record was written.
        up_to: GlobalSeq,
    },
}

/// Everything a member needs to restart: what it holds above its base.
/// Build it with [`PersistedState::new`] and [`PersistedState::apply`] from a
/// log of records, or take it from [`Member::persisted_state`](super::Member::persisted_state).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PersistedState {
    /// The point below which nothing is kept (the group start: all zeros).
    pub base: SnapshotPoint,
    /// Sequences held above the base.
    pub sequences: BTreeMap<GlobalSeq, Origin>,
    /// Requests held above the base's per-sender numbers.
    pub requests: BTreeMap<Origin, Vec<u8>>,
    /// The view whose log the member holds (view 0 at the start).
    pub view: View,
    /// The higher view the member is changing to, if a change is under way.
    pub changing_to: Option<u64>,
    /// The incarnation the member's own requests are numbered in.
    pub incarnation: u64,
    /// While the member recovers from an empty disk: its query nonce.
    pub recovering: Option<u64>,
    /// See [`Record::Incarnation`].
    pub new_group_with: Vec<u64>,
    /// The highest number the member recorded as delivered (see
    /// [`Record::Delivered`]); a restart delivers up to it from the log.
    pub delivered: GlobalSeq,
}

impl SnapshotPoint {
    /// The group's start: nothing delivered.
    pub fn start(members: u16) -> SnapshotPoint {
        SnapshotPoint {
            global: GlobalSeq(0),
            delivered_local: vec![LocalSeq(0); usize::from(members)],
        }
    }

    /// True if the point covers this request: it was numbered at or below
    /// `global`.
    pub fn covers(&self, origin: Origin) -> bool {
        origin.local_seq <= self.delivered_local[origin.sender.index()]
    }

    /// Moves the point over one delivery applied after it: a driver that
    /// applies deliveries one by one keeps its application's point this way.
    ///
    /// # Panics
    /// If the delivery is not the next number, or not its sender's next
    /// request: the driver skipped or repeated one.
    pub fn advance(&mut self, delivery: &Delivery) {
        assert_eq!(delivery.global, self.global.next(), "delivery out of order");
        let local = &mut self.delivered_local[delivery.sender.index()];
        assert!(
            delivery.local_seq.follows(*local),
            "delivery out of its sender's order"
        );
        *local = delivery.local_seq;
        self.global = delivery.global;
    }
}

impl PersistedState {
    /// The state of a member that has never run.
    pub fn new(members: u16) -> PersistedState {
        PersistedState {
            base: SnapshotPoint::start(members),
            sequences: BTreeMap::new(),
            requests: BTreeMap::new(),
            view: View::initial(members),
            changing_to: None,
            incarnation: 0,
            recovering: None,
            new_group_with: Vec::new(),
            delivered: GlobalSeq(0),
        }
    }

    /// Replays one record. Records at or below the base are ignored: a log may
    /// hold records written before the `Base` that covers them.
    pub fn apply(&mut self, record: &Record) {
        match record {
            Record::Request { origin, payload } => {
                if !self.base.covers(*origin) {
                    self.requests.insert(*origin, payload.clone());
                }
            }
            Record::Sequence { global, origin } => {
                if *global > self.base.global {
                    self.sequences.insert(*global, *origin);
                }
            }
            Record::Base(point) => {
                if point.global <= self.base.global {
                    return;
                }
                self.base = point.clone();
                self.sequences = self.sequences.split_off(&point.global.next());
                let base = &self.base;
                self.requests.retain(|origin, _| !base.covers(*origin));
            }
            Record::ViewChange { view } => {
                let current = self.changing_to.unwrap_or(self.view.number);
                if *view > current {
                    self.changing_to = Some(*view);
                }
            }
            Record::NewView {
                view,
                truncate_after,
            } => {
                if view.number < self.view.number {
                    return;
                }
                let _dropped = self.sequences.split_off(&truncate_after.next());
                if self.changing_to.is_some_and(|to| to <= view.number) {
                    self.changing_to = None;
                }
                self.view = view.clone();
            }
            Record::Recovering { nonce } => self.recovering = Some(*nonce),
            Record::Incarnation {
                incarnation,
                new_group_with,
            } => {
                self.incarnation = self.incarnation.max(*incarnation);
                self.recovering = None;
                self.new_group_with = new_group_with.clone();
            }
            Record::Delivered { up_to } => self.delivered = self.delivered.max(*up_to),
        }
    }
}
