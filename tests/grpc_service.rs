//! The database replicas' gRPC side, seen by a plain gRPC client:
//! - every well-formed call gets the reply it earned, never an error it did
//!   not: CANCELLED in particular. Until the answer was sent from the
//!   call's completion queue (lib/rpc/reply_slot.rs), thousands of calls in
//!   25,000 got CANCELLED although the replica had applied them (frontends
//!   hid it by retrying);
//! - the standard health service (grpc.health.v1) says whether a replica
//!   serves, and changes its answer when the replica loses its majority.

mod support;

use std::time::Duration;

use grpcio::{CallOption, ChannelBuilder, RpcStatusCode};
use marketplace::market::RequestId;
use marketplace::pb::health::{HealthCheckRequest, HealthCheckResponse_ServingStatus as Serving};
use marketplace::pb::health_grpc::HealthClient;
use marketplace::pb::marketplace::CommandRequest;
use marketplace::pb::marketplace_grpc::ProductDbClient;
use marketplace::product::{ProductCommand, ProductRequest};
use marketplace::rpc::environment;
use support::{wait_until, Cluster, Options};

const CALLERS: usize = 10;
const CALLS_PER_CALLER: usize = 2_500;

#[test]
fn every_call_gets_its_reply_and_none_is_cancelled() {
    let cluster = Cluster::start(Options::default());
    let address = cluster.address("product-db", 0);
    let request = ProductRequest {
        request_id: RequestId("read".into()),
        command: ProductCommand::GetItem {
            item: "1-1".parse().unwrap(),
        },
    };
    let mut call = CommandRequest::new();
    call.set_command(serde_json::to_vec(&request).unwrap());
    let callers: Vec<_> = (0..CALLERS)
        .map(|_| {
            let channel = ChannelBuilder::new(environment("test")).connect(&address.to_string());
            let stub = ProductDbClient::new(channel);
            let call = call.clone();
            std::thread::spawn(move || {
                let mut failures = Vec::new();
                for _ in 0..CALLS_PER_CALLER {
                    let option = CallOption::default().timeout(Duration::from_secs(10));
                    if let Err(error) = stub.execute_opt(&call, option) {
                        failures.push(error.to_string());
                    }
                }
                failures
            })
        })
        .collect();
    let failures: Vec<String> = callers
        .into_iter()
        .flat_map(|caller| caller.join().expect("a caller panicked"))
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} calls failed, first: {:?}",
        failures.len(),
        CALLERS * CALLS_PER_CALLER,
        failures.first()
    );
}

/// Asks replica `index` of `component` for the health of `service`.
fn health(
    cluster: &Cluster,
    component: &str,
    index: usize,
    service: &str,
) -> grpcio::Result<Serving> {
    let address = cluster.address(component, index).to_string();
    let client = HealthClient::new(ChannelBuilder::new(environment("test")).connect(&address));
    let mut request = HealthCheckRequest::new();
    request.set_service(service.to_string());
    let option = CallOption::default().timeout(Duration::from_secs(2));
    client
        .check_opt(&request, option)
        .map(|reply| reply.get_status())
}

#[test]
fn the_health_service_says_whether_a_replica_serves() {
    let mut cluster = Cluster::start(Options {
        product_dbs: 3,
        customer_dbs: 3,
        ..Options::default()
    });
    for (component, service) in [
        ("product-db", "marketplace.ProductDb"),
        ("customer-db", "marketplace.CustomerDb"),
    ] {
        wait_until(
            &format!("{component} 0 serving"),
            Duration::from_secs(20),
            || {
                matches!(
                    health(&cluster, component, 0, service),
                    Ok(Serving::SERVING)
                )
            },
        );
        assert!(matches!(
            health(&cluster, component, 0, ""),
            Ok(Serving::SERVING)
        ));
        match health(&cluster, component, 0, "marketplace.Nothing") {
            Err(grpcio::Error::RpcFailure(status)) => {
                assert_eq!(status.code(), RpcStatusCode::NOT_FOUND)
            }
            other => panic!("an unknown service: {other:?}"),
        }
    }
    // Two of three down: no majority, so neither survivor serves.
    for component in ["product-db", "customer-db"] {
        cluster.kill(component, 1);
        cluster.kill(component, 2);
        wait_until(
            &format!("{component} 0 not serving"),
            Duration::from_secs(20),
            || matches!(health(&cluster, component, 0, ""), Ok(Serving::NOT_SERVING)),
        );
    }
}
