//! The product database's state machine: every item for sale, its stock,
//! price and feedback. Deterministic: the same requests in the same order
//! give the same state and results on every replica. It does no I/O; the
//! replication layer (`crate::replication`) feeds it.
//!
//! `state.rs` holds the rules, `command.rs` what a request can ask and
//! answer, `index.rs` and `search.rs` how items are found. Beside them,
//! its glue to the rest: `wire.rs`, its requests and replies as protobuf
//! messages (for gRPC and for the Raft log), and `replicated.rs`, how
//! Raft replicates it (`impl StateMachine`, its capacity plan).

mod command;
mod index;
mod replicated;
mod search;
mod state;
mod wire;
#[cfg(test)]
mod wire_tests;

pub use command::{ProductCommand, ProductOutcome, ProductRequest, ProductResult};
pub use replicated::stamp_nothing;
pub use state::{ProductState, ITEMS_MAX};
