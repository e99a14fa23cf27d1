//! [`Writer`]: appends little-endian fields to a buffer, optionally after a
//! format's magic and version.

use super::checksum::crc32;
use super::formats::Format;

/// A buffer being written, field by field.
pub struct Writer {
    bytes: Vec<u8>,
}

impl Writer {
    /// An empty buffer with room for `capacity` bytes.
    pub fn new(capacity: usize) -> Writer {
        Writer {
            bytes: Vec::with_capacity(capacity),
        }
    }

    /// A writer that appends to `bytes` (a buffer of several encodings).
    pub fn appending_to(bytes: Vec<u8>) -> Writer {
        Writer { bytes }
    }

    /// A buffer that opens with `format`'s magic and version, with room for
    /// `capacity` bytes after them.
    pub fn with_header(format: Format, capacity: usize) -> Writer {
        let mut writer = Writer::new(format.magic.len() + 1 + capacity);
        writer.bytes(format.magic);
        writer.u8(format.version);
        writer
    }

    /// Appends one byte.
    pub fn u8(&mut self, value: u8) {
        self.bytes.push(value);
    }

    /// Appends a `bool` as one byte, 0 or 1.
    pub fn bool(&mut self, value: bool) {
        self.u8(u8::from(value));
    }

    /// Appends a `u16`.
    pub fn u16(&mut self, value: u16) {
        self.bytes.extend_from_slice(&value.to_le_bytes());
    }

    /// Appends a `u32`.
    pub fn u32(&mut self, value: u32) {
        self.bytes.extend_from_slice(&value.to_le_bytes());
    }

    /// Appends a `u64`.
    pub fn u64(&mut self, value: u64) {
        self.bytes.extend_from_slice(&value.to_le_bytes());
    }

    /// Appends `bytes` as they are (no length).
    pub fn bytes(&mut self, bytes: &[u8]) {
        self.bytes.extend_from_slice(bytes);
    }

    /// Appends a `u32` length, then `bytes`.
    ///
    /// # Panics
    /// If `bytes` are 4 GiB or longer: callers bound them far lower.
    pub fn counted_bytes(&mut self, bytes: &[u8]) {
        self.u32(u32::try_from(bytes.len()).expect("a byte string fits a u32 length"));
        self.bytes(bytes);
    }

    /// Overwrites the `u32` at offset `at`: a field whose value is known only
    /// once what follows it is written (a length, a checksum).
    ///
    /// # Panics
    /// If the four bytes at `at` were not written yet.
    pub fn u32_at(&mut self, at: usize, value: u32) {
        self.bytes[at..at + 4].copy_from_slice(&value.to_le_bytes());
    }

    /// Bytes written so far (the header included).
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// True if nothing was written.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The buffer so far.
    pub fn written(&self) -> &[u8] {
        &self.bytes
    }

    /// The finished buffer.
    pub fn finish(self) -> Vec<u8> {
        self.bytes
    }

    /// The finished buffer, with the CRC-32 of every byte before it
    /// appended (what `Reader::open_checksummed` checks).
    pub fn finish_with_crc32(mut self) -> Vec<u8> {
        let crc = crc32(&self.bytes);
        self.u32(crc);
        self.bytes
    }
}
