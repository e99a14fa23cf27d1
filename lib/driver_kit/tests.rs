//! Replies: answered exactly once on every path, and the pending table's
//! bound, expiry, order and cover (the drivers' own tables are tested with
//! each driver).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::driver_kit::{PendingReplies, Reply};
use crate::replication::ReplicationError;

/// A small bound, so that the test fills the table.
const PENDING_REPLIES_MAX: usize = 300;

/// A table of batches of replies, as the sequencer keeps them.
fn table() -> PendingReplies<u64, Vec<Reply<u32>>> {
    PendingReplies::new(PENDING_REPLIES_MAX, "full")
}

type Answers = Arc<Mutex<Vec<Result<u32, ReplicationError>>>>;

/// A reply that records what it was answered.
fn recording(answers: &Answers) -> Reply<u32> {
    let answers = Arc::clone(answers);
    Reply::new(Box::new(move |result| {
        answers.lock().expect("lock").push(result)
    }))
}

fn unavailable(answers: &Answers) -> usize {
    answers
        .lock()
        .expect("lock")
        .iter()
        .filter(|answer| matches!(answer, Err(ReplicationError::Unavailable(_))))
        .count()
}

#[test]
fn a_reply_is_answered_once_by_send_fail_or_drop() {
    let answers = Answers::default();
    recording(&answers).send(Ok(7));
    recording(&answers).fail("busy");
    drop(recording(&answers));
    let got = answers.lock().expect("lock").clone();
    assert_eq!(got.len(), 3);
    assert_eq!(got[0], Ok(7));
    assert_eq!(got[1], Err(ReplicationError::Unavailable("busy".into())));
    assert!(matches!(got[2], Err(ReplicationError::Unavailable(_))));
}

#[test]
fn pending_replies_expire_at_their_deadline_and_are_taken_once() {
    let answers = Answers::default();
    let mut pending = table();
    let start = Instant::now();
    for local in 1..=3 {
        let at = start + Duration::from_secs(10 + local);
        pending.expect(local, vec![recording(&answers)], at);
    }
    let mut taken = pending.take(2).expect("waiting");
    assert_eq!(taken.len(), 1);
    taken.remove(0).send(Ok(2));
    assert!(pending.take(2).is_none(), "taken once");
    pending.expire(start + Duration::from_secs(11));
    assert_eq!((pending.len(), unavailable(&answers)), (1, 1));
    pending.expire(start + Duration::from_secs(13));
    assert_eq!((pending.len(), unavailable(&answers)), (0, 2));
}

#[test]
fn the_table_is_bounded_and_fails_what_a_key_covers() {
    let answers = Answers::default();
    let mut pending = table();
    let now = Instant::now();
    for local in 1..=PENDING_REPLIES_MAX as u64 + 1 {
        pending.expect(local, vec![recording(&answers)], now);
    }
    assert_eq!(pending.len(), PENDING_REPLIES_MAX);
    assert_eq!(unavailable(&answers), 1, "the one over the bound");
    pending.fail_up_to(100, "covered");
    assert_eq!(pending.len(), PENDING_REPLIES_MAX - 100);
    assert_eq!(unavailable(&answers), 101);
    drop(pending);
    assert_eq!(
        unavailable(&answers),
        PENDING_REPLIES_MAX + 1,
        "dropped ones answer"
    );
}

#[test]
fn a_batch_s_replies_are_taken_and_failed_together() {
    let answers = Answers::default();
    let mut pending = table();
    let now = Instant::now();
    let batch = |n| (0..n).map(|_| recording(&answers)).collect::<Vec<_>>();
    pending.expect(1, batch(3), now);
    pending.expect(2, batch(2), now + Duration::from_secs(5));
    let taken = pending.take(1).expect("waiting");
    assert_eq!(taken.len(), 3, "every reply of the batch");
    for (position, reply) in taken.into_iter().enumerate() {
        reply.send(Ok(position as u32));
    }
    pending.expire(now + Duration::from_secs(20));
    let got = answers.lock().expect("lock").clone();
    assert_eq!(got[..3], [Ok(0), Ok(1), Ok(2)]);
    assert_eq!(unavailable(&answers), 2, "the second batch expired whole");
}
