//! Who a recent session belongs to, as the customer DB last said: a hint
//! that lets a frontend start a read that needs the user's id (a seller's
//! list of items) beside the session check instead of after it
//! (`Backends::read_as_user`).
//!
//! The hint is never trusted: the session check runs on every call, and a
//! read started on the hint is used only when the check names the same
//! user. A session's owner never changes (its token is drawn at random at
//! login, for one account), so a hint is at worst missing: after the
//! frontend restarts, for a session it has not seen, or after the memo
//! filled up and was emptied. Frontends stay stateless in the sense that
//! matters: losing this memo loses nothing but a little time.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::market::{Role, SessionToken};

/// Sessions a frontend remembers the owner of; when full, it forgets them
/// all and starts again (about 1 MB at this size).
pub const SESSION_OWNERS_MAX: usize = 10_000;

/// The owners of recently checked sessions: each token with the role and
/// the user a check found it to be.
#[derive(Default)]
pub struct SessionOwners {
    owners: Mutex<HashMap<SessionToken, (Role, u64)>>,
}

impl SessionOwners {
    /// The user that `session` of `role` belonged to when last checked.
    pub fn owner(&self, role: Role, session: &SessionToken) -> Option<u64> {
        let owners = self.owners.lock().unwrap_or_else(|e| e.into_inner());
        match owners.get(session) {
            Some(&(owned_as, user)) if owned_as == role => Some(user),
            _ => None,
        }
    }

    /// Notes that a check found `session` of `role` to be `user`'s.
    pub fn remember(&self, role: Role, session: &SessionToken, user: u64) {
        let mut owners = self.owners.lock().unwrap_or_else(|e| e.into_inner());
        if owners.get(session) == Some(&(role, user)) {
            return;
        }
        if owners.len() >= SESSION_OWNERS_MAX && !owners.contains_key(session) {
            owners.clear();
        }
        owners.insert(session.clone(), (role, user));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(n: usize) -> SessionToken {
        SessionToken(format!("{n:032x}"))
    }

    #[test]
    fn an_owner_is_remembered_per_role_and_corrected_by_a_later_check() {
        let owners = SessionOwners::default();
        assert_eq!(owners.owner(Role::Seller, &token(1)), None);
        owners.remember(Role::Seller, &token(1), 7);
        assert_eq!(owners.owner(Role::Seller, &token(1)), Some(7));
        assert_eq!(owners.owner(Role::Buyer, &token(1)), None);
        owners.remember(Role::Seller, &token(1), 8);
        assert_eq!(owners.owner(Role::Seller, &token(1)), Some(8));
    }

    #[test]
    fn a_full_memo_forgets_everything_and_never_grows_past_its_bound() {
        let owners = SessionOwners::default();
        for n in 0..SESSION_OWNERS_MAX {
            owners.remember(Role::Buyer, &token(n), n as u64);
        }
        assert_eq!(owners.owner(Role::Buyer, &token(0)), Some(0));
        owners.remember(Role::Buyer, &token(SESSION_OWNERS_MAX), 1);
        assert_eq!(owners.owner(Role::Buyer, &token(0)), None);
        assert_eq!(
            owners.owner(Role::Buyer, &token(SESSION_OWNERS_MAX)),
            Some(1)
        );
        assert_eq!(owners.owners.lock().unwrap().len(), 1);
    }
}
