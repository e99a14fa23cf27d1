//! UDP messaging between the replicas of one database, with a fault switch.
//!
//! The protocols (Raft for the product DB, the rotating sequencer for the
//! customer DB) exchange small messages with a fixed set of peers and
//! tolerate loss by retransmitting. This module gives them exactly that and
//! no more: send a byte string to peer `i`, receive `(peer, bytes)` on a
//! channel; every datagram framed and checksummed, anything malformed or
//! from a stranger dropped and counted, never a panic. What the bytes mean
//! is the protocol's business (its codec). Peers may be named by IP or by
//! DNS name; names are looked up again every few seconds (peers.rs says why).
//!
//! * `udp.rs`: [`UdpTransport`], its "udp-receiver" and "udp-sender"
//!   threads, and the size limits.
//! * `nonblocking.rs`: one datagram sent from the caller's thread without
//!   blocking it (`UdpTransport::send_now`).
//! * `faults.rs`: [`FaultSwitch`], drops and cuts settable at run time.
//! * `fault_settings.rs`: [`FaultSettings`], the switch as serde data for
//!   the cluster file, with `validate`.
//! * `envelope.rs`: the header inside each frame (version, sender and
//!   recipient index), by which a datagram's sender is known.
//! * `peers.rs`: the peer table (index to the address it has now).
//! * `resolver.rs`: the "udp-resolver" thread that looks named peers up
//!   again.
//! * `counters.rs`: [`TransportStats`], what was sent, received and dropped.
//! * `errors.rs`: [`TransportError`].
//!
//! The framing is the write-ahead log's (`crate::wal::frame`): one format
//! for every checksummed byte string in the crate.

#![deny(missing_docs)]

pub mod counters;
pub mod envelope;
pub mod errors;
pub mod fault_settings;
pub mod faults;
mod nonblocking;
mod peers;
pub mod resolver;
mod socket_buffer;
pub mod udp;

#[cfg(test)]
mod tests;

pub use counters::TransportStats;
pub use envelope::{encode_datagram, ENVELOPE_HEADER_BYTES};
pub use errors::TransportError;
pub use fault_settings::{FaultSettings, FaultSettingsError};
pub use faults::{FaultSwitch, PEERS_MAX};
pub use resolver::RESOLVE_INTERVAL;
pub use socket_buffer::set_int_option;
pub use udp::{
    receive_buffer, Datagram, Receiving, UdpTransport, DATAGRAM_BYTES_MAX, INBOUND_QUEUE_MAX,
    OUTBOUND_QUEUE_MAX, PAYLOAD_BYTES_MAX,
};
