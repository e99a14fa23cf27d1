//! What the product DB's state machine takes and returns. A `ProductRequest`
//! is exactly what the replication layer stores in its log and what the
//! gRPC `Execute` call carries (JSON-encoded).

use serde::{Deserialize, Serialize};

use crate::market::{
    CartLine, Category, Item, ItemDraft, ItemId, MarketError, Page, PageCursor, Price,
    PurchasedLine, RequestId, SellerId, Thumb,
};

/// A command with the id that makes it idempotent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductRequest {
    /// A retry with the same id gets the first result (writes only).
    pub request_id: RequestId,
    /// What to do.
    pub command: ProductCommand,
}

/// Every product-DB operation. Sellers are identified by id: the frontend
/// has already checked their session with the customer DB.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProductCommand {
    /// Put a new item up for sale. -> `ItemPut`
    PutItem {
        /// The seller the item is listed under (from their session).
        seller: SellerId,
        /// The item as the seller described it; every field is checked.
        draft: ItemDraft,
    },
    /// Change the price of one's own item. -> `Done`
    ChangePrice {
        /// The calling seller: the item must be theirs.
        seller: SellerId,
        /// The item to reprice.
        item: ItemId,
        /// The new price per unit, above zero and at most
        /// `PRICE_CENTS_MAX` cents.
        price: Price,
    },
    /// Take units of one's own item off sale. -> `Item` (as it is after)
    RemoveUnits {
        /// The calling seller: the item must be theirs.
        seller: SellerId,
        /// The item to take units of.
        item: ItemId,
        /// Units to take off sale, 1..=`QUANTITY_MAX` and at most what is
        /// left (stock never goes below zero).
        quantity: u32,
    },
    /// One page of a seller's items that still have units for sale, by
    /// item id. -> `Items`
    ListSellerItems {
        /// The calling seller, whose items to list.
        seller: SellerId,
        /// A request without it (from a frontend older than paging) gets
        /// the first page of the default size.
        #[serde(default)]
        page: Page,
    },
    /// One page of the items in stock in a category, ranked by matching
    /// keywords. -> `Items`
    Search {
        /// Only items of this category are listed.
        category: Category,
        /// Up to `KEYWORDS_MAX`, matched case-insensitively and exactly; an
        /// item is listed if it carries one. None: the whole category.
        keywords: Vec<String>,
        /// As in `ListSellerItems`.
        #[serde(default)]
        page: Page,
    },
    /// One item. -> `Item`
    GetItem {
        /// The item to return, sold out or not.
        item: ItemId,
    },
    /// Buy every line at once, or none if any line lacks units. -> `Purchased`
    Purchase {
        /// The held cart's lines: each item and the units to sell of it.
        lines: Vec<CartLine>,
    },
    /// Count a buyer's thumb on an item (the customer DB has checked that
    /// the buyer bought it and gives feedback once). -> `Done`
    Feedback {
        /// The item the buyer bought.
        item: ItemId,
        /// Counted on the item's rating.
        thumb: Thumb,
    },
}

impl ProductCommand {
    /// True for the queries: commands that never change state. The
    /// replication layer may serve them without writing to the log (Raft's
    /// ReadIndex and lease reads), and they are not kept in the request log.
    pub fn is_query(&self) -> bool {
        matches!(
            self,
            ProductCommand::ListSellerItems { .. }
                | ProductCommand::Search { .. }
                | ProductCommand::GetItem { .. }
        )
    }
}

/// A successful result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProductOutcome {
    /// The new item's id.
    ItemPut {
        /// The id the item got: its category and the next item number.
        item: ItemId,
    },
    /// Applied; nothing to return.
    Done,
    /// One item.
    Item(Item),
    /// One page of a list of items, and where the next page starts if
    /// more items follow (`None`: this page ends the list).
    Items {
        /// At most the page's `limit` items, in the list's order.
        items: Vec<Item>,
        /// The cursor to pass for the next page.
        next: Option<PageCursor>,
    },
    /// What a purchase bought, line by line, at which price and from whom.
    Purchased(Vec<PurchasedLine>),
}

/// The state machine's answer to one request.
pub type ProductResult = Result<ProductOutcome, MarketError>;
