//! What both drivers' tests share: how their toy state machines answer a
//! repeated request (as the databases' request logs do), and a steady load
//! of requests that does not wait for its answers.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::replication::{ReplicationError, Replicator, StateMachine};

/// How long a toy's snapshot takes in the tests of a slow snapshot, as for
/// a large state on a slow disk: far longer than an election timeout or a
/// suspicion, which the snapshot must not cause.
pub(crate) const SLOW_SNAPSHOT: Duration = Duration::from_millis(2_500);

/// Applies request `id` once. The first time, `id` joins `order` and
/// `apply` runs with its place there (from 1); its result is kept in
/// `answered`. A repeat gets that first result and changes nothing.
pub(crate) fn apply_once<R: Clone>(
    answered: &mut BTreeMap<u64, R>,
    order: &mut Vec<u64>,
    id: u64,
    apply: impl FnOnce(u64) -> R,
) -> R {
    if let Some(first) = answered.get(&id) {
        return first.clone();
    }
    order.push(id);
    let result = apply(order.len() as u64);
    answered.insert(id, result.clone());
    result
}

/// Submits `request(1)`, `request(2)`, ... to `replica` at a steady two per
/// millisecond for `load`, without waiting for answers (as many clients
/// would), then waits up to `wait` for each answer. Every request must be
/// answered, with a result or with `Unavailable` (refused while the replica
/// is behind), and at least one with a result.
pub(crate) fn steady_load<S: StateMachine>(
    replica: &dyn Replicator<S>,
    load: Duration,
    wait: Duration,
    mut request: impl FnMut(u64) -> S::Request,
) {
    let (answers, answered) = crossbeam_channel::unbounded();
    let started = std::time::Instant::now();
    let mut submitted = 0u64;
    while started.elapsed() < load {
        for _ in 0..2 {
            submitted += 1;
            let answers = answers.clone();
            let reply = move |outcome| {
                let _ = answers.send(outcome);
            };
            replica.submit(request(submitted), Box::new(reply));
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let (mut applied, mut refused) = (0, 0);
    for _ in 1..=submitted {
        match answered.recv_timeout(wait) {
            Ok(Ok(_)) => applied += 1,
            Ok(Err(ReplicationError::Unavailable(_))) => refused += 1,
            other => panic!("unexpected answer {other:?}"),
        }
    }
    println!("{applied} requests applied, {refused} refused while applying behind");
    assert!(applied > 0);
}
