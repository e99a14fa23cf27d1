use std::collections::{HashMap, VecDeque};

use serde::{Deserialize, Serialize};

use super::limits;
use super::RequestId;

/// The results of the most recent requests, by request id: what makes a
/// retried command return its first result instead of applying twice.
///
/// It lives inside each database's state machine, so it is replicated,
/// snapshotted and restored with the state, and a retry that reaches another
/// replica or a new leader still finds the first result. Eviction is by
/// apply order (oldest first), which every replica sees the same, so every
/// replica keeps the same entries. It is written (in snapshots) as the
/// list of entries in apply order, so every replica writes the same bytes.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(
    into = "StoredRequestLog<O>",
    from = "StoredRequestLog<O>",
    bound(
        serialize = "O: Clone + Serialize",
        deserialize = "O: Clone + Deserialize<'de>"
    )
)]
pub struct RequestLog<O> {
    results: HashMap<RequestId, O>,
    order: VecDeque<RequestId>,
    capacity: usize,
}

/// How a `RequestLog` is stored: its capacity and entries, oldest first.
#[derive(Serialize, Deserialize)]
struct StoredRequestLog<O> {
    capacity: usize,
    entries: Vec<(RequestId, O)>,
}

impl<O: Clone> From<RequestLog<O>> for StoredRequestLog<O> {
    fn from(mut log: RequestLog<O>) -> Self {
        let entries = log
            .order
            .drain(..)
            .filter_map(|id| log.results.remove(&id).map(|result| (id, result)))
            .collect();
        StoredRequestLog {
            capacity: log.capacity,
            entries,
        }
    }
}

impl<O: Clone> From<StoredRequestLog<O>> for RequestLog<O> {
    fn from(stored: StoredRequestLog<O>) -> Self {
        let mut log = RequestLog::with_capacity(stored.capacity.max(1));
        for (id, result) in stored.entries {
            log.record(id, result);
        }
        log
    }
}

impl<O: Clone> RequestLog<O> {
    /// A log keeping the last `REQUEST_LOG_ENTRIES_MAX` results.
    pub fn new() -> Self {
        Self::with_capacity(limits::REQUEST_LOG_ENTRIES_MAX)
    }

    /// A log keeping the last `capacity` results (tests use small ones).
    pub fn with_capacity(capacity: usize) -> Self {
        assert!(capacity > 0, "a request log must keep at least one result");
        RequestLog {
            results: HashMap::new(),
            order: VecDeque::new(),
            capacity,
        }
    }

    /// The first result of `id`, if it is still kept.
    pub fn get(&self, id: &RequestId) -> Option<&O> {
        self.results.get(id)
    }

    /// Records the result of `id`, evicting the oldest when full. Recording
    /// an id twice keeps the first result.
    pub fn record(&mut self, id: RequestId, result: O) {
        if self.results.contains_key(&id) {
            return;
        }
        if self.order.len() == self.capacity {
            if let Some(oldest) = self.order.pop_front() {
                self.results.remove(&oldest);
            }
        }
        self.order.push_back(id.clone());
        self.results.insert(id, result);
    }

    /// Number of results kept.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// True when no result is kept.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

impl<O: Clone> Default for RequestLog<O> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_first_result_and_evicts_oldest_first() {
        let mut log = RequestLog::with_capacity(2);
        let id = |s: &str| RequestId(s.to_string());
        log.record(id("a"), 1);
        log.record(id("a"), 99);
        assert_eq!(log.get(&id("a")), Some(&1));
        log.record(id("b"), 2);
        log.record(id("c"), 3);
        assert_eq!(log.get(&id("a")), None);
        assert_eq!(log.get(&id("b")), Some(&2));
        assert_eq!(log.len(), 2);
    }

    #[test]
    fn is_stored_in_apply_order_and_restored_whole() {
        let mut log = RequestLog::with_capacity(10);
        for (n, id) in ["z", "a", "m"].iter().enumerate() {
            log.record(RequestId(id.to_string()), n);
        }
        let text = serde_json::to_string(&log).unwrap();
        assert_eq!(
            text,
            r#"{"capacity":10,"entries":[["z",0],["a",1],["m",2]]}"#
        );
        let back: RequestLog<usize> = serde_json::from_str(&text).unwrap();
        assert_eq!(back.get(&RequestId("a".into())), Some(&1));
        assert_eq!(back.len(), 3);
    }
}
