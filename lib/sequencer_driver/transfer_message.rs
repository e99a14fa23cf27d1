//! [`TransferMessage`]: the state-transfer protocol's datagrams, with their
//! own magic ("ST") so the router tells them from the core's messages ("SQ")
//! by the first two bytes.
//!
//! The protocol is pull-based and stateless on the donor's side: the fetcher
//! asks for one chunk at a time by `(snapshot, offset)` and the donor
//! answers with that chunk of the image, or, if it no longer has that
//! snapshot, with the first chunk of its newest one (the fetcher then starts
//! over). A lost request or chunk costs one retry; nothing else is kept.
//! Each request says how recent an image must be (`at_least`): a donor
//! whose newest image is older, but whose state has reached that number,
//! takes a snapshot on demand and answers `NotYet` (ask me again later).
//!
//! ```text
//! message = magic "ST" | version u8 = 1 | kind u8 | body
//! kind 1 ChunkRequest = snapshot u64 (0: your newest) | offset u64
//!                     | at_least u64
//! kind 2 Chunk        = snapshot u64 | total u64 (<= TRANSFER_BYTES_MAX)
//!                     | offset u64 | length u32 (<= CHUNK_BYTES_MAX) | bytes
//! kind 3 NoSnapshot   = (nothing: the donor has no image to give)
//! kind 4 NotYet       = (nothing: the donor is taking a recent enough one)
//! ```
//! (Magic and version: `wire::formats::STATE_TRANSFER`.)
//! The transport's frame already checksums every datagram; the image
//! carries its own checksum over the whole (see `image.rs`).

use crate::wire::DecodeError;

use super::limits::{CHUNK_BYTES_MAX, TRANSFER_BYTES_MAX};
use crate::wire::formats::STATE_TRANSFER;
use crate::wire::{check_count, Reader, Writer};

/// One state-transfer datagram.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum TransferMessage {
    /// Fetcher to donor: send the chunk of snapshot `snapshot` (its global
    /// number; 0 for "your newest") that starts at `offset`.
    ChunkRequest {
        /// The snapshot being fetched, or 0.
        snapshot: u64,
        /// The first byte wanted.
        offset: u64,
        /// The image must cover at least this global number.
        at_least: u64,
    },
    /// Donor to fetcher: bytes `offset..offset + bytes.len()` of the image
    /// of snapshot `snapshot`, which is `total` bytes long.
    Chunk {
        /// The global number the image covers.
        snapshot: u64,
        /// The image's length.
        total: u64,
        /// Where these bytes start in it.
        offset: u64,
        /// At most `CHUNK_BYTES_MAX` bytes.
        bytes: Vec<u8>,
    },
    /// Donor to fetcher: no image here; ask someone else.
    NoSnapshot,
    /// Donor to fetcher: no image recent enough yet, but one is being
    /// taken; ask again later.
    NotYet,
}

impl TransferMessage {
    /// Encodes the message as one datagram payload.
    pub(super) fn encode(&self) -> Vec<u8> {
        match self {
            TransferMessage::ChunkRequest {
                snapshot,
                offset,
                at_least,
            } => {
                let mut writer = Writer::with_header(STATE_TRANSFER, 25);
                writer.u8(1);
                writer.u64(*snapshot);
                writer.u64(*offset);
                writer.u64(*at_least);
                writer.finish()
            }
            TransferMessage::Chunk {
                snapshot,
                total,
                offset,
                bytes,
            } => {
                assert!(bytes.len() <= CHUNK_BYTES_MAX, "chunk of {}", bytes.len());
                let mut writer = Writer::with_header(STATE_TRANSFER, 29 + bytes.len());
                writer.u8(2);
                writer.u64(*snapshot);
                writer.u64(*total);
                writer.u64(*offset);
                writer.u32(bytes.len() as u32);
                writer.bytes(bytes);
                writer.finish()
            }
            TransferMessage::NoSnapshot => empty_message(3),
            TransferMessage::NotYet => empty_message(4),
        }
    }

    /// Decodes one datagram payload; garbage is an error, never a panic.
    pub(super) fn decode(bytes: &[u8]) -> Result<TransferMessage, DecodeError> {
        let mut reader = Reader::open(bytes, STATE_TRANSFER)?;
        let message = match reader.u8()? {
            1 => TransferMessage::ChunkRequest {
                snapshot: reader.u64()?,
                offset: reader.u64()?,
                at_least: reader.u64()?,
            },
            2 => decode_chunk(&mut reader)?,
            3 => TransferMessage::NoSnapshot,
            4 => TransferMessage::NotYet,
            other => return Err(DecodeError::UnknownKind(other)),
        };
        reader.finish()?;
        Ok(message)
    }

    /// One line for logs.
    pub(super) fn describe(&self) -> String {
        match self {
            TransferMessage::ChunkRequest {
                snapshot,
                offset,
                at_least,
            } => format!("chunk request #{snapshot} @{offset} (at least #{at_least})"),
            TransferMessage::Chunk {
                snapshot,
                total,
                offset,
                bytes,
            } => format!("chunk #{snapshot} @{offset} +{} of {total}", bytes.len()),
            TransferMessage::NoSnapshot => "no snapshot".to_string(),
            TransferMessage::NotYet => "not yet".to_string(),
        }
    }
}

/// A message of kind `kind` with no body.
fn empty_message(kind: u8) -> Vec<u8> {
    let mut writer = Writer::with_header(STATE_TRANSFER, 1);
    writer.u8(kind);
    writer.finish()
}

/// The body of a Chunk, checked: bounded sizes, and the bytes inside the
/// image they claim to be part of.
fn decode_chunk(reader: &mut Reader<'_>) -> Result<TransferMessage, DecodeError> {
    let snapshot = reader.u64()?;
    let total = reader.u64()?;
    check_count("image bytes", total, TRANSFER_BYTES_MAX)?;
    let offset = reader.u64()?;
    check_count("chunk offset", offset, total)?;
    let length = reader.u32()?;
    check_count("chunk bytes", u64::from(length), CHUNK_BYTES_MAX as u64)?;
    check_count("chunk end", offset + u64::from(length), total)?;
    let bytes = reader.take(length as usize)?.to_vec();
    Ok(TransferMessage::Chunk {
        snapshot,
        total,
        offset,
        bytes,
    })
}
