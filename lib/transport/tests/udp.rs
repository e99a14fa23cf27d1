//! The transport end to end: delivery, hostile input, unknown senders,
//! drops, cuts and run-time changes of the fault switch.

use std::net::SocketAddr;
use std::thread;

use rand::{Rng, SeedableRng};

use super::{cluster, local_socket, next_datagram, peers, wait_until, ARRIVAL_TIMEOUT};
use crate::transport::envelope::decode_datagram;
use crate::transport::{
    encode_datagram, receive_buffer, Datagram, FaultSwitch, Receiving::Caller, TransportError,
    UdpTransport, DATAGRAM_BYTES_MAX, PAYLOAD_BYTES_MAX,
};
use crate::wal::frame;

#[test]
fn datagrams_reach_their_peer_with_the_sender_index() {
    let nodes = cluster(3);
    for (from, node) in nodes.iter().enumerate() {
        for to in 0..nodes.len() {
            node.send(to, format!("{from}->{to}").as_bytes())
                .expect("send");
        }
    }
    for (to, node) in nodes.iter().enumerate() {
        let mut got: Vec<Datagram> = (0..nodes.len()).map(|_| next_datagram(node)).collect();
        got.sort_by_key(|datagram| datagram.peer);
        for (from, datagram) in got.iter().enumerate() {
            assert_eq!(datagram.peer, from);
            assert_eq!(datagram.payload, format!("{from}->{to}").into_bytes());
        }
    }
    assert_eq!(nodes[0].stats().sent, 3);
    assert_eq!(nodes[0].stats().received, 3);
}

#[test]
fn send_now_delivers_counts_and_obeys_the_same_rules_as_send() {
    // send_now skips the sender thread, not the checks: limits, peer
    // indices and the fault switch apply as for send.
    let nodes = cluster(2);
    nodes[0].send_now(1, b"now").expect("send");
    let datagram = next_datagram(&nodes[1]);
    assert_eq!((datagram.peer, datagram.payload), (0, b"now".to_vec()));
    assert_eq!(nodes[0].stats().sent, 1);
    assert!(matches!(
        nodes[0].send_now(1, &vec![7; PAYLOAD_BYTES_MAX + 1]),
        Err(TransportError::PayloadTooLarge { .. })
    ));
    assert_eq!(
        nodes[0].send_now(2, b"x"),
        Err(TransportError::UnknownPeer { peer: 2, peers: 2 })
    );
    nodes[0].faults().set_drop_outgoing(1.0);
    nodes[0].send_now(1, b"dropped").expect("send");
    assert_eq!(nodes[0].stats().dropped_outgoing_by_faults, 1);
    nodes[0].faults().set_drop_outgoing(0.0);
    nodes[0].send_now(1, b"after").expect("send");
    assert_eq!(next_datagram(&nodes[1]).payload, b"after".to_vec());
    assert_eq!(nodes[0].stats().sent, 2);
}

#[test]
fn payload_limits_and_peer_indices_are_checked() {
    let nodes = cluster(2);
    nodes[0]
        .send(1, &vec![7; PAYLOAD_BYTES_MAX])
        .expect("the largest payload");
    assert_eq!(next_datagram(&nodes[1]).payload.len(), PAYLOAD_BYTES_MAX);
    let too_large = nodes[0].send(1, &vec![7; PAYLOAD_BYTES_MAX + 1]);
    assert_eq!(
        too_large,
        Err(TransportError::PayloadTooLarge {
            bytes: PAYLOAD_BYTES_MAX + 1,
            max: PAYLOAD_BYTES_MAX
        })
    );
    assert_eq!(
        nodes[0].send(2, b"x"),
        Err(TransportError::UnknownPeer { peer: 2, peers: 2 })
    );
}

#[test]
fn a_peer_list_with_a_duplicate_address_is_refused() {
    let socket = local_socket();
    let address = socket.local_addr().expect("address");
    let twice = peers(&[address, address]);
    let refused = UdpTransport::from_socket(socket, 0, twice, FaultSwitch::new());
    assert_eq!(
        refused.err().map(|error| error.kind()),
        Some(std::io::ErrorKind::InvalidInput)
    );
}

#[test]
fn an_own_index_outside_the_peer_list_is_refused() {
    let socket = local_socket();
    let address = socket.local_addr().expect("address");
    let refused = UdpTransport::from_socket(socket, 1, peers(&[address]), FaultSwitch::new());
    let error = refused.err().expect("refused");
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
    assert!(error.to_string().contains("peer 1"), "{error}");
}

/// Datagrams no correct peer sends, each to be dropped as malformed.
fn malformed_datagrams() -> Vec<Vec<u8>> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut datagrams: Vec<Vec<u8>> = (0..50)
        .map(|_| {
            let len = rng.gen_range(0..200);
            (0..len).map(|_| rng.gen()).collect()
        })
        .collect();
    let valid = encode_datagram(1, 0, b"a valid payload");
    for cut in 0..valid.len() {
        datagrams.push(valid[..cut].to_vec());
    }
    let mut bad_checksum = valid.clone();
    bad_checksum[10] ^= 0x01;
    datagrams.push(bad_checksum);
    let mut trailing = valid.clone();
    trailing.push(0);
    datagrams.push(trailing);
    let mut huge_length = valid;
    huge_length[..4].copy_from_slice(&u32::MAX.to_le_bytes());
    datagrams.push(huge_length);
    // A valid frame without the transport's header (as sent before it),
    // one too short for the header, and one of an unknown header version.
    datagrams.push(frame::encode(b"a bare frame"));
    datagrams.push(frame::encode(&[1, 1]));
    datagrams.push(frame::encode(&[9, 1, 0, 7]));
    datagrams
}

#[test]
fn garbage_is_dropped_and_the_transport_keeps_working() {
    let raw = local_socket();
    let raw_address = raw.local_addr().expect("address");
    let socket = local_socket();
    let address = socket.local_addr().expect("address");
    let node = UdpTransport::from_socket(
        socket,
        0,
        peers(&[address, raw_address]),
        FaultSwitch::new(),
    )
    .expect("transport");
    let garbage = malformed_datagrams();
    for datagram in &garbage {
        raw.send_to(datagram, address).expect("send garbage");
    }
    // Oversized: a well-formed frame in a datagram over the limit.
    let oversized = encode_datagram(1, 0, &vec![1; DATAGRAM_BYTES_MAX]);
    raw.send_to(&oversized, address)
        .expect("send an oversized datagram");
    raw.send_to(&encode_datagram(1, 0, b"marker"), address)
        .expect("send the marker");

    assert_eq!(
        next_datagram(&node),
        Datagram {
            peer: 1,
            payload: b"marker".to_vec()
        }
    );
    let stats = node.stats();
    assert_eq!(stats.dropped_malformed, garbage.len() as u64);
    assert_eq!(stats.dropped_oversized, 1);
    assert_eq!(stats.received, 1);

    // Still working both ways.
    node.send(1, b"reply").expect("send");
    raw.set_read_timeout(Some(ARRIVAL_TIMEOUT))
        .expect("timeout");
    let mut buffer = [0; 64];
    let (bytes, from) = raw.recv_from(&mut buffer).expect("the reply");
    assert_eq!(from, address);
    let reply = decode_datagram(&buffer[..bytes], 64).expect("a valid datagram");
    assert_eq!((reply.sender, reply.recipient), (0, 1));
    assert_eq!(reply.payload, b"reply");
}

#[test]
fn datagrams_from_unknown_senders_are_dropped() {
    // A sender is known by the index in its datagram's header: an index
    // outside the peer list is a stranger, whatever its source address.
    let nodes = cluster(2);
    let stranger = local_socket();
    let target: SocketAddr = nodes[1].local_addr();
    stranger
        .send_to(&encode_datagram(2, 1, b"let me in"), target)
        .expect("send");
    stranger
        .send_to(&encode_datagram(63, 1, b"again"), target)
        .expect("send");
    let counted = || nodes[1].stats().dropped_unknown_sender == 2;
    wait_until("both strangers' datagrams are dropped", counted);
    nodes[0].send(1, b"marker").expect("send");
    assert_eq!(
        next_datagram(&nodes[1]),
        Datagram {
            peer: 0,
            payload: b"marker".to_vec()
        }
    );
    assert_eq!(nodes[1].stats().received, 1);
}

#[test]
fn drop_probability_one_drops_all_and_zero_none() {
    let nodes = cluster(2);
    nodes[0].faults().set_drop_outgoing(1.0);
    for sequence in 0..100u32 {
        nodes[0].send(1, &sequence.to_le_bytes()).expect("send");
    }
    assert_eq!(nodes[0].stats().dropped_outgoing_by_faults, 100);
    nodes[0].faults().set_drop_outgoing(0.0);
    for sequence in 0..100u32 {
        nodes[0].send(1, &sequence.to_le_bytes()).expect("send");
        assert_eq!(next_datagram(&nodes[1]).payload, sequence.to_le_bytes());
    }
    assert_eq!(nodes[0].stats().dropped_outgoing_by_faults, 100);
}

#[test]
fn drop_probability_three_tenths_drops_about_three_tenths() {
    // Lock step: after each send the test knows from the counter whether
    // the switch dropped it, and if not, waits for it to arrive.
    const PACKETS: u32 = 2000;
    let nodes = cluster(2);
    nodes[0].faults().set_drop_outgoing(0.3);
    let mut delivered = 0;
    for sequence in 0..PACKETS {
        let dropped_before = nodes[0].stats().dropped_outgoing_by_faults;
        nodes[0].send(1, &sequence.to_le_bytes()).expect("send");
        if nodes[0].stats().dropped_outgoing_by_faults == dropped_before {
            assert_eq!(next_datagram(&nodes[1]).payload, sequence.to_le_bytes());
            delivered += 1;
        }
    }
    assert!(
        (1200..=1600).contains(&delivered),
        "{delivered} of {PACKETS} delivered"
    );
}

#[test]
fn incoming_drops_and_run_time_changes_from_another_thread() {
    let nodes = cluster(2);
    nodes[1].faults().set_drop_incoming(1.0);
    for sequence in 0..50u32 {
        nodes[0].send(1, &sequence.to_le_bytes()).expect("send");
    }
    let counted = || nodes[1].stats().dropped_incoming_by_faults == 50;
    wait_until("the receiver has dropped all 50", counted);
    // Changed from another thread, while the receiver runs.
    let switch = nodes[1].faults().clone();
    thread::spawn(move || switch.set_drop_incoming(0.0))
        .join()
        .expect("join");
    nodes[0].send(1, b"marker").expect("send");
    assert_eq!(next_datagram(&nodes[1]).payload, b"marker");
    assert_eq!(nodes[1].stats().dropped_incoming_by_faults, 50);
}

#[test]
fn a_cut_peer_is_cut_both_ways_until_healed() {
    let nodes = cluster(3);
    nodes[0].faults().cut(1);
    nodes[0].send(1, b"to the cut peer").expect("send");
    assert_eq!(nodes[0].stats().dropped_outgoing_by_faults, 1);
    nodes[1].send(0, b"from the cut peer").expect("send");
    nodes[2].send(0, b"from peer 2").expect("send");
    nodes[0].send(2, b"to peer 2").expect("send");
    assert_eq!(next_datagram(&nodes[2]).payload, b"to peer 2");
    assert_eq!(
        next_datagram(&nodes[0]),
        Datagram {
            peer: 2,
            payload: b"from peer 2".to_vec()
        }
    );

    let counted = || nodes[0].stats().dropped_incoming_by_faults == 1;
    wait_until("the cut peer's datagram is dropped", counted);
    nodes[0].faults().heal(1);
    nodes[1].send(0, b"healed").expect("send");
    assert_eq!(
        next_datagram(&nodes[0]),
        Datagram {
            peer: 1,
            payload: b"healed".to_vec()
        }
    );
    nodes[0].send(1, b"to the healed peer").expect("send");
    assert_eq!(next_datagram(&nodes[1]).payload, b"to the healed peer");
}

#[test]
fn the_sender_is_known_by_its_header_not_its_source_address() {
    // A peer that moved (or binds every interface) sends from an address
    // the others never saw: its index still names it. A datagram meant for
    // another peer (sent to an address this node took over) is dropped.
    let nodes = cluster(2);
    let elsewhere = local_socket();
    let target = nodes[1].local_addr();
    elsewhere
        .send_to(&encode_datagram(1, 0, b"meant for peer 0"), target)
        .expect("send");
    let counted = || nodes[1].stats().dropped_misdirected == 1;
    wait_until("the misdirected datagram is dropped", counted);
    elsewhere
        .send_to(&encode_datagram(0, 1, b"peer 0, moved"), target)
        .expect("send");
    assert_eq!(
        next_datagram(&nodes[1]),
        Datagram {
            peer: 0,
            payload: b"peer 0, moved".to_vec()
        }
    );
    assert_eq!(nodes[1].stats().dropped_unknown_sender, 0);
}

#[test]
fn a_transport_read_by_its_caller_applies_the_same_checks_and_runs_no_receiver() {
    let raw = local_socket();
    let raw_address = raw.local_addr().expect("address");
    let socket = local_socket();
    let address = socket.local_addr().expect("address");
    let faults = FaultSwitch::new();
    let peers = peers(&[address, raw_address]);
    let node = UdpTransport::from_socket_receiving(socket, 0, peers, faults.clone(), Caller)
        .expect("transport");
    let mut buffer = receive_buffer();
    assert_eq!(node.receive_now(&mut buffer), None, "nothing waits");
    let garbage = malformed_datagrams();
    for datagram in &garbage {
        raw.send_to(datagram, address).expect("send garbage");
    }
    raw.send_to(&encode_datagram(1, 3, b"not for me"), address)
        .expect("send");
    raw.send_to(&encode_datagram(1, 0, b"one"), address)
        .expect("send");
    // Waits until the next datagram passes; the ones before it are handled
    // by then (one sender's datagrams stay in order on loopback).
    let deadline = std::time::Instant::now() + ARRIVAL_TIMEOUT;
    let mut next = |node: &UdpTransport| loop {
        if let Some(datagram) = node.receive_now(&mut buffer) {
            return datagram;
        }
        assert!(std::time::Instant::now() < deadline, "no datagram passed");
        thread::yield_now();
    };
    assert_eq!(
        next(&node),
        Datagram {
            peer: 1,
            payload: b"one".to_vec()
        }
    );
    faults.set_drop_incoming(1.0);
    raw.send_to(&encode_datagram(1, 0, b"dropped"), address)
        .expect("send");
    // The switch applies when the datagram is read, so read until it was.
    while node.stats().dropped_incoming_by_faults == 0 {
        assert!(std::time::Instant::now() < deadline, "nothing was dropped");
        assert_eq!(node.receive_now(&mut receive_buffer()), None);
        thread::yield_now();
    }
    faults.set_drop_incoming(0.0);
    raw.send_to(&encode_datagram(1, 0, b"two"), address)
        .expect("send");
    assert_eq!(next(&node).payload, b"two");
    let stats = node.stats();
    assert_eq!(stats.dropped_malformed, garbage.len() as u64);
    assert_eq!(stats.dropped_misdirected, 1);
    assert_eq!(stats.received, 2);
    // No receiver thread took any of them: the inbound channel is empty.
    assert!(node.inbound().is_empty());
}
