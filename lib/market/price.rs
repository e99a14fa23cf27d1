use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::limits;
use super::MarketError;

/// A price in cents. Written and parsed as a decimal string with at most
/// two fractional digits ("12", "12.5", "12.50"); never a float, so no
/// amount is ever rounded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Price {
    cents: u64,
}

impl Price {
    /// A price of `cents`, which must be in 1..=PRICE_CENTS_MAX.
    pub fn from_cents(cents: u64) -> Result<Self, MarketError> {
        if cents == 0 || cents > limits::PRICE_CENTS_MAX {
            return Err(MarketError::invalid(format!(
                "price must be greater than 0 and at most {}",
                Price {
                    cents: limits::PRICE_CENTS_MAX
                }
            )));
        }
        Ok(Price { cents })
    }

    /// The amount in cents.
    pub fn cents(self) -> u64 {
        self.cents
    }
}

impl fmt::Display for Price {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}", self.cents / 100, self.cents % 100)
    }
}

impl FromStr for Price {
    type Err = MarketError;
    fn from_str(text: &str) -> Result<Self, MarketError> {
        let bad = || {
            MarketError::invalid(format!(
                "price must be a decimal number with at most two decimals, got {text:?}"
            ))
        };
        let (units, fraction) = match text.split_once('.') {
            Some((units, fraction)) => (units, fraction),
            None => (text, ""),
        };
        let digits_only = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if units.is_empty() || units.len() > 12 || fraction.len() > 2 {
            return Err(bad());
        }
        if !digits_only(units)
            || !digits_only(fraction)
            || (text.contains('.') && fraction.is_empty())
        {
            return Err(bad());
        }
        let units: u64 = units.parse().map_err(|_| bad())?;
        let fraction_cents: u64 = match fraction.len() {
            0 => 0,
            1 => fraction.parse::<u64>().map_err(|_| bad())? * 10,
            _ => fraction.parse().map_err(|_| bad())?,
        };
        let cents = units
            .checked_mul(100)
            .and_then(|c| c.checked_add(fraction_cents))
            .ok_or_else(bad)?;
        Price::from_cents(cents)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_decimal_strings_exactly() {
        assert_eq!("12".parse::<Price>().unwrap().cents(), 1200);
        assert_eq!("12.5".parse::<Price>().unwrap().cents(), 1250);
        assert_eq!("0.01".parse::<Price>().unwrap().cents(), 1);
        assert_eq!("19.99".parse::<Price>().unwrap().to_string(), "19.99");
    }

    #[test]
    fn rejects_what_is_not_a_positive_two_decimal_amount() {
        for bad in [
            "",
            "0",
            "0.00",
            "-1",
            "1.234",
            "1.",
            ".5",
            "1e3",
            "abc",
            " 1",
            "1,5",
            "99999999999999",
        ] {
            assert!(bad.parse::<Price>().is_err(), "{bad:?} should be rejected");
        }
    }
}
