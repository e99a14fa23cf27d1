//! The restart paths a driver depends on, each a single member restored
//! from a disk and what the application applied. (The scenarios of a whole
//! group are golden scenarios: the scripts of `testdata/`, run by
//! `scripts.rs`.)

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
    // Then the restart's new incarnation: it starts a view change for the
    // next view (sections 5.8 and 5.10).
    assert_eq!(
        member.take_output().to_persist,
        vec![
            Record::Base(point),
            truncate,
            Record::ViewChange { view: 1 }
        ]
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
