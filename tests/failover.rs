//! Frontends may crash at any time: a client in the middle of its script
//! fails over to another frontend and finishes every command without a
//! user-visible error, and no retried command is applied twice.

mod support;

use serde_json::Value;
use support::{Cluster, Options};

fn ok(line: &str) -> Value {
    let value: Value = serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}"));
    assert_eq!(value["ok"], true, "a user-visible error: {line}");
    value
}

#[test]
fn clients_finish_their_scripts_while_frontends_are_killed() {
    let mut cluster = Cluster::start(Options::default());
    let mut seller = cluster.client_session("seller-client", true);
    let mut buyer = cluster.client_session("buyer-client", true);
    ok(&seller.send("create-account s pw"));
    ok(&seller.send("login s pw"));
    ok(&buyer.send("create-account b pw"));
    ok(&buyer.send("login b pw"));

    // Each client uses one of two frontends; killing index 0, bringing it
    // back, then killing index 1 hits the one in use, whichever it is.
    let mut items = Vec::new();
    for round in 0..3 {
        match round {
            1 => {
                cluster.kill("seller-server", 0);
                cluster.kill("buyer-server", 0);
            }
            2 => {
                cluster.restart("seller-server", 0);
                cluster.restart("buyer-server", 0);
                cluster.kill("seller-server", 1);
                cluster.kill("buyer-server", 1);
            }
            _ => {}
        }
        let put = ok(&seller.send(&format!("put item{round} 4 new 1.25 10 round{round}")));
        let item = put["item_id"].as_str().unwrap().to_string();
        ok(&seller.send(&format!("change-price {item} 2.00")));
        ok(&buyer.send(&format!("search 4 round{round}")));
        ok(&buyer.send(&format!("add {item} 1")));
        ok(&buyer.send("cart"));
        ok(&buyer.send("buy \"B Buyer\" 4111111111111111 12/99"));
        items.push(item);
    }
    let listing = ok(&seller.send("list"));
    assert_eq!(
        listing["items"].as_array().unwrap().len(),
        3,
        "every put applied exactly once"
    );
    for item in listing["items"].as_array().unwrap() {
        assert_eq!(
            item["quantity"], 9,
            "every purchase applied exactly once: {item}"
        );
        assert_eq!(item["price"], "2.00");
    }
    let history = ok(&buyer.send("history"));
    assert_eq!(history["purchases"].as_array().unwrap().len(), 3);
    assert!(seller.finish().is_empty());
    assert!(buyer.finish().is_empty());
}
