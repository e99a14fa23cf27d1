use std::collections::{HashMap, VecDeque};

use serde::{Deserialize, Serialize};

use super::limits;
use super::{MarketError, RequestId};

/// The results of the most recent requests, by request id: what makes a
/// retried command return its first result instead of applying twice.
///
/// A client chooses its own request id, so an id alone proves nothing: each
/// result is kept with the *fingerprint* of the request that made it (who
/// asked, and what: the caller's session or credentials and the command's
/// own fields, not the ones a frontend derives anew on a retry). A repeated
/// id returns the first result only with the same fingerprint; with another
/// it is [`Replay::Reused`], which the state machines refuse (409) without
/// changing anything.
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
        deserialize = "O: Clone + Serialize + Deserialize<'de>"
    )
)]
pub struct RequestLog<O> {
    results: HashMap<RequestId, (String, O)>,
    order: VecDeque<RequestId>,
    capacity: usize,
    /// What the kept entries take in a snapshot, at most (`entry_bytes`).
    bytes: u64,
    /// Eviction starts before `bytes` would pass this.
    bytes_max: u64,
}

/// What the log says about a request.
#[derive(Debug, PartialEq, Eq)]
pub enum Replay<'a, O> {
    /// The id is not in the log: apply the request.
    Fresh,
    /// The same request came before: its first result.
    Repeat(&'a O),
    /// The id was used by another request (another caller, or another
    /// command): refuse, change nothing.
    Reused,
}

/// How a `RequestLog` is stored: its capacity and entries, oldest first,
/// and each entry's fingerprint (absent in snapshots written before
/// fingerprints: such entries match any request, as they did then).
#[derive(Serialize, Deserialize)]
struct StoredRequestLog<O> {
    capacity: usize,
    entries: Vec<(RequestId, O)>,
    #[serde(default)]
    fingerprints: Vec<String>,
}

impl<O: Clone + Serialize> From<RequestLog<O>> for StoredRequestLog<O> {
    fn from(mut log: RequestLog<O>) -> Self {
        let (entries, fingerprints) = log
            .order
            .drain(..)
            .filter_map(|id| {
                log.results
                    .remove(&id)
                    .map(|(fingerprint, result)| ((id, result), fingerprint))
            })
            .unzip();
        StoredRequestLog {
            capacity: log.capacity,
            entries,
            fingerprints,
        }
    }
}

impl<O: Clone + Serialize> From<StoredRequestLog<O>> for RequestLog<O> {
    fn from(stored: StoredRequestLog<O>) -> Self {
        let mut log = RequestLog::with_capacity(stored.capacity.max(1));
        let mut fingerprints = stored.fingerprints.into_iter();
        for (id, result) in stored.entries {
            log.record(id, fingerprints.next().unwrap_or_default(), result);
        }
        log
    }
}

impl<O: Clone + Serialize> RequestLog<O> {
    /// A log keeping the last `REQUEST_LOG_ENTRIES_MAX` results, and fewer
    /// when they would take more than `REQUEST_LOG_BYTES_MAX`.
    pub fn new() -> Self {
        Self::with_capacity(limits::REQUEST_LOG_ENTRIES_MAX)
    }

    /// A log keeping the last `capacity` results (tests use small ones),
    /// within `REQUEST_LOG_BYTES_MAX`.
    pub fn with_capacity(capacity: usize) -> Self {
        Self::with_limits(capacity, limits::REQUEST_LOG_BYTES_MAX)
    }

    /// A log keeping the last `capacity` results within `bytes_max`.
    pub fn with_limits(capacity: usize, bytes_max: u64) -> Self {
        assert!(capacity > 0, "a request log must keep at least one result");
        RequestLog {
            results: HashMap::new(),
            order: VecDeque::new(),
            capacity,
            bytes: 0,
            bytes_max,
        }
    }

    /// What the log holds for request `id` with `fingerprint`.
    pub fn replay(&self, id: &RequestId, fingerprint: &str) -> Replay<'_, O> {
        match self.results.get(id) {
            None => Replay::Fresh,
            // An empty stored fingerprint is a legacy entry (see above).
            Some((first, result)) if first == fingerprint || first.is_empty() => {
                Replay::Repeat(result)
            }
            Some(_) => Replay::Reused,
        }
    }

    /// Records the result of `id` (made by a request with `fingerprint`),
    /// evicting the oldest while the log is full, by count or by bytes.
    /// Recording an id twice keeps the first.
    pub fn record(&mut self, id: RequestId, fingerprint: String, result: O) {
        if self.results.contains_key(&id) {
            return;
        }
        let bytes = entry_bytes(&id, &fingerprint, &result);
        while self.order.len() >= self.capacity
            || (!self.order.is_empty() && self.bytes + bytes > self.bytes_max)
        {
            self.evict_oldest();
        }
        self.bytes += bytes;
        self.order.push_back(id.clone());
        self.results.insert(id, (fingerprint, result));
    }

    fn evict_oldest(&mut self) {
        let Some(oldest) = self.order.pop_front() else {
            return;
        };
        if let Some((fingerprint, result)) = self.results.remove(&oldest) {
            self.bytes -= entry_bytes(&oldest, &fingerprint, &result);
        }
    }

    /// What the kept entries take in a snapshot, at most.
    pub fn bytes(&self) -> u64 {
        self.bytes
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

/// What one entry takes in a snapshot, at most: its id, fingerprint and
/// result as JSON, and the punctuation around them. Computed the same way on
/// every replica from the entry alone, so every replica evicts alike.
fn entry_bytes<O: Serialize>(id: &RequestId, fingerprint: &str, result: &O) -> u64 {
    let result_bytes = serde_json::to_vec(result).map_or(0, |json| json.len());
    // Each string is written with its quotes, and escaped at most 2 bytes
    // per byte: an id is printable ASCII, and a fingerprint is JSON text,
    // which holds no control character to escape, only quotes and
    // backslashes.
    let text_bytes = 2 * id.0.len() + 2 * fingerprint.len() + 4;
    (text_bytes + result_bytes + ENTRY_PUNCTUATION_BYTES) as u64
}

/// The brackets and commas around one stored entry (`["id",result]`, and
/// the comma before its fingerprint).
const ENTRY_PUNCTUATION_BYTES: usize = 8;

impl<O: Clone + Serialize> Default for RequestLog<O> {
    fn default() -> Self {
        Self::new()
    }
}

/// The refusal of a request id that another request used first.
pub fn request_id_reused(id: &RequestId) -> MarketError {
    MarketError::Conflict(format!(
        "request id {:?} was used by another request; a retry must repeat the request \
         exactly, and a new request needs a new id",
        id.0
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_first_result_and_evicts_oldest_first() {
        let mut log = RequestLog::with_capacity(2);
        let id = |s: &str| RequestId(s.to_string());
        log.record(id("a"), "f".into(), 1);
        log.record(id("a"), "f".into(), 99);
        assert_eq!(log.replay(&id("a"), "f"), Replay::Repeat(&1));
        log.record(id("b"), "f".into(), 2);
        log.record(id("c"), "f".into(), 3);
        assert_eq!(log.replay(&id("a"), "f"), Replay::Fresh);
        assert_eq!(log.replay(&id("b"), "f"), Replay::Repeat(&2));
        assert_eq!(log.len(), 2);
    }

    #[test]
    fn a_repeated_id_with_another_fingerprint_is_reused_not_repeated() {
        let mut log = RequestLog::with_capacity(4);
        let id = RequestId("x".to_string());
        log.record(id.clone(), "alice logs in".into(), 7);
        assert_eq!(log.replay(&id, "alice logs in"), Replay::Repeat(&7));
        assert_eq!(log.replay(&id, "mallory logs in"), Replay::Reused);
    }

    #[test]
    fn is_stored_in_apply_order_and_restored_whole() {
        let mut log = RequestLog::with_capacity(10);
        for (n, id) in ["z", "a", "m"].iter().enumerate() {
            log.record(RequestId(id.to_string()), format!("f{n}"), n);
        }
        let text = serde_json::to_string(&log).unwrap();
        assert_eq!(
            text,
            r#"{"capacity":10,"entries":[["z",0],["a",1],["m",2]],"fingerprints":["f0","f1","f2"]}"#
        );
        let back: RequestLog<usize> = serde_json::from_str(&text).unwrap();
        assert_eq!(
            back.replay(&RequestId("a".into()), "f1"),
            Replay::Repeat(&1)
        );
        assert_eq!(back.len(), 3);
        // A snapshot written before fingerprints still restores.
        let legacy = r#"{"capacity":10,"entries":[["a",1]]}"#;
        let back: RequestLog<usize> = serde_json::from_str(legacy).unwrap();
        assert_eq!(
            back.replay(&RequestId("a".into()), "any"),
            Replay::Repeat(&1)
        );
    }

    #[test]
    fn keeps_within_its_bytes_and_its_snapshot_within_them() {
        let mut log = RequestLog::with_limits(1_000, 10_000);
        let big = "\"quoted\" ".repeat(100);
        for n in 0..100 {
            let fingerprint = serde_json::to_string(&format!("{big}{n}")).unwrap();
            log.record(RequestId(format!("r{n}")), fingerprint, big.clone());
            assert!(log.bytes() <= 10_000, "{} bytes kept", log.bytes());
            let stored = serde_json::to_vec(&log).unwrap().len() as u64;
            // The log's own fields (capacity, the two lists) are not charged.
            assert!(stored <= log.bytes() + 64, "{stored} > {}", log.bytes());
        }
        assert!(log.len() < 100, "nothing was evicted by bytes");
        assert_eq!(log.replay(&RequestId("r99".into()), "x"), Replay::Reused);
        let back: RequestLog<String> =
            serde_json::from_slice(&serde_json::to_vec(&log).unwrap()).unwrap();
        assert_eq!(back.bytes(), log.bytes());
    }
}
