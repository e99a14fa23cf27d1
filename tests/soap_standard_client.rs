//! A standard SOAP client must be able to call the financial service from
//! its WSDL alone: Python's zeep, run by scripts/zeep_check.py, against a
//! real financial-service process.
//!
//! scripts/test.sh installs zeep in a virtualenv and names its Python in
//! MARKETPLACE_ZEEP_PYTHON. Without it (a plain `cargo test` on a machine
//! without Python), the test says so on stderr and checks nothing.

mod support;

use std::process::Command;

use support::{Cluster, Options};

#[test]
fn zeep_calls_the_financial_service_from_its_wsdl() {
    let Ok(python) = std::env::var("MARKETPLACE_ZEEP_PYTHON") else {
        eprintln!("skipped: MARKETPLACE_ZEEP_PYTHON is not set (scripts/test.sh sets it)");
        return;
    };
    for (probability, expect) in [(1.0, "approved"), (0.0, "declined")] {
        let cluster = Cluster::start(Options {
            approve_probability: probability,
            seller_servers: 1,
            buyer_servers: 1,
            ..Options::default()
        });
        let wsdl = format!(
            "http://{}/soap?wsdl",
            cluster.address("financial-service", 0)
        );
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/zeep_check.py");
        let output = Command::new(&python)
            .args([script, &wsdl, "--expect", expect])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "zeep check failed ({expect}):\n{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}
