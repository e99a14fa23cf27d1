//! Request bodies: one struct per call, parsed strictly (unknown fields and
//! wrong types are refused with the parser's reason), then turned into
//! domain values whose limits are checked.

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;

use crate::market::{MarketError, Price};

/// Parses a JSON body into `T`; an empty body counts as `{}`.
pub fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, MarketError> {
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        body
    };
    serde_json::from_slice(body)
        .map_err(|e| MarketError::invalid(format!("invalid JSON body: {e}")))
}

/// `{"name": ..., "password": ...}`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    pub name: String,
    pub password: String,
}

/// The fields of a new item.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewItem {
    pub name: String,
    pub category: i64,
    pub condition: String,
    pub price: Value,
    pub quantity: u32,
    #[serde(default)]
    pub keywords: Vec<String>,
}

/// `{"price": "12.50"}`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewPrice {
    pub price: Value,
}

/// `{"quantity": 3}`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Quantity {
    pub quantity: u32,
}

/// `{"item_id": "3-1", "quantity": 2}`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CartChange {
    pub item_id: String,
    pub quantity: u32,
}

/// The card to pay with.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Card {
    pub card_holder: String,
    pub card_number: String,
    pub expiry: String,
}

/// `{"item_id": "3-1", "thumb": "up"}`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedbackBody {
    pub item_id: String,
    pub thumb: String,
}

/// A price given as a decimal string ("12.50") or a whole number (12).
/// JSON fractions (12.5) are refused: they are floats, and prices are
/// never floats.
pub fn price(value: &Value) -> Result<Price, MarketError> {
    match value {
        Value::String(text) => text.parse(),
        Value::Number(number) if number.is_u64() => {
            let units = number.as_u64().unwrap_or(0);
            Price::from_cents(units.saturating_mul(100))
        }
        _ => Err(MarketError::invalid(
            "price must be a string like \"12.50\" or a whole number",
        )),
    }
}
