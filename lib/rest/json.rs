//! How domain values look in JSON replies (docs/API.md shows them).

use serde_json::{json, Value};

use crate::customer::PurchaseRecord;
use crate::market::{CartLine, Item, PurchasedLine, Rating};

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
