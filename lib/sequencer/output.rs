//! [`Output`]: the work a member hands its driver after each input, in the
//! order the driver must do it: persist, then send, then apply.

use super::ids::{GlobalSeq, LocalSeq, MemberId};
use super::message::Message;
use super::persist::Record;
use super::read_barrier::ReadId;

/// Where a message goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Destination {
    /// Every member but the sender.
    All,
    /// One member.
    Member(MemberId),
}

/// One request delivered in the total order: apply it to the state machine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    /// Its place in the total order; deliveries come without gaps.
    pub global: GlobalSeq,
    /// The member that broadcast it.
    pub sender: MemberId,
    /// Its place in the sender's stream; per sender these come 1, 2, 3, ...
    pub local_seq: LocalSeq,
    /// What the sender broadcast.
    pub payload: Vec<u8>,
}

/// A peer answered a Retransmit with "compacted": what this member lacks is
/// only in snapshots now. The driver fetches the application snapshot and its
/// [`SnapshotPoint`](super::SnapshotPoint) from `from` (or any member whose
/// delivered number is at least `base`) and calls
/// [`Member::install_snapshot`](super::Member::install_snapshot).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SnapshotNeeded {
    /// The member that answered.
    pub from: MemberId,
    /// The snapshot must reach at least this number.
    pub base: GlobalSeq,
}

/// Everything one or more inputs produced. Handle it in this order:
///
/// 0. Send `early_messages`: they may leave before this output's records are
///    durable, but only after every earlier output's are (their watermarks
///    claim no more than that; docs/SEQUENCER.md, sections 5.8 and 5.10).
/// 1. Append `to_persist` to the log; if [`Output::needs_sync`], make every
///    record appended so far durable (fsync).
/// 2. Send `messages` (only now: they claim what step 1 made durable).
/// 3. Apply `deliveries` to the state machine, in order; then answer the
///    `reads_ready` from the state (it has every delivery they wait for).
/// 4. Order the `reads_abandoned` instead (broadcast them as requests).
/// 5. If `snapshot_needed`, start a state transfer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Output {
    /// This member's own Requests and Sequences, which may leave before
    /// `to_persist` is durable: after a crash before it is, the restart
    /// numbers its requests in a new incarnation, in a new view, and never
    /// assigns in the old view again.
    pub early_messages: Vec<(Destination, Message)>,
    /// Records to append to the log. They must be durable before any message
    /// or delivery of this output or a later one: an output that has neither
    /// may leave them unsynced (docs/SEQUENCER.md, section 3.1).
    pub to_persist: Vec<Record>,
    /// Messages to send after `to_persist` is durable.
    pub messages: Vec<(Destination, Message)>,
    /// Requests delivered in the total order, in order.
    pub deliveries: Vec<Delivery>,
    /// Reads ([`Member::read`](super::Member::read)) that may now be
    /// answered from the state, once `deliveries` are applied.
    pub reads_ready: Vec<ReadId>,
    /// Reads that waited too long for their barrier, or that were pending
    /// when this member stopped working in its view: not answered here.
    pub reads_abandoned: Vec<ReadId>,
    /// Set when this member fell behind what its peers still keep.
    pub snapshot_needed: Option<SnapshotNeeded>,
}

impl Output {
    /// True if the driver must make every record appended so far durable
    /// before this output's messages and deliveries: each message claims, in
    /// its watermark, what its sender holds, and a delivery counts the
    /// member's own holding toward a majority. A `Base` record follows an
    /// application image already durable (a snapshot, or a state transfer
    /// whose order may differ from the log's Sequences above the old base):
    /// the log must not lag it, or a restart would find the two at odds. Any
    /// other output that sends and delivers nothing claims nothing, so its
    /// records may wait for the next output that does; a crash before then
    /// loses only what no one was told, as if the input that made them had
    /// been lost.
    pub fn needs_sync(&self) -> bool {
        !self.messages.is_empty()
            || !self.deliveries.is_empty()
            || self
                .to_persist
                .iter()
                .any(|record| matches!(record, Record::Base(_)))
    }

    /// True if there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.to_persist.is_empty()
            && self.early_messages.is_empty()
            && self.messages.is_empty()
            && self.deliveries.is_empty()
            && self.reads_ready.is_empty()
            && self.reads_abandoned.is_empty()
            && self.snapshot_needed.is_none()
    }
}
