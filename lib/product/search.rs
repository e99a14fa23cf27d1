//! Keyword search: which in-stock items of a category a search lists, and in
//! which order, one page at a time. Pure functions over the index's sets of
//! item numbers (`index.rs`); the state (`state.rs`) turns numbers into
//! items.
//!
//! The rule, as the README states it:
//! - With no keywords, every in-stock item of the category is listed, by id.
//! - With keywords, an item is listed only if it carries at least one of
//!   them. Items carrying more of the searched keywords come first; items
//!   carrying equally many are ordered by id, ascending.
//! - Matching is exact and case-insensitive ("Lamp" matches "lamp", not
//!   "lamps"). A searched keyword counts once per item, however often it is
//!   repeated in the search or among the item's keywords.
//!
//! How many searched keywords an item carries is its *rank*. Within one
//! category, ids ascend with item numbers, so the order is (rank
//! descending, number ascending), and a position in it is a (rank, number)
//! pair: a page lists the positions after the previous page's last one.
//! The rule was first written as a scan of the category
//! (`rank_by_keywords`, kept as the tests' oracle); the index walk below
//! lists the same items in the same order.

use std::collections::BTreeSet;
use std::ops::Bound;

use crate::market::limits;

#[cfg(test)]
use crate::market::Item;

/// Keywords as the rule compares them: lowercase, each once. The index
/// stores an item's keywords this way when the item is put up, and a search
/// normalizes its own the same way.
pub(super) fn normalized(keywords: &[String]) -> BTreeSet<String> {
    keywords
        .iter()
        .map(|keyword| keyword.to_lowercase())
        .collect()
}

/// Up to `wanted` numbers of `numbers` after `after` (from the first if
/// `None`), ascending: a page of a list ordered by number alone.
pub(super) fn numbers_after(
    numbers: &BTreeSet<u64>,
    after: Option<u64>,
    wanted: usize,
) -> Vec<u64> {
    let start = after.map_or(Bound::Unbounded, Bound::Excluded);
    numbers
        .range((start, Bound::Unbounded))
        .take(wanted)
        .copied()
        .collect()
}

/// Up to `wanted` (rank, number) positions of a keyword search after
/// `after`, in the rule's order. `lists` holds, for each distinct searched
/// keyword, the in-stock numbers carrying it; an item's rank is how many of
/// the lists hold it.
///
/// Rank by rank, from the highest, it walks the items held by at least that
/// many lists (`next_held_by_at_least`) in number order and keeps those
/// held by exactly that many. So it costs in proportion to the items it
/// passes, which are items that match (never the whole category); a page
/// near the start of a rank costs in proportion to the page.
///
/// The worst case: keywords that many items carry but few carry together
/// (two keywords on 50,000 items each, none on both). The first page then
/// walks every one of them at the top rank to find none there, about one
/// seek per list per item; the pages after it start at the lower rank and
/// do not walk it again.
pub(super) fn ranked_numbers(
    lists: &[&BTreeSet<u64>],
    after: Option<(usize, u64)>,
    wanted: usize,
) -> Vec<(usize, u64)> {
    let mut found = Vec::new();
    let top = lists.len();
    // A cursor's rank is at most the number of keywords (the state checks).
    let (first_rank, resume_from) = match after {
        Some((rank, number)) if rank <= top => (rank, number.checked_add(1)),
        _ => (top, Some(0)),
    };
    for rank in (1..=first_rank).rev() {
        let mut from = if rank == first_rank {
            resume_from
        } else {
            Some(0)
        };
        while let Some(start) = from {
            if found.len() >= wanted {
                return found;
            }
            let Some((number, held_by)) = next_held_by_at_least(lists, rank, start) else {
                break;
            };
            if held_by == rank {
                found.push((rank, number));
            }
            from = number.checked_add(1);
        }
    }
    found
}

/// The smallest number >= `from` that at least `threshold` of `lists` hold,
/// and how many hold it.
///
/// Each round looks at the smallest number >= `from` of every list (its
/// head) and takes the `threshold`-th smallest head, the pivot. Lists whose
/// head is at or past the pivot hold nothing below it, and fewer than
/// `threshold` lists have a head below it, so no number below the pivot is
/// held by `threshold` lists: the walk skips to it. If the smallest head is
/// the pivot, `threshold` lists hold it. Every round either answers or
/// moves `from` forward to a larger head, so the loop ends, after at most
/// as many rounds as the lists hold numbers; each round is one seek per
/// list.
fn next_held_by_at_least(
    lists: &[&BTreeSet<u64>],
    threshold: usize,
    from: u64,
) -> Option<(u64, usize)> {
    // A search has at most KEYWORDS_MAX keywords (validated), so the heads
    // fit in an array: no allocation per round.
    assert!(lists.len() <= limits::KEYWORDS_MAX, "{} lists", lists.len());
    debug_assert!(threshold >= 1 && threshold <= lists.len());
    let mut from = from;
    loop {
        let mut heads = [0u64; limits::KEYWORDS_MAX];
        let mut held = 0;
        for list in lists {
            if let Some(&head) = list.range(from..).next() {
                heads[held] = head;
                held += 1;
            }
        }
        if held < threshold {
            return None;
        }
        let heads = &mut heads[..held];
        heads.sort_unstable();
        let pivot = heads[threshold - 1];
        if heads[0] == pivot {
            let held_by = heads.iter().filter(|&&head| head == pivot).count();
            return Some((pivot, held_by));
        }
        debug_assert!(pivot > from);
        from = pivot;
    }
}

/// The scan the index replaced, kept as the tests' oracle: lists
/// `candidates` (in-stock items of one category, in id order) by the rule
/// in the module doc, keywords lowercased per item on every search.
#[cfg(test)]
pub(super) fn rank_by_keywords<'a>(
    candidates: impl Iterator<Item = &'a Item>,
    keywords: &[String],
) -> Vec<Item> {
    use std::cmp::Reverse;
    if keywords.is_empty() {
        return candidates.cloned().collect();
    }
    // A set, so a keyword repeated in the search is counted once.
    let wanted = normalized(keywords);
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
#[cfg(test)]
fn matching_keywords(item: &Item, wanted: &BTreeSet<String>) -> usize {
    // A set, so an item listing a keyword twice still matches it once.
    wanted.intersection(&normalized(&item.keywords)).count()
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

    fn set(numbers: &[u64]) -> BTreeSet<u64> {
        numbers.iter().copied().collect()
    }

    #[test]
    fn the_index_walk_ranks_by_lists_held_then_number_and_resumes_after_a_position() {
        // Goal: the walk over posting lists gives the rule's order and
        // resumes exactly after a (rank, number) position. Method: three
        // lists whose numbers overlap in every way; every page size.
        let red = set(&[1, 2, 5, 8, 9]);
        let lamp = set(&[2, 3, 5, 8]);
        let oak = set(&[5, 7, 9]);
        let lists = [&red, &lamp, &oak];
        let expected = [(3, 5), (2, 2), (2, 8), (2, 9), (1, 1), (1, 3), (1, 7)];
        assert_eq!(ranked_numbers(&lists, None, 100), expected);
        for limit in 1..=expected.len() {
            let mut walked: Vec<(usize, u64)> = Vec::new();
            let mut after = None;
            loop {
                let page = ranked_numbers(&lists, after, limit);
                walked.extend(&page);
                if page.len() < limit {
                    break;
                }
                after = page.last().copied();
            }
            assert_eq!(walked, expected, "pages of {limit}");
        }
        // A position no item holds resumes where it would sit.
        assert_eq!(ranked_numbers(&lists, Some((2, 3)), 2), [(2, 8), (2, 9)]);
        assert!(ranked_numbers(&lists, Some((1, u64::MAX)), 2).is_empty());
        assert_eq!(numbers_after(&red, Some(2), 2), [5, 8]);
        assert_eq!(numbers_after(&red, None, 0), Vec::<u64>::new());
    }
}
