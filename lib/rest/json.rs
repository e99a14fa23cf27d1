//! How domain values look in JSON replies (docs/API.md shows them).

use serde_json::{json, Value};

use crate::customer::PurchaseRecord;
use crate::market::{CartLine, Item, PageCursor, PurchasedLine, Rating};

/// An item.
pub fn item(item: &Item) -> Value {
    json!({
        "id": item.id.to_string(),
        "name": item.name,
        "category": item.id.category.get(),
        "keywords": item.keywords,
        "condition": item.condition.to_string(),
        "price": item.price.to_string(),
        "quantity": item.quantity,
        "seller_id": item.seller,
        "feedback": rating(&item.rating),
    })
}

/// A list of items.
pub fn items(items: &[Item]) -> Value {
    Value::Array(items.iter().map(item).collect())
}

/// One page of a list: `{"items": [...]}`, plus `"next"` (the cursor of
/// the next page) only when more items follow, so a list shorter than a
/// page reads as it did before paging.
pub fn items_page(page: &[Item], next: Option<PageCursor>) -> Value {
    let mut reply = json!({ "items": items(page) });
    if let Some(cursor) = next {
        reply["next"] = cursor.to_string().into();
    }
    reply
}

/// Thumbs up and down.
pub fn rating(rating: &Rating) -> Value {
    json!({ "up": rating.up, "down": rating.down })
}

/// A cart's lines.
pub fn cart(lines: &[CartLine]) -> Value {
    Value::Array(
        lines
            .iter()
            .map(|line| json!({ "item_id": line.item.to_string(), "quantity": line.quantity }))
            .collect(),
    )
}

fn purchased_line(line: &PurchasedLine) -> Value {
    json!({
        "item_id": line.item.to_string(),
        "name": line.name,
        "quantity": line.quantity,
        "price": line.price.to_string(),
        "seller_id": line.seller,
    })
}

/// One purchase, with its total.
pub fn purchase(record: &PurchaseRecord) -> Value {
    let total_cents: u64 = record
        .lines
        .iter()
        .map(|l| l.price.cents() * u64::from(l.quantity))
        .sum();
    json!({
        "purchase_id": record.purchase.to_string(),
        "at_ms": record.at_ms,
        "lines": record.lines.iter().map(purchased_line).collect::<Vec<_>>(),
        "total": format!("{}.{:02}", total_cents / 100, total_cents % 100),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market::{limits, Category, Condition, ItemId, Price};
    use crate::product::ProductOutcome;

    /// Goal: `ITEM_JSON_BYTES_MAX` (which bounds a page of items against
    /// gRPC's message limit) holds for the largest item the rules allow.
    /// Method: every text field at its longest, in 4-byte characters (a
    /// quote, escaped in 2 bytes, is shorter), every number at its largest.
    #[test]
    fn the_largest_item_encodes_within_the_item_limit() {
        let widest = |chars: usize| "\u{1F600}".repeat(chars);
        let largest = Item {
            id: ItemId {
                category: Category::new(limits::CATEGORY_MAX.into()).expect("a category"),
                number: u64::MAX,
            },
            name: widest(limits::NAME_CHARS_MAX),
            keywords: vec![widest(limits::KEYWORD_CHARS_MAX); limits::KEYWORDS_MAX],
            condition: Condition::Used,
            price: Price::from_cents(limits::PRICE_CENTS_MAX).expect("a price"),
            quantity: limits::QUANTITY_MAX,
            seller: u64::MAX,
            rating: Rating {
                up: u64::MAX,
                down: u64::MAX,
            },
        };
        let rest = item(&largest).to_string().len();
        let database = serde_json::to_string(&largest).expect("encodes").len();
        assert!(rest <= limits::ITEM_JSON_BYTES_MAX, "REST: {rest} bytes");
        assert!(
            database <= limits::ITEM_JSON_BYTES_MAX,
            "database: {database} bytes"
        );
        // A full page, as the product DB sends it, within gRPC's limit.
        let page = ProductOutcome::Items {
            items: vec![largest; limits::PAGE_ITEMS_MAX],
            next: None,
        };
        let bytes = serde_json::to_vec(&Ok::<_, ()>(page))
            .expect("encodes")
            .len();
        assert!(bytes <= limits::GRPC_MESSAGE_BYTES_MAX, "{bytes} bytes");
    }

    /// Goal: `PURCHASE_JSON_BYTES_MAX` (which bounds a page of a history
    /// against gRPC's message limit) holds for the largest purchase: a full
    /// cart of lines with every text at its longest in 4-byte characters,
    /// every number at its largest, and the longest purchase id of quotes.
    #[test]
    fn the_largest_purchase_encodes_within_the_purchase_limit() {
        use crate::customer::{CustomerOutcome, PurchaseRecord};
        use crate::market::{PurchasedLine, RequestId};
        let line = PurchasedLine {
            item: ItemId {
                category: Category::new(limits::CATEGORY_MAX.into()).expect("a category"),
                number: u64::MAX,
            },
            name: "\u{1F600}".repeat(limits::NAME_CHARS_MAX),
            quantity: limits::QUANTITY_MAX,
            price: Price::from_cents(limits::PRICE_CENTS_MAX).expect("a price"),
            seller: u64::MAX,
        };
        let largest = PurchaseRecord {
            purchase: RequestId("\"".repeat(limits::DATABASE_REQUEST_ID_CHARS_MAX)),
            at_ms: u64::MAX,
            lines: vec![line; limits::CART_LINES_MAX],
        };
        let rest = purchase(&largest).to_string().len();
        let database = serde_json::to_string(&largest).expect("encodes").len();
        assert!(
            rest <= limits::PURCHASE_JSON_BYTES_MAX,
            "REST: {rest} bytes"
        );
        assert!(
            database <= limits::PURCHASE_JSON_BYTES_MAX,
            "database: {database} bytes"
        );
        // A full page, as the customer DB sends it, within gRPC's limit.
        let page = CustomerOutcome::History {
            purchases: vec![largest; limits::HISTORY_PAGE_PURCHASES_MAX],
            next: Some(usize::MAX),
        };
        let bytes = serde_json::to_vec(&Ok::<_, ()>(page))
            .expect("encodes")
            .len();
        assert!(bytes <= limits::GRPC_MESSAGE_BYTES_MAX, "{bytes} bytes");
    }
}
