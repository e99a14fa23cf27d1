//! gRPC between the frontends and the databases: the database side
//! ([`DatabaseService`], served by [`serve_database`]) and the frontend side
//! ([`DatabaseClient`], which finds the replica that serves and fails over).
//!
//! Both databases speak the same four calls (proto/marketplace.proto);
//! what differs is the state machine behind them and the typed commands
//! and replies of their `Execute` (`execute_call.rs`; their conversions
//! to and from protobuf are each database's own, `product/wire.rs` and
//! `customer/wire.rs`, over `crate::contract`). A refusal is a gRPC status
//! (`error_status.rs`).

mod database_client;
mod database_service;
mod error_status;
mod execute_call;
mod health;
mod reply_slot;
mod wire_decoding;

#[cfg(test)]
mod tests;

pub use database_client::{DatabaseClient, DatabaseKind, StartedCall};
// Only a test follows a replica's status through to cluster-status's line.
#[cfg(test)]
pub(crate) use database_service::status_reply;
pub use database_service::{
    customer_service, product_service, serve_database, DatabaseService, RunningServer, Stamp,
};
pub use error_status::{code_of, error_of, status_of};
pub use execute_call::ExecuteCall;
pub use health::{HealthService, StatusSource, CUSTOMER_DB_SERVICE, PRODUCT_DB_SERVICE};
pub use wire_decoding::{Checked, REQUEST_BYTES_MAX};

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
