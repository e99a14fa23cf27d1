//! The driver's two byte formats: state-transfer messages and snapshot
//! images. Round trips, and garbage that must be refused without a panic.

use rand::{Rng, SeedableRng};

use crate::sequencer::{DecodeError, GlobalSeq, LocalSeq, SnapshotPoint};
use crate::sequencer_driver::image::Image;
use crate::sequencer_driver::limits::{CHUNK_BYTES_MAX, CHUNK_HEADER_BYTES, TRANSFER_BYTES_MAX};
use crate::sequencer_driver::transfer_message::TransferMessage;
use crate::wire::formats::STATE_TRANSFER;

fn point() -> SnapshotPoint {
    SnapshotPoint {
        global: GlobalSeq(42),
        delivered_local: vec![LocalSeq(9), LocalSeq(0), LocalSeq(33)],
    }
}

#[test]
fn transfer_messages_round_trip() {
    let messages = [
        TransferMessage::ChunkRequest {
            snapshot: 0,
            offset: 0,
            at_least: 0,
        },
        TransferMessage::ChunkRequest {
            snapshot: 7,
            offset: 65_536,
            at_least: 40,
        },
        TransferMessage::Chunk {
            snapshot: 7,
            total: 100_000,
            offset: 32_768,
            bytes: vec![5; CHUNK_BYTES_MAX],
        },
        TransferMessage::NoSnapshot,
        TransferMessage::NotYet,
    ];
    for message in messages {
        let bytes = message.encode();
        assert_eq!(TransferMessage::decode(&bytes), Ok(message));
    }
    let full = TransferMessage::Chunk {
        snapshot: 1,
        total: CHUNK_BYTES_MAX as u64,
        offset: 0,
        bytes: vec![0; CHUNK_BYTES_MAX],
    };
    assert_eq!(full.encode().len(), CHUNK_BYTES_MAX + CHUNK_HEADER_BYTES);
}

#[test]
fn chunks_outside_their_bounds_are_refused() {
    let chunk = |total: u64, offset: u64, len: usize| {
        TransferMessage::Chunk {
            snapshot: 1,
            total,
            offset,
            bytes: vec![1; len],
        }
        .encode()
    };
    let too_many = |bytes: Vec<u8>| {
        matches!(
            TransferMessage::decode(&bytes),
            Err(DecodeError::TooMany { .. })
        )
    };
    assert!(
        too_many(chunk(TRANSFER_BYTES_MAX + 1, 0, 1)),
        "image too large"
    );
    assert!(too_many(chunk(10, 11, 0)), "offset past the end");
    assert!(too_many(chunk(10, 5, 6)), "chunk past the end");
    let mut long = chunk(100_000, 0, 10);
    long[28..32].copy_from_slice(&(CHUNK_BYTES_MAX as u32 + 1).to_le_bytes());
    assert!(too_many(long), "chunk longer than CHUNK_BYTES_MAX");
}

#[test]
fn garbage_never_decodes_and_never_panics() {
    let mut random = rand::rngs::StdRng::seed_from_u64(5);
    let valid = TransferMessage::Chunk {
        snapshot: 3,
        total: 50,
        offset: 10,
        bytes: vec![9; 20],
    }
    .encode();
    for cut in 0..valid.len() {
        assert!(
            TransferMessage::decode(&valid[..cut]).is_err(),
            "cut at {cut}"
        );
    }
    let mut extended = valid.clone();
    extended.push(0);
    assert_eq!(
        TransferMessage::decode(&extended),
        Err(DecodeError::TrailingBytes(1))
    );
    for _ in 0..20_000 {
        let len = random.gen_range(0..64);
        let mut bytes: Vec<u8> = (0..len).map(|_| random.gen()).collect();
        if random.gen_bool(0.5) && bytes.len() >= 4 {
            bytes[..2].copy_from_slice(STATE_TRANSFER.magic);
            bytes[2] = STATE_TRANSFER.version;
        }
        let _ = TransferMessage::decode(&bytes);
        let _ = Image::decode(bytes);
    }
}

#[test]
fn images_round_trip_and_catch_damage() {
    let image = Image::encode(point(), b"the application state");
    assert_eq!(image.app(), b"the application state");
    let decoded = Image::decode(image.bytes.clone()).expect("decodes");
    assert_eq!(decoded, image);
    assert_eq!(decoded.point, point());
    for at in [0, 3, 20, image.bytes.len() - 1] {
        let mut damaged = image.bytes.clone();
        damaged[at] ^= 0x40;
        assert!(Image::decode(damaged).is_err(), "damage at {at}");
    }
    for cut in 0..image.bytes.len() {
        assert!(Image::decode(image.bytes[..cut].to_vec()).is_err());
    }
    let empty = Image::encode(SnapshotPoint::start(5), b"");
    assert_eq!(
        Image::decode(empty.bytes.clone()).expect("decodes").app(),
        b""
    );
}

#[test]
fn the_bytes_of_every_driver_format_stay_the_same() {
    use crate::sequencer_driver::{batch, request_batch};
    let image = Image::encode(point(), b"app").bytes;
    let transfers = [
        TransferMessage::ChunkRequest {
            snapshot: 7,
            offset: 9,
            at_least: 5,
        },
        TransferMessage::Chunk {
            snapshot: 7,
            total: 10,
            offset: 4,
            bytes: b"abc".to_vec(),
        },
        TransferMessage::NoSnapshot,
        TransferMessage::NotYet,
    ]
    .map(|message| message.encode());
    let message_batch = batch::pack(vec![b"SQ1".to_vec(), b"SQ22".to_vec()]).remove(0);
    let mut requests = request_batch::RequestBatch::new();
    requests.push(b"{}".to_vec(), ());
    requests.push(b"\x01x".to_vec(), ());
    let mut encodings = vec![image];
    encodings.extend(transfers);
    encodings.extend([message_batch, requests.take().0]);
    crate::wire::golden::assert_golden(&encodings, &[
            "5349012a00000000000000030009000000000000000000000000000000210000000000000003000000000000006170702dd61b28",
            "53540201070000000000000009000000000000000500000000000000",
            "5354020207000000000000000a00000000000000040000000000000003000000616263",
            "53540203",
            "53540204",
            "5342010200030000005351310400000053513232",
            "5242010200020000007b7d020000000178",
        ]);
}
