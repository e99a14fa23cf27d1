//! What members say to each other: a [`Message`] is a [`Body`] plus the
//! sender's [`Watermark`], which every message carries so that the delivery
//! rule (majority holds) and gap detection work without extra traffic.
//! [`Message::describe`] gives the one line used by logs and tests; the wire
//! format is in `codec.rs`.

use std::fmt::Write as _;

use super::config::{MEMBERS_MAX, RETRANSMIT_ITEMS_MAX};
use super::errors::SequencerError;
use super::ids::{GlobalSeq, LocalSeq, MemberId, Origin};

/// What a member holds, durably: everything a receiver needs to count a
/// majority and to find trailing gaps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Watermark {
    /// The member holds every Sequence `1..=held_up_to` and every Request
    /// those Sequences name (or a snapshot that covers them).
    pub held_up_to: GlobalSeq,
    /// For each sender (indexed by member id), the member holds that sender's
    /// Requests `1..=requests_held_up_to[sender]`.
    pub requests_held_up_to: Vec<LocalSeq>,
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
}

/// A message between members: the body and the sender's watermark. The sender
/// itself is not in the message: the driver knows it from the socket address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
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
        }
    }
}

impl Message {
    /// One line that says everything about the message, e.g.
    /// `sequence #9 = 2/7 | held #8 requests [3 4 0 1 2]`.
    pub fn describe(&self) -> String {
        let mut line = match &self.body {
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
        };
        let _ = write!(line, " | held {} requests [", self.watermark.held_up_to);
        for (index, held) in self.watermark.requests_held_up_to.iter().enumerate() {
            let separator = if index == 0 { "" } else { " " };
            let _ = write!(line, "{separator}{}", held.0);
        }
        line.push(']');
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
            Body::Retransmit { missing } => {
                if missing.is_empty() || missing.len() > RETRANSMIT_ITEMS_MAX {
                    return invalid(format!("retransmit of {} items", missing.len()));
                }
                for item in missing {
                    match item {
                        Missing::Sequence(global) if global.0 == 0 => {
                            return invalid("retransmit of sequence number 0".to_string())
                        }
                        Missing::Sequence(_) => {}
                        Missing::Request(origin) => {
                            check_origin(members, origin.sender, origin.local_seq)?
                        }
                    }
                }
            }
            Body::Heartbeat | Body::Compacted { .. } => {}
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
