//! The processes: what each binary in bin/ runs. Each `run` reads the
//! command line and the cluster file, starts the part's threads and blocks
//! while the process serves; bin/ mains only call it and exit with its code.

mod customer_db;
mod financial;
mod frontend;
mod product_db;
mod termination;

pub use customer_db::run_customer_db;
pub use financial::run_financial_service;
pub use frontend::{run_buyer_server, run_seller_server};
pub use product_db::run_product_db;

use std::fmt::Display;
use std::sync::Arc;

use crate::config::{Args, ClusterConfig, Component};
use crate::replication::{Replicator, StateMachine};
use crate::rpc::HealthService;

/// Sets up logging (`RUST_LOG`, default `info`) with the process's name.
pub fn init_logging() {
    let env = env_logger::Env::default().default_filter_or("info");
    let _ = env_logger::Builder::from_env(env)
        .format_timestamp_millis()
        .try_init();
}

/// Runs `main` and exits: 0 on success; 2 with a message on stderr for a
/// usage or configuration error; 1 for anything else.
pub fn exit_with(result: Result<(), Failure>) -> ! {
    match result {
        Ok(()) => std::process::exit(0),
        Err(Failure::Usage(message)) => {
            eprintln!("error: {message}");
            std::process::exit(2)
        }
        Err(Failure::Runtime(message)) => {
            eprintln!("error: {message}");
            std::process::exit(1)
        }
    }
}

/// Why a process stopped.
#[derive(Debug)]
pub enum Failure {
    /// Bad command line or cluster file.
    Usage(String),
    /// Something failed while running (a port in use, say).
    Runtime(String),
}

impl Failure {
    /// A runtime failure with context.
    pub fn runtime(context: &str, error: impl Display) -> Self {
        Failure::Runtime(format!("{context}: {error}"))
    }
}

/// Reads `--config` and `--index` for a server process of `component` and
/// loads the cluster file. Prints usage and exits on `--help`.
pub fn server_setup(
    component: Component,
    arguments: impl IntoIterator<Item = String>,
) -> Result<(ClusterConfig, usize), Failure> {
    let args = Args::parse(arguments, &["--config", "--index"])
        .map_err(|e| Failure::Usage(e.to_string()))?;
    if args.help {
        println!("usage: {component} --index N [--config conf/local.json]");
        std::process::exit(0);
    }
    let index = args
        .require_index()
        .map_err(|e| Failure::Usage(e.to_string()))?;
    let config = ClusterConfig::load(&args.config).map_err(|e| Failure::Usage(e.to_string()))?;
    config
        .check_index(component, index)
        .map_err(|e| Failure::Usage(e.to_string()))?;
    init_logging();
    termination::end_on_termination_signals();
    Ok((config, index))
}

/// The gRPC health service of a database replica, reading its status.
pub fn health_of<S: StateMachine>(
    service_name: &'static str,
    replicator: &Arc<dyn Replicator<S>>,
) -> HealthService {
    let replicator = replicator.clone();
    HealthService::new(service_name, Arc::new(move || replicator.status()))
}

/// Blocks the calling thread for good: servers run on their own threads
/// and end with the process (SIGTERM, SIGINT: `termination.rs`; SIGKILL).
pub fn park_forever() -> ! {
    loop {
        std::thread::park();
    }
}
