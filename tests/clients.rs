//! Every seller and buyer operation, driven through the real line clients
//! against a real cluster, with the error cases a user meets on the way.

mod support;

use serde_json::Value;
use support::{Cluster, Options};

fn json_lines(lines: &[String]) -> Vec<Value> {
    lines
        .iter()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect()
}

#[test]
fn a_seller_runs_every_operation_and_meets_every_limit() {
    let cluster = Cluster::start(Options::default());
    let script = r#"
create-account alice pw1
create-account alice pw2
login alice wrong
login alice pw1
put "Blue lamp" 3 new 12.50 5 lamp blue
put "Red chair" 3 used 40 2 chair
put "a name that is much too long for an item" 3 new 1 1
put thing 10 new 1 1
put thing 3 new 0 1
put thing 3 broken 1 1
put thing 3 new 1 1 a b c d e f
put thing 3 new 1 1 muchtoolongkeyword
list
change-price 3-1 10.00
change-price 3-1 -4
remove 3-2 1
remove 3-2 5
remove 9-99 1
rating
logout
list
"#;
    let lines = cluster.run_client("seller-client", false, script);
    let mut lines = lines.iter().map(String::as_str);
    let mut next = || lines.next().expect("one more output line");
    assert_eq!(next(), "ok seller_id=1");
    assert!(next().starts_with("error: "), "a taken name is refused");
    assert_eq!(next(), "error: wrong user name or password");
    assert!(next().starts_with("ok seller_id=1 session="));
    assert_eq!(next(), "ok item_id=3-1");
    assert_eq!(next(), "ok item_id=3-2");
    assert!(next().contains("item name must be 1..=32 characters"));
    assert!(next().contains("category must be an integer 0..=9"));
    assert!(next().contains("price must be greater than 0"));
    assert!(next().contains("condition must be new or used"));
    assert!(next().contains("at most 5 keywords"));
    assert!(next().contains("must be 1..=8 characters"));
    assert_eq!(next(), "ok 2 items");
    assert_eq!(
        next(),
        "  3-1 name=\"Blue lamp\" category=3 condition=new price=12.50 quantity=5 seller_id=1 keywords=lamp,blue up=0 down=0"
    );
    assert!(next()
        .starts_with("  3-2 name=\"Red chair\" category=3 condition=used price=40.00 quantity=2"));
    assert_eq!(next(), "ok");
    assert!(next().contains("price must be"));
    assert!(next().starts_with("ok 3-2 name=\"Red chair\""));
    let too_many = next();
    assert!(
        too_many.starts_with("error: ") && too_many.contains("3-2"),
        "{too_many}"
    );
    assert!(next().starts_with("error: "), "an unknown item is refused");
    assert_eq!(next(), "ok up=0 down=0");
    assert_eq!(next(), "ok");
    assert!(next().starts_with("error: "), "no session after logout");
    assert_eq!(lines.next(), None);
}

#[test]
fn a_buyer_searches_fills_a_cart_buys_and_rates() {
    let cluster = Cluster::start(Options::default());
    let seller = cluster.run_client(
        "seller-client",
        false,
        "create-account sam pw\nlogin sam pw\nput \"Blue lamp\" 3 new 12.50 5 lamp blue\nput \"Red chair\" 3 used 40 2 chair\nput \"Old lamp\" 3 used 3 1 lamp\n",
    );
    assert!(seller.iter().all(|l| l.starts_with("ok")), "{seller:?}");
    let script = r#"
create-account bob pw
login bob pw
search 3 lamp blue
search 3
search 4
item 3-1
add 3-1 2
add 3-1 10
add 9-99 1
add 3-2 1
remove 3-2 1
remove 3-2 1
save-cart
clear-cart
cart
add 3-1 2
feedback 3-1 up
buy "Bob B" 4111111111111111 12/99
cart
history
item 3-1
feedback 3-1 up
feedback 3-1 down
seller-rating 1
seller-rating 42
item 3-1
logout
cart
"#;
    let replies = json_lines(&cluster.run_client("buyer-client", true, script));
    let ok = |i: usize| {
        assert_eq!(replies[i]["ok"], true, "line {i}: {}", replies[i]);
        &replies[i]
    };
    let failed = |i: usize, kind: &str| {
        assert_eq!(replies[i]["ok"], false, "line {i}: {}", replies[i]);
        assert_eq!(replies[i]["kind"], kind, "line {i}: {}", replies[i]);
    };
    assert_eq!(ok(0)["buyer_id"], 1);
    assert!(ok(1)["session"].is_string());
    let ranked: Vec<&str> = ok(2)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ranked,
        ["3-1", "3-3"],
        "two keywords beat one; no keyword, no match"
    );
    assert_eq!(ok(3)["items"].as_array().unwrap().len(), 3);
    assert_eq!(ok(4)["items"].as_array().unwrap().len(), 0);
    assert_eq!(ok(5)["item"]["quantity"], 5);
    assert_eq!(ok(6)["cart"][0]["quantity"], 2);
    failed(7, "insufficient_stock");
    failed(8, "not_found");
    assert_eq!(ok(9)["cart"].as_array().unwrap().len(), 2);
    assert_eq!(ok(10)["cart"].as_array().unwrap().len(), 1);
    failed(11, "not_found");
    ok(12);
    ok(13);
    assert_eq!(
        ok(14)["cart"].as_array().unwrap().len(),
        0,
        "clear empties the cart"
    );
    ok(15);
    failed(16, "forbidden");
    let purchase = &ok(17)["purchase"];
    assert_eq!(purchase["total"], "25.00");
    assert_eq!(
        ok(18)["cart"].as_array().unwrap().len(),
        0,
        "a purchase empties the cart"
    );
    let history = ok(19)["purchases"].as_array().unwrap().clone();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0]["lines"][0]["item_id"], "3-1");
    assert_eq!(history[0]["lines"][0]["quantity"], 2);
    assert_eq!(
        ok(20)["item"]["quantity"],
        3,
        "stock went down by what was bought"
    );
    ok(21);
    failed(22, "conflict");
    assert_eq!(ok(23)["up"], 1);
    failed(24, "not_found");
    assert_eq!(ok(25)["item"]["feedback"]["up"], 1);
    ok(26);
    failed(27, "unauthenticated");
    assert_eq!(replies.len(), 28);

    let rating = cluster.run_client("seller-client", false, "login sam pw\nrating\n");
    assert_eq!(
        rating[1], "ok up=1 down=0",
        "the thumb counts on the seller"
    );
}

#[test]
fn a_saved_cart_outlives_the_session_and_an_unsaved_one_does_not() {
    let cluster = Cluster::start(Options::default());
    let seller = cluster.run_client(
        "seller-client",
        false,
        "create-account s pw\nlogin s pw\nput lamp 1 new 1 9\n",
    );
    assert!(seller.iter().all(|l| l.starts_with("ok")), "{seller:?}");
    let replies = json_lines(&cluster.run_client(
        "buyer-client",
        true,
        "create-account b pw\nlogin b pw\nadd 1-1 2\nsave-cart\nadd 1-1 3\nlogout\nlogin b pw\ncart\n",
    ));
    assert!(replies.iter().all(|r| r["ok"] == true), "{replies:?}");
    assert_eq!(
        replies[7]["cart"][0]["quantity"], 2,
        "the unsaved change is gone, the saved cart stays"
    );
}

#[test]
fn clients_report_bad_lines_without_calling_anyone() {
    let cluster = Cluster::start(Options::default());
    let lines = cluster.run_client(
        "buyer-client",
        false,
        "frobnicate\nadd 1-1\nadd 1-1 many\nsearch \"unterminated\nhelp\n",
    );
    assert!(lines[0].starts_with("error: unknown command"));
    assert_eq!(lines[1], "error: usage: add <item-id> <quantity>");
    assert!(lines[2].contains("quantity must be a whole number"));
    assert_eq!(lines[3], "error: unterminated quote");
    assert_eq!(lines[4], "ok commands:");
}

/// Goal: a list longer than a page shows the first page with `more` at the
/// end of its count line, and the `more` command shows the rest; a list
/// that fits on a page prints as before. Method: a seller puts up one item
/// more than the default page (100) and lists them; a buyer searches.
#[test]
fn long_lists_show_a_page_and_more_shows_the_rest() {
    let cluster = Cluster::start(Options::default());
    let mut script = String::from("create-account s pw\nlogin s pw\n");
    for n in 1..=101 {
        script.push_str(&format!("put item{n} 3 new 1 1 lamp\n"));
    }
    script.push_str("list\nmore\nmore\nmore extra\n");
    let lines = cluster.run_client("seller-client", false, &script);
    let rest = &lines[2 + 101..];
    assert_eq!(rest[0], "ok 100 items more");
    assert!(rest[1].starts_with("  3-1 name=\"item1\""), "{}", rest[1]);
    assert!(rest[100].starts_with("  3-100 "), "{}", rest[100]);
    assert_eq!(rest[101], "ok 1 items");
    assert!(rest[102].starts_with("  3-101 "), "{}", rest[102]);
    assert!(
        rest[103].starts_with("error: nothing more to show"),
        "{}",
        rest[103]
    );
    assert_eq!(rest[104], "error: usage: more");
    assert_eq!(rest.len(), 105);

    let replies = json_lines(&cluster.run_client(
        "buyer-client",
        true,
        "create-account b pw\nlogin b pw\nsearch 3 lamp\nmore\nsearch 4\nmore\n",
    ));
    assert_eq!(replies[2]["items"].as_array().unwrap().len(), 100);
    assert!(replies[2]["next"].is_string(), "{}", replies[2]);
    assert_eq!(replies[3]["items"][0]["id"], "3-101");
    assert!(replies[3].get("next").is_none(), "{}", replies[3]);
    assert_eq!(replies[4]["items"].as_array().unwrap().len(), 0);
    assert!(replies[4].get("next").is_none(), "{}", replies[4]);
    assert_eq!(replies[5]["ok"], false, "{}", replies[5]);
}
