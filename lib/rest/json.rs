//! How domain values look in JSON replies (docs/API.md shows them).
//!
//! Items and purchases are written from typed views (`ItemView`,
//! `PurchaseView`) rather than built as `serde_json::Value` trees: a page
//! of 100 items as a tree is some 1,500 small allocations, which cost a
//! seller's list about half a millisecond of the frontend's CPU
//! (docs/EVALUATION.md, session 15). A view's fields are in alphabetical
//! order, the order in which `json!` (a sorted map) writes them, so both
//! ways give the same text.

use std::fmt::Display;

use serde::{Serialize, Serializer};
use serde_json::{json, Value};

use crate::customer::PurchaseRecord;
use crate::market::{CartLine, Item, PageCursor, PurchasedLine, Rating};

/// A reply's body: a JSON value, or the text of one written straight from
/// a typed view (pages of items and of purchases).
#[derive(Debug)]
pub enum JsonBody {
    /// A value built with `json!`.
    Value(Value),
    /// JSON text, already written.
    Text(String),
}

impl From<Value> for JsonBody {
    fn from(value: Value) -> Self {
        JsonBody::Value(value)
    }
}

impl JsonBody {
    /// The body as JSON text.
    pub fn into_text(self) -> String {
        match self {
            JsonBody::Value(value) => value.to_string(),
            JsonBody::Text(text) => text,
        }
    }
}

/// A value shown as its `Display` text (ids, prices, conditions, cursors).
struct Shown<'a, T>(&'a T);

impl<T: Display> Serialize for Shown<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self.0)
    }
}

/// Thumbs as a reply shows them.
#[derive(Serialize)]
struct RatingView {
    down: u64,
    up: u64,
}

impl RatingView {
    fn of(rating: &Rating) -> Self {
        RatingView {
            down: rating.down,
            up: rating.up,
        }
    }
}

/// An item as a reply shows it.
#[derive(Serialize)]
struct ItemView<'a> {
    category: u8,
    condition: Shown<'a, crate::market::Condition>,
    feedback: RatingView,
    id: Shown<'a, crate::market::ItemId>,
    keywords: &'a [String],
    name: &'a str,
    price: Shown<'a, crate::market::Price>,
    quantity: u32,
    seller_id: u64,
}

impl<'a> ItemView<'a> {
    fn of(item: &'a Item) -> Self {
        ItemView {
            category: item.id.category.get(),
            condition: Shown(&item.condition),
            feedback: RatingView::of(&item.rating),
            id: Shown(&item.id),
            keywords: &item.keywords,
            name: &item.name,
            price: Shown(&item.price),
            quantity: item.quantity,
            seller_id: item.seller,
        }
    }
}

/// One page of items as a reply shows it.
#[derive(Serialize)]
struct ItemsPageView<'a> {
    items: Vec<ItemView<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<Shown<'a, PageCursor>>,
}

/// A purchased line as a reply shows it.
#[derive(Serialize)]
struct PurchasedLineView<'a> {
    item_id: Shown<'a, crate::market::ItemId>,
    name: &'a str,
    price: Shown<'a, crate::market::Price>,
    quantity: u32,
    seller_id: u64,
}

/// A purchase as a reply shows it, with its total.
#[derive(Serialize)]
struct PurchaseView<'a> {
    at_ms: u64,
    lines: Vec<PurchasedLineView<'a>>,
    purchase_id: &'a str,
    total: String,
}

impl<'a> PurchaseView<'a> {
    fn of(record: &'a PurchaseRecord) -> Self {
        let total_cents: u64 = record
            .lines
            .iter()
            .map(|l| l.price.cents() * u64::from(l.quantity))
            .sum();
        let lines = record.lines.iter().map(PurchasedLineView::of).collect();
        PurchaseView {
            at_ms: record.at_ms,
            lines,
            purchase_id: &record.purchase.0,
            total: format!("{}.{:02}", total_cents / 100, total_cents % 100),
        }
    }
}

impl<'a> PurchasedLineView<'a> {
    fn of(line: &'a PurchasedLine) -> Self {
        PurchasedLineView {
            item_id: Shown(&line.item),
            name: &line.name,
            price: Shown(&line.price),
            quantity: line.quantity,
            seller_id: line.seller,
        }
    }
}

/// One page of a history as a reply shows it.
#[derive(Serialize)]
struct HistoryPageView<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<String>,
    purchases: Vec<PurchaseView<'a>>,
}

/// A view as a JSON value. Views hold only strings, numbers and lists of
/// them, and `Shown` writes through `Display`, which does not fail, so
/// the conversion cannot fail.
fn value_of(view: impl Serialize) -> Value {
    serde_json::to_value(view).expect("a view of strings and numbers converts")
}

/// A view as JSON text (cannot fail, as for `value_of`).
fn text_of(view: impl Serialize) -> JsonBody {
    JsonBody::Text(serde_json::to_string(&view).expect("a view of strings and numbers writes"))
}

/// An item.
pub fn item(item: &Item) -> Value {
    value_of(ItemView::of(item))
}

/// One page of a list: `{"items": [...]}`, plus `"next"` (the cursor of
/// the next page) only when more items follow, so a list shorter than a
/// page reads as it did before paging.
pub fn items_page(page: &[Item], next: Option<PageCursor>) -> JsonBody {
    text_of(ItemsPageView {
        items: page.iter().map(ItemView::of).collect(),
        next: next.as_ref().map(Shown),
    })
}

/// Thumbs up and down.
pub fn rating(rating: &Rating) -> Value {
    value_of(RatingView::of(rating))
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

/// One purchase, with its total.
pub fn purchase(record: &PurchaseRecord) -> Value {
    value_of(PurchaseView::of(record))
}

/// One page of a history: `{"purchases": [...]}`, plus `"next"` (where the
/// next page starts) only when more purchases follow.
pub fn history_page(purchases: &[PurchaseRecord], next: Option<usize>) -> JsonBody {
    text_of(HistoryPageView {
        next: next.map(|next| next.to_string()),
        purchases: purchases.iter().map(PurchaseView::of).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market::{limits, Category, Condition, ItemId, Price};
    use crate::product::ProductOutcome;

    fn sample_item(number: u64, name: &str) -> Item {
        Item {
            id: ItemId {
                category: Category::new(3).expect("a category"),
                number,
            },
            name: name.into(),
            keywords: vec!["lamp".into(), "blue".into()],
            condition: Condition::Used,
            price: Price::from_cents(1250).expect("a price"),
            quantity: 4,
            seller: 7,
            rating: Rating { up: 2, down: 1 },
        }
    }

    /// Goal: a page of items reads as docs/API.md shows it, keys in
    /// alphabetical order as before the typed views, texts escaped, the
    /// cursor only when a page follows.
    #[test]
    fn a_page_of_items_is_written_as_the_api_shows_it() {
        let items = [
            sample_item(1, "Blue lamp"),
            sample_item(2, "A \"quoted\" one"),
        ];
        let cursor = PageCursor {
            rank: 0,
            item: items[1].id,
        };
        let one = concat!(
            r#"{"category":3,"condition":"used","feedback":{"down":1,"up":2},"id":"3-1","#,
            r#""keywords":["lamp","blue"],"name":"Blue lamp","price":"12.50","quantity":4,"#,
            r#""seller_id":7}"#
        );
        let two = one
            .replace("3-1", "3-2")
            .replace("Blue lamp", r#"A \"quoted\" one"#);
        let paged = items_page(&items, Some(cursor)).into_text();
        assert_eq!(
            paged,
            format!(r#"{{"items":[{one},{two}],"next":"{cursor}"}}"#)
        );
        let last = items_page(&items[..1], None).into_text();
        assert_eq!(last, format!(r#"{{"items":[{one}]}}"#));
        assert_eq!(item(&items[0]).to_string(), one);
    }

    /// Goal: a page of a history reads as docs/API.md shows it (keys in
    /// alphabetical order, the total summed over the lines, `next` only
    /// when more follow).
    #[test]
    fn a_page_of_history_is_written_as_the_api_shows_it() {
        use crate::customer::PurchaseRecord;
        use crate::market::{PurchasedLine, RequestId};
        let line = |number, quantity| PurchasedLine {
            item: ItemId {
                category: Category::new(3).expect("a category"),
                number,
            },
            name: "Blue lamp".into(),
            quantity,
            price: Price::from_cents(1250).expect("a price"),
            seller: 7,
        };
        let record = PurchaseRecord {
            purchase: RequestId("r-1".into()),
            at_ms: 99,
            lines: vec![line(1, 2), line(2, 1)],
        };
        let one = concat!(
            r#"{"at_ms":99,"lines":[{"item_id":"3-1","name":"Blue lamp","price":"12.50","#,
            r#""quantity":2,"seller_id":7},{"item_id":"3-2","name":"Blue lamp","#,
            r#""price":"12.50","quantity":1,"seller_id":7}],"purchase_id":"r-1","#,
            r#""total":"37.50"}"#
        );
        let records = [record];
        let paged = history_page(&records, Some(5)).into_text();
        assert_eq!(paged, format!(r#"{{"next":"5","purchases":[{one}]}}"#));
        let last = history_page(&records, None).into_text();
        assert_eq!(last, format!(r#"{{"purchases":[{one}]}}"#));
        assert_eq!(purchase(&records[0]).to_string(), one);
    }

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
