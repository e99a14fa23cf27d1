//! The toy state machine the tests replicate: counters by key, the order in
//! which requests were applied, and a request log that answers a repeated
//! request id with its first result (never a second application), as the
//! customer DB's does.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::driver_kit::testing::apply_once;
use crate::replication::StateMachine;

/// A request to the toy machine.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum ToyRequest {
    /// Adds `amount` to counter `key`; `id` names the request for retries.
    Add { id: u64, key: String, amount: i64 },
    /// Reads counter `key` (changes nothing).
    Read { key: String },
    /// Returns the whole state as `snapshot()` bytes (changes nothing).
    Dump,
}

/// What applying a request returns.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum ToyResult {
    /// The counter after the add, and the add's place in the applied order.
    Added { value: i64, position: u64 },
    /// A counter's value.
    Value(i64),
    /// The state's bytes.
    Dump(Vec<u8>),
}

/// The replicated state.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Toy {
    pub(crate) counters: BTreeMap<String, i64>,
    /// Ids of the adds applied, in order (each once).
    pub(crate) order: Vec<u64>,
    /// The first result of every add, by id.
    pub(crate) answered: BTreeMap<u64, ToyResult>,
    /// How long taking a snapshot takes on top of encoding it, as for a
    /// large state on a slow disk (not part of the state).
    #[serde(skip)]
    pub(crate) snapshot_delay: std::time::Duration,
}

impl StateMachine for Toy {
    type Request = ToyRequest;
    type Result = ToyResult;

    fn apply(&mut self, request: &ToyRequest) -> ToyResult {
        match request {
            ToyRequest::Read { key } => self.value(key),
            ToyRequest::Dump => ToyResult::Dump(encode(self)),
            ToyRequest::Add { id, key, amount } => {
                apply_once(&mut self.answered, &mut self.order, *id, |position| {
                    let value = self.counters.entry(key.clone()).or_insert(0);
                    *value += amount;
                    ToyResult::Added {
                        value: *value,
                        position,
                    }
                })
            }
        }
    }

    /// A `Read` is answered from the state after a read barrier; a `Dump`
    /// stays ordered, so that tests can read through the total order.
    fn is_query(request: &ToyRequest) -> bool {
        matches!(request, ToyRequest::Read { .. })
    }

    fn query(&self, request: &ToyRequest) -> Option<ToyResult> {
        match request {
            ToyRequest::Read { key } => Some(self.value(key)),
            _ => None,
        }
    }

    fn snapshot(&self) -> Vec<u8> {
        std::thread::sleep(self.snapshot_delay);
        encode(self)
    }

    fn restore(bytes: &[u8]) -> Result<Toy, String> {
        serde_json::from_slice(bytes).map_err(|error| error.to_string())
    }
}

impl Toy {
    /// Counter `key`'s value (0 if never added to).
    fn value(&self, key: &str) -> ToyResult {
        ToyResult::Value(*self.counters.get(key).unwrap_or(&0))
    }
}

/// An add request.
pub(crate) fn add(id: u64, key: &str, amount: i64) -> ToyRequest {
    ToyRequest::Add {
        id,
        key: key.to_string(),
        amount,
    }
}

fn encode(toy: &Toy) -> Vec<u8> {
    serde_json::to_vec(toy).expect("a toy state encodes")
}
