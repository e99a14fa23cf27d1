//! The scenarios left in Rust: the restart paths a driver depends on (a
//! single member restored from a disk), and a read question put to a member
//! recovering an empty disk, which needs a message-by-message schedule. The
//! other scenarios over the lossless cluster of `harness.rs` (a member down
//! and back, a full stop, a minority, a paused member, lost disks, a new
//! group, reads, the vote that waits for a majority) are golden scenarios:
//! the scripts of `testdata/`, run by `scripts.rs`.

use super::harness::Cluster;
use super::sim::sim_config;
use crate::sequencer::{
    GlobalSeq, LocalSeq, Member, MemberId, PersistedState, Record, SequencerError, SnapshotPoint,
    View,
};

#[test]
fn restore_jumps_to_an_application_snapshot_the_log_does_not_record() {
    // A crash after the application installed a transferred snapshot but
    // before the member persisted its Base: restore jumps to the snapshot and
    // asks for the Base record to be persisted.
    let point = SnapshotPoint {
        global: GlobalSeq(6),
        delivered_local: vec![LocalSeq(2); 3],
    };
    let config = sim_config(3, MemberId(0), 64);
    let mut member = Member::restore(config, PersistedState::new(3), point.clone()).expect("jump");
    assert_eq!(member.delivered_up_to(), GlobalSeq(6));
    let truncate = Record::NewView {
        view: View::initial(3),
        truncate_after: GlobalSeq(6),
    };
    assert_eq!(
        member.take_output().to_persist,
        vec![Record::Base(point), truncate]
    );
}

#[test]
fn restore_refuses_an_application_behind_the_forgotten_prefix() {
    let mut disk = PersistedState::new(3);
    let point = SnapshotPoint {
        global: GlobalSeq(6),
        delivered_local: vec![LocalSeq(2); 3],
    };
    disk.apply(&Record::Base(point));
    let config = sim_config(3, MemberId(0), 64);
    let result = Member::restore(config, disk, SnapshotPoint::start(3));
    assert!(matches!(result, Err(SequencerError::RestoreInvalid(_))));
}

#[test]
fn a_member_recovering_an_empty_disk_answers_no_read_question() {
    // 1 and 2 deliver a write while 0 is cut off; then 2 loses its disk.
    // Recovering, 2 knows nothing of the write: had it answered 0's read
    // question, {0, 2} would be a majority that never saw the write, and 0
    // would answer the read without it.
    let mut cluster = Cluster::new(3);
    cluster.partition(&[0]);
    cluster.member(1).broadcast(b"w".to_vec()).expect("room");
    cluster.drain(1);
    cluster.run(3);
    assert_eq!(cluster.delivered[2].len(), 1);
    cluster.wipe(2);
    cluster
        .cut
        .retain(|link| *link != (0, 2) && *link != (2, 0));
    let view_before = cluster.member(0).status().view;
    cluster.start_empty(2, 7);
    // 2 asks; once a majority with a past answered, it asks for a view.
    while cluster.member(2).status().view == view_before {
        assert!(cluster.step_one(), "2 decided to ask for a view");
    }
    // Its GetView would push 0 into a view change (which abandons reads):
    // drop 2's messages to 0 until 0's question is out.
    cluster.cut.insert((2, 0));
    while cluster.step_one() {}
    cluster.cut.remove(&(2, 0));
    let read = cluster.member(0).read().expect("0 works in its view");
    cluster.drain(0);
    cluster.run(30);
    assert!(
        cluster.reads_ready[0]
            .iter()
            .all(|(_, delivered)| *delivered >= 1),
        "read answered without the write: {:?}",
        cluster.reads_ready[0]
    );
    let handed_back = cluster.reads_ready[0].iter().any(|(r, _)| *r == read)
        || cluster.reads_abandoned[0].contains(&read);
    assert!(handed_back, "the read is answered or abandoned");
}
