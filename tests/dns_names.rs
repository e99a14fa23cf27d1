//! A cluster whose cluster file names hosts by DNS name (`localhost`, which
//! /etc/hosts resolves to 127.0.0.1), as the Kubernetes manifests do: every
//! database replica's peer address, the product DB's gRPC addresses, the
//! seller servers and the financial service are `localhost:PORT`; the rest
//! stay on the cluster's own 127.x.y.z address. Three product-DB and three
//! customer-DB replicas must find each other over UDP by those names, the
//! frontends must reach the product DB (gRPC) and the financial service
//! (SOAP) by name, the clients the seller servers, and cluster-status
//! every process. Writes and reads go end to end through the clients.
//!
//! A named entry binds every interface at its port (a pod cannot count on
//! binding its own name), so the named ports are checked free on 0.0.0.0
//! first; traffic stays on loopback.

mod support;

use std::net::{TcpListener, UdpSocket};
use std::process::Command;
use std::time::Duration;

use serde_json::{json, Value};
use support::{binary, wait_until, Cluster, Options};

/// Ports the named entries take, from a random base below the ephemeral
/// range (and above the 21000-25999 the other tests' files use).
const NAMED_PORTS: u16 = 12;

/// A base port such that `base..base + NAMED_PORTS` are free on every
/// interface for TCP and UDP right now.
fn free_named_ports() -> u16 {
    for _ in 0..50 {
        let base = 26_000 + rand::random::<u16>() % 6_000;
        let free = (base..base + NAMED_PORTS).all(|port| {
            TcpListener::bind(("0.0.0.0", port)).is_ok()
                && UdpSocket::bind(("0.0.0.0", port)).is_ok()
        });
        if free {
            return base;
        }
    }
    panic!("no {NAMED_PORTS} free ports in a row on 0.0.0.0");
}

/// Names hosts `localhost` in the cluster file, from port `base` on.
fn name_hosts(config: &mut Value, base: u16) {
    let mut port = base;
    let mut next = || {
        port += 1;
        json!(format!("localhost:{}", port - 1))
    };
    for database in ["product_db", "customer_db"] {
        for replica in config[database].as_array_mut().unwrap() {
            replica["peer"] = next();
            if database == "product_db" {
                replica["grpc"] = next();
            }
        }
    }
    for frontend in config["seller_server"].as_array_mut().unwrap() {
        frontend["http"] = next();
    }
    config["financial_service"][0]["http"] = next();
    assert!(port <= base + NAMED_PORTS);
}

fn statuses(cluster: &Cluster) -> Vec<Value> {
    let output = Command::new(binary("cluster-status"))
        .arg("--config")
        .arg(cluster.config_arg())
        .arg("--json")
        .output()
        .expect("run cluster-status");
    serde_json::from_slice(&output.stdout).expect("cluster-status --json")
}

#[test]
fn a_cluster_named_by_dns_names_serves_writes_and_reads() {
    let base = free_named_ports();
    let options = Options {
        product_dbs: 3,
        customer_dbs: 3,
        ..Options::default()
    };
    let cluster = Cluster::start_with(options, |config| name_hosts(config, base));

    // The replicas find each other by name: a Raft leader, a working view.
    wait_until(
        "cluster-status sees every process up, a leader and a view",
        Duration::from_secs(60),
        || {
            let all = statuses(&cluster);
            let up = all.len() == 11 && all.iter().all(|p| p["up"] == true);
            let leader = all.iter().any(|p| p["replication"]["role"] == "leader");
            let view = all
                .iter()
                .filter(|p| p["component"] == "customer-db")
                .all(|p| p["replication"]["view"]["in_view"] == true);
            up && leader && view
        },
    );
    // (Checked once all answer: a log line follows the listening socket.)
    // Each process with a named entry listens on every interface and says so.
    // Replicas bind their UDP peer port that way too, and look peers up.
    for (component, index) in [
        ("product-db", 0),
        ("customer-db", 2),
        ("seller-server", 1),
        ("financial-service", 0),
    ] {
        let log = cluster.log(component, index);
        assert!(
            log.contains("(all interfaces: its entry localhost:"),
            "{log}"
        );
    }
    for component in ["product-db", "customer-db"] {
        let log = cluster.log(component, 1);
        let started = log.matches("(all interfaces: its entry localhost:").count();
        assert_eq!(started, 1 + usize::from(component == "product-db"), "{log}");
        assert!(log.contains("udp peer 0: localhost:"), "{log}");
    }
    let all = statuses(&cluster);
    let product_0 = all.iter().find(|p| p["component"] == "product-db").unwrap();
    assert_eq!(
        product_0["address"],
        json!(format!("localhost:{}", base + 1))
    );

    let seller = cluster.run_client(
        "seller-client",
        false,
        "create-account sam pw\nlogin sam pw\nput \"Blue lamp\" 3 new 12.50 5 lamp\nchange-price 3-1 10\nlist\n",
    );
    assert!(seller.iter().all(|l| !l.starts_with("error")), "{seller:?}");
    assert_eq!(seller[2], "ok item_id=3-1", "{seller:?}");
    assert!(seller[5].contains("price=10.00"), "{seller:?}");

    let buyer = cluster.run_client(
        "buyer-client",
        false,
        "create-account bob pw\nlogin bob pw\nsearch 3 lamp\nadd 3-1 2\nbuy Bob 4111111111111111 12/99\nhistory\nitem 3-1\n",
    );
    assert!(buyer.iter().all(|l| !l.starts_with("error")), "{buyer:?}");
    assert!(buyer[2].starts_with("ok 1 items"), "{buyer:?}");
    let bought = buyer.iter().find(|l| l.starts_with("ok purchase_id="));
    assert!(
        bought.is_some_and(|l| l.contains("total=20.00")),
        "{buyer:?}"
    );
    assert!(buyer.last().unwrap().contains("quantity=3"), "{buyer:?}");

    // Every replica of each database holds the same state.
    cluster.wait_converged("product-db", &cluster.product_db());
    cluster.wait_converged("customer-db", &cluster.customer_db());
}
