//! What the customer DB's state machine takes and returns. A
//! `CustomerRequest` is exactly what the atomic broadcast orders and what
//! the gRPC `Execute` call carries (JSON-encoded).

use serde::{Deserialize, Serialize};

use crate::market::{
    BuyerId, CartLine, HistoryPage, ItemId, MarketError, PurchasedLine, Rating, RequestId, Role,
    SellerId, SessionToken, Thumb,
};

/// A command with everything that varies between replicas fixed in it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerRequest {
    /// A retry with the same id gets the first result (writes only).
    pub request_id: RequestId,
    /// Wall-clock milliseconds since the Unix epoch, read once by the
    /// customer-DB replica that received the request. Every replica applies
    /// the same reading; the time they judge by is the median of the
    /// replicas' latest readings (`clock.rs`).
    pub now_ms: u64,
    /// The index of the replica that read `now_ms` (absent in requests
    /// written before the median rule, and from clients: the receiving
    /// replica fills it in).
    #[serde(default)]
    pub read_by: Option<u16>,
    /// What to do.
    pub command: CustomerCommand,
}

/// Every customer-DB operation. All but `CreateAccount`, `Login` and
/// `CompletePurchase` act for the holder of `session`; a session of the
/// wrong role is treated as unknown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CustomerCommand {
    /// Nothing but the receiving replica's clock reading, which it puts
    /// into the log when it has put nothing there for a while, so that the
    /// agreed time moves on (`clock.rs`). Not kept in the request log.
    /// -> `Done`
    ClockReading,
    /// New account; names are unique per role. -> `AccountCreated`
    CreateAccount {
        role: Role,
        name: String,
        password: String,
    },
    /// Opens a session with `token`, chosen by the receiving replica.
    /// -> `LoggedIn`
    Login {
        role: Role,
        name: String,
        password: String,
        token: SessionToken,
    },
    /// Ends the session. -> `Done`
    Logout { role: Role, session: SessionToken },
    /// Checks a session and marks it active. -> `Session`
    Touch { role: Role, session: SessionToken },
    /// The calling seller's own rating and units sold. -> `SellerStanding`
    OwnRating { session: SessionToken },
    /// A seller's rating, for a buyer. -> `Rating`
    SellerRating {
        session: SessionToken,
        seller: SellerId,
    },
    /// Adds units to the cart; `available` is the item's stock as the
    /// product DB just reported it, and the cart may not hold more than
    /// that. -> `Cart`
    CartAdd {
        session: SessionToken,
        item: ItemId,
        quantity: u32,
        available: u32,
    },
    /// Takes units out of the cart (a line reaching 0 goes). -> `Cart`
    CartRemove {
        session: SessionToken,
        item: ItemId,
        quantity: u32,
    },
    /// Keeps the cart across sessions. -> `Done`
    CartSave { session: SessionToken },
    /// Empties the cart (the saved one too). -> `Done`
    CartClear { session: SessionToken },
    /// -> `Cart`
    CartShow { session: SessionToken },
    /// First step of a purchase: the cart to buy, or the receipt if
    /// `purchase` was already completed (a retry). -> `PurchaseStarted`
    /// or `Purchased`
    BeginPurchase {
        session: SessionToken,
        purchase: RequestId,
    },
    /// Last step of a purchase, after the product DB sold `lines`: records
    /// history and counts and empties the cart. Idempotent by `purchase`.
    /// -> `Purchased`
    CompletePurchase {
        buyer: BuyerId,
        purchase: RequestId,
        lines: Vec<PurchasedLine>,
    },
    /// Abandons a purchase after its first step (the card was declined, the
    /// stock was short): the cart is released. Changes nothing if the
    /// purchase does not hold the cart. -> `Done`
    AbortPurchase { buyer: BuyerId, purchase: RequestId },
    /// Records a buyer's thumb on an item they bought (once per item) and
    /// counts it on its seller. -> `FeedbackRecorded`
    Feedback {
        session: SessionToken,
        item: ItemId,
        thumb: Thumb,
    },
    /// One page of the buyer's purchases, oldest first. -> `History`
    History {
        session: SessionToken,
        /// Which page (absent in commands logged before paging: the first).
        #[serde(default)]
        page: HistoryPage,
    },
}

impl CustomerCommand {
    /// Who asks and what, for the request log: the command with the fields
    /// a frontend derives anew on each attempt blanked (a login's token,
    /// which the receiving replica draws; an add's `available`, read from
    /// the product DB just before). A retry has the same fingerprint; the
    /// same id from another caller, or for another command, does not.
    pub fn fingerprint(&self) -> String {
        let mut stable = self.clone();
        match &mut stable {
            CustomerCommand::Login { token, .. } => *token = SessionToken(String::new()),
            CustomerCommand::CartAdd { available, .. } => *available = 0,
            _ => {}
        }
        serde_json::to_string(&stable).unwrap_or_default()
    }

    /// True for commands that change nothing but a session's last-active
    /// time (or, for a `ClockReading`, nothing but what every request
    /// changes: the agreed time); they are not kept in the request log.
    ///
    /// `BeginPurchase` changes nothing either, but it is kept: its first
    /// answer (the lines handed out, or "cart is empty") is final for the
    /// purchase's id. A frontend thread whose client has gone may resend it
    /// seconds later, after another frontend answered the client and the
    /// client refilled the cart; answered afresh, it would buy the new cart
    /// under the old id (found by the chaos suite). Kept, it gets the first
    /// answer, and the product DB sees the same sale again.
    pub fn is_read_only(&self) -> bool {
        matches!(self, CustomerCommand::ClockReading) || self.is_query()
    }

    /// True for the commands that only read, behind a session check (a
    /// bare session check, the ratings, the cart, the history): a replica
    /// may answer them from its state (`CustomerState::query`).
    pub fn is_query(&self) -> bool {
        self.query_session().is_some()
    }

    /// The session a query checks, and the role it must be of; `None` for
    /// any command that is not a query.
    pub fn query_session(&self) -> Option<(Role, &SessionToken)> {
        match self {
            CustomerCommand::Touch { role, session } => Some((*role, session)),
            CustomerCommand::OwnRating { session } => Some((Role::Seller, session)),
            CustomerCommand::SellerRating { session, .. }
            | CustomerCommand::CartShow { session }
            | CustomerCommand::History { session, .. } => Some((Role::Buyer, session)),
            _ => None,
        }
    }
}

/// One purchase in a buyer's history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurchaseRecord {
    /// The purchase's request id.
    pub purchase: RequestId,
    /// When the purchase completed (ms since the epoch).
    pub at_ms: u64,
    /// What was bought.
    pub lines: Vec<PurchasedLine>,
}

/// A successful result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CustomerOutcome {
    /// The new account's id.
    AccountCreated { id: u64 },
    /// The new session and whose it is.
    LoggedIn { session: SessionToken, user: u64 },
    /// Applied; nothing to return.
    Done,
    /// The session is live and belongs to `user`.
    Session { user: u64 },
    /// A seller's thumbs.
    Rating(Rating),
    /// The calling seller's thumbs and units sold so far.
    SellerStanding { rating: Rating, items_sold: u64 },
    /// The buyer's cart after the command.
    Cart(Vec<CartLine>),
    /// The purchase may go ahead with these lines.
    PurchaseStarted {
        buyer: BuyerId,
        lines: Vec<CartLine>,
    },
    /// The purchase is recorded.
    Purchased(PurchaseRecord),
    /// Feedback counted on `seller`.
    FeedbackRecorded { seller: SellerId },
    /// The buyer's purchases.
    History {
        /// The page's purchases, oldest first.
        purchases: Vec<PurchaseRecord>,
        /// Where the next page starts, if more purchases follow.
        next: Option<usize>,
    },
}

/// The state machine's answer to one request.
pub type CustomerResult = Result<CustomerOutcome, MarketError>;
