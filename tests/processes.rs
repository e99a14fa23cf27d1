//! The binaries as an operator meets them: cluster-status, and refusals of
//! bad command lines and cluster files.

mod support;

use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use support::{binary, wait_until, Cluster, Options};

#[test]
fn cluster_status_reports_every_process_and_notices_a_dead_one() {
    let mut cluster = Cluster::start(Options::default());
    let config = cluster.config_arg().to_path_buf();
    let status = |json: bool| {
        let mut command = Command::new(binary("cluster-status"));
        command.arg("--config").arg(&config);
        if json {
            command.arg("--json");
        }
        command.output().unwrap()
    };
    let output = status(true);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let processes: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(processes.len(), 7);
    assert!(processes.iter().all(|p| p["up"] == true));
    // The lone product-db replica elects itself after one election timeout.
    wait_until(
        "the product DB has a leader",
        Duration::from_secs(10),
        || {
            let processes: Vec<Value> = serde_json::from_slice(&status(true).stdout).unwrap();
            let product = processes
                .iter()
                .find(|p| p["component"] == "product-db")
                .unwrap();
            product["replication"]["role"] == "leader"
                && product["replication"]["protocol"] == "raft"
        },
    );
    // A probe on a busy machine may miss its deadline; what matters is that
    // the customer replica, once it answers, reports the sequencer's figures.
    wait_until(
        "the customer DB reports its sequencer",
        Duration::from_secs(10),
        || {
            let processes: Vec<Value> = serde_json::from_slice(&status(true).stdout).unwrap();
            let customer = processes
                .iter()
                .find(|p| p["component"] == "customer-db")
                .unwrap();
            customer["replication"]["protocol"] == "sequencer"
                && customer["replication"]["next_global"].is_u64()
                && customer["replication"]["delivered"].is_u64()
        },
    );

    cluster.kill("buyer-server", 1);
    let output = status(false);
    assert_eq!(
        output.status.code(),
        Some(1),
        "a dead process makes the exit status 1"
    );
    let text = String::from_utf8(output.stdout).unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("buyer-server") && l.contains(" 1 "))
        .unwrap();
    assert!(line.contains("down"), "{line}");
    assert!(text
        .lines()
        .any(|l| l.starts_with("product-db") && l.contains(" up ") && l.contains("role=leader")));
}

#[test]
fn servers_refuse_bad_command_lines_and_cluster_files() {
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.json");
    std::fs::write(&broken, "{ not json").unwrap();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec![], "--index N is required"),
        (
            vec!["--index".into(), "x".into()],
            "--index must be a number",
        ),
        (
            vec![
                "--index".into(),
                "0".into(),
                "--config".into(),
                "/nonexistent.json".into(),
            ],
            "cannot read",
        ),
        (
            vec![
                "--index".into(),
                "0".into(),
                "--config".into(),
                broken.display().to_string(),
            ],
            "not a valid cluster file",
        ),
        (
            vec![
                "--index".into(),
                "99".into(),
                "--config".into(),
                "conf/local.json".into(),
            ],
            "out of range",
        ),
        (vec!["--frobnicate".into()], "unknown argument"),
    ];
    for (arguments, expected) in cases {
        let output = Command::new(binary("product-db"))
            .args(&arguments)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{arguments:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(expected), "{arguments:?}: {stderr}");
    }
}
