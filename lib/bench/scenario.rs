//! The four scenarios and the cluster around them: what each one kills
//! (found, for the databases, through cluster-status's view of the
//! replicas), how processes are killed and restarted ([`ClusterControl`]:
//! `scripts/kill.sh` and `scripts/start-one.sh` by default, anything else in
//! tests), and when the cluster is healthy enough to start a run.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::config::{ClusterConfig, Component};
use crate::status::{probe_cluster, status_json};

use super::BenchError;

/// The evaluation's scenarios.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scenario {
    /// All healthy.
    A,
    /// One seller-server and one buyer-server that clients use are killed.
    B,
    /// One product-DB follower is killed.
    C,
    /// The product-DB leader is killed.
    D,
    /// A customer-DB member that clients' calls reach (the one frontend 0
    /// starts on) is killed and stays down: the others go on in a new view.
    E,
}

impl Scenario {
    /// Every scenario, in order.
    pub const ALL: [Scenario; 5] = [
        Scenario::A,
        Scenario::B,
        Scenario::C,
        Scenario::D,
        Scenario::E,
    ];

    /// Its letter.
    pub fn letter(self) -> &'static str {
        match self {
            Scenario::A => "A",
            Scenario::B => "B",
            Scenario::C => "C",
            Scenario::D => "D",
            Scenario::E => "E",
        }
    }

    /// One line saying what happens in it.
    pub fn description(self) -> &'static str {
        match self {
            Scenario::A => "all healthy",
            Scenario::B => "one seller-server and one buyer-server in use are killed",
            Scenario::C => "one product-DB follower is killed",
            Scenario::D => "the product-DB leader is killed",
            Scenario::E => "a customer-DB member in use is killed and stays down",
        }
    }

    /// Whether it kills anything.
    pub fn kills(self) -> bool {
        self != Scenario::A
    }

    /// Checks that the cluster file has what the scenario needs to stay up
    /// after its kill.
    pub fn check_fits(self, config: &ClusterConfig) -> Result<(), BenchError> {
        let need = |component: Component, n: usize| {
            if config.count(component) >= n {
                Ok(())
            } else {
                Err(BenchError::Usage(format!(
                    "scenario {} needs at least {n} {component} in the cluster file",
                    self.letter()
                )))
            }
        };
        match self {
            Scenario::A => Ok(()),
            Scenario::B => {
                need(Component::SellerServer, 2)?;
                need(Component::BuyerServer, 2)
            }
            Scenario::C | Scenario::D => need(Component::ProductDb, 2),
            // Two of three would be no majority: the group needs n >= 3.
            Scenario::E => need(Component::CustomerDb, 3),
        }
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.letter())
    }
}

impl FromStr for Scenario {
    type Err = BenchError;
    fn from_str(text: &str) -> Result<Self, BenchError> {
        Scenario::ALL
            .into_iter()
            .find(|s| s.letter().eq_ignore_ascii_case(text.trim()))
            .ok_or_else(|| {
                BenchError::Usage(format!("unknown scenario {text:?} (A, B, C, D or E)"))
            })
    }
}

/// One process of the cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Target {
    /// Its component.
    pub component: Component,
    /// Its index in the cluster file.
    pub index: usize,
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.component, self.index)
    }
}

/// Kills and restarts processes of the cluster.
pub trait ClusterControl: Sync {
    /// Crashes one process (SIGKILL).
    fn kill(&self, component: Component, index: usize) -> Result<(), BenchError>;
    /// Starts it again (returns once started; [`wait_healthy`] waits for it
    /// to answer).
    fn restart(&self, component: Component, index: usize) -> Result<(), BenchError>;
    /// One process's log so far, where the control knows it (`bench
    /// --scale` reads the replicas' snapshot lines from it).
    fn log(&self, _component: Component, _index: usize) -> Option<String> {
        None
    }
}

/// The cluster of scripts/run.sh, controlled through the scripts.
pub struct ScriptControl {
    root: PathBuf,
    config: PathBuf,
}

impl ScriptControl {
    /// Scripts under `root/scripts`, for the cluster file `config`.
    pub fn new(root: &Path, config: &Path) -> Self {
        let config = std::fs::canonicalize(config).unwrap_or_else(|_| config.to_path_buf());
        ScriptControl {
            root: root.to_path_buf(),
            config,
        }
    }

    fn script(&self, name: &str, arguments: &[String]) -> Result<(), BenchError> {
        let path = self.root.join("scripts").join(name);
        let output = Command::new(&path)
            .args(arguments)
            .env("MARKETPLACE_CONFIG", &self.config)
            .output()
            .map_err(|e| BenchError::Control(format!("cannot run {}: {e}", path.display())))?;
        if output.status.success() {
            Ok(())
        } else {
            Err(BenchError::Control(format!(
                "{name} {} failed: {}{}",
                arguments.join(" "),
                String::from_utf8_lossy(&output.stdout).trim(),
                String::from_utf8_lossy(&output.stderr).trim()
            )))
        }
    }

    /// Builds and starts the whole cluster (scripts/run.sh).
    pub fn start_cluster(&self) -> Result<(), BenchError> {
        eprintln!("bench: starting the cluster with scripts/run.sh");
        self.script("run.sh", &[])
    }
}

impl ClusterControl for ScriptControl {
    fn kill(&self, component: Component, index: usize) -> Result<(), BenchError> {
        self.script("kill.sh", &[component.to_string(), index.to_string()])
    }

    fn restart(&self, component: Component, index: usize) -> Result<(), BenchError> {
        self.script("start-one.sh", &[component.to_string(), index.to_string()])
    }

    /// Where scripts/start-one.sh appends it: `run/logs/<component>-<index>.log`.
    fn log(&self, component: Component, index: usize) -> Option<String> {
        let path = self
            .root
            .join("run/logs")
            .join(format!("{component}-{index}.log"));
        std::fs::read_to_string(path).ok()
    }
}

/// The cluster as `cluster-status --json` shows it.
pub fn cluster_status(config: &ClusterConfig) -> Vec<Value> {
    probe_cluster(config).iter().map(status_json).collect()
}

fn is_component(entry: &Value, component: Component) -> bool {
    entry["component"] == component.name()
}

fn role_of(entry: &Value) -> String {
    entry["replication"]["role"]
        .as_str()
        .unwrap_or("")
        .to_ascii_lowercase()
}

/// What `scenario` kills now. Frontends: index 0 of each kind, which
/// client 0 (and every n-th client) starts on. Databases: from the
/// replicas' own report; a follower is any live product-DB replica that is
/// not the leader, the highest index first (today's stand-in serves from
/// replica 0 and calls the others "standby").
pub fn choose_targets(
    scenario: Scenario,
    config: &ClusterConfig,
) -> Result<Vec<Target>, BenchError> {
    let frontend = |component| Target {
        component,
        index: 0,
    };
    let product = |entry: &Value| Target {
        component: Component::ProductDb,
        index: entry["index"].as_u64().unwrap_or(0) as usize,
    };
    let live_products = || {
        cluster_status(config)
            .into_iter()
            .filter(|e| is_component(e, Component::ProductDb) && e["up"] == true)
            .collect::<Vec<_>>()
    };
    match scenario {
        Scenario::A => Ok(Vec::new()),
        Scenario::B => Ok(vec![
            frontend(Component::SellerServer),
            frontend(Component::BuyerServer),
        ]),
        Scenario::C => live_products()
            .iter()
            .rev()
            .find(|e| role_of(e) != "leader")
            .map(|e| vec![product(e)])
            .ok_or_else(|| BenchError::Cluster("no live product-DB follower to kill".into())),
        Scenario::D => live_products()
            .iter()
            .find(|e| role_of(e) == "leader")
            .map(|e| vec![product(e)])
            .ok_or_else(|| BenchError::Cluster("no product-DB leader to kill".into())),
        Scenario::E => Ok(vec![Target {
            component: Component::CustomerDb,
            index: 0,
        }]),
    }
}

/// Waits until every process answers and the product DB has a leader.
pub fn wait_healthy(config: &ClusterConfig, timeout: Duration) -> Result<(), BenchError> {
    let started = Instant::now();
    loop {
        let status = cluster_status(config);
        let down: Vec<String> = status
            .iter()
            .filter(|e| e["up"] != true)
            .map(|e| format!("{} {}", e["component"].as_str().unwrap_or("?"), e["index"]))
            .collect();
        let leader = status
            .iter()
            .any(|e| is_component(e, Component::ProductDb) && role_of(e) == "leader");
        if down.is_empty() && leader {
            return Ok(());
        }
        if started.elapsed() >= timeout {
            let why = if down.is_empty() {
                "the product DB has no leader".to_string()
            } else {
                format!("down: {}", down.join(", "))
            };
            return Err(BenchError::Cluster(format!(
                "not healthy after {} s ({why})",
                timeout.as_secs()
            )));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The replication protocol each database reports, e.g.
/// "product-db: standalone, customer-db: standalone".
pub fn replication_summary(config: &ClusterConfig) -> String {
    let status = cluster_status(config);
    [Component::ProductDb, Component::CustomerDb]
        .iter()
        .map(|&component| {
            let protocol = status
                .iter()
                .filter(|e| is_component(e, component))
                .find_map(|e| e["replication"]["protocol"].as_str().map(String::from))
                .unwrap_or_else(|| "unknown".into());
            format!("{component}: {protocol}")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenarios_parse_in_either_case() {
        assert_eq!("b".parse::<Scenario>().unwrap(), Scenario::B);
        assert_eq!(" D".parse::<Scenario>().unwrap(), Scenario::D);
        assert_eq!("e".parse::<Scenario>().unwrap(), Scenario::E);
        assert!("F".parse::<Scenario>().is_err());
        assert!(!Scenario::A.kills() && Scenario::D.kills() && Scenario::E.kills());
    }
}
