//! Tests of the UDP transport and its fault switch, on 127.0.0.1.
//!
//! Sockets bind port 0, and the peer lists are built from the ports they
//! got. Nothing waits with a sleep. A test waits for a datagram on the
//! inbound channel with a timeout. To see that something was dropped it
//! either sends a marker behind it from the same socket (loopback keeps one
//! sender's order and the receiver handles datagrams in order, so once the
//! marker is in, everything before it was handled), or, where the drop
//! happens on another path, waits until the drop counter says so, with a
//! deadline.

mod faults;
mod names;
mod udp;

use std::net::{SocketAddr, UdpSocket};
use std::thread;
use std::time::{Duration, Instant};

use super::{Datagram, FaultSwitch, UdpTransport};
use crate::config::NodeAddress;

/// How long a test waits for a datagram that must come.
pub(super) const ARRIVAL_TIMEOUT: Duration = Duration::from_secs(5);

/// A socket on 127.0.0.1 with a port of its own.
pub(super) fn local_socket() -> UdpSocket {
    UdpSocket::bind("127.0.0.1:0").expect("bind 127.0.0.1:0")
}

/// `n` transports that all know each other, peer `i` being transport `i`,
/// each with its own seeded fault switch.
pub(super) fn cluster(n: usize) -> Vec<UdpTransport> {
    let sockets: Vec<UdpSocket> = (0..n).map(|_| local_socket()).collect();
    let addresses: Vec<SocketAddr> = sockets
        .iter()
        .map(|socket| socket.local_addr().expect("address"))
        .collect();
    sockets
        .into_iter()
        .enumerate()
        .map(|(index, socket)| {
            let faults = FaultSwitch::with_seed(index as u64 + 1);
            UdpTransport::from_socket(socket, index, peers(&addresses), faults).expect("transport")
        })
        .collect()
}

/// The peer list of these addresses.
pub(super) fn peers(addresses: &[SocketAddr]) -> Vec<NodeAddress> {
    addresses.iter().map(|&address| address.into()).collect()
}

/// The next datagram `transport` receives; fails the test if none comes.
pub(super) fn next_datagram(transport: &UdpTransport) -> Datagram {
    transport
        .inbound()
        .recv_timeout(ARRIVAL_TIMEOUT)
        .expect("a datagram in time")
}

/// Waits until `condition` holds; fails the test after `ARRIVAL_TIMEOUT`.
/// It yields between checks rather than sleeping: it returns as soon as the
/// condition holds.
pub(super) fn wait_until(what: &str, condition: impl Fn() -> bool) {
    let deadline = Instant::now() + ARRIVAL_TIMEOUT;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        thread::yield_now();
    }
}
