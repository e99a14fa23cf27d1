//! What the chaos clients saw: every call with its start and end time and
//! what it means for each object it touched, plus the ledger the final
//! invariants need (items put up, units removed, purchases acknowledged).
//! Clients append from many threads; the checker reads it once at the end.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::models::{BuyerOp, ItemFacts, ItemOp, NameOp};

/// Microseconds since the run began: the history's time axis.
#[derive(Clone, Copy, Debug)]
pub struct RunClock {
    origin: Instant,
}

impl RunClock {
    /// A clock starting now.
    pub fn start() -> RunClock {
        RunClock {
            origin: Instant::now(),
        }
    }

    /// Microseconds since the start.
    pub fn now(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_micros()).unwrap_or(u64::MAX)
    }
}

/// An object of the history, by its key.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Key {
    /// An item, by id.
    Item(String),
    /// A buyer's cart and history, by buyer id.
    Buyer(u64),
    /// An account name.
    Name(String),
}

/// What one call did to one object.
#[derive(Clone, Debug)]
pub enum Effect {
    /// On an item.
    Item(ItemOp),
    /// On a buyer.
    Buyer(BuyerOp),
    /// On a name.
    Name(NameOp),
}

/// One call's meaning for one object.
#[derive(Clone, Debug)]
pub struct Record {
    /// The object.
    pub key: Key,
    /// When the call was first sent.
    pub call: u64,
    /// When its final answer came; `None` if it never did.
    pub ret: Option<u64>,
    /// Which client made it.
    pub client: usize,
    /// The call and its answer, for a report.
    pub text: Arc<str>,
    /// Its meaning for `key`.
    pub effect: Effect,
}

/// A purchase the system acknowledged.
#[derive(Clone, Debug)]
pub struct AckedPurchase {
    /// The buyer.
    pub buyer: u64,
    /// Its id.
    pub purchase_id: String,
    /// Units per item.
    pub lines: BTreeMap<String, u32>,
}

/// Everything the clients recorded.
#[derive(Default)]
pub struct History {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    records: Vec<Record>,
    calls: BTreeMap<String, u64>,
    items: BTreeMap<String, ItemFacts>,
    removed: BTreeMap<String, u64>,
    purchases: Vec<AckedPurchase>,
    unresolved: Vec<String>,
    surprises: Vec<String>,
    tainted: BTreeSet<Key>,
    all_items_tainted: bool,
}

/// A copy of the history, taken once the clients are done.
#[derive(Clone, Debug, Default)]
pub struct HistorySnapshot {
    /// Every record.
    pub records: Vec<Record>,
    /// Calls made, by operation.
    pub calls: BTreeMap<String, u64>,
    /// Items put up, with the facts they were put up with.
    pub items: BTreeMap<String, ItemFacts>,
    /// Units removed by acknowledged removals, per item.
    pub removed: BTreeMap<String, u64>,
    /// Acknowledged purchases.
    pub purchases: Vec<AckedPurchase>,
    /// Calls that never got a final answer.
    pub unresolved: Vec<String>,
    /// Answers no correct system gives (a lost session, an unexpected
    /// status).
    pub surprises: Vec<String>,
    /// Objects a call without a final answer may have changed in a way the
    /// models cannot express: their histories are not checked.
    pub tainted: BTreeSet<Key>,
    /// Whether a purchase without a final answer makes every item's stock
    /// unknown.
    pub all_items_tainted: bool,
}

impl History {
    fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        // A client that panicked mid-append leaves a consistent vector.
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut inner)
    }

    /// Counts one call of `operation`.
    pub fn count_call(&self, operation: &str) {
        self.with(|inner| *inner.calls.entry(operation.to_string()).or_insert(0) += 1);
    }

    /// Appends records.
    pub fn record(&self, records: impl IntoIterator<Item = Record>) {
        self.with(|inner| inner.records.extend(records));
    }

    /// Notes an item put up.
    pub fn item_put(&self, item: &str, facts: ItemFacts) {
        self.with(|inner| inner.items.insert(item.to_string(), facts));
    }

    /// Notes units removed by an acknowledged removal.
    pub fn units_removed(&self, item: &str, quantity: u32) {
        self.with(|inner| {
            *inner.removed.entry(item.to_string()).or_insert(0) += u64::from(quantity)
        });
    }

    /// Notes an acknowledged purchase.
    pub fn purchase_acked(&self, purchase: AckedPurchase) {
        self.with(|inner| inner.purchases.push(purchase));
    }

    /// Notes a call that never got a final answer.
    pub fn unresolved(&self, text: String) {
        self.with(|inner| inner.unresolved.push(text));
    }

    /// Notes that `key`'s history cannot be checked.
    pub fn taint(&self, key: Key) {
        self.with(|inner| inner.tainted.insert(key));
    }

    /// Notes that no item's stock can be checked.
    pub fn taint_all_items(&self) {
        self.with(|inner| inner.all_items_tainted = true);
    }

    /// Notes an answer a correct system does not give.
    pub fn surprise(&self, text: String) {
        self.with(|inner| inner.surprises.push(text));
    }

    /// Calls made so far.
    pub fn call_count(&self) -> u64 {
        self.with(|inner| inner.calls.values().sum())
    }

    /// A copy of everything so far.
    pub fn snapshot(&self) -> HistorySnapshot {
        self.with(|inner| HistorySnapshot {
            records: inner.records.clone(),
            calls: inner.calls.clone(),
            items: inner.items.clone(),
            removed: inner.removed.clone(),
            purchases: inner.purchases.clone(),
            unresolved: inner.unresolved.clone(),
            surprises: inner.surprises.clone(),
            tainted: inner.tainted.clone(),
            all_items_tainted: inner.all_items_tainted,
        })
    }
}
