//! What members say to each other: a [`Message`] is a [`Body`] plus the
//! sender's [`Watermark`], which every message carries so that the delivery
//! rule (majority holds) and gap detection work without extra traffic.
//! [`Message::describe`] gives the one line used by logs and tests; the wire
//! format is in `codec.rs`.

use std::fmt::Write as _;

use super::config::{MEMBERS_MAX, RETRANSMIT_ITEMS_MAX};
use super::errors::SequencerError;
use super::ids::{GlobalSeq, LocalSeq, MemberId, Origin};
use super::view::ViewStamp;

/// Most Sequence bindings one view-change message (`DoViewChange`,
/// `NewView`) carries: 10 bytes each, so they fit in one datagram with room
/// to spare. A member's undelivered Sequences are bounded by the holdback
/// window (`Config::holdback_max`, asserted below this in `Config::validate`).
pub const VIEW_BINDINGS_MAX: usize = 4_096;

/// What a member holds, durably: everything a receiver needs to count a
/// majority and to find trailing gaps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Watermark {
    /// The member holds every Sequence `1..=held_up_to` and every Request
    /// those Sequences name (or a snapshot that covers them).
    pub held_up_to: GlobalSeq,
    /// For each sender (indexed by member id), the member holds that sender's
    /// Requests `1..=requests_held_up_to[sender]`, along the sender's stream
    /// (an incarnation's numbers in a row, and from any of them the first
    /// of a later incarnation), except where `earlier_runs` says otherwise.
    pub requests_held_up_to: Vec<LocalSeq>,
    /// Exact claims where a sender's stream jumped: for a sender whose
    /// requests this member holds in more than one incarnation above its
    /// delivered point, the end of the run it holds in each earlier one
    /// (the delivered incarnation's run listed even when empty), ascending
    /// by sender and number, at most [`earlier_runs_per_sender_max`]. An
    /// incarnation between the first listed and the claim's own without a
    /// run is not held; see [`Watermark::claims`]. Usually empty.
    pub earlier_runs: Vec<Origin>,
}

/// Most earlier runs one watermark names, over all senders: a group of `n`
/// names at most `EARLIER_RUNS_MAX / n` per sender
/// ([`earlier_runs_per_sender_max`]; 12 in a group of five). A member
/// holding more names the highest ones, and so claims the lower
/// incarnations whole: more than it holds, which can cost a stall if the
/// only holder of such a request is gone for good, never safety (a claim
/// keeps a binding in a view change's log; it never lets a number be
/// delivered). So many, and no more, that a Request of the largest
/// payload still fits a datagram in a group of `MEMBERS_MAX` (asserted by
/// the driver).
pub const EARLIER_RUNS_MAX: usize = MEMBERS_MAX as usize;

/// Most earlier runs a watermark names for one sender in a group of
/// `members`.
pub fn earlier_runs_per_sender_max(members: u16) -> usize {
    (EARLIER_RUNS_MAX / usize::from(members.max(1))).max(1)
}

/// One item a Retransmit message asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Missing {
    /// The Sequence message for this global number.
    Sequence(GlobalSeq),
    /// The Request with this origin.
    Request(Origin),
}

/// The body of a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    /// A client request broadcast by `sender` as its `local_seq`-th request.
    /// Also the answer to a Retransmit asking for it.
    Request {
        /// The member that took the client request.
        sender: MemberId,
        /// Its number in the sender's stream, from 1.
        local_seq: LocalSeq,
        /// Opaque to the sequencer (the customer DB's command).
        payload: Vec<u8>,
    },
    /// Global number `global` names the Request `sender/local_seq`. Sent by
    /// member `global mod n`; also the answer to a Retransmit asking for it.
    Sequence {
        /// The number assigned.
        global: GlobalSeq,
        /// The sender of the Request numbered.
        sender: MemberId,
        /// The local number of the Request numbered.
        local_seq: LocalSeq,
    },
    /// A negative acknowledgement: please send me these again.
    Retransmit {
        /// What the sender lacks; at most `retransmit_items_max`.
        missing: Vec<Missing>,
    },
    /// Nothing but the watermark: keeps watermarks moving when idle.
    Heartbeat,
    /// The answer to a Retransmit for items this member has dropped from its
    /// history: they are all at or below `base`. The asker needs a state
    /// transfer (a snapshot at or beyond `base`) from someone.
    Compacted {
        /// The highest global number the answering member has forgotten.
        base: GlobalSeq,
    },
    /// The sender stopped working in its old view and asks everyone to
    /// change to the view in the stamp (it suspects a member, or a member
    /// is ready to rejoin the turns).
    StartViewChange,
    /// To the new view's coordinator: the sender's log, for the view in the
    /// stamp; `stamp.log_view` is the view the log belongs to. It holds every
    /// Sequence up to `delivered` (final) and `bindings` right after it.
    DoViewChange {
        /// The sender's delivered number.
        delivered: GlobalSeq,
        /// The Sequences `delivered + 1, delivered + 2, ...` it holds
        /// contiguously, as the requests they name.
        bindings: Vec<Origin>,
    },
    /// The view in the stamp starts: its turn list and start, and its log's
    /// Sequences `after + 1 ..= start - 1`. Sent by the coordinator to all,
    /// and by any member working in the view to one that lags behind it.
    NewView {
        /// The turn list.
        members: Vec<MemberId>,
        /// The first number assigned in the view.
        start: GlobalSeq,
        /// The bindings follow this number.
        after: GlobalSeq,
        /// The Sequences `after + 1, ...` of the view's log.
        bindings: Vec<Origin>,
    },
    /// The sender saw a view it has not installed: please send `NewView`
    /// with the view's log from its delivered number on.
    GetView {
        /// The asker's delivered number.
        delivered: GlobalSeq,
    },
    /// From a member that started with an empty disk: which view is the
    /// group in, and does anybody hold anything? Every member answers with
    /// `RecoverAnswer` and the same nonce (drawn at random for each start,
    /// so answers meant for an earlier attempt are told apart).
    Recover {
        /// The asker's nonce.
        nonce: u64,
    },
    /// The answer to `Recover`; the stamp carries the answerer's view.
    RecoverAnswer {
        /// The asker's nonce, echoed.
        nonce: u64,
        /// Where the answerer stands.
        standing: Standing,
    },
    /// A read barrier's question (`read_barrier.rs`): what is the highest
    /// global number you know to be bound? Answered with `ReadAnswer`.
    ReadQuery {
        /// The asker's round, echoed in the answer.
        round: u64,
    },
    /// The answer to `ReadQuery`: every number delivered anywhere that this
    /// member held is at or below `known_up_to`.
    ReadAnswer {
        /// The round asked about.
        round: u64,
        /// The answerer's highest contiguous Sequence known.
        known_up_to: GlobalSeq,
    },
}

/// What a member says of itself in answer to `Recover`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Standing {
    /// It started with an empty disk too and is still asking, under its
    /// own nonce; it holds nothing.
    Blank {
        /// The answerer's own query nonce.
        nonce: u64,
    },
    /// It started a new group while the asker was blank under the very
    /// nonce it asks with now: everything it holds, and every view it knows,
    /// came after the asker's disk was empty.
    NewWithYou,
    /// A member with a past: the stamp's view is durable at it.
    Member,
    /// It is recovering from an empty disk itself and has decided to wait
    /// for a new view: its view is no durable fact.
    Recovering,
}

/// A message between members: the body and the sender's watermark. The sender
/// itself is not in the message: the driver knows it from the socket address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// The sender's view, and the view of the log it holds.
    pub stamp: ViewStamp,
    /// The sending member's watermark when the message was made.
    pub watermark: Watermark,
    /// What the message says.
    pub body: Body,
}

impl Watermark {
    /// A watermark holding nothing, for a group of `members`.
    pub fn empty(members: u16) -> Watermark {
        Watermark {
            held_up_to: GlobalSeq(0),
            requests_held_up_to: vec![LocalSeq(0); usize::from(members)],
            earlier_runs: Vec::new(),
        }
    }

    /// True if the watermark claims `origin`: held, or delivered and
    /// forgotten. Exact where the sender's stream jumped over requests this
    /// member lacks: a view change cuts its log at a binding no voter
    /// claims, so a claim to hold what nobody holds would keep a binding
    /// nobody can fill (docs/SEQUENCER.md, 5.8).
    pub fn claims(&self, origin: Origin) -> bool {
        let up_to = self.requests_held_up_to[origin.sender.index()];
        let incarnation = origin.local_seq.incarnation();
        if origin.local_seq > up_to {
            return false;
        }
        if incarnation == up_to.incarnation() {
            return true;
        }
        let mut runs = self
            .earlier_runs
            .iter()
            .filter(|run| run.sender == origin.sender)
            .peekable();
        match runs.peek() {
            // Every earlier incarnation lies below the delivered point.
            None => true,
            Some(lowest) if incarnation < lowest.local_seq.incarnation() => true,
            Some(_) => runs.any(|run| {
                run.local_seq.incarnation() == incarnation && origin.local_seq <= run.local_seq
            }),
        }
    }

    /// Merges the per-sender claims of a later watermark of the same member
    /// into this one: the higher claim wins, with its earlier runs.
    pub(super) fn merge_requests(&mut self, heard: &Watermark) {
        for sender in 0..self.requests_held_up_to.len() {
            if heard.requests_held_up_to[sender] < self.requests_held_up_to[sender] {
                continue;
            }
            self.requests_held_up_to[sender] = heard.requests_held_up_to[sender];
            let of_sender = |run: &&Origin| run.sender.index() == sender;
            self.earlier_runs.retain(|run| run.sender.index() != sender);
            self.earlier_runs
                .extend(heard.earlier_runs.iter().filter(of_sender));
        }
        self.earlier_runs.sort_unstable();
    }
}

impl Body {
    /// What the body says, the first part of [`Message::describe`].
    fn describe(&self) -> String {
        match self {
            Body::Request {
                sender,
                local_seq,
                payload,
            } => {
                format!(
                    "request {} ({} bytes)",
                    Origin {
                        sender: *sender,
                        local_seq: *local_seq
                    },
                    payload.len()
                )
            }
            Body::Sequence {
                global,
                sender,
                local_seq,
            } => {
                format!(
                    "sequence {global} = {}",
                    Origin {
                        sender: *sender,
                        local_seq: *local_seq
                    }
                )
            }
            Body::Retransmit { missing } => {
                let items: Vec<String> = missing.iter().map(Missing::describe).collect();
                format!("retransmit [{}]", items.join(" "))
            }
            Body::Heartbeat => "heartbeat".to_string(),
            Body::Compacted { base } => format!("compacted up to {base}"),
            Body::StartViewChange => "start view change".to_string(),
            Body::DoViewChange {
                delivered,
                bindings,
            } => format!(
                "do view change: delivered {delivered}, then {}",
                describe_bindings(bindings)
            ),
            Body::NewView {
                members,
                start,
                after,
                bindings,
            } => {
                let listed: Vec<String> = members.iter().map(|m| m.0.to_string()).collect();
                format!(
                    "new view [{}] from {start}: after {after}, {}",
                    listed.join(" "),
                    describe_bindings(bindings)
                )
            }
            Body::GetView { delivered } => format!("get view after {delivered}"),
            Body::Recover { nonce } => format!("recover (nonce {nonce:x})"),
            Body::RecoverAnswer { nonce, standing } => {
                format!("recover answer (nonce {nonce:x}): {standing:?}")
            }
            Body::ReadQuery { round } => format!("read query {round}"),
            Body::ReadAnswer { round, known_up_to } => {
                format!("read answer {round}: known up to {known_up_to}")
            }
        }
    }
}

impl Message {
    /// One line that says everything about the message, e.g.
    /// `sequence #9 = 2/7 | held #8 requests [3 4 0 1 2]`.
    pub fn describe(&self) -> String {
        let mut line = self.body.describe();
        let _ = write!(line, " | v{}", self.stamp.view);
        if !self.stamp.is_normal() {
            let _ = write!(line, " (log v{})", self.stamp.log_view);
        }
        let _ = write!(line, " | held {} requests [", self.watermark.held_up_to);
        for (index, held) in self.watermark.requests_held_up_to.iter().enumerate() {
            let separator = if index == 0 { "" } else { " " };
            let _ = write!(line, "{separator}{}", held.0);
        }
        line.push(']');
        if !self.watermark.earlier_runs.is_empty() {
            line.push_str(" earlier [");
            for (index, run) in self.watermark.earlier_runs.iter().enumerate() {
                let separator = if index == 0 { "" } else { " " };
                let _ = write!(line, "{separator}{run}");
            }
            line.push(']');
        }
        line
    }

    /// Checks the message against the group: member ids below `members`,
    /// numbers from 1, a watermark with one entry per member, a payload and a
    /// missing list within their bounds. The codec checks only hard limits.
    pub fn validate(&self, members: u16, payload_bytes_max: usize) -> Result<(), SequencerError> {
        let invalid = |why: String| Err(SequencerError::InvalidMessage(why));
        debug_assert!(members <= MEMBERS_MAX);
        if self.watermark.requests_held_up_to.len() != usize::from(members) {
            return invalid(format!(
                "watermark has {} senders, the group has {members}",
                self.watermark.requests_held_up_to.len()
            ));
        }
        check_earlier_runs(members, &self.watermark)?;
        match &self.body {
            Body::Request {
                sender,
                local_seq,
                payload,
            } => {
                check_origin(members, *sender, *local_seq)?;
                if payload.len() > payload_bytes_max {
                    return invalid(format!("payload of {} bytes", payload.len()));
                }
            }
            Body::Sequence {
                global,
                sender,
                local_seq,
            } => {
                check_origin(members, *sender, *local_seq)?;
                if global.0 == 0 {
                    return invalid("sequence number 0".to_string());
                }
            }
            Body::Retransmit { missing } => check_missing(members, missing)?,
            Body::DoViewChange { bindings, .. } => check_bindings(members, bindings)?,
            Body::NewView {
                members: listed,
                start,
                after,
                bindings,
            } => check_new_view(members, listed, *start, *after, bindings)?,
            Body::Heartbeat
            | Body::Compacted { .. }
            | Body::StartViewChange
            | Body::GetView { .. }
            | Body::Recover { .. }
            | Body::RecoverAnswer { .. }
            | Body::ReadQuery { .. }
            | Body::ReadAnswer { .. } => {}
        }
        if self.stamp.log_view > self.stamp.view {
            return invalid("log view above view".to_string());
        }
        Ok(())
    }
}

impl Missing {
    /// `#k` for a Sequence, `sender/local_seq` for a Request.
    pub fn describe(&self) -> String {
        match self {
            Missing::Sequence(global) => global.to_string(),
            Missing::Request(origin) => origin.to_string(),
        }
    }
}

/// `[2/7 0/3 ...]`, at most the first eight.
fn describe_bindings(bindings: &[Origin]) -> String {
    let shown: Vec<String> = bindings.iter().take(8).map(Origin::to_string).collect();
    let more = if bindings.len() > 8 { " ..." } else { "" };
    format!("[{}{more}]", shown.join(" "))
}

/// A Retransmit's list: 1..=`RETRANSMIT_ITEMS_MAX` items, sequence
/// numbers from 1, senders in the group.
fn check_missing(members: u16, missing: &[Missing]) -> Result<(), SequencerError> {
    let invalid = |why: String| Err(SequencerError::InvalidMessage(why));
    if missing.is_empty() || missing.len() > RETRANSMIT_ITEMS_MAX {
        return invalid(format!("retransmit of {} items", missing.len()));
    }
    for item in missing {
        match item {
            Missing::Sequence(global) if global.0 == 0 => {
                return invalid("retransmit of sequence number 0".to_string())
            }
            Missing::Sequence(_) => {}
            Missing::Request(origin) => check_origin(members, origin.sender, origin.local_seq)?,
        }
    }
    Ok(())
}

/// A NewView: its bindings, a turn list of group members in ascending
/// order, and bindings that end just before the view's first number.
fn check_new_view(
    members: u16,
    listed: &[MemberId],
    start: GlobalSeq,
    after: GlobalSeq,
    bindings: &[Origin],
) -> Result<(), SequencerError> {
    let invalid = |why: String| Err(SequencerError::InvalidMessage(why));
    check_bindings(members, bindings)?;
    let ascending = listed.windows(2).all(|pair| pair[0] < pair[1]);
    if listed.is_empty() || !ascending || listed.iter().any(|m| m.0 >= members) {
        return invalid(format!("new view lists {} members badly", listed.len()));
    }
    if after.0 + bindings.len() as u64 + 1 != start.0 {
        return invalid(format!(
            "new view from {start} with bindings {}..{}",
            after.0 + 1,
            after.0 + bindings.len() as u64
        ));
    }
    Ok(())
}

fn check_bindings(members: u16, bindings: &[Origin]) -> Result<(), SequencerError> {
    if bindings.len() > VIEW_BINDINGS_MAX {
        return Err(SequencerError::InvalidMessage(format!(
            "{} bindings",
            bindings.len()
        )));
    }
    for origin in bindings {
        check_origin(members, origin.sender, origin.local_seq)?;
    }
    Ok(())
}

/// Earlier runs: of senders in the group, ascending, each below its
/// sender's claim's incarnation, at most `earlier_runs_per_sender_max` per
/// sender. (A
/// run may end at number 0: none of incarnation 0 is held.)
fn check_earlier_runs(members: u16, watermark: &Watermark) -> Result<(), SequencerError> {
    let invalid = |why: String| Err(SequencerError::InvalidMessage(why));
    let mut per_sender = vec![0_usize; usize::from(members)];
    for (index, run) in watermark.earlier_runs.iter().enumerate() {
        if run.sender.0 >= members {
            return invalid(format!("earlier run of {} outside the group", run.sender));
        }
        let claim = watermark.requests_held_up_to[run.sender.index()];
        if run.local_seq.incarnation() >= claim.incarnation() {
            return invalid(format!("earlier run {run} not below the claim {claim}"));
        }
        if index > 0 && watermark.earlier_runs[index - 1].sender == run.sender {
            let before = watermark.earlier_runs[index - 1].local_seq;
            if before.incarnation() >= run.local_seq.incarnation() {
                return invalid(format!("earlier runs out of order at {run}"));
            }
        } else if index > 0 && watermark.earlier_runs[index - 1] > *run {
            return invalid(format!("earlier runs out of order at {run}"));
        }
        per_sender[run.sender.index()] += 1;
        if per_sender[run.sender.index()] > EARLIER_RUNS_MAX {
            return invalid(format!(
                "more than {EARLIER_RUNS_MAX} earlier runs of {}",
                run.sender
            ));
        }
    }
    Ok(())
}

fn check_origin(members: u16, sender: MemberId, local_seq: LocalSeq) -> Result<(), SequencerError> {
    if sender.0 >= members {
        return Err(SequencerError::InvalidMessage(format!(
            "sender {sender} outside a group of {members}"
        )));
    }
    if local_seq.0 == 0 {
        return Err(SequencerError::InvalidMessage("local_seq 0".to_string()));
    }
    Ok(())
}
