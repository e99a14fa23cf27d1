//! A real cluster for a test: every component as its own process, on a
//! loopback address of its own (127.x.y.z, chosen at random) so tests that
//! run in parallel, and a cluster started by scripts/run.sh, never collide.
//! Processes are SIGKILLed and reaped when the `Cluster` is dropped, on
//! every path, panics included.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use marketplace::customer::{CustomerRequest, CustomerResult};
use marketplace::product::{ProductRequest, ProductResult};
use marketplace::rpc::{environment, DatabaseClient, DatabaseKind};
use serde_json::{json, Value};

/// How long a process may take to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// What a test can change about its cluster.
#[derive(Clone, Debug)]
pub struct Options {
    pub product_dbs: usize,
    pub customer_dbs: usize,
    pub seller_servers: usize,
    pub buyer_servers: usize,
    pub session_timeout_ms: u64,
    pub approve_probability: f64,
    pub seed: u64,
    /// Raft snapshots (and log compaction) after this many entries.
    pub snapshot_every_entries: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            product_dbs: 1,
            customer_dbs: 1,
            seller_servers: 2,
            buyer_servers: 2,
            session_timeout_ms: 300_000,
            approve_probability: 1.0,
            seed: 7,
            snapshot_every_entries: 10_000,
        }
    }
}

/// A running cluster.
pub struct Cluster {
    pub dir: tempfile::TempDir,
    pub config_path: PathBuf,
    pub config: Value,
    processes: Vec<(String, usize, Child)>,
}

/// The path of one of the crate's binaries.
pub fn binary(name: &str) -> PathBuf {
    match name {
        "product-db" => env!("CARGO_BIN_EXE_product-db").into(),
        "customer-db" => env!("CARGO_BIN_EXE_customer-db").into(),
        "seller-server" => env!("CARGO_BIN_EXE_seller-server").into(),
        "buyer-server" => env!("CARGO_BIN_EXE_buyer-server").into(),
        "financial-service" => env!("CARGO_BIN_EXE_financial-service").into(),
        "seller-client" => env!("CARGO_BIN_EXE_seller-client").into(),
        "buyer-client" => env!("CARGO_BIN_EXE_buyer-client").into(),
        "cluster-status" => env!("CARGO_BIN_EXE_cluster-status").into(),
        other => panic!("no binary {other}"),
    }
}

pub fn random_loopback_host() -> String {
    let a = 10 + rand::random::<u8>() % 200;
    let b = rand::random::<u8>();
    let c = 1 + rand::random::<u8>() % 250;
    format!("127.{a}.{b}.{c}")
}

/// The cluster file for `options` on `host`.
// Ports stay below the kernel's ephemeral range (32768 on Linux), where
// an outgoing connection could take one (see config::bind_error).
pub fn cluster_file(host: &str, options: &Options) -> Value {
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
        "session_timeout_ms": options.session_timeout_ms,
        "financial": {"approve_probability": options.approve_probability, "seed": options.seed},
        "raft": {"snapshot_every_entries": options.snapshot_every_entries},
        "product_db": replicas(options.product_dbs, 21000),
        "customer_db": replicas(options.customer_dbs, 22000),
        "seller_server": frontends(options.seller_servers, 23000),
        "buyer_server": frontends(options.buyer_servers, 24000),
        "financial_service": frontends(1, 25000),
    })
}

impl Cluster {
    /// Starts every process of a cluster described by `options` and waits
    /// until each one listens.
    pub fn start(options: Options) -> Cluster {
        Cluster::start_with(options, |_| {})
    }

    /// Like `start`, with the cluster file changed by `edit` first.
    pub fn start_with(options: Options, edit: impl FnOnce(&mut Value)) -> Cluster {
        let dir = tempfile::tempdir().expect("temp dir");
        let host = random_loopback_host();
        let mut config = cluster_file(&host, &options);
        edit(&mut config);
        config["data_dir"] = json!(dir.path().join("data"));
        let config_path = dir.path().join("cluster.json");
        std::fs::write(&config_path, serde_json::to_vec_pretty(&config).unwrap()).unwrap();
        let mut cluster = Cluster {
            dir,
            config_path,
            config,
            processes: Vec::new(),
        };
        for (component, count) in [
            ("product-db", options.product_dbs),
            ("customer-db", options.customer_dbs),
            ("financial-service", 1),
            ("seller-server", options.seller_servers),
            ("buyer-server", options.buyer_servers),
        ] {
            for index in 0..count {
                cluster.spawn(component, index);
            }
        }
        for (component, index) in cluster.members() {
            cluster.wait_listening(&component, index);
        }
        cluster
    }

    fn members(&self) -> Vec<(String, usize)> {
        self.processes
            .iter()
            .map(|(c, i, _)| (c.clone(), *i))
            .collect()
    }

    /// Starts one process (again).
    pub fn spawn(&mut self, component: &str, index: usize) {
        let log = self.dir.path().join(format!("{component}-{index}.log"));
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap();
        let child = Command::new(binary(component))
            .args([
                "--config",
                self.config_path.to_str().unwrap(),
                "--index",
                &index.to_string(),
            ])
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {component}: {e}"));
        self.processes.push((component.to_string(), index, child));
    }

    /// Starts one process again and waits until it listens.
    pub fn restart(&mut self, component: &str, index: usize) {
        self.spawn(component, index);
        self.wait_listening(component, index);
    }

    /// SIGKILLs one process, as a crash would, and reaps it.
    pub fn kill(&mut self, component: &str, index: usize) {
        let position = self
            .processes
            .iter()
            .position(|(c, i, _)| c == component && *i == index)
            .unwrap_or_else(|| panic!("{component} {index} is not running"));
        let (_, _, mut child) = self.processes.remove(position);
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Sends `signal` ("STOP", "CONT") to one process, as `kill -STOP`
    /// does: a stopped process keeps its sockets, and what is sent to it
    /// waits there until it continues.
    pub fn signal(&self, component: &str, index: usize, signal: &str) {
        let (_, _, child) = self
            .processes
            .iter()
            .find(|(c, i, _)| c == component && *i == index)
            .unwrap_or_else(|| panic!("{component} {index} is not running"));
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{signal} {component} {index}");
    }

    /// The address clients use for a process (a name looked up now).
    pub fn address(&self, component: &str, index: usize) -> SocketAddr {
        let key = component.replace('-', "_");
        let node = &self.config[&key][index];
        let address = node
            .get("http")
            .or_else(|| node.get("grpc"))
            .expect("address");
        let address = address.as_str().unwrap();
        address
            .to_socket_addrs()
            .ok()
            .and_then(|mut found| found.next())
            .unwrap_or_else(|| panic!("{address} does not resolve"))
    }

    fn wait_listening(&self, component: &str, index: usize) {
        let address = self.address(component, index);
        let started = Instant::now();
        while TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_err() {
            if started.elapsed() > START_TIMEOUT {
                panic!(
                    "{component} {index} did not listen on {address}; log:\n{}",
                    self.log(component, index)
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// A process's log so far.
    pub fn log(&self, component: &str, index: usize) -> String {
        std::fs::read_to_string(self.dir.path().join(format!("{component}-{index}.log")))
            .unwrap_or_default()
    }

    /// Runs a client over a whole script and returns its output lines.
    pub fn run_client(&self, client: &str, json: bool, script: &str) -> Vec<String> {
        let mut session = self.client_session(client, json);
        session.write(script);
        session.finish()
    }

    /// Starts a client whose stdin the test writes line by line.
    pub fn client_session(&self, client: &str, json: bool) -> ClientSession {
        let mut command = Command::new(binary(client));
        command.args(["--config", self.config_path.to_str().unwrap()]);
        if json {
            command.arg("--json");
        }
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().map(BufReader::new);
        ClientSession {
            child,
            stdin,
            stdout,
        }
    }

    /// A REST call to a frontend; returns the status and the JSON body.
    pub fn http(
        &self,
        frontend: (&str, usize),
        method: &str,
        path: &str,
        session: Option<&str>,
        request_id: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let address = self.address(frontend.0, frontend.1);
        let mut request = ureq::request(method, &format!("http://{address}{path}"))
            .timeout(Duration::from_secs(20));
        if let Some(session) = session {
            request = request.set("X-Session", session);
        }
        if let Some(id) = request_id {
            request = request.set("X-Request-Id", id);
        }
        let result = match body {
            Some(body) => request.send_json(body),
            None => request.call(),
        };
        match result {
            Ok(response) => (
                response.status(),
                response.into_json().unwrap_or(Value::Null),
            ),
            Err(ureq::Error::Status(status, response)) => {
                (status, response.into_json().unwrap_or(Value::Null))
            }
            Err(error) => panic!("{method} {path}: {error}"),
        }
    }

    /// A gRPC client of the product DB's replicas, as a frontend has.
    pub fn product_db(&self) -> DatabaseClient<ProductRequest, ProductResult> {
        DatabaseClient::new(
            environment("test"),
            DatabaseKind::Product,
            &self.replica_addresses("product-db"),
        )
    }

    /// A gRPC client of the customer DB's replicas, as a frontend has.
    pub fn customer_db(&self) -> DatabaseClient<CustomerRequest, CustomerResult> {
        DatabaseClient::new(
            environment("test"),
            DatabaseKind::Customer,
            &self.replica_addresses("customer-db"),
        )
    }

    /// A gRPC client of one customer-DB member only (no failover).
    pub fn customer_db_member(
        &self,
        index: usize,
    ) -> DatabaseClient<CustomerRequest, CustomerResult> {
        DatabaseClient::new(
            environment("test"),
            DatabaseKind::Customer,
            &[self.address("customer-db", index)],
        )
    }

    /// The data folder of one replica.
    pub fn data_dir(&self, component: &str, index: usize) -> PathBuf {
        let root = self.config["data_dir"].as_str().expect("data_dir");
        Path::new(root).join(format!("{component}-{index}"))
    }

    fn replica_addresses(&self, component: &str) -> Vec<SocketAddr> {
        let count = self.config[component.replace('-', "_")]
            .as_array()
            .unwrap()
            .len();
        (0..count)
            .map(|index| self.address(component, index))
            .collect()
    }

    /// Waits until every running replica of `component` reports the same
    /// applied index and state checksum (and has applied something).
    pub fn wait_converged<Q: serde::Serialize, R: serde::de::DeserializeOwned>(
        &self,
        component: &str,
        client: &DatabaseClient<Q, R>,
    ) {
        let timeout = Duration::from_millis(500);
        wait_until(
            "every replica holds the same state",
            Duration::from_secs(60),
            || {
                let digests: std::collections::BTreeSet<Option<(u64, u32)>> = (0..client
                    .replica_count())
                    .filter(|&index| self.is_running(component, index))
                    .map(|index| {
                        client
                            .digest(index, timeout)
                            .ok()
                            .map(|d| (d.get_applied_index(), d.get_state_crc()))
                    })
                    .collect();
                digests.len() == 1
                    && digests
                        .iter()
                        .all(|d| d.is_some_and(|(applied, _)| applied > 0))
            },
        );
    }

    /// Whether a process is running (started and not killed).
    pub fn is_running(&self, component: &str, index: usize) -> bool {
        self.processes
            .iter()
            .any(|(c, i, _)| c == component && *i == index)
    }

    /// The config file's path, for binaries a test runs itself.
    pub fn config_arg(&self) -> &Path {
        &self.config_path
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for (_, _, child) in &mut self.processes {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Polls `condition` every 20 ms until it holds or `timeout` passes;
/// panics with `what` on timeout.
pub fn wait_until(what: &str, timeout: Duration, mut condition: impl FnMut() -> bool) {
    let started = Instant::now();
    while !condition() {
        if started.elapsed() > timeout {
            panic!("timed out after {timeout:?} waiting until {what}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A client process driven line by line.
pub struct ClientSession {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Option<BufReader<ChildStdout>>,
}

impl ClientSession {
    /// Writes raw text to the client's stdin.
    pub fn write(&mut self, text: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        stdin.write_all(text.as_bytes()).unwrap();
        stdin.flush().unwrap();
    }

    /// Sends one command and reads one output line (use `--json` clients,
    /// which print exactly one line per command).
    pub fn send(&mut self, line: &str) -> String {
        self.write(&format!("{line}\n"));
        let mut output = String::new();
        self.stdout
            .as_mut()
            .expect("stdout open")
            .read_line(&mut output)
            .unwrap();
        assert!(
            !output.is_empty(),
            "client exited before answering {line:?}"
        );
        output.trim_end().to_string()
    }

    /// Closes stdin and returns the remaining output lines; kills the
    /// client if it does not finish within a minute.
    pub fn finish(mut self) -> Vec<String> {
        drop(self.stdin.take());
        let stdout = self.stdout.take().expect("stdout open");
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let lines: Vec<String> = stdout.lines().map_while(Result::ok).collect();
            let _ = sender.send(lines);
        });
        receiver
            .recv_timeout(Duration::from_secs(60))
            .expect("client finished within a minute")
    }
}

impl Drop for ClientSession {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
