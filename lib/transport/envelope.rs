//! The transport's header: who sent a datagram and to whom, inside its
//! checksummed frame.
//!
//! ```text
//! datagram = frame( version u8 = 1 | sender u8 | recipient u8 | payload )
//! ```
//! (the version: `wire::formats::TRANSPORT_ENVELOPE`).
//!
//! Why: peers used to be told apart by a datagram's source address, which
//! only works while every peer binds one fixed IP for good. Peers named by
//! DNS (a Kubernetes pod that moves gets a new IP; it binds all interfaces,
//! so its source address is whatever the route picks) are told apart by
//! the sender index they write here instead. The recipient index guards
//! against stale lookups: a datagram sent to a peer's old IP, which another
//! member now holds, is dropped there rather than taken as its own. The
//! version byte lets a later format be told from this one; a datagram of
//! another version is dropped as malformed. Version 1 is the first header
//! (until it, a datagram was the bare frame of the payload), so replicas of
//! the two formats do not talk: upgrade a database's replicas together.

use crate::wal::frame::{self, FrameError};
use crate::wire::formats::TRANSPORT_ENVELOPE;
use crate::wire::Reader;

/// Bytes of the header, before the payload.
pub const ENVELOPE_HEADER_BYTES: usize = 3;

/// A decoded datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Envelope<'a> {
    /// The index the sender gives itself.
    pub sender: usize,
    /// The index of the peer it was meant for.
    pub recipient: usize,
    /// The payload, checked against the frame's CRC.
    pub payload: &'a [u8],
}

/// Why a datagram is not a valid envelope.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EnvelopeError {
    /// The frame is bad (cut short, bad checksum, too long, trailing bytes).
    Frame(FrameError),
    /// The frame holds less than the header.
    Short,
    /// A version this code does not know.
    Version(u8),
}

impl std::fmt::Display for EnvelopeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EnvelopeError::Frame(error) => write!(f, "{error}"),
            EnvelopeError::Short => write!(f, "shorter than the transport header"),
            EnvelopeError::Version(version) => write!(f, "unknown header version {version}"),
        }
    }
}

/// The datagram that carries `payload` from peer `sender` to `recipient`.
/// Indices are below `PEERS_MAX` (64), so each fits a byte.
pub fn encode_datagram(sender: usize, recipient: usize, payload: &[u8]) -> Vec<u8> {
    let (sender, recipient) = (index_byte(sender), index_byte(recipient));
    let mut bytes =
        Vec::with_capacity(frame::FRAME_HEADER_BYTES + ENVELOPE_HEADER_BYTES + payload.len());
    frame::encode_with(&mut bytes, |body| {
        body.u8(TRANSPORT_ENVELOPE.version);
        body.u8(sender);
        body.u8(recipient);
        body.bytes(payload);
    });
    bytes
}

/// Decodes a whole datagram; the payload may be at most `payload_max` bytes.
pub(crate) fn decode_datagram(
    bytes: &[u8],
    payload_max: usize,
) -> Result<Envelope<'_>, EnvelopeError> {
    let body = frame::decode_exact(bytes, payload_max + ENVELOPE_HEADER_BYTES)
        .map_err(EnvelopeError::Frame)?;
    let mut reader = Reader::new(body);
    let (Ok(version), Ok(sender), Ok(recipient)) = (reader.u8(), reader.u8(), reader.u8()) else {
        return Err(EnvelopeError::Short);
    };
    if version != TRANSPORT_ENVELOPE.version {
        return Err(EnvelopeError::Version(version));
    }
    Ok(Envelope {
        sender: usize::from(sender),
        recipient: usize::from(recipient),
        payload: reader.rest(),
    })
}

fn index_byte(index: usize) -> u8 {
    const _: () = assert!(super::faults::PEERS_MAX <= 256);
    u8::try_from(index).expect("peer indices are below PEERS_MAX")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_datagram_round_trips_and_bad_ones_are_told_apart() {
        let bytes = encode_datagram(3, 1, b"hello");
        let envelope = decode_datagram(&bytes, 16).expect("valid");
        assert_eq!((envelope.sender, envelope.recipient), (3, 1));
        assert_eq!(envelope.payload, b"hello");
        assert_eq!(
            decode_datagram(&encode_datagram(0, 0, b""), 0).map(|e| e.payload.len()),
            Ok(0)
        );
        assert!(matches!(
            decode_datagram(&bytes, 4),
            Err(EnvelopeError::Frame(_))
        ));
        assert_eq!(
            decode_datagram(&frame::encode(&[1, 2]), 16),
            Err(EnvelopeError::Short)
        );
        assert_eq!(
            decode_datagram(&frame::encode(&[2, 0, 0, 9]), 16),
            Err(EnvelopeError::Version(2))
        );
        assert!(decode_datagram(b"not even a frame", 64).is_err());
    }

    #[test]
    fn the_bytes_of_a_datagram_stay_the_same() {
        crate::wire::golden::assert_golden(
            &[encode_datagram(3, 1, b"hi"), encode_datagram(0, 63, b"")],
            &["0500000027237f710103016869", "03000000189ee54801003f"],
        );
    }
}
