//! The catch-up gate: a majority heard, and everything held at return
//! delivered.

use crate::sequencer::{GlobalSeq, MemberId};
use crate::sequencer_driver::catch_up::CatchUp;

#[test]
fn the_gate_waits_for_a_majority_and_for_the_target() {
    let mut gate = CatchUp::new(5, MemberId(2), GlobalSeq(10));
    assert!(!gate.check(GlobalSeq(10)), "only itself heard");
    gate.on_watermark(MemberId(0), GlobalSeq(30));
    gate.on_watermark(MemberId(0), GlobalSeq(99)); // only the first counts
    assert!(!gate.check(GlobalSeq(10)), "two of three");
    gate.on_watermark(MemberId(4), GlobalSeq(25));
    assert!(!gate.check(GlobalSeq(29)), "target is 30");
    assert!(gate.check(GlobalSeq(30)));
    gate.on_watermark(MemberId(1), GlobalSeq(500));
    assert!(gate.check(GlobalSeq(30)), "the gate latches");
}

#[test]
fn a_group_of_one_opens_at_once() {
    let mut gate = CatchUp::new(1, MemberId(0), GlobalSeq(0));
    assert!(gate.check(GlobalSeq(0)));
}

#[test]
fn an_unknown_member_is_ignored() {
    let mut gate = CatchUp::new(3, MemberId(0), GlobalSeq(0));
    gate.on_watermark(MemberId(7), GlobalSeq(5));
    assert!(!gate.check(GlobalSeq(5)));
}
