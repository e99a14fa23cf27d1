//! What each account owns besides its name and password: a seller's rating
//! and sales count; a buyer's carts, purchase history and count, and the
//! items they bought with the feedback given on each.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::cart::Carts;
use super::command::PurchaseRecord;
use crate::market::{limits, ItemId, MarketError, Rating, RequestId, SellerId, Thumb};

/// A seller's own data.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(super) struct SellerProfile {
    /// Buyers' thumbs on this seller's items.
    pub(super) rating: Rating,
    /// Units of this seller's items bought so far.
    pub(super) items_sold: u64,
}

impl SellerProfile {
    /// Counts `quantity` more units sold.
    pub(super) fn count_sale(&mut self, quantity: u32) {
        self.items_sold = self.items_sold.saturating_add(u64::from(quantity));
    }
}

/// A buyer's own data. The carts belong to the buyer, not to a session, so
/// every session of the buyer sees the same cart.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(super) struct BuyerProfile {
    /// The live cart and the saved one.
    pub(super) carts: Carts,
    /// Units bought so far, over all purchases.
    pub(super) items_purchased: u64,
    /// Every completed purchase, oldest first. It is the buyer's data, so it
    /// is kept whole; it only grows.
    pub(super) history: Vec<PurchaseRecord>,
    /// Every item the buyer ever bought: what feedback may be given on.
    #[serde(with = "super::pairs")]
    bought: BTreeMap<ItemId, BoughtItem>,
    /// The purchase under way, which holds the cart (absent in older
    /// snapshots).
    #[serde(default)]
    purchase_under_way: Option<CartHold>,
    /// Lines over the whole history (a count kept beside it, so the
    /// state's size is known without reading the history; not stored:
    /// `recount` makes it from the history after a restore).
    #[serde(skip)]
    purchased_lines: u64,
}

/// How much of each part a buyer's profile holds (`capacity.rs` charges
/// them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Footprint {
    /// Lines the live and the saved cart may hold (`Carts::lines_bound`).
    pub(super) cart_lines: u64,
    /// Completed purchases.
    pub(super) purchases: u64,
    /// Lines over every completed purchase.
    pub(super) purchased_lines: u64,
    /// Distinct items ever bought.
    pub(super) bought_items: u64,
    /// The lines a purchase under way holds, if one does.
    pub(super) held_lines: Option<u64>,
}

/// A purchase holding the buyer's cart: no other command changes the cart
/// until the purchase completes, is abandoned, or `until_ms` passes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct CartHold {
    purchase: RequestId,
    until_ms: u64,
    /// The lines the cart held when the purchase began: what its last step
    /// may add to the history (absent in older snapshots: a whole cart).
    #[serde(default = "cart_lines_max")]
    lines: u64,
}

fn cart_lines_max() -> u64 {
    limits::CART_LINES_MAX as u64
}

/// An item a buyer bought.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct BoughtItem {
    /// Who sold it: where the buyer's feedback counts.
    seller: SellerId,
    /// The buyer's thumb, once given.
    feedback: Option<Thumb>,
}

impl BuyerProfile {
    /// How much of each part the profile holds.
    pub(super) fn footprint(&self) -> Footprint {
        Footprint {
            cart_lines: self.carts.lines_bound() as u64,
            purchases: self.history.len() as u64,
            purchased_lines: self.purchased_lines,
            bought_items: self.bought.len() as u64,
            held_lines: self.purchase_under_way.as_ref().map(|hold| hold.lines),
        }
    }

    /// Empties both carts and drops the purchase under way.
    #[cfg(test)]
    pub(super) fn forget_carts_for_tests(&mut self) {
        self.carts.clear();
        self.purchase_under_way = None;
    }

    /// Counts the history's lines again (after a restore).
    pub(super) fn recount(&mut self) {
        self.purchased_lines = self
            .history
            .iter()
            .map(|record| record.lines.len() as u64)
            .sum();
    }

    /// Refuses a change of the cart while a purchase other than
    /// `purchase` holds it.
    pub(super) fn check_cart_free(
        &self,
        purchase: Option<&RequestId>,
        now_ms: u64,
    ) -> Result<(), MarketError> {
        match &self.purchase_under_way {
            Some(hold) if now_ms < hold.until_ms && Some(&hold.purchase) != purchase => {
                Err(MarketError::Conflict(
                    "the cart is being bought by a purchase under way; try again when it ends"
                        .into(),
                ))
            }
            _ => Ok(()),
        }
    }

    /// `purchase` holds the cart from now for at most `PURCHASE_HOLD_MS`.
    pub(super) fn hold_cart(&mut self, purchase: &RequestId, now_ms: u64) {
        self.purchase_under_way = Some(CartHold {
            purchase: purchase.clone(),
            until_ms: now_ms.saturating_add(limits::PURCHASE_HOLD_MS),
            lines: self.carts.live.lines().len() as u64,
        });
    }

    /// True when `purchase` holds the cart (its hold may have run out).
    pub(super) fn cart_held_by(&self, purchase: &RequestId) -> bool {
        self.purchase_under_way
            .as_ref()
            .is_some_and(|hold| &hold.purchase == purchase)
    }

    /// Releases the cart if `purchase` holds it.
    pub(super) fn release_cart(&mut self, purchase: &RequestId) {
        if self
            .purchase_under_way
            .as_ref()
            .is_some_and(|hold| &hold.purchase == purchase)
        {
            self.purchase_under_way = None;
        }
    }

    /// Appends `record` to the history, counts its units, remembers its
    /// items for feedback and takes what it bought out of both carts (what
    /// else is there, added meanwhile by another session, stays). Returns
    /// the record's index in the history.
    pub(super) fn record_purchase(&mut self, record: PurchaseRecord) -> usize {
        for line in &record.lines {
            self.items_purchased = self
                .items_purchased
                .saturating_add(u64::from(line.quantity));
            // An item's seller never changes, so a second purchase of the
            // same item keeps the first entry and any feedback given on it.
            self.bought.entry(line.item).or_insert(BoughtItem {
                seller: line.seller,
                feedback: None,
            });
        }
        let bought = record.lines.iter().map(|line| (line.item, line.quantity));
        self.carts.take_bought(bought);
        self.purchased_lines += record.lines.len() as u64;
        self.history.push(record);
        self.history.len() - 1
    }

    /// Records the buyer's `thumb` on `item` and returns the seller it
    /// counts on. Only an item the buyer bought, and only once.
    pub(super) fn record_feedback(
        &mut self,
        item: ItemId,
        thumb: Thumb,
    ) -> Result<SellerId, MarketError> {
        let Some(bought) = self.bought.get_mut(&item) else {
            return Err(MarketError::Forbidden(
                "you can give feedback only on items you bought".to_string(),
            ));
        };
        if bought.feedback.is_some() {
            return Err(MarketError::Conflict(format!(
                "feedback already given for item {item}"
            )));
        }
        bought.feedback = Some(thumb);
        Ok(bought.seller)
    }
}
