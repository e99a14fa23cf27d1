//! The wire format: every kind of message survives a round trip, and no
//! input, however broken, makes `decode` panic or allocate without bound;
//! anything `encode` could not have produced is an error.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::raft::message::NUMBER_MAX;
use crate::raft::{
    AppendOutcome, Body, DecodeError, Entry, EntryId, EntryKind, LogIndex, Message, NodeId,
    RejectHint, SnapshotMeta, Term,
};

fn id(index: u64, term: u64) -> EntryId {
    EntryId {
        term: Term(term),
        index: LogIndex(index),
    }
}

/// One message of every kind and variant, with edge values.
fn samples() -> Vec<Message> {
    bodies()
        .into_iter()
        .map(|body| Message {
            from: NodeId(1),
            to: NodeId(4),
            term: Term(3),
            body,
        })
        .collect()
}

fn sample_entries() -> Vec<Entry> {
    vec![
        Entry {
            term: Term(3),
            index: LogIndex(8),
            kind: EntryKind::NoOp,
            data: Vec::new(),
        },
        Entry {
            term: Term(3),
            index: LogIndex(9),
            kind: EntryKind::Normal,
            data: b"put item".to_vec(),
        },
    ]
}

fn bodies() -> Vec<Body> {
    vec![
        Body::PreVote { last_log: id(7, 2) },
        Body::PreVoteResponse { granted: true },
        Body::Vote {
            last_log: id(NUMBER_MAX, 3),
        },
        Body::VoteResponse { granted: false },
        Body::Append {
            prev_log: id(7, 2),
            commit: LogIndex(6),
            entries: sample_entries(),
        },
        Body::Append {
            prev_log: id(0, 0),
            commit: LogIndex(0),
            entries: Vec::new(),
        },
        Body::AppendResponse {
            outcome: AppendOutcome::Accepted {
                match_index: LogIndex(9),
            },
        },
        Body::AppendResponse {
            outcome: AppendOutcome::Rejected {
                rejected_index: LogIndex(9),
                hint: RejectHint::LogTooShort {
                    last_index: LogIndex(4),
                },
            },
        },
        Body::AppendResponse {
            outcome: AppendOutcome::Rejected {
                rejected_index: LogIndex(9),
                hint: RejectHint::TermConflict {
                    term: Term(2),
                    first_index: LogIndex(5),
                },
            },
        },
        Body::Heartbeat {
            commit: LogIndex(6),
            read_round: 42,
        },
        Body::HeartbeatResponse { read_round: 42 },
        Body::InstallSnapshot {
            snapshot: SnapshotMeta {
                index: LogIndex(100),
                term: Term(3),
            },
            offset: 4096,
            data: vec![0xab; 300],
            last: true,
        },
        Body::SnapshotResponse {
            snapshot_index: LogIndex(100),
            next_offset: 4396,
            accepted: false,
        },
    ]
}

#[test]
fn every_message_kind_survives_a_round_trip() {
    for message in samples() {
        let bytes = message.encode();
        assert_eq!(
            Message::decode(&bytes),
            Ok(message.clone()),
            "{}",
            message.describe()
        );
        assert_eq!(
            message.check_well_formed(5),
            Ok(()),
            "{}",
            message.describe()
        );
    }
}

#[test]
fn every_truncation_is_an_error() {
    for message in samples() {
        let bytes = message.encode();
        for length in 0..bytes.len() {
            let result = Message::decode(&bytes[..length]);
            assert!(
                matches!(result, Err(DecodeError::Truncated { .. })),
                "{} cut at {length}: {result:?}",
                message.describe()
            );
        }
    }
}

#[test]
fn trailing_bytes_and_unknown_values_are_errors() {
    let mut bytes = samples()[0].encode();
    bytes.push(0);
    assert_eq!(Message::decode(&bytes), Err(DecodeError::TrailingBytes(1)));
    let mut bytes = samples()[1].encode();
    *bytes.last_mut().expect("granted byte") = 2;
    assert!(matches!(
        Message::decode(&bytes),
        Err(DecodeError::BadValue {
            what: "granted",
            ..
        })
    ));
    let mut bytes = samples()[1].encode();
    bytes[1] = 200;
    assert_eq!(Message::decode(&bytes), Err(DecodeError::UnknownKind(200)));
    bytes[0] = 9;
    assert_eq!(Message::decode(&bytes), Err(DecodeError::BadVersion(9)));
}

/// Decoding accepts any number, but a message whose indexes or terms are
/// above `NUMBER_MAX` is not well formed, so the node never does arithmetic
/// that could overflow on it.
#[test]
fn huge_indexes_are_not_well_formed() {
    let mut message = samples()[0].clone();
    message.body = Body::Heartbeat {
        commit: LogIndex(NUMBER_MAX + 1),
        read_round: 0,
    };
    assert_eq!(Message::decode(&message.encode()), Ok(message.clone()));
    assert!(message.check_well_formed(5).is_err());
}

/// A forged entry count or byte length must fail on the missing bytes, not
/// allocate what the header claims.
#[test]
fn forged_lengths_fail_without_allocating() {
    let message = &samples()[4];
    let mut bytes = message.encode();
    // The entry count follows the 18-byte header, prev_log and commit.
    let count_at = 18 + 16 + 8;
    bytes[count_at..count_at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(matches!(
        Message::decode(&bytes),
        Err(DecodeError::Truncated { .. })
    ));
    let snapshot = samples()[11].encode();
    let mut bytes = snapshot[..18 + 16 + 8].to_vec();
    bytes.extend_from_slice(&u32::MAX.to_le_bytes());
    assert!(matches!(
        Message::decode(&bytes),
        Err(DecodeError::Truncated { .. })
    ));
}

/// Random bytes, and valid messages with random bytes flipped, never make
/// `decode` panic. Whatever it accepts is canonical: encoding the result
/// gives back the same bytes.
#[test]
fn garbage_never_panics_and_accepted_input_is_canonical() {
    let mut rng = StdRng::seed_from_u64(7);
    let samples: Vec<Vec<u8>> = samples().iter().map(Message::encode).collect();
    let mut accepted = 0;
    for round in 0..200_000 {
        let bytes = if round % 2 == 0 {
            let length = rng.gen_range(0..120);
            (0..length).map(|_| rng.gen()).collect::<Vec<u8>>()
        } else {
            let mut bytes = samples[rng.gen_range(0..samples.len())].clone();
            for _ in 0..rng.gen_range(1..4) {
                let position = rng.gen_range(0..bytes.len());
                bytes[position] ^= 1 << rng.gen_range(0..8);
            }
            bytes
        };
        if let Ok(message) = Message::decode(&bytes) {
            accepted += 1;
            assert_eq!(
                message.encode(),
                bytes,
                "decode accepted a non-canonical input"
            );
            // Well-formedness is checked separately and must not panic.
            let _ = message.check_well_formed(5);
        }
    }
    assert!(accepted > 0, "flipped bits in payload fields still decode");
}

#[test]
fn the_bytes_of_every_message_kind_stay_the_same() {
    let encodings: Vec<Vec<u8>> = samples().iter().map(Message::encode).collect();
    crate::wire::golden::assert_golden(&encodings, &[
            "01010100000004000000030000000000000002000000000000000700000000000000",
            "01020100000004000000030000000000000001",
            "0103010000000400000003000000000000000300000000000000ffffffffffffff3f",
            "01040100000004000000030000000000000000",
            "01050100000004000000030000000000000002000000000000000700000000000000060000000000000002000000030000000000000008000000000000000100000000030000000000000009000000000000000008000000707574206974656d",
            "01050100000004000000030000000000000000000000000000000000000000000000000000000000000000000000",
            "010601000000040000000300000000000000000900000000000000",
            "010601000000040000000300000000000000010900000000000000000400000000000000",
            "0106010000000400000003000000000000000109000000000000000102000000000000000500000000000000",
            "01070100000004000000030000000000000006000000000000002a00000000000000",
            "0108010000000400000003000000000000002a00000000000000",
            "0109010000000400000003000000000000000300000000000000640000000000000000100000000000002c010000abababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababab01",
            "010a0100000004000000030000000000000064000000000000002c1100000000000000",
        ]);
}
