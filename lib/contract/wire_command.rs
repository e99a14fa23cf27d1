//! What makes a database's request travel as a protobuf message: its
//! message, its reply's, and the conversions both ways (`product/wire.rs`,
//! `customer/wire.rs`). The log encoding, the gRPC service and the client
//! are written once over this trait.

use crate::market::MarketError;

/// What a replica may answer instead of a refusal (which is a status).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer<O> {
    /// The state machine's successful result.
    Outcome(O),
    /// This replica does not take commands now; the hint names the one
    /// that does, if known.
    NotLeader(Option<usize>),
}

/// A database request with a protobuf form.
pub trait WireCommand: Sized {
    /// The request's protobuf message.
    type Wire: protobuf::Message + Clone + Unpin;
    /// The reply's protobuf message.
    type Reply: protobuf::Message + Unpin;
    /// What a successful request returns.
    type Outcome: Send + 'static;

    /// The request's message (every request has one: a unit test
    /// converts each command both ways).
    fn to_wire(&self) -> Result<Self::Wire, MarketError>;

    /// The request a message carries, or why it carries none.
    fn from_wire(wire: Self::Wire) -> Result<Self, MarketError>;

    /// The reply that carries `outcome`.
    fn outcome_to_wire(outcome: &Self::Outcome) -> Self::Reply;

    /// The reply that says "not the leader", with the leader's index or -1.
    fn not_leader(hint: i32) -> Self::Reply;

    /// What a reply carries, or why it carries nothing known.
    fn reply_from_wire(reply: Self::Reply) -> Result<Answer<Self::Outcome>, MarketError>;
}

/// The leader hint of a `NotLeader` reply.
pub fn leader_of(hint: i32) -> Option<usize> {
    usize::try_from(hint).ok()
}
