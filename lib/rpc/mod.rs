//! gRPC between the frontends and the databases: the database side
//! ([`DatabaseService`], served by [`serve_database`]) and the frontend side
//! ([`DatabaseClient`], which finds the replica that serves and fails over).
//!
//! Both databases speak the same four calls (proto/marketplace.proto);
//! what differs is the state machine behind them and the typed commands
//! and replies of their `Execute` (`product_wire.rs`, `customer_wire.rs`).
//! A refusal is a gRPC status (`error_status.rs`); the replicated log holds
//! the same protobuf messages (`log_encoding.rs`).

mod customer_clock;
mod customer_command_wire;
mod customer_wire;
mod database_client;
mod database_service;
mod error_status;
mod health;
mod log_encoding;
mod machines;
mod product_wire;
mod reply_slot;
mod wire_command;
mod wire_decoding;
mod wire_vocabulary;

#[cfg(test)]
mod tests;

pub use customer_clock::{start_clock_readings, CustomerStamp};
pub use database_client::{DatabaseClient, DatabaseKind};
pub use database_service::{
    customer_service, product_service, serve_database, DatabaseService, RunningServer, Stamp,
};
pub use error_status::{code_of, error_of, status_of};
pub use health::{HealthService, StatusSource, CUSTOMER_DB_SERVICE, PRODUCT_DB_SERVICE};
pub use machines::stamp_nothing;
pub use wire_command::{Answer, Checked, WireCommand};
pub use wire_decoding::REQUEST_BYTES_MAX;

use std::sync::Arc;

/// The one gRPC environment of a process: a single completion queue,
/// because every process here shares two cores with twenty others.
pub fn environment(name: &str) -> Arc<grpcio::Environment> {
    Arc::new(
        grpcio::EnvBuilder::new()
            .cq_count(1)
            .name_prefix(name)
            .build(),
    )
}
