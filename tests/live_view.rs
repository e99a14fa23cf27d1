//! `cluster-status --serve`: the live view follows a kill and an election
//! within seconds. Its data (`/status.json`) is read over HTTP; the page
//! itself is loaded in headless Chromium (Debian's `chromium`), and the
//! DOM, read after the page's script ran, must show the killed replica
//! down and a new leader. Without Chromium that part says it was skipped.

mod support;

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use support::{binary, wait_until, Cluster, Options};

/// The live view's process, stopped when dropped.
struct LiveView(Child);

impl Drop for LiveView {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn status(address: SocketAddr) -> Option<Value> {
    ureq::get(&format!("http://{address}/status.json"))
        .timeout(Duration::from_secs(2))
        .call()
        .ok()?
        .into_json()
        .ok()
}

/// The processes of one component in the live view's data.
fn replicas<'a>(data: &'a Value, component: &str) -> Vec<&'a Value> {
    data["processes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["component"] == component)
        .collect()
}

fn leader(data: &Value) -> Option<u64> {
    replicas(data, "product-db")
        .into_iter()
        .find(|p| p["up"] == true && p["replication"]["role"] == "leader")
        .and_then(|p| p["index"].as_u64())
}

/// The page's DOM after its script ran for a while, from headless
/// Chromium, which also saves a screenshot as target/live-view.png (the
/// README's picture); `None` where Chromium is not installed.
fn rendered_page(address: SocketAddr) -> Option<String> {
    let browser = ["chromium", "chromium-browser"]
        .into_iter()
        .find(|name| Command::new(name).arg("--version").output().is_ok())?;
    let headless = |action: &str| {
        Command::new(browser)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                "--window-size=1000,1080",
                "--virtual-time-budget=3000",
                action,
            ])
            .arg(format!("http://{address}/"))
            .output()
            .expect("chromium runs")
    };
    let screenshot = format!(
        "--screenshot={}/target/live-view.png",
        env!("CARGO_MANIFEST_DIR")
    );
    headless(&screenshot);
    Some(String::from_utf8_lossy(&headless("--dump-dom").stdout).to_string())
}

#[test]
fn the_live_view_shows_a_kill_and_the_new_leader() {
    let mut cluster = Cluster::start(Options {
        product_dbs: 3,
        ..Options::default()
    });
    let host = cluster.address("financial-service", 0).ip();
    let address = SocketAddr::new(host, 25100);
    let _live = LiveView(
        Command::new(binary("cluster-status"))
            .arg("--config")
            .arg(cluster.config_arg())
            .arg("--serve")
            .arg(address.to_string())
            .stdout(Stdio::null())
            .spawn()
            .expect("cluster-status starts"),
    );
    let mut old_leader = None;
    wait_until(
        "the live view shows a leader",
        Duration::from_secs(20),
        || {
            old_leader = status(address).as_ref().and_then(leader);
            old_leader.is_some()
        },
    );
    let old_leader = old_leader.unwrap();
    // Calls at a frontend show as calls per second (health checks aside).
    for _ in 0..40 {
        cluster.http(
            ("seller-server", 0),
            "GET",
            "/seller/items",
            None,
            None,
            None,
        );
    }
    wait_until(
        "the live view shows calls per second",
        Duration::from_secs(10),
        || {
            status(address).is_some_and(|data| {
                replicas(&data, "seller-server")
                    .iter()
                    .any(|p| p["calls_per_s"].as_f64().is_some_and(|rate| rate > 0.0))
            })
        },
    );
    let page = page_html(address);
    assert!(
        page.contains("<svg id=\"chart-product-db\""),
        "the page is served"
    );
    cluster.kill("product-db", old_leader as usize);
    let mut seen = Value::Null;
    wait_until(
        "the live view shows the kill and a new leader",
        Duration::from_secs(10),
        || {
            let Some(data) = status(address) else {
                return false;
            };
            let down = replicas(&data, "product-db")
                .iter()
                .any(|p| p["index"] == old_leader && p["up"] == false);
            let new_leader = leader(&data).is_some_and(|l| l != old_leader);
            seen = data;
            down && new_leader
        },
    );
    let events: Vec<&str> = seen["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["what"].as_str())
        .collect();
    let killed = format!("product-db {old_leader} down");
    assert!(events.contains(&killed.as_str()), "{events:?}");
    assert!(
        events
            .iter()
            .any(|e| e.ends_with(")") && e.contains("leads")),
        "{events:?}"
    );
    assert!(seen["history"].as_array().unwrap().len() >= 2);
    match rendered_page(address) {
        None => eprintln!("live view test: browser part SKIPPED: chromium is not installed"),
        Some(dom) => {
            let killed_row = format!("id=\"product-db-{old_leader}\" data-up=\"false\"");
            assert!(dom.contains(&killed_row), "the page shows the kill:\n{dom}");
            assert!(dom.contains("data-role=\"leader\""), "a leader:\n{dom}");
            assert!(dom.contains(&killed), "the event:\n{dom}");
        }
    }
}

fn page_html(address: SocketAddr) -> String {
    ureq::get(&format!("http://{address}/"))
        .call()
        .expect("the page")
        .into_string()
        .expect("text")
}
