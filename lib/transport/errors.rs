//! `TransportError`: the mistakes a caller can make when sending.
//!
//! Loss is not an error: UDP may drop any datagram, and so may the fault
//! switch or a full queue. Those drops are counted (see counters.rs), and the
//! protocols above retransmit. Errors here are requests that could never
//! succeed, so the caller hears about them at once.

use std::fmt;

/// Why `UdpTransport::send` refused a payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TransportError {
    /// The payload does not fit in one datagram with its frame header.
    PayloadTooLarge {
        /// The payload's size.
        bytes: usize,
        /// The largest payload a datagram carries.
        max: usize,
    },
    /// There is no peer with this index.
    UnknownPeer {
        /// The index given.
        peer: usize,
        /// How many peers there are.
        peers: usize,
    },
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransportError::PayloadTooLarge { bytes, max } => {
                write!(
                    f,
                    "payload of {bytes} bytes exceeds the datagram limit of {max}"
                )
            }
            TransportError::UnknownPeer { peer, peers } => {
                write!(f, "no peer {peer} (there are {peers})")
            }
        }
    }
}

impl std::error::Error for TransportError {}
