//! What makes a database's request travel over gRPC: its protobuf message,
//! its reply's, and the conversions both ways (`product_wire.rs`,
//! `customer_wire.rs`). The service, the client and the log encoding are
//! written once over this trait.

use grpcio::Method;

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

/// A decoded request message, or why its bytes are none (the service then
/// refuses the call with a clear status instead of gRPC's INTERNAL).
pub type Checked<T> = Result<T, String>;

/// A database request with a protobuf form.
pub trait WireCommand: Sized {
    /// The request's protobuf message.
    type Wire: protobuf::Message + Clone + Unpin;
    /// The reply's protobuf message.
    type Reply: protobuf::Message + Unpin;
    /// What a successful request returns.
    type Outcome: Send + 'static;

    /// The `Execute` call as a client makes it.
    const EXECUTE: Method<Self::Wire, Self::Reply>;
    /// The `Execute` call as a replica serves it: a request that does not
    /// decode reaches the handler as the reason.
    const EXECUTE_CHECKED: Method<Checked<Self::Wire>, Self::Reply>;

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
