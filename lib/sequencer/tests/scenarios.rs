//! The group scenario left in Rust, over the lossless cluster of
//! `harness.rs`: it reorders what waited in a paused member's socket ahead
//! of what was sent since, which the scripts' vocabulary does not say. The
//! others are golden scenarios (`testdata/`, run by `scripts.rs`).

use super::harness::Cluster;

#[test]
fn an_answer_to_an_earlier_lifes_read_round_does_not_count() {
    // Member 0 asks a read question and freezes; the answers (nothing
    // known yet) wait in its socket. Members 1 and 2 deliver a write meanwhile.
    // Member 0 restarts and takes a read, and the old answers arrive first.
    // Had the new life numbered its rounds from the same start as the old
    // one, those answers would complete its round with a target below the
    // write, and the read would miss it (seed 66027 of the simulation).
    let mut cluster = Cluster::new(3);
    cluster.run(5);
    cluster.member(0).read().expect("0 works in its view");
    cluster.drain(0);
    cluster.paused.insert(0);
    cluster.run(3);
    assert!(!cluster.waiting.is_empty(), "the answers wait for member 0");
    cluster.member(1).broadcast(b"w".to_vec()).expect("room");
    cluster.drain(1);
    assert!(cluster.run_until(20, |c| c.delivered[1].len() == 1));
    cluster.crash(0);
    cluster.paused.clear();
    cluster.restart(0);
    // Its restart takes a new incarnation through a view change first.
    assert!(cluster.run_until(50, |c| c.member(0).is_serving()));
    let read = cluster.member(0).read().expect("0 works in its view");
    cluster.drain(0);
    let stale: Vec<_> = cluster.waiting.drain(..).collect();
    for message in stale.into_iter().rev() {
        cluster.queue.push_front(message);
    }
    assert!(cluster.run_until(50, |c| !c.reads_ready[0].is_empty()));
    assert_eq!(
        cluster.reads_ready[0],
        vec![(read, 1)],
        "answered after the write"
    );
}
