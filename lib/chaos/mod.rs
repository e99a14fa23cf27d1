//! `chaos`: the whole cluster under concurrent load while a nemesis
//! crashes, pauses and restarts processes and drops UDP datagrams; then a
//! full restart from the data folders, and a proof from the recorded
//! history that nothing was lost, duplicated or read stale.
//!
//! ```text
//! chaos [--seed N] [--minutes M] [--sellers S] [--buyers B] [--dir D] [--keep] [--hosts]
//! ```
//!
//! A run: start a cluster of its own (`cluster.rs`); create the accounts
//! and a catalogue; start the clients (`workload.rs`: two sessions per
//! seller, a writer and a reader session per buyer), each recording every
//! call with its start and end (`history.rs`); run the nemesis for the
//! given minutes (`nemesis.rs`), then heal; stop the clients; SIGKILL every
//! process at once and start them all again from their data folders; read
//! back every item, cart and history; check each object's history for
//! linearizability (`linearizability.rs`, `models.rs`) and the invariants
//! on units and purchases (`check.rs`); print a one-page summary
//! (`summary.rs`). Exit status 0 means no anomaly and every object decided.
//!
//! With `--hosts` the same run happens on the network-namespace hosts of
//! scripts/hosts.sh (`hosts.rs`): processes on their hosts, the run in the
//! client host, real partitions and packet loss among the faults
//! (`host_faults.rs`), and every replica's digest compared at the end
//! (`convergence.rs`).
//!
//! Calls are resent with their request id until some frontend answers, so
//! almost every call ends with a definite answer; one that never does is
//! itself reported, and makes the objects it touched uncheckable.

mod api;
mod check;
mod checker_timing;
mod cluster;
mod convergence;
mod error;
mod final_state;
mod history;
mod host_faults;
mod hosts;
pub mod linearizability;
pub mod models;
mod nemesis;
mod options;
mod summary;
mod workload;

pub use check::{Anomaly, CheckReport, FinalState};
pub use cluster::{ChaosCluster, ClusterShape, Placement};
pub use convergence::Convergence;
pub use error::ChaosError;
pub use nemesis::{FaultKind, FaultLog};
pub use options::{parse_args, ChaosOptions, Command, USAGE};
pub use summary::ChaosReport;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use crate::config::Component;

use history::{History, RunClock};
use nemesis::NemesisPlan;
use workload::{create_account, Account, BuyerClient, Client, SellerClient, Shared};

/// Items each seller puts up before the faults start.
const ITEMS_PER_SELLER: usize = 3;
/// How long the clients keep going, fault-free, after the nemesis stops.
const QUIET_TAIL: Duration = Duration::from_secs(2);
/// How often a progress line goes to stderr.
const PROGRESS_EVERY: Duration = Duration::from_secs(30);
/// How long a new cluster may take to elect a product-DB leader.
const LEADER_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs the whole thing, on loopback or (`--hosts`) on the hosts; the
/// report holds the verdicts.
pub fn run(options: &ChaosOptions) -> Result<ChaosReport, ChaosError> {
    if options.hosts {
        run_on_hosts(options)
    } else {
        run_placed(options, &Placement::Loopback)
    }
}

/// Makes the hosts, runs inside the client host, and takes the hosts down
/// on every path (the run's error or panic included). The run gets a
/// thread of its own, which enters the client host: this thread stays in
/// the machine's namespace, where `hosts.sh down` does not stop it.
fn run_on_hosts(options: &ChaosOptions) -> Result<ChaosReport, ChaosError> {
    if let Some(why) = hosts::why_not_possible() {
        return Err(ChaosError::Setup(why));
    }
    let file = hosts::hosts_cluster_file()?;
    let network = hosts::HostNetwork::up()?;
    let placement = Placement::Hosts {
        control: network.control(),
        file,
    };
    let options = options.clone();
    let runner = std::thread::Builder::new()
        .name("run-on-hosts".into())
        .spawn(move || {
            hosts::enter(hosts::CLIENT_HOST)?;
            run_placed(&options, &placement)
        })
        .map_err(|e| ChaosError::Setup(format!("cannot start the run's thread: {e}")))?;
    let result = runner
        .join()
        .unwrap_or_else(|_| Err(ChaosError::Cluster("the run panicked".into())));
    drop(network);
    result
}

/// Runs the whole thing with the processes placed as `placement` says.
fn run_placed(options: &ChaosOptions, placement: &Placement) -> Result<ChaosReport, ChaosError> {
    let bin_dir = binaries_folder(options)?;
    let dir = run_folder(options);
    let keep = options.keep || options.dir.is_some();
    let started = Instant::now();
    let mut cluster = ChaosCluster::start(
        &ClusterShape::default(),
        placement,
        options.seed,
        dir,
        keep,
        bin_dir,
    )?;
    let shape = cluster.shape().clone();
    wait_for_leader(&cluster)?;

    let shared = Arc::new(Shared {
        clock: RunClock::start(),
        history: History::default(),
        catalogue: RwLock::new(Vec::new()),
        sold_out: RwLock::new(std::collections::HashSet::new()),
        stop: AtomicBool::new(false),
        seed: options.seed,
    });
    let (sellers, buyers) = set_up(&cluster, &shared, options)?;

    let threads = start_clients(&cluster, &shared, &sellers, &buyers)?;
    let plan = NemesisPlan {
        seed: options.seed,
        duration: options.duration,
        max_faults: (options.duration.as_secs() as usize).max(1),
    };
    let struck = Arc::new(AtomicUsize::new(0));
    let progress = start_progress(&shared, &struck, options.duration)?;
    let faults = nemesis::run(&mut cluster, &plan, shared.clock, &struck);
    std::thread::sleep(QUIET_TAIL);
    stop_clients(&shared, progress, threads);

    // A power cut: every process at once, then all back from disk.
    cluster.kill_all();
    cluster.start_all()?;
    wait_for_leader(&cluster)?;
    let end = final_state::read_back(&cluster, &shared, &sellers, &buyers)?;
    let convergence = cluster
        .hosts()
        .is_some()
        .then(|| convergence::wait_converged(&cluster));

    let snapshot = shared.history.snapshot();
    let mut checks = check::check_histories(&snapshot, options.first_anomaly);
    checks
        .anomalies
        .extend(check::check_invariants(&snapshot, &end));
    Ok(ChaosReport {
        seed: options.seed,
        fault_time: options.duration,
        wall_time: started.elapsed(),
        shape,
        sellers: sellers.len(),
        buyers: buyers.len(),
        snapshot,
        faults,
        end,
        checks,
        convergence,
    })
}

/// Where the cluster's binaries are: `--bin-dir`, or beside this one.
fn binaries_folder(options: &ChaosOptions) -> Result<PathBuf, ChaosError> {
    match &options.bin_dir {
        Some(dir) => Ok(dir.clone()),
        None => std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(PathBuf::from))
            .ok_or_else(|| ChaosError::Setup("cannot tell where the binaries are".into())),
    }
}

/// Where the run's files go: `--dir`, or a new folder under the system's
/// temp folder.
fn run_folder(options: &ChaosOptions) -> PathBuf {
    options.dir.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!(
            "marketplace-chaos-{}-{}",
            options.seed,
            std::process::id()
        ))
    })
}

/// Tells the clients and the progress line to stop, and waits for them; a
/// client thread that panicked is a surprise in the history.
fn stop_clients(
    shared: &Shared,
    progress: std::thread::JoinHandle<()>,
    threads: Vec<std::thread::JoinHandle<()>>,
) {
    shared.stop.store(true, Ordering::Relaxed);
    let _ = progress.join();
    for thread in threads {
        if thread.join().is_err() {
            shared
                .history
                .surprise("a client thread panicked".to_string());
        }
    }
}

/// A line on stderr every [`PROGRESS_EVERY`] until the clients stop.
fn start_progress(
    shared: &Arc<Shared>,
    struck: &Arc<AtomicUsize>,
    duration: Duration,
) -> Result<std::thread::JoinHandle<()>, ChaosError> {
    let (shared, struck) = (shared.clone(), struck.clone());
    let started = Instant::now();
    std::thread::Builder::new()
        .name("progress".into())
        .spawn(move || {
            let mut next = PROGRESS_EVERY;
            while !shared.stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(200));
                if started.elapsed() >= next {
                    next += PROGRESS_EVERY;
                    eprintln!(
                        "chaos: {:.1}/{:.1} min, {} calls, {} faults",
                        started.elapsed().as_secs_f64() / 60.0,
                        duration.as_secs_f64() / 60.0,
                        shared.history.call_count(),
                        struck.load(Ordering::Relaxed)
                    );
                }
            }
        })
        .map_err(|e| ChaosError::Setup(format!("cannot start the progress thread: {e}")))
}

fn wait_for_leader(cluster: &ChaosCluster) -> Result<(), ChaosError> {
    let started = Instant::now();
    while cluster.product_leader().is_none() {
        if started.elapsed() > LEADER_TIMEOUT {
            return Err(ChaosError::Cluster(format!(
                "no product-DB leader within {LEADER_TIMEOUT:?}"
            )));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

/// Creates the accounts and the first items.
fn set_up(
    cluster: &ChaosCluster,
    shared: &Arc<Shared>,
    options: &ChaosOptions,
) -> Result<(Vec<Account>, Vec<Account>), ChaosError> {
    let seller_frontends = cluster.frontends(Component::SellerServer);
    let buyer_frontends = cluster.frontends(Component::BuyerServer);
    let sellers = (0..options.sellers)
        .map(|i| {
            create_account(
                shared,
                seller_frontends.clone(),
                "seller",
                &format!("seller-{i}"),
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    let buyers = (0..options.buyers)
        .map(|i| {
            create_account(
                shared,
                buyer_frontends.clone(),
                "buyer",
                &format!("buyer-{i}"),
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    for (index, seller) in sellers.iter().enumerate() {
        let client = Client::login(
            1000 + index,
            shared.clone(),
            seller_frontends.clone(),
            "seller",
            seller,
        )?;
        let mut seller_client = SellerClient {
            client,
            seller: index,
        };
        for _ in 0..ITEMS_PER_SELLER {
            seller_client.put_item();
        }
    }
    if shared.catalogue.read().map_or(0, |c| c.len()) == 0 {
        return Err(ChaosError::Setup("no item could be put up".into()));
    }
    Ok((sellers, buyers))
}

fn start_clients(
    cluster: &ChaosCluster,
    shared: &Arc<Shared>,
    sellers: &[Account],
    buyers: &[Account],
) -> Result<Vec<std::thread::JoinHandle<()>>, ChaosError> {
    let seller_frontends = cluster.frontends(Component::SellerServer);
    let buyer_frontends = cluster.frontends(Component::BuyerServer);
    let mut threads = Vec::new();
    let mut number = 0;
    let spawn = |name: String, body: Box<dyn FnOnce() + Send>| {
        std::thread::Builder::new()
            .name(name)
            .spawn(body)
            .map_err(|e| ChaosError::Setup(format!("cannot start a client thread: {e}")))
    };
    for (index, seller) in sellers.iter().enumerate() {
        for _ in 0..2 {
            number += 1;
            let client = Client::login(
                number,
                shared.clone(),
                seller_frontends.clone(),
                "seller",
                seller,
            )?;
            let seller_client = SellerClient {
                client,
                seller: index,
            };
            threads.push(spawn(
                format!("seller-client-{number}"),
                Box::new(move || seller_client.run()),
            )?);
        }
    }
    for buyer in buyers {
        // Two writing sessions and a reading one per buyer.
        for writer in [true, true, false] {
            number += 1;
            let client = Client::login(
                number,
                shared.clone(),
                buyer_frontends.clone(),
                "buyer",
                buyer,
            )?;
            let buyer_client = BuyerClient {
                client,
                buyer: buyer.id,
                writer,
            };
            threads.push(spawn(
                format!("buyer-client-{number}"),
                Box::new(move || buyer_client.run()),
            )?);
        }
    }
    Ok(threads)
}

/// The binary's body: parses `args`, runs, prints the summary to stdout;
/// returns the exit status (0 no anomaly and all decided, 1 anomalies,
/// 2 no run, 3 some object undecided).
pub fn main_with_args(args: impl IntoIterator<Item = String>) -> i32 {
    let options = match parse_args(args) {
        Ok(Command::Run(options)) => options,
        Ok(Command::TimeChecker { ops, seed }) => {
            print!("{}", checker_timing::time_checker(ops, seed));
            return 0;
        }
        Ok(Command::Help) => {
            println!("{USAGE}");
            return 0;
        }
        Err(error) => {
            eprintln!("error: {error}\n\n{USAGE}");
            return 2;
        }
    };
    eprintln!(
        "chaos: seed {}, {:.1} min of faults (rerun with --seed {})",
        options.seed,
        options.duration.as_secs_f64() / 60.0,
        options.seed
    );
    match run(&options) {
        Ok(report) => {
            print!("{report}");
            report.exit_status()
        }
        Err(error) => {
            eprintln!("error: {error}");
            2
        }
    }
}
