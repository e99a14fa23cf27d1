//! Length-and-checksum framing, shared by every byte string this crate puts
//! on disk or on the wire: log records, the hard state and snapshot files,
//! and UDP datagrams.
//!
//! ```text
//! | len: u32 LE | crc32(payload): u32 LE | payload: len bytes |
//! ```
//!
//! The length says where the frame ends, so a reader knows when it has been
//! cut short (a torn write); the CRC-32 (IEEE, via `crc32fast`) catches bytes
//! that changed or were never written (a sector of zeros). Decoding is
//! bounded: the caller says how long a payload may be, so a garbage length
//! never makes a reader allocate or wait for gigabytes.

use std::fmt;

/// Bytes in a frame before its payload: the length, then the checksum.
pub const FRAME_HEADER_BYTES: usize = 8;

/// Appends the frame of `payload` to `out`.
///
/// # Panics
/// If `payload` is 4 GiB or longer; callers enforce far smaller limits first.
pub fn encode_into(payload: &[u8], out: &mut Vec<u8>) {
    encode_parts_into(&[payload], out);
}

/// Appends one frame whose payload is `parts` joined, without joining them
/// first (a log record is its index and then the entry).
///
/// # Panics
/// If the payload is 4 GiB or longer; callers enforce far smaller limits first.
pub fn encode_parts_into(parts: &[&[u8]], out: &mut Vec<u8>) {
    let payload_bytes: usize = parts.iter().map(|part| part.len()).sum();
    let len = u32::try_from(payload_bytes)
        .unwrap_or_else(|_| panic!("frame payload of {payload_bytes} bytes exceeds u32"));
    let mut crc = crc32fast::Hasher::new();
    for part in parts {
        crc.update(part);
    }
    out.reserve(FRAME_HEADER_BYTES + payload_bytes);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&crc.finalize().to_le_bytes());
    for part in parts {
        out.extend_from_slice(part);
    }
}

/// The frame of `payload`, as a new buffer.
pub fn encode(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(FRAME_HEADER_BYTES + payload.len());
    encode_into(payload, &mut out);
    out
}

/// A frame decoded from the start of a byte string.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame<'a> {
    /// The payload, checked against its CRC.
    pub payload: &'a [u8],
    /// How many bytes the whole frame took (header and payload).
    pub frame_bytes: usize,
}

/// Why bytes are not a valid frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameError {
    /// The bytes end before the header or before the payload it announces.
    Truncated {
        /// Bytes the frame needs.
        needed: usize,
        /// Bytes there are.
        available: usize,
    },
    /// The header announces a payload longer than the caller allows.
    TooLong {
        /// The announced payload length.
        len: usize,
        /// The caller's limit.
        max: usize,
    },
    /// The payload's CRC differs from the one in the header.
    ChecksumMismatch {
        /// The CRC in the header.
        stored: u32,
        /// The CRC of the payload as read.
        computed: u32,
    },
    /// Bytes follow a frame that should have filled the whole input.
    TrailingBytes {
        /// How many bytes follow the frame.
        extra: usize,
    },
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::Truncated { needed, available } => {
                write!(
                    f,
                    "frame cut short: needs {needed} bytes, {available} present"
                )
            }
            FrameError::TooLong { len, max } => {
                write!(
                    f,
                    "frame announces {len} payload bytes, more than the limit of {max}"
                )
            }
            FrameError::ChecksumMismatch { stored, computed } => {
                write!(
                    f,
                    "checksum mismatch: stored {stored:#010x}, computed {computed:#010x}"
                )
            }
            FrameError::TrailingBytes { extra } => write!(f, "{extra} bytes after the frame"),
        }
    }
}

impl std::error::Error for FrameError {}

/// Decodes the frame at the start of `bytes`; bytes after it are left alone.
pub fn decode(bytes: &[u8], payload_bytes_max: usize) -> Result<Frame<'_>, FrameError> {
    let Some(header) = bytes.get(..FRAME_HEADER_BYTES) else {
        return Err(FrameError::Truncated {
            needed: FRAME_HEADER_BYTES,
            available: bytes.len(),
        });
    };
    let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
    let stored = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
    // Checked before the length, so that a garbage length is reported as such
    // rather than as a wait for bytes that will never come.
    if len > payload_bytes_max {
        return Err(FrameError::TooLong {
            len,
            max: payload_bytes_max,
        });
    }
    let frame_bytes = FRAME_HEADER_BYTES + len;
    let Some(payload) = bytes.get(FRAME_HEADER_BYTES..frame_bytes) else {
        return Err(FrameError::Truncated {
            needed: frame_bytes,
            available: bytes.len(),
        });
    };
    let computed = crc32fast::hash(payload);
    if computed != stored {
        return Err(FrameError::ChecksumMismatch { stored, computed });
    }
    Ok(Frame {
        payload,
        frame_bytes,
    })
}

/// Decodes a frame that must fill `bytes` exactly (a datagram, a whole file).
pub fn decode_exact(bytes: &[u8], payload_bytes_max: usize) -> Result<&[u8], FrameError> {
    let frame = decode(bytes, payload_bytes_max)?;
    match bytes.len() - frame.frame_bytes {
        0 => Ok(frame.payload),
        extra => Err(FrameError::TrailingBytes { extra }),
    }
}
