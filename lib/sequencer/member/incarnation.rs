//! A restart takes a new incarnation in a new view, which lets a member's own
//! Requests and Sequences leave before their fsync (docs/SEQUENCER.md,
//! sections 5.8 and 5.10).
//!
//! The rules in one place:
//! - A Request sent before its record is durable may outlive the record: a
//!   crash in between leaves peers holding a request its sender forgot. Its
//!   sender must therefore never give that name to another payload, so every
//!   restart numbers its requests in a new incarnation.
//! - A Sequence sent before its record is durable may outlive it too: a crash
//!   in between leaves peers holding an assignment its sequencer forgot. The
//!   sequencer must therefore never assign that number again in that view.
//! - Both at once: every incarnation is the number of a view the member
//!   installed (0 for the group's start view, as before), and a restarted
//!   member starts a view change (unless one is under way) and takes the
//!   number of the next view it installs. Until then it takes no requests
//!   and assigns nothing, and it never works in its old view again. Its
//!   incarnation is persisted before any request of it leaves.
//! - An early message carries the watermark of the last output the driver
//!   took, with that output's stamp: the driver makes an output durable before
//!   it sends a later output's early messages, so the message claims nothing
//!   that is not durable yet. If the stamp changed since (a view was entered
//!   or installed in this batch), the message leaves after the fsync as any
//!   other.

use log::{info, trace};

use super::Member;
use crate::sequencer::ids::INCARNATION_MAX;
use crate::sequencer::message::{Body, Message, Watermark};
use crate::sequencer::output::Destination;
use crate::sequencer::persist::Record;
use crate::sequencer::view::ViewStamp;

/// What the driver has made durable by the time a later output's early
/// messages leave: everything handed out with the last output.
#[derive(Clone, Debug)]
pub(crate) struct HandedOut {
    /// The watermark when the last output was taken.
    watermark: Watermark,
    /// The stamp when the last output was taken: the watermark's
    /// `held_up_to` means that view's log.
    stamp: ViewStamp,
    /// False while the record of this member's current incarnation has not
    /// been handed out: a request of it must not leave before that record is
    /// durable.
    incarnation_recorded: bool,
}

impl HandedOut {
    /// A placeholder until [`Member::note_handed_out`] records the restored
    /// member's stamp.
    pub(crate) fn restored(watermark: Watermark) -> HandedOut {
        HandedOut {
            watermark,
            stamp: ViewStamp::default(),
            incarnation_recorded: true,
        }
    }
}

impl Member {
    /// Notes that the output just taken will be durable before the next
    /// output's early messages leave.
    pub(super) fn note_handed_out(&mut self) {
        self.handed_out = HandedOut {
            watermark: self.order.watermark(),
            stamp: self.stamp(),
            incarnation_recorded: true,
        };
    }

    /// Sends this member's own Request to all: before the fsync when the rules
    /// above allow it, else with the output's other messages.
    pub(super) fn send_own_request(&mut self, body: Body) {
        if !self.may_send_early() {
            self.send(Destination::All, body);
            return;
        }
        // Peers learn that this member holds its own request at its next
        // message: the request's own claim is not worth a heartbeat, while
        // anything else that moved still is (`announce_watermark`).
        let me = self.config.id.index();
        let own = self.order.watermark().requests_held_up_to[me];
        self.advertised.requests_held_up_to[me] = own;
        self.send_early(body);
    }

    /// Sends this member's own assignment (a Sequence) to all: before the
    /// fsync when the rules above allow it, else with the output's other
    /// messages. Its own claim to hold the number goes out after the fsync,
    /// with the batch's heartbeat (`announce_watermark`): the sequencer is
    /// the first member that can make that claim, so it is worth one.
    pub(super) fn send_own_sequence(&mut self, body: Body) {
        if !self.may_send_early() {
            self.send(Destination::All, body);
            return;
        }
        self.send_early(body);
    }

    /// True if a message of this member's own may leave before this
    /// output's fsync: the early send is on, the incarnation's record was
    /// handed out, and the stamp is the one of the last output handed out.
    fn may_send_early(&self) -> bool {
        self.config.early_send
            && self.handed_out.incarnation_recorded
            && self.handed_out.stamp == self.stamp()
    }

    /// Queues `body` to all among the early messages, with the watermark
    /// and stamp of the last output handed out.
    fn send_early(&mut self, body: Body) {
        let message = Message {
            stamp: self.handed_out.stamp,
            watermark: self.handed_out.watermark.clone(),
            body,
        };
        trace!("{} -> All (early): {}", self.config.id, message.describe());
        self.output.early_messages.push((Destination::All, message));
    }

    /// At a restart from a disk: takes a new incarnation from the next view
    /// installed, starting a view change for it if none is under way. A
    /// restart never works again in the view it was in: its Sequences, too,
    /// may have left before their fsync, and a life that forgot one must not
    /// assign that number again in that view.
    pub(super) fn renew_incarnation(&mut self) {
        info!(
            "{} restarted in incarnation {} of view {}: it takes requests again from its \
             next view",
            self.config.id, self.incarnation, self.view.number
        );
        self.needs_incarnation = true;
        if self.changing.is_none() {
            self.start_view_change(self.current_view() + 1);
        }
    }

    /// A view was installed: a restarted member waiting for a new incarnation
    /// takes its number.
    pub(super) fn take_incarnation_of_view(&mut self, view: u64) {
        if self.needs_incarnation && view > self.incarnation && view <= INCARNATION_MAX {
            self.take_incarnation(view);
        }
    }

    /// Numbers this member's requests in `incarnation` from now on, once its
    /// record is durable (a restart, the end of a recovery, a new group).
    pub(super) fn take_incarnation(&mut self, incarnation: u64) {
        info!(
            "{} numbers its requests in incarnation {incarnation} from now on",
            self.config.id
        );
        self.incarnation = incarnation;
        self.needs_incarnation = false;
        self.handed_out.incarnation_recorded = false;
        let new_group_with = self.new_group_with();
        self.output.to_persist.push(Record::Incarnation {
            incarnation,
            new_group_with,
        });
    }
}
