//! `bench`: the evaluation of the running cluster over REST, as the course
//! asks for it (docs/EVALUATION.md holds a report and how to read it).
//!
//! ```text
//! bench [--config conf/local.json] [--loads 1+1,10+10,100+100] [--calls 1000]
//!       [--scenarios A,B,C,D,E] [--out docs/evaluation] [--no-start]
//!       [--ramp-ms 10] [--kill-at 0.33]
//! ```
//!
//! For every scenario, for every load S+B: S seller and B buyer clients,
//! each a thread with its own account, session and keep-alive connection,
//! set themselves up, then all issue `--calls` calls each of their role's
//! mix (`workload.rs`: every operation of the role) at once. Scenarios:
//! (A) all healthy; (B) seller-server 0 and buyer-server 0, where client 0
//! and every n-th client start, are killed; (C) a product-DB follower is
//! killed; (D) the product-DB leader, found through the replicas' status,
//! is killed. The kill happens once `--kill-at` of the run's calls are done;
//! killed processes are restarted after the run, and the next run starts
//! on a healthy cluster. Clients fail over to another frontend on a
//! transport error or a 503, resending the same `X-Request-Id`, so errors
//! should be zero in every scenario; 402 `card_declined` and 409
//! `insufficient_stock` are business outcomes, counted apart.
//!
//! Without `--no-start`, a cluster that is not up is started with
//! scripts/run.sh; kills and restarts go through scripts/kill.sh and
//! scripts/start-one.sh (run from the current folder, the repository root).
//! Progress goes to stderr; the report (`report.md`, CSV files, SVG charts)
//! to `--out`. The exit status is 0 only if no call failed and every kill
//! happened.
//!
//! `bench --scale` measures something else: what calls and a replica's
//! restart cost as the catalogue and the accounts grow (`scale.rs`,
//! `lifecycle.rs`, `scale_report.rs`; docs/EVALUATION.md "Scale").
//!
//! Parts: `options.rs` (command line), `workload.rs` (the operation mix),
//! `http.rs` (REST with failover), `client.rs` (one client's life),
//! `driver.rs` (threads, ramp-up, kill point, progress), `recorder.rs`
//! (histograms, timeline, errors), `scenario.rs` (what to kill, process
//! control, health), `report.rs` (markdown and CSV), `chart.rs` (SVG).

mod chart;
mod client;
mod driver;
mod error;
mod http;
mod lifecycle;
mod options;
mod recorder;
mod report;
mod scale;
mod scale_report;
mod scenario;
mod workload;

pub use driver::KillRecord;
pub use error::BenchError;
pub use lifecycle::{LifecycleFigures, Restart, SnapshotTiming};
pub use options::{parse_args, BenchOptions, Command, Load, USAGE};
pub use recorder::{Phase, Recorder, Stats};
pub use scale::{run_scale, Figures, ScaleOptions, SizeResult, OPERATIONS as SCALE_OPERATIONS};
pub use scenario::{ClusterControl, Scenario, ScriptControl, Target};
pub use workload::{Operation, Role};

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::{ClusterConfig, FrontendNode};

use driver::{run_load, KillPlan, LoadSpec};
use scenario::{choose_targets, replication_summary, wait_healthy};
use workload::RunNames;

/// How long the cluster may take to be healthy again after a restart.
const HEALTHY_TIMEOUT: Duration = Duration::from_secs(60);

/// One scenario at one load.
pub struct RunResult {
    /// The scenario.
    pub scenario: Scenario,
    /// The load.
    pub load: Load,
    /// What was measured.
    pub recorder: Recorder,
    /// From the start of the load to its last call's end.
    pub wall: Duration,
    /// The kill, for scenarios B-E.
    pub kill: Option<KillRecord>,
    /// CPU time the bench process itself used during the run (its clients
    /// share the machine with the cluster).
    pub bench_cpu: Duration,
}

impl RunResult {
    /// Calls that ended during the load, per second of it.
    pub fn calls_per_second(&self) -> f64 {
        self.recorder.timeline_calls() as f64 / self.wall.as_secs_f64().max(1e-3)
    }
}

/// Everything a bench produced.
pub struct BenchReport {
    /// What was asked.
    pub options: BenchOptions,
    /// The command line, for the report.
    pub command: String,
    /// The machine, for the report.
    pub machine: String,
    /// The replication protocols the databases reported.
    pub replication: String,
    /// Every run, in order.
    pub runs: Vec<RunResult>,
    /// The files written.
    pub files: Vec<PathBuf>,
}

impl BenchReport {
    /// Errors over every run.
    pub fn total_errors(&self) -> u64 {
        self.runs.iter().map(|r| r.recorder.total_errors()).sum()
    }

    /// Kills that did not happen as planned.
    pub fn failed_kills(&self) -> Vec<String> {
        self.runs
            .iter()
            .filter_map(|r| {
                let error = r.kill.as_ref()?.error.as_ref()?;
                Some(format!("{} {}: {error}", r.scenario, r.load))
            })
            .collect()
    }
}

/// Runs every scenario at every load against the cluster of
/// `options.config`, killing and restarting through `control`, and writes
/// the report into `options.out`. `command` is quoted in the report.
pub fn run(
    options: &BenchOptions,
    control: &dyn ClusterControl,
    command: &str,
) -> Result<BenchReport, BenchError> {
    let config =
        ClusterConfig::load(&options.config).map_err(|e| BenchError::Config(e.to_string()))?;
    for scenario in &options.scenarios {
        scenario.check_fits(&config)?;
    }
    std::fs::create_dir_all(&options.out).map_err(|e| BenchError::Write(options.out.clone(), e))?;
    wait_healthy(&config, HEALTHY_TIMEOUT)?;
    let mut report = BenchReport {
        options: options.clone(),
        command: command.to_string(),
        machine: machine_description(),
        replication: replication_summary(&config),
        runs: Vec::new(),
        files: Vec::new(),
    };
    eprintln!("bench: {} on {}", report.replication, report.machine);
    let stamp = run_stamp();
    // A run that cannot go on (the cluster stays unhealthy after a restart,
    // say) ends the bench, but the runs before it are still reported.
    let mut stopped = None;
    'runs: for scenario in &options.scenarios {
        for load in &options.loads {
            let names = run_names(&stamp, report.runs.len());
            match run_one(*scenario, *load, names, options, &config, control) {
                Ok(result) => report.runs.push(result),
                Err(error) => {
                    stopped = Some(error);
                    break 'runs;
                }
            }
        }
    }
    report
        .machine
        .push_str(&format!(", {} at the end", load_average()));
    report.files = report::write_tables(&report, &options.out)?;
    report
        .files
        .extend(chart::write_charts(&report.runs, &options.out)?);
    match stopped {
        Some(error) => Err(error),
        None => Ok(report),
    }
}

/// The frontends' addresses, names looked up once (a bench runs minutes,
/// on a cluster that does not move).
fn frontend_addresses(nodes: &[FrontendNode]) -> Result<Vec<std::net::SocketAddr>, BenchError> {
    nodes
        .iter()
        .map(|node| {
            (node.http.resolve_first())
                .map_err(|e| BenchError::Config(format!("cannot look up {}: {e}", node.http)))
        })
        .collect()
}

fn run_one(
    scenario: Scenario,
    load: Load,
    names: RunNames,
    options: &BenchOptions,
    config: &ClusterConfig,
    control: &dyn ClusterControl,
) -> Result<RunResult, BenchError> {
    wait_healthy(config, HEALTHY_TIMEOUT)?;
    let label = format!("{scenario} {load}");
    eprintln!(
        "bench {label}: scenario {scenario} ({}), {} calls per client",
        scenario.description(),
        options.calls
    );
    let choose = move || choose_targets(scenario, config);
    let kill = scenario.kills().then(|| KillPlan {
        after_calls: ((load.clients() * options.calls) as f64 * options.kill_at) as u64,
        choose: &choose,
        control,
    });
    let spec = LoadSpec {
        label: label.clone(),
        load,
        calls: options.calls,
        sellers: frontend_addresses(&config.seller_server)?,
        buyers: frontend_addresses(&config.buyer_server)?,
        names,
        ramp: options.ramp,
        kill,
    };
    let cpu_before = process_cpu();
    let mut outcome = run_load(&spec)?;
    let bench_cpu = process_cpu().saturating_sub(cpu_before);
    if let Some(kill) = outcome.kill.as_mut() {
        if kill.error.is_none() && kill.at.is_some_and(|at| at > outcome.wall) {
            kill.error = Some("the kill came after the last call: the run is too short".into());
        }
    }
    if let Some(kill) = &outcome.kill {
        for target in &kill.targets {
            control.restart(target.component, target.index)?;
        }
    }
    let result = RunResult {
        scenario,
        load,
        recorder: outcome.recorder,
        wall: outcome.wall,
        kill: outcome.kill,
        bench_cpu,
    };
    eprintln!(
        "bench {label}: {} calls in {:.1} s, {:.0} calls/s, {} errors, longest call {} ms",
        result.recorder.timeline_calls(),
        result.wall.as_secs_f64(),
        result.calls_per_second(),
        result.recorder.total_errors(),
        report::ms(result.recorder.longest_call_ms())
    );
    Ok(result)
}

/// A stamp that differs between bench invocations (milliseconds, base 36).
fn run_stamp() -> String {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    base36(millis, 0)
}

fn base36(mut n: u128, width: usize) -> String {
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut text = Vec::new();
    while n > 0 || text.len() < width.max(1) {
        text.push(DIGITS[(n % 36) as usize]);
        n /= 36;
    }
    text.reverse();
    String::from_utf8(text).expect("ASCII digits")
}

/// Names no earlier run on the same cluster used: account names carry the
/// stamp and the run's number; keywords (8 characters at most) carry three
/// random letters, so a collision only lengthens a search result.
fn run_names(stamp: &str, run: usize) -> RunNames {
    RunNames {
        accounts: format!("bn{stamp}{}", base36(run as u128, 2)),
        keywords: base36(u128::from(rand::random::<u16>()) % (36 * 36 * 36), 3),
    }
}

/// Cores, CPU model and load average, from /proc where there is one.
pub fn machine_description() -> String {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, m)| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    format!(
        "{cores} cores ({model}), load average {} at the start",
        load_average()
    )
}

/// User plus system CPU time of this process so far (zero where there is
/// no /proc). Linux reports it in ticks of 1/100 s (USER_HZ).
fn process_cpu() -> Duration {
    let ticks = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|stat| {
            // The command name may hold spaces: count fields after its ')'.
            let fields: Vec<u64> = stat
                .rsplit_once(')')?
                .1
                .split_whitespace()
                .skip(11)
                .take(2)
                .filter_map(|f| f.parse().ok())
                .collect();
            (fields.len() == 2).then(|| fields[0] + fields[1])
        })
        .unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

/// The 1, 5 and 15 minute load averages, from /proc/loadavg.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// The `bench` program: parses the arguments, starts the cluster if asked
/// and needed, runs, writes the report.
pub fn main_with_args(arguments: Vec<String>) -> Result<(), BenchError> {
    let options = match parse_args(arguments.clone())? {
        Command::Help => {
            println!("{USAGE}");
            return Ok(());
        }
        Command::Run(options) => options,
        Command::Scale(scale) => return main_scale(&scale, arguments),
    };
    let control = ScriptControl::new(Path::new("."), &options.config);
    if options.start_cluster {
        let config =
            ClusterConfig::load(&options.config).map_err(|e| BenchError::Config(e.to_string()))?;
        if wait_healthy(&config, Duration::from_secs(1)).is_err() {
            control.start_cluster()?;
        }
    }
    let command = std::iter::once("bench".to_string())
        .chain(arguments)
        .collect::<Vec<_>>()
        .join(" ");
    let report = run(&options, &control, &command)?;
    eprintln!(
        "bench: report in {}",
        options.out.join("report.md").display()
    );
    let failed_kills = report.failed_kills();
    if !failed_kills.is_empty() {
        return Err(BenchError::Cluster(format!(
            "kills failed: {}",
            failed_kills.join("; ")
        )));
    }
    match report.total_errors() {
        0 => Ok(()),
        n => Err(BenchError::CallsFailed(n)),
    }
}

/// `bench --scale`: starts the cluster if asked and needed, then measures.
fn main_scale(scale: &ScaleOptions, arguments: Vec<String>) -> Result<(), BenchError> {
    if scale.start_cluster {
        let config =
            ClusterConfig::load(&scale.config).map_err(|e| BenchError::Config(e.to_string()))?;
        if wait_healthy(&config, Duration::from_secs(1)).is_err() {
            ScriptControl::new(Path::new("."), &scale.config).start_cluster()?;
        }
    }
    let command = std::iter::once("bench".to_string())
        .chain(arguments)
        .collect::<Vec<_>>()
        .join(" ");
    let control = ScriptControl::new(Path::new("."), &scale.config);
    run_scale(scale, &control, &command)?;
    eprintln!("bench: report in {}", scale.out.join("scale.md").display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fit_the_limits() {
        let names = run_names(&run_stamp(), 35);
        assert_eq!(names.keywords.len(), 3);
        assert!(names.accounts.len() + 5 <= 32, "{}", names.accounts);
        assert_eq!(base36(0, 2), "00");
        assert_eq!(base36(36 * 36 + 1, 0), "101");
    }
}
