//! The cluster a chaos run owns: every process started from the crate's
//! binaries on a loopback address of its own (127.x.y.z, drawn from the
//! seed, so runs in parallel and a cluster of scripts/run.sh never collide),
//! with a data folder under a fresh directory. It can crash (SIGKILL),
//! pause (SIGSTOP), resume (SIGCONT) and restart any process, find the
//! product DB's leader, and set the replicas' UDP loss. Every process is
//! killed and reaped when the cluster is dropped, on every path, and dies
//! with the run if the run itself is killed (Linux's parent-death signal).
//! With `--hosts` the processes run instead on the network-namespace hosts
//! of scripts/hosts.sh, at the addresses of conf/hosts.json, each in the
//! host its address names (`hosts.rs`), and the cluster can also cut hosts
//! off and make their links lose packets.

use std::collections::BTreeMap;
use std::fs::File;
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::config::{ClusterConfig, Component};
use crate::rpc::{environment, DatabaseClient, DatabaseKind};

use super::hosts::{self, HostControl};
use super::ChaosError;

/// How long a process may take to listen after it starts.
const LISTEN_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a replica has to answer a status or fault-switch call.
const CONTROL_TIMEOUT: Duration = Duration::from_millis(800);

/// One process of the cluster.
pub type Member = (Component, usize);

/// Process counts and settings of the cluster.
#[derive(Clone, Debug)]
pub struct ClusterShape {
    /// Product-DB replicas.
    pub product_dbs: usize,
    /// Customer-DB members.
    pub customer_dbs: usize,
    /// Seller servers.
    pub seller_servers: usize,
    /// Buyer servers.
    pub buyer_servers: usize,
    /// Share of card payments the financial service approves.
    pub approve_probability: f64,
    /// Raft snapshots after this many entries: low, so that runs compact.
    pub snapshot_every_entries: u64,
}

impl Default for ClusterShape {
    fn default() -> Self {
        ClusterShape {
            product_dbs: 5,
            customer_dbs: 5,
            seller_servers: 2,
            buyer_servers: 2,
            approve_probability: 0.9,
            snapshot_every_entries: 500,
        }
    }
}

impl ClusterShape {
    /// The shape of `file`'s process lists, with the run's settings.
    fn of_file(file: &Value) -> ClusterShape {
        let count = |key: &str| file[key].as_array().map_or(0, Vec::len);
        ClusterShape {
            product_dbs: count("product_db"),
            customer_dbs: count("customer_db"),
            seller_servers: count("seller_server"),
            buyer_servers: count("buyer_server"),
            ..ClusterShape::default()
        }
    }
}

/// Where a cluster's processes run.
#[derive(Clone, Debug)]
pub enum Placement {
    /// On a loopback address of the run's own, in the run's namespace.
    Loopback,
    /// On the namespace hosts, at conf/hosts.json's addresses (`file`),
    /// each process in the host its address names.
    Hosts { control: HostControl, file: Value },
}

/// A running cluster.
pub struct ChaosCluster {
    dir: PathBuf,
    keep_dir: bool,
    bin_dir: PathBuf,
    config_path: PathBuf,
    config: ClusterConfig,
    shape: ClusterShape,
    hosts: Option<HostControl>,
    running: BTreeMap<Member, Child>,
    paused: Vec<Member>,
}

impl ChaosCluster {
    /// Writes a cluster file for `shape` (on loopback) or for the hosts
    /// under `dir` and starts every process, waiting until each listens.
    pub fn start(
        shape: &ClusterShape,
        placement: &Placement,
        seed: u64,
        dir: PathBuf,
        keep_dir: bool,
        bin_dir: PathBuf,
    ) -> Result<ChaosCluster, ChaosError> {
        std::fs::create_dir_all(&dir)
            .map_err(|e| ChaosError::Setup(format!("cannot create {}: {e}", dir.display())))?;
        let (file, shape, hosts) = match placement {
            Placement::Loopback => {
                let host = loopback_host(seed);
                let file = cluster_file(&host, shape, seed, &dir.join("data"));
                (file, shape.clone(), None)
            }
            Placement::Hosts { control, file } => {
                let file = hosts_cluster_file(file, seed, &dir.join("data"));
                let shape = ClusterShape::of_file(&file);
                (file, shape, Some(control.clone()))
            }
        };
        let config_path = dir.join("cluster.json");
        std::fs::write(
            &config_path,
            serde_json::to_vec_pretty(&file).expect("JSON"),
        )
        .map_err(|e| ChaosError::Setup(format!("cannot write the cluster file: {e}")))?;
        let config = ClusterConfig::load(&config_path)
            .map_err(|e| ChaosError::Setup(format!("the generated cluster file: {e}")))?;
        let mut cluster = ChaosCluster {
            dir,
            keep_dir,
            bin_dir,
            config_path,
            config,
            shape,
            hosts,
            running: BTreeMap::new(),
            paused: Vec::new(),
        };
        cluster.start_all()?;
        Ok(cluster)
    }

    /// Every process in the cluster file.
    pub fn members(&self) -> Vec<Member> {
        Component::ALL
            .into_iter()
            .flat_map(|c| (0..self.config.count(c)).map(move |i| (c, i)))
            .collect()
    }

    /// The cluster file.
    pub fn config(&self) -> &ClusterConfig {
        &self.config
    }

    /// Its process counts and settings.
    pub fn shape(&self) -> &ClusterShape {
        &self.shape
    }

    /// The hosts' links, on a run on hosts.
    pub fn hosts(&self) -> Option<&HostControl> {
        self.hosts.as_ref()
    }

    /// The host a process runs in, on a run on hosts.
    pub fn host_of(&self, member: Member) -> Option<&'static str> {
        self.hosts.as_ref()?;
        hosts::host_of(self.config.service_address(member.0, member.1)?)
    }

    /// The folder holding the cluster file, data and logs.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The frontends of a role, for clients.
    pub fn frontends(&self, component: Component) -> Vec<SocketAddr> {
        (0..self.config.count(component))
            .filter_map(|i| self.config.service_address(component, i))
            .collect()
    }

    /// Starts every process that is not running and waits until all listen.
    pub fn start_all(&mut self) -> Result<(), ChaosError> {
        for member in self.members() {
            if !self.running.contains_key(&member) {
                self.spawn(member)?;
            }
        }
        for member in self.members() {
            self.wait_listening(member)?;
        }
        Ok(())
    }

    /// Crashes every process at once, as a power cut would.
    pub fn kill_all(&mut self) {
        for member in self.members() {
            self.kill(member);
        }
    }

    /// Whether a process is running (possibly paused).
    pub fn is_running(&self, member: Member) -> bool {
        self.running.contains_key(&member)
    }

    fn spawn(&mut self, member: Member) -> Result<(), ChaosError> {
        let (component, index) = member;
        let log_path = self.dir.join(format!("{component}-{index}.log"));
        let log = File::options()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(|e| ChaosError::Setup(format!("cannot open {}: {e}", log_path.display())))?;
        let stderr = log
            .try_clone()
            .map_err(|e| ChaosError::Setup(format!("log file: {e}")))?;
        let binary = self.bin_dir.join(component.name());
        let mut command = Command::new(&binary);
        // On hosts, the child enters its host's network namespace before it
        // execs; the file is opened here (close-on-exec) and kept open
        // until the child has started.
        let namespace = match self.host_of(member) {
            Some(host) => Some(hosts::namespace(host)?),
            None if self.hosts.is_some() => {
                return Err(ChaosError::Setup(format!(
                    "{component} {index}: its address is on none of the hosts"
                )))
            }
            None => None,
        };
        let namespace_fd = namespace.as_ref().map(|file| file.as_raw_fd());
        // SAFETY: prctl is async-signal-safe and touches no memory of ours.
        // A process of the run dies with the thread that started it, so a
        // chaos run killed by its caller leaves nothing behind.
        unsafe {
            command.pre_exec(move || {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                if let Some(fd) = namespace_fd {
                    // setns is a plain system call: safe between fork and exec.
                    if libc::setns(fd, libc::CLONE_NEWNET) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                Ok(())
            });
        }
        let child = command
            .arg("--config")
            .arg(&self.config_path)
            .arg("--index")
            .arg(index.to_string())
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(stderr)
            .spawn()
            .map_err(|e| ChaosError::Setup(format!("cannot start {}: {e}", binary.display())))?;
        drop(namespace);
        self.running.insert(member, child);
        Ok(())
    }

    fn wait_listening(&self, member: Member) -> Result<(), ChaosError> {
        let (component, index) = member;
        let address = self
            .config
            .service_address(component, index)
            .expect("a member of the file");
        let started = Instant::now();
        while TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_err() {
            if started.elapsed() > LISTEN_TIMEOUT {
                return Err(ChaosError::Cluster(format!(
                    "{component} {index} did not listen on {address} within {LISTEN_TIMEOUT:?} (log: {})",
                    self.dir.join(format!("{component}-{index}.log")).display()
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    /// SIGKILLs a process and reaps it.
    pub fn kill(&mut self, member: Member) {
        self.paused.retain(|m| *m != member);
        if let Some(mut child) = self.running.remove(&member) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts a killed process again and waits until it listens.
    pub fn restart(&mut self, member: Member) -> Result<(), ChaosError> {
        if !self.running.contains_key(&member) {
            self.spawn(member)?;
        }
        self.wait_listening(member)
    }

    /// Freezes a process (SIGSTOP): it keeps its sockets and state and
    /// wakes up believing no time has passed.
    pub fn pause(&mut self, member: Member) {
        if let Some(child) = self.running.get(&member) {
            if signal(child, libc::SIGSTOP) {
                self.paused.push(member);
            }
        }
    }

    /// Wakes a paused process (SIGCONT).
    pub fn resume(&mut self, member: Member) {
        if let Some(child) = self.running.get(&member) {
            signal(child, libc::SIGCONT);
        }
        self.paused.retain(|m| *m != member);
    }

    /// Resumes every paused process.
    pub fn resume_all(&mut self) {
        for member in self.paused.clone() {
            self.resume(member);
        }
    }

    /// The product-DB replica that reports itself leader, if one does.
    pub fn product_leader(&self) -> Option<usize> {
        let client = self.database_client(DatabaseKind::Product);
        (0..self.config.count(Component::ProductDb))
            .filter(|&i| self.running.contains_key(&(Component::ProductDb, i)))
            .filter(|&i| !self.paused.contains(&(Component::ProductDb, i)))
            .find(|&i| {
                client
                    .status(i, CONTROL_TIMEOUT)
                    .is_ok_and(|s| s.get_role() == "leader")
            })
    }

    /// The product-DB replica that reports itself leader, with its term.
    pub fn product_leader_and_term(&self) -> Option<(usize, u64)> {
        let client = self.database_client(DatabaseKind::Product);
        (0..self.config.count(Component::ProductDb))
            .filter(|&i| self.running.contains_key(&(Component::ProductDb, i)))
            .filter(|&i| !self.paused.contains(&(Component::ProductDb, i)))
            .find_map(|i| {
                let status = client.status(i, CONTROL_TIMEOUT).ok()?;
                (status.get_role() == "leader").then(|| (i, status.get_term()))
            })
    }

    /// Product-DB replica `index`'s role and term; `None` if it does not
    /// answer.
    pub fn product_role(&self, index: usize) -> Option<(String, u64)> {
        let status = self
            .database_client(DatabaseKind::Product)
            .status(index, CONTROL_TIMEOUT)
            .ok()?;
        Some((status.get_role().to_string(), status.get_term()))
    }

    /// Customer-DB member `index`'s view: whether it works in one (in it,
    /// not changing views) and that view's turn list; `None` if it does not
    /// answer.
    pub fn customer_view(&self, index: usize) -> Option<(bool, Vec<usize>)> {
        let status = self
            .database_client(DatabaseKind::Customer)
            .status(index, CONTROL_TIMEOUT)
            .ok()?;
        let members = status.get_view_members().iter().map(|&m| m as usize);
        Some((
            !status.get_changing() && status.get_in_view(),
            members.collect(),
        ))
    }

    /// A control client of `kind`'s replicas (status, digest, faults).
    pub fn control_client(&self, kind: DatabaseKind) -> DatabaseClient<(), ()> {
        self.database_client(kind)
    }

    /// Sets every running replica of `kind` to drop `probability` of the
    /// datagrams it sends and receives (0 heals). Returns how many replicas
    /// took the setting.
    pub fn set_udp_loss(&self, kind: DatabaseKind, probability: f64, seed: u64) -> usize {
        let component = match kind {
            DatabaseKind::Product => Component::ProductDb,
            DatabaseKind::Customer => Component::CustomerDb,
        };
        let client = self.database_client(kind);
        let settings = json!({
            "drop_outgoing_probability": probability,
            "drop_incoming_probability": probability,
            "cut_peers": [],
            "seed": seed,
        })
        .to_string();
        (0..self.config.count(component))
            .filter(|&i| self.running.contains_key(&(component, i)))
            .filter(|&i| !self.paused.contains(&(component, i)))
            .filter(|&i| client.set_faults(i, &settings, CONTROL_TIMEOUT).is_ok())
            .count()
    }

    /// Cuts replica `isolated` of `kind` off from the others, both ways
    /// (each side drops the other's datagrams), or heals every cut with
    /// `None`. Returns how many replicas took the setting.
    pub fn cut_off(&self, kind: DatabaseKind, isolated: Option<usize>) -> usize {
        let component = match kind {
            DatabaseKind::Product => Component::ProductDb,
            DatabaseKind::Customer => Component::CustomerDb,
        };
        let client = self.database_client(kind);
        let count = self.config.count(component);
        (0..count)
            .filter(|&i| self.running.contains_key(&(component, i)))
            .filter(|&i| !self.paused.contains(&(component, i)))
            .filter(|&i| {
                let cut: Vec<usize> = match isolated {
                    None => Vec::new(),
                    Some(victim) if victim == i => (0..count).filter(|&j| j != i).collect(),
                    Some(victim) => vec![victim],
                };
                let settings = json!({ "cut_peers": cut }).to_string();
                client.set_faults(i, &settings, CONTROL_TIMEOUT).is_ok()
            })
            .count()
    }

    /// A fresh control client for every use: a gRPC channel to a replica
    /// that was just killed can sit in reconnect backoff for seconds, and
    /// the nemesis must see a restarted replica at once.
    fn database_client(&self, kind: DatabaseKind) -> DatabaseClient<(), ()> {
        let component = match kind {
            DatabaseKind::Product => Component::ProductDb,
            DatabaseKind::Customer => Component::CustomerDb,
        };
        let addresses: Vec<SocketAddr> = (0..self.config.count(component))
            .filter_map(|i| self.config.service_address(component, i))
            .collect();
        DatabaseClient::new(environment("chaos"), kind, &addresses)
    }
}

impl Drop for ChaosCluster {
    fn drop(&mut self) {
        for (_, child) in self.running.iter_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if !self.keep_dir {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

fn signal(child: &Child, signal: libc::c_int) -> bool {
    let Ok(pid) = libc::pid_t::try_from(child.id()) else {
        return false;
    };
    // SAFETY: kill(2) on a child we have not reaped, so the pid is ours.
    unsafe { libc::kill(pid, signal) == 0 }
}

/// conf/hosts.json's addresses with the run's settings (those of
/// `cluster_file`) and data folder.
fn hosts_cluster_file(hosts_file: &Value, seed: u64, data_dir: &Path) -> Value {
    let shape = ClusterShape::default();
    let mut file = hosts_file.clone();
    file["session_timeout_ms"] = json!(3_600_000);
    file["financial"] = json!({"approve_probability": shape.approve_probability, "seed": seed});
    file["raft"] = json!({"snapshot_every_entries": shape.snapshot_every_entries});
    file["data_dir"] = json!(data_dir);
    file
}

/// A loopback address of the run's own, from its seed and process id.
fn loopback_host(seed: u64) -> String {
    let mix = seed
        .wrapping_mul(0x9e37_79b9_7f4a_7c15)
        .wrapping_add(u64::from(std::process::id()));
    let a = 10 + (mix % 200);
    let b = (mix >> 8) % 256;
    let c = 1 + (mix >> 16) % 250;
    format!("127.{a}.{b}.{c}")
}

// Ports stay below the kernel's ephemeral range (32768 on Linux), where
// an outgoing connection could take one (see config::bind_error).
fn cluster_file(host: &str, shape: &ClusterShape, seed: u64, data_dir: &Path) -> Value {
    let replicas = |count: usize, base: u16| -> Vec<Value> {
        (0..count as u16)
            .map(|i| json!({"grpc": format!("{host}:{}", base + i), "peer": format!("{host}:{}", base + 100 + i)}))
            .collect()
    };
    let frontends = |count: usize, base: u16| -> Vec<Value> {
        (0..count as u16)
            .map(|i| json!({"http": format!("{host}:{}", base + i)}))
            .collect()
    };
    json!({
        "session_timeout_ms": 3_600_000,
        "financial": {"approve_probability": shape.approve_probability, "seed": seed},
        "raft": {"snapshot_every_entries": shape.snapshot_every_entries},
        "product_db": replicas(shape.product_dbs, 26000),
        "customer_db": replicas(shape.customer_dbs, 27000),
        "seller_server": frontends(shape.seller_servers, 28000),
        "buyer_server": frontends(shape.buyer_servers, 29000),
        "financial_service": frontends(1, 30000),
        "data_dir": data_dir,
    })
}
