//! The product database's state: every item ever put up for sale, two
//! indexes to find them, and the request log that makes writes exactly-once.
//! `ProductState::apply` is the only way in, and it is deterministic: no
//! clock, no randomness, and every collection it reads in order is ordered.
//!
//! Every check runs before the first change, so a request that fails changes
//! nothing (except that a failed write's answer is kept for its retries).

use crate::market::{request_id_reused, Replay};
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::command::{ProductCommand, ProductOutcome, ProductRequest, ProductResult};
use super::search::rank_by_keywords;
use crate::market::{
    limits, validate_keywords, CartLine, Category, Item, ItemDraft, ItemId, MarketError, Price,
    PurchasedLine, Rating, RequestId, RequestLog, SellerId, Thumb,
};

/// The product DB holds at most this many items. Items are never deleted, so
/// without a limit a seller could grow every replica's memory and snapshots
/// without end; at a few hundred bytes an item this is a few hundred MB.
pub const ITEMS_MAX: usize = 1_000_000;

/// Every item for sale, its stock, price and feedback, and the results of
/// recent writes. Replicas that apply the same requests in the same order
/// hold equal states and give equal answers.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ProductState {
    /// Every item ever put up for sale: item number n is at index n - 1.
    /// A sold-out item stays (it keeps its id and feedback, and can still be
    /// looked up), so numbers are never reused.
    items: Vec<Item>,
    /// Item numbers by category, ascending: a search's candidates without a
    /// scan of every item. Derived from `items`; only `put_item` adds to it.
    numbers_by_category: BTreeMap<Category, Vec<u64>>,
    /// Item numbers by seller, ascending. Derived from `items`; only
    /// `put_item` adds to it.
    numbers_by_seller: BTreeMap<SellerId, Vec<u64>>,
    /// The first result of each recent write, by request id.
    requests: RequestLog<ProductResult>,
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
    /// (`ProductCommand::is_read_only`) are answered from the current state
    /// and never recorded: they change nothing, and recording them would
    /// evict results that retries of writes still need.
    ///
    /// # Errors
    ///
    /// The command's own `MarketError` (see each command's rules), or
    /// `InvalidInput` for a write whose request id breaks the id limits.
    pub fn apply(&mut self, request: &ProductRequest) -> ProductResult {
        if request.command.is_read_only() {
            return self.execute(&request.command);
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

    /// Runs one command against the state, without the request log.
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
            ProductCommand::ListSellerItems { seller } => {
                Ok(ProductOutcome::Items(self.seller_items(*seller)))
            }
            ProductCommand::Search { category, keywords } => self.search(*category, keywords),
            ProductCommand::GetItem { item } => Ok(ProductOutcome::Item(self.item(*item)?.clone())),
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
        self.items.push(Item {
            id,
            name: draft.name.clone(),
            keywords: draft.keywords.clone(),
            condition: draft.condition,
            price: draft.price,
            quantity: draft.quantity,
            seller,
            rating: Rating::default(),
        });
        self.numbers_by_category
            .entry(id.category)
            .or_default()
            .push(number);
        self.numbers_by_seller
            .entry(seller)
            .or_default()
            .push(number);
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
        let Some(left) = item.quantity.checked_sub(quantity) else {
            return Err(insufficient_stock(id, item.quantity, quantity));
        };
        item.quantity = left;
        Ok(ProductOutcome::Item(item.clone()))
    }

    /// `seller`'s items with units for sale, by item id (category, then
    /// number: the order of `ItemId`).
    fn seller_items(&self, seller: SellerId) -> Vec<Item> {
        let numbers = self
            .numbers_by_seller
            .get(&seller)
            .map_or(&[][..], Vec::as_slice);
        let mut items: Vec<Item> = self
            .items_numbered(numbers)
            .filter(|item| item.quantity > 0)
            .cloned()
            .collect();
        items.sort_by_key(|item| item.id);
        items
    }

    /// The in-stock items of `category` by the rule of `search.rs`: with
    /// keywords, only items carrying at least one of them, most matches
    /// first, ties by item id; without keywords, all of them by item id.
    fn search(&self, category: Category, keywords: &[String]) -> ProductResult {
        check_category(category)?;
        validate_keywords(keywords)?;
        let numbers = self
            .numbers_by_category
            .get(&category)
            .map_or(&[][..], Vec::as_slice);
        // The index is ascending by number, which within one category is
        // ascending by item id.
        let in_stock = self
            .items_numbered(numbers)
            .filter(|item| item.quantity > 0);
        Ok(ProductOutcome::Items(rank_by_keywords(in_stock, keywords)))
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
            // `check_purchase` found at least `line.quantity` units.
            item.quantity -= line.quantity;
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

    /// The items with these numbers (from an index), in the same order.
    fn items_numbered<'a>(&'a self, numbers: &'a [u64]) -> impl Iterator<Item = &'a Item> + 'a {
        numbers.iter().filter_map(|&number| {
            let position = usize::try_from(number.checked_sub(1)?).ok()?;
            self.items.get(position)
        })
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
    use std::collections::BTreeSet;

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

        /// The whole state but the request log, as JSON: what a failed
        /// request must leave unchanged (its answer is recorded in the log).
        fn items_and_indexes(&self) -> Value {
            let mut state = serde_json::to_value(&self.state).expect("the state serializes");
            let fields = state.as_object_mut().expect("the state is a JSON object");
            fields
                .remove("requests")
                .expect("the state has a request log");
            state
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
        ProductCommand::Search {
            category: category_number(category),
            keywords: words(keywords),
        }
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
            Ok(Items(items)) => items.iter().map(|item| item.id.to_string()).collect(),
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
        assert_eq!(
            listed(market.run(ListSellerItems { seller: 1 })),
            ["1-3", "5-1"]
        );
        assert_eq!(listed(market.run(ListSellerItems { seller: 2 })), ["1-2"]);
        assert!(listed(market.run(ListSellerItems { seller: 3 })).is_empty());
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
        let reads = [
            get_item(item_id(0, 1)),
            search(0, &["red"]),
            ListSellerItems { seller: 1 },
        ];
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
            }
            let snapshot = serde_json::to_string(&first).expect("the state serializes");
            let mut restored: ProductState =
                serde_json::from_str(&snapshot).expect("a snapshot restores");
            for request in rest {
                let answer = first.apply(request);
                assert_eq!(answer, second.apply(request), "seed {seed}");
                assert_eq!(answer, restored.apply(request), "seed {seed}");
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
            4 => ListSellerItems { seller },
            5 => search(category, &keywords),
            6 => purchase(&lines[..rng.gen_range(0..=3)]),
            _ => feedback(item, thumb),
        }
    }

    fn random_item(rng: &mut StdRng) -> ItemId {
        item_id(rng.gen_range(0..3), rng.gen_range(1..=30))
    }

    /// The indexes list exactly the items, by category and by seller, and
    /// item n sits at index n - 1.
    fn check_indexes(state: &ProductState) {
        let mut by_category: BTreeMap<Category, Vec<u64>> = BTreeMap::new();
        let mut by_seller: BTreeMap<SellerId, Vec<u64>> = BTreeMap::new();
        for (position, item) in state.items.iter().enumerate() {
            assert_eq!(item.id.number, position as u64 + 1);
            by_category
                .entry(item.id.category)
                .or_default()
                .push(item.id.number);
            by_seller
                .entry(item.seller)
                .or_default()
                .push(item.id.number);
        }
        assert_eq!(state.numbers_by_category, by_category);
        assert_eq!(state.numbers_by_seller, by_seller);
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
            if request.command.is_read_only() || !ids_seen.insert(request.request_id.clone()) {
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
}
