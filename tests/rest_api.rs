//! The REST API's rules, called directly: sessions (missing, unknown,
//! wrong role, expired), ownership, stock races, a declined card, a
//! retried purchase, and input the frontends must refuse without harm.

mod support;

use serde_json::{json, Value};
use support::{Cluster, Options};

const SELLER: (&str, usize) = ("seller-server", 0);
const BUYER: (&str, usize) = ("buyer-server", 0);
const OTHER_BUYER: (&str, usize) = ("buyer-server", 1);

/// Creates an account and logs in; returns the session.
fn account(cluster: &Cluster, role: &str, name: &str) -> String {
    let frontend = if role == "seller" { SELLER } else { BUYER };
    let credentials = json!({"name": name, "password": "pw"});
    let (status, _) = cluster.http(
        frontend,
        "POST",
        &format!("/{role}/accounts"),
        None,
        None,
        Some(credentials.clone()),
    );
    assert_eq!(status, 201);
    let (status, body) = cluster.http(
        frontend,
        "POST",
        &format!("/{role}/login"),
        None,
        None,
        Some(credentials),
    );
    assert_eq!(status, 200, "{body}");
    body["session"].as_str().unwrap().to_string()
}

fn put_item(cluster: &Cluster, session: &str, quantity: u32) -> String {
    let item = json!({"name": "lamp", "category": 2, "condition": "new", "price": "2.50", "quantity": quantity, "keywords": ["lamp"]});
    let (status, body) = cluster.http(
        SELLER,
        "POST",
        "/seller/items",
        Some(session),
        None,
        Some(item),
    );
    assert_eq!(status, 201, "{body}");
    body["item_id"].as_str().unwrap().to_string()
}

fn add(cluster: &Cluster, session: &str, item: &str, quantity: u32) -> (u16, Value) {
    cluster.http(
        BUYER,
        "POST",
        "/buyer/cart/add",
        Some(session),
        None,
        Some(json!({"item_id": item, "quantity": quantity})),
    )
}

fn stock(cluster: &Cluster, buyer: &str, item: &str) -> u64 {
    let (status, body) = cluster.http(
        BUYER,
        "GET",
        &format!("/buyer/items/{item}"),
        Some(buyer),
        None,
        None,
    );
    assert_eq!(status, 200, "{body}");
    body["item"]["quantity"].as_u64().unwrap()
}

fn card() -> Value {
    json!({"card_holder": "B Buyer", "card_number": "4111 1111 1111 1111", "expiry": "12/99"})
}

#[test]
fn sessions_must_exist_belong_to_the_role_and_be_live() {
    let cluster = Cluster::start(Options::default());
    let seller = account(&cluster, "seller", "s");
    let (status, body) = cluster.http(BUYER, "GET", "/buyer/cart", None, None, None);
    assert_eq!(
        (status, body["error"]["kind"].as_str()),
        (401, Some("unauthenticated"))
    );
    let (status, _) = cluster.http(
        BUYER,
        "GET",
        "/buyer/cart",
        Some("0123456789abcdef"),
        None,
        None,
    );
    assert_eq!(status, 401);
    let (status, _) = cluster.http(BUYER, "GET", "/buyer/cart", Some(&seller), None, None);
    assert_eq!(status, 401, "a seller's session is not a buyer's");
    let (status, _) = cluster.http(SELLER, "GET", "/seller/items", Some(&seller), None, None);
    assert_eq!(status, 200);
}

/// A frontend that has checked a session before reads a seller's list
/// beside the check, for the seller it remembers (rest/session_owners.rs);
/// the check still decides every call: each seller sees their own items,
/// and once the session ends the list is refused, a bad page included.
#[test]
fn a_sellers_list_is_their_own_and_ends_with_their_session() {
    let cluster = Cluster::start(Options::default());
    let first = account(&cluster, "seller", "s1");
    let second = account(&cluster, "seller", "s2");
    let mine = put_item(&cluster, &first, 1);
    let theirs = put_item(&cluster, &second, 1);
    let list = |session: &str, path: &str| {
        let (status, body) = cluster.http(SELLER, "GET", path, Some(session), None, None);
        let ids: Vec<String> = body["items"]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .map(|i| i["id"].as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default();
        (status, ids, body)
    };
    for round in 0..3 {
        let (status, ids, body) = list(&first, "/seller/items");
        assert_eq!(
            (status, ids),
            (200, vec![mine.clone()]),
            "round {round}: {body}"
        );
        let (status, ids, body) = list(&second, "/seller/items");
        assert_eq!(
            (status, ids),
            (200, vec![theirs.clone()]),
            "round {round}: {body}"
        );
    }
    let (status, body) = cluster.http(SELLER, "POST", "/seller/logout", Some(&first), None, None);
    assert_eq!(status, 200, "{body}");
    for path in ["/seller/items", "/seller/items?limit=0"] {
        let (status, _, body) = list(&first, path);
        assert_eq!(status, 401, "{path} after logout: {body}");
    }
    let (status, ids, body) = list(&second, "/seller/items");
    assert_eq!((status, ids), (200, vec![theirs]), "{body}");
}

#[test]
fn without_a_live_session_the_session_error_comes_before_any_other() {
    // add-to-cart checks the session inside CartAdd, and get-item and search
    // check it beside their read: an unknown item, a bad body or a missing
    // category must still answer 401 to a caller without a live session.
    let cluster = Cluster::start(Options::default());
    let seller = account(&cluster, "seller", "s");
    let buyer = account(&cluster, "buyer", "b");
    let item = put_item(&cluster, &seller, 3);
    let unknown = "2-999999";
    for session in ["0123456789abcdef", seller.as_str()] {
        for (item_id, quantity) in [(unknown, 1), (item.as_str(), 1), (item.as_str(), 0)] {
            let (status, body) = add(&cluster, session, item_id, quantity);
            assert_eq!(status, 401, "add {item_id} x{quantity}: {body}");
        }
        let (status, body) = cluster.http(
            BUYER,
            "POST",
            "/buyer/cart/add",
            Some(session),
            None,
            Some(json!({"nonsense": true})),
        );
        assert_eq!(status, 401, "bad body: {body}");
        for path in [
            format!("/buyer/items/{unknown}"),
            format!("/buyer/items/{item}"),
            "/buyer/items".to_string(),
            "/buyer/items?category=2&keywords=lamp".to_string(),
        ] {
            let (status, body) = cluster.http(BUYER, "GET", &path, Some(session), None, None);
            assert_eq!(status, 401, "{path}: {body}");
        }
    }
    // With a live session the same calls give their own answers.
    assert_eq!(add(&cluster, &buyer, unknown, 1).0, 404);
    assert_eq!(add(&cluster, &buyer, &item, 1).0, 200);
    let path = format!("/buyer/items/{unknown}");
    assert_eq!(
        cluster
            .http(BUYER, "GET", &path, Some(&buyer), None, None)
            .0,
        404
    );
    let (status, body) = cluster.http(BUYER, "GET", "/buyer/items", Some(&buyer), None, None);
    assert_eq!(status, 400, "{body}");
    let path = "/buyer/items?category=2&keywords=lamp";
    let (status, body) = cluster.http(BUYER, "GET", path, Some(&buyer), None, None);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["items"].as_array().map(Vec::len), Some(1), "{body}");
}

#[test]
fn an_idle_session_expires_and_its_unsaved_cart_reverts() {
    let cluster = Cluster::start(Options {
        session_timeout_ms: 1_000,
        ..Options::default()
    });
    let seller = account(&cluster, "seller", "s");
    let item = put_item(&cluster, &seller, 5);
    let buyer = account(&cluster, "buyer", "b");
    assert_eq!(add(&cluster, &buyer, &item, 2).0, 200);
    // Waiting out the timeout is the behaviour under test, not a stand-in
    // for synchronisation.
    std::thread::sleep(std::time::Duration::from_millis(1_300));
    let (status, body) = cluster.http(BUYER, "GET", "/buyer/cart", Some(&buyer), None, None);
    assert_eq!(status, 401, "{body}");
    let (_, body) = cluster.http(
        BUYER,
        "POST",
        "/buyer/login",
        None,
        None,
        Some(json!({"name": "b", "password": "pw"})),
    );
    let again = body["session"].as_str().unwrap();
    let (status, body) = cluster.http(BUYER, "GET", "/buyer/cart", Some(again), None, None);
    assert_eq!(status, 200);
    assert_eq!(
        body["cart"],
        json!([]),
        "the unsaved cart went with the expired session"
    );
}

#[test]
fn only_an_items_seller_may_change_it() {
    let cluster = Cluster::start(Options::default());
    let owner = account(&cluster, "seller", "owner");
    let other = account(&cluster, "seller", "other");
    let item = put_item(&cluster, &owner, 3);
    let path = format!("/seller/items/{item}/price");
    let (status, body) = cluster.http(
        SELLER,
        "PUT",
        &path,
        Some(&other),
        None,
        Some(json!({"price": "1.00"})),
    );
    assert_eq!(
        (status, body["error"]["kind"].as_str()),
        (403, Some("forbidden"))
    );
    let path = format!("/seller/items/{item}/remove");
    let (status, _) = cluster.http(
        SELLER,
        "POST",
        &path,
        Some(&other),
        None,
        Some(json!({"quantity": 1})),
    );
    assert_eq!(status, 403);
    let (_, listing) = cluster.http(SELLER, "GET", "/seller/items", Some(&owner), None, None);
    assert_eq!(listing["items"][0]["price"], "2.50");
    assert_eq!(listing["items"][0]["quantity"], 3);
}

#[test]
fn the_last_units_go_to_one_buyer_and_the_other_purchase_changes_nothing() {
    let cluster = Cluster::start(Options::default());
    let seller = account(&cluster, "seller", "s");
    let item = put_item(&cluster, &seller, 3);
    let first = account(&cluster, "buyer", "first");
    let second = account(&cluster, "buyer", "second");
    assert_eq!(add(&cluster, &first, &item, 2).0, 200);
    assert_eq!(add(&cluster, &second, &item, 2).0, 200);
    let (status, _) = cluster.http(
        BUYER,
        "POST",
        "/buyer/purchase",
        Some(&first),
        None,
        Some(card()),
    );
    assert_eq!(status, 200);
    let (status, body) = cluster.http(
        BUYER,
        "POST",
        "/buyer/purchase",
        Some(&second),
        None,
        Some(card()),
    );
    assert_eq!(status, 409, "{body}");
    assert!(
        body["error"]["message"].as_str().unwrap().contains(&item),
        "the error names the item: {body}"
    );
    assert_eq!(stock(&cluster, &second, &item), 1);
    let (_, cart) = cluster.http(BUYER, "GET", "/buyer/cart", Some(&second), None, None);
    assert_eq!(
        cart["cart"][0]["quantity"], 2,
        "a failed purchase leaves the cart"
    );
    let (_, history) = cluster.http(BUYER, "GET", "/buyer/history", Some(&second), None, None);
    assert_eq!(history["purchases"], json!([]));
}

#[test]
fn a_declined_card_changes_nothing() {
    let cluster = Cluster::start(Options {
        approve_probability: 0.0,
        ..Options::default()
    });
    let seller = account(&cluster, "seller", "s");
    let item = put_item(&cluster, &seller, 3);
    let buyer = account(&cluster, "buyer", "b");
    assert_eq!(add(&cluster, &buyer, &item, 2).0, 200);
    let (status, body) = cluster.http(
        BUYER,
        "POST",
        "/buyer/purchase",
        Some(&buyer),
        None,
        Some(card()),
    );
    assert_eq!(
        (status, body["error"]["kind"].as_str()),
        (402, Some("card_declined")),
        "{body}"
    );
    assert_eq!(stock(&cluster, &buyer, &item), 3);
    let (_, cart) = cluster.http(BUYER, "GET", "/buyer/cart", Some(&buyer), None, None);
    assert_eq!(cart["cart"][0]["quantity"], 2);
    let (_, history) = cluster.http(BUYER, "GET", "/buyer/history", Some(&buyer), None, None);
    assert_eq!(history["purchases"], json!([]));
    let expired = json!({"card_holder": "B", "card_number": "4111111111111111", "expiry": "01/20"});
    let (status, _) = cluster.http(
        BUYER,
        "POST",
        "/buyer/purchase",
        Some(&buyer),
        None,
        Some(expired),
    );
    assert_eq!(status, 400, "an expired card is bad input, not a decline");
}

#[test]
fn a_purchase_retried_with_its_request_id_applies_once() {
    let cluster = Cluster::start(Options::default());
    let seller = account(&cluster, "seller", "s");
    let item = put_item(&cluster, &seller, 5);
    let buyer = account(&cluster, "buyer", "b");
    assert_eq!(add(&cluster, &buyer, &item, 2).0, 200);
    let id = Some("purchase-7f3a");
    let (status, first) = cluster.http(
        BUYER,
        "POST",
        "/buyer/purchase",
        Some(&buyer),
        id,
        Some(card()),
    );
    assert_eq!(status, 200, "{first}");
    // The retry goes to another frontend, as after a crash.
    let (status, retry) = cluster.http(
        OTHER_BUYER,
        "POST",
        "/buyer/purchase",
        Some(&buyer),
        id,
        Some(card()),
    );
    assert_eq!(status, 200, "{retry}");
    assert_eq!(first["purchase"], retry["purchase"]);
    assert_eq!(stock(&cluster, &buyer, &item), 3);
    let (_, history) = cluster.http(BUYER, "GET", "/buyer/history", Some(&buyer), None, None);
    assert_eq!(history["purchases"].as_array().unwrap().len(), 1);
    // Other writes are idempotent the same way.
    let put =
        json!({"name": "once", "category": 1, "condition": "used", "price": 1, "quantity": 1});
    let (_, a) = cluster.http(
        SELLER,
        "POST",
        "/seller/items",
        Some(&seller),
        Some("put-1"),
        Some(put.clone()),
    );
    let (_, b) = cluster.http(
        ("seller-server", 1),
        "POST",
        "/seller/items",
        Some(&seller),
        Some("put-1"),
        Some(put),
    );
    assert_eq!(a["item_id"], b["item_id"]);
    let (_, listing) = cluster.http(SELLER, "GET", "/seller/items", Some(&seller), None, None);
    assert_eq!(listing["items"].as_array().unwrap().len(), 2);
}

#[test]
fn malformed_requests_get_a_4xx_and_change_nothing() {
    let cluster = Cluster::start(Options::default());
    let seller = account(&cluster, "seller", "s");
    let address = cluster.address("seller-server", 0);
    let raw = |method: &str, path: &str, body: &str| -> (u16, Value) {
        let request =
            ureq::request(method, &format!("http://{address}{path}")).set("X-Session", &seller);
        match request.send_string(body) {
            Ok(response) => (
                response.status(),
                response.into_json().unwrap_or(Value::Null),
            ),
            Err(ureq::Error::Status(status, response)) => {
                (status, response.into_json().unwrap_or(Value::Null))
            }
            Err(error) => panic!("{error}"),
        }
    };
    assert_eq!(raw("POST", "/seller/items", "{not json").0, 400);
    assert_eq!(raw("POST", "/seller/items", r#"{"name": "x"}"#).0, 400);
    assert_eq!(
        raw(
            "POST",
            "/seller/items",
            r#"{"name":"x","category":1,"condition":"new","price":1.5,"quantity":1}"#
        )
        .0,
        400
    );
    assert_eq!(raw("POST", "/seller/items", &"x".repeat(100_000)).0, 413);
    assert_eq!(raw("GET", "/nowhere", "").0, 404);
    assert_eq!(raw("DELETE", "/seller/items", "").0, 405);
    assert_eq!(
        raw("PUT", "/seller/items/not-an-id/price", r#"{"price":"1"}"#).0,
        400
    );
    let (status, body) = raw("GET", "/seller/items", "");
    assert_eq!(status, 200);
    assert_eq!(
        body["items"],
        json!([]),
        "nothing was created by the bad requests"
    );
    let (status, _) = cluster.http(SELLER, "GET", "/health", None, None, None);
    assert_eq!(status, 200, "the frontend is still serving");
}

#[test]
fn a_request_id_returns_its_first_result_only_to_the_same_request() {
    // A client chooses its own X-Request-Id: reusing another caller's id
    // must not hand over that caller's result (here: alice's session
    // token, to someone who does not know her password).
    let cluster = Cluster::start(Options::default());
    let login = |password: &str| {
        cluster.http(
            BUYER,
            "POST",
            "/buyer/login",
            None,
            Some("shared-login-id"),
            Some(json!({"name": "alice", "password": password})),
        )
    };
    let (status, _) = cluster.http(
        BUYER,
        "POST",
        "/buyer/accounts",
        None,
        None,
        Some(json!({"name": "alice", "password": "secret"})),
    );
    assert_eq!(status, 201);
    let (status, first) = login("secret");
    assert_eq!(status, 200, "{first}");
    let token = first["session"].as_str().expect("a session").to_string();
    let (status, retry) = login("secret");
    assert_eq!(
        (status, &retry["session"]),
        (200, &first["session"]),
        "a retry"
    );
    let (status, stolen) = login("guess");
    assert_eq!(status, 409, "{stolen}");
    assert!(!stolen.to_string().contains(&token), "{stolen}");
}

#[test]
fn a_purchase_under_the_longest_request_id_completes() {
    // The purchase's last step goes to the customer DB under a longer id
    // derived from the client's; every id the API accepts must complete
    // (stock sold, receipt in the history, cart emptied).
    let cluster = Cluster::start(Options::default());
    let seller = account(&cluster, "seller", "s");
    let item = put_item(&cluster, &seller, 5);
    let buyer = account(&cluster, "buyer", "b");
    assert_eq!(add(&cluster, &buyer, &item, 2).0, 200);
    let id = "p".repeat(64);
    let (status, body) = cluster.http(
        BUYER,
        "POST",
        "/buyer/purchase",
        Some(&buyer),
        Some(&id),
        Some(card()),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(stock(&cluster, &buyer, &item), 3);
    let (_, history) = cluster.http(BUYER, "GET", "/buyer/history", Some(&buyer), None, None);
    assert_eq!(history["purchases"].as_array().unwrap().len(), 1);
    let (_, cart) = cluster.http(BUYER, "GET", "/buyer/cart", Some(&buyer), None, None);
    assert_eq!(cart["cart"].as_array().map(Vec::len), Some(0), "{cart}");
}

/// Goal: long lists come in pages (a `limit`, a `next` cursor passed back
/// as `after`), and a bad limit or cursor is a 400 that changes nothing.
/// Method: three items; a search and a seller's list read two at a time;
/// then every kind of bad page parameter, and the list read again whole.
#[test]
fn searches_and_lists_come_in_pages_and_bad_pages_are_refused() {
    let cluster = Cluster::start(Options::default());
    let seller = account(&cluster, "seller", "s");
    let buyer = account(&cluster, "buyer", "b");
    let items: Vec<String> = (0..3).map(|_| put_item(&cluster, &seller, 1)).collect();
    let get = |frontend, path: &str, session: &str| {
        let (status, body) = cluster.http(frontend, "GET", path, Some(session), None, None);
        (status, body)
    };
    let ids = |body: &Value| -> Vec<String> {
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|item| item["id"].as_str().unwrap().to_string())
            .collect()
    };
    for (frontend, path, session) in [
        (BUYER, "/buyer/items?category=2&keywords=lamp&", &buyer),
        (SELLER, "/seller/items?", &seller),
    ] {
        let (status, first) = get(frontend, &format!("{path}limit=2"), session);
        assert_eq!(status, 200, "{first}");
        assert_eq!(ids(&first), items[..2]);
        let next = first["next"].as_str().expect("a next page").to_string();
        let (status, second) = get(frontend, &format!("{path}limit=2&after={next}"), session);
        assert_eq!(status, 200, "{second}");
        assert_eq!(ids(&second), items[2..]);
        assert!(second.get("next").is_none(), "the last page: {second}");
        // The default page holds them all, and says nothing of paging.
        let (status, whole) = get(frontend, path, session);
        assert_eq!(status, 200, "{whole}");
        assert_eq!(ids(&whole), items);
        assert_eq!(whole.as_object().unwrap().len(), 1, "{whole}");
        let bad = [
            "limit=0",
            "limit=1001",
            "limit=-1",
            "limit=two",
            "after=",
            "after=nonsense",
            "after=2:2-1&limit=1",
            "after=7:2-1",
        ];
        for query in bad {
            let (status, body) = get(frontend, &format!("{path}{query}"), session);
            assert_eq!(status, 400, "{path}{query}: {body}");
            assert_eq!(body["error"]["kind"], "invalid_input", "{body}");
            let message = body["error"]["message"].as_str().unwrap();
            assert!(
                message.contains("limit") || message.contains("cursor"),
                "{query}: {message}"
            );
        }
        let (_, after) = get(frontend, path, session);
        assert_eq!(after, whole, "the bad pages changed nothing");
    }
}
