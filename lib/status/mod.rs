//! `cluster-status`: asks every process in the cluster file whether it is
//! up and, for database replicas, what their replication layer reports.
//! Exit status 0 when every process answers, 1 otherwise, so scripts can
//! wait on it. `--list` prints the processes without asking them.
//! `--serve ADDRESS` serves a live view instead (`live.rs`).

mod live;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

use crate::config::{Args, ClusterConfig, Component, NodeAddress};
use crate::pb::marketplace::StatusReply;
use crate::rpc::{environment, DatabaseClient, DatabaseKind};

/// How long one process has to answer: generous, since a busy machine can
/// take a while to connect a fresh gRPC channel, and a false "down" misleads.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(2);

/// What one process reported.
#[derive(Debug)]
pub struct ProcessStatus {
    /// Its component.
    pub component: Component,
    /// Its index in the cluster file.
    pub index: usize,
    /// Where it was asked, as the cluster file names it (a name is looked
    /// up at every probe).
    pub address: NodeAddress,
    /// Whether it answered.
    pub up: bool,
    /// The replication report of a database replica that answered.
    pub replication: Option<StatusReply>,
    /// A frontend's calls answered and 5xx answers since it started.
    pub calls: Option<(u64, u64)>,
}

/// Asks every process, all at once, and returns their answers in file order.
pub fn probe_cluster(config: &ClusterConfig) -> Vec<ProcessStatus> {
    let environment = environment("status");
    let mut probes = Vec::new();
    for component in Component::ALL {
        for index in 0..config.count(component) {
            let address = config
                .endpoint(component, index)
                .expect("index within count")
                .clone();
            let environment = environment.clone();
            probes.push(std::thread::spawn(move || {
                probe(environment, component, index, address)
            }));
        }
    }
    probes
        .into_iter()
        .filter_map(|probe| probe.join().ok())
        .collect()
}

fn probe(
    environment: Arc<grpcio::Environment>,
    component: Component,
    index: usize,
    address: NodeAddress,
) -> ProcessStatus {
    let kind = match component {
        Component::ProductDb => Some(DatabaseKind::Product),
        Component::CustomerDb => Some(DatabaseKind::Customer),
        _ => None,
    };
    let (up, replication, calls) = match kind {
        Some(kind) => {
            let client: DatabaseClient<(), ()> =
                DatabaseClient::new(environment, kind, &[&address]);
            match client.status(0, ANSWER_TIMEOUT) {
                Ok(reply) => (true, Some(reply), None),
                Err(_) => (false, None, None),
            }
        }
        None => match http_health(&address) {
            Some(health) => {
                let count = |name: &str| health[name].as_u64();
                let calls = count("calls").zip(count("errors"));
                (true, None, calls)
            }
            None => (false, None, None),
        },
    };
    ProcessStatus {
        component,
        index,
        address,
        up,
        replication,
        calls,
    }
}

/// A frontend's (or the financial service's) `/health` answer, if it gave
/// one.
fn http_health(address: &NodeAddress) -> Option<Value> {
    let agent = ureq::AgentBuilder::new().timeout(ANSWER_TIMEOUT).build();
    let response = agent.get(&format!("http://{address}/health")).call().ok()?;
    Some(response.into_json().unwrap_or(Value::Null))
}

/// The JSON form of one process's status.
pub fn status_json(status: &ProcessStatus) -> Value {
    let mut value = json!({
        "component": status.component.name(),
        "index": status.index,
        "address": status.address.to_string(),
        "up": status.up,
    });
    if let Some((calls, errors)) = status.calls {
        value["calls"] = json!(calls);
        value["errors"] = json!(errors);
    }
    if let Some(r) = &status.replication {
        value["replication"] = json!({
            "protocol": r.get_protocol(),
            "role": r.get_role(),
            "term": r.get_term(),
            "leader": if r.get_leader() < 0 { Value::Null } else { json!(r.get_leader()) },
            "commit_index": r.get_commit_index(),
            "applied_index": r.get_applied_index(),
            "next_global": r.get_next_global(),
            "delivered": r.get_delivered(),
            "contradictions": r.get_contradictions(),
        });
        if r.get_has_view() {
            value["replication"]["view"] = json!({
                "number": r.get_view(),
                "members": r.get_view_members(),
                "in_view": r.get_in_view(),
                "changing": r.get_changing(),
                "turn": if r.get_turn() < 0 { Value::Null } else { json!(r.get_turn()) },
                "suspicions": r.get_suspicions(),
                "view_changes": r.get_view_changes(),
                "rejoins": r.get_rejoins(),
                "retransmits_pending": r.get_retransmits_pending(),
                "drops": r.get_drops(),
                "incarnation": r.get_incarnation(),
            });
        }
    }
    value
}

/// The text form of one process's status: one line, fixed columns.
pub fn status_line(status: &ProcessStatus) -> String {
    let state = if status.up { "up" } else { "down" };
    let head = format!(
        "{:<18} {:<2} {:<21} {:<4}",
        status.component.name(),
        status.index,
        status.address,
        state
    );
    match &status.replication {
        None => head.trim_end().to_string(),
        Some(r) => {
            let leader = if r.get_leader() < 0 {
                "-".to_string()
            } else {
                r.get_leader().to_string()
            };
            let mut line = format!(
                "{head} protocol={} role={} term={} leader={leader} commit={} applied={}",
                r.get_protocol(),
                r.get_role(),
                r.get_term(),
                r.get_commit_index(),
                r.get_applied_index()
            );
            if status.component == Component::CustomerDb {
                line.push_str(&format!(
                    " next_global={} delivered={}",
                    r.get_next_global(),
                    r.get_delivered()
                ));
                if r.get_has_view() {
                    line.push_str(&view_columns(r));
                }
            }
            // Last, so that every column before it stays where it was.
            line.push_str(&format!(" contradictions={}", r.get_contradictions()));
            line
        }
    }
}

/// The sequencer view columns: ` view=3 members=0,1,2,4 in_view=yes ...`.
fn view_columns(r: &StatusReply) -> String {
    let members: Vec<String> = r.get_view_members().iter().map(u32::to_string).collect();
    let yes_no = |flag: bool| if flag { "yes" } else { "no" };
    let turn = if r.get_turn() < 0 {
        "-".to_string()
    } else {
        r.get_turn().to_string()
    };
    format!(
        " view={} members={} in_view={} changing={} turn={turn} suspicions={} \
         view_changes={} rejoins={} retransmits={} drops={} incarnation={}",
        r.get_view(),
        members.join(","),
        yes_no(r.get_in_view()),
        yes_no(r.get_changing()),
        r.get_suspicions(),
        r.get_view_changes(),
        r.get_rejoins(),
        r.get_retransmits_pending(),
        r.get_drops(),
        r.get_incarnation()
    )
}

/// The `cluster-status` program.
pub fn run_cluster_status(arguments: impl IntoIterator<Item = String>) -> Result<bool, String> {
    let args = Args::parse(arguments, &["--config", "--json", "--list", "--serve"])
        .map_err(|e| e.to_string())?;
    if args.help {
        println!(
            "usage: cluster-status [--config conf/local.json] [--json] [--list]\n       \
             cluster-status [--config conf/local.json] --serve 127.0.0.1:8080"
        );
        return Ok(true);
    }
    let config = ClusterConfig::load(&args.config).map_err(|e| e.to_string())?;
    if let Some(address) = args.serve {
        live::serve_live_view(config, address)?;
        return Ok(true);
    }
    if args.list {
        // For scripts: every process as `component index address`.
        for component in Component::ALL {
            for index in 0..config.count(component) {
                let address = config
                    .endpoint(component, index)
                    .expect("index within count");
                println!("{component} {index} {address}");
            }
        }
        return Ok(true);
    }
    let statuses = probe_cluster(&config);
    if args.json {
        println!(
            "{}",
            Value::Array(statuses.iter().map(status_json).collect())
        );
    } else {
        for status in &statuses {
            println!("{}", status_line(status));
        }
    }
    Ok(statuses.iter().all(|s| s.up))
}
