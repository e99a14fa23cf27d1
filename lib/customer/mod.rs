//! The customer database's state machine: sellers, buyers, sessions, carts,
//! purchase history and seller feedback. Deterministic: the time and the
//! session tokens come inside the requests, so the same requests in the same
//! order give the same state and results on every replica. It does no I/O;
//! the replication layer (`crate::replication`) feeds it.
//!
//! `state.rs` holds the rules and dispatches each command; the parts it is
//! made of each own one thing: `account.rs` names and passwords,
//! `session.rs` live sessions and their expiry, `cart.rs` the live and saved
//! carts, `profile.rs` what a seller or buyer owns, and `pairs.rs` how maps
//! with structured keys are written to JSON snapshots.
//!
//! Beside them, its glue to the rest: `wire.rs` and `command_wire.rs`, its
//! requests and replies as protobuf messages (for gRPC and for the
//! sequencer's journal); `replicated.rs`, how the sequencer replicates it
//! (`impl StateMachine`, its capacity plan); and `stamp.rs`, what the
//! replica that receives a request writes into it (its clock reading, a
//! login's token), the one part that reads a clock and runs a thread.

mod account;
mod capacity;
mod cart;
mod clock;
mod command;
mod command_wire;
mod pairs;
mod profile;
mod query;
mod replicated;
mod session;
mod stamp;
mod state;
#[cfg(test)]
mod tests;
mod wire;
#[cfg(test)]
mod wire_tests;

pub use capacity::STATE_FIXED_BYTES;
pub use clock::CLOCK_READING_EVERY;
pub use command::{
    CustomerCommand, CustomerOutcome, CustomerRequest, CustomerResult, PurchaseRecord,
};
pub use query::SESSION_RENEWAL_SHARE;
pub use session::SESSION_TOKEN_CHARS_MAX;
pub use stamp::{start_clock_readings, CustomerStamp};
pub use state::CustomerState;
