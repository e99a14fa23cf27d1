use std::fmt;

use serde::{Deserialize, Serialize};

/// Every expected failure of a marketplace operation. State machines return
/// it as part of their result (it is replicated like any outcome); frontends
/// map it once to an HTTP status (`lib/rest/error.rs`) and clients print its
/// message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MarketError {
    /// Input breaks a rule (a limit, a format); the text says which.
    InvalidInput(String),
    /// No session, an unknown one, or one that has expired.
    Unauthenticated(String),
    /// The user may not do this (another seller's item).
    Forbidden(String),
    /// The named thing does not exist.
    NotFound(String),
    /// The request conflicts with the state (name taken, feedback twice).
    Conflict(String),
    /// An item has fewer units than asked for.
    InsufficientStock {
        /// The item's id, as text (`<category>-<n>`).
        item: String,
        /// Units the item has for sale.
        available: u32,
        /// Units asked for (for a cart add: the units the cart line would
        /// hold).
        requested: u32,
    },
    /// The financial service declined the card.
    CardDeclined(String),
    /// A backend could not be reached or did not answer in time.
    Unavailable(String),
    /// The database holds as much as its limit allows: the write would
    /// take it past (`limits::CUSTOMER_STATE_BYTES_MAX`,
    /// `limits::PRODUCT_STATE_BYTES_MAX`). Nothing was changed.
    Full(String),
}

impl MarketError {
    /// A short machine-readable name, used in JSON error bodies and bench
    /// error counts.
    pub fn kind(&self) -> &'static str {
        match self {
            MarketError::InvalidInput(_) => "invalid_input",
            MarketError::Unauthenticated(_) => "unauthenticated",
            MarketError::Forbidden(_) => "forbidden",
            MarketError::NotFound(_) => "not_found",
            MarketError::Conflict(_) => "conflict",
            MarketError::InsufficientStock { .. } => "insufficient_stock",
            MarketError::CardDeclined(_) => "card_declined",
            MarketError::Unavailable(_) => "unavailable",
            MarketError::Full(_) => "full",
        }
    }

    /// Shorthand for `InvalidInput`.
    pub fn invalid(message: impl Into<String>) -> Self {
        MarketError::InvalidInput(message.into())
    }
}

impl fmt::Display for MarketError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MarketError::InvalidInput(m)
            | MarketError::Unauthenticated(m)
            | MarketError::Forbidden(m)
            | MarketError::NotFound(m)
            | MarketError::Conflict(m)
            | MarketError::CardDeclined(m)
            | MarketError::Unavailable(m)
            | MarketError::Full(m) => f.write_str(m),
            MarketError::InsufficientStock {
                item,
                available,
                requested,
            } => write!(
                f,
                "not enough units of item {item}: {available} available, {requested} requested"
            ),
        }
    }
}

impl std::error::Error for MarketError {}
