//! The chaos suite in its short form: a minute of crashes, pauses and
//! packet loss under load, a restart of everything from disk, and the
//! history checked for linearizability and the invariants (the long form:
//! scripts/chaos.sh --minutes 30; the README has its figures).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Far beyond the minute of faults plus setup, restart and checking.
const RUN_TIMEOUT: Duration = Duration::from_secs(300);

#[test]
fn a_minute_of_faults_loses_duplicates_and_misreads_nothing() {
    let chaos = Path::new(env!("CARGO_BIN_EXE_chaos"));
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_product-db"))
        .parent()
        .expect("the binaries' folder");
    let output_dir = tempfile::tempdir().unwrap();
    let stdout_path = output_dir.path().join("summary.txt");
    let stdout = std::fs::File::create(&stdout_path).unwrap();
    let mut child = Command::new(chaos)
        .args(["--seed", "11", "--minutes", "1", "--bin-dir"])
        .arg(bin_dir)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > RUN_TIMEOUT {
            // Its cluster dies with it (parent-death signal).
            let _ = child.kill();
            let _ = child.wait();
            panic!("chaos did not finish within {RUN_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let summary = std::fs::read_to_string(&stdout_path).unwrap();
    assert!(
        status.success(),
        "chaos found anomalies or failed:\n{summary}"
    );
    assert!(summary.contains("\nanomalies: 0\n"), "{summary}");
    // The run did strike, and checked every kind of object.
    let faults: usize = summary
        .lines()
        .find_map(|l| l.strip_prefix("faults: "))
        .and_then(|l| l.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(faults >= 10, "too few faults:\n{summary}");
    let checked = summary
        .lines()
        .find(|l| l.starts_with("linearizable: "))
        .unwrap_or_default();
    for kind in ["buyers", "items", "names"] {
        assert!(checked.contains(kind), "no {kind} checked:\n{summary}");
    }
    assert!(checked.contains("skipped 0; inconclusive 0"), "{summary}");
}
