//! The wire format of [`Message`] (one per UDP datagram) and of [`Record`]
//! (one per log entry): hand-written little-endian, every read bounds-checked,
//! every count checked against its hard limit before anything is allocated,
//! and a CRC-32 trailer. Decoding garbage returns an error; it never panics.
//!
//! ```text
//! message = magic "SQ" | version u8 = 4 | kind u8 | stamp | watermark | body | crc32 u32
//! stamp = view u64 | log_view u64
//! watermark = held_up_to u64 | senders u16 (<= MEMBERS_MAX) | senders x u64
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
//! Messages are at version 4 (version 1 had no stamp and no view change,
//! version 2 no recovery and no StartViewChange round, version 3 no read
//! barrier): every member of a
//! group must run the same version. Records stay at version 1 (kinds 4 to 7
//! are new), so a log written before views and incarnations replays.
//! The CRC covers every byte before it. Group-level checks (ids below `n`)
//! are [`Message::validate`]'s job, not the codec's.

use super::config::{MEMBERS_MAX, PAYLOAD_BYTES_MAX, RETRANSMIT_ITEMS_MAX};
use super::errors::DecodeError;
use super::ids::{GlobalSeq, LocalSeq, MemberId, Origin};
use super::message::{Body, Message, Missing, Standing, Watermark, VIEW_BINDINGS_MAX};
use super::persist::{Record, SnapshotPoint};
use super::view::{View, ViewStamp};

const MESSAGE_MAGIC: [u8; 2] = *b"SQ";
const RECORD_MAGIC: [u8; 2] = *b"SR";
const MESSAGE_VERSION: u8 = 4;
const RECORD_VERSION: u8 = 1;

impl Message {
    /// Encodes the message as one datagram.
    pub fn encode(&self) -> Vec<u8> {
        let mut writer = Writer::new(MESSAGE_MAGIC, MESSAGE_VERSION);
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
        writer.local_seqs(&self.watermark.requests_held_up_to);
        write_body(&mut writer, &self.body);
        writer.finish()
    }

    /// Decodes one datagram; any malformed input is an error, never a panic.
    pub fn decode(bytes: &[u8]) -> Result<Message, DecodeError> {
        let mut reader = Reader::open(bytes, MESSAGE_MAGIC, MESSAGE_VERSION)?;
        let kind = reader.u8()?;
        let stamp = ViewStamp {
            view: reader.u64()?,
            log_view: reader.u64()?,
        };
        let held_up_to = GlobalSeq(reader.u64()?);
        let requests_held_up_to = reader.local_seqs()?;
        let body = read_body(&mut reader, kind)?;
        reader.finish()?;
        Ok(Message {
            stamp,
            watermark: Watermark {
                held_up_to,
                requests_held_up_to,
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
        } => writer.request(*sender, *local_seq, payload),
        Body::Sequence {
            global,
            sender,
            local_seq,
        } => writer.sequence(*global, *sender, *local_seq),
        Body::Retransmit { missing } => {
            assert!(
                missing.len() <= RETRANSMIT_ITEMS_MAX,
                "retransmit of {} items",
                missing.len()
            );
            writer.u16(missing.len() as u16);
            missing.iter().for_each(|item| writer.missing(item));
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
            writer.bindings(bindings);
        }
        Body::NewView {
            members,
            start,
            after,
            bindings,
        } => {
            writer.members(members);
            writer.u64(start.0);
            writer.u64(after.0);
            writer.bindings(bindings);
        }
    }
}

/// A message's body of kind `kind`, after its header.
fn read_body(reader: &mut Reader<'_>, kind: u8) -> Result<Body, DecodeError> {
    let body = match kind {
        1 => {
            let (sender, local_seq, payload) = reader.request()?;
            Body::Request {
                sender,
                local_seq,
                payload,
            }
        }
        2 => {
            let (global, origin) = reader.sequence()?;
            Body::Sequence {
                global,
                sender: origin.sender,
                local_seq: origin.local_seq,
            }
        }
        3 => {
            let count = reader.count(2, "retransmit items", RETRANSMIT_ITEMS_MAX as u64)?;
            let mut missing = Vec::with_capacity(count);
            for _ in 0..count {
                missing.push(reader.missing()?);
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
            bindings: reader.bindings()?,
        },
        8 => Body::NewView {
            members: reader.members()?,
            start: GlobalSeq(reader.u64()?),
            after: GlobalSeq(reader.u64()?),
            bindings: reader.bindings()?,
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
        let mut writer = Writer::new(RECORD_MAGIC, RECORD_VERSION);
        match self {
            Record::Request { origin, payload } => {
                writer.u8(1);
                writer.request(origin.sender, origin.local_seq, payload);
            }
            Record::Sequence { global, origin } => {
                writer.u8(2);
                writer.sequence(*global, origin.sender, origin.local_seq);
            }
            Record::Base(point) => {
                writer.u8(3);
                writer.u64(point.global.0);
                writer.local_seqs(&point.delivered_local);
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
                writer.members(&view.members);
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
                writer.local_seqs(&nonces);
            }
        }
        writer.finish()
    }

    /// Decodes one log entry; any malformed input is an error, never a panic.
    pub fn decode(bytes: &[u8]) -> Result<Record, DecodeError> {
        let mut reader = Reader::open(bytes, RECORD_MAGIC, RECORD_VERSION)?;
        let record = match reader.u8()? {
            1 => {
                let (sender, local_seq, payload) = reader.request()?;
                Record::Request {
                    origin: Origin { sender, local_seq },
                    payload,
                }
            }
            2 => {
                let (global, origin) = reader.sequence()?;
                Record::Sequence { global, origin }
            }
            3 => {
                let global = GlobalSeq(reader.u64()?);
                Record::Base(SnapshotPoint {
                    global,
                    delivered_local: reader.local_seqs()?,
                })
            }
            4 => Record::ViewChange {
                view: reader.u64()?,
            },
            5 => Record::NewView {
                view: View {
                    number: reader.u64()?,
                    members: reader.members()?,
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
                new_group_with: reader.local_seqs()?.into_iter().map(|n| n.0).collect(),
            },
            other => return Err(DecodeError::UnknownKind(other)),
        };
        reader.finish()?;
        Ok(record)
    }
}

/// Appends little-endian fields to a buffer that starts with magic and version.
struct Writer {
    bytes: Vec<u8>,
}

impl Writer {
    fn new(magic: [u8; 2], version: u8) -> Writer {
        let mut bytes = Vec::with_capacity(64);
        bytes.extend_from_slice(&magic);
        bytes.push(version);
        Writer { bytes }
    }

    fn u8(&mut self, value: u8) {
        self.bytes.push(value);
    }

    fn u16(&mut self, value: u16) {
        self.bytes.extend_from_slice(&value.to_le_bytes());
    }

    fn u32(&mut self, value: u32) {
        self.bytes.extend_from_slice(&value.to_le_bytes());
    }

    fn u64(&mut self, value: u64) {
        self.bytes.extend_from_slice(&value.to_le_bytes());
    }

    fn local_seqs(&mut self, values: &[LocalSeq]) {
        assert!(
            values.len() <= usize::from(MEMBERS_MAX),
            "{} senders in a watermark",
            values.len()
        );
        self.u16(values.len() as u16);
        values.iter().for_each(|value| self.u64(value.0));
    }

    fn request(&mut self, sender: MemberId, local_seq: LocalSeq, payload: &[u8]) {
        assert!(
            payload.len() <= PAYLOAD_BYTES_MAX,
            "payload of {} bytes",
            payload.len()
        );
        self.u16(sender.0);
        self.u64(local_seq.0);
        self.u32(payload.len() as u32);
        self.bytes.extend_from_slice(payload);
    }

    fn sequence(&mut self, global: GlobalSeq, sender: MemberId, local_seq: LocalSeq) {
        self.u64(global.0);
        self.u16(sender.0);
        self.u64(local_seq.0);
    }

    fn bindings(&mut self, bindings: &[Origin]) {
        assert!(
            bindings.len() <= VIEW_BINDINGS_MAX,
            "{} bindings",
            bindings.len()
        );
        self.u16(bindings.len() as u16);
        for origin in bindings {
            self.u16(origin.sender.0);
            self.u64(origin.local_seq.0);
        }
    }

    fn members(&mut self, members: &[MemberId]) {
        assert!(members.len() <= usize::from(MEMBERS_MAX), "turn list");
        self.u16(members.len() as u16);
        members.iter().for_each(|member| self.u16(member.0));
    }

    fn missing(&mut self, item: &Missing) {
        match item {
            Missing::Sequence(global) => {
                self.u8(1);
                self.u64(global.0);
            }
            Missing::Request(origin) => {
                self.u8(2);
                self.u16(origin.sender.0);
                self.u64(origin.local_seq.0);
            }
        }
    }

    fn finish(mut self) -> Vec<u8> {
        let crc = crc32fast::hash(&self.bytes);
        self.u32(crc);
        self.bytes
    }
}

/// Reads little-endian fields; every read checks the remaining length first.
struct Reader<'a> {
    bytes: &'a [u8],
    position: usize,
}

impl<'a> Reader<'a> {
    /// Checks the CRC trailer, the magic and the version; the reader then
    /// covers the bytes between the header and the trailer.
    fn open(bytes: &'a [u8], magic: [u8; 2], version: u8) -> Result<Reader<'a>, DecodeError> {
        if bytes.len() < 2 + 1 + 4 {
            return Err(DecodeError::Truncated { at: 0, needed: 7 });
        }
        if bytes[0..2] != magic {
            return Err(DecodeError::BadMagic);
        }
        let (contents, trailer) = bytes.split_at(bytes.len() - 4);
        let crc = u32::from_le_bytes([trailer[0], trailer[1], trailer[2], trailer[3]]);
        if crc32fast::hash(contents) != crc {
            return Err(DecodeError::Checksum);
        }
        if contents[2] != version {
            return Err(DecodeError::BadVersion(contents[2]));
        }
        Ok(Reader {
            bytes: contents,
            position: 3,
        })
    }

    fn take(&mut self, needed: usize) -> Result<&'a [u8], DecodeError> {
        let remaining = self.bytes.len() - self.position;
        if remaining < needed {
            return Err(DecodeError::Truncated {
                at: self.position,
                needed,
            });
        }
        let field = &self.bytes[self.position..self.position + needed];
        self.position += needed;
        Ok(field)
    }

    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, DecodeError> {
        let field = self.take(2)?;
        Ok(u16::from_le_bytes([field[0], field[1]]))
    }

    fn u32(&mut self) -> Result<u32, DecodeError> {
        let field = self.take(4)?;
        Ok(u32::from_le_bytes([field[0], field[1], field[2], field[3]]))
    }

    fn u64(&mut self) -> Result<u64, DecodeError> {
        let mut array = [0u8; 8];
        array.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(array))
    }

    /// Reads a count of `width` bytes (2 or 4) and checks it against `max`.
    fn count(&mut self, width: usize, what: &'static str, max: u64) -> Result<usize, DecodeError> {
        let count = if width == 2 {
            u64::from(self.u16()?)
        } else {
            u64::from(self.u32()?)
        };
        if count > max {
            return Err(DecodeError::TooMany { what, count, max });
        }
        Ok(count as usize)
    }

    fn local_seqs(&mut self) -> Result<Vec<LocalSeq>, DecodeError> {
        let count = self.count(2, "watermark senders", u64::from(MEMBERS_MAX))?;
        let mut values = Vec::with_capacity(count);
        for _ in 0..count {
            values.push(LocalSeq(self.u64()?));
        }
        Ok(values)
    }

    fn request(&mut self) -> Result<(MemberId, LocalSeq, Vec<u8>), DecodeError> {
        let sender = MemberId(self.u16()?);
        let local_seq = LocalSeq(self.u64()?);
        let length = self.count(4, "payload bytes", PAYLOAD_BYTES_MAX as u64)?;
        Ok((sender, local_seq, self.take(length)?.to_vec()))
    }

    fn origin(&mut self) -> Result<Origin, DecodeError> {
        let sender = MemberId(self.u16()?);
        let local_seq = LocalSeq(self.u64()?);
        Ok(Origin { sender, local_seq })
    }

    fn sequence(&mut self) -> Result<(GlobalSeq, Origin), DecodeError> {
        let global = GlobalSeq(self.u64()?);
        Ok((global, self.origin()?))
    }

    fn bindings(&mut self) -> Result<Vec<Origin>, DecodeError> {
        let count = self.count(2, "view bindings", VIEW_BINDINGS_MAX as u64)?;
        (0..count).map(|_| self.origin()).collect()
    }

    fn members(&mut self) -> Result<Vec<MemberId>, DecodeError> {
        let count = self.count(2, "turn list", u64::from(MEMBERS_MAX))?;
        let mut members = Vec::with_capacity(count);
        for _ in 0..count {
            members.push(MemberId(self.u16()?));
        }
        Ok(members)
    }

    fn missing(&mut self) -> Result<Missing, DecodeError> {
        match self.u8()? {
            1 => Ok(Missing::Sequence(GlobalSeq(self.u64()?))),
            2 => {
                let sender = MemberId(self.u16()?);
                Ok(Missing::Request(Origin {
                    sender,
                    local_seq: LocalSeq(self.u64()?),
                }))
            }
            other => Err(DecodeError::UnknownKind(other)),
        }
    }

    fn finish(self) -> Result<(), DecodeError> {
        match self.bytes.len() - self.position {
            0 => Ok(()),
            left => Err(DecodeError::TrailingBytes(left)),
        }
    }
}
