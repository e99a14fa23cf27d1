//! The expected failures of the sequencer: a bad config, a refused broadcast,
//! a datagram that does not decode, a message that names members or numbers
//! outside the group, a restore or snapshot that does not fit. A message
//! that contradicts what the member holds is no error either: `step`
//! refuses it with [`Verdict::Refused`](crate::verdict::Verdict). A broken
//! internal invariant is not among them: that panics with context.

use std::fmt;

pub use crate::wire::DecodeError;

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
    /// The member restarted in the incarnation its earlier life numbered
    /// requests in, and waits for a new view to take a new one
    /// (docs/SEQUENCER.md, section 5.8): it takes no requests until then.
    NewIncarnation,
    /// A read came while the member does not work in a view (a view change
    /// is under way): it could wait long; send the client elsewhere.
    NotInView,
    /// `reads_pending_max` reads are unanswered here; retry later.
    TooManyReads {
        /// The configured maximum.
        max: usize,
    },
}

impl fmt::Display for SequencerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SequencerError::ConfigInvalid(rule) => write!(f, "invalid sequencer config: {rule}"),
            SequencerError::Recovering => write!(
                f,
                "this member is recovering from an empty disk; try another replica"
            ),
            SequencerError::NewIncarnation => write!(
                f,
                "this member restarted and waits for a new view to number its requests in; \
                 try another replica"
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

impl std::error::Error for SequencerError {}

impl From<DecodeError> for SequencerError {
    fn from(error: DecodeError) -> Self {
        SequencerError::Decode(error)
    }
}
