//! [`Reader`]: reads little-endian fields in order, checking every length
//! before it reads.

use super::checksum::{crc32, CRC32_BYTES};
use super::error::DecodeError;
use super::formats::Format;
use super::parts::check_count;

/// Bytes being read, field by field.
pub struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    /// Reads `bytes` from the start.
    pub fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { bytes, at: 0 }
    }

    /// Checks that `bytes` open with `format`'s magic and version, and
    /// reads on after them.
    pub fn open(bytes: &'a [u8], format: Format) -> Result<Reader<'a>, DecodeError> {
        let mut reader = Reader::new(bytes);
        if reader.take(format.magic.len())? != format.magic {
            return Err(DecodeError::BadMagic);
        }
        reader.version(format.version)?;
        Ok(reader)
    }

    /// As `open`, for a format that ends in the CRC-32 of every byte before
    /// it; the reader then covers the bytes between the header and the
    /// trailer. The magic is checked before the checksum, so that another
    /// format's bytes are told as such; the version after it, so that a
    /// damaged version byte is reported as damage.
    pub fn open_checksummed(bytes: &'a [u8], format: Format) -> Result<Reader<'a>, DecodeError> {
        let needed = format.magic.len() + 1 + CRC32_BYTES;
        if bytes.len() < needed {
            return Err(DecodeError::Truncated { at: 0, needed });
        }
        if !bytes.starts_with(format.magic) {
            return Err(DecodeError::BadMagic);
        }
        let (contents, trailer) = bytes.split_at(bytes.len() - CRC32_BYTES);
        if Reader::new(trailer).u32()? != crc32(contents) {
            return Err(DecodeError::Checksum);
        }
        Reader::open(contents, format)
    }

    /// Reads a version byte, which must be `version`.
    pub fn version(&mut self, version: u8) -> Result<(), DecodeError> {
        match self.u8()? {
            read if read == version => Ok(()),
            other => Err(DecodeError::BadVersion(other)),
        }
    }

    /// The next `count` bytes.
    pub fn take(&mut self, count: usize) -> Result<&'a [u8], DecodeError> {
        let truncated = DecodeError::Truncated {
            at: self.at,
            needed: count,
        };
        let end = self.at.checked_add(count).ok_or(truncated.clone())?;
        let slice = self.bytes.get(self.at..end).ok_or(truncated)?;
        self.at = end;
        Ok(slice)
    }

    /// Reads one byte.
    pub fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }

    /// Reads a `bool` (one byte, 0 or 1; `what` names it if it is neither).
    pub fn bool(&mut self, what: &'static str) -> Result<bool, DecodeError> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(DecodeError::BadValue {
                what,
                value: u64::from(other),
            }),
        }
    }

    /// Reads a `u16`.
    pub fn u16(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_le_bytes(self.array()?))
    }

    /// Reads a `u32`.
    pub fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    /// Reads a `u64`.
    pub fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    /// Reads a `u16` count of what follows, refused (`TooMany`) over `max`
    /// before anything is allocated for it.
    pub fn count(&mut self, what: &'static str, max: usize) -> Result<usize, DecodeError> {
        let count = self.u16()?;
        check_count(what, u64::from(count), max as u64)?;
        Ok(usize::from(count))
    }

    /// Reads what `Writer::counted_bytes` wrote: a `u32` length, refused
    /// over `max`, then that many bytes.
    pub fn counted_bytes(
        &mut self,
        what: &'static str,
        max: usize,
    ) -> Result<&'a [u8], DecodeError> {
        let length = self.u32()?;
        check_count(what, u64::from(length), max as u64)?;
        self.take(length as usize)
    }

    /// How many bytes are left to read.
    pub fn remaining(&self) -> usize {
        self.bytes.len() - self.at
    }

    /// Where the next field starts.
    pub fn position(&self) -> usize {
        self.at
    }

    /// Everything not read yet; the reader is then done.
    pub fn rest(self) -> &'a [u8] {
        &self.bytes[self.at..]
    }

    /// Fails unless every byte was read.
    pub fn finish(&self) -> Result<(), DecodeError> {
        match self.remaining() {
            0 => Ok(()),
            extra => Err(DecodeError::TrailingBytes(extra)),
        }
    }

    /// Reads a fixed-size array of bytes.
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let slice = self.take(N)?;
        Ok(slice.try_into().expect("take returned N bytes"))
    }
}
