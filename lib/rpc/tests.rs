//! gRPC's own limit on a request: the largest command there is still
//! passes it.

use protobuf::Message;

use crate::contract::round_trip::item_id;
use crate::contract::WireCommand;
use crate::customer::{CustomerCommand, CustomerRequest};
use crate::market::{Price, PurchasedLine, RequestId};

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
