//! The expected failures of the sequencer: a bad config, a refused broadcast,
//! a datagram that does not decode, a message that names members or numbers
//! outside the group, a restore or snapshot that does not fit. A broken
//! invariant is not among them: that panics with context.

use std::fmt;

/// An expected failure; each variant says what the caller may do about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SequencerError {
    /// The config breaks the named rule; fix the config.
    ConfigInvalid(String),
    /// The payload is longer than `payload_bytes_max`; the caller must split
    /// or refuse it.
    PayloadTooLarge {
        /// Payload length in bytes.
        len: usize,
        /// The configured maximum.
        max: usize,
    },
    /// Too many of this member's broadcasts are not delivered yet; retry
    /// after some are (typically: answer the client "busy, retry").
    Backpressure {
        /// Own requests broadcast but not yet delivered.
        in_flight: u64,
        /// The configured maximum.
        max: u64,
    },
    /// A datagram did not decode; drop it (it may be garbage or truncated).
    Decode(DecodeError),
    /// A decoded message does not fit this group (a member id out of range,
    /// a zero sequence number, a watermark of the wrong length); dropped.
    InvalidMessage(String),
    /// A persisted state or snapshot point cannot be restored or installed as
    /// asked; the string says why.
    RestoreInvalid(String),
    /// The member started with an empty disk and has not recovered yet: it
    /// takes no requests (send the client to another member).
    Recovering,
    /// A read came while the member does not work in a view (a view change
    /// is under way): it could wait long; send the client elsewhere.
    NotInView,
    /// `reads_pending_max` reads are unanswered here; retry later.
    TooManyReads {
        /// The configured maximum.
        max: usize,
    },
}

/// Why a byte string is not a valid encoded message or record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// The input ended before a field of `needed` bytes at offset `at`.
    Truncated {
        /// Offset of the field.
        at: usize,
        /// Bytes the field needs.
        needed: usize,
    },
    /// The first bytes are not this protocol's magic number.
    BadMagic,
    /// The format version is not one this code reads.
    BadVersion(u8),
    /// The kind tag names no known message or record.
    UnknownKind(u8),
    /// A count is larger than its hard limit.
    TooMany {
        /// Which count.
        what: &'static str,
        /// The count read.
        count: u64,
        /// Its limit.
        max: u64,
    },
    /// The CRC-32 trailer does not match the contents.
    Checksum,
    /// Bytes were left over after a complete message.
    TrailingBytes(usize),
}

impl fmt::Display for SequencerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SequencerError::ConfigInvalid(rule) => write!(f, "invalid sequencer config: {rule}"),
            SequencerError::Recovering => write!(
                f,
                "this member is recovering from an empty disk; try another replica"
            ),
            SequencerError::NotInView => {
                write!(f, "this member is changing views; try another replica")
            }
            SequencerError::TooManyReads { max } => {
                write!(f, "{max} reads are waiting here (the maximum); retry later")
            }
            SequencerError::PayloadTooLarge { len, max } => {
                write!(f, "payload of {len} bytes is larger than the maximum {max}")
            }
            SequencerError::Backpressure { in_flight, max } => {
                write!(
                    f,
                    "{in_flight} broadcasts not yet delivered (maximum {max}); retry later"
                )
            }
            SequencerError::Decode(error) => write!(f, "undecodable datagram: {error}"),
            SequencerError::InvalidMessage(why) => write!(f, "invalid message: {why}"),
            SequencerError::RestoreInvalid(why) => write!(f, "cannot restore: {why}"),
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Truncated { at, needed } => {
                write!(f, "truncated: {needed} bytes needed at offset {at}")
            }
            DecodeError::BadMagic => write!(f, "bad magic number"),
            DecodeError::BadVersion(version) => write!(f, "unknown format version {version}"),
            DecodeError::UnknownKind(kind) => write!(f, "unknown kind tag {kind}"),
            DecodeError::TooMany { what, count, max } => {
                write!(f, "{what}: {count} is more than the limit {max}")
            }
            DecodeError::Checksum => write!(f, "checksum mismatch"),
            DecodeError::TrailingBytes(count) => write!(f, "{count} trailing bytes"),
        }
    }
}

impl std::error::Error for SequencerError {}
impl std::error::Error for DecodeError {}

impl From<DecodeError> for SequencerError {
    fn from(error: DecodeError) -> Self {
        SequencerError::Decode(error)
    }
}
