//! The accounts of one role: ids, names, passwords, and a profile per
//! account (what the account owns; see `profile.rs`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::capacity::account_bytes;
use crate::market::{validate_name, validate_password, MarketError, Role};

/// One account.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Account<P> {
    name: String,
    /// Stored as given. A production system would store a salted slow hash
    /// (argon2, bcrypt) instead; that is out of scope for this project.
    password: String,
    profile: P,
}

/// Every account of one role. Ids count from 1 in creation order and an
/// account is never deleted, so account `id` lives at index `id - 1`.
/// Names are unique within the role (exact, case-sensitive match); a seller
/// and a buyer may share one.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(super) struct Accounts<P> {
    role: Role,
    accounts: Vec<Account<P>>,
    /// Index over `accounts`: the id of each name.
    ids_by_name: BTreeMap<String, u64>,
}

impl<P: Default> Accounts<P> {
    /// No accounts yet.
    pub(super) fn new(role: Role) -> Self {
        Accounts {
            role,
            accounts: Vec::new(),
            ids_by_name: BTreeMap::new(),
        }
    }

    /// Opens an account with an empty profile and returns its id.
    pub(super) fn create(&mut self, name: &str, password: &str) -> Result<u64, MarketError> {
        validate_name(&format!("{} name", self.role), name)?;
        validate_password(password)?;
        if self.ids_by_name.contains_key(name) {
            return Err(MarketError::Conflict(format!(
                "{} name {name:?} is taken",
                self.role
            )));
        }
        let account = Account {
            name: name.to_string(),
            password: password.to_string(),
            profile: P::default(),
        };
        self.accounts.push(account);
        let id = self.accounts.len() as u64;
        self.ids_by_name.insert(name.to_string(), id);
        Ok(id)
    }

    /// The id of the account with this name and password. An unknown name
    /// and a wrong password get the same error, so that a caller cannot
    /// probe which names exist.
    pub(super) fn authenticate(&self, name: &str, password: &str) -> Result<u64, MarketError> {
        let wrong = || MarketError::Unauthenticated("wrong user name or password".to_string());
        let id = *self.ids_by_name.get(name).ok_or_else(wrong)?;
        match self.account(id) {
            Some(account) if account.password == password => Ok(id),
            _ => Err(wrong()),
        }
    }

    /// The profile of account `id`, if it exists.
    pub(super) fn profile(&self, id: u64) -> Option<&P> {
        self.account(id).map(|account| &account.profile)
    }

    /// The profile of account `id`, if it exists, to change.
    pub(super) fn profile_mut(&mut self, id: u64) -> Option<&mut P> {
        let index = Self::index(id)?;
        self.accounts
            .get_mut(index)
            .map(|account| &mut account.profile)
    }

    /// What the accounts are charged, profiles apart (`capacity.rs`).
    pub(super) fn bytes(&self) -> u64 {
        self.accounts
            .iter()
            .map(|account| account_bytes(&account.name, &account.password))
            .sum()
    }

    /// Every profile, to change.
    pub(super) fn profiles_mut(&mut self) -> impl Iterator<Item = &mut P> + '_ {
        self.accounts.iter_mut().map(|account| &mut account.profile)
    }

    /// Every profile with its id, in id order.
    #[cfg(test)]
    pub(super) fn profiles(&self) -> impl Iterator<Item = (u64, &P)> + '_ {
        (1..).zip(self.accounts.iter().map(|account| &account.profile))
    }

    fn account(&self, id: u64) -> Option<&Account<P>> {
        self.accounts.get(Self::index(id)?)
    }

    /// Where account `id` lives; `None` for id 0 (ids start at 1).
    fn index(id: u64) -> Option<usize> {
        usize::try_from(id.checked_sub(1)?).ok()
    }
}
