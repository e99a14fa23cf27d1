//! The approval decision: the input rules a card must pass, then a seeded,
//! deterministic draw that approves with a configured probability.
//!
//! Deterministic on purpose: the draw hashes the seed, the request id and the
//! card number, and keeps no state. A purchase that a client or a frontend
//! retries (same request id) therefore gets the same answer from any replica
//! of the financial service, and tests can predict every answer.

use std::time::{SystemTime, UNIX_EPOCH};

use super::{PaymentDecision, PaymentRequest, SoapError};

/// The longest card holder name, in characters.
const CARD_HOLDER_CHARS_MAX: usize = 64;
/// The shortest card number, in digits (ISO/IEC 7812 allows 8, cards use 12+).
const CARD_DIGITS_MIN: usize = 12;
/// The longest card number, in digits (ISO/IEC 7812).
const CARD_DIGITS_MAX: usize = 19;
/// The longest request id, in characters. Wider than the marketplace's own
/// limit so that a frontend may prefix it (with the buyer id, say).
const REQUEST_ID_CHARS_MAX: usize = 128;
/// The reason given for every declined card.
pub const DECLINE_REASON: &str = "card declined";

/// How the service decides: approve with `approve_probability` (0.0..=1.0),
/// the draw being seeded by `seed`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ApprovalPolicy {
    /// The share of valid requests approved: 0.0 declines all, 1.0 approves all.
    pub approve_probability: f64,
    /// Replicas that must agree use the same seed.
    pub seed: u64,
}

impl ApprovalPolicy {
    /// Checks the policy itself; the server refuses to start with a bad one.
    pub fn validate(&self) -> Result<(), String> {
        if (0.0..=1.0).contains(&self.approve_probability) {
            Ok(())
        } else {
            Err(format!(
                "approve probability must be within 0.0..=1.0, got {}",
                self.approve_probability
            ))
        }
    }

    /// Decides a request, `today` being the (year, month) of the service's
    /// clock, against which the expiry date is checked.
    ///
    /// An invalid request is an `Err` holding the `soap:Client` fault to send;
    /// a declined card is an `Ok`, since a decline is a normal answer.
    pub fn decide(
        &self,
        request: &PaymentRequest,
        today: (u32, u32),
    ) -> Result<PaymentDecision, SoapError> {
        let card_digits = validate(request, today).map_err(SoapError::client_fault)?;
        let draw = uniform(self.seed, &request.request_id, &card_digits);
        if draw < self.approve_probability {
            Ok(PaymentDecision::Approved)
        } else {
            Ok(PaymentDecision::Declined(DECLINE_REASON.to_string()))
        }
    }
}

/// Checks every field and returns the card number's digits (spaces removed),
/// or a sentence naming the broken rule. The card number is never echoed.
fn validate(request: &PaymentRequest, today: (u32, u32)) -> Result<String, String> {
    let id_chars = request.request_id.chars().count();
    if id_chars == 0 || id_chars > REQUEST_ID_CHARS_MAX {
        return Err(format!(
            "request id must be 1..={REQUEST_ID_CHARS_MAX} characters"
        ));
    }
    let holder_chars = request.card_holder.chars().count();
    if request.card_holder.trim().is_empty() || holder_chars > CARD_HOLDER_CHARS_MAX {
        return Err(format!(
            "card holder must be 1..={CARD_HOLDER_CHARS_MAX} characters"
        ));
    }
    let card_digits = card_digits(&request.card_number)?;
    check_expiry(&request.expiry, today)?;
    if request.amount_cents == 0 {
        return Err("amount must be more than zero".to_string());
    }
    Ok(card_digits)
}

/// The digits of a card number typed with optional spaces ("4111 1111 ...").
fn card_digits(card_number: &str) -> Result<String, String> {
    let digits: String = card_number.chars().filter(|c| *c != ' ').collect();
    let all_digits = digits.chars().all(|c| c.is_ascii_digit());
    if !all_digits || !(CARD_DIGITS_MIN..=CARD_DIGITS_MAX).contains(&digits.len()) {
        return Err(format!(
            "card number must be {CARD_DIGITS_MIN}..={CARD_DIGITS_MAX} digits (spaces allowed)"
        ));
    }
    Ok(digits)
}

/// Checks `MM/YY`: a month 01..=12 of year 20YY, not before `today`. A card
/// is good through the last day of its expiry month, so this month passes.
fn check_expiry(expiry: &str, today: (u32, u32)) -> Result<(), String> {
    // The bad text is not echoed: it may be long, and the buyer just typed it.
    let bad_format = || "expiry must be MM/YY with month 01..=12".to_string();
    let (month, year) = expiry.split_once('/').ok_or_else(bad_format)?;
    let two_digits = |s: &str| s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit());
    if !two_digits(month) || !two_digits(year) {
        return Err(bad_format());
    }
    // Both are two ASCII digits, so the parses cannot fail.
    let month: u32 = month.parse().map_err(|_| bad_format())?;
    let year = 2000 + year.parse::<u32>().map_err(|_| bad_format())?;
    if !(1..=12).contains(&month) {
        return Err(bad_format());
    }
    if (year, month) < today {
        return Err(format!("card expired in {expiry}"));
    }
    Ok(())
}

/// A number in [0, 1) drawn from the seed, the request id and the card digits:
/// FNV-1a over their bytes, then the splitmix64 finalizer, whose avalanche
/// FNV alone lacks (FNV's high bits barely move when the last byte changes).
fn uniform(seed: u64, request_id: &str, card_digits: &str) -> f64 {
    let mut hash = Fnv1a::new();
    hash.write(&seed.to_le_bytes());
    // Length prefixes keep ("ab", "c") and ("a", "bc") apart.
    for field in [request_id, card_digits] {
        hash.write(&(field.len() as u64).to_le_bytes());
        hash.write(field.as_bytes());
    }
    let mixed = splitmix64_finalize(hash.state);
    // The top 53 bits fill an f64 mantissa exactly.
    (mixed >> 11) as f64 / (1u64 << 53) as f64
}

/// The 64-bit FNV-1a hash (Fowler, Noll, Vo).
struct Fnv1a {
    state: u64,
}

impl Fnv1a {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;

    fn new() -> Self {
        Fnv1a {
            state: Self::OFFSET_BASIS,
        }
    }

    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.state = (self.state ^ u64::from(*byte)).wrapping_mul(Self::PRIME);
        }
    }
}

/// The output function of Vigna's splitmix64: a bijective 64-bit mix.
fn splitmix64_finalize(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The (year, month) of `now` in UTC, for `ApprovalPolicy::decide`.
pub fn year_month_utc(now: SystemTime) -> (u32, u32) {
    // Times before 1970 do not occur on a server; they read as 1970-01.
    let days = now
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 86_400);
    civil_year_month(days)
}

/// Days since 1970-01-01 to the Gregorian (year, month), after Howard
/// Hinnant's `civil_from_days`: eras of 400 years starting on 1 March.
fn civil_year_month(days_since_epoch: u64) -> (u32, u32) {
    let days = days_since_epoch + 719_468; // days from 0000-03-01
    let era = days / 146_097;
    let day_of_era = days % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153; // 0 = March
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year as u32, month as u32)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::soap::FaultCode;

    const TODAY: (u32, u32) = (2026, 5);

    fn request(request_id: &str) -> PaymentRequest {
        PaymentRequest {
            request_id: request_id.to_string(),
            card_holder: "Ada Lovelace".to_string(),
            card_number: "4111 1111 1111 1111".to_string(),
            expiry: "12/29".to_string(),
            amount_cents: 1_250,
        }
    }

    fn policy(approve_probability: f64) -> ApprovalPolicy {
        ApprovalPolicy {
            approve_probability,
            seed: 7,
        }
    }

    /// The client fault message for `request`, or a panic if it passed.
    fn fault(request: &PaymentRequest) -> String {
        match policy(1.0).decide(request, TODAY) {
            Err(SoapError::Fault {
                code: FaultCode::Client,
                message,
            }) => message,
            other => panic!("expected a client fault, got {other:?}"),
        }
    }

    #[test]
    fn expiry_this_month_passes_and_last_month_fails() {
        let mut this_month = request("r");
        this_month.expiry = "05/26".to_string();
        assert!(policy(1.0).decide(&this_month, TODAY).is_ok());
        let mut next_year = request("r");
        next_year.expiry = "01/27".to_string();
        assert!(policy(1.0).decide(&next_year, TODAY).is_ok());

        let mut last_month = request("r");
        last_month.expiry = "04/26".to_string();
        assert_eq!(fault(&last_month), "card expired in 04/26");
        last_month.expiry = "12/25".to_string();
        assert_eq!(fault(&last_month), "card expired in 12/25");
    }

    #[test]
    fn expiry_must_be_mm_slash_yy() {
        for expiry in [
            "", "1/29", "13/29", "00/29", "12/2029", "12-29", "ab/cd", "+1/29", "12/",
        ] {
            let mut bad = request("r");
            bad.expiry = expiry.to_string();
            assert!(
                fault(&bad).starts_with("expiry must be MM/YY"),
                "{expiry:?}"
            );
        }
    }

    #[test]
    fn card_number_needs_12_to_19_digits_spaces_ignored() {
        let accepted = [
            "411111111111",
            "4111 1111 1111 1111",
            "4111111111111111111",
            " 4111 1111 1111 ",
        ];
        for number in accepted {
            let mut good = request("r");
            good.card_number = number.to_string();
            assert!(policy(1.0).decide(&good, TODAY).is_ok(), "{number:?}");
        }
        let refused = [
            "41111111111",
            "41111111111111111111",
            "4111-1111-1111-1111",
            "4111x11111111",
            "",
        ];
        for number in refused {
            let mut bad = request("r");
            bad.card_number = number.to_string();
            let message = fault(&bad);
            assert!(
                message.starts_with("card number must be 12..=19 digits"),
                "{number:?}"
            );
            assert!(
                !message.contains(number.trim()) || number.is_empty(),
                "never echo a card number"
            );
        }
    }

    #[test]
    fn holder_amount_and_request_id_are_checked() {
        let mut bad = request("r");
        bad.card_holder = "   ".to_string();
        assert!(fault(&bad).starts_with("card holder"));
        bad.card_holder = "x".repeat(65);
        assert!(fault(&bad).starts_with("card holder"));
        bad.card_holder = "é".repeat(64); // 64 characters, 128 bytes: fine
        assert!(policy(1.0).decide(&bad, TODAY).is_ok());

        let mut free = request("r");
        free.amount_cents = 0;
        assert_eq!(fault(&free), "amount must be more than zero");

        assert!(fault(&request("")).starts_with("request id"));
        assert!(fault(&request(&"r".repeat(129))).starts_with("request id"));
    }

    #[test]
    fn decision_is_deterministic_and_ignores_card_spacing() {
        let spaced = request("purchase-42");
        let mut packed = spaced.clone();
        packed.card_number = "4111111111111111".to_string();
        for _ in 0..3 {
            let first = policy(0.5).decide(&spaced, TODAY).unwrap();
            assert_eq!(policy(0.5).decide(&spaced, TODAY).unwrap(), first);
            assert_eq!(policy(0.5).decide(&packed, TODAY).unwrap(), first);
        }
    }

    #[test]
    fn probability_zero_declines_and_one_approves() {
        for i in 0..1_000 {
            let r = request(&format!("id-{i}"));
            assert_eq!(
                policy(0.0).decide(&r, TODAY).unwrap(),
                PaymentDecision::Declined(DECLINE_REASON.to_string())
            );
            assert_eq!(
                policy(1.0).decide(&r, TODAY).unwrap(),
                PaymentDecision::Approved
            );
        }
    }

    #[test]
    fn probability_95_approves_about_95_percent() {
        let approved = (0..10_000)
            .filter(|i| {
                policy(0.95)
                    .decide(&request(&format!("id-{i}")), TODAY)
                    .unwrap()
                    .is_approved()
            })
            .count();
        assert!(
            (9_300..=9_700).contains(&approved),
            "{approved} of 10000 approved"
        );
    }

    #[test]
    fn seed_changes_the_draw() {
        let other = ApprovalPolicy {
            approve_probability: 0.5,
            seed: 8,
        };
        let differs = (0..100).any(|i| {
            let r = request(&format!("id-{i}"));
            policy(0.5).decide(&r, TODAY).unwrap() != other.decide(&r, TODAY).unwrap()
        });
        assert!(differs);
    }

    #[test]
    fn policy_probability_must_be_a_probability() {
        assert!(policy(0.95).validate().is_ok());
        assert!(policy(1.5).validate().is_err());
        assert!(policy(-0.1).validate().is_err());
        assert!(policy(f64::NAN).validate().is_err());
    }

    #[test]
    fn year_month_utc_matches_known_dates() {
        let at = |secs: u64| year_month_utc(UNIX_EPOCH + Duration::from_secs(secs));
        assert_eq!(at(0), (1970, 1));
        assert_eq!(at(951_782_400), (2000, 2)); // 2000-02-29 00:00 UTC
        assert_eq!(at(951_868_799), (2000, 2)); // 2000-02-29 23:59:59
        assert_eq!(at(951_868_800), (2000, 3)); // 2000-03-01
        assert_eq!(at(1_767_225_599), (2025, 12)); // 2025-12-31 23:59:59
        assert_eq!(at(1_767_225_600), (2026, 1)); // 2026-01-01
    }
}
