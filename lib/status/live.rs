//! `cluster-status --serve ADDRESS`: a live view of the cluster, a web page
//! served by the project itself (tiny_http), no framework.
//!
//! Two threads, each with one job: `status-sampler` asks every process every
//! `SAMPLE_EVERY` (the same probe as the one-shot `cluster-status`) and keeps
//! the last `HISTORY_SAMPLES` samples, noting as events what changed between
//! two of them (a process down or up, a new Raft leader, a new view); the
//! caller's thread serves `/` (the page) and `/status.json` (its data, which
//! the page fetches every 500 ms).
//!
//! `/status.json`: `{"at_ms", "processes": [...], "history": [...],
//! "events": [...]}`. `processes` is what `cluster-status --json` prints;
//! `history` holds, per sample, `at_ms`, per database replica
//! (`"product-db 0"`) its applied index (`applied`, null while it is down)
//! and per frontend its calls per second since the sample before
//! (`calls_per_s`, null while it is down); a frontend's entry in
//! `processes` also has `calls_per_s` and `errors_per_s` (5xx); `events`
//! holds `{"at_ms", "what"}`, oldest first, within the history's minute.

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use super::{probe_cluster, status_json, ProcessStatus};
use crate::config::{ClusterConfig, Component};

/// How often the cluster is asked.
const SAMPLE_EVERY: Duration = Duration::from_millis(500);
/// Samples kept: one minute's worth.
const HISTORY_SAMPLES: usize = 120;

/// What the sampler keeps.
#[derive(Default)]
struct Live {
    latest: Vec<Value>,
    history: VecDeque<Value>,
    events: VecDeque<(u64, String)>,
    /// Per process ("product-db 0"): up, role, term, view, as last seen.
    last: BTreeMap<String, (bool, String, u64, u64)>,
    /// Per frontend: when, and its calls and errors, at the last sample.
    last_calls: BTreeMap<String, (u64, u64, u64)>,
    /// The highest Raft term any product-DB replica has reported.
    product_term: u64,
}

/// Serves the live view on `address` until the process ends.
pub fn serve_live_view(config: ClusterConfig, address: SocketAddr) -> Result<(), String> {
    let server = tiny_http::Server::http(address)
        .map_err(|e| format!("cannot serve the live view on {address}: {e}"))?;
    let live = Arc::new(Mutex::new(Live::default()));
    let sampled = live.clone();
    std::thread::Builder::new()
        .name("status-sampler".into())
        .spawn(move || loop {
            let statuses = probe_cluster(&config);
            record(&mut lock(&sampled), &statuses, now_ms());
            std::thread::sleep(SAMPLE_EVERY);
        })
        .map_err(|e| format!("cannot start the sampler: {e}"))?;
    println!("live view on http://{address}/ (data at /status.json)");
    for request in server.incoming_requests() {
        let (content_type, body, status) = match request.url() {
            "/" | "/index.html" => ("text/html; charset=utf-8", PAGE.to_string(), 200),
            "/status.json" => ("application/json", snapshot(&lock(&live)).to_string(), 200),
            _ => ("text/plain", "not found".to_string(), 404),
        };
        let header = tiny_http::Header::from_bytes("Content-Type", content_type)
            .expect("a valid static header");
        let response = tiny_http::Response::from_string(body)
            .with_status_code(status)
            .with_header(header);
        let _ = request.respond(response);
    }
    Ok(())
}

fn lock(live: &Mutex<Live>) -> std::sync::MutexGuard<'_, Live> {
    live.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_millis() as u64)
}

/// Takes one sample: the processes, the applied indexes, and what changed.
fn record(live: &mut Live, statuses: &[ProcessStatus], at_ms: u64) {
    let mut applied = serde_json::Map::new();
    let mut calls_per_s = serde_json::Map::new();
    let mut rates = BTreeMap::new();
    for status in statuses {
        let name = format!("{} {}", status.component.name(), status.index);
        if let Some((calls, errors)) = status.calls {
            let rate = per_second(live.last_calls.get(&name), at_ms, calls, errors);
            live.last_calls.insert(name.clone(), (at_ms, calls, errors));
            if let Some((calls, errors)) = rate {
                calls_per_s.insert(name.clone(), json!(calls));
                rates.insert(name.clone(), (calls, errors));
            }
        } else if matches!(
            status.component,
            Component::SellerServer | Component::BuyerServer
        ) {
            calls_per_s.insert(name.clone(), Value::Null);
        }
        let replication = status.replication.as_ref();
        if matches!(
            status.component,
            Component::ProductDb | Component::CustomerDb
        ) {
            applied.insert(
                name.clone(),
                replication.map_or(Value::Null, |r| json!(r.get_applied_index())),
            );
        }
        let now = (
            status.up,
            replication.map_or(String::new(), |r| r.get_role().to_string()),
            replication.map_or(0, |r| r.get_term()),
            replication.map_or(0, |r| r.get_view()),
        );
        if let Some(before) = live.last.get(&name) {
            for what in changes(&name, before, &now) {
                live.events.push_back((at_ms, what));
            }
        }
        live.last.insert(name, now);
    }
    if let Some(what) = election(&mut live.product_term, statuses) {
        live.events.push_back((at_ms, what));
    }
    live.latest = statuses
        .iter()
        .map(|status| {
            let mut value = status_json(status);
            let name = format!("{} {}", status.component.name(), status.index);
            if let Some((calls, errors)) = rates.get(&name) {
                value["calls_per_s"] = json!(calls);
                value["errors_per_s"] = json!(errors);
            }
            value
        })
        .collect();
    live.history
        .push_back(json!({ "at_ms": at_ms, "applied": applied, "calls_per_s": calls_per_s }));
    forget_old(live);
}

/// A frontend's calls and 5xx answers per second since its last sample
/// (`last`: when, and its counts then); `None` at its first sample, and
/// when its calls went back (it restarted).
fn per_second(
    last: Option<&(u64, u64, u64)>,
    at_ms: u64,
    calls: u64,
    errors: u64,
) -> Option<(f64, f64)> {
    let (at, before, before_errors) = last?;
    let seconds = at_ms.saturating_sub(*at) as f64 / 1000.0;
    (seconds > 0.0 && calls >= *before).then(|| {
        let per_s = |now: u64, then: u64| ((now - then.min(now)) as f64 / seconds).round();
        (per_s(calls, *before), per_s(errors, *before_errors))
    })
}

/// Keeps the last `HISTORY_SAMPLES` samples, and the events within them.
fn forget_old(live: &mut Live) {
    while live.history.len() > HISTORY_SAMPLES {
        live.history.pop_front();
    }
    let oldest = live
        .history
        .front()
        .map_or(0, |sample| sample["at_ms"].as_u64().unwrap_or(0));
    while live.events.front().is_some_and(|(at, _)| *at < oldest) {
        live.events.pop_front();
    }
}

/// What changed at one process between two samples, in words.
fn changes(
    name: &str,
    before: &(bool, String, u64, u64),
    now: &(bool, String, u64, u64),
) -> Vec<String> {
    let mut what = Vec::new();
    if before.0 != now.0 {
        what.push(format!("{name} {}", if now.0 { "up" } else { "down" }));
    }
    if now.1 == "leader" && (before.1 != "leader" || before.2 != now.2) {
        what.push(format!("{name} leads (term {})", now.2));
    }
    if now.0 && before.0 && now.3 > before.3 {
        what.push(format!("{name} in view {}", now.3));
    }
    what
}

/// An election of the product DB since the last sample, in words: the
/// highest term reported has risen. One mark per election, whether or not
/// the leader changed (a leader cut off and elected again, a split vote
/// that elects nobody), so a failover shows even when a replica that led
/// before leads again; the first sample only learns the term.
fn election(highest_term: &mut u64, statuses: &[ProcessStatus]) -> Option<String> {
    let term = statuses
        .iter()
        .filter(|status| status.component == Component::ProductDb)
        .filter_map(|status| status.replication.as_ref())
        .map(|replication| replication.get_term())
        .max()?;
    let before = std::mem::replace(highest_term, (*highest_term).max(term));
    (before != 0 && term > before).then(|| format!("product-db election (term {term})"))
}

fn snapshot(live: &Live) -> Value {
    let events: Vec<Value> = live
        .events
        .iter()
        .map(|(at, what)| json!({"at_ms": at, "what": what}))
        .collect();
    json!({
        "at_ms": now_ms(),
        "processes": live.latest,
        "history": live.history,
        "events": events,
    })
}

/// The page (`live_view.html`, HTML, CSS and script in one file): a table
/// of the processes and, per database, a chart of each replica's applied
/// index over the last minute with the events marked. Rows carry
/// `id="<component>-<index>"`, `data-up` and `data-role`, so a browser test
/// can read the state from the DOM.
const PAGE: &str = include_str!("live_view.html");

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pb::marketplace::StatusReply;

    fn replica(index: usize, term: u64, role: &str) -> ProcessStatus {
        let mut reply = StatusReply::default();
        reply.set_term(term);
        reply.set_role(role.to_string());
        ProcessStatus {
            component: Component::ProductDb,
            index,
            address: "127.0.0.1:1".parse().expect("an address"),
            up: true,
            replication: Some(reply),
            calls: None,
        }
    }

    /// Every election is marked once, also one that ends with the same
    /// leader as before or with none; the first sample only learns the term.
    #[test]
    fn every_election_is_marked_once_whoever_leads_after_it() {
        let mut live = Live::default();
        let same_leader = |term| vec![replica(0, term, "leader"), replica(1, term, "follower")];
        record(&mut live, &same_leader(3), 0);
        record(&mut live, &same_leader(3), 500);
        assert!(live.events.is_empty(), "{:?}", live.events);
        // The same replica leads again, in a new term.
        record(&mut live, &same_leader(4), 1_000);
        // A split vote: nobody leads yet.
        record(
            &mut live,
            &[replica(0, 5, "candidate"), replica(1, 5, "candidate")],
            1_500,
        );
        let elections: Vec<&str> = live
            .events
            .iter()
            .map(|(_, what)| what.as_str())
            .filter(|what| what.contains("election"))
            .collect();
        assert_eq!(
            elections,
            [
                "product-db election (term 4)",
                "product-db election (term 5)"
            ]
        );
    }
}
