//! The databases' protobuf contract. proto/marketplace.proto (compiled
//! into `crate::pb` by build.rs) types every command and reply, and is the
//! schema of both replicated logs too; this module holds what the two
//! databases share of it:
//! - `vocabulary.rs`: the marketplace's vocabulary (`crate::market`) in
//!   messages and back;
//! - `wire_command.rs`: [`WireCommand`], what a database's request
//!   implements to have a message form;
//! - `log_encoding.rs`: how a request is written into a replicated log,
//!   once for every [`WireCommand`].
//!
//! Each database's own conversions sit beside its state machine
//! (`product/wire.rs`; `customer/wire.rs`, `customer/command_wire.rs`), and
//! so does its replication glue (`product/replicated.rs`,
//! `customer/replicated.rs`). gRPC itself (methods, service, client,
//! statuses) is `crate::rpc`'s.

pub mod log_encoding;
#[cfg(test)]
pub(crate) mod round_trip;
pub mod vocabulary;
mod wire_command;

pub use wire_command::{leader_of, Answer, WireCommand};
