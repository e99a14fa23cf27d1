//! SIGTERM ends a server at once with exit status 0, also when it runs as
//! PID 1 (a container without an init, a Kubernetes pod), where the kernel
//! drops every signal the process has no handler for. The PID-1 case runs
//! the server in a PID namespace of its own (`unshare --pid --fork`), which
//! needs root; without it that case says why on stderr and checks nothing.

mod support;

use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use support::{binary, cluster_file, random_loopback_host, wait_until, Options};

/// A server that got SIGTERM has ended within this.
const ENDS_WITHIN: Duration = Duration::from_secs(5);

/// A child process killed on every path out of the test.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A cluster file in `dir` and the financial service's address in it.
fn financial_service_file(dir: &Path) -> (std::path::PathBuf, String) {
    let mut config = cluster_file(&random_loopback_host(), &Options::default());
    config["data_dir"] = dir.join("data").to_string_lossy().into();
    let address = config["financial_service"][0]["http"]
        .as_str()
        .expect("an address")
        .to_string();
    let path = dir.join("cluster.json");
    std::fs::write(&path, serde_json::to_vec(&config).expect("encodes")).expect("written");
    (path, address)
}

fn wait_listening(address: &str) {
    wait_until(
        "the financial service listens",
        Duration::from_secs(20),
        || TcpStream::connect(address).is_ok(),
    );
}

fn terminate(pid: u32) {
    let status = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill -TERM {pid} failed");
}

/// Waits for `child` to end, at most `ENDS_WITHIN`.
fn ended(child: &mut Child) -> Option<ExitStatus> {
    let start = Instant::now();
    while start.elapsed() < ENDS_WITHIN {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

#[test]
fn sigterm_ends_a_server_at_once_with_status_0() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (config, address) = financial_service_file(dir.path());
    let server = Command::new(binary("financial-service"))
        .arg("--config")
        .arg(&config)
        .args(["--index", "0"])
        .stderr(Stdio::null())
        .spawn()
        .expect("the server starts");
    let mut server = Guard(server);
    wait_listening(&address);
    terminate(server.0.id());
    let status = ended(&mut server.0).expect("the server ended after SIGTERM");
    assert_eq!(status.code(), Some(0), "ended with {status:?}");
}

#[test]
fn sigterm_ends_a_server_running_as_pid_1() {
    let root = Command::new("id").arg("-u").output();
    if !root.is_ok_and(|out| out.stdout == b"0\n") {
        eprintln!("termination: skipped the PID-1 case: it needs root (a PID namespace)");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let (config, address) = financial_service_file(dir.path());
    let unshare = Command::new("unshare")
        .args(["--pid", "--fork", "--kill-child"])
        .arg(binary("financial-service"))
        .arg("--config")
        .arg(&config)
        .args(["--index", "0"])
        .stderr(Stdio::null())
        .spawn();
    let Ok(unshare) = unshare else {
        eprintln!("termination: skipped the PID-1 case: unshare (util-linux) cannot run");
        return;
    };
    let mut unshare = Guard(unshare);
    wait_listening(&address);
    // The server is unshare's child: PID 1 in its namespace.
    let parent = unshare.0.id();
    let children = format!("/proc/{parent}/task/{parent}/children");
    let server: u32 = std::fs::read_to_string(&children)
        .expect("the children of unshare")
        .split_whitespace()
        .next()
        .and_then(|pid| pid.parse().ok())
        .expect("unshare has a child");
    let status = std::fs::read_to_string(format!("/proc/{server}/status")).expect("its status");
    let pids = status
        .lines()
        .find_map(|line| line.strip_prefix("NSpid:"))
        .expect("an NSpid line");
    assert_eq!(pids.split_whitespace().last(), Some("1"), "NSpid: {pids}");
    terminate(server);
    // unshare ends with its child's status.
    let status = ended(&mut unshare.0).expect("the server (PID 1) ended after SIGTERM");
    assert_eq!(status.code(), Some(0), "ended with {status:?}");
}
