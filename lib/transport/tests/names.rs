//! Peers named by DNS: `localhost` through the system's resolver, and a
//! stand-in lookup that moves a peer to another socket or fails.

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{local_socket, next_datagram, wait_until, ARRIVAL_TIMEOUT};
use crate::config::NodeAddress;
use crate::transport::peers::Lookup;
use crate::transport::{Datagram, FaultSwitch, UdpTransport};

/// Re-resolution this often in tests, so a move shows at once.
const QUICK: Duration = Duration::from_millis(20);

fn named(text: &str) -> NodeAddress {
    text.parse().expect("a valid address")
}

#[test]
fn peers_named_localhost_reach_each_other() {
    let sockets: Vec<UdpSocket> = (0..2).map(|_| local_socket()).collect();
    let peers: Vec<NodeAddress> = sockets
        .iter()
        .map(|s| {
            named(&format!(
                "localhost:{}",
                s.local_addr().expect("address").port()
            ))
        })
        .collect();
    let nodes: Vec<UdpTransport> = sockets
        .into_iter()
        .enumerate()
        .map(|(index, socket)| {
            UdpTransport::from_socket(socket, index, peers.clone(), FaultSwitch::new())
                .expect("transport")
        })
        .collect();
    nodes[0].send(1, b"to one").expect("send");
    nodes[1].send_now(0, b"to zero").expect("send");
    let to_one = next_datagram(&nodes[1]);
    assert_eq!((to_one.peer, &to_one.payload[..]), (0, &b"to one"[..]));
    let to_zero = next_datagram(&nodes[0]);
    assert_eq!((to_zero.peer, &to_zero.payload[..]), (1, &b"to zero"[..]));
    assert_eq!(nodes[0].stats().lookup_failures, 0);
}

#[test]
fn a_named_own_entry_binds_every_interface() {
    // A port free right now on every interface (the test binds it again
    // at once; another process taking it in between would fail the bind).
    let port = UdpSocket::bind("0.0.0.0:0")
        .and_then(|s| s.local_addr())
        .expect("a free port")
        .port();
    let other = local_socket().local_addr().expect("address");
    let peers = vec![named(&format!("localhost:{port}")), other.into()];
    let node = UdpTransport::bind(0, peers, FaultSwitch::new()).expect("bind");
    assert!(
        node.local_addr().ip().is_unspecified(),
        "{}",
        node.local_addr()
    );
    assert_eq!(node.local_addr().port(), port);
}

/// A lookup that answers what the test says, and counts its calls.
struct StandIn {
    answer: Arc<Mutex<Option<SocketAddr>>>,
    calls: Arc<Mutex<u64>>,
}

impl StandIn {
    fn new(first: Option<SocketAddr>) -> StandIn {
        StandIn {
            answer: Arc::new(Mutex::new(first)),
            calls: Arc::new(Mutex::new(0)),
        }
    }

    fn lookup(&self) -> Lookup {
        let (answer, calls) = (Arc::clone(&self.answer), Arc::clone(&self.calls));
        Arc::new(move |_: &NodeAddress| {
            *calls.lock().unwrap() += 1;
            match *answer.lock().unwrap() {
                Some(address) => Ok(vec![address]),
                None => Err(io::Error::other("no such host (stand-in)")),
            }
        })
    }

    fn answer(&self, address: Option<SocketAddr>) {
        *self.answer.lock().unwrap() = address;
    }

    fn calls(&self) -> u64 {
        *self.calls.lock().unwrap()
    }
}

/// Sends to `peer` until `receiver` gets one (the address may change under
/// the sender between two sends); fails the test after ARRIVAL_TIMEOUT.
fn send_until_received(sender: &UdpTransport, peer: usize, receiver: &UdpTransport) -> Datagram {
    let deadline = Instant::now() + ARRIVAL_TIMEOUT;
    loop {
        sender.send(peer, b"ping").expect("send");
        if let Ok(datagram) = receiver.inbound().recv_timeout(QUICK) {
            return datagram;
        }
        assert!(Instant::now() < deadline, "nothing arrived in time");
    }
}

#[test]
fn a_moved_peer_is_followed_and_a_failed_lookup_keeps_its_address() {
    // Peer 1 is "db-1.test"; it starts on one socket and moves to another
    // (a rescheduled pod: same name, new IP).
    let (socket_0, first_home, second_home) = (local_socket(), local_socket(), local_socket());
    let address_0 = socket_0.local_addr().expect("address");
    let (first, second) = (
        first_home.local_addr().expect("address"),
        second_home.local_addr().expect("address"),
    );
    let peers = vec![address_0.into(), named("db-1.test:7000")];
    let stand_in = StandIn::new(Some(first));
    let node_0 = UdpTransport::with_lookup(
        socket_0,
        0,
        peers.clone(),
        FaultSwitch::new(),
        (stand_in.lookup(), QUICK),
    )
    .expect("transport");
    let before = UdpTransport::from_socket(first_home, 1, peers.clone(), FaultSwitch::new())
        .expect("transport");
    assert_eq!(send_until_received(&node_0, 1, &before).peer, 0);
    drop(before);

    stand_in.answer(Some(second));
    let after =
        UdpTransport::from_socket(second_home, 1, peers, FaultSwitch::new()).expect("transport");
    assert_eq!(send_until_received(&node_0, 1, &after).peer, 0);
    // And back: peer 1 is known by its index, from its new address.
    after.send(0, b"moved").expect("send");
    let back = next_datagram(&node_0);
    assert_eq!((back.peer, &back.payload[..]), (1, &b"moved"[..]));

    // DNS fails: the last good address stays, the failures are counted.
    stand_in.answer(None);
    wait_until("two lookups failed", || node_0.stats().lookup_failures >= 2);
    assert!(
        stand_in.calls() >= 4,
        "the name is looked up again and again"
    );
    while after.inbound().try_recv().is_ok() {}
    node_0.send(1, b"still there").expect("send");
    assert_eq!(next_datagram(&after).payload, b"still there");
}

#[test]
fn a_name_that_does_not_resolve_yet_drops_and_counts_until_it_does() {
    let (socket_0, socket_1) = (local_socket(), local_socket());
    let address_1 = socket_1.local_addr().expect("address");
    let peers = vec![
        socket_0.local_addr().expect("address").into(),
        named("not-yet.test:7000"),
    ];
    let stand_in = StandIn::new(None);
    let node_0 = UdpTransport::with_lookup(
        socket_0,
        0,
        peers.clone(),
        FaultSwitch::new(),
        (stand_in.lookup(), QUICK),
    )
    .expect("a name that does not resolve is not fatal");
    assert!(node_0.stats().lookup_failures >= 1);
    node_0.send(1, b"lost").expect("not an error");
    node_0.send_now(1, b"lost too").expect("not an error");
    assert_eq!(node_0.stats().dropped_unresolved, 2);
    assert_eq!(node_0.stats().sent, 0);

    stand_in.answer(Some(address_1));
    let node_1 =
        UdpTransport::from_socket(socket_1, 1, peers, FaultSwitch::new()).expect("transport");
    assert_eq!(send_until_received(&node_0, 1, &node_1).peer, 0);
}
