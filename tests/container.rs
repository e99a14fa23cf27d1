//! The container deployment (docs/DEPLOY.md), for real: scripts/image.sh
//! builds the runtime image from the binaries of this build, and
//! scripts/deploy.sh runs a cluster from it on two "hosts" (two loopback
//! addresses of the test's own), each started from the same cluster file
//! with `--host`, every process in a container of its own with
//! `--network host` and every database replica's data in a volume. The
//! clients run in containers of the image too. Then every container is
//! removed and started again from the volumes, and what was written is
//! still there.
//!
//! Needs root and podman (scripts/test.sh installs it when it can); without
//! them the test prints "skipped: <why>" and passes. Podman runs with a
//! configuration and a storage of the test's own, in its temporary folder,
//! so nothing of the machine's own podman is seen or touched, and
//! everything (containers, volumes, the image, the storage) goes on every
//! path. The test also checks that podman made no network link or nft
//! table on the machine (`--network host` needs none).
//!
//! The second test runs the cluster of conf/hosts.json the same way on the
//! namespace hosts of scripts/hosts.sh (`up --no-cluster`): each server
//! host runs `deploy.sh up` for its own address inside its network
//! namespace, so its containers (`--network host`) have that host's
//! network; the clients run in containers on the client host. It needs
//! iproute2, iptables and nsenter as well, and skips with a message
//! without them.
//!
//! The third builds conf/deploy/Containerfile's runtime stage with
//! `image.sh debian` on a debootstrapped base, when
//! MARKETPLACE_DEBIAN_BASE_TAR names one. The fourth checks the Kubernetes
//! manifests (conf/deploy/k8s).

mod support;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use marketplace::config::ClusterConfig;
use serde_json::{json, Value};
use support::{binary, cluster_file, wait_until, Options};

/// Where the image expects the cluster file (conf/deploy/Containerfile).
const CONFIG_IN_CONTAINER: &str = "/etc/marketplace/cluster.json";

/// The longest any one podman or script call may take.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);

fn repository() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `command` to its end, or kills it after `timeout`; returns its
/// output, or why there is none.
fn try_run_bounded(command: &mut Command, timeout: Duration) -> Result<Output, String> {
    let what = format!("{command:?}");
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {what}: {e}"))?;
    // Pipes are drained by threads, so a chatty command cannot block on a
    // full pipe while we wait for it.
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stdout.read_to_end(&mut bytes);
        bytes
    });
    let err = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stderr.read_to_end(&mut bytes);
        bytes
    });
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() <= timeout => {
                std::thread::sleep(Duration::from_millis(20))
            }
            outcome => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(match outcome {
                    Err(e) => format!("waiting for {what}: {e}"),
                    _ => format!("{what} did not finish within {timeout:?}"),
                });
            }
        }
    };
    Ok(Output {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    })
}

/// `try_run_bounded`, panicking on a timeout.
fn run_bounded(command: &mut Command, timeout: Duration) -> Output {
    try_run_bounded(command, timeout).unwrap_or_else(|why| panic!("{why}"))
}

/// Written to stderr directly, not through `eprintln!`, which the test
/// harness captures: a skip must be seen.
fn say(text: &str) {
    let _ = writeln!(std::io::stderr(), "container test: {text}");
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Podman with the test's own configuration and storage.
struct Podman {
    /// Holds containers.conf, storage.conf and podman's storage; removed
    /// last, after podman has let go of everything in it.
    dir: tempfile::TempDir,
}

impl Podman {
    fn new() -> Podman {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        // The two settings this kind of machine needs (HOSTS.md): podman's
        // default ulimits cannot be set here, and crun refuses cgroups v1
        // hybrid mode. Everything else of podman's state is kept in the
        // temporary folder.
        let containers_conf = format!(
            "[containers]\n\
             default_ulimits = [\"nofile=20000:20000\", \"nproc=32768:32768\"]\n\
             [engine]\n\
             runtime = \"runc\"\n\
             cgroup_manager = \"cgroupfs\"\n\
             events_logger = \"none\"\n\
             tmp_dir = \"{tmp}\"\n\
             [network]\n\
             network_config_dir = \"{net}\"\n",
            tmp = root.join("libpod").display(),
            net = root.join("networks").display(),
        );
        let storage_conf = format!(
            "[storage]\ndriver = \"overlay\"\ngraphroot = \"{}\"\nrunroot = \"{}\"\n",
            root.join("storage").display(),
            root.join("run").display(),
        );
        std::fs::write(root.join("containers.conf"), containers_conf).unwrap();
        std::fs::write(root.join("storage.conf"), storage_conf).unwrap();
        Podman { dir }
    }

    /// Sets the environment that points podman at the test's own setup.
    fn configure(&self, command: &mut Command) {
        command
            .env("CONTAINERS_CONF", self.dir.path().join("containers.conf"))
            .env(
                "CONTAINERS_STORAGE_CONF",
                self.dir.path().join("storage.conf"),
            )
            .env("ENGINE", "podman");
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new("podman");
        command.args(args).stdin(Stdio::null());
        self.configure(&mut command);
        command
    }

    /// Runs podman; panics with its output if it fails.
    fn run(&self, args: &[&str]) -> String {
        let output = run_bounded(&mut self.command(args), COMMAND_TIMEOUT);
        assert!(
            output.status.success(),
            "podman {args:?} failed: {}{}",
            text(&output.stdout),
            text(&output.stderr)
        );
        text(&output.stdout)
    }

    /// Runs one of the repository's scripts with this podman.
    fn script(&self, script: &str, args: &[&str]) -> String {
        let mut command = Command::new(repository().join("scripts").join(script));
        command.args(args).stdin(Stdio::null());
        self.configure(&mut command);
        let output = run_bounded(&mut command, COMMAND_TIMEOUT);
        assert!(
            output.status.success(),
            "scripts/{script} {args:?} failed: {}{}",
            text(&output.stdout),
            text(&output.stderr)
        );
        text(&output.stdout)
    }

    /// Names of the containers in this storage that run now.
    fn running_containers(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .run(&["ps", "--format", "{{.Names}}"])
            .lines()
            .map(str::to_string)
            .collect();
        names.sort();
        names
    }
}

impl Drop for Podman {
    /// Removes every container, volume and image of the test's storage
    /// (which holds nothing else), then the storage itself. Best effort and
    /// bounded: it runs on every path, panics included.
    fn drop(&mut self) {
        let limit = Duration::from_secs(60);
        for args in [
            &["rm", "--all", "--force", "--volumes"][..],
            &["volume", "rm", "--all", "--force"],
            &["rmi", "--all", "--force"],
            &["system", "reset", "--force"],
        ] {
            let _ = try_run_bounded(&mut self.command(args), limit);
        }
        // An overlay mount left behind would keep the folder from going.
        let root = self.dir.path().to_string_lossy().into_owned();
        let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
        let mut ours: Vec<&str> = mounts
            .lines()
            .filter_map(|line| line.split(' ').nth(1))
            .filter(|point| point.starts_with(&root))
            .collect();
        ours.sort_by_key(|point| std::cmp::Reverse(point.len()));
        for point in ours {
            let _ = Command::new("umount").args(["-l", point]).status();
        }
    }
}

/// The first of these `(tool, Debian package)` pairs whose tool is not on
/// the PATH.
fn first_missing<'a>(tools: &[(&'a str, &'a str)]) -> Option<(&'a str, &'a str)> {
    tools.iter().copied().find(|(tool, _)| {
        !Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    })
}

/// Why the container test cannot run here, if it cannot.
fn container_test_unavailable() -> Option<String> {
    if unsafe { libc::geteuid() } != 0 {
        return Some("needs root (podman with --network host as root)".into());
    }
    let tools = [
        ("podman", "podman"),
        ("ldd", "libc-bin"),
        ("strip", "binutils"),
    ];
    if let Some((tool, package)) = first_missing(&tools) {
        return Some(format!(
            "{tool} is not installed (apt-get install {package}; \
             scripts/test.sh installs podman as root)"
        ));
    }
    None
}

fn random_loopback_pair() -> (String, String) {
    let a = 10 + rand::random::<u8>() % 200;
    let b = rand::random::<u8>();
    let c = 1 + rand::random::<u8>() % 250;
    (format!("127.{a}.{b}.{c}"), format!("127.{a}.{b}.{}", c + 1))
}

/// What podman would leave on the machine's network if it set up a
/// network: its links (podman0, cni-podman*, veth*), nft tables of its
/// own (netavark, podman, cni) and IP forwarding. Only these, so that
/// other work on the machine cannot fail the test.
fn podman_network_traces() -> (Vec<String>, Vec<String>, String) {
    let links = try_run_bounded(
        Command::new("ip").args(["-o", "link", "show"]),
        Duration::from_secs(10),
    )
    .map(|o| text(&o.stdout))
    .unwrap_or_default();
    let mut links: Vec<String> = links
        .lines()
        .filter_map(|line| line.split(": ").nth(1))
        .map(|name| name.split('@').next().unwrap_or(name).to_string())
        .filter(|name| {
            ["podman", "cni", "veth"]
                .iter()
                .any(|p| name.starts_with(p))
        })
        .collect();
    links.sort();
    let tables = try_run_bounded(
        Command::new("nft").args(["list", "tables"]),
        Duration::from_secs(10),
    )
    .map(|o| text(&o.stdout))
    .unwrap_or_default();
    let mut tables: Vec<String> = tables
        .lines()
        .filter(|t| ["netavark", "podman", "cni"].iter().any(|p| t.contains(p)))
        .map(str::to_string)
        .collect();
    tables.sort();
    let forwarding = std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap_or_default();
    (links, tables, forwarding)
}

/// A client of the image, in a container on the host's network, over a
/// whole script; returns its output lines.
fn client_in_container(
    podman: &Podman,
    image: &str,
    config: &Path,
    client: &str,
    script: &str,
) -> Vec<String> {
    let mount = config_mount(config);
    let command = podman.command(&client_run_args(&mount, image, client, &[]));
    let run = ClientRun {
        podman,
        client,
        place: "in a container",
        script,
        timeout: COMMAND_TIMEOUT,
    };
    run.lines(command)
}

/// The cluster file, mounted read-only where the clients look for it.
fn config_mount(config: &Path) -> String {
    format!("{}:{CONFIG_IN_CONTAINER}:ro,z", config.display())
}

/// `podman run` of `client` from `image` on the host's network, with the
/// cluster file mounted (`mount`), reading its script on stdin; `extra`
/// follows the client's own arguments.
fn client_run_args<'a>(
    mount: &'a str,
    image: &'a str,
    client: &'a str,
    extra: &[&'a str],
) -> Vec<&'a str> {
    let mut args = vec![
        "run",
        "--rm",
        "--interactive",
        "--network",
        "host",
        "--volume",
        mount,
        image,
        client,
        "--config",
        CONFIG_IN_CONTAINER,
    ];
    args.extend_from_slice(extra);
    args
}

/// One run of a containerized client over a script.
struct ClientRun<'a> {
    podman: &'a Podman,
    client: &'a str,
    /// Where it runs, for the failure message and the script's file name.
    place: &'a str,
    script: &'a str,
    /// A client that cannot reach its frontends keeps trying: this bounds
    /// a failure's wait.
    timeout: Duration,
}

impl ClientRun<'_> {
    /// Feeds the script to `command` from a file, runs it within the
    /// timeout, and returns its output lines; panics with the output if it
    /// fails.
    fn lines(&self, mut command: Command) -> Vec<String> {
        let name = format!(
            "{}-{}-script.txt",
            self.client,
            self.place.replace(' ', "-")
        );
        let script_file = self.podman.dir.path().join(name);
        std::fs::write(&script_file, self.script).unwrap();
        command.stdin(std::fs::File::open(&script_file).unwrap());
        let output = run_bounded(&mut command, self.timeout);
        assert!(
            output.status.success(),
            "{} {} failed: {}{}",
            self.client,
            self.place,
            text(&output.stdout),
            text(&output.stderr)
        );
        text(&output.stdout).lines().map(str::to_string).collect()
    }
}

/// The cluster: three replicas of each database, one seller, buyer and
/// financial service, split over two hosts. Host A: replicas 0 and 1, the
/// seller server and the financial service; host B: replicas 2 and the
/// buyer server (so the buyer server calls the financial service on the
/// other host).
fn two_host_cluster(host_a: &str, host_b: &str) -> Value {
    let options = Options {
        product_dbs: 3,
        customer_dbs: 3,
        seller_servers: 1,
        buyer_servers: 1,
        approve_probability: 1.0,
        ..Options::default()
    };
    let mut config = cluster_file(host_a, &options);
    let move_to_b = |address: &mut Value| {
        let moved = address.as_str().unwrap().replace(host_a, host_b);
        *address = json!(moved);
    };
    for database in ["product_db", "customer_db"] {
        move_to_b(&mut config[database][2]["grpc"]);
        move_to_b(&mut config[database][2]["peer"]);
    }
    move_to_b(&mut config["buyer_server"][0]["http"]);
    // Inside the containers: the volume (scripts/deploy.sh refuses others).
    config["data_dir"] = json!("/var/lib/marketplace");
    config
}

#[test]
fn the_image_runs_a_cluster_deployed_host_by_host_from_one_cluster_file() {
    if let Some(why) = container_test_unavailable() {
        say(&format!("skipped: {why}"));
        return;
    }
    let started = Instant::now();
    let network_before = podman_network_traces();
    let podman = Podman::new();
    let info = run_bounded(&mut podman.command(&["info"]), COMMAND_TIMEOUT);
    if !info.status.success() {
        say(&format!(
            "skipped: podman does not run here: {}",
            text(&info.stderr).trim()
        ));
        return;
    }

    let suffix = format!("{:08x}", rand::random::<u32>());
    let image = format!("localhost/marketplace-test-{suffix}:latest");
    let bin_dir = binary("product-db").parent().unwrap().to_path_buf();
    let build_started = Instant::now();
    podman.script(
        "image.sh",
        &["local", "--tag", &image, "--bin", bin_dir.to_str().unwrap()],
    );
    let build_time = build_started.elapsed();

    let (host_a, host_b) = random_loopback_pair();
    let config = two_host_cluster(&host_a, &host_b);
    let config_path = podman.dir.path().join("cluster.json");
    std::fs::write(&config_path, serde_json::to_vec_pretty(&config).unwrap()).unwrap();
    let config_arg = config_path.to_str().unwrap();
    // A prefix of the test's own: its containers can never be taken for
    // (or collide with) a deployment's mkt-*.
    let prefix = format!("mkt-test-{suffix}");
    let deploy = |command: &str, host: &str| -> String {
        let mut args = vec![
            command, "--config", config_arg, "--host", host, "--image", &image,
        ];
        if command == "down" {
            args.push("--volumes");
        }
        let mut process = Command::new(repository().join("scripts/deploy.sh"));
        process
            .args(&args)
            .env("MARKETPLACE_PREFIX", &prefix)
            .stdin(Stdio::null());
        podman.configure(&mut process);
        let output = run_bounded(&mut process, COMMAND_TIMEOUT);
        assert!(
            output.status.success(),
            "deploy.sh {args:?}: {}{}",
            text(&output.stdout),
            text(&output.stderr)
        );
        text(&output.stdout)
    };
    let names = |list: &[&str]| -> Vec<String> {
        let mut names: Vec<String> = list.iter().map(|n| format!("{prefix}-{n}")).collect();
        names.sort();
        names
    };
    let on_a = names(&[
        "product-db-0",
        "product-db-1",
        "customer-db-0",
        "customer-db-1",
        "seller-server-0",
        "financial-service-0",
    ]);
    let on_b = names(&["product-db-2", "customer-db-2", "buyer-server-0"]);
    let everything = {
        let mut all = [on_a.clone(), on_b.clone()].concat();
        all.sort();
        all
    };

    // Each host starts exactly its own processes, as the file places them.
    let up_started = Instant::now();
    let printed = deploy("up", &host_a);
    assert_eq!(podman.running_containers(), on_a, "host A: {printed}");
    deploy("up", &host_b);
    assert_eq!(podman.running_containers(), everything);
    let cluster_up = || {
        Command::new(binary("cluster-status"))
            .args(["--config", config_arg])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    wait_until(
        "every process in the containers answers",
        Duration::from_secs(60),
        cluster_up,
    );
    let up_time = up_started.elapsed();
    let status = deploy("status", &host_b);
    for name in &on_b {
        assert!(status.contains(&format!("{name} ")), "{status}");
    }
    assert_eq!(status.matches(" up\n").count(), on_b.len(), "{status}");

    // A seller and a buyer, each a client in a container of the image.
    let seller = client_in_container(
        &podman,
        &image,
        &config_path,
        "seller-client",
        "create-account alice pw1\nlogin alice pw1\n\
         put \"Blue lamp\" 3 new 12.50 5 lamp blue\n",
    );
    assert_eq!(seller.len(), 3, "{seller:?}");
    assert!(seller.iter().all(|l| l.starts_with("ok")), "{seller:?}");
    assert_eq!(seller[2], "ok item_id=3-1");
    let buyer = client_in_container(
        &podman,
        &image,
        &config_path,
        "buyer-client",
        "create-account bob pw2\nlogin bob pw2\nsearch 3 lamp\nadd 3-1 2\n\
         buy \"Bob B\" 4111111111111111 12/30\n",
    );
    assert_eq!(buyer.len(), 7, "{buyer:?}");
    assert!(buyer[2].starts_with("ok 1 items"), "{buyer:?}");
    assert!(buyer[3].contains("3-1 name=\"Blue lamp\""), "{buyer:?}");
    assert!(
        buyer[6].starts_with("ok purchase_id=") && buyer[6].contains("total=25.00"),
        "{buyer:?}"
    );

    // Every container goes (the volumes stay) and comes back: the
    // replicas start from their volumes, and the purchase is remembered.
    let plain_down = |host: &str| {
        let mut process = Command::new(repository().join("scripts/deploy.sh"));
        process
            .args(["down", "--config", config_arg, "--host", host])
            .args(["--image", &image])
            .env("MARKETPLACE_PREFIX", &prefix)
            .stdin(Stdio::null());
        podman.configure(&mut process);
        let output = run_bounded(&mut process, COMMAND_TIMEOUT);
        assert!(output.status.success(), "{}", text(&output.stderr));
    };
    plain_down(&host_a);
    plain_down(&host_b);
    assert!(podman.running_containers().is_empty());
    assert!(
        !cluster_up(),
        "nothing answers once the containers are gone"
    );
    let volumes = podman.run(&["volume", "ls", "--format", "{{.Name}}"]);
    assert_eq!(
        volumes.lines().filter(|v| v.ends_with("-data")).count(),
        6,
        "one volume per replica: {volumes}"
    );
    deploy("up", &host_a);
    deploy("up", &host_b);
    wait_until(
        "every process answers again",
        Duration::from_secs(60),
        cluster_up,
    );
    let seller = client_in_container(
        &podman,
        &image,
        &config_path,
        "seller-client",
        "login alice pw1\nlist\n",
    );
    assert_eq!(seller.len(), 3, "{seller:?}");
    assert!(seller[2].contains("3-1 name=\"Blue lamp\""), "{seller:?}");
    assert!(seller[2].contains("quantity=3"), "{seller:?}");
    let buyer = client_in_container(
        &podman,
        &image,
        &config_path,
        "buyer-client",
        "login bob pw2\nhistory\n",
    );
    assert!(buyer[1].starts_with("ok 1 purchases"), "{buyer:?}");

    // down --volumes leaves nothing of the deployment.
    deploy("down", &host_a);
    deploy("down", &host_b);
    assert_eq!(podman.run(&["ps", "--all", "--quiet"]), "");
    assert_eq!(podman.run(&["volume", "ls", "--quiet"]), "");
    podman.run(&["rmi", &image]);
    drop(podman);
    assert_eq!(
        podman_network_traces(),
        network_before,
        "podman left a network link, an nft table or IP forwarding behind"
    );
    say(&format!(
        "image built in {:.1} s, 9 containers up and answering in {:.1} s, {:.1} s in all",
        build_time.as_secs_f64(),
        up_time.as_secs_f64(),
        started.elapsed().as_secs_f64()
    ));
}

/// `scripts/image.sh debian`: conf/deploy/Containerfile's own runtime stage
/// on a Debian bookworm base made with debootstrap, the binaries of this
/// build in place of the builder stage. Debootstrap takes minutes, so the
/// test runs only when MARKETPLACE_DEBIAN_BASE_TAR names a tar of a
/// bookworm root already made (`image.sh debian --base-tar FILE` writes
/// one); the stage's apt-get still needs the Debian mirror.
#[test]
fn the_containerfile_runtime_stage_builds_on_a_debootstrapped_base() {
    let Some(base_tar) = std::env::var_os("MARKETPLACE_DEBIAN_BASE_TAR") else {
        say("skipped (image.sh debian): MARKETPLACE_DEBIAN_BASE_TAR is not set (a tar of a bookworm root: scripts/image.sh debian --base-tar FILE makes one)");
        return;
    };
    if let Some(why) = container_test_unavailable() {
        say(&format!("skipped (image.sh debian): {why}"));
        return;
    }
    let podman = Podman::new();
    let info = run_bounded(&mut podman.command(&["info"]), COMMAND_TIMEOUT);
    if !info.status.success() {
        say(&format!(
            "skipped (image.sh debian): podman does not run here: {}",
            text(&info.stderr).trim()
        ));
        return;
    }
    let started = Instant::now();
    let image = format!(
        "localhost/marketplace-debian-test-{:08x}:latest",
        rand::random::<u32>()
    );
    let bin_dir = binary("product-db").parent().unwrap().to_path_buf();
    podman.script(
        "image.sh",
        &[
            "debian",
            "--tag",
            &image,
            "--bin",
            bin_dir.to_str().unwrap(),
            "--base-tar",
            base_tar.to_str().unwrap(),
        ],
    );
    let build_time = started.elapsed();
    // The user and the data folder are those the Containerfile makes, and
    // the binaries find their libraries in the Debian base.
    let who = podman.run(&["run", "--rm", "--network", "none", &image, "id"]);
    assert!(
        who.starts_with("uid=10001(marketplace) gid=10001(marketplace)"),
        "{who}"
    );
    let owner = podman.run(&[
        "run",
        "--rm",
        "--network",
        "none",
        &image,
        "stat",
        "-c",
        "%u:%g %n",
        ".",
    ]);
    assert_eq!(owner.trim(), "10001:10001 .", "the working folder");
    let mount = config_mount(&repository().join("conf/hosts.json"));
    let listed = podman.run(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--volume",
        &mount,
        &image,
        "cluster-status",
        "--config",
        CONFIG_IN_CONTAINER,
        "--list",
    ]);
    assert_eq!(listed.lines().count(), 19, "{listed}");
    podman.run(&["rmi", &image]);
    say(&format!(
        "image.sh debian: built in {:.1} s, checked in {:.1} s in all",
        build_time.as_secs_f64(),
        started.elapsed().as_secs_f64()
    ));
}

/// The manifests' files, in the order they are applied.
fn manifest_files() -> Vec<PathBuf> {
    let dir = repository().join("conf/deploy/k8s");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

#[test]
fn the_kubernetes_manifests_describe_the_cluster_their_cluster_file_names() {
    let kubectl_found = Command::new("kubectl")
        .args(["version", "--client"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !kubectl_found {
        say("skipped: kubectl is not installed (the Kubernetes manifests were not checked)");
        return;
    }
    // kubectl parses every manifest without a cluster (`--local`); apply
    // --dry-run=client would need an API server for discovery even so.
    let mut objects = Vec::new();
    for file in manifest_files() {
        let output = run_bounded(
            Command::new("kubectl")
                .args(["label", "--local", "--output", "json", "-f"])
                .arg(&file)
                .arg("checked=yes"),
            Duration::from_secs(30),
        );
        assert!(
            output.status.success(),
            "kubectl cannot read {}: {}",
            file.display(),
            text(&output.stderr)
        );
        let stream = serde_json::Deserializer::from_slice(&output.stdout).into_iter::<Value>();
        objects.extend(stream.map(|o| o.expect("kubectl prints JSON")));
    }
    let find = |kind: &str, name: &str| -> &Value {
        objects
            .iter()
            .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("no {kind} {name}"))
    };

    let cluster_text = find("ConfigMap", "marketplace-cluster")["data"]["cluster.json"]
        .as_str()
        .expect("the ConfigMap holds cluster.json");
    let cluster: Value = serde_json::from_str(cluster_text).expect("cluster.json is JSON");

    for (database, key, grpc_port, peer_port, health) in [
        (
            "product-db",
            "product_db",
            15051,
            15151,
            "marketplace.ProductDb",
        ),
        (
            "customer-db",
            "customer_db",
            15061,
            15161,
            "marketplace.CustomerDb",
        ),
    ] {
        let service = find("Service", database);
        assert_eq!(service["spec"]["clusterIP"], "None", "{database}: headless");
        assert_eq!(service["spec"]["publishNotReadyAddresses"], true);
        let set = find("StatefulSet", database);
        assert_eq!(set["spec"]["serviceName"], database);
        assert_eq!(set["spec"]["replicas"], 5);
        assert_eq!(set["spec"]["podManagementPolicy"], "Parallel");
        let claims = set["spec"]["volumeClaimTemplates"].as_array().unwrap();
        assert_eq!(claims[0]["metadata"]["name"], "data");
        let pod = &set["spec"]["template"]["spec"];
        let container = &pod["containers"][0];
        let mounts = container["volumeMounts"].as_array().unwrap();
        assert!(mounts
            .iter()
            .any(|m| m["name"] == "data" && m["mountPath"] == cluster["data_dir"]));
        assert_eq!(container["command"][0], database);
        assert_eq!(container["readinessProbe"]["grpc"]["port"], grpc_port);
        assert_eq!(container["readinessProbe"]["grpc"]["service"], health);
        // Pod N is entry N of the cluster file, at its stable DNS name.
        let entries = cluster[key].as_array().unwrap();
        assert_eq!(entries.len(), 5);
        for (index, entry) in entries.iter().enumerate() {
            let host = format!("{database}-{index}.{database}");
            assert_eq!(entry["grpc"], format!("{host}:{grpc_port}"));
            assert_eq!(entry["peer"], format!("{host}:{peer_port}"));
        }
    }
    for (frontend, key, port, probe) in [
        ("seller-server", "seller_server", 8001, "/health"),
        ("buyer-server", "buyer_server", 8011, "/health"),
        ("financial-service", "financial_service", 8021, "/soap?wsdl"),
    ] {
        let deployment = find("Deployment", frontend);
        let container = &deployment["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(container["command"][0], frontend);
        assert_eq!(container["ports"][0]["containerPort"], port);
        assert_eq!(container["readinessProbe"]["httpGet"]["path"], probe);
        assert_eq!(find("Service", frontend)["spec"]["ports"][0]["port"], port);
        assert_eq!(cluster[key][0]["http"], format!("{frontend}:{port}"));
    }

    // The binaries load this file: hosts may be DNS names (lib/config,
    // node_address.rs). Each replica binds every interface at its ports
    // (a pod cannot count on binding its own name) and finds its peers by
    // their names, looked up again every few seconds.
    let loaded = ClusterConfig::parse(Path::new("cluster.json"), cluster_text)
        .unwrap_or_else(|e| panic!("the ConfigMap's cluster file loads: {e}"));
    for (index, replica) in loaded.product_db.iter().enumerate() {
        let name = format!("product-db-{index}.product-db");
        assert_eq!(replica.peer.name(), Some(name.as_str()));
        assert_eq!(replica.peer.bind_address().to_string(), "0.0.0.0:15151");
    }
    assert_eq!(loaded.seller_server[0].http.name(), Some("seller-server"));

    // A full schema check where the tool is at hand (scripts/test.sh sets
    // it up with pip, best effort).
    match std::env::var_os("MARKETPLACE_K8S_VALIDATE") {
        Some(tool) => {
            let output = run_bounded(
                Command::new(tool)
                    .args(["--strict", "--kubernetes-version", "1.32"])
                    .args(manifest_files()),
                Duration::from_secs(60),
            );
            assert!(
                output.status.success(),
                "kubernetes-validate refuses the manifests: {}{}",
                text(&output.stdout),
                text(&output.stderr)
            );
        }
        None => {
            say("schema check of the manifests skipped: MARKETPLACE_K8S_VALIDATE (kubernetes-validate) is not set; scripts/test.sh sets it");
        }
    }
}

/// The hosts of scripts/hosts.sh: five server hosts and the client host,
/// each a network namespace with the address conf/hosts.json uses.
const NAMESPACE_HOSTS: [(&str, &str); 6] = [
    ("mkt-h1", "10.77.0.1"),
    ("mkt-h2", "10.77.0.2"),
    ("mkt-h3", "10.77.0.3"),
    ("mkt-h4", "10.77.0.4"),
    ("mkt-h5", "10.77.0.5"),
    ("mkt-client", "10.77.0.100"),
];
const CLIENT_HOST: &str = "mkt-client";

fn namespace_host_of_ip(ip: &str) -> Option<&'static str> {
    NAMESPACE_HOSTS
        .iter()
        .find(|(_, address)| *address == ip)
        .map(|(host, _)| *host)
}

/// Namespaces named like the hosts' (mkt-*), whoever made them.
fn host_namespaces() -> Vec<String> {
    let output = try_run_bounded(
        Command::new("ip").args(["netns", "list"]),
        Duration::from_secs(10),
    )
    .map(|o| text(&o.stdout))
    .unwrap_or_default();
    output
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| name.starts_with("mkt-"))
        .map(str::to_string)
        .collect()
}

/// Why scripts/hosts.sh cannot make its hosts here, if it cannot.
fn namespace_hosts_unavailable() -> Option<String> {
    let tools = [
        ("ip", "iproute2"),
        ("iptables", "iptables"),
        ("nsenter", "util-linux"),
    ];
    if let Some((tool, package)) = first_missing(&tools) {
        return Some(format!(
            "{tool} is not installed (apt-get install {package})"
        ));
    }
    let probe = format!("mkt-ctr-probe-{}", std::process::id());
    match try_run_bounded(
        Command::new("ip").args(["netns", "add", &probe]),
        Duration::from_secs(10),
    ) {
        Ok(output) if output.status.success() => {
            let _ = try_run_bounded(
                Command::new("ip").args(["netns", "del", &probe]),
                Duration::from_secs(10),
            );
            None
        }
        Ok(output) => Some(format!(
            "cannot make a network namespace: {}",
            text(&output.stderr).trim()
        )),
        Err(why) => Some(why),
    }
}

/// The namespace hosts, made without a cluster (`hosts.sh up
/// --no-cluster`); `hosts.sh down` when dropped, on every path.
struct NamespaceHosts;

impl NamespaceHosts {
    fn up() -> NamespaceHosts {
        // The guard first: a failed `up` cleans up after itself, and `down`
        // is safe in any state.
        let hosts = NamespaceHosts;
        let output = run_bounded(
            Command::new(repository().join("scripts/hosts.sh"))
                .args(["up", "--no-cluster"])
                .current_dir(repository())
                .stdin(Stdio::null()),
            COMMAND_TIMEOUT,
        );
        assert!(
            output.status.success(),
            "scripts/hosts.sh up --no-cluster failed: {}{}",
            text(&output.stdout),
            text(&output.stderr)
        );
        hosts
    }
}

impl Drop for NamespaceHosts {
    fn drop(&mut self) {
        let outcome = try_run_bounded(
            Command::new(repository().join("scripts/hosts.sh"))
                .arg("down")
                .current_dir(repository())
                .stdin(Stdio::null()),
            Duration::from_secs(60),
        );
        match outcome {
            Ok(output) => say(&format!(
                "hosts.sh down: {}{}",
                text(&output.stdout).trim(),
                text(&output.stderr).trim()
            )),
            Err(why) => say(&format!("hosts.sh down: {why}")),
        }
    }
}

/// `program args...` inside the network namespace of `host`, with the
/// test's podman setup; podman's `--network host` is then that namespace's
/// network. `nsenter --net` joins the network namespace and nothing else:
/// `ip netns exec` (what `hosts.sh run` uses) also mounts a sysfs of the
/// namespace over /sys, which hides /sys/fs/cgroup, and runc then refuses
/// to create a container ("no cgroup mount found in mountinfo").
fn on_host(podman: &Podman, host: &str, program: &Path, args: &[&str]) -> Command {
    let mut command = Command::new("nsenter");
    command
        .arg(format!("--net=/run/netns/{host}"))
        .arg("--")
        .arg(program)
        .args(args)
        .current_dir(repository())
        .stdin(Stdio::null());
    podman.configure(&mut command);
    command
}

/// A client of the image in a container on the client host, `--json`,
/// over a whole script: one JSON reply per line.
fn client_on_client_host(
    podman: &Podman,
    image: &str,
    config: &Path,
    client: &str,
    script: &str,
) -> Vec<Value> {
    let mount = config_mount(config);
    let args = client_run_args(&mount, image, client, &["--json"]);
    let command = on_host(podman, CLIENT_HOST, Path::new("podman"), &args);
    // A few seconds when the cluster answers.
    let run = ClientRun {
        podman,
        client,
        place: "in a container on the client host",
        script,
        timeout: Duration::from_secs(60),
    };
    let replies: Vec<Value> = run
        .lines(command)
        .iter()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect();
    assert_eq!(
        replies.len(),
        script.lines().count(),
        "one reply per command: {replies:?}"
    );
    for (line, reply) in script.lines().zip(&replies) {
        assert_eq!(reply["ok"], true, "{client}: {line}: {reply}");
    }
    replies
}

/// `cluster-status --json` from the client host.
fn cluster_status_from_client_host(podman: &Podman, config: &Path) -> Option<Vec<Value>> {
    let output = try_run_bounded(
        &mut on_host(
            podman,
            CLIENT_HOST,
            &binary("cluster-status"),
            &["--config", config.to_str().unwrap(), "--json"],
        ),
        Duration::from_secs(30),
    )
    .ok()?;
    let value: Value = serde_json::from_slice(&output.stdout).ok()?;
    value.as_array().cloned()
}

/// The inode of a network namespace: two processes share a network when
/// their namespaces have the same one.
fn net_namespace_inode(path: &str) -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .ino()
}

#[test]
fn the_image_runs_the_cluster_of_conf_hosts_json_on_the_namespace_hosts() {
    if let Some(why) = container_test_unavailable().or_else(namespace_hosts_unavailable) {
        say(&format!(
            "skipped (containers on the namespace hosts): {why}"
        ));
        return;
    }
    let existing = host_namespaces();
    assert!(
        existing.is_empty(),
        "namespaces {existing:?} exist: the hosts are up already (scripts/hosts.sh down)"
    );
    let started = Instant::now();
    let network_before = podman_network_traces();
    // Declared before the podman setup, so dropped after it: on every path
    // the containers go first, then the hosts they run in.
    let hosts: NamespaceHosts;
    let podman = Podman::new();
    let info = run_bounded(&mut podman.command(&["info"]), COMMAND_TIMEOUT);
    if !info.status.success() {
        say(&format!(
            "skipped (containers on the namespace hosts): podman does not run here: {}",
            text(&info.stderr).trim()
        ));
        return;
    }
    hosts = NamespaceHosts::up();

    let suffix = format!("{:08x}", rand::random::<u32>());
    let image = format!("localhost/marketplace-test-{suffix}:latest");
    let bin_dir = binary("product-db").parent().unwrap().to_path_buf();
    let build_started = Instant::now();
    podman.script(
        "image.sh",
        &["local", "--tag", &image, "--bin", bin_dir.to_str().unwrap()],
    );
    let build_time = build_started.elapsed();

    // conf/hosts.json, with the data in the containers' volumes and every
    // purchase approved (the test buys once).
    let mut config: Value = serde_json::from_slice(
        &std::fs::read(repository().join("conf/hosts.json")).expect("conf/hosts.json"),
    )
    .expect("conf/hosts.json is JSON");
    config["data_dir"] = json!("/var/lib/marketplace");
    config["financial"]["approve_probability"] = json!(1.0);
    let config_path = podman.dir.path().join("hosts-cluster.json");
    std::fs::write(&config_path, serde_json::to_vec_pretty(&config).unwrap()).unwrap();
    let config_arg = config_path.to_str().unwrap();
    let deploy_script = repository().join("scripts/deploy.sh");
    let deploy = |command: &str, host: &str, ip: &str| -> String {
        let mut args = vec![
            command, "--config", config_arg, "--host", ip, "--image", &image,
        ];
        if command == "down" {
            args.push("--volumes");
        }
        let output = run_bounded(
            &mut on_host(&podman, host, &deploy_script, &args),
            COMMAND_TIMEOUT,
        );
        assert!(
            output.status.success(),
            "deploy.sh {args:?} in {host}: {}{}",
            text(&output.stdout),
            text(&output.stderr)
        );
        text(&output.stdout)
    };
    let server_hosts = &NAMESPACE_HOSTS[..5];

    // Each server host starts its own processes, from inside its namespace.
    let up_started = Instant::now();
    let mut running = 0;
    for (host, ip) in server_hosts {
        let started_here = deploy("up", host, ip);
        running += started_here.lines().count();
        assert_eq!(
            podman.running_containers().len(),
            running,
            "{host}: {started_here}"
        );
    }
    assert_eq!(running, 19, "conf/hosts.json has 19 processes");
    let mut status = Vec::new();
    wait_until(
        "cluster-status from the client host sees every process up",
        Duration::from_secs(90),
        || match cluster_status_from_client_host(&podman, &config_path) {
            Some(s) if s.len() == 19 && s.iter().all(|p| p["up"] == true) => {
                status = s;
                true
            }
            _ => {
                std::thread::sleep(Duration::from_millis(300));
                false
            }
        },
    );
    let up_time = up_started.elapsed();

    // Every process answers at its address, and its container runs in the
    // network namespace of the host that address belongs to.
    let mut per_host: std::collections::BTreeMap<&str, usize> = Default::default();
    for process in &status {
        let component = process["component"].as_str().unwrap();
        let index = process["index"].as_u64().unwrap();
        let address = process["address"].as_str().unwrap();
        let ip = address.rsplit_once(':').unwrap().0;
        let host = namespace_host_of_ip(ip)
            .unwrap_or_else(|| panic!("{component} {index} at {address}: on no host"));
        assert_ne!(host, CLIENT_HOST, "no process on the client host");
        let pid = podman.run(&[
            "container",
            "inspect",
            "--format",
            "{{.State.Pid}}",
            &format!("mkt-{component}-{index}"),
        ]);
        assert_eq!(
            net_namespace_inode(&format!("/proc/{}/ns/net", pid.trim())),
            net_namespace_inode(&format!("/run/netns/{host}")),
            "the container of {component} {index} ({address}) is not in {host}'s network"
        );
        *per_host.entry(host).or_default() += 1;
    }
    assert_eq!(per_host.len(), 5, "{per_host:?}");
    let status_h3 = deploy("status", "mkt-h3", "10.77.0.3");
    assert!(!status_h3.contains("absent") && !status_h3.contains("stopped"));

    // A seller and a buyer, each a client of the image in a container on
    // the client host, through the frontends on the server hosts.
    let seller = client_on_client_host(
        &podman,
        &image,
        &config_path,
        "seller-client",
        "create-account alice pw1\nlogin alice pw1\n\
         put \"Blue lamp\" 3 new 12.50 5 lamp blue\nlist\n",
    );
    let item = seller[2]["item_id"]
        .as_str()
        .expect("an item id")
        .to_string();
    let buyer = client_on_client_host(
        &podman,
        &image,
        &config_path,
        "buyer-client",
        &format!(
            "create-account bob pw2\nlogin bob pw2\nsearch 3 lamp\nadd {item} 2\ncart\n\
             buy \"Bob B\" 4111111111111111 12/30\nhistory\n"
        ),
    );
    assert_eq!(buyer[2]["items"][0]["id"], item.as_str(), "{:?}", buyer[2]);
    assert_eq!(
        buyer[4]["cart"].as_array().unwrap().len(),
        1,
        "{:?}",
        buyer[4]
    );
    assert_eq!(buyer[5]["purchase"]["total"], "25.00", "{:?}", buyer[5]);
    assert_eq!(
        buyer[6]["purchases"].as_array().unwrap().len(),
        1,
        "{:?}",
        buyer[6]
    );

    // Each host removes its own containers and volumes.
    for (host, ip) in server_hosts {
        deploy("down", host, ip);
    }
    assert_eq!(podman.run(&["ps", "--all", "--quiet"]), "");
    assert_eq!(podman.run(&["volume", "ls", "--quiet"]), "");
    podman.run(&["rmi", &image]);
    drop(podman);
    drop(hosts);
    assert_eq!(
        host_namespaces(),
        Vec::<String>::new(),
        "hosts.sh down left namespaces"
    );
    assert_eq!(
        podman_network_traces(),
        network_before,
        "podman left a network link, an nft table or IP forwarding behind"
    );
    say(&format!(
        "namespace hosts: image built in {:.1} s, 19 containers on 5 hosts up and answering in {:.1} s ({per_host:?}), {:.1} s in all",
        build_time.as_secs_f64(),
        up_time.as_secs_f64(),
        started.elapsed().as_secs_f64()
    ));
}
