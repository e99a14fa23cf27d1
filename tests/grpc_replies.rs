//! Every well-formed call to a database replica gets the reply it earned,
//! never an error it did not: CANCELLED in particular. Until the answer
//! was sent from the call's completion queue (lib/rpc/reply_slot.rs), a
//! few calls in 10,000 got CANCELLED although the replica had applied them
//! (frontends hid it by retrying). A plain gRPC client, without retries,
//! many concurrent callers.

mod support;

use std::time::Duration;

use grpcio::{CallOption, ChannelBuilder};
use marketplace::market::RequestId;
use marketplace::pb::marketplace::CommandRequest;
use marketplace::pb::marketplace_grpc::ProductDbClient;
use marketplace::product::{ProductCommand, ProductRequest};
use marketplace::rpc::environment;
use support::{Cluster, Options};

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
