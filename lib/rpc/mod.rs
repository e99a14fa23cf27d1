//! gRPC between the frontends and the databases: the database side
//! ([`DatabaseService`], served by [`serve_database`]) and the frontend side
//! ([`DatabaseClient`], which finds the replica that serves and fails over).
//!
//! Both databases speak the same two calls, `Execute` and `Status`
//! (proto/marketplace.proto); what differs is the state machine behind them.

mod customer_clock;
mod database_client;
mod database_service;
mod health;
mod machines;
mod reply_slot;

pub use customer_clock::{start_clock_readings, CustomerStamp};
pub use database_client::{DatabaseClient, DatabaseKind};
pub use database_service::{
    customer_service, product_service, serve_database, DatabaseService, RunningServer, Stamp,
};
pub use health::{HealthService, StatusSource, CUSTOMER_DB_SERVICE, PRODUCT_DB_SERVICE};
pub use machines::stamp_nothing;

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
