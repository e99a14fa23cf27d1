//! The group scenarios left in Rust, over the lossless cluster of
//! `harness.rs`: two recent ones, written before the golden scenarios
//! (`testdata/`, run by `scripts.rs`) held the others, and still to be
//! ported to scripts.

use super::harness::Cluster;
use crate::sequencer::{LocalSeq, MemberId, Origin};

#[test]
fn a_recovered_member_votes_only_once_it_holds_its_first_views_requests() {
    // Member 1 broadcasts k; members 0 and 1 deliver it, while member 2
    // gets the Sequence but never the request. Member 0 loses its disk: k's
    // request is now held by member 1 alone (f = 1, docs/SEQUENCER.md 5.7).
    // Member 0 recovers into a view formed by 1 and 2, which keeps k, and
    // learns the binding but (requests from 1 being lost) not the request.
    // Member 1 then stops. Had member 0 voted now, 0 and 2 would form a
    // view from two logs whose voters both lack k's request, cut the log
    // at k and bind k's number to member 2's new request: two orders. So
    // member 0 catches up first: it votes only once it holds that request,
    // which it can get from member 1 alone; until 1 returns the group
    // waits, and then everyone delivers one order.
    let mut cluster = Cluster::new(3);
    cluster.run(10);
    cluster.requests_cut.insert((1, 2));
    cluster.member(1).broadcast(b"k".to_vec()).expect("room");
    cluster.drain(1);
    let k = Origin {
        sender: MemberId(1),
        local_seq: LocalSeq(1),
    };
    let delivered = cluster.run_until(100, |c| c.delivered[0] == [k] && c.delivered[1] == [k]);
    assert!(delivered, "0 and 1 deliver k");
    assert!(cluster.delivered[2].is_empty(), "2 lacks k's request");
    cluster.wipe(0);
    cluster.requests_cut.insert((1, 0));
    cluster.start_empty(0, 11);
    let installed = cluster.run_until(1_000, |c| {
        let status = c.member(0).status();
        status.installed.number > 0 && !status.changing
    });
    assert!(installed, "member 0 installs a view formed without it");
    assert!(
        cluster.member(0).status().recovering,
        "still catching up: it lacks k's request"
    );
    cluster.crash(1);
    cluster.member(2).broadcast(b"x".to_vec()).expect("room");
    cluster.drain(2);
    cluster.run(600);
    assert!(cluster.member(0).status().recovering, "no vote without k");
    cluster.requests_cut.clear();
    cluster.restart(1);
    let converged = cluster.run_until(2_000, |c| {
        (0..3).all(|m| c.delivered[m].len() == 2) && !c.member(0).status().recovering
    });
    assert!(converged, "{:?}", cluster.delivered);
    for member in 0..3u16 {
        let status = cluster.member(member).status();
        assert_eq!(status.counters.contradictions, 0, "{status:?}");
        assert_eq!(
            cluster.delivered[usize::from(member)][0],
            k,
            "member {member}"
        );
    }
}

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
