//! The reader and the writer: every field round-trips in little-endian
//! order, and every way a read can fail is reported as itself.

use super::formats::Format;
use super::golden::assert_golden;
use super::{crc32, DecodeError, Reader, Writer};

const TEST_FORMAT: Format = Format {
    magic: b"XY",
    version: 3,
};

#[test]
fn fields_are_little_endian_and_read_back_in_order() {
    let mut writer = Writer::with_header(TEST_FORMAT, 0);
    writer.u8(1);
    writer.bool(true);
    writer.u16(0x0203);
    writer.u32(0x0405_0607);
    writer.u64(0x0809_0a0b_0c0d_0e0f);
    writer.counted_bytes(b"ab");
    let bytes = writer.finish_with_crc32();
    let crc = crc32(&bytes[..bytes.len() - 4]).to_le_bytes();
    assert_eq!(&bytes[bytes.len() - 4..], crc);
    assert_golden(
        &[bytes[..bytes.len() - 4].to_vec()],
        &["58590301010302070605040f0e0d0c0b0a0908020000006162"],
    );
    let mut reader = Reader::open_checksummed(&bytes, TEST_FORMAT).expect("opens");
    assert_eq!(reader.u8(), Ok(1));
    assert_eq!(reader.bool("flag"), Ok(true));
    assert_eq!(reader.u16(), Ok(0x0203));
    assert_eq!(reader.u32(), Ok(0x0405_0607));
    assert_eq!(reader.u64(), Ok(0x0809_0a0b_0c0d_0e0f));
    assert_eq!(reader.counted_bytes("bytes", 2), Ok(&b"ab"[..]));
    assert_eq!(reader.finish(), Ok(()));
}

#[test]
fn a_checksummed_encoding_is_checked_in_order() {
    let mut writer = Writer::with_header(TEST_FORMAT, 1);
    writer.u8(7);
    let good = writer.finish_with_crc32();
    let short = DecodeError::Truncated { at: 0, needed: 7 };
    assert_eq!(
        Reader::open_checksummed(&good[..6], TEST_FORMAT).err(),
        Some(short)
    );
    let mut other = good.clone();
    other[0] = b'Z';
    assert_eq!(
        Reader::open_checksummed(&other, TEST_FORMAT).err(),
        Some(DecodeError::BadMagic)
    );
    let mut damaged = good.clone();
    damaged[3] ^= 1;
    assert_eq!(
        Reader::open_checksummed(&damaged, TEST_FORMAT).err(),
        Some(DecodeError::Checksum)
    );
    let newer = Format {
        version: 4,
        ..TEST_FORMAT
    };
    assert_eq!(
        Reader::open_checksummed(&good, newer).err(),
        Some(DecodeError::BadVersion(3))
    );
}

#[test]
fn counts_and_lengths_over_their_bound_are_refused_before_reading_on() {
    let mut writer = Writer::new(0);
    writer.u16(5);
    writer.counted_bytes(b"abc");
    writer.bool(false);
    writer.u8(2);
    let bytes = writer.finish();
    let mut reader = Reader::new(&bytes);
    let too_many = reader.count("items", 4).expect_err("over");
    assert!(matches!(
        too_many,
        DecodeError::TooMany {
            count: 5,
            max: 4,
            ..
        }
    ));
    let too_long = reader.counted_bytes("bytes", 2).expect_err("over");
    assert!(matches!(
        too_long,
        DecodeError::TooMany {
            count: 3,
            max: 2,
            ..
        }
    ));
    let mut reader = Reader::new(&bytes[2..]);
    assert_eq!(reader.counted_bytes("bytes", 3), Ok(&b"abc"[..]));
    assert_eq!(reader.bool("flag"), Ok(false));
    assert_eq!(
        reader.bool("flag"),
        Err(DecodeError::BadValue {
            what: "flag",
            value: 2
        })
    );
    assert_eq!(
        reader.u8(),
        Err(DecodeError::Truncated { at: 9, needed: 1 })
    );
}

#[test]
fn a_field_written_later_overwrites_its_place() {
    let mut writer = Writer::appending_to(vec![9]);
    writer.u32(0);
    writer.u8(1);
    writer.u32_at(1, 0x0102_0304);
    assert_eq!(writer.finish(), vec![9, 4, 3, 2, 1, 1]);
}
