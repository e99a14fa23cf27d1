//! `seller-server --index N` and `buyer-server --index N`: the stateless
//! REST frontends.

use std::sync::Arc;

use crate::config::Component;
use crate::rest::{buyer_api, seller_api, Backends, HttpServer, Route, WORKERS};
use crate::rpc::environment;

use super::{server_setup, Failure};

/// Serves the seller API until killed.
pub fn run_seller_server(arguments: impl IntoIterator<Item = String>) -> Result<(), Failure> {
    run_frontend(Component::SellerServer, seller_api(), arguments)
}

/// Serves the buyer API until killed.
pub fn run_buyer_server(arguments: impl IntoIterator<Item = String>) -> Result<(), Failure> {
    run_frontend(Component::BuyerServer, buyer_api(), arguments)
}

fn run_frontend(
    component: Component,
    routes: Vec<Route<Backends>>,
    arguments: impl IntoIterator<Item = String>,
) -> Result<(), Failure> {
    let (config, index) = server_setup(component, arguments)?;
    let entry = config
        .endpoint(component, index)
        .expect("index checked by server_setup");
    let address = entry.bind_address();
    let backends = Arc::new(Backends::connect(
        &config,
        environment(component.name()),
        index,
    ));
    let server = HttpServer::start(address, WORKERS, backends, routes)
        .map_err(|e| Failure::runtime(&format!("cannot serve HTTP on {address}"), e))?;
    log::info!(
        "{component} {index} serving REST on {}",
        entry.describe_binding()
    );
    server.wait();
    Err(Failure::Runtime(format!(
        "{component} {index} stopped accepting connections"
    )))
}
