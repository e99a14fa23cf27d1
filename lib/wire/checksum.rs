//! The CRC-32 (IEEE, via `crc32fast`) every checksummed format uses: the
//! WAL's frames carry it in their header, the sequencer's messages, records
//! and snapshot images as a trailer.

/// The CRC-32 of `bytes`.
pub fn crc32(bytes: &[u8]) -> u32 {
    crc32fast::hash(bytes)
}

/// Bytes of a CRC-32.
pub(super) const CRC32_BYTES: usize = 4;
