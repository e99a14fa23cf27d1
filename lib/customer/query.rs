//! Queries: the commands that only read (a session check, the ratings, the
//! cart, the history), answered from a replica's state without going
//! through the total order. The sequencer's read barrier makes that
//! linearizable (docs/SEQUENCER.md, section 10); this file decides what a
//! query may answer without changing anything.
//!
//! A session check counts as activity, and activity is a change that only
//! the total order may make. So a query whose session was last renewed
//! long enough ago is not answered here: it is ordered like a write, and
//! renews the session (`CustomerState::apply`). "Long enough" is a share of
//! the timeout, [`SESSION_RENEWAL_SHARE`], so almost every query is a pure
//! read, and a session ends between one timeout minus that grain and one
//! timeout after its last use (plus the agreed clock's lag, about a second).

use super::command::{CustomerCommand, CustomerOutcome, CustomerRequest, CustomerResult};
use super::session::Sessions;
use super::state::{no_such_seller, show_cart, unknown_session, CustomerState};
use crate::market::Role;

/// A query renews its session (by being ordered) once the session's last
/// renewal is older than the session timeout divided by this: 5 s of a
/// 5-minute timeout.
pub const SESSION_RENEWAL_SHARE: u64 = 60;

impl CustomerState {
    /// Answers a query from the state as it is, changing nothing; `None`
    /// when it must be ordered after all: it is not a query, or its session
    /// is due to be renewed. The time is the agreed time of the state
    /// (`clock.rs`), never the request's own reading: a query must not
    /// answer differently for a replica whose clock runs ahead.
    pub fn query(&self, request: &CustomerRequest) -> Option<CustomerResult> {
        let (role, session) = request.command.query_session()?;
        let now_ms = self.clock.now_ms();
        let sessions: &Sessions = match role {
            Role::Seller => &self.seller_sessions,
            Role::Buyer => &self.buyer_sessions,
        };
        let Some((user, last_active_ms)) = sessions.live(session, now_ms, self.session_timeout_ms)
        else {
            // Ordered, it would fail alike and change nothing (a session
            // that ended lazily is removed by the next write).
            return Some(Err(unknown_session()));
        };
        if now_ms.saturating_sub(last_active_ms) >= self.renewal_grain_ms() {
            return None;
        }
        Some(self.answer(&request.command, user))
    }

    /// How old a session's last renewal may be before a query renews it.
    pub fn renewal_grain_ms(&self) -> u64 {
        self.session_timeout_ms / SESSION_RENEWAL_SHARE
    }

    /// The answer to a query whose session is live and belongs to `user`,
    /// here or, once ordered and the session renewed, in `apply`.
    pub(super) fn answer(&self, command: &CustomerCommand, user: u64) -> CustomerResult {
        use CustomerCommand as Command;
        let buyer = || {
            self.buyers
                .profile(user)
                .unwrap_or_else(|| panic!("buyer {user} holds a session but has no account"))
        };
        match command {
            Command::OwnRating { .. } => {
                let seller = self
                    .sellers
                    .profile(user)
                    .unwrap_or_else(|| panic!("seller {user} holds a session but has no account"));
                Ok(CustomerOutcome::SellerStanding {
                    rating: seller.rating,
                    items_sold: seller.items_sold,
                })
            }
            Command::SellerRating { seller, .. } => {
                let profile = self
                    .sellers
                    .profile(*seller)
                    .ok_or_else(|| no_such_seller(*seller))?;
                Ok(CustomerOutcome::Rating(profile.rating))
            }
            Command::CartShow { .. } => Ok(show_cart(buyer())),
            Command::History { page, .. } => {
                page.validate()?;
                let (purchases, next) = page.of(&buyer().history);
                Ok(CustomerOutcome::History {
                    purchases: purchases.to_vec(),
                    next,
                })
            }
            _ => Ok(CustomerOutcome::Session { user }),
        }
    }
}
