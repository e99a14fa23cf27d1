//! [`Writer`]: appends little-endian fields to a buffer, optionally after a
//! format's magic and version.

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

    /// A buffer that starts with `magic` and `version`, with room for
    /// `capacity` bytes after them.
    pub fn with_header(magic: &[u8], version: u8, capacity: usize) -> Writer {
        let mut writer = Writer::new(magic.len() + 1 + capacity);
        writer.bytes(magic);
        writer.u8(version);
        writer
    }

    /// Appends one byte.
    pub fn u8(&mut self, value: u8) {
        self.bytes.push(value);
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

    /// Bytes written so far (the header included).
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// True if nothing was written.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The buffer so far, for a checksum over it.
    pub fn written(&self) -> &[u8] {
        &self.bytes
    }

    /// The finished buffer.
    pub fn finish(self) -> Vec<u8> {
        self.bytes
    }
}
