//! [`DecodeError`]: why a byte string is not a valid encoding, the same for
//! every format read with [`Reader`](super::Reader).

use std::fmt;

/// Why a byte string is not a valid encoded message or record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// The input ended before a field of `needed` bytes at offset `at`.
    Truncated {
        /// Offset of the field.
        at: usize,
        /// Bytes the field needs.
        needed: usize,
    },
    /// The first bytes are not this protocol's magic number.
    BadMagic,
    /// The format version is not one this code reads.
    BadVersion(u8),
    /// The kind tag names no known message or record.
    UnknownKind(u8),
    /// A count is larger than its hard limit.
    TooMany {
        /// Which count.
        what: &'static str,
        /// The count read.
        count: u64,
        /// Its limit.
        max: u64,
    },
    /// The CRC-32 trailer does not match the contents.
    Checksum,
    /// Bytes were left over after a complete message.
    TrailingBytes(usize),
    /// A field holds a value its format does not allow.
    BadValue {
        /// Which field.
        what: &'static str,
        /// The value read.
        value: u64,
    },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Truncated { at, needed } => {
                write!(f, "truncated: {needed} bytes needed at offset {at}")
            }
            DecodeError::BadMagic => write!(f, "bad magic number"),
            DecodeError::BadVersion(version) => write!(f, "unknown format version {version}"),
            DecodeError::UnknownKind(kind) => write!(f, "unknown kind tag {kind}"),
            DecodeError::TooMany { what, count, max } => {
                write!(f, "{what}: {count} is more than the limit {max}")
            }
            DecodeError::Checksum => write!(f, "checksum mismatch"),
            DecodeError::TrailingBytes(count) => write!(f, "{count} trailing bytes"),
            DecodeError::BadValue { what, value } => write!(f, "{what}: {value} is not allowed"),
        }
    }
}

impl std::error::Error for DecodeError {}
