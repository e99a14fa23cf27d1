//! Keyword search: which in-stock items of a category a search lists, and in
//! which order. Pure functions over items the state hands in; the state
//! (`state.rs`) owns finding the candidates.
//!
//! The rule, as the README states it:
//! - With no keywords, every in-stock item of the category is listed, by id.
//! - With keywords, an item is listed only if it carries at least one of
//!   them. Items carrying more of the searched keywords come first; items
//!   carrying equally many are ordered by id, ascending.
//! - Matching is exact and case-insensitive ("Lamp" matches "lamp", not
//!   "lamps"). A searched keyword counts once per item, however often it is
//!   repeated in the search or among the item's keywords.

use std::cmp::Reverse;
use std::collections::BTreeSet;

use crate::market::Item;

/// Lists `candidates` (in-stock items of one category, in id order) by the
/// search rule in the module doc. `keywords` must already be validated, which
/// bounds them to `KEYWORDS_MAX` short words.
pub(super) fn rank_by_keywords<'a>(
    candidates: impl Iterator<Item = &'a Item>,
    keywords: &[String],
) -> Vec<Item> {
    if keywords.is_empty() {
        return candidates.cloned().collect();
    }
    // A set, so a keyword repeated in the search is counted once.
    let wanted: BTreeSet<String> = keywords
        .iter()
        .map(|keyword| keyword.to_lowercase())
        .collect();
    let mut matching: Vec<(usize, &Item)> = candidates
        .map(|item| (matching_keywords(item, &wanted), item))
        .filter(|(matches, _)| *matches > 0)
        .collect();
    // Item ids are unique, so this key orders the list completely and the
    // result never depends on the order the candidates came in.
    matching.sort_by_key(|(matches, item)| (Reverse(*matches), item.id));
    matching.into_iter().map(|(_, item)| item.clone()).collect()
}

/// How many of the `wanted` (lowercase, distinct) keywords `item` carries.
fn matching_keywords(item: &Item, wanted: &BTreeSet<String>) -> usize {
    // A set, so an item listing a keyword twice still matches it once.
    let carried: BTreeSet<String> = item
        .keywords
        .iter()
        .map(|keyword| keyword.to_lowercase())
        .collect();
    wanted.intersection(&carried).count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market::{Category, Condition, ItemId, Price, Rating};

    fn item(number: u64, keywords: &[&str]) -> Item {
        Item {
            id: ItemId {
                category: Category::new(4).expect("a valid category"),
                number,
            },
            name: format!("item {number}"),
            keywords: keywords.iter().map(|keyword| keyword.to_string()).collect(),
            condition: Condition::New,
            price: Price::from_cents(100).expect("a valid price"),
            quantity: 1,
            seller: 1,
            rating: Rating::default(),
        }
    }

    fn words(keywords: &[&str]) -> Vec<String> {
        keywords.iter().map(|keyword| keyword.to_string()).collect()
    }

    fn numbers(items: &[Item]) -> Vec<u64> {
        items.iter().map(|item| item.id.number).collect()
    }

    #[test]
    fn no_keywords_lists_every_candidate_in_the_order_given() {
        let items = [item(1, &["a"]), item(2, &[]), item(5, &["b"])];
        assert_eq!(numbers(&rank_by_keywords(items.iter(), &[])), [1, 2, 5]);
    }

    #[test]
    fn more_matching_keywords_rank_first_and_ties_go_by_id() {
        // Goal: the order is (matches descending, id ascending). Method: the
        // candidates arrive in an order that is neither, so a sort that kept
        // the input order or sorted by one key only would fail.
        let items = [
            item(9, &["red"]),
            item(3, &["red", "lamp"]),
            item(7, &["lamp"]),
            item(2, &["red"]),
            item(8, &["red", "lamp", "desk"]),
        ];
        let ranked = rank_by_keywords(items.iter(), &words(&["red", "lamp", "desk"]));
        assert_eq!(numbers(&ranked), [8, 3, 2, 7, 9]);
    }

    #[test]
    fn items_matching_no_keyword_are_left_out() {
        let items = [item(1, &["red"]), item(2, &["blue"]), item(3, &[])];
        assert_eq!(
            numbers(&rank_by_keywords(items.iter(), &words(&["red"]))),
            [1]
        );
        assert!(rank_by_keywords(items.iter(), &words(&["green"])).is_empty());
    }

    #[test]
    fn matching_is_case_insensitive_and_exact() {
        let items = [item(1, &["Lamp"]), item(2, &["lamps"]), item(3, &["LAMP"])];
        assert_eq!(
            numbers(&rank_by_keywords(items.iter(), &words(&["lAmP"]))),
            [1, 3]
        );
    }

    #[test]
    fn a_keyword_counts_once_however_often_it_is_repeated() {
        // Item 1 lists "red" twice and item 2 carries two distinct searched
        // keywords: item 2 must rank first. Repeating "red" in the search
        // must not lift item 1 either.
        let items = [item(1, &["red", "RED"]), item(2, &["red", "lamp"])];
        let ranked = rank_by_keywords(items.iter(), &words(&["red", "Red", "red", "lamp"]));
        assert_eq!(numbers(&ranked), [2, 1]);
    }
}
