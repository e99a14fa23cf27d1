//! The toy state machine the tests replicate: a key-value map, the order in
//! which writes were applied, and a request log that answers a repeated
//! request id with its first result (never a second application), as the
//! product DB's does.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::driver_kit::testing::apply_once;
use crate::replication::StateMachine;

/// The prefix of the keys whose reads the toy declines to answer from its
/// state (`StateMachine::query`).
pub const ORDERED: &str = "ordered/";

/// A request to the toy machine.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ToyRequest {
    /// Sets `key` to `value`; `id` names the request for retries.
    Put { id: u64, key: String, value: i64 },
    /// Reads `key` (changes nothing).
    Get { key: String },
    /// Returns the whole state (changes nothing).
    Dump,
}

/// What applying a request returns.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ToyResult {
    /// The put's place in the applied order (from 1).
    Put { position: u64 },
    /// A key's value.
    Value(Option<i64>),
    /// The whole state.
    Dump(Toy),
}

/// The replicated state.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Toy {
    /// The map.
    pub values: BTreeMap<String, i64>,
    /// Ids of the puts applied, in order, each once.
    pub order: Vec<u64>,
    /// The first result of every put, by id.
    pub answered: BTreeMap<u64, ToyResult>,
    /// How long taking a snapshot takes on top of encoding it, as for a
    /// large state on a slow disk (not part of the state).
    #[serde(skip)]
    pub snapshot_delay: Duration,
}

impl StateMachine for Toy {
    type Request = ToyRequest;
    type Result = ToyResult;

    fn apply(&mut self, request: &ToyRequest) -> ToyResult {
        match request {
            ToyRequest::Put { id, key, value } => {
                apply_once(&mut self.answered, &mut self.order, *id, |position| {
                    self.values.insert(key.clone(), *value);
                    ToyResult::Put { position }
                })
            }
            ToyRequest::Get { key } => ToyResult::Value(self.values.get(key).copied()),
            ToyRequest::Dump => ToyResult::Dump(self.clone()),
        }
    }

    fn is_query(request: &ToyRequest) -> bool {
        !matches!(request, ToyRequest::Put { .. })
    }

    /// A `Get` of a key under `ordered/` is declined, as the customer DB
    /// declines a session check that is due to renew the session: the
    /// replicator must order it through the log after all.
    fn query(&self, request: &ToyRequest) -> Option<ToyResult> {
        match request {
            ToyRequest::Get { key } if key.starts_with(ORDERED) => None,
            ToyRequest::Get { key } => Some(ToyResult::Value(self.values.get(key).copied())),
            ToyRequest::Dump => Some(ToyResult::Dump(self.clone())),
            ToyRequest::Put { .. } => None,
        }
    }

    fn snapshot(&self) -> Vec<u8> {
        std::thread::sleep(self.snapshot_delay);
        serde_json::to_vec(self).expect("a toy state encodes")
    }

    fn restore(bytes: &[u8]) -> Result<Toy, String> {
        serde_json::from_slice(bytes).map_err(|error| error.to_string())
    }
}

/// A put request.
pub fn put(id: u64, key: &str, value: i64) -> ToyRequest {
    ToyRequest::Put {
        id,
        key: key.to_string(),
        value,
    }
}
