//! One little-endian byte reader and writer for the hand-written binary
//! formats: the drivers' log records, hard state, snapshot images, batches
//! and state-transfer messages, and the sequencer core's messages share
//! [`DecodeError`]. Reading garbage returns an error; it never panics and
//! never allocates more than the input holds.
//!
//! - `reader.rs`: [`Reader`], bounds-checked reading, field by field.
//! - `writer.rs`: [`Writer`], appending fields to a buffer.
//! - `parts.rs`: length-prefixed lists of byte strings, and [`check_count`].
//! - `error.rs`: [`DecodeError`], why bytes are not a valid encoding.
//! - `golden.rs` (tests only): the check that pins a format's bytes.

mod error;
#[cfg(test)]
pub mod golden;
mod parts;
mod reader;
mod writer;

pub use error::DecodeError;
#[cfg(test)]
pub use parts::assert_parts_garbage_refused;
pub use parts::{check_count, read_parts, write_parts};
pub use reader::Reader;
pub use writer::Writer;
