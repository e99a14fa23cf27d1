//! How much the customer state holds, counted as it changes, so that a
//! write that would take it past `CUSTOMER_STATE_BYTES_MAX` is refused
//! (nothing changed) before it is applied, and a snapshot or a state
//! transfer can never meet its own limit (`replicated.rs` asserts the
//! relation).
//!
//! Each part of the state is charged at least what it takes in a snapshot
//! (JSON): an account its name and password as encoded plus a fixed part, a
//! session, a cart line, a purchase, a purchased line and a bought item a
//! fixed worst case each, computed from the field limits. The charges are
//! upper bounds, checked by the tests against the encoding of the largest
//! values the limits allow, and against whole states.
//!
//! The charge is a function of the state alone, so every replica counts the
//! same and refuses the same writes. It is not stored: a restored state is
//! counted afresh (`CustomerState::recount`).

use super::profile::BuyerProfile;
use crate::market::{json_string_bytes, limits, MarketError};

/// What an account takes besides its name and password: the brackets and
/// keys around them, the name index's entry, and an empty profile with its
/// counters at their widest.
pub(super) const ACCOUNT_FIXED_BYTES: u64 = 256;
/// One live session: its token (at most 64 ASCII characters, escaped at
/// most twice) in the session table and in the activity index, the user
/// and the times, and the user's session count.
pub(super) const SESSION_BYTES: u64 = 384;
/// One cart line (live or saved): an item id and a quantity.
pub(super) const CART_LINE_BYTES: u64 = 96;
/// One purchase record without its lines, and its entry in the purchase
/// index: the purchase id twice (at most 73 ASCII characters, escaped at
/// most twice), a time, a buyer and an index.
pub(super) const PURCHASE_BYTES: u64 = 512;
/// One purchased line: an item, its name (32 characters of at most 4
/// bytes), a quantity, a price and a seller.
pub(super) const PURCHASED_LINE_BYTES: u64 = 288;
/// One item a buyer bought, with its seller and feedback.
pub(super) const BOUGHT_ITEM_BYTES: u64 = 128;
/// A purchase under way: its id (escaped at most twice) and an end time.
pub(super) const CART_HOLD_BYTES: u64 = 256;

/// What the state's own fields take beside the charged parts: the field
/// names, the session timeout, the clock's readings (one per replica, at
/// most `MEMBERS_MAX`), empty collections.
pub const STATE_FIXED_BYTES: u64 = 8 * 1024;

/// The largest growth one purchase may bring: a record of `CART_LINES_MAX`
/// lines, each a newly bought item. A purchase under way is charged this
/// from its first step, so its last step, which follows a sale and may
/// not be refused, fits in what was counted.
pub(super) const fn purchase_bytes_max(lines: u64) -> u64 {
    PURCHASE_BYTES + lines * (PURCHASED_LINE_BYTES + BOUGHT_ITEM_BYTES)
}

/// The charges of the state's parts that change in place (accounts and
/// the buyers' profiles); sessions and the request log are counted where
/// they live.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Usage {
    bytes: u64,
}

impl Usage {
    /// The bytes charged so far.
    pub(super) fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Adds a new part's charge.
    pub(super) fn add(&mut self, bytes: u64) {
        self.bytes = self.bytes.saturating_add(bytes);
    }

    /// A part's charge went from `before` to `after`.
    pub(super) fn replace(&mut self, before: u64, after: u64) {
        self.bytes = self.bytes.saturating_sub(before).saturating_add(after);
    }
}

/// The charge of an account with this name and password, profile apart.
pub(super) fn account_bytes(name: &str, password: &str) -> u64 {
    // The name is written twice (the account and the name index).
    ACCOUNT_FIXED_BYTES + 2 * json_string_bytes(name) + json_string_bytes(password)
}

/// The charge of a buyer's profile beyond the fixed part of the account:
/// both carts' lines, the history, the items bought, and a purchase under
/// way with what its completion may add.
pub(super) fn buyer_bytes(profile: &BuyerProfile) -> u64 {
    let footprint = profile.footprint();
    let held = match footprint.held_lines {
        Some(lines) => CART_HOLD_BYTES + purchase_bytes_max(lines),
        None => 0,
    };
    footprint.cart_lines * CART_LINE_BYTES
        + footprint.purchases * PURCHASE_BYTES
        + footprint.purchased_lines * PURCHASED_LINE_BYTES
        + footprint.bought_items * BOUGHT_ITEM_BYTES
        + held
}

/// The refusal of a write that would take the state past its limit.
pub(super) fn full(what: &str) -> MarketError {
    MarketError::Full(format!(
        "the customer database is full ({} MiB): {what} was refused; \
         nothing was changed",
        limits::CUSTOMER_STATE_BYTES_MAX >> 20
    ))
}
