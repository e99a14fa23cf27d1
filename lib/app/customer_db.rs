//! `customer-db --index N`: one customer-DB replica, a member of the
//! rotating-sequencer broadcast (docs/SEQUENCER.md).

use std::sync::Arc;
use std::time::Duration;

use crate::config::Component;
use crate::customer::{start_clock_readings, CustomerStamp, CustomerState};
use crate::replication::Replicator;
use crate::rpc::{
    customer_service, environment, serve_database, DatabaseService, CUSTOMER_DB_SERVICE,
};
use crate::sequencer_driver::{Driver, DriverOptions, SequencerOptions, SequencerReplicator};
use crate::transport::FaultSwitch;

use super::{health_of, park_forever, server_setup, Failure};

/// Serves replica `--index` of the customer DB until killed.
pub fn run_customer_db(arguments: impl IntoIterator<Item = String>) -> Result<(), Failure> {
    let (config, index) = server_setup(Component::CustomerDb, arguments)?;
    let entry = &config.customer_db[index].grpc;
    let address = entry.bind_address();
    let peers: Vec<_> = config
        .customer_db
        .iter()
        .map(|node| node.peer.clone())
        .collect();
    let mut options = SequencerOptions::new(
        index,
        peers,
        config.replica_data_dir(Component::CustomerDb, index),
    );
    options.replica.tick = Duration::from_millis(config.sequencer.tick_ms);
    options.snapshot_every = config.sequencer.snapshot_every;
    options.early_send = config.sequencer.early_send;
    options.replica.faults = FaultSwitch::from_settings(&config.network_faults)
        .map_err(|e| Failure::Usage(format!("network_faults: {e}")))?;
    let state = CustomerState::new(config.session_timeout_ms);
    let replicator = SequencerReplicator::start(options, state)
        .map_err(|e| Failure::runtime("cannot start the sequencer", e))?;
    let replicator: Arc<dyn Replicator<CustomerState>> = Arc::new(replicator);
    let stamp = Arc::new(CustomerStamp::new(index as u16));
    start_clock_readings(replicator.clone(), stamp.clone())
        .map_err(|e| Failure::runtime("cannot start the clock readings", e))?;
    let health = health_of(CUSTOMER_DB_SERVICE, &replicator);
    let service = customer_service(DatabaseService::new(
        replicator,
        Arc::new(move |request| stamp.stamp(request)),
    ));
    let _server = serve_database(environment("customer-db"), address, service, health)
        .map_err(|e| Failure::runtime(&format!("cannot serve gRPC on {address}"), e))?;
    log::info!(
        "customer-db {index} serving gRPC on {}",
        entry.describe_binding()
    );
    park_forever()
}
