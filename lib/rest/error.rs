//! The one place where a `MarketError` becomes an HTTP status.

use crate::market::MarketError;

/// The HTTP status that fits an error.
pub fn status_of(error: &MarketError) -> u16 {
    match error {
        MarketError::InvalidInput(_) => 400,
        MarketError::Unauthenticated(_) => 401,
        MarketError::CardDeclined(_) => 402,
        MarketError::Forbidden(_) => 403,
        MarketError::NotFound(_) => 404,
        // A full database is the state refusing the write, as a conflict
        // is: the caller did nothing wrong, and a retry will not help
        // until something is freed.
        MarketError::Conflict(_) | MarketError::InsufficientStock { .. } | MarketError::Full(_) => {
            409
        }
        MarketError::Unavailable(_) => 503,
    }
}

/// The JSON body of an error reply: `{"error": {"kind": ..., "message": ...}}`.
pub fn error_body(error: &MarketError) -> serde_json::Value {
    serde_json::json!({ "error": { "kind": error.kind(), "message": error.to_string() } })
}
