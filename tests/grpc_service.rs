//! The database replicas' gRPC side, seen by a plain gRPC client:
//! - every well-formed call gets the reply it earned, never an error it did
//!   not: CANCELLED in particular. Until the answer was sent from the
//!   call's completion queue (lib/rpc/reply_slot.rs), thousands of calls in
//!   25,000 got CANCELLED although the replica had applied them (frontends
//!   hid it by retrying);
//! - the standard health service (grpc.health.v1) says whether a replica
//!   serves, and changes its answer when the replica loses its majority;
//! - a refusal is a gRPC status of the code docs/API.md names, with a
//!   `marketplace.Failure` in its details;
//! - a message that does not decode, names no command this replica knows,
//!   or is larger than any command is refused as INVALID_ARGUMENT, and
//!   nothing is applied.

mod support;

use std::time::Duration;

use grpcio::{
    CallOption, ChannelBuilder, GrpcSlice, Marshaller, MessageReader, Method, MethodType,
    RpcStatus, RpcStatusCode,
};
use marketplace::contract::WireCommand;
use marketplace::customer::{CustomerCommand, CustomerRequest};
use marketplace::market::{MarketError, RequestId, Role, SessionToken};
use marketplace::pb::health::{HealthCheckRequest, HealthCheckResponse_ServingStatus as Serving};
use marketplace::pb::health_grpc::HealthClient;
use marketplace::pb::marketplace::{self as pb, Failure, Failure_Kind};
use marketplace::pb::marketplace_grpc::{CustomerDbClient, ProductDbClient};
use marketplace::product::{ProductCommand, ProductRequest};
use marketplace::rpc::{environment, error_of, DatabaseClient, DatabaseKind};
use protobuf::Message;
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
    let call = request.to_wire().unwrap();
    let callers: Vec<_> = (0..CALLERS)
        .map(|_| {
            let channel = ChannelBuilder::new(environment("test")).connect(&address.to_string());
            let stub = ProductDbClient::new(channel);
            let call = call.clone();
            std::thread::spawn(move || {
                let mut failures = Vec::new();
                for _ in 0..CALLS_PER_CALLER {
                    let option = CallOption::default().timeout(Duration::from_secs(10));
                    match stub.execute_opt(&call, option) {
                        Ok(_) => {}
                        // The item does not exist: NOT_FOUND is the answer.
                        Err(grpcio::Error::RpcFailure(status)) if error_of(&status).is_some() => {}
                        Err(error) => failures.push(error.to_string()),
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
    wait_serving(&cluster);
    for component in ["product-db", "customer-db"] {
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

/// The status of a call that must fail.
fn refusal<T: std::fmt::Debug>(answer: grpcio::Result<T>) -> RpcStatus {
    match answer {
        Err(grpcio::Error::RpcFailure(status)) => status,
        other => panic!("not refused: {other:?}"),
    }
}

fn option() -> CallOption {
    CallOption::default().timeout(Duration::from_secs(5))
}

/// Waits until both databases' replica 0 serves (a single product-DB
/// replica answers "not the leader" until it has elected itself).
fn wait_serving(cluster: &Cluster) {
    for (component, service) in [
        ("product-db", "marketplace.ProductDb"),
        ("customer-db", "marketplace.CustomerDb"),
    ] {
        wait_until(
            &format!("{component} 0 serving"),
            Duration::from_secs(20),
            || matches!(health(cluster, component, 0, service), Ok(Serving::SERVING)),
        );
    }
}

#[test]
fn a_refusal_is_a_status_with_its_code_and_typed_details() {
    let cluster = Cluster::start(Options::default());
    wait_serving(&cluster);
    let channel = |component| {
        ChannelBuilder::new(environment("test")).connect(&cluster.address(component, 0).to_string())
    };
    let product = ProductDbClient::new(channel("product-db"));
    let missing = ProductRequest {
        request_id: RequestId("missing".into()),
        command: ProductCommand::GetItem {
            item: "1-999".parse().unwrap(),
        },
    };
    let status = refusal(product.execute_opt(&missing.to_wire().unwrap(), option()));
    assert_eq!(status.code(), RpcStatusCode::NOT_FOUND, "{status:?}");
    let failure = Failure::parse_from_bytes(status.details()).expect("a Failure in details");
    assert_eq!(failure.get_kind(), Failure_Kind::NOT_FOUND);
    assert_eq!(failure.get_message(), status.message());

    let customer = CustomerDbClient::new(channel("customer-db"));
    let login = CustomerRequest {
        request_id: RequestId("login".into()),
        now_ms: 0,
        read_by: None,
        command: CustomerCommand::Login {
            role: Role::Buyer,
            name: "nobody".into(),
            password: "wrong".into(),
            token: SessionToken(String::new()),
        },
    };
    let status = refusal(customer.execute_opt(&login.to_wire().unwrap(), option()));
    assert_eq!(status.code(), RpcStatusCode::UNAUTHENTICATED, "{status:?}");
    assert!(matches!(
        error_of(&status),
        Some(MarketError::Unauthenticated(_))
    ));
}

/// Bytes sent as they are, to call a replica with what no stub would send.
const RAW_EXECUTE: Method<Vec<u8>, Vec<u8>> = Method {
    ty: MethodType::Unary,
    name: "/marketplace.ProductDb/Execute",
    req_mar: Marshaller {
        ser: raw_ser,
        de: raw_de,
    },
    resp_mar: Marshaller {
        ser: raw_ser,
        de: raw_de,
    },
};

// A marshaller's serializer takes `&T`, and T here is `Vec<u8>`.
#[allow(clippy::ptr_arg)]
fn raw_ser(bytes: &Vec<u8>, slice: &mut GrpcSlice) -> grpcio::Result<()> {
    *slice = GrpcSlice::from(bytes.clone());
    Ok(())
}

fn raw_de(mut reader: MessageReader) -> grpcio::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut reader, &mut bytes)
        .map_err(|error| grpcio::Error::Codec(Box::new(error)))?;
    Ok(bytes)
}

#[test]
fn bad_messages_are_refused_as_invalid_and_change_nothing() {
    let cluster = Cluster::start(Options::default());
    let address = cluster.address("product-db", 0).to_string();
    let channel = ChannelBuilder::new(environment("test")).connect(&address);
    let raw = grpcio::Client::new(channel);
    let control: DatabaseClient<(), ()> =
        DatabaseClient::new(environment("test"), DatabaseKind::Product, &[&address]);
    let applied = || control.digest(0, Duration::from_secs(5)).unwrap();
    wait_serving(&cluster);
    // The new leader's first entry is applied by the time it serves; wait
    // for it all the same, so that only a refused message could move on.
    wait_until(
        "the leader's entry applied",
        Duration::from_secs(20),
        || applied().get_applied_index() >= 1,
    );
    let before = applied();

    // Field 2 (put_item) as a varint where a message belongs.
    let undecodable = vec![0x0a, 0x01, b'r', 0x10, 0x05];
    // A request id and a command of field 99, which this replica does not know.
    let mut unknown = pb::ProductRequest::new();
    unknown.set_request_id("unknown".into());
    unknown
        .mut_unknown_fields()
        .add_length_delimited(99, vec![]);
    let unknown = unknown.write_to_bytes().unwrap();
    // An item whose name alone is larger than any command.
    let mut draft = pb::ItemDraft::new();
    draft.set_name("x".repeat(200_000));
    let mut put = pb::ProductRequest_PutItem::new();
    put.set_draft(draft);
    let mut huge = pb::ProductRequest::new();
    huge.set_request_id("huge".into());
    huge.set_put_item(put);
    let huge = huge.write_to_bytes().unwrap();

    for (what, bytes, says) in [
        ("undecodable", undecodable, "does not decode"),
        ("unknown command", unknown, "no product-DB command"),
        ("too large", huge, "larger than any command"),
    ] {
        let status = refusal(raw.unary_call(&RAW_EXECUTE, &bytes, option()));
        assert_eq!(
            status.code(),
            RpcStatusCode::INVALID_ARGUMENT,
            "{what}: {status:?}"
        );
        assert!(status.message().contains(says), "{what}: {status:?}");
        assert!(
            matches!(error_of(&status), Some(MarketError::InvalidInput(_))),
            "{what}: {status:?}"
        );
    }
    assert_eq!(applied(), before, "a refused message changed the state");
}
