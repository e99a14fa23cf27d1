//! The driver's parts on their own, without threads where possible: the
//! byte formats, the datagram filter, the reply tables, recovery's repairs,
//! and a one-replica cluster through a clean stop and a restart.

use std::net::{SocketAddr, UdpSocket};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tempfile::TempDir;

use super::super::codec::{
    decode_entry, decode_hard_state, decode_proposal, decode_read_context, encode_entry,
    encode_hard_state, encode_proposal, encode_read_context, ProposalTag,
};
use super::super::inbound::decode_datagram;
use super::super::recovery::{fit_to_snapshot, RecoveryReport};
use super::super::replies::{pending_proposals, PendingRead, PendingReads};
use super::cluster::wait_until;
use super::toy::{put, Toy, ToyRequest, ToyResult};
use crate::driver_kit::{Driver, DriverOptions};
use crate::driver_kit::{Reply, TIMED_OUT};
use crate::raft::{
    Body, Entry, EntryKind, HardState, LogIndex, Message, NodeId, SnapshotMeta, Term,
};
use crate::raft_driver::{RaftOptions, RaftReplicator};
use crate::replication::{ReplicationError, Replicator};
use crate::transport::{encode_datagram, Datagram};
use crate::wal::{Wal, WalOptions};
use crate::wire::DecodeError;

fn entry(index: u64, term: u64, kind: EntryKind, data: &[u8]) -> Entry {
    Entry {
        term: Term(term),
        index: LogIndex(index),
        kind,
        data: data.to_vec(),
    }
}

#[test]
fn every_format_round_trips() {
    for original in [
        entry(7, 3, EntryKind::Normal, b"{\"put\":1}"),
        entry(8, 3, EntryKind::NoOp, b""),
    ] {
        let bytes = encode_entry(&original);
        assert_eq!(
            decode_entry(7 + u64::from(original.kind == EntryKind::NoOp), &bytes),
            Ok(original)
        );
    }
    let tag = ProposalTag {
        node: NodeId(4),
        incarnation: 0xfeed_beef,
        number: 42,
    };
    let proposal = encode_proposal(tag, b"request");
    assert_eq!(decode_proposal(&proposal), Ok((tag, &b"request"[..])));
    for vote in [None, Some(NodeId(2))] {
        let state = HardState {
            term: Term(9),
            vote,
            commit: LogIndex(77),
        };
        assert_eq!(decode_hard_state(&encode_hard_state(&state)), Ok(state));
    }
    assert_eq!(decode_read_context(&encode_read_context(99)), Ok(99));
}

#[test]
fn garbage_is_an_error_never_a_panic() {
    let mut rng = StdRng::seed_from_u64(3);
    for _ in 0..5000 {
        let length = rng.gen_range(0..40);
        let mut bytes: Vec<u8> = (0..length).map(|_| rng.gen()).collect();
        if rng.gen_bool(0.5) && !bytes.is_empty() {
            bytes[0] = 1; // a valid version byte, to get past the first check
        }
        let _ = decode_entry(1, &bytes);
        let _ = decode_proposal(&bytes);
        let _ = decode_hard_state(&bytes);
        let _ = decode_read_context(&bytes);
        let datagram = Datagram {
            peer: 1,
            payload: bytes,
        };
        let _ = decode_datagram(&datagram);
    }
    assert!(decode_hard_state(&[1, 2, 3]).is_err());
    assert_eq!(decode_entry(1, &[9, 0]), Err(DecodeError::BadVersion(9)));
}

#[test]
fn a_datagram_must_come_from_the_peer_it_names() {
    let message = Message {
        from: NodeId(2),
        to: NodeId(0),
        term: Term(5),
        body: Body::HeartbeatResponse { read_round: 1 },
    };
    let honest = Datagram {
        peer: 2,
        payload: message.encode(),
    };
    assert_eq!(decode_datagram(&honest), Ok(message.clone()));
    let forged = Datagram {
        peer: 3,
        payload: message.encode(),
    };
    assert!(decode_datagram(&forged).unwrap_err().contains("claims"));
}

type Answers = Arc<Mutex<Vec<Result<u32, ReplicationError>>>>;

/// A reply that records its answer.
fn recorded_reply(answers: &Answers) -> Reply<u32> {
    let answers = Arc::clone(answers);
    Reply::new(Box::new(move |result| answers.lock().unwrap().push(result)))
}

/// The deadline `after` from now.
fn due(after: Duration) -> Instant {
    Instant::now() + after
}

#[test]
fn pending_proposals_expire_and_redirect_at_a_step_down() {
    let answers = Answers::default();
    let mut pending = pending_proposals();
    pending.expect(1, recorded_reply(&answers), due(Duration::ZERO));
    pending.expect(2, recorded_reply(&answers), due(Duration::from_secs(60)));
    pending.expect(3, recorded_reply(&answers), due(Duration::from_secs(60)));
    pending.expire(Instant::now());
    assert_eq!(pending.len(), 2);
    pending.take(2).expect("waits").send(Ok(20));
    let redirect = ReplicationError::NotLeader { leader: Some(4) };
    pending.fail_all(&redirect);
    assert_eq!(pending.len(), 0);
    let answers = answers.lock().unwrap();
    assert_eq!(
        *answers,
        vec![
            Err(ReplicationError::Unavailable(TIMED_OUT.into())),
            Ok(20),
            Err(redirect)
        ]
    );
}

#[test]
fn reads_are_answered_in_index_order_once_applied() {
    let answers = Answers::default();
    let mut reads: PendingReads<u32, u32> = PendingReads::default();
    for id in 1..=4 {
        let reply = recorded_reply(&answers);
        let deadline = due(Duration::from_secs(60));
        let read = PendingRead {
            request: id as u32,
            reply,
            deadline,
        };
        reads.expect(id, read, deadline);
    }
    reads.confirm(1, 10);
    reads.confirm(2, 5);
    reads.confirm(3, 12);
    reads.confirm(99, 1); // unknown: ignored
    let ready = reads.take_ready(10);
    let order: Vec<u32> = ready.iter().map(|read| read.request).collect();
    assert_eq!(order, vec![2, 1]);
    for read in ready {
        read.reply.send(Ok(read.request));
    }
    // A step-down fails read 4 (unconfirmed) and keeps read 3 (confirmed).
    reads.fail_unconfirmed(&ReplicationError::NotLeader { leader: None });
    assert_eq!(reads.len(), 1);
    for read in reads.take_ready(12) {
        read.reply.send(Ok(read.request));
    }
    let answers = answers.lock().unwrap();
    assert_eq!(
        *answers,
        vec![
            Ok(2),
            Ok(1),
            Err(ReplicationError::NotLeader { leader: None }),
            Ok(3)
        ]
    );
}

fn wal_with(dir: &TempDir, entries: &[Entry]) -> Wal {
    let (mut wal, _) = Wal::open(dir.path(), WalOptions::default()).expect("open");
    let records: Vec<(u64, Vec<u8>)> = entries
        .iter()
        .map(|e| (e.index.0, encode_entry(e)))
        .collect();
    wal.append(&records).expect("append");
    wal.sync().expect("sync");
    wal
}

#[test]
fn recovery_keeps_a_log_that_follows_the_snapshot_and_empties_one_that_does_not() {
    let log: Vec<Entry> = (1..=6)
        .map(|i| entry(i, 2, EntryKind::Normal, b"x"))
        .collect();
    let snapshot_at = |index, term| SnapshotMeta {
        index: LogIndex(index),
        term: Term(term),
    };
    let dir = TempDir::new().unwrap();
    let mut wal = wal_with(&dir, &log);
    let mut report = RecoveryReport::default();
    let kept = fit_to_snapshot(&mut wal, snapshot_at(4, 2), log.clone(), &mut report).unwrap();
    assert_eq!(kept, log[4..].to_vec());
    assert!(!report.log_emptied);
    // A snapshot from a leader saved, the old log not yet emptied: its
    // entry at the snapshot's index has another term.
    let dir = TempDir::new().unwrap();
    let mut wal = wal_with(&dir, &log);
    let kept = fit_to_snapshot(&mut wal, snapshot_at(4, 3), log.clone(), &mut report).unwrap();
    assert!(kept.is_empty() && report.log_emptied);
    assert_eq!(wal.last_index(), None);
    // The old log ends before the snapshot: an append after it would leave a gap.
    let dir = TempDir::new().unwrap();
    let mut wal = wal_with(&dir, &log);
    let mut report = RecoveryReport::default();
    let kept = fit_to_snapshot(&mut wal, snapshot_at(9, 2), log, &mut report).unwrap();
    assert!(kept.is_empty() && report.log_emptied);
}

/// Goal: a clean shutdown keeps everything and writes a last snapshot; a
/// restart restores the state from it without replaying the log.
/// Method: a one-replica cluster (its own majority), 30 writes, shutdown,
/// restart from the same directory, read back.
#[test]
fn one_replica_survives_a_clean_shutdown_and_restart() {
    let _ = env_logger::builder().is_test(true).try_init();
    let dir = TempDir::new().unwrap();
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let address = socket.local_addr().unwrap();
    let options = RaftOptions::new(0, vec![address], dir.path());
    let replica = RaftReplicator::start_on(socket, options.clone(), Toy::default()).unwrap();
    let submit = |replica: &RaftReplicator<Toy>, request: ToyRequest| {
        let (answer, outcome) = crossbeam_channel::bounded(1);
        replica.submit(request, Box::new(move |result| drop(answer.send(result))));
        outcome
            .recv_timeout(Duration::from_secs(10))
            .expect("answered")
    };
    wait_until("the lone replica leads", || {
        replica.status().role == "leader"
    });
    for id in 1..=30 {
        assert_eq!(
            submit(&replica, put(id, "k", id as i64)),
            Ok(ToyResult::Put { position: id })
        );
    }
    let before = replica.digest();
    replica.shutdown();
    assert_eq!(replica.status().role, "stopped");
    assert!(matches!(
        submit(&replica, put(31, "k", 31)),
        Err(ReplicationError::Unavailable(_))
    ));
    let replica = RaftReplicator::start(options, Toy::default()).unwrap();
    let recovery = replica.driver_status().recovery;
    assert_eq!(
        recovery.snapshot_index, before.applied_index,
        "{recovery:?}"
    );
    assert_eq!(replica.digest(), before);
    wait_until("the lone replica leads again", || {
        replica.status().role == "leader"
    });
    let read = ToyRequest::Get { key: "k".into() };
    assert_eq!(submit(&replica, read), Ok(ToyResult::Value(Some(30))));
}

/// Three replicas of a five-replica cluster, running; the test holds the
/// sockets of peers 3 and 4 and sends from 4's as if it were that peer.
struct ThreeOfFive {
    replicas: Vec<RaftReplicator<Toy>>,
    addresses: Vec<SocketAddr>,
    /// Peer 4's socket.
    forger: UdpSocket,
    /// Dropped after the replicas (fields drop in order).
    _dirs: Vec<TempDir>,
}

impl ThreeOfFive {
    fn start() -> ThreeOfFive {
        let _ = env_logger::builder().is_test(true).try_init();
        let mut sockets: Vec<UdpSocket> = (0..5)
            .map(|_| UdpSocket::bind("127.0.0.1:0").unwrap())
            .collect();
        let addresses: Vec<_> = sockets.iter().map(|s| s.local_addr().unwrap()).collect();
        let forger = sockets.pop().unwrap();
        let dirs: Vec<TempDir> = (0..3).map(|_| TempDir::new().unwrap()).collect();
        let replicas = sockets
            .drain(..3)
            .enumerate()
            .map(|(index, socket)| {
                let options = RaftOptions::new(index, addresses.clone(), dirs[index].path());
                RaftReplicator::start_on(socket, options, Toy::default()).unwrap()
            })
            .collect();
        ThreeOfFive {
            replicas,
            addresses,
            forger,
            _dirs: dirs,
        }
    }
}

/// The replica that says it leads, if one does.
fn leads(replicas: &[RaftReplicator<Toy>]) -> Option<usize> {
    replicas.iter().position(|r| r.status().role == "leader")
}

/// Goal: what a peer address sends that is not a valid message from it is
/// dropped and counted, and the cluster keeps serving. Method: three
/// replicas of a five-replica cluster run; the test holds the sockets of
/// peers 3 and 4 and sends the leader an unframed datagram, framed
/// garbage, a message claiming to come from peer 1, and a stale one.
#[test]
fn garbage_and_stale_messages_from_peers_are_dropped_and_counted() {
    let ThreeOfFive {
        replicas,
        addresses,
        forger,
        ..
    } = &ThreeOfFive::start();
    let mut leader = 0;
    wait_until("one of the three leads", || {
        let found = leads(replicas);
        leader = found.unwrap_or(0);
        found.is_some()
    });
    let target = addresses[leader];
    let before = replicas[leader].driver_status();
    let message = |from: usize, term: Term| Message {
        from: NodeId(from),
        to: NodeId(leader),
        term,
        body: Body::HeartbeatResponse { read_round: 0 },
    };
    // The forger writes its own index (4) into the transport's header.
    let from_forger = |payload: &[u8]| encode_datagram(4, leader, payload);
    let datagrams = [
        b"no frame at all".to_vec(),
        from_forger(b"a frame around garbage"),
        from_forger(&message(1, before.node.term).encode()),
        from_forger(&message(4, Term(0)).encode()),
    ];
    for datagram in &datagrams {
        forger.send_to(datagram, target).unwrap();
    }
    wait_until("every forged datagram is counted", || {
        let now = replicas[leader].driver_status();
        let transport = now.transport.unwrap();
        now.driver.malformed_dropped >= before.driver.malformed_dropped + 2
            && now.node.counters.messages_dropped > before.node.counters.messages_dropped
            && transport.dropped_malformed >= 1
    });
    wait_until("the cluster still takes writes", || {
        let Some(leader) = replicas.iter().find(|r| r.status().role == "leader") else {
            return false;
        };
        let (answer, outcome) = crossbeam_channel::bounded(1);
        leader.submit(put(1, "k", 1), Box::new(move |r| drop(answer.send(r))));
        let outcome = outcome.recv_timeout(Duration::from_secs(10)).unwrap();
        outcome == Ok(ToyResult::Put { position: 1 })
    });
}

/// Goal: a peer message that contradicts what the leader holds is refused,
/// and the count reaches the replica's status (what cluster-status prints
/// as `contradictions=`). Method: the test, as peer 4, sends whichever
/// replica leads a heartbeat in that leader's own term, as a second leader
/// of the term (again at each look, should leadership move).
#[test]
fn a_contradicting_message_is_counted_in_the_replica_status() {
    let cluster = ThreeOfFive::start();
    assert!(cluster
        .replicas
        .iter()
        .all(|r| r.status().contradictions == 0));
    wait_until("a leader counted the contradiction", || {
        let Some(leader) = leads(&cluster.replicas) else {
            return false;
        };
        let replica = &cluster.replicas[leader];
        if replica.status().contradictions >= 1 {
            return true;
        }
        let second_leader = Message {
            from: NodeId(4),
            to: NodeId(leader),
            term: replica.driver_status().node.term,
            body: Body::Heartbeat {
                commit: LogIndex(0),
                read_round: 0,
            },
        };
        let datagram = encode_datagram(4, leader, &second_leader.encode());
        let target = cluster.addresses[leader];
        cluster.forger.send_to(&datagram, target).unwrap();
        false
    });
}

#[test]
fn an_append_adds_the_header_bytes_limits_rs_counts() {
    use super::super::limits::{APPEND_ENTRY_HEADER_BYTES, APPEND_HEADER_BYTES};
    let entries: Vec<Entry> = (1..=3)
        .map(|index| Entry {
            term: Term(2),
            index: LogIndex(index),
            kind: EntryKind::Normal,
            data: vec![7; 10 * index as usize],
        })
        .collect();
    let data: usize = entries.iter().map(|entry| entry.data.len()).sum();
    let message = Message {
        from: NodeId(0),
        to: NodeId(1),
        term: Term(2),
        body: Body::Append {
            prev_log: crate::raft::EntryId {
                term: Term(1),
                index: LogIndex(0),
            },
            commit: LogIndex(0),
            entries,
        },
    };
    let expected = APPEND_HEADER_BYTES + 3 * APPEND_ENTRY_HEADER_BYTES + data;
    assert_eq!(message.encode().len(), expected);
}

#[test]
fn the_bytes_of_every_format_stay_the_same() {
    let tag = ProposalTag {
        node: NodeId(4),
        incarnation: 0xfeed_beef,
        number: 42,
    };
    let state = HardState {
        term: Term(9),
        vote: Some(NodeId(2)),
        commit: LogIndex(77),
    };
    let encodings = vec![
        encode_entry(&entry(7, 3, EntryKind::Normal, b"{}")),
        encode_entry(&entry(8, 3, EntryKind::NoOp, b"")),
        encode_proposal(tag, b"request"),
        encode_hard_state(&state),
        encode_read_context(99),
    ];
    crate::wire::golden::assert_golden(
        &encodings,
        &[
            "010003000000000000007b7d",
            "01010300000000000000",
            "0104000000efbeedfe000000002a0000000000000072657175657374",
            "01090000000000000001020000004d00000000000000",
            "6300000000000000",
        ],
    );
}
