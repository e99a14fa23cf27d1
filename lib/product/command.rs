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
    PutItem { seller: SellerId, draft: ItemDraft },
    /// Change the price of one's own item. -> `Done`
    ChangePrice {
        seller: SellerId,
        item: ItemId,
        price: Price,
    },
    /// Take units of one's own item off sale. -> `Item` (as it is after)
    RemoveUnits {
        seller: SellerId,
        item: ItemId,
        quantity: u32,
    },
    /// One page of a seller's items that still have units for sale, by
    /// item id. -> `Items`
    ListSellerItems {
        seller: SellerId,
        /// A request without it (from a frontend older than paging) gets
        /// the first page of the default size.
        #[serde(default)]
        page: Page,
    },
    /// One page of the items in stock in a category, ranked by matching
    /// keywords. -> `Items`
    Search {
        category: Category,
        keywords: Vec<String>,
        /// As in `ListSellerItems`.
        #[serde(default)]
        page: Page,
    },
    /// One item. -> `Item`
    GetItem { item: ItemId },
    /// Buy every line at once, or none if any line lacks units. -> `Purchased`
    Purchase { lines: Vec<CartLine> },
    /// Count a buyer's thumb on an item (the customer DB has checked that
    /// the buyer bought it and gives feedback once). -> `Done`
    Feedback { item: ItemId, thumb: Thumb },
}

impl ProductCommand {
    /// True for commands that never change state: the replication layer may
    /// serve them without writing to the log (Raft's ReadIndex), and they are
    /// not kept in the request log.
    pub fn is_read_only(&self) -> bool {
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
    ItemPut { item: ItemId },
    /// Applied; nothing to return.
    Done,
    /// One item.
    Item(Item),
    /// One page of a list of items, and where the next page starts if
    /// more items follow (`None`: this page ends the list).
    Items {
        items: Vec<Item>,
        next: Option<PageCursor>,
    },
    /// What a purchase bought, line by line, at which price and from whom.
    Purchased(Vec<PurchasedLine>),
}

/// The state machine's answer to one request.
pub type ProductResult = Result<ProductOutcome, MarketError>;
