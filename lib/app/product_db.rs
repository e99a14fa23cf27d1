//! `product-db --index N`: one product-DB replica.

use std::sync::Arc;

use crate::config::Component;
use crate::product::ProductState;
use crate::replication::{Replicator, Standalone};
use crate::rpc::{environment, product_service, serve_database, stamp_nothing, DatabaseService};

use super::{park_forever, server_setup, Failure};

/// Serves replica `--index` of the product DB until killed.
pub fn run_product_db(arguments: impl IntoIterator<Item = String>) -> Result<(), Failure> {
    let (config, index) = server_setup(Component::ProductDb, arguments)?;
    let address = config.product_db[index].grpc;
    let replicator: Arc<dyn Replicator<ProductState>> =
        Arc::new(Standalone::new(index, ProductState::new()));
    let service = product_service(DatabaseService::new(replicator, stamp_nothing));
    let _server = serve_database(environment("product-db"), address, service)
        .map_err(|e| Failure::runtime(&format!("cannot serve gRPC on {address}"), e))?;
    log::info!("product-db {index} serving gRPC on {address}");
    park_forever()
}
