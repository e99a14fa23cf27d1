//! The product DB on five real product-db processes replicated by Raft:
//! kill -9 a follower, then the leader, during a steady stream of writes
//! from several clients; restart them from their data dirs (past a
//! snapshot); stop and restart all five. Every acknowledged write must be
//! present on every replica exactly once, and the replicas must converge to
//! the same state.

mod support;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use marketplace::market::{limits, Category, Condition, ItemDraft, Page, Price, RequestId};
use marketplace::product::{ProductCommand, ProductOutcome, ProductRequest, ProductResult};
use marketplace::rpc::DatabaseClient;
use support::{wait_until, Cluster, Options};

const REPLICAS: usize = 5;
const SELLER: u64 = 1;
const STATUS_TIMEOUT: Duration = Duration::from_millis(500);

type ProductClient = DatabaseClient<ProductRequest, ProductResult>;

fn put(client: &ProductClient, name: &str) -> ProductResult {
    let draft = ItemDraft {
        name: name.to_string(),
        category: Category::new(1).unwrap(),
        keywords: vec![],
        condition: Condition::New,
        price: Price::from_cents(100).unwrap(),
        quantity: 1,
    };
    let request = ProductRequest {
        request_id: RequestId(name.to_string()),
        command: ProductCommand::PutItem {
            seller: SELLER,
            draft,
        },
    };
    client.execute(&request).expect("the product DB answers")
}

/// Names of the seller's items, read linearizably through the leader, page
/// after page.
fn listed_names(client: &ProductClient) -> Vec<String> {
    let mut names = Vec::new();
    let mut after = None;
    loop {
        let page = Page {
            limit: limits::PAGE_ITEMS_MAX,
            after,
        };
        let request = ProductRequest {
            request_id: RequestId::random(),
            command: ProductCommand::ListSellerItems {
                seller: SELLER,
                page,
            },
        };
        match client.execute(&request).expect("the product DB answers") {
            Ok(ProductOutcome::Items { items, next }) => {
                names.extend(items.into_iter().map(|item| item.name));
                match next {
                    Some(cursor) => after = Some(cursor),
                    None => return names,
                }
            }
            other => panic!("unexpected reply {other:?}"),
        }
    }
}

/// The replica that says it leads, among the running ones.
fn leader(cluster: &Cluster, client: &ProductClient) -> Option<usize> {
    (0..REPLICAS)
        .filter(|&i| cluster.is_running("product-db", i))
        .find(|&i| {
            client
                .status(i, STATUS_TIMEOUT)
                .map(|s| s.get_role() == "leader")
                .unwrap_or(false)
        })
}

fn a_follower(cluster: &Cluster, client: &ProductClient) -> usize {
    (0..REPLICAS)
        .filter(|&i| cluster.is_running("product-db", i))
        .find(|&i| {
            client
                .status(i, STATUS_TIMEOUT)
                .map(|s| s.get_role() == "follower")
                .unwrap_or(false)
        })
        .expect("a follower")
}

/// Clients writing until told to stop; each acknowledged name is recorded.
struct Writers {
    stop: Arc<AtomicBool>,
    acknowledged: Arc<Mutex<Vec<(String, Instant, Instant)>>>,
    count: Arc<AtomicU64>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Writers {
    fn start(cluster: &Cluster, clients: usize) -> Writers {
        let stop = Arc::new(AtomicBool::new(false));
        let acknowledged = Arc::new(Mutex::new(Vec::new()));
        let count = Arc::new(AtomicU64::new(0));
        let threads = (0..clients)
            .map(|writer| {
                let client = cluster.product_db();
                let (stop, acknowledged, count) =
                    (stop.clone(), acknowledged.clone(), count.clone());
                std::thread::spawn(move || {
                    let mut n = 0;
                    while !stop.load(Ordering::SeqCst) {
                        let name = format!("w{writer}-{n}");
                        n += 1;
                        let started = Instant::now();
                        match put(&client, &name) {
                            Ok(ProductOutcome::ItemPut { .. }) => {
                                acknowledged
                                    .lock()
                                    .unwrap()
                                    .push((name, started, Instant::now()));
                                count.fetch_add(1, Ordering::SeqCst);
                            }
                            other => panic!("put {name}: {other:?}"),
                        }
                    }
                })
            })
            .collect();
        Writers {
            stop,
            acknowledged,
            count,
            threads,
        }
    }

    fn wait_for_more(&self, more: u64) {
        let target = self.count.load(Ordering::SeqCst) + more;
        wait_until(
            "more writes are acknowledged",
            Duration::from_secs(60),
            || self.count.load(Ordering::SeqCst) >= target,
        );
    }

    /// When the first write sent after `instant` was acknowledged (a write
    /// sent before it may have been committed before it, too).
    fn first_ack_of_a_write_sent_after(&self, instant: Instant) -> Option<Instant> {
        let acknowledged = self.acknowledged.lock().unwrap();
        acknowledged
            .iter()
            .filter(|(_, sent, _)| *sent > instant)
            .map(|(_, _, acked)| *acked)
            .min()
    }

    fn finish(self) -> Vec<String> {
        self.stop.store(true, Ordering::SeqCst);
        for thread in self.threads {
            thread.join().expect("a writer failed");
        }
        let acknowledged = self.acknowledged.lock().unwrap();
        acknowledged
            .iter()
            .map(|(name, _, _)| name.clone())
            .collect()
    }
}

fn check_every_write_once(client: &ProductClient, acknowledged: &[String]) {
    let listed = listed_names(client);
    let unique: BTreeSet<&String> = listed.iter().collect();
    assert_eq!(unique.len(), listed.len(), "a write was applied twice");
    for name in acknowledged {
        assert!(
            unique.contains(name),
            "acknowledged write {name} is missing"
        );
    }
}

#[test]
fn acknowledged_writes_survive_killed_followers_leaders_and_a_full_restart() {
    let mut cluster = Cluster::start(Options {
        product_dbs: REPLICAS,
        seller_servers: 1,
        buyer_servers: 1,
        snapshot_every_entries: 40,
        ..Options::default()
    });
    let client = cluster.product_db();
    wait_until("a leader is elected", Duration::from_secs(20), || {
        leader(&cluster, &client).is_some()
    });

    let writers = Writers::start(&cluster, 4);
    writers.wait_for_more(50);
    let follower = a_follower(&cluster, &client);
    cluster.kill("product-db", follower);
    writers.wait_for_more(100);

    let old_leader = leader(&cluster, &client).expect("a leader");
    let killed_at = Instant::now();
    cluster.kill("product-db", old_leader);
    writers.wait_for_more(100);
    let failover = writers
        .first_ack_of_a_write_sent_after(killed_at)
        .expect("a write after the kill")
        - killed_at;
    eprintln!("leader failover: {failover:?} from kill -9 to the next acknowledged write");
    assert!(
        failover < Duration::from_secs(5),
        "failover took {failover:?}"
    );

    // Both come back from their data dirs; the follower has missed more
    // than a snapshot's worth of entries, so it needs InstallSnapshot.
    cluster.restart("product-db", follower);
    cluster.restart("product-db", old_leader);
    writers.wait_for_more(50);
    let acknowledged = writers.finish();
    cluster.wait_converged("product-db", &client);
    check_every_write_once(&client, &acknowledged);

    // A full stop (kill -9 of all five) and restart loses nothing.
    for index in 0..REPLICAS {
        cluster.kill("product-db", index);
    }
    for index in 0..REPLICAS {
        cluster.restart("product-db", index);
    }
    wait_until(
        "a leader after the full restart",
        Duration::from_secs(20),
        || leader(&cluster, &client).is_some(),
    );
    check_every_write_once(&client, &acknowledged);
    cluster.wait_converged("product-db", &client);
}

/// Goal: a leader stopped (SIGSTOP) for longer than its lease, and
/// deposed meanwhile, serves no stale read when it continues, even for a
/// read that was waiting in its socket while it was stopped (its ticker
/// missed every tick, and it has not yet read the messages that depose it).
/// Method: stop the leader; once another replica leads, write through it;
/// send a read to the stopped leader (it waits there), continue the leader,
/// and require the read to see the write (after a redirect, if the old
/// leader gives one). Three rounds.
#[test]
fn a_stopped_leader_serves_no_stale_read_when_it_continues() {
    let cluster = Cluster::start(Options {
        product_dbs: REPLICAS,
        seller_servers: 1,
        buyer_servers: 1,
        ..Options::default()
    });
    let client = cluster.product_db();
    for round in 0..3 {
        let old_leader = wait_for_leader(&client, None);
        put(&client, &format!("before-{round}")).expect("written");
        cluster.signal("product-db", old_leader, "STOP");
        wait_for_leader(&client, Some(old_leader));
        let written = format!("after-{round}");
        put(&client, &written).expect("written");
        let reader = std::thread::spawn({
            let client = cluster.product_db().prefer(old_leader);
            move || listed_names(&client)
        });
        // Long enough for the read to reach the stopped process's socket.
        std::thread::sleep(Duration::from_millis(200));
        cluster.signal("product-db", old_leader, "CONT");
        let names = reader.join().expect("the reader");
        assert!(
            names.contains(&written),
            "round {round}: a stale read from the old leader {old_leader}: {names:?}"
        );
    }
}

/// Waits for a replica other than `not` that says it leads.
fn wait_for_leader(client: &ProductClient, not: Option<usize>) -> usize {
    let mut found = None;
    wait_until("a leader", Duration::from_secs(20), || {
        found = (0..REPLICAS).filter(|&i| Some(i) != not).find(|&i| {
            client
                .status(i, STATUS_TIMEOUT)
                .map(|s| s.get_role() == "leader")
                .unwrap_or(false)
        });
        found.is_some()
    });
    found.expect("a leader")
}

#[test]
fn cluster_status_shows_the_raft_state_of_every_replica() {
    let cluster = Cluster::start(Options {
        product_dbs: 3,
        seller_servers: 1,
        buyer_servers: 1,
        ..Options::default()
    });
    let client = cluster.product_db();
    wait_until("a leader is elected", Duration::from_secs(20), || {
        leader(&cluster, &client).is_some()
    });
    assert!(matches!(
        put(&client, "first"),
        Ok(ProductOutcome::ItemPut { .. })
    ));
    // Followers learn the leader and the commit index from its next
    // heartbeat, so wait until every replica reports them.
    let cluster_status = || -> Vec<serde_json::Value> {
        let output = std::process::Command::new(support::binary("cluster-status"))
            .arg("--config")
            .arg(cluster.config_arg())
            .arg("--json")
            .output()
            .unwrap();
        let processes: Vec<serde_json::Value> = serde_json::from_slice(&output.stdout).unwrap();
        processes
            .into_iter()
            .filter(|p| p["component"] == "product-db")
            .collect()
    };
    wait_until(
        "every replica reports the leader and the commit",
        Duration::from_secs(10),
        || {
            cluster_status().iter().all(|p| {
                p["replication"]["leader"].is_u64()
                    && p["replication"]["commit_index"].as_u64() >= Some(1)
            })
        },
    );
    let replicas = cluster_status();
    assert_eq!(replicas.len(), 3);
    let leaders = replicas
        .iter()
        .filter(|p| p["replication"]["role"] == "leader")
        .count();
    assert_eq!(leaders, 1);
    for replica in &replicas {
        let raft = &replica["replication"];
        assert_eq!(raft["protocol"], "raft");
        assert!(raft["term"].as_u64().unwrap() >= 1);
        assert_eq!(
            raft["leader"],
            replicas
                .iter()
                .find(|p| p["replication"]["role"] == "leader")
                .unwrap()["index"]
        );
        assert!(raft["applied_index"].as_u64().unwrap() >= 1);
    }
}
