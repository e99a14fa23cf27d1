//! Another language calls the databases with nothing but proto/: Python's
//! grpcio, with stubs that grpcio-tools generates from the proto files
//! alone, drives every operation of both databases against a running
//! cluster (scripts/grpc_check.py), checks the refusals' status codes and
//! their `marketplace.Failure` details, and asks every replica's standard
//! health service.
//!
//! scripts/test.sh installs grpcio-tools in a virtualenv and names its
//! Python in MARKETPLACE_GRPC_PYTHON. Without it (a plain `cargo test` on a
//! machine without Python), the test says so on stderr and checks nothing.

mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::{Cluster, Options};

/// The script's whole run may take this long (it takes a few seconds).
const SCRIPT_TIME_MAX: Duration = Duration::from_secs(120);

#[test]
fn python_drives_every_operation_from_the_proto_alone() {
    let Ok(python) = std::env::var("MARKETPLACE_GRPC_PYTHON") else {
        eprintln!("skipped: MARKETPLACE_GRPC_PYTHON is not set (scripts/test.sh sets it)");
        return;
    };
    let cluster = Cluster::start(Options {
        product_dbs: 3,
        customer_dbs: 2,
        seller_servers: 1,
        buyer_servers: 1,
        ..Options::default()
    });
    let addresses = |component, count| {
        (0..count)
            .map(|index| cluster.address(component, index).to_string())
            .collect::<Vec<_>>()
            .join(",")
    };
    let root = env!("CARGO_MANIFEST_DIR");
    let mut script = Command::new(&python)
        .arg(format!("{root}/scripts/grpc_check.py"))
        .arg(format!("{root}/proto"))
        .args(["--product", &addresses("product-db", 3)])
        .args(["--customer", &addresses("customer-db", 2)])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the Python script starts");
    let started = Instant::now();
    while script.try_wait().expect("the script's status").is_none() {
        if started.elapsed() > SCRIPT_TIME_MAX {
            let _ = script.kill();
            let _ = script.wait();
            panic!("the Python script ran past {SCRIPT_TIME_MAX:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let output = script.wait_with_output().expect("the script's output");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("OK:"),
        "the Python check failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    eprintln!("{}", stdout.lines().last().unwrap_or_default());
}
