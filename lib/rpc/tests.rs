//! Every command and every outcome of both databases goes to its protobuf
//! message, through its bytes, and comes back as it went; so no command
//! lacks a wire form (`customer_command_wire.rs` converts by group).

use protobuf::Message;

use crate::customer::{CustomerCommand, CustomerOutcome, CustomerRequest, PurchaseRecord};
use crate::market::{
    CartLine, Condition, HistoryPage, Item, ItemDraft, ItemId, MarketError, Page, Price,
    PurchasedLine, Rating, RequestId, Role, SessionToken, Thumb,
};
use crate::pb::marketplace as pb;
use crate::product::{ProductCommand, ProductOutcome, ProductRequest};

use super::log_encoding;
use super::wire_command::{Answer, WireCommand};

fn item_id() -> ItemId {
    "4-17".parse().unwrap()
}

fn price() -> Price {
    Price::from_cents(1250).unwrap()
}

fn item() -> Item {
    Item {
        id: item_id(),
        name: "lamp".into(),
        keywords: vec!["light".into(), "desk".into()],
        condition: Condition::Used,
        price: price(),
        quantity: 3,
        seller: 9,
        rating: Rating { up: 2, down: 1 },
    }
}

fn purchased() -> Vec<PurchasedLine> {
    vec![PurchasedLine {
        item: item_id(),
        name: "lamp".into(),
        quantity: 2,
        price: price(),
        seller: 9,
    }]
}

fn cart() -> Vec<CartLine> {
    vec![CartLine {
        item: item_id(),
        quantity: 2,
    }]
}

fn session() -> SessionToken {
    SessionToken("0123456789abcdef0123456789abcdef".into())
}

fn purchase() -> RequestId {
    RequestId("purchase-1".into())
}

/// Sends `request` through its message's bytes and the log's, and checks
/// it comes back equal both ways.
fn round_trip<Q>(request: Q)
where
    Q: WireCommand + PartialEq + std::fmt::Debug + serde::de::DeserializeOwned,
{
    let bytes = request.to_wire().unwrap().write_to_bytes().unwrap();
    let wire = Q::Wire::parse_from_bytes(&bytes).unwrap();
    assert_eq!(Q::from_wire(wire).as_ref(), Ok(&request));
    let logged = log_encoding::encode(&request).unwrap();
    assert_eq!(log_encoding::decode::<Q>(&logged).as_ref(), Ok(&request));
}

fn outcome_round_trip<Q>(outcome: Q::Outcome)
where
    Q: WireCommand,
    Q::Outcome: PartialEq + std::fmt::Debug,
{
    let bytes = Q::outcome_to_wire(&outcome).write_to_bytes().unwrap();
    let reply = Q::Reply::parse_from_bytes(&bytes).unwrap();
    assert_eq!(Q::reply_from_wire(reply), Ok(Answer::Outcome(outcome)));
}

fn product_commands() -> Vec<ProductCommand> {
    let page = Page {
        limit: 7,
        after: Some("2:4-17".parse().unwrap()),
    };
    vec![
        ProductCommand::PutItem {
            seller: 9,
            draft: ItemDraft {
                name: "lamp".into(),
                category: item_id().category,
                keywords: vec!["light".into()],
                condition: Condition::New,
                price: price(),
                quantity: 5,
            },
        },
        ProductCommand::ChangePrice {
            seller: 9,
            item: item_id(),
            price: price(),
        },
        ProductCommand::RemoveUnits {
            seller: 9,
            item: item_id(),
            quantity: 1,
        },
        ProductCommand::ListSellerItems { seller: 9, page },
        ProductCommand::Search {
            category: item_id().category,
            keywords: vec!["light".into(), "desk".into()],
            page: Page::default(),
        },
        ProductCommand::GetItem { item: item_id() },
        ProductCommand::Purchase { lines: cart() },
        ProductCommand::Feedback {
            item: item_id(),
            thumb: Thumb::Down,
        },
    ]
}

#[test]
fn every_product_command_and_outcome_comes_back() {
    for command in product_commands() {
        round_trip(ProductRequest {
            request_id: RequestId("r-1".into()),
            command,
        });
    }
    for outcome in [
        ProductOutcome::ItemPut { item: item_id() },
        ProductOutcome::Done,
        ProductOutcome::Item(item()),
        ProductOutcome::Items {
            items: vec![item(), item()],
            next: Some("1:4-17".parse().unwrap()),
        },
        ProductOutcome::Items {
            items: vec![],
            next: None,
        },
        ProductOutcome::Purchased(purchased()),
    ] {
        outcome_round_trip::<ProductRequest>(outcome);
    }
}

fn customer_commands() -> Vec<CustomerCommand> {
    let (role, name, password) = (Role::Buyer, "ann".to_string(), "pw".to_string());
    vec![
        CustomerCommand::ClockReading,
        CustomerCommand::CreateAccount {
            role,
            name: name.clone(),
            password: password.clone(),
        },
        CustomerCommand::Login {
            role: Role::Seller,
            name,
            password,
            token: session(),
        },
        CustomerCommand::Logout {
            role,
            session: session(),
        },
        CustomerCommand::Touch {
            role,
            session: session(),
        },
        CustomerCommand::OwnRating { session: session() },
        CustomerCommand::SellerRating {
            session: session(),
            seller: 3,
        },
        CustomerCommand::CartAdd {
            session: session(),
            item: item_id(),
            quantity: 2,
            available: 8,
        },
        CustomerCommand::CartRemove {
            session: session(),
            item: item_id(),
            quantity: 1,
        },
        CustomerCommand::CartSave { session: session() },
        CustomerCommand::CartClear { session: session() },
        CustomerCommand::CartShow { session: session() },
        CustomerCommand::BeginPurchase {
            session: session(),
            purchase: purchase(),
        },
        CustomerCommand::CompletePurchase {
            buyer: 4,
            purchase: purchase(),
            lines: purchased(),
        },
        CustomerCommand::AbortPurchase {
            buyer: 4,
            purchase: purchase(),
        },
        CustomerCommand::Feedback {
            session: session(),
            item: item_id(),
            thumb: Thumb::Up,
        },
        CustomerCommand::History {
            session: session(),
            page: HistoryPage {
                limit: 5,
                after: 10,
            },
        },
    ]
}

#[test]
fn every_customer_command_and_outcome_comes_back() {
    for (read_by, command) in [None, Some(0), Some(4)]
        .into_iter()
        .cycle()
        .zip(customer_commands())
    {
        round_trip(CustomerRequest {
            request_id: RequestId("r-2".into()),
            now_ms: 1_700_000_000_000,
            read_by,
            command,
        });
    }
    let record = PurchaseRecord {
        purchase: purchase(),
        at_ms: 12,
        lines: purchased(),
    };
    for outcome in [
        CustomerOutcome::AccountCreated { id: 3 },
        CustomerOutcome::LoggedIn {
            session: session(),
            user: 3,
        },
        CustomerOutcome::Done,
        CustomerOutcome::Session { user: 3 },
        CustomerOutcome::Rating(Rating { up: 1, down: 2 }),
        CustomerOutcome::SellerStanding {
            rating: Rating { up: 1, down: 0 },
            items_sold: 7,
        },
        CustomerOutcome::Cart(cart()),
        CustomerOutcome::PurchaseStarted {
            buyer: 4,
            lines: cart(),
        },
        CustomerOutcome::Purchased(record.clone()),
        CustomerOutcome::FeedbackRecorded { seller: 9 },
        CustomerOutcome::History {
            purchases: vec![record],
            next: Some(1),
        },
        CustomerOutcome::History {
            purchases: vec![],
            next: None,
        },
    ] {
        outcome_round_trip::<CustomerRequest>(outcome);
    }
}

#[test]
fn the_largest_command_is_within_the_request_limit() {
    let line = PurchasedLine {
        item: item_id(),
        name: "\u{1F600}".repeat(crate::market::limits::NAME_CHARS_MAX),
        quantity: crate::market::limits::QUANTITY_MAX,
        price: Price::from_cents(crate::market::limits::PRICE_CENTS_MAX).unwrap(),
        seller: u64::MAX,
    };
    let request = CustomerRequest {
        request_id: RequestId("r".repeat(crate::market::limits::DATABASE_REQUEST_ID_CHARS_MAX)),
        now_ms: u64::MAX,
        read_by: Some(u16::MAX),
        command: CustomerCommand::CompletePurchase {
            buyer: u64::MAX,
            purchase: RequestId("p".repeat(crate::market::limits::REQUEST_ID_CHARS_MAX)),
            lines: vec![line; crate::market::limits::CART_LINES_MAX],
        },
    };
    let size = request.to_wire().unwrap().compute_size() as usize;
    assert!(size < super::REQUEST_BYTES_MAX, "{size}");
}

#[test]
fn a_message_that_breaks_the_vocabulary_is_refused_by_field() {
    let refused = |wire: pb::ProductRequest| match ProductRequest::from_wire(wire) {
        Err(MarketError::InvalidInput(why)) => why,
        other => panic!("accepted: {other:?}"),
    };
    let mut get = pb::ProductRequest_GetItem::new();
    let mut wire = pb::ProductRequest::new();
    wire.set_request_id("r-3".into());
    assert!(refused(wire.clone()).contains("no product-DB command"));
    wire.set_get_item(get.clone());
    assert!(refused(wire.clone()).contains("item is missing"));
    let mut id = pb::ItemId::new();
    id.set_category(10);
    get.set_item(id);
    wire.set_get_item(get);
    assert!(refused(wire.clone()).contains("category"));
    let mut feedback = pb::ProductRequest_Feedback::new();
    feedback.set_item(super::wire_vocabulary::item_id_to_wire(&item_id()));
    wire.set_feedback(feedback);
    assert!(refused(wire.clone()).contains("thumb"));
    wire.set_request_id(String::new());
    assert!(!refused(wire).is_empty());
}

/// What encoding and decoding one command costs, JSON (the log's encoding
/// before) against the log's protobuf, and their sizes; run with
/// `--ignored --nocapture` to see the figures.
#[test]
#[ignore]
fn log_encoding_against_json() {
    use std::hint::black_box;
    use std::time::Instant;
    let request = CustomerRequest {
        request_id: RequestId("c0-17-4fa3".into()),
        now_ms: 1_700_000_000_000,
        read_by: Some(2),
        command: customer_commands().swap_remove(7),
    };
    let rounds = 200_000;
    let started = Instant::now();
    for _ in 0..rounds {
        let bytes = serde_json::to_vec(black_box(&request)).unwrap();
        black_box(serde_json::from_slice::<CustomerRequest>(&bytes).unwrap());
    }
    let json = started.elapsed();
    let started = Instant::now();
    for _ in 0..rounds {
        let bytes = log_encoding::encode(black_box(&request)).unwrap();
        black_box(log_encoding::decode::<CustomerRequest>(&bytes).unwrap());
    }
    let protobuf = started.elapsed();
    let sizes = (
        serde_json::to_vec(&request).unwrap().len(),
        log_encoding::encode(&request).unwrap().len(),
    );
    eprintln!(
        "a cart add, encoded and decoded: JSON {:.2} us, {} bytes; protobuf {:.2} us, {} bytes",
        json.as_secs_f64() * 1e6 / f64::from(rounds),
        sizes.0,
        protobuf.as_secs_f64() * 1e6 / f64::from(rounds),
        sizes.1
    );
}
