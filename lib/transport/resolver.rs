//! The "udp-resolver" thread: looks the transport's named peers up again
//! every [`RESOLVE_INTERVAL`] (why: peers.rs), so that a peer that moved is
//! reached at its new address within a few seconds.
//!
//! It runs only when some peer is named by DNS. It is not joined when the
//! transport is dropped: a lookup can block for as long as the system's
//! resolver waits (seconds when DNS is down), and a stop must not wait for
//! that. Dropping the transport closes the thread's stop channel, and the
//! thread ends as soon as its current lookup returns; it holds nothing but
//! the peer table and the counters.

use std::io;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use crossbeam_channel::{bounded, RecvTimeoutError, Sender};

use super::counters::TransportCounters;
use super::peers::PeerTable;

/// How often named peers are looked up again: a moved peer is unreachable
/// for at most about this long after its name points at its new address.
pub const RESOLVE_INTERVAL: Duration = Duration::from_secs(3);

/// Starts the thread; dropping the returned sender stops it.
pub(super) fn spawn_resolver(
    peers: Arc<PeerTable>,
    counters: Arc<TransportCounters>,
    interval: Duration,
) -> io::Result<Sender<()>> {
    let (stop, stopped) = bounded::<()>(0);
    thread::Builder::new()
        .name("udp-resolver".into())
        .spawn(move || loop {
            match stopped.recv_timeout(interval) {
                Err(RecvTimeoutError::Timeout) => peers.refresh(&counters),
                Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
            }
        })?;
    Ok(stop)
}
