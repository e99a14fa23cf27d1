//! The sequential specifications the chaos run checks its histories
//! against, one object per key: an item of the product DB (stock and
//! price), a buyer of the customer DB (cart and purchase history), and an
//! account name (taken once).
//!
//! Each operation carries what the client observed, so `step` both applies
//! it and checks the observation. Refusals that depend on another object
//! (a cart add refused for the item's stock) put no constraint on this one.

use std::collections::BTreeMap;

use super::linearizability::Model;

/// An item's stock and price, in cents. `None` before it is put up.
pub type ItemState = Option<ItemFacts>;

/// What a client can see of an item.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ItemFacts {
    /// Units for sale.
    pub quantity: u32,
    /// Price in cents.
    pub price: u64,
}

/// One call on an item, with what it returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ItemOp {
    /// The item was put up with these facts.
    Put(ItemFacts),
    /// A read (get-item, a search or a seller's list) saw these facts.
    Read(ItemFacts),
    /// A seller's list did not show the item: it has no units.
    SoldOut,
    /// The price was set.
    SetPrice {
        /// The new price, in cents.
        price: u64,
    },
    /// `quantity` units were removed, leaving `left`.
    Remove {
        /// Units taken out.
        quantity: u32,
        /// Units the answer said were left.
        left: u32,
    },
    /// Removing `quantity` units was refused for want of stock.
    RemoveRefused {
        /// Units the refused call asked to take out.
        quantity: u32,
    },
    /// A purchase took `quantity` units at `price`.
    Buy {
        /// Units bought.
        quantity: u32,
        /// Price per unit paid, in cents.
        price: u64,
    },
    /// A write whose answer never came: it may have taken effect or not.
    MaybeSetPrice {
        /// The price it asked for, in cents.
        price: u64,
    },
    /// Likewise for a removal.
    MaybeRemove {
        /// Units it asked to take out.
        quantity: u32,
    },
}

/// The product DB's items.
pub struct ItemModel;

impl Model for ItemModel {
    type State = ItemState;
    type Operation = ItemOp;

    fn step(&self, state: &ItemState, operation: &ItemOp) -> Option<ItemState> {
        let Some(facts) = state else {
            return match operation {
                ItemOp::Put(facts) => Some(Some(*facts)),
                _ => None,
            };
        };
        let with = |quantity: u32, price: u64| Some(Some(ItemFacts { quantity, price }));
        match *operation {
            ItemOp::Put(_) => None,
            ItemOp::Read(seen) => (seen == *facts).then_some(*state),
            ItemOp::SoldOut => (facts.quantity == 0).then_some(*state),
            ItemOp::SetPrice { price } | ItemOp::MaybeSetPrice { price } => {
                with(facts.quantity, price)
            }
            ItemOp::Remove { quantity, left } => (facts.quantity.checked_sub(quantity)
                == Some(left))
            .then(|| with(left, facts.price))?,
            ItemOp::RemoveRefused { quantity } => (facts.quantity < quantity).then_some(*state),
            ItemOp::Buy { quantity, price } => {
                let left = facts.quantity.checked_sub(quantity)?;
                (price == facts.price).then(|| with(left, facts.price))?
            }
            // Taking effect is one choice; the search tries the other by
            // placing it after every observation (its return is never).
            ItemOp::MaybeRemove { quantity } => match facts.quantity.checked_sub(quantity) {
                Some(left) => with(left, facts.price),
                None => Some(*state),
            },
        }
    }
}

/// A buyer's cart (item id to units) and a fingerprint of the purchase
/// history, which keeps the state small for the search's memo.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct BuyerState {
    /// The cart.
    pub cart: BTreeMap<String, u32>,
    /// Purchases so far.
    pub purchases: u32,
    /// [`history_fingerprint`] of those purchases.
    pub fingerprint: u64,
}

/// One call on a buyer's cart or history, with what it returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BuyerOp {
    /// Added units; the cart after it.
    Add {
        /// The item's id.
        item: String,
        /// Units added.
        quantity: u32,
        /// The cart the answer showed: units per item id.
        cart: BTreeMap<String, u32>,
    },
    /// An add refused for the item's stock or existence: no change.
    AddRefused,
    /// Removed units; the cart after it.
    Remove {
        /// The item's id.
        item: String,
        /// Units taken out.
        quantity: u32,
        /// The cart the answer showed: units per item id.
        cart: BTreeMap<String, u32>,
    },
    /// A removal refused: the cart held fewer units of the item.
    RemoveRefused {
        /// The item's id.
        item: String,
        /// Units the refused call asked to take out.
        quantity: u32,
    },
    /// The cart as shown.
    Show {
        /// Units per item id.
        cart: BTreeMap<String, u32>,
    },
    /// Emptied.
    Clear,
    /// A purchase of exactly these lines, which empties the cart.
    Purchase {
        /// Units bought per item id.
        lines: BTreeMap<String, u32>,
    },
    /// A purchase refused (card declined, stock): the cart is not empty
    /// and stays.
    PurchaseRefused,
    /// A purchase refused because the cart is empty.
    PurchaseOfEmptyCart,
    /// A cart change or a purchase refused because another session's
    /// purchase held the cart: no change (and no constraint, since the
    /// hold is not part of the model's state).
    Busy,
    /// The history as listed: how many purchases, and the
    /// [`history_fingerprint`] of their lines, oldest first (a history only
    /// grows, so the record keeps its fingerprint rather than its copy).
    History {
        /// Purchases listed.
        purchases: u32,
        /// Their lines' fingerprint, oldest first.
        fingerprint: u64,
    },
}

/// The fingerprint of a purchase history: order-sensitive, so a lost,
/// doubled or reordered purchase changes it.
pub fn history_fingerprint<'a>(
    purchases: impl IntoIterator<Item = &'a BTreeMap<String, u32>>,
) -> u64 {
    purchases.into_iter().fold(0u64, |fingerprint, lines| {
        extend_fingerprint(fingerprint, lines)
    })
}

fn extend_fingerprint(fingerprint: u64, lines: &BTreeMap<String, u32>) -> u64 {
    // FNV-1a over the previous value and the lines: stable across runs.
    let mut hash = 0xcbf2_9ce4_8422_2325u64 ^ fingerprint;
    let mut feed = |bytes: &[u8]| {
        for byte in bytes {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    };
    for (item, quantity) in lines {
        feed(item.as_bytes());
        feed(&[0]);
        feed(&quantity.to_le_bytes());
    }
    hash
}

/// The customer DB's buyers.
pub struct BuyerModel;

impl Model for BuyerModel {
    type State = BuyerState;
    type Operation = BuyerOp;

    fn step(&self, state: &BuyerState, operation: &BuyerOp) -> Option<BuyerState> {
        let with_cart = |cart: &BTreeMap<String, u32>| {
            Some(BuyerState {
                cart: cart.clone(),
                ..state.clone()
            })
        };
        match operation {
            BuyerOp::Add {
                item,
                quantity,
                cart,
            } => {
                let mut expected = state.cart.clone();
                *expected.entry(item.clone()).or_insert(0) += quantity;
                (expected == *cart).then(|| with_cart(cart))?
            }
            BuyerOp::AddRefused | BuyerOp::Busy => Some(state.clone()),
            BuyerOp::Remove {
                item,
                quantity,
                cart,
            } => {
                let mut expected = state.cart.clone();
                let held = expected.get_mut(item)?;
                *held = held.checked_sub(*quantity)?;
                if *held == 0 {
                    expected.remove(item);
                }
                (expected == *cart).then(|| with_cart(cart))?
            }
            BuyerOp::RemoveRefused { item, quantity } => {
                (state.cart.get(item).copied().unwrap_or(0) < *quantity).then(|| state.clone())
            }
            BuyerOp::Show { cart } => (state.cart == *cart).then(|| state.clone()),
            BuyerOp::Clear => with_cart(&BTreeMap::new()),
            BuyerOp::Purchase { lines } => (state.cart == *lines).then(|| BuyerState {
                cart: BTreeMap::new(),
                purchases: state.purchases + 1,
                fingerprint: extend_fingerprint(state.fingerprint, lines),
            }),
            BuyerOp::PurchaseRefused => (!state.cart.is_empty()).then(|| state.clone()),
            BuyerOp::PurchaseOfEmptyCart => state.cart.is_empty().then(|| state.clone()),
            BuyerOp::History {
                purchases,
                fingerprint,
            } => (*purchases == state.purchases && *fingerprint == state.fingerprint)
                .then(|| state.clone()),
        }
    }
}

/// One attempt to take an account name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NameOp {
    /// The account was created.
    Created,
    /// Refused: the name was taken.
    Taken,
}

/// Account names: each is taken by exactly one successful creation.
pub struct NameModel;

impl Model for NameModel {
    type State = bool;
    type Operation = NameOp;

    fn step(&self, taken: &bool, operation: &NameOp) -> Option<bool> {
        match operation {
            NameOp::Created => (!taken).then_some(true),
            NameOp::Taken => taken.then_some(true),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::linearizability::{check, Timed, Verdict, SEARCH_STEPS_MAX};
    use super::*;

    fn at<O>(call: u64, ret: u64, operation: O) -> Timed<O> {
        Timed {
            call,
            ret: Some(ret),
            operation,
        }
    }

    fn facts(quantity: u32, price: u64) -> ItemFacts {
        ItemFacts { quantity, price }
    }

    fn listed(purchases: &[BTreeMap<String, u32>]) -> BuyerOp {
        BuyerOp::History {
            purchases: purchases.len() as u32,
            fingerprint: history_fingerprint(purchases),
        }
    }

    fn cart(lines: &[(&str, u32)]) -> BTreeMap<String, u32> {
        lines.iter().map(|(i, q)| (i.to_string(), *q)).collect()
    }

    #[test]
    fn two_buyers_race_for_the_last_unit() {
        let put = at(0, 1, ItemOp::Put(facts(1, 500)));
        // Both purchases overlap; only one may succeed.
        let one_wins = [
            put.clone(),
            at(
                2,
                6,
                ItemOp::Buy {
                    quantity: 1,
                    price: 500,
                },
            ),
            at(3, 7, ItemOp::Read(facts(0, 500))),
        ];
        assert_eq!(
            check(&ItemModel, None, &one_wins, SEARCH_STEPS_MAX),
            Verdict::Linearizable
        );
        let both_win = [
            put,
            at(
                2,
                6,
                ItemOp::Buy {
                    quantity: 1,
                    price: 500,
                },
            ),
            at(
                3,
                7,
                ItemOp::Buy {
                    quantity: 1,
                    price: 500,
                },
            ),
        ];
        assert!(matches!(
            check(&ItemModel, None, &both_win, SEARCH_STEPS_MAX),
            Verdict::NotLinearizable { .. }
        ));
    }

    #[test]
    fn a_lost_price_change_is_caught() {
        let history = [
            at(0, 1, ItemOp::Put(facts(3, 500))),
            at(2, 3, ItemOp::SetPrice { price: 700 }),
            at(4, 5, ItemOp::Read(facts(3, 500))),
        ];
        assert!(matches!(
            check(&ItemModel, None, &history, SEARCH_STEPS_MAX),
            Verdict::NotLinearizable { .. }
        ));
    }

    #[test]
    fn a_removal_reports_what_is_left() {
        let history = [
            at(0, 1, ItemOp::Put(facts(5, 500))),
            at(
                2,
                3,
                ItemOp::Remove {
                    quantity: 2,
                    left: 3,
                },
            ),
            at(4, 5, ItemOp::RemoveRefused { quantity: 4 }),
            at(
                6,
                7,
                ItemOp::Remove {
                    quantity: 3,
                    left: 0,
                },
            ),
            at(8, 9, ItemOp::SoldOut),
        ];
        assert_eq!(
            check(&ItemModel, None, &history, SEARCH_STEPS_MAX),
            Verdict::Linearizable
        );
        let doubled = [
            at(0, 1, ItemOp::Put(facts(5, 500))),
            at(
                2,
                3,
                ItemOp::Remove {
                    quantity: 2,
                    left: 3,
                },
            ),
            // The same removal applied twice would leave 1.
            at(4, 5, ItemOp::Read(facts(1, 500))),
        ];
        assert!(matches!(
            check(&ItemModel, None, &doubled, SEARCH_STEPS_MAX),
            Verdict::NotLinearizable { .. }
        ));
    }

    #[test]
    fn an_unanswered_removal_may_have_happened() {
        for seen in [5, 3] {
            let history = [
                at(0, 1, ItemOp::Put(facts(5, 500))),
                Timed {
                    call: 2,
                    ret: None,
                    operation: ItemOp::MaybeRemove { quantity: 2 },
                },
                at(4, 5, ItemOp::Read(facts(seen, 500))),
            ];
            assert_eq!(
                check(&ItemModel, None, &history, SEARCH_STEPS_MAX),
                Verdict::Linearizable,
                "saw {seen}"
            );
        }
    }

    #[test]
    fn a_purchase_empties_the_cart_it_bought() {
        let a1 = cart(&[("1-1", 1)]);
        let history = [
            at(
                0,
                1,
                BuyerOp::Add {
                    item: "1-1".into(),
                    quantity: 1,
                    cart: a1.clone(),
                },
            ),
            // A reader in another session overlaps the purchase.
            at(2, 9, BuyerOp::Show { cart: a1.clone() }),
            at(3, 8, BuyerOp::Purchase { lines: a1.clone() }),
            at(10, 11, BuyerOp::Show { cart: cart(&[]) }),
            at(12, 13, listed(std::slice::from_ref(&a1))),
            at(14, 15, BuyerOp::PurchaseOfEmptyCart),
        ];
        assert_eq!(
            check(
                &BuyerModel,
                BuyerState::default(),
                &history,
                SEARCH_STEPS_MAX
            ),
            Verdict::Linearizable
        );
    }

    #[test]
    fn a_doubled_purchase_is_caught() {
        let a1 = cart(&[("1-1", 1)]);
        let history = [
            at(
                0,
                1,
                BuyerOp::Add {
                    item: "1-1".into(),
                    quantity: 1,
                    cart: a1.clone(),
                },
            ),
            at(3, 8, BuyerOp::Purchase { lines: a1.clone() }),
            at(12, 13, listed(&[a1.clone(), a1.clone()])),
        ];
        assert!(matches!(
            check(
                &BuyerModel,
                BuyerState::default(),
                &history,
                SEARCH_STEPS_MAX
            ),
            Verdict::NotLinearizable { .. }
        ));
    }

    #[test]
    fn a_cart_that_forgets_an_add_is_caught() {
        let history = [
            at(
                0,
                1,
                BuyerOp::Add {
                    item: "1-1".into(),
                    quantity: 2,
                    cart: cart(&[("1-1", 2)]),
                },
            ),
            at(
                2,
                3,
                BuyerOp::Add {
                    item: "1-2".into(),
                    quantity: 1,
                    cart: cart(&[("1-2", 1)]),
                },
            ),
        ];
        assert!(matches!(
            check(
                &BuyerModel,
                BuyerState::default(),
                &history,
                SEARCH_STEPS_MAX
            ),
            Verdict::NotLinearizable { .. }
        ));
    }

    #[test]
    fn a_name_is_taken_once() {
        let race = [at(0, 5, NameOp::Created), at(1, 4, NameOp::Taken)];
        assert_eq!(
            check(&NameModel, false, &race, SEARCH_STEPS_MAX),
            Verdict::Linearizable
        );
        let twice = [at(0, 5, NameOp::Created), at(1, 4, NameOp::Created)];
        assert!(matches!(
            check(&NameModel, false, &twice, SEARCH_STEPS_MAX),
            Verdict::NotLinearizable { .. }
        ));
    }
}
