//! Length-and-checksum framing, shared by every byte string this crate puts
//! on disk or on the wire: log records, the hard state and snapshot files,
//! and UDP datagrams.
//!
//! ```text
//! | len: u32 LE | crc32(payload): u32 LE | payload: len bytes |
//! ```
//!
//! The length says where the frame ends, so a reader knows when it has been
//! cut short (a torn write); the CRC-32 (`wire::crc32`) catches bytes
//! that changed or were never written (a sector of zeros). Decoding is
//! bounded: the caller says how long a payload may be, so a garbage length
//! never makes a reader allocate or wait for gigabytes.

use std::fmt;

use crate::wire::{crc32, Reader, Writer};

/// Bytes in a frame before its payload: the length, then the checksum.
pub const FRAME_HEADER_BYTES: usize = 8;

/// Appends the frame of `payload` to `out`.
///
/// # Panics
/// If `payload` is 4 GiB or longer; callers enforce far smaller limits first.
pub fn encode_into(payload: &[u8], out: &mut Vec<u8>) {
    encode_with(out, |writer| writer.bytes(payload));
}

/// Appends one frame to `out`, whose payload `write_payload` writes (a log
/// record writes its index and then the entry, without joining them first).
///
/// # Panics
/// If the payload is 4 GiB or longer; callers enforce far smaller limits first.
pub fn encode_with(out: &mut Vec<u8>, write_payload: impl FnOnce(&mut Writer)) {
    let mut writer = Writer::appending_to(std::mem::take(out));
    let header_at = writer.len();
    // The length and the checksum, filled in once the payload is written.
    writer.u32(0);
    writer.u32(0);
    write_payload(&mut writer);
    let payload = &writer.written()[header_at + FRAME_HEADER_BYTES..];
    let payload_bytes = payload.len();
    let len = u32::try_from(payload_bytes)
        .unwrap_or_else(|_| panic!("frame payload of {payload_bytes} bytes exceeds u32"));
    let crc = crc32(payload);
    writer.u32_at(header_at, len);
    writer.u32_at(header_at + 4, crc);
    *out = writer.finish();
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
    let truncated = |needed| FrameError::Truncated {
        needed,
        available: bytes.len(),
    };
    let mut reader = Reader::new(bytes);
    let (Ok(len), Ok(stored)) = (reader.u32(), reader.u32()) else {
        return Err(truncated(FRAME_HEADER_BYTES));
    };
    let len = len as usize;
    // Checked before the length, so that a garbage length is reported as such
    // rather than as a wait for bytes that will never come.
    if len > payload_bytes_max {
        return Err(FrameError::TooLong {
            len,
            max: payload_bytes_max,
        });
    }
    let frame_bytes = FRAME_HEADER_BYTES + len;
    let payload = reader.take(len).map_err(|_| truncated(frame_bytes))?;
    let computed = crc32(payload);
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
