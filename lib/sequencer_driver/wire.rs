//! Little-endian writing and bounds-checked reading for the driver's byte
//! formats (snapshot images in `image.rs`, state-transfer messages in
//! `transfer_message.rs`, the length-prefixed lists of `batch.rs` and
//! `request_batch.rs`). Errors reuse the sequencer's [`DecodeError`], so
//! every decoding failure in the customer DB's replication reads alike.
//! Reading garbage returns an error; it never panics or over-allocates.

use crate::sequencer::DecodeError;

/// The format version both of the driver's formats carry after their magic.
pub(super) const VERSION: u8 = 1;

/// Appends fields to a buffer that starts with a magic and the version.
pub(super) struct Writer {
    bytes: Vec<u8>,
}

impl Writer {
    /// A buffer holding `magic` and the version, with room for `capacity`.
    pub(super) fn new(magic: [u8; 2], capacity: usize) -> Writer {
        let mut bytes = Vec::with_capacity(capacity + 3);
        bytes.extend_from_slice(&magic);
        bytes.push(VERSION);
        Writer { bytes }
    }

    pub(super) fn u8(&mut self, value: u8) {
        self.bytes.push(value);
    }

    pub(super) fn u16(&mut self, value: u16) {
        self.bytes.extend_from_slice(&value.to_le_bytes());
    }

    pub(super) fn u32(&mut self, value: u32) {
        self.bytes.extend_from_slice(&value.to_le_bytes());
    }

    pub(super) fn u64(&mut self, value: u64) {
        self.bytes.extend_from_slice(&value.to_le_bytes());
    }

    pub(super) fn bytes(&mut self, bytes: &[u8]) {
        self.bytes.extend_from_slice(bytes);
    }

    /// Bytes written so far (magic included).
    pub(super) fn len(&self) -> usize {
        self.bytes.len()
    }

    /// The finished buffer.
    pub(super) fn finish(self) -> Vec<u8> {
        self.bytes
    }

    /// The buffer so far, for a checksum over it.
    pub(super) fn written(&self) -> &[u8] {
        &self.bytes
    }
}

/// Reads fields in order, checking every length before it reads.
pub(super) struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    /// Checks the magic and the version, and starts reading after them.
    pub(super) fn open(bytes: &'a [u8], magic: [u8; 2]) -> Result<Reader<'a>, DecodeError> {
        let mut reader = Reader { bytes, at: 0 };
        if reader.take(2)? != magic {
            return Err(DecodeError::BadMagic);
        }
        match reader.u8()? {
            VERSION => Ok(reader),
            other => Err(DecodeError::BadVersion(other)),
        }
    }

    /// The next `count` bytes.
    pub(super) fn take(&mut self, count: usize) -> Result<&'a [u8], DecodeError> {
        let truncated = DecodeError::Truncated {
            at: self.at,
            needed: count,
        };
        let end = self.at.checked_add(count).ok_or(truncated.clone())?;
        let slice = self.bytes.get(self.at..end).ok_or(truncated)?;
        self.at = end;
        Ok(slice)
    }

    pub(super) fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }

    pub(super) fn u16(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_le_bytes(self.array()?))
    }

    pub(super) fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    pub(super) fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    /// Where the next field starts.
    pub(super) fn position(&self) -> usize {
        self.at
    }

    /// Fails unless every byte was read.
    pub(super) fn finish(&self) -> Result<(), DecodeError> {
        match self.bytes.len() - self.at {
            0 => Ok(()),
            extra => Err(DecodeError::TrailingBytes(extra)),
        }
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let slice = self.take(N)?;
        Ok(slice.try_into().expect("take returned N bytes"))
    }
}

/// Writes a list of byte strings: a `u16` count, then each one's `u32`
/// length and bytes (the layout of `batch.rs` and `request_batch.rs`).
///
/// # Panics
/// If there are more than `u16::MAX` parts or one is over `u32::MAX` bytes:
/// callers bound both far lower.
pub(super) fn write_parts(writer: &mut Writer, parts: &[&[u8]]) {
    writer.u16(u16::try_from(parts.len()).expect("a part count fits a u16"));
    for part in parts {
        writer.u32(u32::try_from(part.len()).expect("a part fits a u32 length"));
        writer.bytes(part);
    }
}

/// Reads what `write_parts` wrote, refusing more than `max` parts, up to
/// the end of the bytes.
pub(super) fn read_parts<'a>(
    reader: &mut Reader<'a>,
    what: &'static str,
    max: usize,
) -> Result<Vec<&'a [u8]>, DecodeError> {
    let count = reader.u16()?;
    check_count(what, u64::from(count), max as u64)?;
    let mut parts = Vec::with_capacity(usize::from(count));
    for _ in 0..count {
        let length = reader.u32()?;
        parts.push(reader.take(length as usize)?);
    }
    reader.finish()?;
    Ok(parts)
}

/// For the tests of a format built on `write_parts` (magic, version, then
/// the parts): `decode` refuses every cut of `good` from `cuts_from` bytes
/// on, a trailing byte, a count over the bound and a length past the end.
/// `good` must hold at least one part.
#[cfg(test)]
pub(super) fn assert_parts_garbage_refused(
    good: &[u8],
    cuts_from: usize,
    refuses: impl Fn(&[u8]) -> bool,
) {
    for cut in cuts_from..good.len() {
        assert!(refuses(&good[..cut]), "cut at {cut}");
    }
    let mut trailing = good.to_vec();
    trailing.push(0);
    assert!(refuses(&trailing), "a trailing byte");
    // After the magic (2 bytes) and the version (1): the count, then the
    // first part's length.
    let mut too_many = good.to_vec();
    too_many[3..5].copy_from_slice(&u16::MAX.to_le_bytes());
    assert!(refuses(&too_many), "a count over the bound");
    let mut huge_length = good.to_vec();
    huge_length[5..9].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(refuses(&huge_length), "a length past the end");
}

/// Fails with `TooMany` when `count` exceeds `max`.
pub(super) fn check_count(what: &'static str, count: u64, max: u64) -> Result<(), DecodeError> {
    if count > max {
        return Err(DecodeError::TooMany { what, count, max });
    }
    Ok(())
}
