//! `CustomerState`: the customer database's state machine. `apply` is the
//! only way in. The rules it keeps:
//!
//! - **Deterministic.** The only clock is the replicas' readings carried
//!   in the requests (`now_ms`), of which the state keeps the median
//!   (`clock.rs`: one replica's bad clock cannot end sessions), and
//!   session tokens arrive inside `Login`. Everything read in order is
//!   ordered (`BTreeMap`, `BTreeSet`, sorted `Vec`), so replicas that apply
//!   the same requests in the same order hold equal states and give equal
//!   answers.
//! - **Exactly once.** A write (`!skips_request_log()`) whose request id is in
//!   the request log is answered with its first result, errors included,
//!   and not applied again. Reads are never recorded.
//! - **Sessions.** Every request first ends the sessions idle for the
//!   timeout or longer (last activity + timeout <= now, the agreed time).
//!   A command naming a session that is unknown, ended or of the other role
//!   is refused as `Unauthenticated`. Every command that names a live
//!   session of the right role counts as activity (reads too, and commands that then fail: the
//!   user was active), and a session's last activity never goes back.
//! - **Accounts.** Ids count from 1, separately per role. Names are unique
//!   per role. Passwords are stored as given (a production system would
//!   store a salted slow hash; out of scope here). A user may hold many
//!   sessions at once.
//! - **Carts.** The cart belongs to the buyer, not to a session. When the
//!   buyer's last session ends (logout or expiry), the live cart goes back
//!   to the saved one; while another session is live it stays, because that
//!   session may still be working on it.
//! - **Purchases** take two commands around the product DB's sale:
//!   `BeginPurchase` hands out the cart and holds it for the purchase (no
//!   other command changes it) and `CompletePurchase` records the sale and
//!   releases it; `AbortPurchase` releases it after a refusal, and the hold
//!   ends by itself after `PURCHASE_HOLD_MS`. Begin and Complete are
//!   idempotent by purchase id, apart from the request log.
//! - **Feedback** only on an item the buyer bought, once per item; it counts
//!   on the item's seller.
//! - **No panics on input.** Every field from the network is checked against
//!   its limit and every count saturates. Only a broken internal invariant
//!   panics.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::account::Accounts;
use super::capacity::{self, Usage};
use super::clock::AgreedClock;
use super::command::{
    CustomerCommand, CustomerOutcome, CustomerRequest, CustomerResult, PurchaseRecord,
};
use super::profile::{BuyerProfile, SellerProfile};
use super::session::{check_token, EndedSession, Sessions};
use crate::market::{
    limits, request_id_reused, validate_name, BuyerId, ItemId, MarketError, Price, PurchasedLine,
    Replay, RequestId, RequestLog, Role, SellerId, SessionToken, Thumb,
};

/// Every seller and buyer, their sessions, carts, purchases and feedback,
/// and the results of recent writes.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CustomerState {
    /// A session ends after this long without activity.
    pub(super) session_timeout_ms: u64,
    pub(super) sellers: Accounts<SellerProfile>,
    pub(super) buyers: Accounts<BuyerProfile>,
    /// Seller and buyer sessions are kept apart, so a token used with the
    /// wrong role is simply not found. Tokens are unique across both.
    pub(super) seller_sessions: Sessions,
    pub(super) buyer_sessions: Sessions,
    /// Index over the buyers' histories: where each completed purchase's
    /// record is, so that a retried purchase is found in O(log n).
    purchases: BTreeMap<RequestId, CompletedPurchase>,
    /// The first result of each recent write, by request id.
    requests: RequestLog<CustomerResult>,
    /// The time the replicas agree on (absent from older snapshots).
    #[serde(default)]
    pub(super) clock: AgreedClock,
    /// What the accounts and the buyers' profiles are charged
    /// (`capacity.rs`). Not stored: a restored state has none until its
    /// first write that needs it counts it afresh (`counted_usage`).
    #[serde(skip)]
    usage: Option<Usage>,
    /// `CUSTOMER_STATE_BYTES_MAX`, but for tests, which fill a smaller one.
    #[serde(skip, default = "state_bytes_max")]
    bytes_max: u64,
}

fn state_bytes_max() -> u64 {
    limits::CUSTOMER_STATE_BYTES_MAX
}

/// Where a completed purchase's record is.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct CompletedPurchase {
    buyer: BuyerId,
    history_index: usize,
}

impl CustomerState {
    /// No accounts, no sessions. A session ends after `session_timeout_ms`
    /// without activity.
    ///
    /// # Panics
    /// If `session_timeout_ms` is 0: every session would end the moment it
    /// began (configuration validation should have refused it).
    pub fn new(session_timeout_ms: u64) -> Self {
        assert!(
            session_timeout_ms > 0,
            "the session timeout must be positive"
        );
        CustomerState {
            session_timeout_ms,
            sellers: Accounts::new(Role::Seller),
            buyers: Accounts::new(Role::Buyer),
            seller_sessions: Sessions::default(),
            buyer_sessions: Sessions::default(),
            purchases: BTreeMap::new(),
            requests: RequestLog::new(),
            clock: AgreedClock::default(),
            usage: Some(Usage::default()),
            bytes_max: state_bytes_max(),
        }
    }

    /// What the accounts and profiles are charged, counted afresh if this
    /// state was restored and has not counted them yet.
    fn counted_usage(&mut self) -> &Usage {
        self.usage.get_or_insert_with(|| {
            for profile in self.buyers.profiles_mut() {
                profile.recount();
            }
            let mut usage = Usage::default();
            usage.add(self.sellers.bytes() + self.buyers.bytes());
            for profile in self.buyers.profiles_mut() {
                usage.add(capacity::buyer_bytes(profile));
            }
            usage
        })
    }

    /// What the state is charged (`capacity.rs`), the request log apart
    /// (it keeps within its own limit by forgetting its oldest results).
    pub fn charged_bytes(&mut self) -> u64 {
        let sessions = (self.seller_sessions.len() + self.buyer_sessions.len()) as u64;
        self.counted_usage().bytes() + sessions * capacity::SESSION_BYTES
    }

    /// Refuses a write that may add up to `growth` bytes when they would
    /// take the state past `CUSTOMER_STATE_BYTES_MAX`.
    fn check_room(&mut self, growth: u64, what: &str) -> Result<(), MarketError> {
        if self.charged_bytes().saturating_add(growth) > self.bytes_max {
            return Err(capacity::full(what));
        }
        Ok(())
    }

    /// Applies one request and returns its result.
    ///
    /// The request's clock reading moves the agreed time (`clock.rs`), and
    /// sessions idle at that time end first, whatever the command. Then a
    /// command kept out of the request log (`CustomerCommand::skips_request_log`:
    /// the queries, a bare `ClockReading` too) is
    /// answered from the state and never recorded: recording it would evict results that
    /// retries of writes still need. A write whose request id is in the
    /// request log gets its first result, errors included, without being
    /// applied again; any other write is applied and its result recorded.
    pub fn apply(&mut self, request: &CustomerRequest) -> CustomerResult {
        let now_ms = self.clock.observe(request.read_by, request.now_ms);
        self.expire_sessions(now_ms);
        if request.command.skips_request_log() {
            return self.execute(&request.command, now_ms);
        }
        // The id becomes a key of the request log, so one that breaks the
        // id limits is refused before anything is stored under it.
        RequestId::parse_for_database(&request.request_id.0)?;
        let fingerprint = request.command.fingerprint();
        match self.requests.replay(&request.request_id, &fingerprint) {
            Replay::Repeat(first_result) => return first_result.clone(),
            Replay::Reused => return Err(request_id_reused(&request.request_id)),
            Replay::Fresh => {}
        }
        let result = self.execute(&request.command, now_ms);
        self.requests
            .record(request.request_id.clone(), fingerprint, result.clone());
        result
    }

    /// Units of `seller`'s items bought so far, if the seller exists.
    pub fn seller_items_sold(&self, seller: SellerId) -> Option<u64> {
        self.sellers
            .profile(seller)
            .map(|profile| profile.items_sold)
    }

    /// Units `buyer` has bought so far, if the buyer exists.
    pub fn buyer_items_purchased(&self, buyer: BuyerId) -> Option<u64> {
        self.buyers
            .profile(buyer)
            .map(|profile| profile.items_purchased)
    }

    /// Runs one command against the state, without the request log.
    fn execute(&mut self, command: &CustomerCommand, now_ms: u64) -> CustomerResult {
        use CustomerCommand as Command;
        if let Some((role, session)) = command.query_session() {
            // A query that is ordered (to renew its session) gets the answer
            // `query` would give, after the renewal.
            let user = self.enter(role, session, now_ms)?;
            return self.answer(command, user);
        }
        match command {
            Command::ClockReading => Ok(CustomerOutcome::Done),
            Command::CreateAccount {
                role,
                name,
                password,
            } => self.create_account(*role, name, password),
            Command::Login {
                role,
                name,
                password,
                token,
            } => self.log_in(*role, name, password, token, now_ms),
            Command::Logout { role, session } => self.log_out(*role, session),
            Command::BeginPurchase { session, purchase } => {
                self.begin_purchase(session, purchase, now_ms)
            }
            Command::CompletePurchase {
                buyer,
                purchase,
                lines,
            } => self.complete_purchase(*buyer, purchase, lines, now_ms),
            Command::AbortPurchase { buyer, purchase } => {
                self.change_buyer(*buyer, |profile| profile.release_cart(purchase));
                Ok(CustomerOutcome::Done)
            }
            Command::Feedback {
                session,
                item,
                thumb,
            } => self.give_feedback(session, *item, *thumb, now_ms),
            Command::CartAdd {
                session,
                item,
                quantity,
                available,
            } => {
                // A new line raises the carts' charge by two lines at most.
                self.check_room(2 * capacity::CART_LINE_BYTES, "adding to the cart")?;
                self.changing_cart(session, now_ms, |buyer| {
                    buyer.carts.live.add(*item, *quantity, *available)?;
                    Ok(show_cart(buyer))
                })
            }
            Command::CartRemove {
                session,
                item,
                quantity,
            } => self.changing_cart(session, now_ms, |buyer| {
                buyer.carts.live.remove(*item, *quantity)?;
                Ok(show_cart(buyer))
            }),
            Command::CartSave { session } => self.with_buyer(session, now_ms, save_cart),
            Command::CartClear { session } => self.changing_cart(session, now_ms, clear_cart),
            Command::Touch { .. }
            | Command::OwnRating { .. }
            | Command::SellerRating { .. }
            | Command::History { .. }
            | Command::CartShow { .. } => unreachable!("queries are answered above"),
        }
    }

    // Accounts and sessions.

    fn create_account(&mut self, role: Role, name: &str, password: &str) -> CustomerResult {
        let bytes = capacity::account_bytes(name, password);
        self.check_room(bytes, "a new account")?;
        let id = match role {
            Role::Seller => self.sellers.create(name, password)?,
            Role::Buyer => self.buyers.create(name, password)?,
        };
        // A new profile is empty: charged nothing beyond the account.
        if let Some(usage) = &mut self.usage {
            usage.add(bytes);
        }
        Ok(CustomerOutcome::AccountCreated { id })
    }

    /// Opens a session under `token`, which the receiving replica chose.
    fn log_in(
        &mut self,
        role: Role,
        name: &str,
        password: &str,
        token: &SessionToken,
        now_ms: u64,
    ) -> CustomerResult {
        check_token(token)?;
        let user = match role {
            Role::Seller => self.sellers.authenticate(name, password)?,
            Role::Buyer => self.buyers.authenticate(name, password)?,
        };
        // Tokens are unique across both roles, so a token names one session.
        // Replicas draw 128 random bits, so a clash means a bug or an attack.
        if self.seller_sessions.contains(token) || self.buyer_sessions.contains(token) {
            return Err(MarketError::Conflict(
                "session token already in use".to_string(),
            ));
        }
        self.check_room(capacity::SESSION_BYTES, "a new session")?;
        self.sessions_mut(role).open(token.clone(), user, now_ms);
        Ok(CustomerOutcome::LoggedIn {
            session: token.clone(),
            user,
        })
    }

    fn log_out(&mut self, role: Role, session: &SessionToken) -> CustomerResult {
        let ended = self
            .sessions_mut(role)
            .close(session)
            .ok_or_else(unknown_session)?;
        self.settle_ended_session(role, ended);
        Ok(CustomerOutcome::Done)
    }

    /// Ends every session idle at `now_ms` (lazy expiry: the state has no
    /// timer, so each request does the ending its time calls for).
    fn expire_sessions(&mut self, now_ms: u64) {
        let timeout_ms = self.session_timeout_ms;
        for role in [Role::Seller, Role::Buyer] {
            for ended in self.sessions_mut(role).expire(now_ms, timeout_ms) {
                self.settle_ended_session(role, ended);
            }
        }
    }

    /// What a session's end means beyond the session table: when a buyer's
    /// last session ends, the unsaved changes to the cart are dropped.
    fn settle_ended_session(&mut self, role: Role, ended: EndedSession) {
        if role == Role::Buyer && ended.was_users_last {
            self.change_session_buyer(ended.user, |buyer| buyer.carts.revert_to_saved());
        }
    }

    /// Checks that `session` is a live session of `role`, marks it active at
    /// `now_ms` and returns its user.
    fn enter(
        &mut self,
        role: Role,
        session: &SessionToken,
        now_ms: u64,
    ) -> Result<u64, MarketError> {
        self.sessions_mut(role)
            .touch(session, now_ms)
            .ok_or_else(unknown_session)
    }

    fn sessions_mut(&mut self, role: Role) -> &mut Sessions {
        match role {
            Role::Seller => &mut self.seller_sessions,
            Role::Buyer => &mut self.buyer_sessions,
        }
    }

    /// Runs `action` on the profile of the buyer holding `session`.
    fn with_buyer(
        &mut self,
        session: &SessionToken,
        now_ms: u64,
        action: impl FnOnce(&mut BuyerProfile) -> CustomerResult,
    ) -> CustomerResult {
        let buyer = self.enter(Role::Buyer, session, now_ms)?;
        self.change_session_buyer(buyer, action)
    }

    /// Runs `action`, a change of the live cart, for the buyer holding
    /// `session`, unless a purchase holds the cart.
    fn changing_cart(
        &mut self,
        session: &SessionToken,
        now_ms: u64,
        action: impl FnOnce(&mut BuyerProfile) -> CustomerResult,
    ) -> CustomerResult {
        self.with_buyer(session, now_ms, |buyer| {
            buyer.check_cart_free(None, now_ms)?;
            action(buyer)
        })
    }

    /// Runs `change` on `buyer`'s profile, if the buyer exists, and counts
    /// what it adds or frees: every change of a buyer's profile goes
    /// through here.
    fn change_buyer<T>(
        &mut self,
        buyer: BuyerId,
        change: impl FnOnce(&mut BuyerProfile) -> T,
    ) -> Option<T> {
        let profile = self.buyers.profile_mut(buyer)?;
        let Some(usage) = &mut self.usage else {
            // Not counted yet: counting will see the change.
            return Some(change(profile));
        };
        let before = capacity::buyer_bytes(profile);
        let outcome = change(profile);
        usage.replace(before, capacity::buyer_bytes(profile));
        Some(outcome)
    }

    /// `change_buyer` for a buyer who holds a session.
    ///
    /// # Panics
    /// If the buyer has no account: sessions open only for existing
    /// accounts, and accounts are never deleted.
    fn change_session_buyer<T>(
        &mut self,
        buyer: BuyerId,
        change: impl FnOnce(&mut BuyerProfile) -> T,
    ) -> T {
        match self.change_buyer(buyer, change) {
            Some(outcome) => outcome,
            None => panic!("buyer {buyer} holds a session but has no account"),
        }
    }

    // Purchases and feedback.

    /// First step of a purchase: the receipt if `purchase` is already
    /// completed (a retry after a crash), else the cart to buy.
    fn begin_purchase(
        &mut self,
        session: &SessionToken,
        purchase: &RequestId,
        now_ms: u64,
    ) -> CustomerResult {
        let buyer = self.enter(Role::Buyer, session, now_ms)?;
        check_purchase_id(purchase)?;
        if let Some(record) = self.completed_record(buyer, purchase)? {
            return Ok(CustomerOutcome::Purchased(record));
        }
        // The purchase's last step follows a sale and may not be refused,
        // so the room for its record is taken now (the hold is charged it).
        // A repeat of a first step that holds the cart already has its room:
        // refusing it could leave a sale without its record.
        let held = self
            .buyers
            .profile(buyer)
            .is_some_and(|profile| profile.cart_held_by(purchase));
        if !held {
            self.check_room(
                capacity::CART_HOLD_BYTES
                    + capacity::purchase_bytes_max(limits::CART_LINES_MAX as u64),
                "a new purchase",
            )?;
        }
        self.change_session_buyer(buyer, |profile| {
            profile.check_cart_free(Some(purchase), now_ms)?;
            if profile.carts.live.is_empty() {
                return Err(MarketError::invalid("cart is empty"));
            }
            profile.hold_cart(purchase, now_ms);
            Ok(CustomerOutcome::PurchaseStarted {
                buyer,
                lines: profile.carts.live.lines().to_vec(),
            })
        })
    }

    /// Last step of a purchase, after the product DB sold `lines`. Applied
    /// once per purchase id: a repeat gets the stored record and changes
    /// nothing, whatever its request id.
    fn complete_purchase(
        &mut self,
        buyer: BuyerId,
        purchase: &RequestId,
        lines: &[PurchasedLine],
        now_ms: u64,
    ) -> CustomerResult {
        check_purchase_id(purchase)?;
        if let Some(record) = self.completed_record(buyer, purchase)? {
            return Ok(CustomerOutcome::Purchased(record));
        }
        check_purchased_lines(lines)?;
        let record = PurchaseRecord {
            purchase: purchase.clone(),
            at_ms: now_ms,
            lines: lines.to_vec(),
        };
        // Not checked for room: the sale is done. Its room was taken by its
        // first step, whose hold is released here.
        let history_index = self
            .change_buyer(buyer, |profile| {
                let history_index = profile.record_purchase(record.clone());
                profile.release_cart(purchase);
                history_index
            })
            .ok_or_else(|| no_such_buyer(buyer))?;
        self.purchases.insert(
            purchase.clone(),
            CompletedPurchase {
                buyer,
                history_index,
            },
        );
        for line in lines {
            // The product DB names the seller. One this DB does not know has
            // no count to keep, and refusing would not undo the sale.
            if let Some(seller) = self.sellers.profile_mut(line.seller) {
                seller.count_sale(line.quantity);
            }
        }
        Ok(CustomerOutcome::Purchased(record))
    }

    /// The record of `purchase` if `buyer` completed it, `None` if nobody
    /// did. A purchase id completed by another buyer is a conflict: answering
    /// with that buyer's receipt would leak it.
    fn completed_record(
        &self,
        buyer: BuyerId,
        purchase: &RequestId,
    ) -> Result<Option<PurchaseRecord>, MarketError> {
        let Some(completed) = self.purchases.get(purchase) else {
            return Ok(None);
        };
        if completed.buyer != buyer {
            return Err(MarketError::Conflict(format!(
                "purchase id {purchase} is already used by another purchase"
            )));
        }
        let history = self.buyers.profile(buyer).map(|profile| &profile.history);
        match history.and_then(|history| history.get(completed.history_index)) {
            Some(record) => Ok(Some(record.clone())),
            None => panic!("purchase {purchase} is indexed but not in buyer {buyer}'s history"),
        }
    }

    /// Records a buyer's thumb on an item they bought and counts it on its
    /// seller. The item's own count lives in the product DB; the frontend
    /// updates it after this succeeds.
    fn give_feedback(
        &mut self,
        session: &SessionToken,
        item: ItemId,
        thumb: Thumb,
        now_ms: u64,
    ) -> CustomerResult {
        let buyer = self.enter(Role::Buyer, session, now_ms)?;
        let seller =
            self.change_session_buyer(buyer, |profile| profile.record_feedback(item, thumb))?;
        // As for sales, a seller this DB does not know has no count to keep.
        if let Some(profile) = self.sellers.profile_mut(seller) {
            profile.rating.add(thumb);
        }
        Ok(CustomerOutcome::FeedbackRecorded { seller })
    }

    /// Empties `buyer`'s carts and ends the purchase under way, outside
    /// any command (to measure a purchase's record alone).
    #[cfg(test)]
    pub(super) fn clear_carts_for_tests(&mut self, buyer: BuyerId) {
        self.change_session_buyer(buyer, |profile| profile.forget_carts_for_tests());
    }

    /// Makes the state full at `bytes_max` bytes instead of at
    /// `CUSTOMER_STATE_BYTES_MAX` (tests fill a small one).
    #[cfg(test)]
    pub(super) fn limit_to(&mut self, bytes_max: u64) {
        self.bytes_max = bytes_max;
    }

    /// Checks every invariant that ties the parts of the state together.
    #[cfg(test)]
    pub(super) fn assert_invariants(&self) {
        self.assert_counted();
        self.seller_sessions.assert_consistent();
        self.buyer_sessions.assert_consistent();
        for seller in self.seller_sessions.users() {
            assert!(
                self.sellers.profile(seller).is_some(),
                "session of unknown seller {seller}"
            );
        }
        for buyer in self.buyer_sessions.users() {
            assert!(
                self.buyers.profile(buyer).is_some(),
                "session of unknown buyer {buyer}"
            );
        }
        for (buyer, profile) in self.buyers.profiles() {
            profile.carts.live.assert_valid();
            let live = self.buyer_sessions.has_sessions(buyer);
            assert!(
                live || profile.carts.is_saved(),
                "buyer {buyer}: unsaved cart, no session"
            );
        }
        for (purchase, completed) in &self.purchases {
            let record = self
                .buyers
                .profile(completed.buyer)
                .and_then(|profile| profile.history.get(completed.history_index));
            assert_eq!(record.map(|record| &record.purchase), Some(purchase));
        }
    }
}

#[cfg(test)]
impl CustomerState {
    /// The charge kept as the state changed equals one counted afresh, and
    /// bounds the state's encoding (the request log apart, which bounds
    /// its own).
    fn assert_counted(&self) {
        let Some(usage) = &self.usage else {
            return;
        };
        let mut fresh = self.clone();
        fresh.usage = None;
        let fresh_usage = fresh.counted_usage().clone();
        assert_eq!(usage, &fresh_usage, "charge kept apart from a fresh count");
        let encoded = serde_json::to_vec(self).expect("a state encodes").len() as u64;
        let sessions = (self.seller_sessions.len() + self.buyer_sessions.len()) as u64;
        let charged = usage.bytes() + sessions * capacity::SESSION_BYTES + self.requests.bytes();
        assert!(
            encoded <= charged + capacity::STATE_FIXED_BYTES,
            "a state of {encoded} bytes was charged {charged}"
        );
    }
}

/// The cart as a result.
pub(super) fn show_cart(buyer: &BuyerProfile) -> CustomerOutcome {
    CustomerOutcome::Cart(buyer.carts.live.lines().to_vec())
}

fn save_cart(buyer: &mut BuyerProfile) -> CustomerResult {
    buyer.carts.save();
    Ok(CustomerOutcome::Done)
}

fn clear_cart(buyer: &mut BuyerProfile) -> CustomerResult {
    buyer.carts.clear();
    Ok(CustomerOutcome::Done)
}

/// The error for a session that is unknown, has ended, or is of the other
/// role. Ended sessions are forgotten, so one message covers all three.
pub(super) fn unknown_session() -> MarketError {
    MarketError::Unauthenticated("unknown or expired session; log in again".to_string())
}

pub(super) fn no_such_seller(seller: SellerId) -> MarketError {
    MarketError::NotFound(format!("no seller with id {seller}"))
}

fn no_such_buyer(buyer: BuyerId) -> MarketError {
    MarketError::NotFound(format!("no buyer with id {buyer}"))
}

/// A purchase id is a request id, kept as a key of the purchase index.
fn check_purchase_id(purchase: &RequestId) -> Result<(), MarketError> {
    RequestId::parse(&purchase.0).map(|_| ()).map_err(|_| {
        MarketError::invalid(format!(
            "purchase id must be 1..={} printable ASCII characters",
            limits::REQUEST_ID_CHARS_MAX
        ))
    })
}

/// Checks what the product DB sold before it goes into a history: 1 to
/// `CART_LINES_MAX` lines, each with a valid name, quantity and price.
fn check_purchased_lines(lines: &[PurchasedLine]) -> Result<(), MarketError> {
    if lines.is_empty() || lines.len() > limits::CART_LINES_MAX {
        return Err(MarketError::invalid(format!(
            "a purchase has 1..={} lines, got {}",
            limits::CART_LINES_MAX,
            lines.len()
        )));
    }
    for line in lines {
        validate_name("item name", &line.name)?;
        if line.quantity == 0 || line.quantity > limits::QUANTITY_MAX {
            return Err(MarketError::invalid(format!(
                "quantity of item {} must be 1..={}, got {}",
                line.item,
                limits::QUANTITY_MAX,
                line.quantity
            )));
        }
        Price::from_cents(line.price.cents())?;
    }
    Ok(())
}
