//! The product state's indexes: which items are in stock, by category, by
//! seller and by (category, keyword). Every read that lists items starts
//! here, so a search costs in proportion to the items it matches (and a
//! page of it in proportion to the page), not to the category's size.
//!
//! Derived data: a pure function of the items (`CatalogueIndex::build`),
//! kept right by the state at every write that changes what it holds (an
//! item put up, an item's units going to zero), and rebuilt from the items
//! when a snapshot is restored rather than stored in it (state.rs says why).
//! Only items with units left are indexed: a sold-out item is never listed,
//! and most items of a long-lived catalogue end sold out.

use std::collections::{BTreeMap, BTreeSet};

use crate::market::{Category, Item, ItemId, SellerId};

/// In-stock items, found three ways. Item numbers are unique across
/// categories, and within one category ascending numbers are ascending ids.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct CatalogueIndex {
    /// In-stock item numbers of each category.
    by_category: BTreeMap<Category, BTreeSet<u64>>,
    /// In-stock item ids of each seller (the order of a seller's list).
    by_seller: BTreeMap<SellerId, BTreeSet<ItemId>>,
    /// In-stock item numbers of each category that carry a keyword, under
    /// the keyword as searches compare it (`search::normalized`).
    by_keyword: BTreeMap<(Category, String), BTreeSet<u64>>,
}

/// No numbers: what an index holds for a key it has never seen.
static NO_NUMBERS: BTreeSet<u64> = BTreeSet::new();

impl CatalogueIndex {
    /// The index of `items`, as if each had been put up and sold in turn.
    pub(super) fn build(items: &[Item]) -> Self {
        let mut index = CatalogueIndex::default();
        for item in items {
            index.add(item);
        }
        index
    }

    /// Lists `item` if it has units left (a new item, or one whose units
    /// came back).
    pub(super) fn add(&mut self, item: &Item) {
        if item.quantity == 0 {
            return;
        }
        let number = item.id.number;
        self.by_category
            .entry(item.id.category)
            .or_default()
            .insert(number);
        self.by_seller
            .entry(item.seller)
            .or_default()
            .insert(item.id);
        for keyword in super::search::normalized(&item.keywords) {
            self.by_keyword
                .entry((item.id.category, keyword))
                .or_default()
                .insert(number);
        }
    }

    /// Keeps the index right after `item`'s units changed from
    /// `units_before`: an item is listed exactly while it has units.
    pub(super) fn units_changed(&mut self, item: &Item, units_before: u32) {
        match (units_before > 0, item.quantity > 0) {
            (true, false) => self.drop_item(item),
            (false, true) => self.add(item),
            _ => {}
        }
    }

    /// Unlists `item` (it sold out). Keys left empty are removed, so the
    /// index of a state equals the index built from its items.
    fn drop_item(&mut self, item: &Item) {
        let number = item.id.number;
        remove_from(&mut self.by_category, &item.id.category, &number);
        remove_from(&mut self.by_seller, &item.seller, &item.id);
        for keyword in super::search::normalized(&item.keywords) {
            remove_from(&mut self.by_keyword, &(item.id.category, keyword), &number);
        }
    }

    /// In-stock item numbers of `category`, ascending.
    pub(super) fn in_category(&self, category: Category) -> &BTreeSet<u64> {
        self.by_category.get(&category).unwrap_or(&NO_NUMBERS)
    }

    /// In-stock item numbers of `category` carrying `keyword` (normalized).
    pub(super) fn with_keyword(&self, category: Category, keyword: &str) -> &BTreeSet<u64> {
        // The key is built to look it up: a search names at most
        // `KEYWORDS_MAX` keywords of at most 8 characters.
        self.by_keyword
            .get(&(category, keyword.to_string()))
            .unwrap_or(&NO_NUMBERS)
    }

    /// In-stock item ids of `seller`, ascending.
    pub(super) fn of_seller(&self, seller: SellerId) -> Option<&BTreeSet<ItemId>> {
        self.by_seller.get(&seller)
    }
}

/// Removes `value` from the set under `key`, and the key once its set is
/// empty.
fn remove_from<K: Ord, V: Ord>(map: &mut BTreeMap<K, BTreeSet<V>>, key: &K, value: &V) {
    if let Some(set) = map.get_mut(key) {
        set.remove(value);
        if set.is_empty() {
            map.remove(key);
        }
    }
}
