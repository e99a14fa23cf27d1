//! [`Member`]: one member of the group as a pure state machine. Inputs are
//! [`Member::broadcast`], [`Member::step`] and [`Member::tick`] (plus the
//! restart and state-transfer hooks); every input only changes memory and
//! queues work, which the driver collects with [`Member::take_output`].
//!
//! `step` first asks `contradiction` whether the message contradicts what
//! this member holds (then it is refused: counted, nothing else changes),
//! then each kind's `ignore_<kind>` filter, which names why stale,
//! duplicate, out-of-window or other-view input is dropped, and only then
//! runs the `on_<kind>` handler, which asserts what the filters guarantee
//! and acts. After every input the member tries
//! the two rules that make progress: [`Member::maybe_sequence`] (assign the
//! next number if it is this member's turn) and [`Member::maybe_deliver`].

use std::collections::{BTreeMap, BTreeSet};

mod incarnation;
mod reads;
mod recovering;
mod views;

use incarnation::HandedOut;

use log::{debug, info, trace, warn};

use super::config::Config;
use super::errors::SequencerError;
use super::ids::{GlobalSeq, LocalSeq, MemberId, Origin};
use super::message::{Body, Message, Missing, Watermark};
use super::order::{Insertion, Order};
use super::output::{Destination, Output, SnapshotNeeded};
use super::peers::Peers;
use super::persist::{PersistedState, Record, SnapshotPoint, DELIVERED_UNRECORDED_MAX};
use super::read_barrier::ReadBarrier;
use super::recovery::{CatchUp, Recovery};
use super::retransmit::{self, Answer, Nacks};
use super::view::{coordinator, View, ViewStamp};
use super::view_change::ViewChange;
use crate::verdict::Verdict;

/// The reason a view-dependent message from another view is ignored (such
/// drops are counted in `ViewCounters::other_view_drops`).
pub(super) const OTHER_VIEW: &str = "from another view";

/// A snapshot of a member's progress, for status pages and tests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    /// This member.
    pub id: MemberId,
    /// The next global number to be assigned (all below are known here).
    pub next_global: GlobalSeq,
    /// Held with every Request named, contiguously.
    pub held_up_to: GlobalSeq,
    /// Delivered to the application.
    pub delivered_up_to: GlobalSeq,
    /// Forgotten (garbage-collected or covered by a snapshot) up to here.
    pub base: GlobalSeq,
    /// Items this member is asking its peers to retransmit.
    pub missing: usize,
    /// The view this member is in, or is changing to.
    pub view: u64,
    /// The installed view (its number is the view of the log held).
    pub installed: View,
    /// True while a view change is under way here.
    pub changing: bool,
    /// The member whose turn the next number is, if known.
    pub turn: Option<MemberId>,
    /// What happened to views here, for graders.
    pub counters: ViewCounters,
    /// The incarnation this member numbers its requests in (0, or a view
    /// it installed: at its last restart or recovery).
    pub incarnation: u64,
    /// True while it recovers from an empty disk (it takes no part yet).
    pub recovering: bool,
}

/// Counts of view events at one member since it started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ViewCounters {
    /// Turn-list members suspected after a silence.
    pub suspicions: u64,
    /// View changes this member began or joined.
    pub view_changes: u64,
    /// Views installed.
    pub views_installed: u64,
    /// Live members outside the turn list that were taken back in.
    pub rejoins: u64,
    /// Peer input refused because it contradicts what this member holds:
    /// messages (one number naming two requests, one request with two
    /// payloads, a binding out of its sender's order, a new view that drops
    /// a delivered number), and at a coordinator, votes no view can be
    /// decided from. No correct member sends them: the simulations and
    /// golden scripts fail unless this is 0.
    pub contradictions: u64,
    /// View-dependent messages dropped because they came from another view.
    pub other_view_drops: u64,
}

/// One member of a rotating-sequencer atomic broadcast group.
#[derive(Clone, Debug)]
pub struct Member {
    config: Config,
    now_tick: u64,
    order: Order,
    peers: Peers,
    nacks: Nacks,
    output: Output,
    /// The watermark in the last message sent to all, and when it was sent:
    /// a heartbeat goes out when the watermark moved or the interval passed.
    advertised: Watermark,
    advertised_tick: u64,
    /// The application's durable state covers every number up to here, so
    /// the history may forget them once no peer needs them.
    applied_durably_up_to: GlobalSeq,
    /// The installed view: the log held belongs to it.
    view: View,
    /// The view change under way, if any (then nothing is assigned,
    /// acknowledged or delivered in the installed view).
    changing: Option<ViewChange>,
    /// Per member, the last tick a message of this member's view came from it.
    last_heard: Vec<u64>,
    /// Per member outside the turn list: since when it has been caught up.
    ready_since: Vec<Option<u64>>,
    /// Per member, the last tick this member asked it for its view.
    asked_view: Vec<u64>,
    /// The highest view some member was heard working in. Above the
    /// installed view, this member assigns nothing (`maybe_sequence`): a
    /// majority left its view, and a state transfer may have given it a
    /// later view's delivered prefix that its view's log does not hold.
    working_view_heard: u64,
    counters: ViewCounters,
    /// The incarnation this member's own requests are numbered in.
    incarnation: u64,
    /// True from a restart until the member takes a new incarnation
    /// (`member/incarnation.rs`): it broadcasts nothing meanwhile.
    needs_incarnation: bool,
    /// What the last output handed to the driver will have made durable
    /// before the next output's early messages leave.
    handed_out: HandedOut,
    /// A recovery from an empty disk under way, if any: until it ends the
    /// member votes, acknowledges, sequences and delivers nothing.
    recovery: Option<Recovery>,
    /// After a recovery installed its view: catching up, not yet voting
    /// (`recovery.rs`, [`CatchUp`]).
    catching_up: Option<CatchUp>,
    /// The delivered number last handed out in a `Record::Delivered` (or
    /// found in the log at a restart).
    delivered_recorded: GlobalSeq,
    /// Per member, the nonce under which it answered blank when this member
    /// started a new group: its query under that nonce is answered
    /// `NewWithYou` (persisted in `Record::Incarnation`).
    started_with: Vec<Option<u64>>,
    /// Reads waiting to be answered from the state (`member/reads.rs`).
    reads: ReadBarrier,
}

impl Member {
    /// A member of a group that starts now, with nothing persisted.
    ///
    /// # Errors
    /// `ConfigInvalid` if the config breaks a rule.
    pub fn new(config: Config) -> Result<Member, SequencerError> {
        let members = config.members;
        // Nothing was ever sent under incarnation 0 by a member that never
        // ran, so it needs no new one.
        Member::build(
            config,
            PersistedState::new(members),
            SnapshotPoint::start(members),
        )
    }

    /// A member that starts with an empty disk (no log at all), whatever its
    /// past: it asks the group before it takes part (see `recovery.rs`), and
    /// starts as in [`Member::new`] only if the whole group is new. The
    /// application state is at `applied` (the group start, or a snapshot
    /// the driver kept).
    ///
    /// # Errors
    /// As [`Member::restore`].
    pub fn recover(config: Config, applied: SnapshotPoint) -> Result<Member, SequencerError> {
        let mut state = PersistedState::new(config.members);
        // 0 stands for "no nonce" in `Record::Incarnation`.
        let nonce = config.recovery_nonce.max(1);
        state.recovering = Some(nonce);
        let mut member = Member::build(config, state, applied)?;
        member
            .output
            .to_persist
            .insert(0, Record::Recovering { nonce });
        Ok(member)
    }

    /// A member restarting from what it persisted. The application state
    /// (restored by the driver from its snapshot and log) is at `applied`:
    /// the driver keeps that point with its state, from
    /// [`Member::snapshot_point`] or by [`SnapshotPoint::advance`] over each
    /// delivery it applies. Delivery resumes after it once a majority is heard
    /// from again; what the member missed comes by retransmission.
    ///
    /// # Errors
    /// `ConfigInvalid` for a bad config; `RestoreInvalid` if the persisted
    /// state and the application point do not fit together (the application
    /// is behind what the log forgot, or disagrees with the persisted order).
    pub fn restore(
        config: Config,
        state: PersistedState,
        applied: SnapshotPoint,
    ) -> Result<Member, SequencerError> {
        let recovering = state.recovering.is_some();
        let mut member = Member::build(config, state, applied)?;
        if !recovering {
            // An earlier life may have sent Requests and Sequences it never
            // persisted: with the early send on, or with it on in a run
            // before this one (the setting may change between two runs), so
            // every restart renews, whatever `early_send` says now.
            member.renew_incarnation();
        }
        Ok(member)
    }

    /// A member from a persisted state and an application point, as it
    /// was (the three constructors above add what their start needs).
    fn build(
        config: Config,
        state: PersistedState,
        applied: SnapshotPoint,
    ) -> Result<Member, SequencerError> {
        config.validate()?;
        if state.base.delivered_local.len() != usize::from(config.members) {
            return Err(SequencerError::RestoreInvalid(format!(
                "persisted base has {} senders, the group has {}",
                state.base.delivered_local.len(),
                config.members
            )));
        }
        let (order, jumped) =
            Order::restore(&state, &applied).map_err(SequencerError::RestoreInvalid)?;
        let members = usize::from(config.members);
        let watermark = order.watermark();
        let mut member = Member {
            peers: Peers::new(config.members, config.id),
            nacks: Nacks::new(config.members),
            output: Output::default(),
            advertised: order.watermark(),
            advertised_tick: 0,
            applied_durably_up_to: applied.global,
            now_tick: 0,
            order,
            view: state.view.clone(),
            changing: state
                .changing_to
                .map(|view| ViewChange::new(view, 0, config.id, BTreeSet::new())),
            last_heard: vec![0; members],
            ready_since: vec![None; members],
            asked_view: vec![0; members],
            working_view_heard: 0,
            counters: ViewCounters::default(),
            incarnation: state.incarnation,
            needs_incarnation: false,
            handed_out: HandedOut::restored(watermark),
            recovery: None,
            catching_up: None,
            delivered_recorded: state.delivered,
            started_with: (0..members)
                .map(|index| state.new_group_with.get(index).copied().filter(|n| *n != 0))
                .collect(),
            reads: ReadBarrier::new(
                config.members,
                config.id,
                config.majority(),
                config.recovery_nonce,
            ),
            config,
        };
        // Everything restored is durable: on disk, or in the application's.
        member.note_handed_out();
        member.resume(&state, applied, jumped);
        Ok(member)
    }

    /// The restored member's first steps: a recovery interrupted by the
    /// crash asks again; an application ahead of the log re-bases it; a view
    /// change it may have decided moves on.
    fn resume(&mut self, state: &PersistedState, applied: SnapshotPoint, jumped: bool) {
        if let Some(nonce) = state.recovering {
            // A restart in the middle of a recovery asks again, under the
            // same nonce: the disk is still the one that started empty, so
            // the others' `NewWithYou` still holds for it.
            self.recovery = Some(Recovery::new(nonce, 0));
            self.changing = None;
            self.finish_query();
            self.send_query();
        }
        if jumped {
            // The application installed a snapshot the log does not record;
            // the Sequences that do not continue it are dropped (`install`).
            self.output.to_persist.push(Record::Base(applied));
            self.output.to_persist.push(Record::NewView {
                view: self.view.clone(),
                truncate_after: self.order.sequenced_up_to(),
            });
        }
        self.deliver_recorded(state.delivered);
        self.register_named_requests();
        if let Some(view) = state.changing_to {
            if coordinator(view, self.config.members) == self.config.id {
                // It may have decided this view before the crash, and it
                // keeps no record of what: deciding again could start the
                // same view twice, differently. Move on to the next one.
                self.start_view_change(view + 1);
            }
        }
    }

    /// Delivers again, from the log, every number up to `recorded` that an
    /// earlier life of this member delivered: a delivered number is final
    /// (every later view binds it alike), so no majority need be heard
    /// again. What is left undelivered then fits a view-change vote
    /// (docs/SEQUENCER.md, section 5.9).
    fn deliver_recorded(&mut self, recorded: GlobalSeq) {
        self.deliver_up_to(recorded.min(self.order.held_up_to()));
    }

    /// Delivers every held number up to `target`, in order.
    fn deliver_up_to(&mut self, target: GlobalSeq) {
        while self.order.delivered_up_to() < target {
            let delivery = self.order.deliver_next();
            trace!(
                "{} delivers {} = {}/{}",
                self.config.id,
                delivery.global,
                delivery.sender.0,
                delivery.local_seq
            );
            self.output.deliveries.push(delivery);
        }
    }

    /// Hands out a `Record::Delivered` if deliveries went unrecorded (a
    /// `Base` at the delivered number, as after a snapshot install, records
    /// them already).
    fn record_delivered(&mut self) {
        let delivered = self.order.delivered_up_to();
        if delivered > self.delivered_recorded.max(self.order.base().global) {
            self.output
                .to_persist
                .push(Record::Delivered { up_to: delivered });
            self.delivered_recorded = delivered;
        }
    }

    /// Broadcasts a client request: it gets the next local number, is held
    /// here, persisted, and sent to all. Returns its local number; the request
    /// is later delivered (here and everywhere) in the total order.
    ///
    /// # Errors
    /// `PayloadTooLarge` beyond `payload_bytes_max`; `Backpressure` while
    /// `broadcasts_in_flight_max` own requests are undelivered (a member
    /// whose group is stalled, for example at a down member's turn).
    pub fn broadcast(&mut self, payload: Vec<u8>) -> Result<LocalSeq, SequencerError> {
        if payload.len() > self.config.payload_bytes_max {
            return Err(SequencerError::PayloadTooLarge {
                len: payload.len(),
                max: self.config.payload_bytes_max,
            });
        }
        if self.is_recovering() {
            return Err(SequencerError::Recovering);
        }
        if self.needs_incarnation {
            return Err(SequencerError::NewIncarnation);
        }
        let me = self.config.id;
        let held = self.order.sender_held_up_to(me);
        let local_seq = if held.incarnation() < self.incarnation {
            LocalSeq::first(self.incarnation)
        } else {
            held.next()
        };
        let in_flight = self.broadcasts_in_flight();
        if in_flight >= self.config.broadcasts_in_flight_max {
            return Err(SequencerError::Backpressure {
                in_flight,
                max: self.config.broadcasts_in_flight_max,
            });
        }
        let origin = Origin {
            sender: me,
            local_seq,
        };
        assert_eq!(
            self.order.insert_request(origin, &payload),
            Insertion::Added,
            "own request {origin}"
        );
        self.output.to_persist.push(Record::Request {
            origin,
            payload: payload.clone(),
        });
        self.send_own_request(Body::Request {
            sender: me,
            local_seq,
            payload,
        });
        self.maybe_sequence();
        self.maybe_deliver();
        Ok(local_seq)
    }

    /// Handles one message from member `from` (known to the driver from the
    /// socket address) and says what came of it.
    ///
    /// A message that contradicts what this member holds (one number naming
    /// two requests, one request with two payloads, a view log against what
    /// was delivered here) is refused before anything looks at it: nothing
    /// changes but the `contradictions` counter (see `contradiction`). Else
    /// its watermark is taken in, and its body goes to its handler unless
    /// the kind's `ignore_<kind>` filter names why it is dropped (stale,
    /// duplicate, out of window, from another view).
    ///
    /// # Errors
    /// `InvalidMessage` if `from` or the message does not fit the group.
    pub fn step(&mut self, from: MemberId, message: Message) -> Result<Verdict, SequencerError> {
        if from.0 >= self.config.members || from == self.config.id {
            return Err(SequencerError::InvalidMessage(format!(
                "message from {from} to {}",
                self.config.id
            )));
        }
        message.validate(self.config.members, self.config.payload_bytes_max)?;
        trace!("{} <- {from}: {}", self.config.id, message.describe());
        let stamp = message.stamp;
        let in_my_view = stamp.view == self.current_view();
        // Watermarks and sequences mean this view's log only when both ends
        // work in it.
        let same_log = in_my_view && stamp.is_normal() && self.is_normal();
        if let Some(why) = self.contradiction(&message, same_log) {
            return Ok(self.refuse(from, &message, &why));
        }
        match message.body {
            // A recovering member's query and its answers say nothing about
            // views or holdings that others may count: handled apart.
            Body::Recover { nonce } => {
                self.on_recover(from, nonce);
                return Ok(Verdict::Handled);
            }
            Body::RecoverAnswer { nonce, standing } => {
                if let Some(reason) = self.ignore_recover_answer(nonce) {
                    return Ok(self.ignore(from, &message, reason));
                }
                self.on_recover_answer(from, stamp, standing);
                return Ok(Verdict::Handled);
            }
            _ if self.is_asking() => {
                return Ok(self.ignore(from, &message, "asking the group after an empty start"));
            }
            _ => {}
        }
        let enters_view_change = matches!(
            message.body,
            Body::StartViewChange | Body::DoViewChange { .. }
        );
        let brought_view = matches!(message.body, Body::NewView { .. });
        if in_my_view {
            self.last_heard[from.index()] = self.now_tick;
        }
        self.on_watermark(from, &message.watermark, same_log);
        let verdict = match self.ignore_body(from, &message, same_log) {
            Some(reason) => self.ignore(from, &message, reason),
            None => {
                self.on_body(from, message, same_log);
                Verdict::Handled
            }
        };
        if self.recovery.is_some() {
            self.follow_view_recovering(from, stamp);
        } else if !brought_view {
            self.follow_view(from, stamp);
        }
        if enters_view_change {
            self.note_entered(from, stamp.view);
        }
        self.maybe_sequence();
        self.maybe_deliver();
        Ok(verdict)
    }

    /// Why a message's body is dropped, if it is: each kind's filter (the
    /// kinds without one are always handled).
    fn ignore_body(
        &self,
        from: MemberId,
        message: &Message,
        same_log: bool,
    ) -> Option<&'static str> {
        let stamp = message.stamp;
        match &message.body {
            Body::Request {
                sender,
                local_seq,
                payload,
            } => self.ignore_request(
                Origin {
                    sender: *sender,
                    local_seq: *local_seq,
                },
                payload,
            ),
            Body::Sequence {
                global,
                sender,
                local_seq,
            } => self.ignore_sequence(
                *global,
                Origin {
                    sender: *sender,
                    local_seq: *local_seq,
                },
                same_log,
            ),
            Body::Compacted { base } => self.ignore_compacted(*base),
            Body::DoViewChange { .. } => self.ignore_do_view_change(stamp),
            Body::NewView { .. } => self.ignore_new_view(stamp.view),
            Body::GetView { .. } => self.ignore_get_view(stamp),
            Body::ReadQuery { .. } => self.ignore_read_query(),
            Body::ReadAnswer { round, .. } => self.ignore_read_answer(from, *round),
            Body::Retransmit { .. }
            | Body::Heartbeat
            | Body::StartViewChange
            | Body::Recover { .. }
            | Body::RecoverAnswer { .. } => None,
        }
    }

    /// Hands a message's body to its handler (a recovering member's query
    /// and answers are handled before, in `step`; `ignore_body` let it
    /// through).
    fn on_body(&mut self, from: MemberId, message: Message, same_log: bool) {
        let stamp = message.stamp;
        match message.body {
            Body::Request {
                sender,
                local_seq,
                payload,
            } => self.on_request(Origin { sender, local_seq }, payload),
            Body::Sequence {
                global,
                sender,
                local_seq,
            } => {
                debug_assert!(same_log, "ignore_sequence drops other logs' Sequences");
                self.on_sequence(global, Origin { sender, local_seq });
            }
            Body::Retransmit { missing } => self.on_retransmit(from, stamp, &missing),
            Body::Heartbeat | Body::StartViewChange => {}
            Body::Compacted { base } => self.on_compacted(from, base),
            Body::DoViewChange {
                delivered,
                bindings,
            } => self.on_do_view_change(from, stamp, delivered, bindings, &message.watermark),
            Body::NewView {
                members,
                start,
                after,
                bindings,
            } => {
                let view = View {
                    number: stamp.view,
                    members,
                    start,
                };
                self.on_new_view(from, view, after, &bindings);
            }
            Body::GetView { delivered } => self.on_get_view(from, delivered),
            Body::ReadQuery { round } => self.on_read_query(from, round),
            Body::ReadAnswer { round, known_up_to } => {
                self.on_read_answer(from, round, known_up_to);
            }
            Body::Recover { .. } | Body::RecoverAnswer { .. } => {}
        }
    }

    /// How a message contradicts what this member holds, if it does. No
    /// correct member sends such a message, whatever the network did to it:
    /// a sender numbers each request once (one payload per name), a number
    /// is assigned once in a view (one request per number, each sender's
    /// requests in order), and a view's log keeps every delivered number
    /// (docs/SEQUENCER.md, section 5). Only what a handler would take is
    /// checked: what its filter drops cannot contradict anything.
    fn contradiction(&self, message: &Message, same_log: bool) -> Option<String> {
        match &message.body {
            Body::Request {
                sender,
                local_seq,
                payload,
            } => {
                let origin = Origin {
                    sender: *sender,
                    local_seq: *local_seq,
                };
                let held = self.order.request(origin)?;
                (held != payload).then(|| format!("{origin} is held with another payload"))
            }
            Body::Sequence {
                global,
                sender,
                local_seq,
            } => {
                let origin = Origin {
                    sender: *sender,
                    local_seq: *local_seq,
                };
                if self.ignore_sequence(*global, origin, same_log).is_some() {
                    return None;
                }
                if let Some(held) = self.order.sequence(*global) {
                    return Some(format!("{global} is held as {held}"));
                }
                let fifo = self.order.continues_fifo(*global, origin);
                (!fifo).then(|| format!("{global} = {origin} breaks its sender's order"))
            }
            Body::NewView {
                after, bindings, ..
            } => {
                let takes = self.ignore_new_view(message.stamp.view).is_none()
                    && *after <= self.order.delivered_up_to();
                takes.then(|| self.check_view_log(*after, bindings).err())?
            }
            _ => None,
        }
    }

    /// Ignores a message's body for `reason` (logged at debug level: the
    /// network loses, repeats and reorders messages, that is no news).
    fn ignore(&mut self, from: MemberId, message: &Message, reason: &'static str) -> Verdict {
        if reason == OTHER_VIEW {
            self.counters.other_view_drops += 1;
        }
        debug!(
            "{} ignores {} from {from}: {reason}",
            self.config.id,
            message.describe()
        );
        Verdict::Ignored(reason)
    }

    /// Refuses a message that contradicts what this member holds: counted
    /// in `contradictions`; the driver logs the verdict at warn level.
    fn refuse(&mut self, from: MemberId, message: &Message, why: &str) -> Verdict {
        self.counters.contradictions += 1;
        let describe = message.describe();
        debug!("{} refuses {describe} from {from}: {why}", self.config.id);
        Verdict::Refused(format!("{describe}: {why}"))
    }

    /// Advances time by one tick: forgets history every member holds, asks
    /// again for what is still missing, and sends a heartbeat when the
    /// watermark moved or the member was quiet for the heartbeat interval.
    pub fn tick(&mut self) {
        self.now_tick += 1;
        if self.recovery.is_some() {
            // Retransmissions only: a recovering member claims and sends
            // nothing else (`member/recovering.rs`).
            self.recovery_tick();
            self.send_due_retransmits();
            return;
        }
        if self.changing.is_some() {
            self.view_change_tick();
        } else if self.catching_up.is_none() {
            self.suspect_silent_members();
            if self.is_normal() {
                self.take_back_ready_members();
            }
        }
        // Progress is otherwise driven by messages; after a restart (and in
        // a group of one) the tick is what tries the rules again.
        self.maybe_sequence();
        self.maybe_deliver();
        self.collect_garbage();
        self.send_due_retransmits();
        self.reads_tick();
        self.maybe_heartbeat();
    }

    /// Sends the watermark to all now if its `held_up_to` moved since the
    /// last message to all; does nothing otherwise (and in a group of one).
    ///
    /// Delivery waits for a majority's `held_up_to`, so a member that holds
    /// a new Sequence should say so at once rather than at its next tick. A
    /// driver calls this after handling each batch of events, so that one
    /// heartbeat per batch (not per message) carries the moved watermark
    /// out with the batch's other messages, after the same fsync. A Request
    /// received moves only the per-sender part, which nothing waits for: it
    /// travels with the next message, and a heartbeat for it alone would cost
    /// every member an fsync and a datagram per request (section 3.1 of
    /// docs/SEQUENCER.md: a flush that sends nothing syncs nothing).
    pub fn announce_watermark(&mut self) {
        if self.recovery.is_none() && self.config.members > 1 && self.holding_moved() {
            self.send(Destination::All, Body::Heartbeat);
        }
    }

    /// Hands out the work queued since the last call (see [`Output`] for the
    /// order in which to do it).
    pub fn take_output(&mut self) -> Output {
        if !self.output.to_persist.is_empty() {
            // The flush costs no extra fsync for it.
            self.record_delivered();
        }
        if self.output.needs_sync() {
            // Else the driver may leave its records unsynced, and early
            // messages keep claiming what the last synced output held.
            self.note_handed_out();
        }
        std::mem::take(&mut self.output)
    }

    /// True if [`Member::take_output`] would return work.
    pub fn has_output(&self) -> bool {
        !self.output.is_empty()
    }

    /// Tells the member that the application's durable state (its snapshot or
    /// its own log) covers every number up to `global`. Until then the member
    /// keeps those entries, so that a restart can deliver them again.
    ///
    /// # Panics
    /// If `global` is beyond what this member delivered.
    pub fn applied_durably(&mut self, global: GlobalSeq) {
        assert!(
            global <= self.order.delivered_up_to(),
            "applied {global} beyond delivered"
        );
        self.applied_durably_up_to = self.applied_durably_up_to.max(global);
    }

    /// Installs a state transfer: the application state (already installed
    /// and durable) covers `point`, which is ahead of what this member
    /// delivered. Everything it covers is forgotten; delivery continues after
    /// it, and what lies beyond is caught up by retransmission. Persist the
    /// `Base` record of the output (after the application state) as usual.
    ///
    /// # Errors
    /// `RestoreInvalid` if the point is for another group size or is not
    /// ahead of what this member delivered (then nothing changes).
    pub fn install_snapshot(&mut self, point: SnapshotPoint) -> Result<(), SequencerError> {
        if point.delivered_local.len() != usize::from(self.config.members) {
            return Err(SequencerError::RestoreInvalid(
                "snapshot point for another group size".to_string(),
            ));
        }
        if point.global <= self.order.delivered_up_to() {
            return Err(SequencerError::RestoreInvalid(format!(
                "snapshot at {} is not ahead of delivered {}",
                point.global,
                self.order.delivered_up_to()
            )));
        }
        debug!("{} installs a snapshot at {}", self.config.id, point.global);
        let dropped = self.order.install(point.clone());
        self.applied_durably_up_to = point.global;
        self.output.to_persist.push(Record::Base(point));
        if !dropped.is_empty() {
            self.output.to_persist.push(Record::NewView {
                view: self.view.clone(),
                truncate_after: self.order.sequenced_up_to(),
            });
            self.leave_overtaken_view(&dropped);
        }
        self.nacks.rescan();
        self.nacks.forget_held(&self.order);
        self.register_named_requests();
        self.maybe_sequence();
        self.maybe_deliver();
        Ok(())
    }

    /// A snapshot install dropped the Sequences numbered `dropped` (beyond a
    /// gap, or not continuing the snapshot's order). If this member assigned
    /// one of them in its view, its view is over: it assigned it holding
    /// every Sequence below, so only an order that differs from its view's
    /// log, that is a later view's, can drop it. The member must not assign
    /// in this view again, or that number would get a second binding in one
    /// view's log (seed 2258 of the simulation of other sizes did that). It
    /// leaves for the next view, durably (`Record::ViewChange`), and follows
    /// the group to whichever view it is in.
    fn leave_overtaken_view(&mut self, dropped: &[GlobalSeq]) {
        let me = Some(self.config.id);
        let assigned_here = dropped.iter().any(|global| self.view.owner(*global) == me);
        if assigned_here && self.is_normal() && self.catching_up.is_none() {
            info!(
                "{} installed a snapshot from a later order than view {}'s log: \
                 it leaves that view",
                self.config.id, self.view.number
            );
            self.start_view_change(self.current_view() + 1);
        }
    }

    /// What a snapshot of the application taken now covers: the point to
    /// ship with it to a member that needs a state transfer.
    pub fn snapshot_point(&self) -> SnapshotPoint {
        self.order.snapshot_point()
    }

    /// Everything this member holds above its base: enough to restart it.
    /// A driver may write this (after an application snapshot at or beyond
    /// its base) and truncate its log of records.
    pub fn persisted_state(&self) -> PersistedState {
        let mut state = self.order.persisted_state();
        state.view = self.view.clone();
        state.changing_to = self.changing.as_ref().map(|change| change.view);
        state.incarnation = self.incarnation;
        let recovering = self.recovery.as_ref().map(|recovery| recovery.nonce);
        state.recovering = recovering.or(self.catching_up.map(|catch_up| catch_up.nonce));
        state.new_group_with = self.new_group_with();
        state.delivered = self.order.delivered_up_to();
        state
    }

    /// This member's own broadcasts not yet delivered here.
    pub fn broadcasts_in_flight(&self) -> u64 {
        let me = self.config.id;
        let held = self.order.sender_held_up_to(me);
        held.count_after(self.order.sender_delivered_up_to(me))
    }

    /// The last number handed to the application.
    pub fn delivered_up_to(&self) -> GlobalSeq {
        self.order.delivered_up_to()
    }

    /// The watermark this member advertises now.
    pub fn watermark(&self) -> Watermark {
        self.order.watermark()
    }

    /// Progress numbers for status pages.
    pub fn status(&self) -> Status {
        let next_global = self.order.sequenced_up_to().next();
        Status {
            id: self.config.id,
            next_global,
            held_up_to: self.order.held_up_to(),
            delivered_up_to: self.order.delivered_up_to(),
            base: self.order.base().global,
            missing: self.nacks.len(),
            view: self.current_view(),
            installed: self.view.clone(),
            changing: self.changing.is_some(),
            turn: self.view.owner(next_global),
            counters: self.counters,
            incarnation: self.incarnation,
            recovering: self.is_recovering(),
        }
    }

    /// True if this member can answer clients soon: it works in its view
    /// (no view change under way) and has heard from a majority, itself
    /// included, within the suspicion time. A member that cannot should
    /// send callers elsewhere at once instead of holding them.
    pub fn is_serving(&self) -> bool {
        if !self.is_normal() || self.is_recovering() || self.needs_incarnation {
            return false;
        }
        let heard = (0..self.config.members)
            .map(MemberId)
            .filter(|member| {
                *member == self.config.id
                    || self.now_tick - self.last_heard[member.index()] <= self.config.suspect_ticks
            })
            .count();
        heard >= self.config.majority()
    }

    /// This member's config.
    pub fn config(&self) -> &Config {
        &self.config
    }

    // ----- handlers -----------------------------------------------------

    /// Every message carries its sender's watermark: remember it (delivery
    /// needs a majority), and register as missing what the sender holds and
    /// this member lacks: that finds trailing gaps no later message reveals.
    fn on_watermark(&mut self, from: MemberId, watermark: &Watermark, same_log: bool) {
        self.peers.update_requests(from, watermark);
        let due_tick = self.now_tick + self.config.nack_delay_ticks;
        if same_log {
            self.peers.update_held(from, watermark.held_up_to);
            let window_end = self.sequence_window_end();
            let up_to = watermark.held_up_to.min(window_end);
            self.nacks.register_sequences(
                &self.order,
                self.order.sequenced_up_to(),
                up_to,
                due_tick,
            );
        }
        for (index, theirs) in watermark.requests_held_up_to.iter().enumerate() {
            let sender = MemberId(index as u16);
            let mine = self.order.sender_held_up_to(sender);
            let up_to = (*theirs).min(self.request_window_end(sender, theirs.incarnation()));
            if up_to > mine {
                self.nacks
                    .register_requests(&self.order, sender, (mine, up_to), due_tick);
            }
        }
    }

    /// A Request: hold and persist it; a gap below it in the sender's
    /// local numbers means earlier Requests were lost.
    fn on_request(&mut self, origin: Origin, payload: Vec<u8>) {
        let held_before = self.order.sender_held_up_to(origin.sender);
        // No peer input reaches these: `ignore_request` dropped what lies
        // outside the window or is held already with this payload, and
        // `contradiction` refused another payload under a held name.
        assert!(
            self.in_requests_window(origin),
            "request {origin} beyond window"
        );
        assert_eq!(
            self.order.insert_request(origin, &payload),
            Insertion::Added,
            "request {origin}"
        );
        self.output
            .to_persist
            .push(Record::Request { origin, payload });
        let gap = (held_before, LocalSeq(origin.local_seq.0 - 1));
        if gap.1 > gap.0 {
            let due_tick = self.now_tick + self.config.nack_delay_ticks;
            self.nacks
                .register_requests(&self.order, origin.sender, gap, due_tick);
        }
    }

    /// Why a Request is dropped, if it is. A duplicate must carry the same
    /// payload: two payloads under one name mean a sender reused a number.
    fn ignore_request(&self, origin: Origin, payload: &[u8]) -> Option<&'static str> {
        if self.order.base().covers(origin) {
            Some("stale: delivered and forgotten")
        } else if self
            .order
            .request(origin)
            .is_some_and(|held| held == payload)
        {
            Some("duplicate")
        } else if !self.in_requests_window(origin) {
            Some("beyond the requests window; it will be asked for again")
        } else {
            None
        }
    }

    /// A Sequence: hold and persist it. A gap below it in global numbers, or
    /// a Request it names that is not held, is registered as missing.
    fn on_sequence(&mut self, global: GlobalSeq, origin: Origin) {
        // No peer input reaches these: `ignore_sequence` dropped what lies
        // outside the window or is held already, and `contradiction`
        // refused another binding of a held number or one that breaks its
        // sender's order.
        assert!(
            global <= self.sequence_window_end(),
            "sequence {global} beyond the holdback window"
        );
        let sequenced_before = self.order.sequenced_up_to();
        assert_eq!(
            self.order.insert_sequence(global, origin),
            Insertion::Added,
            "sequence {global}"
        );
        self.output
            .to_persist
            .push(Record::Sequence { global, origin });
        let due_tick = self.now_tick + self.config.nack_delay_ticks;
        if global > sequenced_before.next() {
            let before = GlobalSeq(global.0 - 1);
            self.nacks.register_sequences(
                &self.order,
                self.order.sequenced_up_to(),
                before,
                due_tick,
            );
        }
        if !self.order.holds(&Missing::Request(origin)) {
            // The named Request and, by FIFO, every earlier one of its
            // sender. (The held mark may have jumped past it to a later
            // incarnation, so the Request itself is checked, not the mark.)
            let sender_held = self.order.sender_held_up_to(origin.sender);
            if origin.local_seq > sender_held {
                let range = (sender_held, origin.local_seq);
                self.nacks
                    .register_requests(&self.order, origin.sender, range, due_tick);
            }
            self.nacks.register(Missing::Request(origin), due_tick);
        }
    }

    /// Why a Sequence is dropped, if it is. A duplicate must name the same
    /// request: two requests under one number would break total order.
    /// `same_log`: sender and receiver work in one view's log; a Sequence
    /// of another view's log may bind the number otherwise.
    fn ignore_sequence(
        &self,
        global: GlobalSeq,
        origin: Origin,
        same_log: bool,
    ) -> Option<&'static str> {
        if !same_log {
            Some(OTHER_VIEW)
        } else if global <= self.order.base().global {
            Some("stale: delivered and forgotten")
        } else if self.order.sequence(global) == Some(origin) {
            Some("duplicate")
        } else if global > self.sequence_window_end() {
            Some("beyond the holdback window; it will be asked for again")
        } else {
            None
        }
    }

    /// A Retransmit request: send back every item held; say "compacted" once
    /// if some were forgotten; stay silent about the rest.
    fn on_retransmit(&mut self, from: MemberId, stamp: ViewStamp, missing: &[Missing]) {
        let mut forgotten = false;
        // Sequences are answered only within one view: another view's log
        // may bind a number otherwise. Requests are the same in every view.
        let same_log = stamp.view == self.current_view() && self.is_normal();
        for item in missing {
            if matches!(item, Missing::Sequence(_)) && !same_log {
                continue;
            }
            match retransmit::answer(&self.order, item) {
                Answer::Send(body) => self.send(Destination::Member(from), body),
                Answer::Forgotten => forgotten = true,
                Answer::Unknown => debug!(
                    "{} cannot answer {from} for {}",
                    self.config.id,
                    item.describe()
                ),
            }
        }
        if forgotten {
            let base = self.order.base().global;
            self.send(Destination::Member(from), Body::Compacted { base });
        }
    }

    /// Why a Compacted is dropped, if it is: this member delivered past
    /// what the peer forgot (an answer to an older question).
    fn ignore_compacted(&self, base: GlobalSeq) -> Option<&'static str> {
        (base <= self.order.delivered_up_to()).then_some("delivered already")
    }

    /// A peer forgot what this member asked for: if that lies beyond what
    /// this member delivered, only a state transfer can fill it.
    fn on_compacted(&mut self, from: MemberId, base: GlobalSeq) {
        debug!(
            "{} needs a snapshot: {from} compacted up to {base}",
            self.config.id
        );
        self.output.snapshot_needed = Some(SnapshotNeeded { from, base });
    }

    // ----- the two progress rules ----------------------------------------

    /// The sequencing rule: number `k` is assigned by its owner in the view once it
    /// holds every Sequence below `k` and every Request they name; it names
    /// the next unnumbered Request of some sender (per-sender FIFO). The
    /// assignment may leave before its record is durable (the early send);
    /// a restart never assigns in this view again (`incarnation.rs`).
    fn maybe_sequence(&mut self) {
        if !self.is_normal() {
            return;
        }
        if self.working_view_heard > self.view.number {
            // A later view works: this one can deliver nothing more, and
            // what this member holds (a state transfer from that view, and
            // the Sequences it kept above it) need not be this view's log.
            return;
        }
        let members = self.config.members;
        for _ in 0..=self.config.holdback_max {
            let global = self.order.sequenced_up_to().next();
            if self.view.owner(global) != Some(self.config.id)
                || self.order.held_up_to() != self.order.sequenced_up_to()
                || global > self.sequence_window_end()
            {
                return;
            }
            // Start the search at a sender that rotates with each turn, so no
            // sender's backlog starves the others.
            let start = MemberId(((global.0 / u64::from(members)) % u64::from(members)) as u16);
            let Some(origin) = self.order.next_unnumbered(start) else {
                return;
            };
            if !self.order.continues_fifo(global, origin) {
                // Only a Sequence held beyond this number that a peer sent
                // against the protocol (no correct member numbers past this
                // member's turn before it holds it) can break its sender's
                // order with this assignment: wait, and count it.
                warn!(
                    "{} cannot assign {global} = {origin}: a Sequence held after it contradicts it",
                    self.config.id
                );
                self.counters.contradictions += 1;
                return;
            }
            assert_eq!(
                self.order.insert_sequence(global, origin),
                Insertion::Added,
                "own sequence {global}"
            );
            debug!("{} assigns {global} = {origin}", self.config.id);
            self.output
                .to_persist
                .push(Record::Sequence { global, origin });
            let body = Body::Sequence {
                global,
                sender: origin.sender,
                local_seq: origin.local_seq,
            };
            self.send_own_sequence(body);
        }
    }

    /// The delivery rule: deliver `s` once everything below is delivered, it
    /// is held here, and a majority is known to hold everything up to `s`.
    fn maybe_deliver(&mut self) {
        if !self.is_normal() {
            return;
        }
        let held_up_to = self.order.held_up_to();
        let majority = self
            .peers
            .majority_held_up_to(held_up_to, self.config.majority());
        let target = held_up_to.min(majority);
        let window_end_before = self.sequence_window_end();
        self.deliver_up_to(target);
        // Sequences beyond the window may be held (a view's log is taken
        // whole), and no message will name their Requests again: ask for
        // those the window now reaches.
        self.register_named_requests_after(window_end_before);
        let unrecorded = (self.order.delivered_up_to().0).saturating_sub(self.delivered_recorded.0);
        if unrecorded >= DELIVERED_UNRECORDED_MAX {
            self.record_delivered();
        }
        self.maybe_end_catch_up();
        self.release_reads();
    }

    // ----- tick work ------------------------------------------------------

    /// Forgets delivered entries that every member holds, or that exceed the
    /// history bound, but never beyond what the application made durable.
    fn collect_garbage(&mut self) {
        let delivered = self.order.delivered_up_to();
        let all_held = self.peers.all_held_up_to(self.order.held_up_to());
        let history_floor = GlobalSeq(delivered.0.saturating_sub(self.config.history_max));
        let target = all_held
            .max(history_floor)
            .min(delivered)
            .min(self.applied_durably_up_to);
        if target > self.order.base().global {
            let point = self.order.collect_garbage(target);
            trace!("{} forgets up to {}", self.config.id, point.global);
            self.output.to_persist.push(Record::Base(point));
        }
    }

    /// Asks again for every missing item that is due, at most one Retransmit
    /// message per peer per tick (the rest waits for the next tick).
    fn send_due_retransmits(&mut self) {
        self.nacks.forget_held(&self.order);
        // Items are registered only inside the windows, which bounds the table.
        let members = u64::from(self.config.members);
        let bound = self.config.holdback_max + members * self.config.requests_window;
        assert!(
            self.nacks.len() as u64 <= bound,
            "{} missing items",
            self.nacks.len()
        );
        let mut batches: BTreeMap<MemberId, Vec<Missing>> = BTreeMap::new();
        for (item, sent) in self.nacks.due(self.now_tick) {
            let owner = match item {
                Missing::Sequence(global) if self.is_normal() => self.view.owner(global),
                // Asked for only within a view (see on_retransmit).
                Missing::Sequence(_) => continue,
                Missing::Request(_) => None,
            };
            let Some(target) = retransmit::target(&item, sent, owner, self.config.id, &self.peers)
            else {
                continue;
            };
            let batch = batches.entry(target).or_default();
            if batch.len() < self.config.retransmit_items_max {
                batch.push(item);
                let delay = retransmit::backoff_ticks(
                    sent + 1,
                    self.config.nack_delay_ticks,
                    self.config.nack_backoff_max_ticks,
                );
                self.nacks.sent(&item, self.now_tick, delay);
            }
        }
        for (target, missing) in batches {
            self.send(Destination::Member(target), Body::Retransmit { missing });
        }
    }

    /// Sends the watermark to all when its `held_up_to` moved since the last
    /// message to all (so others learn promptly what a majority holds) or
    /// when the member was quiet for the heartbeat interval (so trailing
    /// gaps show, the per-sender Requests held among them).
    fn maybe_heartbeat(&mut self) {
        if self.config.members == 1 {
            return;
        }
        let quiet_ticks = self.now_tick - self.advertised_tick;
        if quiet_ticks >= self.config.heartbeat_interval_ticks || self.holding_moved() {
            self.send(Destination::All, Body::Heartbeat);
        }
    }

    /// True if the Sequences held (`held_up_to`) differ from what the last
    /// message to all said.
    fn holding_moved(&self) -> bool {
        self.order.held_up_to() != self.advertised.held_up_to
    }

    // ----- helpers --------------------------------------------------------

    /// Queues a message with the current watermark.
    pub(super) fn send(&mut self, destination: Destination, body: Body) {
        let message = Message {
            stamp: self.stamp(),
            watermark: self.order.watermark(),
            body,
        };
        trace!(
            "{} -> {destination:?}: {}",
            self.config.id,
            message.describe()
        );
        if destination == Destination::All {
            self.advertised = message.watermark.clone();
            self.advertised_tick = self.now_tick;
        }
        self.output.messages.push((destination, message));
    }

    /// The view this member is in, is changing to, or (recovering) asks for.
    pub(super) fn current_view(&self) -> u64 {
        if let Some(asked) = self.recovery.as_ref().and_then(|r| r.asking_for) {
            return asked;
        }
        self.changing
            .as_ref()
            .map_or(self.view.number, |change| change.view)
    }

    /// True if the member works in its installed view (not changing views,
    /// not recovering).
    pub(super) fn is_normal(&self) -> bool {
        self.changing.is_none() && self.recovery.is_none()
    }

    /// The stamp of every message this member sends now.
    pub(super) fn stamp(&self) -> ViewStamp {
        ViewStamp {
            view: self.current_view(),
            log_view: self.view.number,
        }
    }

    /// The highest global number kept: the holdback window.
    pub(super) fn sequence_window_end(&self) -> GlobalSeq {
        GlobalSeq(self.order.delivered_up_to().0 + self.config.holdback_max)
    }

    /// The highest local number of `sender` in `incarnation` kept: the
    /// requests window past its delivered number, or from the start of a
    /// later incarnation (none in an earlier one: those are delivered).
    fn request_window_end(&self, sender: MemberId, incarnation: u64) -> LocalSeq {
        let delivered = self.order.sender_delivered_up_to(sender);
        let window = self.config.requests_window;
        match incarnation.cmp(&delivered.incarnation()) {
            std::cmp::Ordering::Equal => LocalSeq(delivered.0 + window),
            std::cmp::Ordering::Greater => LocalSeq(LocalSeq::first(incarnation).0 - 1 + window),
            std::cmp::Ordering::Less => delivered,
        }
    }

    /// True if `origin` lies in its sender's requests window.
    fn in_requests_window(&self, origin: Origin) -> bool {
        let incarnation = origin.local_seq.incarnation();
        origin.local_seq <= self.request_window_end(origin.sender, incarnation)
    }

    /// Registers the Requests named by held Sequences but not held (after a
    /// restore or a snapshot install, when no message announced them).
    pub(super) fn register_named_requests(&mut self) {
        self.register_named_requests_after(GlobalSeq(0));
    }

    /// The same, for the held Sequences above `after` only (the part of the
    /// window that a delivery just opened).
    fn register_named_requests_after(&mut self, after: GlobalSeq) {
        let due_tick = self.now_tick + self.config.nack_delay_ticks;
        let mut global = self.order.held_up_to().max(after).next();
        while global <= self.sequence_window_end() {
            if let Some(origin) = self.order.sequence(global) {
                if !self.order.holds(&Missing::Request(origin)) {
                    self.nacks.register(Missing::Request(origin), due_tick);
                }
            }
            global = global.next();
        }
    }
}
