//! The frame codec: what it accepts and each way it rejects.

use crate::wal::frame::{decode, decode_exact, encode, FrameError, FRAME_HEADER_BYTES};

#[test]
fn round_trip_and_concatenation() {
    let mut bytes = encode(b"hello");
    bytes.extend_from_slice(&encode(b""));
    let first = decode(&bytes, 100).expect("first frame");
    assert_eq!(first.payload, b"hello");
    assert_eq!(first.frame_bytes, FRAME_HEADER_BYTES + 5);
    let second = decode(&bytes[first.frame_bytes..], 100).expect("second frame");
    assert_eq!(second.payload, b"");
}

#[test]
fn every_truncation_is_reported_as_truncated() {
    let bytes = encode(b"some payload");
    for cut in 0..bytes.len() {
        assert!(
            matches!(
                decode(&bytes[..cut], 100),
                Err(FrameError::Truncated { .. })
            ),
            "cut at {cut}"
        );
    }
}

#[test]
fn a_flipped_payload_bit_fails_the_checksum() {
    let mut bytes = encode(b"some payload");
    bytes[FRAME_HEADER_BYTES + 3] ^= 0x10;
    assert!(matches!(
        decode(&bytes, 100),
        Err(FrameError::ChecksumMismatch { .. })
    ));
}

#[test]
fn a_length_over_the_limit_is_refused_before_waiting_for_it() {
    let bytes = encode(&[7; 50]);
    assert_eq!(
        decode(&bytes[..10], 49),
        Err(FrameError::TooLong { len: 50, max: 49 })
    );
}

#[test]
fn decode_exact_refuses_trailing_bytes() {
    let mut bytes = encode(b"x");
    assert_eq!(decode_exact(&bytes, 10), Ok(&b"x"[..]));
    bytes.push(0);
    assert_eq!(
        decode_exact(&bytes, 10),
        Err(FrameError::TrailingBytes { extra: 1 })
    );
}

#[test]
fn the_bytes_of_a_frame_and_a_record_stay_the_same() {
    let mut record = Vec::new();
    crate::wal::segment::encode_record(7, b"entry", &mut record);
    crate::wire::golden::assert_golden(
        &[encode(b"abc"), encode(b""), record],
        &[
            "03000000c2412435616263",
            "0000000000000000",
            "0d000000b72a049f0700000000000000656e747279",
        ],
    );
}
