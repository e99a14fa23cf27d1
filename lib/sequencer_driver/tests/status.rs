//! What a member's core and driver report reaches its replica status, the
//! form cluster-status shows.

use crate::sequencer::{Config, GlobalSeq, Member, MemberId};
use crate::sequencer_driver::replicator::replica_status;
use crate::sequencer_driver::status::SharedStatus;

#[test]
fn the_cores_contradictions_are_a_field_of_the_replica_status() {
    let mut core = Member::new(Config::new(3, MemberId(1)))
        .expect("a valid config")
        .status();
    core.counters.contradictions = 3;
    core.counters.other_view_drops = 2;
    let shared = SharedStatus::new(GlobalSeq(0));
    shared.publish_view(&core, true);
    let replica = replica_status(&shared.status(None), 1);
    assert_eq!(replica.contradictions, 3);
    // `drops` still counts them among every message dropped, as before.
    assert_eq!(replica.view.expect("a view").drops, 3 + 2);
}
