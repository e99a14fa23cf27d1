use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::ids::{Category, ItemId, SellerId};
use super::limits;
use super::{MarketError, Price};

/// An item's condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Condition {
    /// Never used.
    New,
    /// Second hand.
    Used,
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Condition::New => "new",
            Condition::Used => "used",
        })
    }
}

impl FromStr for Condition {
    type Err = MarketError;
    fn from_str(text: &str) -> Result<Self, MarketError> {
        match text.to_ascii_lowercase().as_str() {
            "new" => Ok(Condition::New),
            "used" => Ok(Condition::Used),
            _ => Err(MarketError::invalid(format!(
                "condition must be new or used, got {text:?}"
            ))),
        }
    }
}

/// A thumbs-up or thumbs-down.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Thumb {
    /// Thumbs up.
    Up,
    /// Thumbs down.
    Down,
}

impl FromStr for Thumb {
    type Err = MarketError;
    fn from_str(text: &str) -> Result<Self, MarketError> {
        match text.to_ascii_lowercase().as_str() {
            "up" => Ok(Thumb::Up),
            "down" => Ok(Thumb::Down),
            _ => Err(MarketError::invalid(format!(
                "feedback must be up or down, got {text:?}"
            ))),
        }
    }
}

impl fmt::Display for Thumb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Thumb::Up => "up",
            Thumb::Down => "down",
        })
    }
}

/// Thumbs-up and thumbs-down counts (of an item or a seller).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rating {
    /// Thumbs up.
    pub up: u64,
    /// Thumbs down.
    pub down: u64,
}

impl Rating {
    /// Counts one more thumb.
    pub fn add(&mut self, thumb: Thumb) {
        match thumb {
            Thumb::Up => self.up += 1,
            Thumb::Down => self.down += 1,
        }
    }
}

/// What a seller supplies to put an item up for sale.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemDraft {
    /// 1..=32 characters.
    pub name: String,
    /// 0..=9.
    pub category: Category,
    /// Up to 5 keywords of 1..=8 characters.
    pub keywords: Vec<String>,
    /// New or used.
    pub condition: Condition,
    /// Price per unit.
    pub price: Price,
    /// Units for sale, 1..=QUANTITY_MAX.
    pub quantity: u32,
}

impl ItemDraft {
    /// Checks every field's limit.
    pub fn validate(&self) -> Result<(), MarketError> {
        validate_name("item name", &self.name)?;
        validate_keywords(&self.keywords)?;
        if self.quantity == 0 || self.quantity > limits::QUANTITY_MAX {
            return Err(MarketError::invalid(format!(
                "quantity must be 1..={}, got {}",
                limits::QUANTITY_MAX,
                self.quantity
            )));
        }
        Ok(())
    }
}

/// An item for sale, as the product DB holds and shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    /// `<category>-<n>`.
    pub id: ItemId,
    /// 1..=32 characters.
    pub name: String,
    /// Up to 5 keywords.
    pub keywords: Vec<String>,
    /// New or used.
    pub condition: Condition,
    /// Price per unit.
    pub price: Price,
    /// Units still for sale.
    pub quantity: u32,
    /// Who sells it.
    pub seller: SellerId,
    /// Buyers' feedback on this item.
    pub rating: Rating,
}

/// One line of a cart: an item and how many units of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CartLine {
    /// The item.
    pub item: ItemId,
    /// Units, >= 1.
    pub quantity: u32,
}

/// One line of a completed purchase, as the product DB sold it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurchasedLine {
    /// The item.
    pub item: ItemId,
    /// The item's name at the time of purchase.
    pub name: String,
    /// Units bought.
    pub quantity: u32,
    /// Price per unit at the time of purchase.
    pub price: Price,
    /// Who sold it.
    pub seller: SellerId,
}

/// Checks a name (of an item, a seller or a buyer): 1..=32 characters, no
/// control characters, not only spaces.
pub fn validate_name(what: &str, name: &str) -> Result<(), MarketError> {
    let chars = name.chars().count();
    if chars == 0 || chars > limits::NAME_CHARS_MAX || name.trim().is_empty() {
        return Err(MarketError::invalid(format!(
            "{what} must be 1..={} characters",
            limits::NAME_CHARS_MAX
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(MarketError::invalid(format!(
            "{what} must not contain control characters"
        )));
    }
    Ok(())
}

/// Checks a password: 1..=64 characters, no control characters.
pub fn validate_password(password: &str) -> Result<(), MarketError> {
    let chars = password.chars().count();
    if chars == 0 || chars > limits::PASSWORD_CHARS_MAX || password.chars().any(char::is_control) {
        return Err(MarketError::invalid(format!(
            "password must be 1..={} characters without control characters",
            limits::PASSWORD_CHARS_MAX
        )));
    }
    Ok(())
}

/// Checks a keyword list (of an item or a search): at most 5, each 1..=8
/// characters without spaces.
pub fn validate_keywords(keywords: &[String]) -> Result<(), MarketError> {
    if keywords.len() > limits::KEYWORDS_MAX {
        return Err(MarketError::invalid(format!(
            "at most {} keywords, got {}",
            limits::KEYWORDS_MAX,
            keywords.len()
        )));
    }
    for keyword in keywords {
        let chars = keyword.chars().count();
        if chars == 0
            || chars > limits::KEYWORD_CHARS_MAX
            || keyword.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(MarketError::invalid(format!(
                "keyword {keyword:?} must be 1..={} characters without spaces",
                limits::KEYWORD_CHARS_MAX
            )));
        }
    }
    Ok(())
}
