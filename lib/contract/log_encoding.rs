//! How a database's commands are stored in its replicated log (the Raft log,
//! the sequencer's journal) and sent between its replicas: one byte that
//! names the encoding's version, then the command's gRPC message. One
//! encoding for the wire and the log, so the proto is the log's schema too.
//!
//! Versions:
//! - 1: the protobuf message (`ProductRequest`, `CustomerRequest`).
//! - 0: JSON of the Rust request, what every log held before protobuf. It
//!   needs no version byte: a JSON command starts with `{`, which is no
//!   version. Such entries are still replayed, so an old data directory
//!   keeps its history; nothing new is written this way.
//!
//! Any other first byte is refused with a message naming the version: an
//! entry written by a newer build, which this one cannot apply. The
//! replicators skip such an entry on every replica alike and log why.
//! Snapshots hold the state, not commands, and stay JSON. The version and
//! JSON's opening byte are `wire::formats::COMMAND_LOG_ENCODING` and
//! `JSON_COMMAND_OPENING`. The tests are the databases'
//! (`product/wire_tests.rs`, `customer/wire_tests.rs`): they use its real
//! requests, and the JSON an old log holds.

use protobuf::{CodedOutputStream, Message};
use serde::de::DeserializeOwned;

use super::wire_command::WireCommand;
use crate::wire::formats::{COMMAND_LOG_ENCODING, JSON_COMMAND_OPENING};

/// The version this build writes.
const LOG_ENCODING_VERSION: u8 = COMMAND_LOG_ENCODING.version;

/// The log's bytes of `request`.
pub fn encode<Q: WireCommand>(request: &Q) -> Result<Vec<u8>, String> {
    let wire = request.to_wire().map_err(|error| error.to_string())?;
    // Sized once: `write_to_vec` would compute the size again.
    let mut bytes = Vec::with_capacity(1 + wire.compute_size() as usize);
    bytes.push(LOG_ENCODING_VERSION);
    let mut stream = CodedOutputStream::vec(&mut bytes);
    wire.write_to_with_cached_sizes(&mut stream)
        .and_then(|()| stream.flush())
        .map_err(|error| error.to_string())?;
    drop(stream);
    Ok(bytes)
}

/// The request that `bytes` hold, or why they hold none.
pub fn decode<Q: WireCommand + DeserializeOwned>(bytes: &[u8]) -> Result<Q, String> {
    match bytes.first() {
        Some(&LOG_ENCODING_VERSION) => {
            let wire = Q::Wire::parse_from_bytes(&bytes[1..])
                .map_err(|error| format!("a protobuf command does not decode: {error}"))?;
            Q::from_wire(wire).map_err(|error| format!("a protobuf command is refused: {error}"))
        }
        Some(&JSON_COMMAND_OPENING) => serde_json::from_slice(bytes).map_err(|error| {
            format!("a JSON command (log encoding version 0) does not decode: {error}")
        }),
        Some(version) => Err(format!(
            "a command of log encoding version {version}: this build reads version \
             {LOG_ENCODING_VERSION} (protobuf) and version 0 (JSON, from before protobuf); \
             was it written by a newer build?"
        )),
        None => Err("an empty command".into()),
    }
}
