//! What the transport did with each datagram, counted: the only trace of a
//! drop, since drops are never errors (they are logged at debug level only,
//! so that a flood of garbage cannot flood the log as well).

use std::sync::atomic::{AtomicU64, Ordering};

/// A snapshot of the transport's counters, for tests and cluster-status.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TransportStats {
    /// Datagrams handed to the socket (those it refused included).
    pub sent: u64,
    /// Datagrams the socket refused to send.
    pub send_errors: u64,
    /// Outgoing datagrams dropped by the fault switch.
    pub dropped_outgoing_by_faults: u64,
    /// Outgoing datagrams dropped because the send queue was full.
    pub dropped_outgoing_queue_full: u64,
    /// Datagrams from peers that passed every check (those then dropped
    /// for a full inbound channel included).
    pub received: u64,
    /// Failed receive calls.
    pub receive_errors: u64,
    /// Incoming datagrams larger than `DATAGRAM_BYTES_MAX`.
    pub dropped_oversized: u64,
    /// Incoming datagrams whose header names a sender not in the peer list.
    pub dropped_unknown_sender: u64,
    /// Incoming datagrams meant for another peer (sent to an address this
    /// node took over from it: a stale lookup).
    pub dropped_misdirected: u64,
    /// Outgoing datagrams dropped because their peer's name has not
    /// resolved yet.
    pub dropped_unresolved: u64,
    /// Failed lookups of peers' names (each kept its last good address).
    pub lookup_failures: u64,
    /// Incoming datagrams dropped by the fault switch.
    pub dropped_incoming_by_faults: u64,
    /// Incoming datagrams whose frame or header is bad (cut short, bad
    /// checksum, unknown header version, ...).
    pub dropped_malformed: u64,
    /// Incoming datagrams dropped because the inbound channel was full.
    pub dropped_inbound_queue_full: u64,
}

/// The live counters, shared by the caller's thread and the transport's
/// threads. Relaxed atomics: each counter is independent, and a reader only
/// needs a recent value.
#[derive(Debug, Default)]
pub(crate) struct TransportCounters {
    pub sent: AtomicU64,
    pub send_errors: AtomicU64,
    pub dropped_outgoing_by_faults: AtomicU64,
    pub dropped_outgoing_queue_full: AtomicU64,
    pub received: AtomicU64,
    pub receive_errors: AtomicU64,
    pub dropped_oversized: AtomicU64,
    pub dropped_unknown_sender: AtomicU64,
    pub dropped_misdirected: AtomicU64,
    pub dropped_unresolved: AtomicU64,
    pub lookup_failures: AtomicU64,
    pub dropped_incoming_by_faults: AtomicU64,
    pub dropped_malformed: AtomicU64,
    pub dropped_inbound_queue_full: AtomicU64,
}

/// Adds one to a counter.
pub(crate) fn count(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

impl TransportCounters {
    /// The current values.
    pub fn snapshot(&self) -> TransportStats {
        let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        TransportStats {
            sent: read(&self.sent),
            send_errors: read(&self.send_errors),
            dropped_outgoing_by_faults: read(&self.dropped_outgoing_by_faults),
            dropped_outgoing_queue_full: read(&self.dropped_outgoing_queue_full),
            received: read(&self.received),
            receive_errors: read(&self.receive_errors),
            dropped_oversized: read(&self.dropped_oversized),
            dropped_unknown_sender: read(&self.dropped_unknown_sender),
            dropped_misdirected: read(&self.dropped_misdirected),
            dropped_unresolved: read(&self.dropped_unresolved),
            lookup_failures: read(&self.lookup_failures),
            dropped_incoming_by_faults: read(&self.dropped_incoming_by_faults),
            dropped_malformed: read(&self.dropped_malformed),
            dropped_inbound_queue_full: read(&self.dropped_inbound_queue_full),
        }
    }
}
