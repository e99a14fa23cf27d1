//! What the tests of both databases' protobuf forms share
//! (`product/wire_tests.rs`, `customer/wire_tests.rs`): a sample of each
//! piece of the vocabulary, and the round trips a request and an outcome
//! make through their messages' bytes and the log's.

use protobuf::Message;

use crate::market::{
    CartLine, Condition, Item, ItemId, Price, PurchasedLine, Rating, RequestId, SessionToken,
};

use super::log_encoding;
use super::wire_command::{Answer, WireCommand};

pub(crate) fn item_id() -> ItemId {
    "4-17".parse().unwrap()
}

pub(crate) fn price() -> Price {
    Price::from_cents(1250).unwrap()
}

pub(crate) fn item() -> Item {
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

pub(crate) fn purchased() -> Vec<PurchasedLine> {
    vec![PurchasedLine {
        item: item_id(),
        name: "lamp".into(),
        quantity: 2,
        price: price(),
        seller: 9,
    }]
}

pub(crate) fn cart() -> Vec<CartLine> {
    vec![CartLine {
        item: item_id(),
        quantity: 2,
    }]
}

pub(crate) fn session() -> SessionToken {
    SessionToken("0123456789abcdef0123456789abcdef".into())
}

pub(crate) fn purchase() -> RequestId {
    RequestId("purchase-1".into())
}

/// Sends `request` through its message's bytes and the log's, and checks
/// it comes back equal both ways.
pub(crate) fn round_trip<Q>(request: Q)
where
    Q: WireCommand + PartialEq + std::fmt::Debug + serde::de::DeserializeOwned,
{
    let bytes = request.to_wire().unwrap().write_to_bytes().unwrap();
    let wire = Q::Wire::parse_from_bytes(&bytes).unwrap();
    assert_eq!(Q::from_wire(wire).as_ref(), Ok(&request));
    let logged = log_encoding::encode(&request).unwrap();
    assert_eq!(log_encoding::decode::<Q>(&logged).as_ref(), Ok(&request));
}

pub(crate) fn outcome_round_trip<Q>(outcome: Q::Outcome)
where
    Q: WireCommand,
    Q::Outcome: PartialEq + std::fmt::Debug,
{
    let bytes = Q::outcome_to_wire(&outcome).write_to_bytes().unwrap();
    let reply = Q::Reply::parse_from_bytes(&bytes).unwrap();
    assert_eq!(Q::reply_from_wire(reply), Ok(Answer::Outcome(outcome)));
}
