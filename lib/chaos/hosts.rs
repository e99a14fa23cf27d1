//! The hosts of a `chaos --hosts` run: the five server hosts and the client
//! host that scripts/hosts.sh makes as Linux network namespaces on one
//! bridge (10.77.0.0/24, nothing routed out). The script stays the one
//! place that makes, cuts, heals, degrades and removes them: this file only
//! calls it (`up --no-cluster`, `partition`, `heal`, `loss`, `down`), so
//! the firewall rules of a chaos run are exactly those of `hosts.sh`.
//!
//! The run itself happens in the client host: its thread enters that
//! namespace (setns) before it makes any other thread or socket, so the
//! clients, the nemesis's control calls and every thread they start live
//! there, while the main thread stays in the machine's own namespace (so
//! `hosts.sh down`, which stops whatever runs inside its namespaces, does
//! not stop the run). Each cluster process enters the namespace of the host
//! its address names between fork and exec, so its pid is the binary's and
//! kill -9 and SIGSTOP work on it from anywhere.

use std::fs::File;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

use super::ChaosError;

/// The hosts and their addresses, as scripts/hosts.sh makes them.
const HOSTS: [(&str, Ipv4Addr); 6] = [
    ("mkt-h1", Ipv4Addr::new(10, 77, 0, 1)),
    ("mkt-h2", Ipv4Addr::new(10, 77, 0, 2)),
    ("mkt-h3", Ipv4Addr::new(10, 77, 0, 3)),
    ("mkt-h4", Ipv4Addr::new(10, 77, 0, 4)),
    ("mkt-h5", Ipv4Addr::new(10, 77, 0, 5)),
    ("mkt-client", Ipv4Addr::new(10, 77, 0, 100)),
];

/// The host the clients (and the run's own control calls) live in.
pub const CLIENT_HOST: &str = "mkt-client";

/// The repository this binary was built from: scripts/hosts.sh and
/// conf/hosts.json are taken from there.
fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The server hosts (every host but the client host), in order.
pub fn server_hosts() -> Vec<&'static str> {
    HOSTS
        .iter()
        .map(|(name, _)| *name)
        .filter(|name| *name != CLIENT_HOST)
        .collect()
}

/// The host whose address `address` has.
pub fn host_of(address: SocketAddr) -> Option<&'static str> {
    HOSTS
        .iter()
        .find(|(_, ip)| address.ip() == IpAddr::V4(*ip))
        .map(|(name, _)| *name)
}

/// Why this machine cannot run on hosts, if it cannot: the checks of
/// `hosts.sh` itself, said before anything is made.
pub fn why_not_possible() -> Option<String> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return Some("--hosts needs root (network namespaces and firewall rules)".into());
    }
    for (tool, package) in [("ip", "iproute2"), ("iptables", "iptables")] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !found {
            return Some(format!("--hosts needs {tool} (apt-get install {package})"));
        }
    }
    None
}

/// The cluster file of the hosts, conf/hosts.json: where every process of a
/// run on hosts listens.
pub fn hosts_cluster_file() -> Result<Value, ChaosError> {
    let path = repository().join("conf/hosts.json");
    let text = std::fs::read(&path)
        .map_err(|e| ChaosError::Setup(format!("cannot read {}: {e}", path.display())))?;
    serde_json::from_slice(&text)
        .map_err(|e| ChaosError::Setup(format!("{} is not JSON: {e}", path.display())))
}

/// The hosts, up while this lives: `hosts.sh up --no-cluster` when made,
/// `hosts.sh down` when dropped (every path: a panic or an error of the
/// run included).
pub struct HostNetwork {
    control: HostControl,
}

impl HostNetwork {
    /// Makes the hosts; fails if they exist already (a `hosts.sh up`
    /// cluster, another run, or a run that was killed: `hosts.sh down`).
    pub fn up() -> Result<HostNetwork, ChaosError> {
        let control = HostControl {
            script: repository().join("scripts/hosts.sh"),
        };
        control
            .script(&["up", "--no-cluster"])
            .map_err(ChaosError::Setup)?;
        Ok(HostNetwork { control })
    }

    /// A handle for cutting, healing and degrading the hosts' links.
    pub fn control(&self) -> HostControl {
        self.control.clone()
    }
}

impl Drop for HostNetwork {
    fn drop(&mut self) {
        match self.control.script(&["down"]) {
            Ok(said) => eprintln!("chaos: hosts.sh down: {}", said.trim().replace('\n', "; ")),
            Err(why) => eprintln!("chaos: hosts.sh down failed: {why}"),
        }
    }
}

/// Cuts, heals and degrades the hosts' links through scripts/hosts.sh.
#[derive(Clone, Debug)]
pub struct HostControl {
    script: PathBuf,
}

impl HostControl {
    /// Cuts the named hosts off from every other host, both ways (they
    /// still reach each other); replaces any earlier partition.
    pub fn partition(&self, group: &[&str]) -> Result<(), String> {
        self.script(&["partition", &group.join(",")]).map(|_| ())
    }

    /// Undoes any partition.
    pub fn heal(&self) -> Result<(), String> {
        self.script(&["heal"]).map(|_| ())
    }

    /// Every host drops `percent` % of what it receives (0: none).
    pub fn loss(&self, percent: u32) -> Result<(), String> {
        self.script(&["loss", &percent.to_string()]).map(|_| ())
    }

    /// Runs `hosts.sh ARGS`; its stdout, or why it failed.
    fn script(&self, args: &[&str]) -> Result<String, String> {
        let output = Command::new(&self.script)
            .args(args)
            .current_dir(repository())
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run {}: {e}", self.script.display()))?;
        if output.status.success() {
            Ok(String::from_utf8_lossy(&output.stdout).into_owned())
        } else {
            Err(format!(
                "hosts.sh {} failed ({}): {}{}",
                args.join(" "),
                output.status,
                String::from_utf8_lossy(&output.stdout).trim(),
                String::from_utf8_lossy(&output.stderr).trim()
            ))
        }
    }
}

/// The network namespace of `host`, to enter.
pub fn namespace(host: &str) -> Result<File, ChaosError> {
    let path = Path::new("/run/netns").join(host);
    File::open(&path).map_err(|e| ChaosError::Setup(format!("cannot open {}: {e}", path.display())))
}

/// Moves the calling thread (and every thread and process it starts
/// afterwards) into `host`'s network namespace.
pub fn enter(host: &str) -> Result<(), ChaosError> {
    let file = namespace(host)?;
    // SAFETY: setns on a namespace file we hold open; it changes only the
    // calling thread's network namespace.
    if unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
        return Err(ChaosError::Setup(format!(
            "cannot enter the network namespace of {host}: {}",
            std::io::Error::last_os_error()
        )));
    }
    Ok(())
}
