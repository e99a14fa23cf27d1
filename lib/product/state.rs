//! The product database's state: every item ever put up for sale, the
//! indexes that find the ones in stock (`index.rs`), and the request log
//! that makes writes exactly-once.
//! `ProductState::apply` is the only way in, and it is deterministic: no
//! clock, no randomness, and every collection it reads in order is ordered.
//!
//! Every check runs before the first change, so a request that fails changes
//! nothing (except that a failed write's answer is kept for its retries).

use crate::market::{json_string_bytes, request_id_reused, Replay};
use std::collections::BTreeSet;
use std::ops::Bound;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::command::{ProductCommand, ProductOutcome, ProductRequest, ProductResult};
use super::index::CatalogueIndex;
use super::search::{normalized, numbers_after, ranked_numbers};
use crate::market::{
    limits, validate_keywords, CartLine, Category, Item, ItemDraft, ItemId, MarketError, Page,
    PageCursor, Price, PurchasedLine, Rating, RequestId, RequestLog, SellerId, Thumb,
};

/// The product DB holds at most this many items. Items are never deleted, so
/// without a limit a seller could grow every replica's memory and snapshots
/// without end; at a few hundred bytes an item this is a few hundred MB.
pub const ITEMS_MAX: usize = 1_000_000;

/// Every item for sale, its stock, price and feedback, and the results of
/// recent writes. Replicas that apply the same requests in the same order
/// hold equal states and give equal answers.
///
/// A snapshot (its serde form) holds the items and the request log only;
/// the index is rebuilt from the items when a snapshot is restored
/// (`Deserialize` below). Why not store it: it is a function of the items,
/// so storing it would only add bytes to every snapshot written, fsynced
/// and sent to a lagging replica (each in-stock item sits in two to seven
/// of its sets), and a restored state could then hold an index that
/// disagrees with its items; rebuilding costs one pass over the items
/// (about a second at `ITEMS_MAX`), once per restore. Snapshot bytes stay
/// a function of the state: equal states give equal bytes.
#[derive(Clone, Debug, Default)]
pub struct ProductState {
    /// Every item ever put up for sale: item number n is at index n - 1.
    /// A sold-out item stays (it keeps its id and feedback, and can still be
    /// looked up), so numbers are never reused.
    items: Vec<Item>,
    /// The in-stock items by category, seller and keyword. Derived from
    /// `items`: every write that puts up an item or changes its units keeps
    /// it right (`put_item`, `remove_units`, `purchase`).
    index: CatalogueIndex,
    /// The first result of each recent write, by request id.
    requests: RequestLog<ProductResult>,
    /// What the items are charged (`item_bytes`): derived from `items`,
    /// like the index, and made again on a restore.
    items_bytes: u64,
}

/// What an item takes in a snapshot besides its name and keywords: the
/// keys and punctuation, the id, the condition, and every number at its
/// widest (stock and feedback change after listing, text never does).
const ITEM_FIXED_BYTES: u64 = 320;

/// What an item is charged: at least its size in a snapshot, whatever its
/// numbers become.
fn item_bytes(item: &Item) -> u64 {
    let keywords: u64 = item
        .keywords
        .iter()
        .map(|keyword| json_string_bytes(keyword) + 1)
        .sum();
    ITEM_FIXED_BYTES + json_string_bytes(&item.name) + keywords
}

/// What a snapshot of the product state holds, as written.
#[derive(Serialize)]
struct SnapshotRef<'a> {
    items: &'a [Item],
    requests: &'a RequestLog<ProductResult>,
}

/// What a snapshot of the product state holds, as read back. Fields of
/// older snapshots (they stored `numbers_by_category` and
/// `numbers_by_seller`) are ignored: the index is rebuilt.
#[derive(Deserialize)]
struct Snapshot {
    items: Vec<Item>,
    requests: RequestLog<ProductResult>,
}

impl Serialize for ProductState {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        SnapshotRef {
            items: &self.items,
            requests: &self.requests,
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for ProductState {
    /// Reads a snapshot back and rebuilds the index. Refuses items out of
    /// place (item n must be at index n - 1): every lookup relies on it.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let Snapshot { items, requests } = Snapshot::deserialize(deserializer)?;
        for (position, item) in items.iter().enumerate() {
            if item.id.number != position as u64 + 1 {
                return Err(serde::de::Error::custom(format!(
                    "item {} is stored at place {}, not {}",
                    item.id,
                    position + 1,
                    item.id.number
                )));
            }
        }
        let index = CatalogueIndex::build(&items);
        let items_bytes = items.iter().map(item_bytes).sum();
        Ok(ProductState {
            items,
            index,
            requests,
            items_bytes,
        })
    }
}

impl ProductState {
    /// An empty product DB: no items, no remembered requests.
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies one request and returns its result.
    ///
    /// Writes are exactly-once: a write whose request id is in the request
    /// log is not applied again but answered with its first result, errors
    /// included, so a retry always sees what the first attempt saw. Reads
    /// (`ProductCommand::is_query`) are answered from the current state
    /// and never recorded: they change nothing, and recording them would
    /// evict results that retries of writes still need.
    ///
    /// # Errors
    ///
    /// The command's own `MarketError` (see each command's rules), or
    /// `InvalidInput` for a write whose request id breaks the id limits.
    pub fn apply(&mut self, request: &ProductRequest) -> ProductResult {
        if let Some(result) = self.query(request) {
            return result;
        }
        // The id becomes a key of the request log, so one that breaks the
        // id limits is refused before anything is stored under it.
        RequestId::parse_for_database(&request.request_id.0)?;
        // Every field of a product command comes from the caller (purchase
        // lines from the customer DB's first answer), so a retry repeats
        // the whole command: it is the fingerprint.
        let fingerprint = serde_json::to_string(&request.command).unwrap_or_default();
        match self.requests.replay(&request.request_id, &fingerprint) {
            Replay::Repeat(first_result) => return first_result.clone(),
            Replay::Reused => return Err(request_id_reused(&request.request_id)),
            Replay::Fresh => {}
        }
        let result = self.execute(&request.command);
        let request_id = request.request_id.clone();
        self.requests
            .record(request_id, fingerprint, result.clone());
        result
    }

    /// Answers a query (`ProductCommand::is_query`) from the state;
    /// `None` for a write.
    pub fn query(&self, request: &ProductRequest) -> Option<ProductResult> {
        Some(match &request.command {
            ProductCommand::ListSellerItems { seller, page } => self.seller_items(*seller, page),
            ProductCommand::Search {
                category,
                keywords,
                page,
            } => self.search(*category, keywords, page),
            ProductCommand::GetItem { item } => self.item(*item).cloned().map(ProductOutcome::Item),
            _ => return None,
        })
    }

    /// Executes a write (`apply` has answered the queries).
    fn execute(&mut self, command: &ProductCommand) -> ProductResult {
        match command {
            ProductCommand::PutItem { seller, draft } => self.put_item(*seller, draft),
            ProductCommand::ChangePrice {
                seller,
                item,
                price,
            } => self.change_price(*seller, *item, *price),
            ProductCommand::RemoveUnits {
                seller,
                item,
                quantity,
            } => self.remove_units(*seller, *item, *quantity),
            ProductCommand::ListSellerItems { .. }
            | ProductCommand::Search { .. }
            | ProductCommand::GetItem { .. } => {
                unreachable!("apply answers the queries before executing")
            }
            ProductCommand::Purchase { lines } => self.purchase(lines),
            ProductCommand::Feedback { item, thumb } => self.feedback(*item, *thumb),
        }
    }

    /// Puts a new item up for sale under the next item number.
    fn put_item(&mut self, seller: SellerId, draft: &ItemDraft) -> ProductResult {
        draft.validate()?;
        check_category(draft.category)?;
        check_price(draft.price)?;
        if self.items.len() >= ITEMS_MAX {
            return Err(MarketError::Conflict(format!(
                "the product database is full: it holds at most {ITEMS_MAX} items"
            )));
        }
        // A usize always fits in a u64 on the platforms Rust supports.
        let number = self.items.len() as u64 + 1;
        let id = ItemId {
            category: draft.category,
            number,
        };
        let item = Item {
            id,
            name: draft.name.clone(),
            keywords: draft.keywords.clone(),
            condition: draft.condition,
            price: draft.price,
            quantity: draft.quantity,
            seller,
            rating: Rating::default(),
        };
        let bytes = item_bytes(&item);
        if self.items_bytes + bytes > limits::PRODUCT_STATE_BYTES_MAX {
            return Err(MarketError::Full(format!(
                "the product database is full ({} MiB of items): the item was not \
                 listed; nothing was changed",
                limits::PRODUCT_STATE_BYTES_MAX >> 20
            )));
        }
        self.items_bytes += bytes;
        self.index.add(&item);
        self.items.push(item);
        Ok(ProductOutcome::ItemPut { item: id })
    }

    /// Sets the price of one of `seller`'s items.
    fn change_price(&mut self, seller: SellerId, id: ItemId, price: Price) -> ProductResult {
        check_price(price)?;
        self.own_item_mut(seller, id)?.price = price;
        Ok(ProductOutcome::Done)
    }

    /// Takes `quantity` units of one of `seller`'s items off sale.
    fn remove_units(&mut self, seller: SellerId, id: ItemId, quantity: u32) -> ProductResult {
        check_quantity(quantity)?;
        let item = self.own_item_mut(seller, id)?;
        // Stock never goes below zero: taking more than there is fails.
        let units_before = item.quantity;
        let Some(left) = units_before.checked_sub(quantity) else {
            return Err(insufficient_stock(id, units_before, quantity));
        };
        item.quantity = left;
        let item = item.clone();
        self.index.units_changed(&item, units_before);
        Ok(ProductOutcome::Item(item))
    }

    /// One page of `seller`'s items with units for sale, by item id
    /// (category, then number: the order of `ItemId`).
    fn seller_items(&self, seller: SellerId, page: &Page) -> ProductResult {
        page.validate()?;
        let start = match page.after {
            None => Bound::Unbounded,
            Some(cursor) if cursor.rank == 0 => Bound::Excluded(cursor.item),
            Some(cursor) => return Err(foreign_cursor(cursor, "a seller's list")),
        };
        // One more than the page: whether another page follows.
        let positions: Vec<(usize, u64)> = self
            .index
            .of_seller(seller)
            .map(|ids| {
                ids.range((start, Bound::Unbounded))
                    .take(page.limit + 1)
                    .map(|id| (0, id.number))
                    .collect()
            })
            .unwrap_or_default();
        Ok(self.page_of(positions, page.limit))
    }

    /// One page of the in-stock items of `category` by the rule of
    /// `search.rs`: with keywords, only items carrying at least one of
    /// them, most matches first, ties by item id; without keywords, all of
    /// them by item id. Costs in proportion to the items it passes over in
    /// the index, never to the category's size.
    fn search(&self, category: Category, keywords: &[String], page: &Page) -> ProductResult {
        check_category(category)?;
        validate_keywords(keywords)?;
        page.validate()?;
        let wanted = normalized(keywords);
        let after = match page.after {
            None => None,
            Some(cursor) => Some(search_position(cursor, category, wanted.len())?),
        };
        // One more than the page: whether another page follows.
        let fetch = page.limit + 1;
        let positions = if wanted.is_empty() {
            let numbers = self.index.in_category(category);
            numbers_after(numbers, after.map(|(_, number)| number), fetch)
                .into_iter()
                .map(|number| (0, number))
                .collect()
        } else {
            let lists: Vec<&BTreeSet<u64>> = wanted
                .iter()
                .map(|keyword| self.index.with_keyword(category, keyword))
                .collect();
            ranked_numbers(&lists, after, fetch)
        };
        Ok(self.page_of(positions, page.limit))
    }

    /// The items at the first `limit` of `positions` ((rank, number) pairs,
    /// in list order, from the index), and the cursor of the next page if
    /// `positions` holds more.
    fn page_of(&self, positions: Vec<(usize, u64)>, limit: usize) -> ProductOutcome {
        let more = positions.len() > limit;
        let mut listed = Vec::with_capacity(positions.len().min(limit));
        let mut next = None;
        for (rank, number) in positions.into_iter().take(limit) {
            // The index holds only numbers of existing items.
            let item = &self.items[(number - 1) as usize];
            next = Some(PageCursor {
                rank,
                item: item.id,
            });
            listed.push(item.clone());
        }
        ProductOutcome::Items {
            items: listed,
            next: if more { next } else { None },
        }
    }

    /// Buys every line at once, or nothing if any line names an unknown item
    /// or asks for more units than are left.
    fn purchase(&mut self, lines: &[CartLine]) -> ProductResult {
        let lines = merge_cart_lines(lines)?;
        let positions = self.check_purchase(&lines)?;
        // Nothing has changed so far; from here on nothing can fail.
        let mut purchased = Vec::with_capacity(lines.len());
        for (line, position) in lines.iter().zip(positions) {
            let item = &mut self.items[position];
            let units_before = item.quantity;
            // `check_purchase` found at least `line.quantity` units.
            item.quantity -= line.quantity;
            self.index.units_changed(item, units_before);
            purchased.push(PurchasedLine {
                item: item.id,
                name: item.name.clone(),
                quantity: line.quantity,
                price: item.price,
                seller: item.seller,
            });
        }
        Ok(ProductOutcome::Purchased(purchased))
    }

    /// Where each line's item is, once every line is known to be buyable.
    /// An unknown item is reported before a lack of units, and either error
    /// names the first such item in line order.
    fn check_purchase(&self, lines: &[CartLine]) -> Result<Vec<usize>, MarketError> {
        let positions = lines
            .iter()
            .map(|line| self.position(line.item).ok_or_else(|| not_found(line.item)))
            .collect::<Result<Vec<usize>, MarketError>>()?;
        for (line, &position) in lines.iter().zip(&positions) {
            let available = self.items[position].quantity;
            if available < line.quantity {
                return Err(insufficient_stock(line.item, available, line.quantity));
            }
        }
        Ok(positions)
    }

    /// Counts a buyer's thumb on an item.
    fn feedback(&mut self, id: ItemId, thumb: Thumb) -> ProductResult {
        self.item_mut(id)?.rating.add(thumb);
        Ok(ProductOutcome::Done)
    }

    /// Where item `id` is in `items`, if it exists. The category must match
    /// too: "2-7" does not name item 7 when item 7 is in category 3.
    fn position(&self, id: ItemId) -> Option<usize> {
        let position = usize::try_from(id.number.checked_sub(1)?).ok()?;
        let item = self.items.get(position)?;
        (item.id == id).then_some(position)
    }

    /// Item `id`, even if sold out.
    fn item(&self, id: ItemId) -> Result<&Item, MarketError> {
        let position = self.position(id).ok_or_else(|| not_found(id))?;
        Ok(&self.items[position])
    }

    /// Item `id`, to change it.
    fn item_mut(&mut self, id: ItemId) -> Result<&mut Item, MarketError> {
        let position = self.position(id).ok_or_else(|| not_found(id))?;
        Ok(&mut self.items[position])
    }

    /// Item `id`, to change it on behalf of `seller`, who must be its seller.
    fn own_item_mut(&mut self, seller: SellerId, id: ItemId) -> Result<&mut Item, MarketError> {
        let item = self.item_mut(id)?;
        if item.seller != seller {
            return Err(MarketError::Forbidden(format!(
                "item {id} belongs to another seller"
            )));
        }
        Ok(item)
    }
}

/// Checks a purchase's lines and merges lines naming the same item into the
/// first of them, keeping line order: a cart may hold an item once, but
/// buying it twice in one purchase means buying the sum.
fn merge_cart_lines(lines: &[CartLine]) -> Result<Vec<CartLine>, MarketError> {
    if lines.is_empty() {
        return Err(MarketError::invalid("cart is empty"));
    }
    if lines.len() > limits::CART_LINES_MAX {
        return Err(MarketError::invalid(format!(
            "a purchase has at most {} lines, got {}",
            limits::CART_LINES_MAX,
            lines.len()
        )));
    }
    let mut merged: Vec<CartLine> = Vec::with_capacity(lines.len());
    for line in lines {
        check_quantity(line.quantity)?;
        match merged.iter_mut().find(|earlier| earlier.item == line.item) {
            // At most CART_LINES_MAX lines of at most QUANTITY_MAX units each
            // fit in a u32; saturating keeps that true if the limits grow.
            Some(earlier) => earlier.quantity = earlier.quantity.saturating_add(line.quantity),
            None => merged.push(line.clone()),
        }
    }
    Ok(merged)
}

/// Checks a number of units in one operation: 1..=`QUANTITY_MAX`.
fn check_quantity(quantity: u32) -> Result<(), MarketError> {
    if quantity == 0 || quantity > limits::QUANTITY_MAX {
        return Err(MarketError::invalid(format!(
            "quantity must be 1..={}, got {quantity}",
            limits::QUANTITY_MAX
        )));
    }
    Ok(())
}

/// Checks a category's range again: `Category` checks it when built with
/// `Category::new`, but a request decoded from the network is built by serde.
fn check_category(category: Category) -> Result<(), MarketError> {
    Category::new(i64::from(category.get())).map(|_| ())
}

/// Checks a price's range again, for the same reason as `check_category`.
fn check_price(price: Price) -> Result<(), MarketError> {
    Price::from_cents(price.cents()).map(|_| ())
}

/// Where a search's page starts, as a (rank, number) position, from a
/// cursor; refuses one that cannot come from this search: another
/// category, or a rank the search cannot give (1..=keywords with keywords,
/// 0 without).
fn search_position(
    cursor: PageCursor,
    category: Category,
    keywords: usize,
) -> Result<(usize, u64), MarketError> {
    let rank_fits = if keywords == 0 {
        cursor.rank == 0
    } else {
        (1..=keywords).contains(&cursor.rank)
    };
    if cursor.item.category != category || !rank_fits {
        return Err(foreign_cursor(cursor, "this search"));
    }
    Ok((cursor.rank, cursor.item.number))
}

/// The error for a well-formed cursor given to a list it cannot come from.
fn foreign_cursor(cursor: PageCursor, list: &str) -> MarketError {
    MarketError::invalid(format!(
        "cursor {:?} does not come from {list}: pass back the `next` of the previous page",
        cursor.to_string()
    ))
}

/// The error for an item id that names no item.
fn not_found(id: ItemId) -> MarketError {
    MarketError::NotFound(format!("item {id} not found"))
}

/// The error for asking more units of `id` than are `available`.
fn insufficient_stock(id: ItemId, available: u32, requested: u32) -> MarketError {
    MarketError::InsufficientStock {
        item: id.to_string(),
        available,
        requested,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    use serde_json::{json, Value};

    use super::*;
    use crate::market::Condition;

    use MarketError::{Conflict, Forbidden, InsufficientStock, InvalidInput, NotFound};
    use ProductCommand::{Feedback, GetItem, ListSellerItems, PutItem};
    use ProductOutcome::{Done, ItemPut, Items, Purchased};

    /// A state plus a counter for fresh request ids, so that a test reads as
    /// the list of commands it runs.
    #[derive(Default)]
    struct Market {
        state: ProductState,
        requests_sent: u64,
    }

    impl Market {
        /// Applies `command` under a request id never used before.
        fn run(&mut self, command: ProductCommand) -> ProductResult {
            self.requests_sent += 1;
            let id = format!("request-{}", self.requests_sent);
            self.state.apply(&request(&id, command))
        }

        /// Puts `draft` up for sale and returns the new item's id.
        fn put_draft(&mut self, seller: SellerId, draft: ItemDraft) -> ItemId {
            match self.run(PutItem { seller, draft }) {
                Ok(ItemPut { item }) => item,
                other => panic!("putting an item failed: {other:?}"),
            }
        }

        /// Puts an item up for sale and returns its id.
        fn put(&mut self, seller: SellerId, category: u8, keywords: &[&str], units: u32) -> ItemId {
            self.put_draft(seller, draft(category, keywords, units))
        }

        /// Item `id` as the state shows it now.
        fn get(&mut self, id: ItemId) -> Item {
            match self.run(GetItem { item: id }) {
                Ok(ProductOutcome::Item(item)) => item,
                other => panic!("getting item {id} failed: {other:?}"),
            }
        }

        /// Sells `units` units of `id` in a purchase that must succeed.
        fn sell(&mut self, id: ItemId, units: u32) {
            let result = self.run(purchase(&[(id, units)]));
            assert!(
                matches!(result, Ok(Purchased(_))),
                "buying {id}: {result:?}"
            );
        }

        /// The whole state but the request log: the items (as JSON) and
        /// the index, what a failed request must leave unchanged (its
        /// answer is recorded in the log).
        fn items_and_indexes(&self) -> (Value, CatalogueIndex) {
            let mut state = serde_json::to_value(&self.state).expect("the state serializes");
            let fields = state.as_object_mut().expect("the state is a JSON object");
            fields
                .remove("requests")
                .expect("the state has a request log");
            (state, self.state.index.clone())
        }
    }

    fn request(id: &str, command: ProductCommand) -> ProductRequest {
        let request_id = RequestId(id.to_string());
        ProductRequest {
            request_id,
            command,
        }
    }

    fn draft(category: u8, keywords: &[&str], quantity: u32) -> ItemDraft {
        ItemDraft {
            name: "desk lamp".to_string(),
            category: category_number(category),
            keywords: words(keywords),
            condition: Condition::Used,
            price: cents(1999),
            quantity,
        }
    }

    fn words(words: &[&str]) -> Vec<String> {
        words.iter().map(|word| word.to_string()).collect()
    }

    fn category_number(category: u8) -> Category {
        Category::new(category.into()).expect("a valid category")
    }

    fn cents(cents: u64) -> Price {
        Price::from_cents(cents).expect("a valid price")
    }

    /// A price as a request decoded from the network may carry it: unchecked.
    /// A price as it would arrive from the network, if it decodes at all.
    fn decoded_price(cents: u64) -> Option<Price> {
        serde_json::from_value(json!(cents)).ok()
    }

    fn item_id(category: u8, number: u64) -> ItemId {
        ItemId {
            category: category_number(category),
            number,
        }
    }

    fn put_item(seller: SellerId, draft: ItemDraft) -> ProductCommand {
        PutItem { seller, draft }
    }

    fn get_item(item: ItemId) -> ProductCommand {
        GetItem { item }
    }

    fn feedback(item: ItemId, thumb: Thumb) -> ProductCommand {
        Feedback { item, thumb }
    }

    fn change_price(seller: SellerId, item: ItemId, price: Price) -> ProductCommand {
        ProductCommand::ChangePrice {
            seller,
            item,
            price,
        }
    }

    fn remove_units(seller: SellerId, item: ItemId, quantity: u32) -> ProductCommand {
        ProductCommand::RemoveUnits {
            seller,
            item,
            quantity,
        }
    }

    fn search(category: u8, keywords: &[&str]) -> ProductCommand {
        search_page(category, keywords, Page::default())
    }

    fn search_page(category: u8, keywords: &[&str], page: Page) -> ProductCommand {
        ProductCommand::Search {
            category: category_number(category),
            keywords: words(keywords),
            page,
        }
    }

    /// The first page of a seller's list, of the default size.
    fn list(seller: SellerId) -> ProductCommand {
        ListSellerItems {
            seller,
            page: Page::default(),
        }
    }

    fn page(limit: usize, after: Option<PageCursor>) -> Page {
        Page { limit, after }
    }

    fn purchase(lines: &[(ItemId, u32)]) -> ProductCommand {
        let lines = lines
            .iter()
            .map(|&(item, quantity)| CartLine { item, quantity })
            .collect();
        ProductCommand::Purchase { lines }
    }

    /// The ids of a list of items, as text ("2-7").
    fn listed(result: ProductResult) -> Vec<String> {
        match result {
            Ok(Items { items, .. }) => items.iter().map(|item| item.id.to_string()).collect(),
            other => panic!("expected a list of items, got {other:?}"),
        }
    }

    fn not_found(item: &str) -> ProductResult {
        Err(NotFound(format!("item {item} not found")))
    }

    fn forbidden(item: &str) -> ProductResult {
        Err(Forbidden(format!("item {item} belongs to another seller")))
    }

    fn lacking(item: &str, available: u32, requested: u32) -> ProductResult {
        Err(InsufficientStock {
            item: item.to_string(),
            available,
            requested,
        })
    }

    /// What putting item `<category>-<number>` answers.
    fn item_put(category: u8, number: u64) -> ProductResult {
        Ok(ItemPut {
            item: item_id(category, number),
        })
    }

    fn is_invalid_input(result: &ProductResult) -> bool {
        matches!(result, Err(InvalidInput(_)))
    }

    #[test]
    fn put_item_numbers_items_from_one_across_categories() {
        let mut market = Market::default();
        let lamp = market.put(1, 3, &["lamp"], 5);
        let chair = market.put(2, 0, &[], 1);
        let desk = market.put(1, 3, &[], 1);
        let ids = [lamp, chair, desk].map(|id| id.to_string());
        assert_eq!(ids, ["3-1", "0-2", "3-3"]);
        let expected = Item {
            id: lamp,
            name: "desk lamp".to_string(),
            keywords: words(&["lamp"]),
            condition: Condition::Used,
            price: cents(1999),
            quantity: 5,
            seller: 1,
            rating: Rating::default(),
        };
        assert_eq!(market.get(lamp), expected);
    }

    #[test]
    fn put_item_rejects_a_draft_breaking_a_limit_and_uses_no_number() {
        let good = draft(1, &["lamp"], 1);
        let mut bad_drafts = Vec::new();
        for name in ["", "   ", &"n".repeat(33), "tab\there"] {
            bad_drafts.push(ItemDraft {
                name: name.to_string(),
                ..good.clone()
            });
        }
        let too_many = ["a", "b", "c", "d", "e", "f"];
        for keywords in [&too_many[..], &[""], &["ninechars"], &["a b"]] {
            bad_drafts.push(ItemDraft {
                keywords: words(keywords),
                ..good.clone()
            });
        }
        for quantity in [0, limits::QUANTITY_MAX + 1, u32::MAX] {
            bad_drafts.push(ItemDraft {
                quantity,
                ..good.clone()
            });
        }
        // Prices out of range cannot even be decoded from the network.
        for price in [0, limits::PRICE_CENTS_MAX + 1, u64::MAX] {
            assert!(decoded_price(price).is_none(), "{price} cents decoded");
        }
        // A category out of range cannot even be decoded from the network.
        assert!(serde_json::from_value::<Category>(json!(10)).is_err());

        let mut market = Market::default();
        for draft in bad_drafts {
            let result = market.run(put_item(1, draft.clone()));
            assert!(is_invalid_input(&result), "{draft:?} gave {result:?}");
        }
        assert!(market.state.items.is_empty());
        assert_eq!(market.put_draft(1, good), item_id(1, 1));
    }

    /// An item's charge bounds its encoding with its text at its widest
    /// (4-byte characters, quotes escaped) and every number at its widest,
    /// whatever its stock and feedback become after it was listed.
    #[test]
    fn an_items_charge_bounds_its_encoding_at_its_widest() {
        let widest = |count: usize| -> String {
            std::iter::once('"')
                .chain(std::iter::repeat('𝄞'))
                .take(count)
                .collect()
        };
        let item = Item {
            id: ItemId {
                category: category_number(limits::CATEGORY_MAX),
                number: u64::MAX,
            },
            name: widest(limits::NAME_CHARS_MAX),
            keywords: vec![widest(limits::KEYWORD_CHARS_MAX); limits::KEYWORDS_MAX],
            condition: Condition::Used,
            price: cents(1),
            quantity: 1,
            seller: u64::MAX,
            rating: Rating::default(),
        };
        let charged = item_bytes(&item);
        let widened = Item {
            price: cents(limits::PRICE_CENTS_MAX),
            quantity: u32::MAX,
            rating: Rating {
                up: u64::MAX,
                down: u64::MAX,
            },
            ..item
        };
        // The comma between two items of the list.
        let encoded = serde_json::to_vec(&widened).unwrap().len() as u64 + 1;
        assert!(encoded <= charged, "{encoded} > {charged}");
    }

    /// A product DB whose items take `PRODUCT_STATE_BYTES_MAX` refuses a
    /// new one with `Full`, changing nothing, and keeps serving the rest.
    #[test]
    fn put_item_refuses_once_the_items_take_product_state_bytes_max() {
        let mut market = Market::default();
        let first = market.put(1, 0, &[], 1);
        let charged = market.state.items_bytes;
        market.state.items_bytes = limits::PRODUCT_STATE_BYTES_MAX - charged + 1;
        let result = market.run(put_item(1, draft(0, &[], 1)));
        assert!(
            matches!(result, Err(MarketError::Full(_))),
            "got {result:?}"
        );
        assert_eq!(market.state.items.len(), 1);
        assert_eq!(market.get(first).quantity, 1);
        let restored: ProductState =
            serde_json::from_slice(&serde_json::to_vec(&market.state).unwrap()).unwrap();
        assert_eq!(
            restored.items_bytes, charged,
            "a restored state counts afresh"
        );
    }

    #[test]
    fn put_item_refuses_once_the_database_holds_items_max() {
        let mut market = Market::default();
        let first = market.put(1, 0, &[], 1);
        let item = market.get(first);
        // Cheaper than ITEMS_MAX requests; only the count matters here.
        market.state.items = vec![item; ITEMS_MAX];
        let result = market.run(put_item(1, draft(0, &[], 1)));
        assert!(matches!(result, Err(Conflict(_))), "got {result:?}");
        assert_eq!(market.state.items.len(), ITEMS_MAX);
    }

    #[test]
    fn change_price_is_for_the_items_seller_only() {
        let mut market = Market::default();
        let lamp = market.put(1, 2, &[], 3);
        assert_eq!(market.run(change_price(1, lamp, cents(500))), Ok(Done));
        assert_eq!(market.get(lamp).price, cents(500));
        assert_eq!(
            market.run(change_price(2, lamp, cents(1))),
            forbidden("2-1")
        );
        assert_eq!(market.get(lamp).price, cents(500));
    }

    #[test]
    fn change_price_of_an_unknown_item_is_not_found() {
        let mut market = Market::default();
        market.put(1, 2, &[], 3);
        assert_eq!(
            market.run(change_price(1, item_id(3, 7), cents(1))),
            not_found("3-7")
        );
        // The right number in the wrong category names no item either.
        assert_eq!(
            market.run(change_price(1, item_id(3, 1), cents(1))),
            not_found("3-1")
        );
    }

    #[test]
    fn change_price_rejects_a_price_out_of_range() {
        let mut market = Market::default();
        let lamp = market.put(1, 2, &[], 3);
        for price in [0, limits::PRICE_CENTS_MAX + 1, u64::MAX] {
            assert!(decoded_price(price).is_none(), "{price} cents decoded");
        }
        let result = market.run(change_price(1, lamp, cents(5)));
        assert_eq!(result, Ok(Done));
        let result = market.run(change_price(1, lamp, cents(1999)));
        assert_eq!(result, Ok(Done));
        assert_eq!(market.get(lamp).price, cents(1999));
    }

    #[test]
    fn remove_units_returns_the_item_as_it_is_afterwards() {
        let mut market = Market::default();
        let lamp = market.put(1, 4, &[], 5);
        let Ok(ProductOutcome::Item(after)) = market.run(remove_units(1, lamp, 2)) else {
            panic!("removing units failed");
        };
        assert_eq!(after.quantity, 3);
        assert_eq!(after, market.get(lamp));
        assert!(market.run(remove_units(1, lamp, 3)).is_ok());
        // A sold-out item is still there, with no units.
        assert_eq!(market.get(lamp).quantity, 0);
    }

    #[test]
    fn remove_units_never_takes_stock_below_zero() {
        let mut market = Market::default();
        let lamp = market.put(1, 4, &[], 5);
        assert_eq!(market.run(remove_units(1, lamp, 6)), lacking("4-1", 5, 6));
        assert_eq!(market.get(lamp).quantity, 5);
        assert!(market.run(remove_units(1, lamp, 5)).is_ok());
        assert_eq!(market.run(remove_units(1, lamp, 1)), lacking("4-1", 0, 1));
        assert_eq!(market.get(lamp).quantity, 0);
    }

    #[test]
    fn remove_units_rejects_a_quantity_out_of_range() {
        let mut market = Market::default();
        let lamp = market.put(1, 4, &[], 5);
        for quantity in [0, limits::QUANTITY_MAX + 1, u32::MAX] {
            let result = market.run(remove_units(1, lamp, quantity));
            assert!(
                is_invalid_input(&result),
                "{quantity} units gave {result:?}"
            );
        }
        assert_eq!(market.get(lamp).quantity, 5);
    }

    #[test]
    fn remove_units_checks_the_item_and_its_seller() {
        let mut market = Market::default();
        let lamp = market.put(1, 4, &[], 5);
        assert_eq!(
            market.run(remove_units(1, item_id(4, 2), 1)),
            not_found("4-2")
        );
        assert_eq!(market.run(remove_units(2, lamp, 1)), forbidden("4-1"));
        assert_eq!(market.get(lamp).quantity, 5);
    }

    #[test]
    fn list_seller_items_shows_own_items_in_stock_by_item_id() {
        // Numbers are handed out in another order than item ids sort in
        // (category first), so listing in the order put would fail.
        let mut market = Market::default();
        market.put(1, 5, &[], 1); // 5-1
        market.put(2, 1, &[], 1); // 1-2, another seller's
        market.put(1, 1, &[], 2); // 1-3
        let sold_out = market.put(1, 0, &[], 1); // 0-4
        market.sell(sold_out, 1);
        assert_eq!(listed(market.run(list(1))), ["1-3", "5-1"]);
        assert_eq!(listed(market.run(list(2))), ["1-2"]);
        assert!(listed(market.run(list(3))).is_empty());
    }

    #[test]
    fn search_without_keywords_lists_the_category_in_stock_by_item_id() {
        let mut market = Market::default();
        market.put(1, 2, &["red"], 1); // 2-1
        market.put(1, 3, &[], 1); // 3-2, another category
        market.put(2, 2, &[], 1); // 2-3
        let sold_out = market.put(1, 2, &[], 1); // 2-4
        market.sell(sold_out, 1);
        assert_eq!(listed(market.run(search(2, &[]))), ["2-1", "2-3"]);
    }

    #[test]
    fn search_ranks_by_matching_keywords_then_item_id() {
        let mut market = Market::default();
        market.put(1, 6, &["desk"], 1); // 6-1: one match
        market.put(2, 6, &["Lamp", "desk"], 1); // 6-2: two
        market.put(1, 6, &["chair"], 1); // 6-3: none, left out
        market.put(1, 6, &["lamp"], 1); // 6-4: one
        let sold_out = market.put(1, 6, &["lamp", "desk"], 1); // 6-5: two, sold out
        market.sell(sold_out, 1);
        market.put(1, 7, &["lamp", "desk"], 1); // 7-6: two, another category
        market.put(3, 6, &["LAMP", "oak", "desk"], 1); // 6-7: two
        let ranked = listed(market.run(search(6, &["lamp", "DESK", "lamp"])));
        assert_eq!(ranked, ["6-2", "6-7", "6-1", "6-4"]);
    }

    #[test]
    fn search_rejects_bad_keywords_and_categories() {
        let mut market = Market::default();
        market.put(1, 6, &["lamp"], 1);
        let huge = vec!["lamp"; 100_000];
        let bad_lists = [
            &["a", "b", "c", "d", "e", "f"][..],
            &huge,
            &[""],
            &["ninechars"],
            &["a b"],
        ];
        for keywords in bad_lists {
            let result = market.run(search(6, keywords));
            assert!(
                is_invalid_input(&result),
                "{} keywords gave {result:?}",
                keywords.len()
            );
        }
        assert!(serde_json::from_value::<Category>(json!(200)).is_err());
    }

    #[test]
    fn get_item_shows_sold_out_items_and_not_unknown_ones() {
        let mut market = Market::default();
        let lamp = market.put(1, 0, &[], 1);
        market.sell(lamp, 1);
        assert_eq!(market.get(lamp).quantity, 0);
        for (category, number) in [(0, 0), (0, 2), (1, 1), (9, u64::MAX)] {
            let result = market.run(get_item(item_id(category, number)));
            assert_eq!(result, not_found(&format!("{category}-{number}")));
        }
    }

    #[test]
    fn purchase_buys_every_line_at_the_price_of_the_moment() {
        let mut market = Market::default();
        let lamp = market.put_draft(
            1,
            ItemDraft {
                name: "lamp".into(),
                ..draft(2, &[], 5)
            },
        );
        let chair = market.put_draft(
            2,
            ItemDraft {
                name: "chair".into(),
                ..draft(3, &[], 2)
            },
        );
        assert_eq!(market.run(change_price(1, lamp, cents(250))), Ok(Done));
        let bought = market.run(purchase(&[(chair, 2), (lamp, 3)]));
        let sold = |item, name: &str, quantity, price, seller| PurchasedLine {
            item,
            name: name.to_string(),
            quantity,
            price: cents(price),
            seller,
        };
        let expected = vec![
            sold(chair, "chair", 2, 1999, 2),
            sold(lamp, "lamp", 3, 250, 1),
        ];
        assert_eq!(bought, Ok(Purchased(expected)));
        assert_eq!(market.get(chair).quantity, 0);
        assert_eq!(market.get(lamp).quantity, 2);
    }

    #[test]
    fn purchase_merges_lines_naming_the_same_item() {
        let mut market = Market::default();
        let lamp = market.put(1, 2, &[], 5);
        let chair = market.put(1, 3, &[], 1);
        let Ok(Purchased(bought)) = market.run(purchase(&[(lamp, 2), (chair, 1), (lamp, 2)]))
        else {
            panic!("the purchase failed");
        };
        let lines: Vec<(ItemId, u32)> = bought.iter().map(|l| (l.item, l.quantity)).collect();
        assert_eq!(lines, [(lamp, 4), (chair, 1)]);
        assert_eq!(market.get(lamp).quantity, 1);
        // Two lines of one unit each ask for two of the one unit left.
        assert_eq!(
            market.run(purchase(&[(lamp, 1), (lamp, 1)])),
            lacking("2-1", 1, 2)
        );
    }

    #[test]
    fn a_failing_purchase_changes_nothing() {
        let mut market = Market::default();
        let lamp = market.put(1, 2, &[], 5);
        let desk = market.put(1, 3, &[], 2);
        let chair = market.put(2, 4, &[], 1);
        let unknown = item_id(9, 99);
        let cases = [
            // The first line lacking units, in line order, is named.
            (
                purchase(&[(lamp, 1), (desk, 3), (chair, 2)]),
                lacking("3-2", 2, 3),
            ),
            (purchase(&[(lamp, 1), (unknown, 1)]), not_found("9-99")),
            // An unknown item is reported before a lack of units.
            (purchase(&[(desk, 3), (unknown, 1)]), not_found("9-99")),
            (
                purchase(&[]),
                Err(InvalidInput("cart is empty".to_string())),
            ),
        ];
        let before = market.items_and_indexes();
        for (command, expected) in cases {
            assert_eq!(market.run(command), expected);
            assert_eq!(market.items_and_indexes(), before);
        }
        let too_many_lines = vec![(lamp, 1); limits::CART_LINES_MAX + 1];
        for lines in [
            &[(lamp, 1), (chair, 0)][..],
            &[(chair, u32::MAX)],
            &too_many_lines,
        ] {
            let result = market.run(purchase(lines));
            assert!(
                is_invalid_input(&result),
                "{} lines gave {result:?}",
                lines.len()
            );
            assert_eq!(market.items_and_indexes(), before);
        }
    }

    #[test]
    fn buyers_racing_for_the_last_units_never_take_stock_below_zero() {
        let mut market = Market::default();
        let lamp = market.put(1, 2, &[], 3);
        let results: Vec<ProductResult> = (0..10)
            .map(|_| market.run(purchase(&[(lamp, 1)])))
            .collect();
        assert!(results[..3]
            .iter()
            .all(|result| matches!(result, Ok(Purchased(_)))));
        assert!(results[3..]
            .iter()
            .all(|result| *result == lacking("2-1", 0, 1)));
        assert_eq!(market.get(lamp).quantity, 0);
    }

    #[test]
    fn feedback_counts_thumbs_on_known_items() {
        let mut market = Market::default();
        let lamp = market.put(1, 2, &[], 3);
        for thumb in [Thumb::Up, Thumb::Down, Thumb::Up] {
            assert_eq!(market.run(feedback(lamp, thumb)), Ok(Done));
        }
        assert_eq!(market.get(lamp).rating, Rating { up: 2, down: 1 });
        let unknown = feedback(item_id(2, 2), Thumb::Up);
        assert_eq!(market.run(unknown), not_found("2-2"));
        assert_eq!(market.get(lamp).rating, Rating { up: 2, down: 1 });
    }

    #[test]
    fn a_retried_write_is_applied_once_and_answered_with_its_first_result() {
        let mut state = ProductState::new();
        let put = request("put-1", put_item(1, draft(2, &[], 5)));
        let first = state.apply(&put);
        assert_eq!(first, item_put(2, 1));
        assert_eq!(state.apply(&put), first);
        assert_eq!(state.items.len(), 1);

        let buy = request("buy-1", purchase(&[(item_id(2, 1), 2)]));
        let first = state.apply(&buy);
        assert!(matches!(first, Ok(Purchased(_))), "got {first:?}");
        assert_eq!(state.apply(&buy), first);
        assert_eq!(state.items[0].quantity, 3);
    }

    #[test]
    fn a_request_id_used_by_another_command_is_refused_and_changes_nothing() {
        // Another caller reusing a purchase's id must not get its receipt
        // (nor buy anything): 409, the state untouched.
        let mut state = ProductState::new();
        let put = request("put-1", put_item(1, draft(2, &[], 5)));
        assert_eq!(state.apply(&put), item_put(2, 1));
        let buy = request("buy-1", purchase(&[(item_id(2, 1), 2)]));
        let first = state.apply(&buy);
        assert!(first.is_ok(), "got {first:?}");
        let other = request("buy-1", purchase(&[(item_id(2, 1), 1)]));
        assert!(
            matches!(state.apply(&other), Err(MarketError::Conflict(_))),
            "a reused id"
        );
        assert_eq!(state.items[0].quantity, 3);
        assert_eq!(state.apply(&buy), first, "the first caller's retry");
    }

    #[test]
    fn a_retried_failed_write_gets_its_first_error_even_if_it_would_now_succeed() {
        let mut state = ProductState::new();
        let feedback = request("feedback-1", feedback(item_id(0, 1), Thumb::Up));
        assert_eq!(state.apply(&feedback), not_found("0-1"));
        let put = request("put-1", put_item(1, draft(0, &[], 1)));
        assert_eq!(state.apply(&put), item_put(0, 1));
        assert_eq!(state.apply(&feedback), not_found("0-1"));
        assert_eq!(state.items[0].rating, Rating::default());
    }

    #[test]
    fn read_only_commands_are_never_recorded() {
        let mut state = ProductState::new();
        let put = request("put-1", put_item(1, draft(0, &["red"], 1)));
        assert!(state.apply(&put).is_ok());
        let reads = [get_item(item_id(0, 1)), search(0, &["red"]), list(1)];
        for (n, read) in reads.into_iter().enumerate() {
            assert!(state.apply(&request(&format!("read-{n}"), read)).is_ok());
        }
        assert_eq!(state.requests.len(), 1);
        // A read is answered from the state, not from the log, even under a
        // write's id; and a write under a read's id is applied.
        let get = state.apply(&request("put-1", get_item(item_id(0, 1))));
        assert!(matches!(get, Ok(ProductOutcome::Item(_))), "got {get:?}");
        let put = request("read-0", put_item(1, draft(0, &[], 1)));
        assert_eq!(state.apply(&put), item_put(0, 2));
    }

    #[test]
    fn a_write_with_a_malformed_request_id_is_refused_and_not_recorded() {
        let mut state = ProductState::new();
        for id in [
            "",
            "with space",
            &"x".repeat(limits::DATABASE_REQUEST_ID_CHARS_MAX + 1),
        ] {
            let put = request(id, put_item(1, draft(0, &[], 1)));
            assert!(
                is_invalid_input(&state.apply(&put)),
                "request id {id:?} was accepted"
            );
        }
        assert!(state.items.is_empty());
        assert!(state.requests.is_empty());
    }

    /// Goal: replicas that apply the same requests end equal and answer
    /// equally, a replica restored from a snapshot halfway too; no request
    /// breaks the indexes, and units are only ever taken once. Method: seeded
    /// random mixes of every command, with few sellers, categories, keywords
    /// and small quantities so commands often meet, and some request ids
    /// reused as retries.
    #[test]
    fn replicas_fed_the_same_requests_end_equal() {
        for seed in 0..20 {
            let requests = random_requests(seed, 300);
            let (halfway, rest) = requests.split_at(requests.len() / 2);
            let mut first = ProductState::new();
            let mut second = ProductState::new();
            for request in halfway {
                assert_eq!(first.apply(request), second.apply(request), "seed {seed}");
                check_indexes(&first);
            }
            let snapshot = serde_json::to_string(&first).expect("the state serializes");
            let mut restored: ProductState =
                serde_json::from_str(&snapshot).expect("a snapshot restores");
            for request in rest {
                let answer = first.apply(request);
                assert_eq!(answer, second.apply(request), "seed {seed}");
                assert_eq!(answer, restored.apply(request), "seed {seed}");
                check_indexes(&restored);
            }
            let state = serde_json::to_value(&first).expect("the state serializes");
            assert_eq!(
                serde_json::to_value(&second).expect("serializes"),
                state,
                "seed {seed}"
            );
            assert_eq!(
                serde_json::to_value(&restored).expect("serializes"),
                state,
                "seed {seed}"
            );
            check_indexes(&first);
            check_units_taken_once(&requests);
        }
    }

    /// `count` random requests; about one in ten reuses an earlier id.
    fn random_requests(seed: u64, count: usize) -> Vec<ProductRequest> {
        let mut rng = StdRng::seed_from_u64(seed);
        (0..count)
            .map(|n| {
                let id = if n > 0 && rng.gen_bool(0.1) {
                    rng.gen_range(0..n)
                } else {
                    n
                };
                request(&format!("r{id}"), random_command(&mut rng))
            })
            .collect()
    }

    /// Any command, over 3 sellers, 3 categories and ids up to 30 (so some
    /// are unknown or in the wrong category), with 0..=4 units.
    fn random_command(rng: &mut StdRng) -> ProductCommand {
        let seller = rng.gen_range(1..=3);
        let item = random_item(rng);
        let quantity = rng.gen_range(0..=4);
        let lines: Vec<(ItemId, u32)> = (0..3).map(|_| (random_item(rng), quantity)).collect();
        let keywords = ["red", "RED", "lamp", "desk", "Oak"];
        let keywords: Vec<&str> = (0..rng.gen_range(0..=3))
            .map(|_| keywords[rng.gen_range(0..keywords.len())])
            .collect();
        let category = rng.gen_range(0..3);
        let thumb = if rng.gen_bool(0.5) {
            Thumb::Up
        } else {
            Thumb::Down
        };
        match rng.gen_range(0..8) {
            0 | 1 => put_item(seller, draft(category, &keywords, quantity.max(1))),
            2 => change_price(seller, item, cents(rng.gen_range(1..=1000))),
            3 => remove_units(seller, item, quantity),
            4 => list(seller),
            5 => search(category, &keywords),
            6 => purchase(&lines[..rng.gen_range(0..=3)]),
            _ => feedback(item, thumb),
        }
    }

    fn random_item(rng: &mut StdRng) -> ItemId {
        item_id(rng.gen_range(0..3), rng.gen_range(1..=30))
    }

    /// Item n sits at index n - 1, and the index is the one built from the
    /// items afresh: every write kept it right.
    fn check_indexes(state: &ProductState) {
        for (position, item) in state.items.iter().enumerate() {
            assert_eq!(item.id.number, position as u64 + 1);
        }
        assert_eq!(state.index, CatalogueIndex::build(&state.items));
    }

    /// Replays `requests` against a simple model of stock: every item's
    /// units are what it was put up with, less what was removed or bought
    /// by requests applied the first time. A retry applied twice, or a
    /// failed purchase that took some units, would break the balance.
    fn check_units_taken_once(requests: &[ProductRequest]) {
        let mut state = ProductState::new();
        let mut units_expected: BTreeMap<u64, u32> = BTreeMap::new();
        let mut ids_seen: BTreeSet<RequestId> = BTreeSet::new();
        for request in requests {
            let result = state.apply(request);
            if request.command.is_query() || !ids_seen.insert(request.request_id.clone()) {
                continue;
            }
            let units_taken: Vec<(u64, u32)> = match (&request.command, result) {
                (PutItem { draft, .. }, Ok(ItemPut { item })) => {
                    units_expected.insert(item.number, draft.quantity);
                    Vec::new()
                }
                (ProductCommand::RemoveUnits { item, quantity, .. }, Ok(_)) => {
                    vec![(item.number, *quantity)]
                }
                (_, Ok(Purchased(lines))) => lines
                    .iter()
                    .map(|line| (line.item.number, line.quantity))
                    .collect(),
                _ => Vec::new(),
            };
            for (number, units) in units_taken {
                *units_expected
                    .get_mut(&number)
                    .expect("units of a put item") -= units;
            }
        }
        let units: BTreeMap<u64, u32> = state
            .items
            .iter()
            .map(|item| (item.id.number, item.quantity))
            .collect();
        assert_eq!(units, units_expected);
    }

    /// Every page of a search, `limit` items at a time, joined; checks on
    /// the way that a page says there is a next one exactly when there is.
    fn all_pages(
        state: &mut ProductState,
        category: u8,
        keywords: &[&str],
        limit: usize,
    ) -> Vec<Item> {
        let mut listed = Vec::new();
        let mut after = None;
        // A bound on the walk: no list has more pages than items.
        for _ in 0..=state.items.len() {
            let command = search_page(category, keywords, page(limit, after));
            let Ok(Items { items, next }) = state.apply(&request("search", command)) else {
                panic!("the search failed");
            };
            assert!(items.len() <= limit);
            // A next page is announced only after a full page, and only
            // if it lists something.
            assert!(next.is_none() || items.len() == limit);
            assert!(after.is_none() || !items.is_empty());
            listed.extend(items);
            match next {
                Some(cursor) => after = Some(cursor),
                None => return listed,
            }
        }
        panic!("the pages never ended");
    }

    /// The scan the index replaced: in-stock items of the category, in id
    /// order, ranked by `search::rank_by_keywords`.
    fn scanned(state: &ProductState, category: u8, keywords: &[&str]) -> Vec<Item> {
        let category = category_number(category);
        let in_stock = state
            .items
            .iter()
            .filter(|item| item.id.category == category && item.quantity > 0);
        super::super::search::rank_by_keywords(in_stock, &words(keywords))
    }

    /// Goal: the indexed search lists exactly what the scan it replaced
    /// listed, in the same order, one page or many, through every kind of
    /// write that changes what is in stock, and after a snapshot is
    /// restored. Method: seeded random catalogues over few categories and
    /// keywords (in mixed case, some repeated on an item) with items put
    /// up, units removed and bought between searches; every search is
    /// compared with the scan (the oracle) whole, in pages of random size,
    /// and the first page of the default size.
    #[test]
    fn indexed_search_lists_what_the_scan_listed_on_random_catalogues() {
        let pool = ["red", "RED", "Lamp", "lamp", "desk", "oak", "x", "Ünï"];
        for seed in 0..30 {
            let mut rng = StdRng::seed_from_u64(seed);
            let mut market = Market::default();
            for round in 0..6 {
                for _ in 0..rng.gen_range(0..120) {
                    let keywords: Vec<&str> = (0..rng.gen_range(0..=5))
                        .map(|_| pool[rng.gen_range(0..pool.len())])
                        .collect();
                    let category = rng.gen_range(0..3);
                    market.put(
                        rng.gen_range(1..=3),
                        category,
                        &keywords,
                        rng.gen_range(1..=3),
                    );
                }
                for _ in 0..rng.gen_range(0..60) {
                    let item = item_id(rng.gen_range(0..3), rng.gen_range(1..=500));
                    let units = rng.gen_range(1..=2);
                    if rng.gen_bool(0.5) {
                        let seller = rng.gen_range(1..=3);
                        market.run(remove_units(seller, item, units)).ok();
                    } else {
                        market.run(purchase(&[(item, units)])).ok();
                    }
                }
                check_indexes(&market.state);
                let snapshot = serde_json::to_vec(&market.state).expect("encodes");
                let mut restored: ProductState =
                    serde_json::from_slice(&snapshot).expect("restores");
                for _ in 0..20 {
                    let keywords: Vec<&str> = (0..rng.gen_range(0..=5))
                        .map(|_| pool[rng.gen_range(0..pool.len())])
                        .collect();
                    let category = rng.gen_range(0..4);
                    let expected = scanned(&market.state, category, &keywords);
                    let limit = rng.gen_range(1..=7);
                    let context = format!("seed {seed} round {round} {category} {keywords:?}");
                    let whole = all_pages(
                        &mut market.state,
                        category,
                        &keywords,
                        limits::PAGE_ITEMS_MAX,
                    );
                    assert_eq!(whole, expected, "{context}");
                    let paged = all_pages(&mut market.state, category, &keywords, limit);
                    assert_eq!(paged, expected, "{context}, pages of {limit}");
                    let from_snapshot = all_pages(&mut restored, category, &keywords, limit);
                    assert_eq!(from_snapshot, expected, "{context}, restored");
                    let first = listed(market.run(search(category, &keywords)));
                    let shown = expected.len().min(limits::PAGE_ITEMS_DEFAULT);
                    let expected: Vec<String> = expected[..shown]
                        .iter()
                        .map(|item| item.id.to_string())
                        .collect();
                    assert_eq!(first, expected, "{context}");
                }
            }
        }
    }

    #[test]
    fn pages_of_a_search_neither_repeat_nor_skip_while_items_are_put_up() {
        // Goal: a cursor is a position, not an offset. Method: read page
        // one, then put up items that rank before the cursor, at it and
        // after it, and sell one listed on page one; page two must go on
        // where page one ended, listing the new items ranked after it.
        let mut market = Market::default();
        for _ in 0..3 {
            market.put(1, 4, &["red", "lamp"], 1); // 4-1..4-3: rank 2
        }
        for _ in 0..3 {
            market.put(1, 4, &["red"], 1); // 4-4..4-6: rank 1
        }
        let first = market.run(search_page(4, &["red", "lamp"], page(4, None)));
        let Ok(Items { items, next }) = first else {
            panic!("the search failed: {first:?}");
        };
        let ids: Vec<String> = items.iter().map(|item| item.id.to_string()).collect();
        assert_eq!(ids, ["4-1", "4-2", "4-3", "4-4"]);
        assert_eq!(next.map(|cursor| cursor.to_string()), Some("1:4-4".into()));
        market.put(1, 4, &["red", "lamp"], 1); // 4-7: rank 2, before the cursor
        market.put(1, 4, &["lamp"], 1); // 4-8: rank 1, after it
        market.sell(item_id(4, 2), 1);
        let second = market.run(search_page(4, &["red", "lamp"], page(4, next)));
        assert_eq!(listed(second), ["4-5", "4-6", "4-8"]);
    }

    #[test]
    fn a_sellers_list_comes_in_pages_by_item_id() {
        let mut market = Market::default();
        for category in [5, 1, 5, 0, 1] {
            market.put(1, category, &[], 1); // 5-1, 1-2, 5-3, 0-4, 1-5
        }
        market.put(2, 1, &[], 1); // 1-6, another seller's
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let result = market.run(ListSellerItems {
                seller: 1,
                page: page(2, after),
            });
            let Ok(Items { items, next }) = result else {
                panic!("the list failed: {result:?}");
            };
            seen.push(
                items
                    .iter()
                    .map(|item| item.id.to_string())
                    .collect::<Vec<_>>(),
            );
            after = next;
            if after.is_none() {
                break;
            }
        }
        assert_eq!(seen, [vec!["0-4", "1-2"], vec!["1-5", "5-1"], vec!["5-3"]]);
        // A list exactly one page long says no more follows.
        let result = market.run(ListSellerItems {
            seller: 1,
            page: page(5, None),
        });
        assert!(matches!(result, Ok(Items { next: None, .. })), "{result:?}");
    }

    #[test]
    fn bad_limits_and_foreign_cursors_are_refused_and_change_nothing() {
        let mut market = Market::default();
        market.put(1, 4, &["red"], 1);
        market.put(1, 4, &["red", "lamp"], 1);
        let before = market.items_and_indexes();
        let cursor = |text: &str| Some(text.parse::<PageCursor>().expect("a cursor"));
        let refused = [
            search_page(4, &["red"], page(0, None)),
            search_page(4, &["red"], page(limits::PAGE_ITEMS_MAX + 1, None)),
            // Another category's position.
            search_page(4, &["red"], page(5, cursor("1:3-1"))),
            // A rank this search cannot give: 2 of one keyword, 1 of none.
            search_page(4, &["red", "RED"], page(5, cursor("2:4-1"))),
            search_page(4, &[], page(5, cursor("1:4-1"))),
            search_page(4, &["red"], page(5, cursor("0:4-1"))),
            ListSellerItems {
                seller: 1,
                page: page(5, cursor("1:4-1")),
            },
            ListSellerItems {
                seller: 1,
                page: page(0, None),
            },
        ];
        for command in refused {
            let result = market.run(command.clone());
            assert!(is_invalid_input(&result), "{command:?} gave {result:?}");
            assert_eq!(market.items_and_indexes(), before);
        }
        // A cursor past the end is a position like any other: an empty page.
        let result = market.run(search_page(4, &["red"], page(5, cursor("1:4-99"))));
        assert_eq!(
            result,
            Ok(Items {
                items: Vec::new(),
                next: None
            })
        );
    }

    #[test]
    fn a_snapshot_holds_no_index_and_one_out_of_place_is_refused() {
        let mut market = Market::default();
        market.put(1, 4, &["red"], 1);
        market.put(1, 2, &["lamp"], 1);
        let mut snapshot = serde_json::to_value(&market.state).expect("encodes");
        let fields: Vec<&String> = snapshot.as_object().expect("an object").keys().collect();
        assert_eq!(fields, ["items", "requests"]);
        let items = snapshot["items"].as_array_mut().expect("a list");
        items.swap(0, 1);
        let restored = serde_json::from_value::<ProductState>(snapshot);
        let error = restored.expect_err("items out of place").to_string();
        assert!(error.contains("is stored at place 1, not 2"), "{error}");
    }

    /// Not a check: prints what one search costs inside the state machine,
    /// the old scan against the index walk, as the category grows (for
    /// docs/EVALUATION.md, "Scale"). Run with
    /// `cargo test --release --lib search_cost -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn search_cost_as_the_category_grows() {
        let mut market = Market::default();
        let mut put = 0;
        for size in [1_000, 10_000, 100_000] {
            while put < size {
                let mut keywords = vec!["all"];
                if put % 1000 == 0 {
                    keywords.push("rare");
                }
                market.put(1, 7, &keywords, 1);
                put += 1;
            }
            for keywords in [&["rare"][..], &["all"], &["rare", "all"]] {
                let rounds = 20;
                let started = std::time::Instant::now();
                for _ in 0..rounds {
                    let scanned = scanned(&market.state, 7, keywords);
                    assert!(!scanned.is_empty());
                }
                let scan = started.elapsed() / rounds;
                let started = std::time::Instant::now();
                for _ in 0..rounds {
                    let listed = listed(market.run(search(7, keywords)));
                    assert!(!listed.is_empty());
                }
                let index = started.elapsed() / rounds;
                println!("{size} items, {keywords:?}: scan (whole list) {scan:?}, index (first page) {index:?}");
            }
        }
    }
}
