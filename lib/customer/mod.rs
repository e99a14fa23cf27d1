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

mod account;
mod capacity;
mod cart;
mod clock;
mod command;
mod pairs;
mod profile;
mod query;
mod session;
mod state;
#[cfg(test)]
mod tests;

pub use capacity::STATE_FIXED_BYTES;
pub use clock::CLOCK_READING_EVERY;
pub use command::{
    CustomerCommand, CustomerOutcome, CustomerRequest, CustomerResult, PurchaseRecord,
};
pub use query::SESSION_RENEWAL_SHARE;
pub use session::SESSION_TOKEN_CHARS_MAX;
pub use state::CustomerState;
