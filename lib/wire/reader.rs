//! [`Reader`]: reads little-endian fields in order, checking every length
//! before it reads.

use super::error::DecodeError;

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

    /// Checks that `bytes` start with `magic` and `version`, and reads on
    /// after them.
    pub fn open(bytes: &'a [u8], magic: &[u8], version: u8) -> Result<Reader<'a>, DecodeError> {
        let mut reader = Reader::new(bytes);
        if reader.take(magic.len())? != magic {
            return Err(DecodeError::BadMagic);
        }
        reader.version(version)?;
        Ok(reader)
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
