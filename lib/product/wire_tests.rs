//! The product DB's requests and replies through their protobuf messages
//! (`wire.rs`) and through the log's encoding (`crate::contract`
//! `log_encoding.rs`): every command and outcome comes back as it went, a
//! message that breaks the vocabulary is refused by field, and the log
//! still replays what it held before protobuf.

use crate::contract::log_encoding::{decode, encode};
use crate::contract::round_trip::*;
use crate::contract::vocabulary::item_id_to_wire;
use crate::contract::WireCommand;
use crate::market::{Condition, ItemDraft, MarketError, Page, RequestId, Thumb};
use crate::pb::marketplace as pb;
use crate::wire::formats::COMMAND_LOG_ENCODING;

use super::{ProductCommand, ProductOutcome, ProductRequest};

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
    feedback.set_item(item_id_to_wire(&item_id()));
    wire.set_feedback(feedback);
    assert!(refused(wire.clone()).contains("thumb"));
    wire.set_request_id(String::new());
    assert!(!refused(wire).is_empty());
}

fn request() -> ProductRequest {
    ProductRequest {
        request_id: RequestId("r-1".into()),
        command: ProductCommand::GetItem {
            item: "3-7".parse().unwrap(),
        },
    }
}

#[test]
fn a_command_comes_back_as_it_went_and_smaller_than_json() {
    let bytes = encode(&request()).unwrap();
    assert_eq!(bytes[0], COMMAND_LOG_ENCODING.version);
    assert_eq!(decode::<ProductRequest>(&bytes), Ok(request()));
    let json = serde_json::to_vec(&request()).unwrap();
    assert!(
        bytes.len() * 3 < json.len(),
        "{} vs {}",
        bytes.len(),
        json.len()
    );
}

#[test]
fn an_old_json_log_entry_still_replays() {
    let json = serde_json::to_vec(&request()).unwrap();
    assert_eq!(decode::<ProductRequest>(&json), Ok(request()));
}

#[test]
fn an_unknown_version_is_refused_by_name() {
    let mut bytes = encode(&request()).unwrap();
    bytes[0] = 7;
    let refusal = decode::<ProductRequest>(&bytes).unwrap_err();
    assert!(refusal.contains("log encoding version 7"), "{refusal}");
    assert!(decode::<ProductRequest>(&[]).is_err());
}
