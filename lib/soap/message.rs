//! The two values the payment service exchanges: a request to charge a card
//! and the service's decision. Plain data; `envelope.rs` puts them in XML.

/// A request to charge `amount_cents` to a card, as the buyer typed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaymentRequest {
    /// The purchase's client-chosen id. The decision depends on it, so a
    /// retried purchase gets the same answer.
    pub request_id: String,
    /// The name on the card, 1..=64 characters.
    pub card_holder: String,
    /// 12..=19 digits; spaces are allowed and ignored.
    pub card_number: String,
    /// `MM/YY`; the card is valid until the end of that month.
    pub expiry: String,
    /// The amount to charge, in cents, more than zero.
    pub amount_cents: u64,
}

/// The service's answer to a well-formed request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PaymentDecision {
    /// The card may be charged.
    Approved,
    /// The card was refused; the text says why (for the buyer).
    Declined(String),
}

impl PaymentDecision {
    /// Whether the payment went through.
    pub fn is_approved(&self) -> bool {
        matches!(self, PaymentDecision::Approved)
    }
}
