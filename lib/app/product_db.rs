//! `product-db --index N`: one product-DB replica, a Raft node
//! (docs/RAFT.md).

use std::sync::Arc;
use std::time::Duration;

use crate::config::Component;
use crate::product::{stamp_nothing, ProductState};
use crate::raft_driver::{Driver, DriverOptions, RaftOptions, RaftReplicator};
use crate::replication::Replicator;
use crate::rpc::{
    environment, product_service, serve_database, DatabaseService, PRODUCT_DB_SERVICE,
};
use crate::transport::FaultSwitch;

use super::{health_of, park_forever, server_setup, Failure};

/// Serves replica `--index` of the product DB until killed.
pub fn run_product_db(arguments: impl IntoIterator<Item = String>) -> Result<(), Failure> {
    let (config, index) = server_setup(Component::ProductDb, arguments)?;
    let entry = &config.product_db[index].grpc;
    let address = entry.bind_address();
    let peers: Vec<_> = config
        .product_db
        .iter()
        .map(|node| node.peer.clone())
        .collect();
    let mut options = RaftOptions::new(
        index,
        peers,
        config.replica_data_dir(Component::ProductDb, index),
    );
    options.replica.tick = Duration::from_millis(config.raft.tick_ms);
    options.election_ticks_min = config.raft.election_ticks_min;
    options.election_ticks_max = config.raft.election_ticks_max;
    options.heartbeat_ticks = config.raft.heartbeat_ticks;
    options.lease_reads = config.raft.lease_reads;
    options.snapshot_every_entries = config.raft.snapshot_every_entries;
    options.replica.faults = FaultSwitch::from_settings(&config.network_faults)
        .map_err(|e| Failure::Usage(format!("network_faults: {e}")))?;
    let replicator = RaftReplicator::start(options, ProductState::new())
        .map_err(|e| Failure::runtime("cannot start Raft", e))?;
    let replicator: Arc<dyn Replicator<ProductState>> = Arc::new(replicator);
    let health = health_of(PRODUCT_DB_SERVICE, &replicator);
    let service = product_service(DatabaseService::new(replicator, Arc::new(stamp_nothing)));
    let _server = serve_database(environment("product-db"), address, service, health)
        .map_err(|e| Failure::runtime(&format!("cannot serve gRPC on {address}"), e))?;
    log::info!(
        "product-db {index} serving gRPC on {}",
        entry.describe_binding()
    );
    park_forever()
}
