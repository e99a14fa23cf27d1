//! The customer DB keeps serving while two of its five members are down
//! (the view change), and the members that come back rejoin the turns with
//! the same state. Every operation runs through the real line clients.

mod support;

use std::time::{Duration, Instant};

use serde_json::Value;
use support::{wait_until, Cluster, Options};

const MEMBERS: usize = 5;
const TIMEOUT: Duration = Duration::from_secs(2);

fn json_lines(lines: &[String]) -> Vec<Value> {
    lines
        .iter()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect()
}

/// The view each running member reports: (in a view change, turn list).
fn views(cluster: &Cluster) -> Vec<(usize, bool, Vec<u32>)> {
    let admin = cluster.customer_db();
    (0..MEMBERS)
        .filter(|&member| cluster.is_running("customer-db", member))
        .filter_map(|member| {
            let status = admin.status(member, TIMEOUT).ok()?;
            assert!(status.get_has_view(), "member {member} reports its view");
            let members = status.get_view_members().to_vec();
            Some((member, status.get_changing(), members))
        })
        .collect()
}

#[test]
fn two_members_down_every_operation_works_and_they_rejoin_with_the_same_state() {
    let mut cluster = Cluster::start(Options {
        customer_dbs: MEMBERS,
        ..Options::default()
    });
    let seller = cluster.run_client(
        "seller-client",
        false,
        "create-account sam pw\nlogin sam pw\nput \"Blue lamp\" 3 new 12.50 5 lamp blue\n",
    );
    assert!(seller.iter().all(|l| l.starts_with("ok")), "{seller:?}");

    // Two members die (kill -9) and stay down.
    let killed = Instant::now();
    cluster.kill("customer-db", 1);
    cluster.kill("customer-db", 3);
    let first = cluster.run_client("buyer-client", false, "create-account bob pw\n");
    assert_eq!(first, ["ok buyer_id=1"], "the first call after the kill");
    println!(
        "first call answered {} ms after the kill",
        killed.elapsed().as_millis()
    );

    let seller = cluster.run_client(
        "seller-client",
        false,
        "login sam pw\nput \"Red chair\" 3 used 40 2 chair\nlist\nchange-price 3-2 30\n\
         remove 3-2 1\nrating\nlogout\n",
    );
    let failures: Vec<&String> = seller
        .iter()
        .filter(|l| !l.starts_with("ok") && !l.starts_with("  "))
        .collect();
    assert!(failures.is_empty(), "{seller:?}");
    let script = "login bob pw\nsearch 3 lamp\nitem 3-1\nadd 3-1 2\nadd 3-2 1\nremove 3-2 1\n\
                  save-cart\ncart\nbuy \"Bob B\" 4111111111111111 12/99\nfeedback 3-1 up\n\
                  cart\nhistory\nseller-rating 1\nlogout\n";
    let replies = json_lines(&cluster.run_client("buyer-client", true, script));
    for (line, reply) in replies.iter().enumerate() {
        assert_eq!(reply["ok"], true, "line {line}: {reply}");
    }
    assert_eq!(replies.len(), 14);
    assert_eq!(replies[8]["purchase"]["total"], "25.00");
    assert_eq!(replies[11]["purchases"].as_array().map(Vec::len), Some(1));

    // The three left work in a view without the dead.
    let running = views(&cluster);
    assert_eq!(running.len(), 3);
    for (member, changing, members) in &running {
        assert!(!changing, "member {member} works in its view");
        assert!(
            !members.contains(&1) && !members.contains(&3),
            "member {member}: turn list {members:?}"
        );
    }

    // They come back, catch up, and are taken back into the turns.
    cluster.restart("customer-db", 1);
    cluster.restart("customer-db", 3);
    wait_until(
        "every member takes turns again",
        Duration::from_secs(30),
        || {
            let all = views(&cluster);
            all.len() == MEMBERS
                && all
                    .iter()
                    .all(|(_, changing, members)| !changing && members.len() == MEMBERS)
        },
    );
    let after = cluster.run_client("buyer-client", false, "login bob pw\ncart\n");
    assert!(after.iter().all(|l| l.starts_with("ok")), "{after:?}");
    cluster.wait_converged("customer-db", &cluster.customer_db());
}
