//! The bench in its smallest form against a real cluster of its own, so it
//! cannot rot: one seller and one buyer, a few calls each, scenario A and
//! scenario B (the bench kills a frontend in use through the test's own
//! process control, and restarts it), and scenario E (a customer-DB member
//! in use killed: the others go on in a new view). Every operation must
//! show in the report, every report file must exist, no call may fail, and
//! every kill must land inside its run however fast the machine. And
//! `bench --scale` in its smallest form: two small sizes, every call timed,
//! every lifecycle figure measured (snapshots taken often enough to show).

mod support;

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use marketplace::bench::{
    self, BenchError, BenchOptions, BenchReport, ClusterControl, Load, Operation, ScaleOptions,
    Scenario, SCALE_OPERATIONS,
};
use marketplace::config::Component;
use support::{Cluster, Options};

/// Kills and restarts the test cluster's own child processes.
struct TestControl(Mutex<Cluster>);

impl ClusterControl for TestControl {
    fn kill(&self, component: Component, index: usize) -> Result<(), BenchError> {
        self.0.lock().unwrap().kill(component.name(), index);
        Ok(())
    }

    fn restart(&self, component: Component, index: usize) -> Result<(), BenchError> {
        self.0.lock().unwrap().restart(component.name(), index);
        Ok(())
    }

    fn log(&self, component: Component, index: usize) -> Option<String> {
        Some(self.0.lock().unwrap().log(component.name(), index))
    }
}

#[test]
fn the_smallest_bench_runs_every_operation_without_errors() {
    // Some cards declined, so the bench's retry of a declined purchase runs.
    let cluster = Cluster::start(Options {
        approve_probability: 0.7,
        customer_dbs: 3,
        ..Options::default()
    });
    let out = tempfile::tempdir().unwrap();
    let options = BenchOptions {
        config: cluster.config_path.clone(),
        loads: vec![Load {
            sellers: 1,
            buyers: 1,
        }],
        calls: 30,
        scenarios: vec![Scenario::A, Scenario::B, Scenario::E],
        out: out.path().to_path_buf(),
        start_cluster: false,
        ramp: Duration::from_millis(5),
        kill_at: 0.3,
    };
    let control = TestControl(Mutex::new(cluster));
    let report = bench::run(&options, &control, "bench (smoke test)").expect("the bench runs");
    check_results(&report);
    check_files(out.path());
}

/// No errors, the kill happened, every operation was called in every run.
fn check_results(report: &BenchReport) {
    let errors: Vec<_> = report.runs.iter().map(|r| &r.recorder.errors).collect();
    assert_eq!(report.total_errors(), 0, "errors: {errors:?}");
    assert!(
        report.failed_kills().is_empty(),
        "{:?}",
        report.failed_kills()
    );
    let kill = report.runs[1].kill.as_ref().expect("scenario B kills");
    let killed: Vec<String> = kill.targets.iter().map(|t| t.to_string()).collect();
    assert_eq!(killed, ["seller-server 0", "buyer-server 0"]);
    let kill = report.runs[2].kill.as_ref().expect("scenario E kills");
    let killed: Vec<String> = kill.targets.iter().map(|t| t.to_string()).collect();
    assert_eq!(killed, ["customer-db 0"]);
    for run in &report.runs {
        for op in Operation::ALL {
            let calls = run.recorder.operation(*op).calls();
            assert!(calls > 0, "{} {op:?} never called", run.scenario);
        }
    }
}

/// Every report file is there, and the tables name every operation.
fn check_files(out: &Path) {
    for name in [
        "report.md",
        "runs.csv",
        "results.csv",
        "timeline.csv",
        "errors.csv",
        "latency-A.svg",
        "throughput-A.svg",
        "latency-B.svg",
        "throughput-B.svg",
    ] {
        let text =
            std::fs::read_to_string(out.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!text.is_empty(), "{name} is empty");
    }
    let markdown = std::fs::read_to_string(out.join("report.md")).unwrap();
    let results = std::fs::read_to_string(out.join("results.csv")).unwrap();
    for op in Operation::ALL {
        let (role, name) = (op.role().name(), op.name());
        let row = format!("| {role} | {name} |");
        assert!(markdown.contains(&row), "report.md lacks {row}");
        let line = format!("A,1+1,{role},{name},all,");
        assert!(results.contains(&line), "results.csv lacks {line}");
    }
    assert!(markdown.contains("## Scenario B"));
    assert!(markdown.contains("None: every call got its answer"));
}

#[test]
fn the_smallest_scale_run_measures_every_call_and_the_lifecycle() {
    let options = Options {
        approve_probability: 0.7,
        product_dbs: 3,
        customer_dbs: 3,
        snapshot_every_entries: 10,
        ..Options::default()
    };
    let cluster = Cluster::start_with(options, |config| {
        config["sequencer"] = serde_json::json!({"snapshot_every": 10});
    });
    let out = tempfile::tempdir().unwrap();
    let options = ScaleOptions {
        config: cluster.config_path.clone(),
        sizes: vec![20, 40],
        samples: 4,
        out: out.path().to_path_buf(),
        start_cluster: false,
        lifecycle: vec![Component::ProductDb, Component::CustomerDb],
        lag: 30,
    };
    let control = TestControl(Mutex::new(cluster));
    let results =
        bench::run_scale(&options, &control, "bench --scale (smoke test)").expect("it runs");
    assert_eq!(results.len(), 2);
    for result in &results {
        assert_eq!(result.figures.len(), SCALE_OPERATIONS.len());
        assert!(result.figures.iter().all(|f| f.mean_ms > 0.0));
        let databases: Vec<String> = result
            .lifecycle
            .iter()
            .map(|l| l.database.to_string())
            .collect();
        assert_eq!(databases, ["product-db", "customer-db"]);
        for figures in &result.lifecycle {
            assert!(figures.snapshot_file_bytes.is_some(), "{figures:?}");
            assert!(figures.snapshot.is_some(), "{figures:?}");
            assert!(figures.restart.answers <= figures.restart.serves);
        }
    }
    let markdown = std::fs::read_to_string(out.path().join("scale.md")).unwrap();
    for operation in SCALE_OPERATIONS {
        assert!(markdown.contains(&format!("| {operation} |")), "{markdown}");
    }
    assert!(markdown.contains("| 40 | customer-db (2) |"), "{markdown}");
    for name in ["scale.csv", "scale-lifecycle.csv", "scale.svg"] {
        let text = std::fs::read_to_string(out.path().join(name)).unwrap();
        assert!(text.lines().count() > 2, "{name}: {text}");
    }
}
