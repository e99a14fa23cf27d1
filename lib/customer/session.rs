//! The live sessions of one role: who holds each token, when it was last
//! active, and how many sessions each user holds. Expiry is lazy: the state
//! machine calls `expire` with each request's time, and it costs in
//! proportion to the sessions that end, not to all sessions.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::market::{MarketError, SessionToken};

/// Session tokens are 1..=64 printable ASCII characters (replicas choose 32
/// hex digits). The token is a key of the replicated state, so its length
/// is bounded like every other stored field.
pub const SESSION_TOKEN_CHARS_MAX: usize = 64;

/// One live session.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Session {
    /// The account id (of this table's role) that logged in.
    user: u64,
    /// When the session was last used, in ms since the epoch. Never goes
    /// back, even if a request carries an earlier time than one before it.
    last_active_ms: u64,
}

/// What is left of a session that ended, for the state machine to act on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct EndedSession {
    /// Whose session it was.
    pub(super) user: u64,
    /// True when the user holds no other live session now.
    pub(super) was_users_last: bool,
}

/// The live sessions of one role.
///
/// `by_token` is the truth; `by_last_active` and `sessions_by_user` are
/// indexes derived from it, changed only together with it.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(super) struct Sessions {
    by_token: BTreeMap<SessionToken, Session>,
    /// `(last_active_ms, token)` of every session, least recently active
    /// first: the sessions to expire are always at the front.
    by_last_active: BTreeSet<(u64, SessionToken)>,
    /// How many live sessions each user holds; a user with none is absent.
    sessions_by_user: BTreeMap<u64, u64>,
}

impl Sessions {
    /// Live sessions.
    pub(super) fn len(&self) -> usize {
        self.by_token.len()
    }

    /// True when `token` names a live session.
    pub(super) fn contains(&self, token: &SessionToken) -> bool {
        self.by_token.contains_key(token)
    }

    /// Starts a session for `user`, active at `now_ms`. The caller has
    /// checked that `token` is not in use (in either role).
    pub(super) fn open(&mut self, token: SessionToken, user: u64, now_ms: u64) {
        debug_assert!(!self.contains(&token), "session token reused");
        self.by_last_active.insert((now_ms, token.clone()));
        self.by_token.insert(
            token,
            Session {
                user,
                last_active_ms: now_ms,
            },
        );
        *self.sessions_by_user.entry(user).or_insert(0) += 1;
    }

    /// The user and last activity of `token`'s session if it is live at
    /// `now_ms` (not idle for `timeout_ms`), without marking it active:
    /// expiry is lazy, so an idle session may still be in the table.
    pub(super) fn live(
        &self,
        token: &SessionToken,
        now_ms: u64,
        timeout_ms: u64,
    ) -> Option<(u64, u64)> {
        let session = self.by_token.get(token)?;
        let live = session.last_active_ms.saturating_add(timeout_ms) > now_ms;
        live.then_some((session.user, session.last_active_ms))
    }

    /// Marks the session active at `now_ms` and returns its user, or `None`
    /// if there is no such live session.
    pub(super) fn touch(&mut self, token: &SessionToken, now_ms: u64) -> Option<u64> {
        let session = self.by_token.get_mut(token)?;
        let last_active_ms = session.last_active_ms.max(now_ms);
        if last_active_ms != session.last_active_ms {
            self.by_last_active
                .remove(&(session.last_active_ms, token.clone()));
            self.by_last_active.insert((last_active_ms, token.clone()));
            session.last_active_ms = last_active_ms;
        }
        Some(session.user)
    }

    /// Ends the session (a logout), or returns `None` if there is no such
    /// live session.
    pub(super) fn close(&mut self, token: &SessionToken) -> Option<EndedSession> {
        let last_active_ms = self.by_token.get(token)?.last_active_ms;
        self.by_last_active.remove(&(last_active_ms, token.clone()));
        self.forget(token)
    }

    /// Ends every session inactive for `timeout_ms` or longer at `now_ms`:
    /// a session last active at `t` is over once `t + timeout_ms <= now_ms`.
    /// Returns them least recently active first.
    pub(super) fn expire(&mut self, now_ms: u64, timeout_ms: u64) -> Vec<EndedSession> {
        let mut ended = Vec::new();
        // Each turn removes the first index entry, so the loop runs at most
        // once per live session.
        while let Some((last_active_ms, _)) = self.by_last_active.first() {
            if last_active_ms.saturating_add(timeout_ms) > now_ms {
                break;
            }
            let Some((_, token)) = self.by_last_active.pop_first() else {
                break;
            };
            ended.extend(self.forget(&token));
        }
        ended
    }

    /// Removes the session from `by_token` and the user count (the caller
    /// has removed it from `by_last_active`).
    fn forget(&mut self, token: &SessionToken) -> Option<EndedSession> {
        let session = self.by_token.remove(token)?;
        let mut was_users_last = true;
        if let Some(count) = self.sessions_by_user.get_mut(&session.user) {
            *count = count.saturating_sub(1);
            was_users_last = *count == 0;
        }
        if was_users_last {
            self.sessions_by_user.remove(&session.user);
        }
        Some(EndedSession {
            user: session.user,
            was_users_last,
        })
    }

    /// True when `user` holds at least one live session.
    #[cfg(test)]
    pub(super) fn has_sessions(&self, user: u64) -> bool {
        self.sessions_by_user.contains_key(&user)
    }

    /// The users holding a live session, each once, in id order.
    #[cfg(test)]
    pub(super) fn users(&self) -> impl Iterator<Item = u64> + '_ {
        self.sessions_by_user.keys().copied()
    }

    /// Checks that both indexes agree with `by_token`.
    #[cfg(test)]
    pub(super) fn assert_consistent(&self) {
        let index: BTreeSet<(u64, SessionToken)> = self
            .by_token
            .iter()
            .map(|(token, session)| (session.last_active_ms, token.clone()))
            .collect();
        assert_eq!(index, self.by_last_active, "activity index out of step");
        let mut counts = BTreeMap::new();
        for session in self.by_token.values() {
            *counts.entry(session.user).or_insert(0) += 1;
        }
        assert_eq!(counts, self.sessions_by_user, "per-user counts out of step");
    }
}

/// Rejects a token that is empty, too long, or not printable ASCII.
pub(super) fn check_token(token: &SessionToken) -> Result<(), MarketError> {
    let text = &token.0;
    let valid = !text.is_empty()
        && text.len() <= SESSION_TOKEN_CHARS_MAX
        && text.bytes().all(|byte| byte.is_ascii_graphic());
    if valid {
        Ok(())
    } else {
        Err(MarketError::invalid(format!(
            "session token must be 1..={SESSION_TOKEN_CHARS_MAX} printable ASCII characters"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(text: &str) -> SessionToken {
        SessionToken(text.to_string())
    }

    #[test]
    fn expire_ends_exactly_the_sessions_idle_for_the_timeout() {
        let mut sessions = Sessions::default();
        sessions.open(token("a"), 1, 0);
        sessions.open(token("b"), 1, 10);
        sessions.open(token("c"), 2, 20);
        assert!(
            sessions.expire(99, 100).is_empty(),
            "0 + 100 > 99: still live"
        );
        let ended = sessions.expire(110, 100);
        let expected = [
            EndedSession {
                user: 1,
                was_users_last: false,
            },
            EndedSession {
                user: 1,
                was_users_last: true,
            },
        ];
        assert_eq!(ended, expected);
        assert!(sessions.contains(&token("c")));
        sessions.assert_consistent();
    }

    #[test]
    fn touch_never_moves_activity_back() {
        let mut sessions = Sessions::default();
        sessions.open(token("a"), 7, 50);
        assert_eq!(sessions.touch(&token("a"), 20), Some(7));
        assert!(
            sessions.expire(149, 100).is_empty(),
            "still last active at 50"
        );
        assert_eq!(sessions.touch(&token("nope"), 20), None);
        sessions.assert_consistent();
    }

    #[test]
    fn expiry_does_not_overflow_at_the_end_of_time() {
        // last + timeout saturates at u64::MAX: no session outlives it.
        let mut sessions = Sessions::default();
        sessions.open(token("a"), 1, u64::MAX - 1);
        assert!(sessions.expire(u64::MAX - 1, u64::MAX).is_empty());
        assert_eq!(sessions.expire(u64::MAX, u64::MAX).len(), 1);
        sessions.assert_consistent();
    }

    #[test]
    fn tokens_must_be_short_printable_ascii() {
        assert!(check_token(&token("0123abcd")).is_ok());
        for bad in [
            "",
            "has space",
            "é",
            &"x".repeat(SESSION_TOKEN_CHARS_MAX + 1),
        ] {
            assert!(
                check_token(&token(bad)).is_err(),
                "{bad:?} should be refused"
            );
        }
    }
}
