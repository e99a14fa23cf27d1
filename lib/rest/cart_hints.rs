//! Which items a buyer's cart held when this frontend last showed or changed
//! it: a hint that lets a purchase read their prices beside its first step
//! (the customer DB handing over the cart) instead of after it.
//!
//! The hint is never trusted: a purchase charges for the lines the customer
//! DB hands over, each at a price read during the purchase. A price read on
//! the hint counts only for an item among those lines, and an item the hint
//! missed is read after, as without a hint. So a stale or missing hint (the
//! cart changed through another frontend, this frontend restarted, the memo
//! filled up and was emptied) costs a little time, never a wrong amount.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::market::{CartLine, ItemId, SessionToken};

/// Sessions a frontend remembers the cart items of; when full, it forgets
/// them all and starts again.
pub const CART_HINTS_MAX: usize = 10_000;

/// The items of recently seen carts, by session.
#[derive(Default)]
pub struct CartHints {
    items: Mutex<HashMap<SessionToken, Vec<ItemId>>>,
}

impl CartHints {
    /// The items `session`'s cart held when last seen here (none if unknown).
    pub fn items(&self, session: &SessionToken) -> Vec<ItemId> {
        let items = self.items.lock().unwrap_or_else(|e| e.into_inner());
        items.get(session).cloned().unwrap_or_default()
    }

    /// Notes that `session`'s cart holds `lines`.
    pub fn remember(&self, session: &SessionToken, lines: &[CartLine]) {
        let mut items = self.items.lock().unwrap_or_else(|e| e.into_inner());
        if items.len() >= CART_HINTS_MAX && !items.contains_key(session) {
            items.clear();
        }
        items.insert(
            session.clone(),
            lines.iter().map(|line| line.item).collect(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(n: usize) -> SessionToken {
        SessionToken(format!("{n:032x}"))
    }

    fn id(number: u64) -> ItemId {
        format!("3-{number}").parse().expect("an item id")
    }

    fn line(number: u64) -> CartLine {
        CartLine {
            item: id(number),
            quantity: 1,
        }
    }

    #[test]
    fn a_cart_seen_is_remembered_and_replaced_by_the_next_sight() {
        let hints = CartHints::default();
        assert!(hints.items(&token(1)).is_empty());
        hints.remember(&token(1), &[line(4), line(9)]);
        assert_eq!(hints.items(&token(1)), vec![id(4), id(9)]);
        hints.remember(&token(1), &[]);
        assert!(hints.items(&token(1)).is_empty());
        assert!(hints.items(&token(2)).is_empty());
    }

    #[test]
    fn a_full_memo_starts_again_instead_of_growing() {
        let hints = CartHints::default();
        for n in 0..CART_HINTS_MAX {
            hints.remember(&token(n), &[line(1)]);
        }
        hints.remember(&token(0), &[line(2)]);
        assert_eq!(hints.items(&token(1)), vec![id(1)], "a known session");
        hints.remember(&token(CART_HINTS_MAX), &[line(3)]);
        assert!(hints.items(&token(1)).is_empty());
        assert_eq!(hints.items(&token(CART_HINTS_MAX)), vec![id(3)]);
    }
}
