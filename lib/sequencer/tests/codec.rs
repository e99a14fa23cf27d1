//! The wire and log formats: every message and record kind survives a round
//! trip; truncated, flipped and random input is refused without a panic; a
//! count beyond its hard limit is refused before anything is allocated.

use super::Rng;
use crate::sequencer::{
    Body, DecodeError, GlobalSeq, LocalSeq, MemberId, Message, Missing, Origin, Record,
    SnapshotPoint, Standing, View, ViewStamp, Watermark,
};

fn sample_messages() -> Vec<Message> {
    let watermark = Watermark {
        held_up_to: GlobalSeq(9),
        requests_held_up_to: vec![
            LocalSeq(3),
            LocalSeq(4),
            LocalSeq(0),
            LocalSeq(1),
            LocalSeq(u64::MAX),
        ],
        earlier_runs: vec![Origin {
            sender: MemberId(4),
            local_seq: LocalSeq((5 << 32) | 2),
        }],
    };
    let origin = Origin {
        sender: MemberId(2),
        local_seq: LocalSeq(7),
    };
    let bodies = vec![
        Body::Request {
            sender: MemberId(2),
            local_seq: LocalSeq(7),
            payload: b"create alice".to_vec(),
        },
        Body::Request {
            sender: MemberId(0),
            local_seq: LocalSeq(1),
            payload: Vec::new(),
        },
        Body::Sequence {
            global: GlobalSeq(10),
            sender: MemberId(2),
            local_seq: LocalSeq(7),
        },
        Body::Retransmit {
            missing: vec![Missing::Sequence(GlobalSeq(4)), Missing::Request(origin)],
        },
        Body::Heartbeat,
        Body::Compacted {
            base: GlobalSeq(40),
        },
        Body::StartViewChange,
        Body::DoViewChange {
            delivered: GlobalSeq(8),
            bindings: vec![origin, origin],
        },
        Body::NewView {
            members: vec![MemberId(0), MemberId(2), MemberId(4)],
            start: GlobalSeq(11),
            after: GlobalSeq(8),
            bindings: vec![origin, origin],
        },
        Body::GetView {
            delivered: GlobalSeq(3),
        },
        Body::Recover { nonce: 0xfeed },
        Body::RecoverAnswer {
            nonce: 0xfeed,
            standing: Standing::Blank { nonce: 0xbeef },
        },
        Body::ReadQuery { round: 12 },
        Body::ReadAnswer {
            round: 12,
            known_up_to: GlobalSeq(40),
        },
    ];
    bodies
        .into_iter()
        .map(|body| Message {
            stamp: ViewStamp {
                view: 3,
                log_view: if matches!(body, Body::DoViewChange { .. }) {
                    1
                } else {
                    3
                },
            },
            watermark: watermark.clone(),
            body,
        })
        .collect()
}

fn sample_records() -> Vec<Record> {
    let origin = Origin {
        sender: MemberId(4),
        local_seq: LocalSeq(2),
    };
    vec![
        Record::Request {
            origin,
            payload: vec![0, 1, 2, 255],
        },
        Record::Sequence {
            global: GlobalSeq(77),
            origin,
        },
        Record::Base(SnapshotPoint {
            global: GlobalSeq(70),
            delivered_local: vec![LocalSeq(5), LocalSeq(0)],
        }),
        Record::ViewChange { view: 6 },
        Record::NewView {
            view: View {
                number: 6,
                members: vec![MemberId(1), MemberId(3)],
                start: GlobalSeq(80),
            },
            truncate_after: GlobalSeq(71),
        },
    ]
}

/// Replaces the CRC trailer so that corrupted contents get past the checksum
/// and reach the field parsers.
fn with_valid_crc(mut bytes: Vec<u8>) -> Vec<u8> {
    if bytes.len() < 4 {
        return bytes;
    }
    let contents_len = bytes.len() - 4;
    let crc = crc32fast::hash(&bytes[..contents_len]);
    bytes[contents_len..].copy_from_slice(&crc.to_le_bytes());
    bytes
}

#[test]
fn every_message_and_record_round_trips() {
    for message in sample_messages() {
        assert_eq!(
            Message::decode(&message.encode()),
            Ok(message.clone()),
            "{}",
            message.describe()
        );
    }
    for record in sample_records() {
        assert_eq!(Record::decode(&record.encode()), Ok(record.clone()));
    }
}

#[test]
fn describe_is_one_line() {
    let lines: Vec<String> = sample_messages().iter().map(Message::describe).collect();
    assert_eq!(
        lines[0],
        "request 2/7 (12 bytes) | v3 | held #9 requests [3 4 0 1 18446744073709551615] earlier [4/5:2]"
    );
    assert!(lines[2].starts_with("sequence #10 = 2/7 |"));
    assert!(lines[3].starts_with("retransmit [#4 2/7] |"));
    assert!(lines.iter().all(|line| !line.contains('\n')));
}

#[test]
fn truncated_and_flipped_input_is_refused() {
    for message in sample_messages() {
        let bytes = message.encode();
        for length in 0..bytes.len() {
            assert!(
                Message::decode(&bytes[..length]).is_err(),
                "prefix {length} of {}",
                message.describe()
            );
            assert!(
                Message::decode(&with_valid_crc(bytes[..length].to_vec())).is_err(),
                "prefix {length}"
            );
        }
        for bit in 0..bytes.len() * 8 {
            let mut flipped = bytes.clone();
            flipped[bit / 8] ^= 1 << (bit % 8);
            assert!(
                Message::decode(&flipped).is_err(),
                "bit {bit} of {}",
                message.describe()
            );
        }
        let mut longer = bytes.clone();
        longer.insert(bytes.len() - 4, 0);
        assert_eq!(
            Message::decode(&with_valid_crc(longer)),
            Err(DecodeError::TrailingBytes(1))
        );
    }
}

#[test]
fn a_count_beyond_its_limit_is_refused_before_allocating() {
    let message = &sample_messages()[1];
    let mut bytes = message.encode();
    // The empty payload's length field sits just before the CRC trailer.
    let length_at = bytes.len() - 8;
    bytes[length_at..length_at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    let error = Message::decode(&with_valid_crc(bytes)).expect_err("too long");
    assert!(
        matches!(
            error,
            DecodeError::TooMany {
                what: "payload bytes",
                ..
            }
        ),
        "{error}"
    );
}

#[test]
fn garbage_never_panics() {
    // Random bytes, random bytes behind a valid header, and valid encodings
    // with random bytes overwritten, all with a valid CRC so the parsers run.
    // Whatever decodes must encode back to the same bytes (one encoding each).
    let mut rng = Rng::new(7);
    let messages: Vec<Vec<u8>> = sample_messages().iter().map(Message::encode).collect();
    let mut records = sample_records();
    records.push(Record::Recovering { nonce: 0xfeed });
    records.push(Record::Incarnation {
        incarnation: 3,
        new_group_with: vec![0xbeef, 0xfeed],
    });
    records.push(Record::Delivered {
        up_to: GlobalSeq(0x1234),
    });
    let records: Vec<Vec<u8>> = records.iter().map(Record::encode).collect();
    for round in 0..200_000u64 {
        let mut bytes = match round % 3 {
            0 => (0..rng.below(64)).map(|_| rng.next_u64() as u8).collect(),
            1 => {
                let header: &[u8] = if rng.chance(0.5) {
                    b"SQ\x01"
                } else {
                    b"SR\x01"
                };
                let mut bytes = header.to_vec();
                bytes.extend((0..rng.below(80)).map(|_| rng.below(4) as u8));
                bytes
            }
            _ => {
                let all = if rng.chance(0.5) { &messages } else { &records };
                let mut bytes = all[rng.below(all.len() as u64) as usize].clone();
                for _ in 0..1 + rng.below(3) {
                    let at = rng.below(bytes.len() as u64) as usize;
                    bytes[at] = rng.next_u64() as u8;
                }
                bytes
            }
        };
        if rng.chance(0.9) {
            bytes = with_valid_crc(bytes);
        }
        if let Ok(message) = Message::decode(&bytes) {
            assert_eq!(message.encode(), bytes, "round {round}");
        }
        if let Ok(record) = Record::decode(&bytes) {
            assert_eq!(record.encode(), bytes, "round {round}");
        }
    }
}

#[test]
fn the_bytes_of_every_message_and_record_kind_stay_the_same() {
    let mut encodings: Vec<Vec<u8>> = sample_messages().iter().map(Message::encode).collect();
    let mut records = sample_records();
    records.push(Record::Recovering { nonce: 0xfeed });
    records.push(Record::Incarnation {
        incarnation: 3,
        new_group_with: vec![0xbeef, 0xfeed],
    });
    records.push(Record::Delivered {
        up_to: GlobalSeq(0x1234),
    });
    encodings.extend(records.iter().map(Record::encode));
    crate::wire::golden::assert_golden(&encodings, &[
            "5351050103000000000000000300000000000000090000000000000005000300000000000000040000000000000000000000000000000100000000000000ffffffffffffffff010004000200000005000000020007000000000000000c00000063726561746520616c696365354e259e",
            "5351050103000000000000000300000000000000090000000000000005000300000000000000040000000000000000000000000000000100000000000000ffffffffffffffff010004000200000005000000000001000000000000000000000001fad77e",
            "5351050203000000000000000300000000000000090000000000000005000300000000000000040000000000000000000000000000000100000000000000ffffffffffffffff0100040002000000050000000a000000000000000200070000000000000095236c74",
            "5351050303000000000000000300000000000000090000000000000005000300000000000000040000000000000000000000000000000100000000000000ffffffffffffffff01000400020000000500000002000104000000000000000202000700000000000000e18adc77",
            "5351050403000000000000000300000000000000090000000000000005000300000000000000040000000000000000000000000000000100000000000000ffffffffffffffff01000400020000000500000084dcc6b4",
            "5351050503000000000000000300000000000000090000000000000005000300000000000000040000000000000000000000000000000100000000000000ffffffffffffffff0100040002000000050000002800000000000000922ba87b",
            "5351050603000000000000000300000000000000090000000000000005000300000000000000040000000000000000000000000000000100000000000000ffffffffffffffff01000400020000000500000026323423",
            "5351050703000000000000000100000000000000090000000000000005000300000000000000040000000000000000000000000000000100000000000000ffffffffffffffff010004000200000005000000080000000000000002000200070000000000000002000700000000000000e35c46c7",
            "5351050803000000000000000300000000000000090000000000000005000300000000000000040000000000000000000000000000000100000000000000ffffffffffffffff01000400020000000500000003000000020004000b000000000000000800000000000000020002000700000000000000020007000000000000004f0760fe",
            "5351050903000000000000000300000000000000090000000000000005000300000000000000040000000000000000000000000000000100000000000000ffffffffffffffff0100040002000000050000000300000000000000e65e6d6a",
            "5351050a03000000000000000300000000000000090000000000000005000300000000000000040000000000000000000000000000000100000000000000ffffffffffffffff010004000200000005000000edfe000000000000ec6a00e5",
            "5351050b03000000000000000300000000000000090000000000000005000300000000000000040000000000000000000000000000000100000000000000ffffffffffffffff010004000200000005000000edfe00000000000001efbe000000000000a2ca6edf",
            "5351050c03000000000000000300000000000000090000000000000005000300000000000000040000000000000000000000000000000100000000000000ffffffffffffffff0100040002000000050000000c000000000000002d8bd7c4",
            "5351050d03000000000000000300000000000000090000000000000005000300000000000000040000000000000000000000000000000100000000000000ffffffffffffffff0100040002000000050000000c000000000000002800000000000000250c1fd2",
            "535201010400020000000000000004000000000102ffff8b180d",
            "535201024d00000000000000040002000000000000007d0e12ba",
            "535201034600000000000000020005000000000000000000000000000000a50c562c",
            "535201040600000000000000c319a364",
            "535201050600000000000000020001000300500000000000000047000000000000007ae829fd",
            "53520106edfe000000000000f649aea0",
            "5352010703000000000000000200efbe000000000000edfe000000000000fed28c96",
            "53520108341200000000000030333eb5",
        ]);
}
