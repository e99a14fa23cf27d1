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
        /// Seller or buyer: each role has its own accounts and ids.
        role: Role,
        /// 1..=32 characters, not taken yet in this role (exact match).
        name: String,
        /// 1..=64 characters, stored as given (see `account.rs`).
        password: String,
    },
    /// Opens a session with `token`, chosen by the receiving replica.
    /// -> `LoggedIn`
    Login {
        /// Which role's accounts to look the name up in.
        role: Role,
        /// The account's name.
        name: String,
        /// Must match the account's exactly; a wrong one and an unknown
        /// name get the same error.
        password: String,
        /// The new session's id, drawn by the receiving replica so that
        /// every replica records the same one.
        token: SessionToken,
    },
    /// Ends the session. -> `Done`
    Logout {
        /// The role the session must be of.
        role: Role,
        /// The session to end; the buyer's unsaved cart reverts when it
        /// was their last live one.
        session: SessionToken,
    },
    /// Checks a session and marks it active. -> `Session`
    Touch {
        /// The role the session must be of.
        role: Role,
        /// The session to check; renewed once its last renewal is older
        /// than the timeout / `SESSION_RENEWAL_SHARE` (`query.rs`).
        session: SessionToken,
    },
    /// The calling seller's own rating and units sold. -> `SellerStanding`
    OwnRating {
        /// The asking seller's session.
        session: SessionToken,
    },
    /// A seller's rating, for a buyer. -> `Rating`
    SellerRating {
        /// The asking buyer's session.
        session: SessionToken,
        /// The seller whose thumbs to return.
        seller: SellerId,
    },
    /// Adds units to the cart; `available` is the item's stock as the
    /// product DB just reported it, and the cart may not hold more than
    /// that. -> `Cart`
    CartAdd {
        /// The buyer's session.
        session: SessionToken,
        /// The item to add units of (its existence was checked by the
        /// frontend with the product DB).
        item: ItemId,
        /// Units to add, 1..=`QUANTITY_MAX`.
        quantity: u32,
        /// The item's units in stock, as the product DB reported them just
        /// before: the cart line may not grow past it.
        available: u32,
    },
    /// Takes units out of the cart (a line reaching 0 goes). -> `Cart`
    CartRemove {
        /// The buyer's session.
        session: SessionToken,
        /// The cart line to take units from.
        item: ItemId,
        /// Units to take out, 1..=`QUANTITY_MAX` and at most what the
        /// line holds.
        quantity: u32,
    },
    /// Keeps the cart across sessions. -> `Done`
    CartSave {
        /// The buyer's session.
        session: SessionToken,
    },
    /// Empties the cart (the saved one too). -> `Done`
    CartClear {
        /// The buyer's session.
        session: SessionToken,
    },
    /// The buyer's cart as it is. -> `Cart`
    CartShow {
        /// The buyer's session.
        session: SessionToken,
    },
    /// First step of a purchase: the cart to buy, or the receipt if
    /// `purchase` was already completed (a retry). -> `PurchaseStarted`
    /// or `Purchased`
    BeginPurchase {
        /// The buying buyer's session.
        session: SessionToken,
        /// The purchase's request id, as the client sent it: the key of the
        /// cart's hold and of the receipt.
        purchase: RequestId,
    },
    /// Last step of a purchase, after the product DB sold `lines`: records
    /// history and counts and empties the cart. Idempotent by `purchase`.
    /// -> `Purchased`
    CompletePurchase {
        /// The buyer `BeginPurchase` named (no session: it may have ended
        /// since the purchase began).
        buyer: BuyerId,
        /// The purchase's request id, as in `BeginPurchase`.
        purchase: RequestId,
        /// What the product DB sold, with each line's price and seller.
        lines: Vec<PurchasedLine>,
    },
    /// Abandons a purchase after its first step (the card was declined, the
    /// stock was short): the cart is released. Changes nothing if the
    /// purchase does not hold the cart. -> `Done`
    AbortPurchase {
        /// The buyer `BeginPurchase` named.
        buyer: BuyerId,
        /// The purchase's request id, as in `BeginPurchase`.
        purchase: RequestId,
    },
    /// Records a buyer's thumb on an item they bought (once per item) and
    /// counts it on its seller. -> `FeedbackRecorded`
    Feedback {
        /// The buyer's session.
        session: SessionToken,
        /// An item in the buyer's history, not yet given feedback.
        item: ItemId,
        /// Up or down.
        thumb: Thumb,
    },
    /// One page of the buyer's purchases, oldest first. -> `History`
    History {
        /// The buyer's session.
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

    /// True for commands that are not kept in the request log: they change
    /// nothing but a session's last-active time (or, for a `ClockReading`,
    /// nothing but what every request changes: the agreed time), so a
    /// repeat may simply run again. Not the same as `is_query` (may skip the
    /// order): a session check that renews must be ordered, yet it is never
    /// logged.
    ///
    /// `BeginPurchase` changes nothing either, but it is kept: its first
    /// answer (the lines handed out, or "cart is empty") is final for the
    /// purchase's id. A frontend thread whose client has gone may resend it
    /// seconds later, after another frontend answered the client and the
    /// client refilled the cart; answered afresh, it would buy the new cart
    /// under the old id (found by the chaos suite). Kept, it gets the first
    /// answer, and the product DB sees the same sale again.
    pub fn skips_request_log(&self) -> bool {
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
    AccountCreated {
        /// A `SellerId` or `BuyerId` by the role: ids count from 1 per role.
        id: u64,
    },
    /// The new session and whose it is.
    LoggedIn {
        /// The token the caller passes with every later call.
        session: SessionToken,
        /// The account's id in its role.
        user: u64,
    },
    /// Applied; nothing to return.
    Done,
    /// The session is live and belongs to `user`.
    Session {
        /// The session holder's account id in its role.
        user: u64,
    },
    /// A seller's thumbs.
    Rating(Rating),
    /// The calling seller's thumbs and units sold so far.
    SellerStanding {
        /// Buyers' thumbs on the seller, over all their items.
        rating: Rating,
        /// Units of the seller's items bought, over all purchases.
        items_sold: u64,
    },
    /// The buyer's cart after the command.
    Cart(Vec<CartLine>),
    /// The purchase may go ahead with these lines.
    PurchaseStarted {
        /// Whose cart it is: `CompletePurchase` and `AbortPurchase` name
        /// them.
        buyer: BuyerId,
        /// The cart's lines, now held for this purchase.
        lines: Vec<CartLine>,
    },
    /// The purchase is recorded.
    Purchased(PurchaseRecord),
    /// Feedback counted on `seller`.
    FeedbackRecorded {
        /// The item's seller, whose thumbs counted it too.
        seller: SellerId,
    },
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
