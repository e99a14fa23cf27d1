//! One little-endian byte reader and writer for every hand-written binary
//! format: the WAL's frames and files, the transport's envelope, the Raft
//! and sequencer cores' messages and records, and the drivers' log records,
//! hard state, snapshot images, batches and state-transfer messages. They
//! share [`DecodeError`]. Reading garbage returns an error; it never panics
//! and never allocates more than the input holds.
//!
//! - `formats.rs`: every format's magic and version, what it frames, who
//!   writes and who reads it.
//! - `reader.rs`: [`Reader`], bounds-checked reading, field by field.
//! - `writer.rs`: [`Writer`], appending fields to a buffer.
//! - `checksum.rs`: [`crc32`], the one checksum of every format.
//! - `parts.rs`: length-prefixed lists of byte strings, and [`check_count`].
//! - `error.rs`: [`DecodeError`], why bytes are not a valid encoding.
//! - `golden.rs` (tests only): the check that pins a format's bytes.
//!
//! A leaf module: it knows no format's meaning, so the protocol cores may
//! use it and stay independent of each other.

mod checksum;
mod error;
pub mod formats;
#[cfg(test)]
pub mod golden;
mod parts;
mod reader;
#[cfg(test)]
mod tests;
mod writer;

pub use checksum::crc32;
pub use error::DecodeError;
#[cfg(test)]
pub use parts::assert_parts_garbage_refused;
pub use parts::{check_count, read_parts, write_parts};
pub use reader::Reader;
pub use writer::Writer;
