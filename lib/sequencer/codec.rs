//! The wire format of [`Message`] (one per UDP datagram) and of [`Record`]
//! (one per log entry): hand-written little-endian, every read bounds-checked,
//! every count checked against its hard limit before anything is allocated,
//! and a CRC-32 trailer. Decoding garbage returns an error; it never panics.
//!
//! ```text
//! message = magic "SQ" | version u8 = 5 | kind u8 | stamp | watermark | body | crc32 u32
//! stamp = view u64 | log_view u64
//! watermark = held_up_to u64 | senders u16 (<= MEMBERS_MAX) | senders x u64
//!             | runs u16 (<= EARLIER_RUNS_MAX) | runs x (sender u16 | local_seq u64)
//! kind 1 Request    = sender u16 | local_seq u64 | length u32 (<= PAYLOAD_BYTES_MAX) | bytes
//! kind 2 Sequence   = global u64 | sender u16 | local_seq u64
//! kind 3 Retransmit = items u16 (<= RETRANSMIT_ITEMS_MAX) | items x missing
//!        missing    = 1 u8 | global u64   or   2 u8 | sender u16 | local_seq u64
//! kind 4 Heartbeat  = (nothing)
//! kind 5 Compacted  = base u64
//! kind 6 StartViewChange = (nothing)
//! kind 7 DoViewChange    = delivered u64 | bindings
//! kind 8 NewView         = members | start u64 | after u64 | bindings
//! kind 9 GetView         = delivered u64
//! kind 10 Recover        = nonce u64
//! kind 11 RecoverAnswer  = nonce u64 | standing u8 | own nonce u64
//! kind 12 ReadQuery      = round u64
//! kind 13 ReadAnswer     = round u64 | known_up_to u64
//!        standing   = 1 Blank | 2 NewWithYou | 3 Member | 4 Recovering
//!                     (own nonce: Blank's, else 0)
//!        bindings   = count u16 (<= VIEW_BINDINGS_MAX) | count x (sender u16 | local_seq u64)
//!        members    = count u16 (<= MEMBERS_MAX) | count x id u16
//! record = magic "SR" | version u8 = 1 | kind u8 | body | crc32 u32
//! kind 1 Request  = sender u16 | local_seq u64 | length u32 | bytes
//! kind 2 Sequence = global u64 | sender u16 | local_seq u64
//! kind 3 Base     = global u64 | senders u16 | senders x u64
//! kind 4 ViewChange = view u64
//! kind 5 NewView    = view u64 | members | start u64 | truncate_after u64
//! kind 6 Recovering  = nonce u64
//! kind 7 Incarnation = incarnation u64 | count u16 (<= MEMBERS_MAX) | count x nonce u64
//! ```
//! (Magic and version: `wire::formats::SEQUENCER_MESSAGE` and
//! `SEQUENCER_RECORD`; fields read and written with `crate::wire`.)
//! Messages are at version 5 (version 1 had no stamp and no view change,
//! version 2 no recovery and no StartViewChange round, version 3 no read
//! barrier, version 4 no earlier runs): every member of a
//! group must run the same version. Records stay at version 1 (kinds 4 to 7
//! are new), so a log written before views and incarnations replays.
//! The CRC covers every byte before it. Group-level checks (ids below `n`)
//! are [`Message::validate`]'s job, not the codec's.

use super::config::{MEMBERS_MAX, PAYLOAD_BYTES_MAX, RETRANSMIT_ITEMS_MAX};
use super::errors::DecodeError;
use super::ids::{GlobalSeq, LocalSeq, MemberId, Origin};
use super::message::{
    Body, Message, Missing, Standing, Watermark, EARLIER_RUNS_MAX, VIEW_BINDINGS_MAX,
};
use super::persist::{Record, SnapshotPoint};
use super::view::{View, ViewStamp};
use crate::wire::formats::{SEQUENCER_MESSAGE, SEQUENCER_RECORD};
use crate::wire::{Reader, Writer};

/// The largest message the codec writes: its header, the largest
/// watermark, and the largest body (a Request of the largest payload, or a
/// NewView of the most bindings), and the CRC. The driver asserts that it
/// fits one datagram.
pub const MESSAGE_BYTES_MAX: usize = {
    let members = MEMBERS_MAX as usize;
    let header = 2 + 1 + 1 + 16;
    let watermark = 8 + 2 + 8 * members + 2 + 10 * EARLIER_RUNS_MAX;
    let request = 2 + 8 + 4 + PAYLOAD_BYTES_MAX;
    let new_view = 2 + 2 * members + 8 + 8 + 2 + 10 * VIEW_BINDINGS_MAX;
    let body = if request > new_view {
        request
    } else {
        new_view
    };
    header + watermark + body + 4
};

/// Room to reserve for an encoding besides its payload.
const FIELDS_BYTES: usize = 64;

impl Message {
    /// Encodes the message as one datagram.
    pub fn encode(&self) -> Vec<u8> {
        let mut writer = Writer::with_header(SEQUENCER_MESSAGE, FIELDS_BYTES);
        let kind = match &self.body {
            Body::Request { .. } => 1,
            Body::Sequence { .. } => 2,
            Body::Retransmit { .. } => 3,
            Body::Heartbeat => 4,
            Body::Compacted { .. } => 5,
            Body::StartViewChange => 6,
            Body::DoViewChange { .. } => 7,
            Body::NewView { .. } => 8,
            Body::GetView { .. } => 9,
            Body::Recover { .. } => 10,
            Body::RecoverAnswer { .. } => 11,
            Body::ReadQuery { .. } => 12,
            Body::ReadAnswer { .. } => 13,
        };
        writer.u8(kind);
        writer.u64(self.stamp.view);
        writer.u64(self.stamp.log_view);
        writer.u64(self.watermark.held_up_to.0);
        write_local_seqs(&mut writer, &self.watermark.requests_held_up_to);
        write_earlier_runs(&mut writer, &self.watermark.earlier_runs);
        write_body(&mut writer, &self.body);
        writer.finish_with_crc32()
    }

    /// Decodes one datagram; any malformed input is an error, never a panic.
    pub fn decode(bytes: &[u8]) -> Result<Message, DecodeError> {
        let mut reader = Reader::open_checksummed(bytes, SEQUENCER_MESSAGE)?;
        let kind = reader.u8()?;
        let stamp = ViewStamp {
            view: reader.u64()?,
            log_view: reader.u64()?,
        };
        let held_up_to = GlobalSeq(reader.u64()?);
        let requests_held_up_to = read_local_seqs(&mut reader)?;
        let earlier_runs = read_earlier_runs(&mut reader)?;
        let body = read_body(&mut reader, kind)?;
        reader.finish()?;
        Ok(Message {
            stamp,
            watermark: Watermark {
                held_up_to,
                requests_held_up_to,
                earlier_runs,
            },
            body,
        })
    }
}

/// A message's body, after its header (codec layout above).
fn write_body(writer: &mut Writer, body: &Body) {
    match body {
        Body::Request {
            sender,
            local_seq,
            payload,
        } => write_request(writer, *sender, *local_seq, payload),
        Body::Sequence {
            global,
            sender,
            local_seq,
        } => write_sequence(writer, *global, *sender, *local_seq),
        Body::Retransmit { missing } => {
            assert!(
                missing.len() <= RETRANSMIT_ITEMS_MAX,
                "retransmit of {} items",
                missing.len()
            );
            writer.u16(missing.len() as u16);
            missing.iter().for_each(|item| write_missing(writer, item));
        }
        Body::Heartbeat | Body::StartViewChange => {}
        Body::GetView { delivered } => writer.u64(delivered.0),
        Body::Recover { nonce } => writer.u64(*nonce),
        Body::ReadQuery { round } => writer.u64(*round),
        Body::ReadAnswer { round, known_up_to } => {
            writer.u64(*round);
            writer.u64(known_up_to.0);
        }
        Body::RecoverAnswer { nonce, standing } => {
            writer.u64(*nonce);
            let (tag, own_nonce) = match standing {
                Standing::Blank { nonce } => (1, *nonce),
                Standing::NewWithYou => (2, 0),
                Standing::Member => (3, 0),
                Standing::Recovering => (4, 0),
            };
            writer.u8(tag);
            writer.u64(own_nonce);
        }
        Body::Compacted { base } => writer.u64(base.0),
        Body::DoViewChange {
            delivered,
            bindings,
        } => {
            writer.u64(delivered.0);
            write_bindings(writer, bindings);
        }
        Body::NewView {
            members,
            start,
            after,
            bindings,
        } => {
            write_members(writer, members);
            writer.u64(start.0);
            writer.u64(after.0);
            write_bindings(writer, bindings);
        }
    }
}

/// A message's body of kind `kind`, after its header.
fn read_body(reader: &mut Reader<'_>, kind: u8) -> Result<Body, DecodeError> {
    let body = match kind {
        1 => {
            let (sender, local_seq, payload) = read_request(reader)?;
            Body::Request {
                sender,
                local_seq,
                payload,
            }
        }
        2 => {
            let (global, origin) = read_sequence(reader)?;
            Body::Sequence {
                global,
                sender: origin.sender,
                local_seq: origin.local_seq,
            }
        }
        3 => {
            let count = reader.count("retransmit items", RETRANSMIT_ITEMS_MAX)?;
            let mut missing = Vec::with_capacity(count);
            for _ in 0..count {
                missing.push(read_missing(reader)?);
            }
            Body::Retransmit { missing }
        }
        4 => Body::Heartbeat,
        5 => Body::Compacted {
            base: GlobalSeq(reader.u64()?),
        },
        6 => Body::StartViewChange,
        7 => Body::DoViewChange {
            delivered: GlobalSeq(reader.u64()?),
            bindings: read_bindings(reader)?,
        },
        8 => Body::NewView {
            members: read_members(reader)?,
            start: GlobalSeq(reader.u64()?),
            after: GlobalSeq(reader.u64()?),
            bindings: read_bindings(reader)?,
        },
        9 => Body::GetView {
            delivered: GlobalSeq(reader.u64()?),
        },
        10 => Body::Recover {
            nonce: reader.u64()?,
        },
        11 => read_recover_answer(reader)?,
        12 => Body::ReadQuery {
            round: reader.u64()?,
        },
        13 => Body::ReadAnswer {
            round: reader.u64()?,
            known_up_to: GlobalSeq(reader.u64()?),
        },
        other => return Err(DecodeError::UnknownKind(other)),
    };
    Ok(body)
}

/// A RecoverAnswer's body: the nonce it answers, then the standing's tag
/// and the answerer's own nonce (a Blank's; 0 otherwise).
fn read_recover_answer(reader: &mut Reader<'_>) -> Result<Body, DecodeError> {
    let nonce = reader.u64()?;
    let tag = reader.u8()?;
    let own_nonce = reader.u64()?;
    let standing = match tag {
        1 => Standing::Blank { nonce: own_nonce },
        2 => Standing::NewWithYou,
        3 => Standing::Member,
        4 => Standing::Recovering,
        other => return Err(DecodeError::UnknownKind(other)),
    };
    Ok(Body::RecoverAnswer { nonce, standing })
}

impl Record {
    /// Encodes the record as one log entry (the driver adds its own framing).
    pub fn encode(&self) -> Vec<u8> {
        let mut writer = Writer::with_header(SEQUENCER_RECORD, FIELDS_BYTES);
        match self {
            Record::Request { origin, payload } => {
                writer.u8(1);
                write_request(&mut writer, origin.sender, origin.local_seq, payload);
            }
            Record::Sequence { global, origin } => {
                writer.u8(2);
                write_sequence(&mut writer, *global, origin.sender, origin.local_seq);
            }
            Record::Base(point) => {
                writer.u8(3);
                writer.u64(point.global.0);
                write_local_seqs(&mut writer, &point.delivered_local);
            }
            Record::ViewChange { view } => {
                writer.u8(4);
                writer.u64(*view);
            }
            Record::NewView {
                view,
                truncate_after,
            } => {
                writer.u8(5);
                writer.u64(view.number);
                write_members(&mut writer, &view.members);
                writer.u64(view.start.0);
                writer.u64(truncate_after.0);
            }
            Record::Recovering { nonce } => {
                writer.u8(6);
                writer.u64(*nonce);
            }
            Record::Incarnation {
                incarnation,
                new_group_with,
            } => {
                writer.u8(7);
                writer.u64(*incarnation);
                let nonces: Vec<LocalSeq> = new_group_with.iter().map(|n| LocalSeq(*n)).collect();
                write_local_seqs(&mut writer, &nonces);
            }
            Record::Delivered { up_to } => {
                writer.u8(8);
                writer.u64(up_to.0);
            }
        }
        writer.finish_with_crc32()
    }

    /// Decodes one log entry; any malformed input is an error, never a panic.
    pub fn decode(bytes: &[u8]) -> Result<Record, DecodeError> {
        let mut reader = Reader::open_checksummed(bytes, SEQUENCER_RECORD)?;
        let record = match reader.u8()? {
            1 => {
                let (sender, local_seq, payload) = read_request(&mut reader)?;
                Record::Request {
                    origin: Origin { sender, local_seq },
                    payload,
                }
            }
            2 => {
                let (global, origin) = read_sequence(&mut reader)?;
                Record::Sequence { global, origin }
            }
            3 => {
                let global = GlobalSeq(reader.u64()?);
                Record::Base(SnapshotPoint {
                    global,
                    delivered_local: read_local_seqs(&mut reader)?,
                })
            }
            4 => Record::ViewChange {
                view: reader.u64()?,
            },
            5 => Record::NewView {
                view: View {
                    number: reader.u64()?,
                    members: read_members(&mut reader)?,
                    start: GlobalSeq(reader.u64()?),
                },
                truncate_after: GlobalSeq(reader.u64()?),
            },
            6 => Record::Recovering {
                nonce: reader.u64()?,
            },
            7 => Record::Incarnation {
                incarnation: reader.u64()?,
                // A list of u64 up to MEMBERS_MAX long, as a watermark's.
                new_group_with: read_local_seqs(&mut reader)?
                    .into_iter()
                    .map(|n| n.0)
                    .collect(),
            },
            8 => Record::Delivered {
                up_to: GlobalSeq(reader.u64()?),
            },
            other => return Err(DecodeError::UnknownKind(other)),
        };
        reader.finish()?;
        Ok(record)
    }
}

fn write_local_seqs(writer: &mut Writer, values: &[LocalSeq]) {
    assert!(
        values.len() <= usize::from(MEMBERS_MAX),
        "{} senders in a watermark",
        values.len()
    );
    writer.u16(values.len() as u16);
    values.iter().for_each(|value| writer.u64(value.0));
}

fn write_earlier_runs(writer: &mut Writer, runs: &[Origin]) {
    write_origins(writer, runs, EARLIER_RUNS_MAX, "earlier runs");
}

fn write_request(writer: &mut Writer, sender: MemberId, local_seq: LocalSeq, payload: &[u8]) {
    assert!(
        payload.len() <= PAYLOAD_BYTES_MAX,
        "payload of {} bytes",
        payload.len()
    );
    writer.u16(sender.0);
    writer.u64(local_seq.0);
    writer.counted_bytes(payload);
}

fn write_sequence(writer: &mut Writer, global: GlobalSeq, sender: MemberId, local_seq: LocalSeq) {
    writer.u64(global.0);
    writer.u16(sender.0);
    writer.u64(local_seq.0);
}

fn write_bindings(writer: &mut Writer, bindings: &[Origin]) {
    write_origins(writer, bindings, VIEW_BINDINGS_MAX, "bindings");
}

/// A counted list of origins (earlier runs, view bindings), at most `most`.
fn write_origins(writer: &mut Writer, origins: &[Origin], most: usize, what: &str) {
    assert!(origins.len() <= most, "{} {what}", origins.len());
    writer.u16(origins.len() as u16);
    for origin in origins {
        writer.u16(origin.sender.0);
        writer.u64(origin.local_seq.0);
    }
}

fn write_members(writer: &mut Writer, members: &[MemberId]) {
    assert!(members.len() <= usize::from(MEMBERS_MAX), "turn list");
    writer.u16(members.len() as u16);
    members.iter().for_each(|member| writer.u16(member.0));
}

fn write_missing(writer: &mut Writer, item: &Missing) {
    match item {
        Missing::Sequence(global) => {
            writer.u8(1);
            writer.u64(global.0);
        }
        Missing::Request(origin) => {
            writer.u8(2);
            writer.u16(origin.sender.0);
            writer.u64(origin.local_seq.0);
        }
    }
}

fn read_local_seqs(reader: &mut Reader<'_>) -> Result<Vec<LocalSeq>, DecodeError> {
    let count = reader.count("watermark senders", usize::from(MEMBERS_MAX))?;
    let mut values = Vec::with_capacity(count);
    for _ in 0..count {
        values.push(LocalSeq(reader.u64()?));
    }
    Ok(values)
}

fn read_earlier_runs(reader: &mut Reader<'_>) -> Result<Vec<Origin>, DecodeError> {
    let count = reader.count("earlier runs", EARLIER_RUNS_MAX)?;
    (0..count).map(|_| read_origin(reader)).collect()
}

fn read_request(reader: &mut Reader<'_>) -> Result<(MemberId, LocalSeq, Vec<u8>), DecodeError> {
    let sender = MemberId(reader.u16()?);
    let local_seq = LocalSeq(reader.u64()?);
    let payload = reader.counted_bytes("payload bytes", PAYLOAD_BYTES_MAX)?;
    Ok((sender, local_seq, payload.to_vec()))
}

fn read_origin(reader: &mut Reader<'_>) -> Result<Origin, DecodeError> {
    let sender = MemberId(reader.u16()?);
    let local_seq = LocalSeq(reader.u64()?);
    Ok(Origin { sender, local_seq })
}

fn read_sequence(reader: &mut Reader<'_>) -> Result<(GlobalSeq, Origin), DecodeError> {
    let global = GlobalSeq(reader.u64()?);
    Ok((global, read_origin(reader)?))
}

fn read_bindings(reader: &mut Reader<'_>) -> Result<Vec<Origin>, DecodeError> {
    let count = reader.count("view bindings", VIEW_BINDINGS_MAX)?;
    (0..count).map(|_| read_origin(reader)).collect()
}

fn read_members(reader: &mut Reader<'_>) -> Result<Vec<MemberId>, DecodeError> {
    let count = reader.count("turn list", usize::from(MEMBERS_MAX))?;
    let mut members = Vec::with_capacity(count);
    for _ in 0..count {
        members.push(MemberId(reader.u16()?));
    }
    Ok(members)
}

fn read_missing(reader: &mut Reader<'_>) -> Result<Missing, DecodeError> {
    match reader.u8()? {
        1 => Ok(Missing::Sequence(GlobalSeq(reader.u64()?))),
        2 => Ok(Missing::Request(read_origin(reader)?)),
        other => Err(DecodeError::UnknownKind(other)),
    }
}
