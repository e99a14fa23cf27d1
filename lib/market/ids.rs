//! The domain's ids: who a seller or a buyer is, an item and its category,
//! a session and a client's request id, and a user's role. What they name
//! is the marketplace's business; the protocol cores number their own
//! things (`raft/ids.rs`, `sequencer/ids.rs`) and never see these.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::limits;
use super::MarketError;

/// A seller's id, assigned by the customer DB in creation order from 1.
pub type SellerId = u64;
/// A buyer's id, assigned by the customer DB in creation order from 1.
pub type BuyerId = u64;

/// An item category, 0..=9. Decoding checks the range too, so a command
/// from the network cannot carry category 200.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct Category(u8);

impl TryFrom<i64> for Category {
    type Error = MarketError;
    fn try_from(value: i64) -> Result<Self, MarketError> {
        Category::new(value)
    }
}

impl From<Category> for i64 {
    fn from(category: Category) -> i64 {
        i64::from(category.0)
    }
}

impl Category {
    /// Checks the range.
    pub fn new(value: i64) -> Result<Self, MarketError> {
        if (0..=limits::CATEGORY_MAX as i64).contains(&value) {
            Ok(Category(value as u8))
        } else {
            Err(MarketError::invalid(format!(
                "category must be an integer 0..={}, got {value}",
                limits::CATEGORY_MAX
            )))
        }
    }

    /// The category's number.
    pub fn get(self) -> u8 {
        self.0
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for Category {
    type Err = MarketError;
    fn from_str(text: &str) -> Result<Self, MarketError> {
        let value: i64 = text.trim().parse().map_err(|_| {
            MarketError::invalid(format!("category must be an integer 0..=9, got {text:?}"))
        })?;
        Category::new(value)
    }
}

/// An item's id, shown as `<category>-<n>`; `n` is unique cluster-wide
/// (the product DB counts items from 1), so the category part is a reading
/// aid, not part of the key's uniqueness.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ItemId {
    /// The item's category.
    pub category: Category,
    /// The item's number, unique across all categories.
    pub number: u64,
}

impl fmt::Display for ItemId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.category, self.number)
    }
}

impl FromStr for ItemId {
    type Err = MarketError;
    fn from_str(text: &str) -> Result<Self, MarketError> {
        let bad = || {
            MarketError::invalid(format!(
                "item id must look like <category>-<number>, got {text:?}"
            ))
        };
        let (category, number) = text.trim().split_once('-').ok_or_else(bad)?;
        let category: Category = category.parse().map_err(|_| bad())?;
        let number: u64 = number.parse().map_err(|_| bad())?;
        if number == 0 {
            return Err(bad());
        }
        Ok(ItemId { category, number })
    }
}

/// Which kind of account a session or an operation belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Role {
    /// Lists items for sale.
    Seller,
    /// Searches, fills a cart and buys.
    Buyer,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Seller => "seller",
            Role::Buyer => "buyer",
        })
    }
}

/// A session id: 32 hex characters chosen at random by the customer-DB
/// replica that receives the login, carried in the replicated command so
/// every replica records the same one.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SessionToken(pub String);

impl fmt::Display for SessionToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A client-chosen id that makes a command idempotent: the databases keep
/// the result of each recent request id and answer a retry with it instead
/// of applying the command again.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RequestId(pub String);

impl RequestId {
    /// Checks a client's id: length and characters (printable ASCII, no
    /// spaces).
    pub fn parse(text: &str) -> Result<Self, MarketError> {
        Self::parse_within(text, limits::REQUEST_ID_CHARS_MAX)
    }

    /// Checks an id a database is asked to keep: a client's, or one a
    /// frontend derived from it for a step of its own
    /// ([`RequestId::purchase_step`]), which is longer.
    pub fn parse_for_database(text: &str) -> Result<Self, MarketError> {
        Self::parse_within(text, limits::DATABASE_REQUEST_ID_CHARS_MAX)
    }

    /// The id of a purchase's last step (completing it in the customer
    /// DB), derived from the purchase's own id.
    pub fn purchase_step(purchase: &RequestId) -> RequestId {
        RequestId(format!("{}{}", purchase.0, limits::PURCHASE_STEP_SUFFIX))
    }

    /// The id of the step that abandons a purchase after its first step.
    pub fn purchase_abort_step(purchase: &RequestId) -> RequestId {
        RequestId(format!("{}{}", purchase.0, limits::PURCHASE_ABORT_SUFFIX))
    }

    fn parse_within(text: &str, chars_max: usize) -> Result<Self, MarketError> {
        let ok = !text.is_empty()
            && text.len() <= chars_max
            && text.bytes().all(|b| b.is_ascii_graphic());
        if ok {
            Ok(RequestId(text.to_string()))
        } else {
            Err(MarketError::invalid(format!(
                "request id must be 1..={chars_max} printable ASCII characters"
            )))
        }
    }

    /// A fresh random id (128 bits, hex).
    pub fn random() -> Self {
        RequestId(format!("{:032x}", rand::random::<u128>()))
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
