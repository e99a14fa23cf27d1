//! The product database's state machine: every item for sale, its stock,
//! price and feedback. Deterministic: the same requests in the same order
//! give the same state and results on every replica. It does no I/O; the
//! replication layer (`crate::replication`) feeds it.

mod command;
mod index;
mod search;
mod state;

pub use command::{ProductCommand, ProductOutcome, ProductRequest, ProductResult};
pub use state::{ProductState, ITEMS_MAX};
