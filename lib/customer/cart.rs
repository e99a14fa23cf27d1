//! A buyer's carts: the live cart that cart commands change, and the saved
//! cart it goes back to when the buyer's last session ends.

use serde::{Deserialize, Serialize};

use crate::market::{limits, CartLine, ItemId, MarketError};

/// Distinct items with 1..=`QUANTITY_MAX` units each, at most
/// `CART_LINES_MAX` of them, kept ordered by item id: every replica shows
/// the same cart, and finding a line is a binary search.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Cart {
    lines: Vec<CartLine>,
}

impl Cart {
    /// The lines, ordered by item id.
    pub(super) fn lines(&self) -> &[CartLine] {
        &self.lines
    }

    /// True when the cart holds nothing.
    pub(super) fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// Adds `quantity` units of `item`. The line's new total may not exceed
    /// `available`, the item's stock as the product DB just reported it, so
    /// that a cart never promises more than is for sale. On an error the
    /// cart is unchanged.
    pub(super) fn add(
        &mut self,
        item: ItemId,
        quantity: u32,
        available: u32,
    ) -> Result<(), MarketError> {
        check_quantity(quantity)?;
        let position = self.position(item);
        let in_cart = position.map_or(0, |index| self.lines[index].quantity);
        // Both terms are at most QUANTITY_MAX, far below u32::MAX; saturating
        // keeps even a broken invariant from panicking on overflow.
        let total = in_cart.saturating_add(quantity);
        if total > available {
            return Err(MarketError::InsufficientStock {
                item: item.to_string(),
                available,
                requested: total,
            });
        }
        if total > limits::QUANTITY_MAX {
            return Err(MarketError::invalid(format!(
                "a cart line holds at most {} units",
                limits::QUANTITY_MAX
            )));
        }
        match position {
            Ok(index) => self.lines[index].quantity = total,
            Err(index) => {
                if self.lines.len() >= limits::CART_LINES_MAX {
                    return Err(MarketError::invalid(format!(
                        "a cart holds at most {} different items",
                        limits::CART_LINES_MAX
                    )));
                }
                self.lines.insert(
                    index,
                    CartLine {
                        item,
                        quantity: total,
                    },
                );
            }
        }
        Ok(())
    }

    /// Takes `quantity` units of `item` out; a line left with no units goes.
    /// On an error the cart is unchanged.
    pub(super) fn remove(&mut self, item: ItemId, quantity: u32) -> Result<(), MarketError> {
        check_quantity(quantity)?;
        let index = self
            .position(item)
            .map_err(|_| MarketError::NotFound(format!("item {item} is not in the cart")))?;
        let line = &mut self.lines[index];
        if quantity > line.quantity {
            return Err(MarketError::invalid(format!(
                "only {} of item {item} in the cart",
                units(line.quantity)
            )));
        }
        line.quantity -= quantity;
        if line.quantity == 0 {
            self.lines.remove(index);
        }
        Ok(())
    }

    /// Takes up to `quantity` units of `item` out, as far as the cart holds
    /// them (none is fine); a line left with no units goes.
    fn take(&mut self, item: ItemId, quantity: u32) {
        if let Ok(index) = self.position(item) {
            let line = &mut self.lines[index];
            line.quantity = line.quantity.saturating_sub(quantity);
            if line.quantity == 0 {
                self.lines.remove(index);
            }
        }
    }

    /// Where `item`'s line is (`Ok`), or where it would go (`Err`).
    fn position(&self, item: ItemId) -> Result<usize, usize> {
        self.lines.binary_search_by(|line| line.item.cmp(&item))
    }

    /// Checks the cart's own rules: ordered distinct items, quantities in
    /// range, at most `CART_LINES_MAX` lines.
    #[cfg(test)]
    pub(super) fn assert_valid(&self) {
        assert!(self.lines.len() <= limits::CART_LINES_MAX, "too many lines");
        for pair in self.lines.windows(2) {
            assert!(pair[0].item < pair[1].item, "lines out of order: {pair:?}");
        }
        for line in &self.lines {
            assert!(
                (1..=limits::QUANTITY_MAX).contains(&line.quantity),
                "bad line {line:?}"
            );
        }
    }
}

/// The live cart and the saved one. Only cart commands change the live
/// cart; the saved cart changes only by `save`, `clear` and a purchase.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Carts {
    /// What the buyer is filling now.
    pub(super) live: Cart,
    /// What the live cart goes back to when the buyer's last session ends.
    saved: Cart,
}

impl Carts {
    /// Keeps the live cart across sessions.
    pub(super) fn save(&mut self) {
        self.saved = self.live.clone();
    }

    /// Empties both carts: after a clear there is nothing to go back to.
    pub(super) fn clear(&mut self) {
        self.live = Cart::default();
        self.saved = Cart::default();
    }

    /// Takes what a purchase bought out of both carts. Whatever else is in
    /// them stays: another session of the same buyer may have added to the
    /// cart between the purchase's first step and its last, and what was not
    /// bought must not vanish with the purchase.
    pub(super) fn take_bought(&mut self, bought: impl Iterator<Item = (ItemId, u32)> + Clone) {
        for (item, quantity) in bought.clone() {
            self.live.take(item, quantity);
        }
        for (item, quantity) in bought {
            self.saved.take(item, quantity);
        }
    }

    /// Twice the lines of the larger cart: at least what both hold, and
    /// what they may hold after a save or a revert, which copy one cart
    /// over the other. So only `add` ever raises it (by 2 at most), and
    /// the state's size is checked before an add alone (`capacity.rs`).
    pub(super) fn lines_bound(&self) -> usize {
        2 * self.live.lines().len().max(self.saved.lines().len())
    }

    /// Drops unsaved changes: the live cart becomes the saved one.
    pub(super) fn revert_to_saved(&mut self) {
        self.live = self.saved.clone();
    }

    /// True when the live cart has no unsaved changes.
    #[cfg(test)]
    pub(super) fn is_saved(&self) -> bool {
        self.live == self.saved
    }
}

/// Rejects a quantity outside 1..=`QUANTITY_MAX`.
fn check_quantity(quantity: u32) -> Result<(), MarketError> {
    if quantity == 0 || quantity > limits::QUANTITY_MAX {
        return Err(MarketError::invalid(format!(
            "quantity must be 1..={}, got {quantity}",
            limits::QUANTITY_MAX
        )));
    }
    Ok(())
}

/// "1 unit", "2 units".
fn units(count: u32) -> String {
    if count == 1 {
        "1 unit".to_string()
    } else {
        format!("{count} units")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market::Category;

    fn item(category: i64, number: u64) -> ItemId {
        let category = Category::new(category).expect("test categories are valid");
        ItemId { category, number }
    }

    #[test]
    fn add_merges_lines_and_keeps_them_ordered_by_item() {
        let mut cart = Cart::default();
        cart.add(item(3, 9), 1, 10).expect("in stock");
        cart.add(item(1, 4), 2, 10).expect("in stock");
        cart.add(item(3, 9), 4, 10).expect("in stock");
        let lines: Vec<(String, u32)> = cart
            .lines()
            .iter()
            .map(|line| (line.item.to_string(), line.quantity))
            .collect();
        assert_eq!(lines, [("1-4".to_string(), 2), ("3-9".to_string(), 5)]);
        cart.assert_valid();
    }

    #[test]
    fn remove_says_how_many_units_there_are() {
        let mut cart = Cart::default();
        cart.add(item(1, 1), 1, 10).expect("in stock");
        let error = cart.remove(item(1, 1), 2).expect_err("only one unit");
        assert_eq!(
            error,
            MarketError::invalid("only 1 unit of item 1-1 in the cart")
        );
    }

    #[test]
    fn save_clear_and_revert_move_between_live_and_saved() {
        let mut carts = Carts::default();
        carts.live.add(item(1, 1), 1, 10).expect("in stock");
        carts.save();
        carts.live.add(item(1, 2), 1, 10).expect("in stock");
        assert!(!carts.is_saved());
        carts.revert_to_saved();
        assert_eq!(carts.live.lines().len(), 1);
        carts.clear();
        carts.revert_to_saved();
        assert!(carts.live.is_empty());
    }
}
