//! `customer-db --index N`: one customer-DB replica.

use std::sync::Arc;

use crate::config::Component;
use crate::customer::CustomerState;
use crate::replication::{Replicator, Standalone};
use crate::rpc::{
    customer_service, environment, serve_database, stamp_customer_request, DatabaseService,
};

use super::{park_forever, server_setup, Failure};

/// Serves replica `--index` of the customer DB until killed.
pub fn run_customer_db(arguments: impl IntoIterator<Item = String>) -> Result<(), Failure> {
    let (config, index) = server_setup(Component::CustomerDb, arguments)?;
    let address = config.customer_db[index].grpc;
    let state = CustomerState::new(config.session_timeout_ms);
    let replicator: Arc<dyn Replicator<CustomerState>> = Arc::new(Standalone::new(index, state));
    let service = customer_service(DatabaseService::new(replicator, stamp_customer_request));
    let _server = serve_database(environment("customer-db"), address, service)
        .map_err(|e| Failure::runtime(&format!("cannot serve gRPC on {address}"), e))?;
    log::info!("customer-db {index} serving gRPC on {address}");
    park_forever()
}
