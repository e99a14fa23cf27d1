//! One test per protocol rule. Each drives a single member by hand with
//! messages "from" its peers and checks the output. The rule under test is
//! quoted from SPEC.md (Replication) or the project's requirements in the
//! test's first comment.

use super::harness::Cluster;
use super::sim::sim_config;
use crate::sequencer::{
    Body, Config, Destination, GlobalSeq, LocalSeq, Member, MemberId, Message, Missing, Origin,
    Output, PersistedState, Record, SequencerError, SnapshotPoint, Verdict, View, ViewStamp,
    Watermark,
};

/// A member that never suspects its (silent, hand-driven) peers: the view
/// change has its own tests (`testdata/`, `view_change.rs`, `sim.rs`).
fn member(members: u16, id: u16) -> Member {
    let config = Config {
        suspect_ticks: 1_000_000,
        ..sim_config(members, MemberId(id), 64)
    };
    Member::new(config).expect("valid config")
}

fn watermark(held_up_to: u64, requests: &[u64]) -> Watermark {
    Watermark {
        held_up_to: GlobalSeq(held_up_to),
        requests_held_up_to: requests.iter().map(|local| LocalSeq(*local)).collect(),
        earlier_runs: Vec::new(),
    }
}

fn zeros(members: u16) -> Watermark {
    Watermark::empty(members)
}

fn request(sender: u16, local_seq: u64, watermark: Watermark) -> Message {
    let payload = format!("payload {sender}/{local_seq}").into_bytes();
    Message {
        stamp: ViewStamp::default(),
        watermark,
        body: Body::Request {
            sender: MemberId(sender),
            local_seq: LocalSeq(local_seq),
            payload,
        },
    }
}

fn sequence(global: u64, sender: u16, local_seq: u64, watermark: Watermark) -> Message {
    let body = Body::Sequence {
        global: GlobalSeq(global),
        sender: MemberId(sender),
        local_seq: LocalSeq(local_seq),
    };
    Message {
        stamp: ViewStamp::default(),
        watermark,
        body,
    }
}

fn heartbeat(watermark: Watermark) -> Message {
    Message {
        stamp: ViewStamp::default(),
        watermark,
        body: Body::Heartbeat,
    }
}

fn step(member: &mut Member, from: u16, message: Message) -> Output {
    member.step(MemberId(from), message).expect("valid message");
    member.take_output()
}

/// The Sequence messages in an output, early or not, as (global, sender,
/// local_seq).
fn sequences_sent(output: &Output) -> Vec<(u64, u16, u64)> {
    let sequences = output
        .early_messages
        .iter()
        .chain(&output.messages)
        .filter_map(|(destination, message)| match message.body {
            Body::Sequence {
                global,
                sender,
                local_seq,
            } => {
                assert_eq!(*destination, Destination::All, "a new Sequence goes to all");
                Some((global.0, sender.0, local_seq.0))
            }
            _ => None,
        });
    sequences.collect()
}

/// The Retransmit messages in an output, as (target, items).
fn retransmits_sent(output: &Output) -> Vec<(u16, Vec<Missing>)> {
    let retransmits = output.messages.iter().filter_map(|(destination, message)| {
        match (destination, &message.body) {
            (Destination::Member(target), Body::Retransmit { missing }) => {
                Some((target.0, missing.clone()))
            }
            _ => None,
        }
    });
    retransmits.collect()
}

fn ticks(member: &mut Member, count: u64) -> Output {
    let mut merged = Output::default();
    for _ in 0..count {
        member.tick();
        let output = member.take_output();
        merged.messages.extend(output.messages);
        merged.to_persist.extend(output.to_persist);
        merged.deliveries.extend(output.deliveries);
    }
    merged
}

fn origin(sender: u16, local_seq: u64) -> Origin {
    Origin {
        sender: MemberId(sender),
        local_seq: LocalSeq(local_seq),
    }
}

#[test]
fn only_member_k_mod_n_assigns_k() {
    // "Global number k is assigned by member k mod n." Number 1 is member
    // 1's turn.
    let mut not_my_turn = member(5, 0);
    let output = step(&mut not_my_turn, 3, request(3, 1, zeros(5)));
    assert!(
        sequences_sent(&output).is_empty(),
        "member 0 must not assign #1"
    );

    let mut sequencer = member(5, 1);
    let output = step(&mut sequencer, 3, request(3, 1, zeros(5)));
    assert_eq!(sequences_sent(&output), vec![(1, 3, 1)]);
    let output = step(&mut sequencer, 3, request(3, 2, zeros(5)));
    assert!(sequences_sent(&output).is_empty(), "#2 is member 2's turn");
}

#[test]
fn sequencing_is_fifo_per_sender() {
    // "...and every earlier Request of the same sender is numbered."
    let mut sequencer = member(5, 1);
    let output = step(&mut sequencer, 3, request(3, 2, zeros(5)));
    assert!(sequences_sent(&output).is_empty(), "3/2 must wait for 3/1");
    let output = step(&mut sequencer, 3, request(3, 1, zeros(5)));
    assert_eq!(
        sequences_sent(&output),
        vec![(1, 3, 1)],
        "3/1 is numbered first"
    );
}

#[test]
fn sequencer_waits_for_every_lower_sequence_and_its_request() {
    // "...only once it holds every lower Sequence and its Request."
    let mut sequencer = member(5, 2);
    let output = step(&mut sequencer, 4, request(4, 1, zeros(5)));
    assert!(sequences_sent(&output).is_empty(), "#1 is not held");
    let output = step(&mut sequencer, 1, sequence(1, 3, 1, zeros(5)));
    assert!(
        sequences_sent(&output).is_empty(),
        "the request #1 names is not held"
    );
    let output = step(&mut sequencer, 3, request(3, 1, zeros(5)));
    assert_eq!(sequences_sent(&output), vec![(2, 4, 1)]);
}

#[test]
fn delivery_waits_for_a_majority() {
    // "A member delivers number s only after delivering every lower number and
    // knowing that a majority holds all Requests and Sequences up to s."
    let mut member = member(5, 0);
    step(&mut member, 3, request(3, 1, zeros(5)));
    let output = step(
        &mut member,
        1,
        sequence(1, 3, 1, watermark(1, &[0, 0, 0, 1, 0])),
    );
    assert!(
        output.deliveries.is_empty(),
        "held by members 0 and 1 only: 2 of 5"
    );
    let output = step(&mut member, 2, heartbeat(watermark(0, &[0, 0, 0, 1, 0])));
    assert!(output.deliveries.is_empty(), "member 2 does not hold #1");
    let output = step(&mut member, 2, heartbeat(watermark(1, &[0, 0, 0, 1, 0])));
    assert_eq!(output.deliveries.len(), 1, "3 of 5 hold #1");
    assert_eq!(output.deliveries[0].global, GlobalSeq(1));
    assert_eq!(output.deliveries[0].payload, b"payload 3/1".to_vec());
}

#[test]
fn gap_in_a_senders_local_numbers_is_asked_for() {
    // "A gap in a sender's local_seq triggers a Retransmit request to the
    // message's sender", after nack_delay_ticks (2) in case it is reordered.
    let mut member = member(5, 0);
    step(&mut member, 3, request(3, 2, zeros(5)));
    assert!(
        retransmits_sent(&ticks(&mut member, 1)).is_empty(),
        "not before the delay"
    );
    let output = ticks(&mut member, 1);
    assert_eq!(
        retransmits_sent(&output),
        vec![(3, vec![Missing::Request(origin(3, 1))])]
    );
}

#[test]
fn sequence_naming_an_unseen_request_is_asked_for() {
    // "A Sequence naming an unseen Request" triggers a Retransmit to its sender.
    let mut member = member(5, 0);
    step(&mut member, 1, sequence(1, 3, 1, zeros(5)));
    let output = ticks(&mut member, 2);
    assert_eq!(
        retransmits_sent(&output),
        vec![(3, vec![Missing::Request(origin(3, 1))])]
    );
}

#[test]
fn gap_in_global_numbers_is_asked_for() {
    // "A gap in global numbers" triggers a Retransmit to member k mod n.
    let mut member = member(5, 0);
    step(&mut member, 3, request(3, 1, zeros(5)));
    step(&mut member, 3, sequence(3, 3, 1, zeros(5)));
    let output = ticks(&mut member, 2);
    let expected = vec![
        (1, vec![Missing::Sequence(GlobalSeq(1))]),
        (2, vec![Missing::Sequence(GlobalSeq(2))]),
    ];
    assert_eq!(retransmits_sent(&output), expected);
}

#[test]
fn trailing_gap_is_found_from_a_heartbeat() {
    // "Idle members send light heartbeats so watermarks advance and trailing
    // gaps are found": no later message would reveal a lost last message.
    let mut member = member(5, 0);
    step(&mut member, 2, heartbeat(watermark(1, &[0, 0, 1, 0, 0])));
    let output = ticks(&mut member, 2);
    let expected = vec![
        (1, vec![Missing::Sequence(GlobalSeq(1))]),
        (2, vec![Missing::Request(origin(2, 1))]),
    ];
    assert_eq!(retransmits_sent(&output), expected);
}

#[test]
fn a_request_received_is_appended_and_claimed_later() {
    // Section 3.1: a Request moves only the per-sender watermark, which no
    // one waits for, so a member whose turn it is not says nothing, and the
    // driver need not sync the record; the Sequence that names it is what
    // the member announces, after syncing both.
    let mut member = member(5, 0);
    let valid = "valid message";
    member
        .step(MemberId(3), request(3, 1, zeros(5)))
        .expect(valid);
    member.announce_watermark();
    let received = member.take_output();
    assert_eq!(received.to_persist.len(), 1);
    assert!(received.messages.is_empty() && !received.needs_sync());
    let named = sequence(1, 3, 1, watermark(1, &[0, 0, 0, 1, 0]));
    member.step(MemberId(1), named).expect(valid);
    member.announce_watermark();
    let sequenced = member.take_output();
    assert!(sequenced.needs_sync());
    assert!(matches!(
        &sequenced.messages[..],
        [(Destination::All, Message { body: Body::Heartbeat, watermark, .. })]
            if watermark.held_up_to == GlobalSeq(1)
    ));
}

#[test]
fn duplicates_are_ignored() {
    // "Duplicates are ignored": persisted once, delivered once.
    let mut member = member(3, 0);
    let first = step(&mut member, 1, request(1, 1, zeros(3)));
    let again = step(&mut member, 1, request(1, 1, zeros(3)));
    assert_eq!(first.to_persist.len(), 1);
    assert!(again.to_persist.is_empty() && again.messages.is_empty());
    let first = step(&mut member, 1, sequence(1, 1, 1, watermark(1, &[0, 1, 0])));
    let again = step(&mut member, 2, sequence(1, 1, 1, watermark(1, &[0, 1, 0])));
    // The Sequence, then the delivered number it moved.
    assert_eq!((first.to_persist.len(), first.deliveries.len()), (2, 1));
    assert!(again.to_persist.is_empty() && again.deliveries.is_empty());
}

#[test]
fn a_conflicting_sequence_is_refused_and_counted() {
    // Two requests under one number would break total order. A peer that
    // says so broke the protocol (or forgot its disk): refuse the message,
    // count it, persist nothing, and keep running (no crash loop).
    let mut member = member(5, 0);
    step(&mut member, 1, sequence(1, 3, 1, zeros(5)));
    let refused = step(&mut member, 1, sequence(1, 4, 1, zeros(5)));
    assert!(refused.to_persist.is_empty());
    assert_eq!(member.status().counters.contradictions, 1);
    let request = step(&mut member, 3, request(3, 1, zeros(5)));
    let other_payload = Message {
        stamp: ViewStamp::default(),
        watermark: zeros(5),
        body: Body::Request {
            sender: MemberId(3),
            local_seq: LocalSeq(1),
            payload: b"another payload".to_vec(),
        },
    };
    assert_eq!(request.to_persist.len(), 1);
    let refused = step(&mut member, 3, other_payload);
    assert!(refused.to_persist.is_empty());
    assert_eq!(member.status().counters.contradictions, 2);
}

/// Steps `message` into `member` and checks that it is refused and changes
/// nothing but the `contradictions` counter: the member's whole state (its
/// `Debug` form) is what an untouched twin's is, and the output is empty.
fn assert_refused_unchanged(member: &mut Member, from: u16, message: Message) {
    let twin = member.clone();
    let counted = twin.status().counters.contradictions;
    let verdict = member.step(MemberId(from), message).expect("valid message");
    assert!(matches!(verdict, Verdict::Refused(_)), "{verdict:?}");
    assert_eq!(member.status().counters.contradictions, counted + 1);
    let after = format!("{member:?}").replace(
        &format!("contradictions: {}", counted + 1),
        &format!("contradictions: {counted}"),
    );
    assert_eq!(after, format!("{twin:?}"), "a refusal changes nothing");
    assert!(!member.has_output(), "a refusal persists and sends nothing");
}

#[test]
fn a_contradictory_message_is_refused_and_changes_nothing() {
    // No correct peer sends these, whatever the network does: a member
    // with a bug, or a corrupted or replayed datagram. The member refuses
    // the whole message (its watermark too), counts it, and keeps running.
    let mut member = member(5, 0);
    step(&mut member, 1, request(1, 1, zeros(5)));
    step(&mut member, 1, request(1, 2, zeros(5)));
    let mut other_payload = request(1, 1, zeros(5));
    if let Body::Request { payload, .. } = &mut other_payload.body {
        *payload = b"another payload".to_vec();
    }
    assert_refused_unchanged(&mut member, 3, other_payload);
    // Number 2 held beyond a gap names 1/1; filling the gap with 1 = 1/1
    // would number 1/1 twice (this used to fail an assertion).
    step(&mut member, 2, sequence(2, 1, 1, zeros(5)));
    assert_refused_unchanged(&mut member, 1, sequence(1, 1, 1, zeros(5)));
    assert_refused_unchanged(&mut member, 3, sequence(2, 1, 2, zeros(5)));
    // Number 1 = 1/2 breaks 1's order (1/1 is not numbered).
    assert_refused_unchanged(&mut member, 1, sequence(1, 1, 2, zeros(5)));
}

#[test]
fn a_new_view_that_drops_a_delivered_number_is_refused() {
    let mut member = member(3, 0);
    step(&mut member, 1, request(1, 1, zeros(3)));
    let delivered = step(&mut member, 1, sequence(1, 1, 1, watermark(1, &[0, 1, 0])));
    assert_eq!(delivered.deliveries.len(), 1);
    let new_view = Message {
        stamp: ViewStamp {
            view: 1,
            log_view: 1,
        },
        watermark: zeros(3),
        body: Body::NewView {
            members: vec![MemberId(0), MemberId(1), MemberId(2)],
            start: GlobalSeq(2),
            after: GlobalSeq(0),
            bindings: vec![Origin {
                sender: MemberId(2),
                local_seq: LocalSeq(1),
            }],
        },
    };
    assert_refused_unchanged(&mut member, 1, new_view);
}

#[test]
#[should_panic(expected = "refused contradictory messages")]
fn a_refusal_fails_a_scripted_run() {
    // The golden scripts' cluster fails on any refusal, as the panics that
    // refusals replaced did: in a test every peer is this code, so a
    // refusal is a protocol bug.
    let mut cluster = Cluster::new(3);
    cluster.member(0).broadcast(b"op".to_vec()).expect("room");
    cluster.drain(0);
    while cluster.step_one() {}
    // Member 2 says 0/1 had another payload.
    let mut forged = request(0, 1, zeros(3));
    if let Body::Request { payload, .. } = &mut forged.body {
        *payload = b"not op".to_vec();
    }
    let verdict = cluster.member(1).step(MemberId(2), forged).expect("valid");
    assert!(matches!(verdict, Verdict::Refused(_)), "{verdict:?}");
    cluster.assert_no_contradictions("a_refusal_fails_a_scripted_run");
}

#[test]
fn retransmit_requests_back_off_and_rotate_until_answered() {
    // "...repeated with back-off until answered": after 2 ticks, then 4, 8,
    // 16 (the cap), 16, ...; the first attempt goes to the original sender
    // (member 1 for number 1), later ones rotate through the members known
    // to hold it.
    let mut member = member(5, 0);
    step(&mut member, 2, heartbeat(watermark(1, &[0, 0, 0, 0, 0])));
    let mut sent = Vec::new();
    for tick in 1..=50 {
        for (target, items) in retransmits_sent(&ticks(&mut member, 1)) {
            assert_eq!(items, vec![Missing::Sequence(GlobalSeq(1))]);
            sent.push((tick, target));
        }
    }
    assert_eq!(sent, vec![(2, 1), (6, 2), (14, 1), (30, 2), (46, 1)]);
    step(&mut member, 1, sequence(1, 3, 1, zeros(5)));
    step(&mut member, 3, request(3, 1, zeros(5)));
    let later = ticks(&mut member, 40);
    assert!(
        retransmits_sent(&later).is_empty(),
        "answered: asked no more"
    );
}

#[test]
fn retransmit_is_answered_from_history_or_with_compacted() {
    // A member answers what it holds; what it forgot it says it forgot, so
    // the asker knows it needs a state transfer.
    let mut sequencer = Member::new(sim_config(3, MemberId(1), 0)).expect("valid config");
    step(&mut sequencer, 0, request(0, 1, watermark(0, &[1, 0, 0])));
    let ask = |items: Vec<Missing>| Message {
        stamp: ViewStamp::default(),
        watermark: zeros(3),
        body: Body::Retransmit { missing: items },
    };
    let output = step(
        &mut sequencer,
        2,
        ask(vec![
            Missing::Sequence(GlobalSeq(1)),
            Missing::Request(origin(0, 1)),
        ]),
    );
    let bodies: Vec<&Body> = output
        .messages
        .iter()
        .map(|(_, message)| &message.body)
        .collect();
    assert!(matches!(
        bodies[0],
        Body::Sequence {
            global: GlobalSeq(1),
            ..
        }
    ));
    assert!(matches!(
        bodies[1],
        Body::Request {
            local_seq: LocalSeq(1),
            ..
        }
    ));
    assert!(output
        .messages
        .iter()
        .all(|(destination, _)| *destination == Destination::Member(MemberId(2))));

    let delivered = step(&mut sequencer, 0, heartbeat(watermark(1, &[1, 0, 0])));
    assert_eq!(delivered.deliveries.len(), 1);
    sequencer.applied_durably(GlobalSeq(1));
    let collected = ticks(&mut sequencer, 1);
    assert!(collected
        .to_persist
        .iter()
        .any(|record| matches!(record, Record::Base(point) if point.global.0 == 1)));
    let output = step(
        &mut sequencer,
        2,
        ask(vec![Missing::Sequence(GlobalSeq(1))]),
    );
    assert!(matches!(
        output.messages[0].1.body,
        Body::Compacted { base: GlobalSeq(1) }
    ));
}

#[test]
fn compacted_answer_asks_the_driver_for_a_snapshot() {
    let mut member = member(3, 0);
    let output = step(
        &mut member,
        1,
        Message {
            stamp: ViewStamp::default(),
            watermark: zeros(3),
            body: Body::Compacted { base: GlobalSeq(4) },
        },
    );
    let need = output.snapshot_needed.expect("behind the peer's base");
    assert_eq!((need.from, need.base), (MemberId(1), GlobalSeq(4)));
    let point = SnapshotPoint {
        global: GlobalSeq(4),
        delivered_local: vec![LocalSeq(1), LocalSeq(3), LocalSeq(0)],
    };
    member.install_snapshot(point.clone()).expect("ahead");
    assert_eq!(member.delivered_up_to(), GlobalSeq(4));
    assert_eq!(member.watermark(), watermark(4, &[1, 3, 0]));
    assert_eq!(
        member.take_output().to_persist,
        vec![Record::Base(point.clone())]
    );
    assert!(
        member.install_snapshot(point).is_err(),
        "not ahead any more"
    );
}

#[test]
fn garbage_is_collected_once_every_member_holds_it() {
    // Bounded history: what every member's watermark covers is forgotten.
    let mut sequencer = member(3, 1);
    step(&mut sequencer, 0, request(0, 1, watermark(0, &[1, 0, 0])));
    step(&mut sequencer, 0, heartbeat(watermark(1, &[1, 0, 0])));
    sequencer.applied_durably(GlobalSeq(1));
    assert!(
        ticks(&mut sequencer, 1).to_persist.is_empty(),
        "member 2 does not hold #1 yet"
    );
    step(&mut sequencer, 2, heartbeat(watermark(1, &[1, 0, 0])));
    let output = ticks(&mut sequencer, 1);
    assert!(matches!(&output.to_persist[..], [Record::Base(point)] if point.global.0 == 1));
    assert!(sequencer.persisted_state().sequences.is_empty());
}

#[test]
fn restore_keeps_assignments_and_delivers_again() {
    // A restarted member never assigns a number twice: its log replays the
    // assignments it persisted, and it assigns nothing more in the view it
    // was in (it starts a view change: section 5.10). It re-delivers what
    // the application lacks.
    let mut sequencer = member(3, 1);
    let output = step(&mut sequencer, 0, request(0, 1, watermark(0, &[1, 0, 0])));
    let mut disk = PersistedState::new(3);
    output
        .to_persist
        .iter()
        .for_each(|record| disk.apply(record));
    let mut restarted = Member::restore(
        sim_config(3, MemberId(1), 64),
        disk,
        SnapshotPoint::start(3),
    )
    .expect("restore");
    assert_eq!(restarted.watermark(), watermark(1, &[1, 0, 0]));
    let output = restarted.take_output();
    assert!(sequences_sent(&output).is_empty(), "nothing assigned again");
    let output = step(&mut restarted, 0, request(0, 2, watermark(1, &[2, 0, 0])));
    assert!(sequences_sent(&output).is_empty(), "#2 is member 2's turn");
}

#[test]
fn a_restart_leaves_its_view_and_numbers_its_requests_in_the_next() {
    // Its earlier life may have sent Requests and Sequences it never
    // persisted (both leave before the fsync), so a restart never reuses a
    // local number and never assigns in its old view again: it asks for a
    // new view, whose number becomes its incarnation, and broadcasts and
    // assigns nothing until it has one. So does a second restart, and so
    // does a restart with the early send turned off: the life before it
    // may have run with it on.
    let mut disk = PersistedState::new(3);
    disk.apply(&Record::NewView {
        view: View {
            number: 4,
            members: vec![MemberId(0), MemberId(1), MemberId(2)],
            start: GlobalSeq(0),
        },
        truncate_after: GlobalSeq(0),
    });
    let early = sim_config(3, MemberId(1), 64);
    let late = Config {
        early_send: false,
        ..early.clone()
    };
    for (incarnation, config) in [(0, &early), (4, &early), (4, &late)] {
        disk.apply(&Record::Incarnation {
            incarnation,
            new_group_with: Vec::new(),
        });
        let mut restarted = Member::restore(config.clone(), disk.clone(), SnapshotPoint::start(3))
            .expect("restore");
        assert_eq!(restarted.status().incarnation, incarnation);
        assert_eq!(
            restarted.broadcast(vec![7]),
            Err(SequencerError::NewIncarnation)
        );
        assert!(restarted.status().changing, "it asks for view 5");
        assert!(!restarted.is_serving());
        let output = restarted.take_output();
        assert!(output.to_persist.contains(&Record::ViewChange { view: 5 }));
        // Number 1 is its turn in view 4 (members 0, 1, 2 from number 0),
        // but it works in view 4 no more.
        let output = step(&mut restarted, 0, request(0, 1, watermark(0, &[1, 0, 0])));
        assert!(
            sequences_sent(&output).is_empty(),
            "nothing assigned in view 4 (early send {})",
            config.early_send
        );
    }
}

#[test]
fn a_sequence_leaves_before_its_fsync_claiming_only_what_is_durable() {
    // Member 1 numbers 1: the Sequence goes among the early messages, with
    // the watermark of the last output handed out (it held nothing then);
    // its record is in the same output, to be made durable meanwhile.
    let mut sequencer = member(5, 1);
    let output = step(&mut sequencer, 3, request(3, 1, zeros(5)));
    assert_eq!(sequences_sent(&output), vec![(1, 3, 1)]);
    let (_, early) = output
        .early_messages
        .iter()
        .find(|(_, message)| matches!(message.body, Body::Sequence { .. }))
        .expect("the Sequence leaves early");
    assert_eq!(
        early.watermark,
        zeros(5),
        "claims nothing it does not hold durably"
    );
    assert!(output.to_persist.contains(&Record::Sequence {
        global: GlobalSeq(1),
        origin: origin(3, 1),
    }));
    // Its claim to hold number 1 leaves after the fsync, with the batch's
    // heartbeat.
    sequencer.announce_watermark();
    let output = sequencer.take_output();
    let claim = output
        .messages
        .iter()
        .find(|(destination, _)| *destination == Destination::All)
        .map(|(_, message)| message.watermark.held_up_to);
    assert_eq!(claim, Some(GlobalSeq(1)));
}

#[test]
fn broadcast_refuses_when_too_many_are_in_flight_or_too_large() {
    let mut member = member(5, 0);
    for expected in 1..=8 {
        assert_eq!(member.broadcast(vec![1]).expect("room"), LocalSeq(expected));
    }
    assert_eq!(
        member.broadcast(vec![1]),
        Err(SequencerError::Backpressure {
            in_flight: 8,
            max: 8
        })
    );
    let too_large = vec![0; member.config().payload_bytes_max + 1];
    assert!(matches!(
        member.broadcast(too_large),
        Err(SequencerError::PayloadTooLarge { .. })
    ));
}

#[test]
fn a_group_of_one_delivers_its_own_broadcast_at_once() {
    let mut member = member(1, 0);
    member.broadcast(b"alone".to_vec()).expect("room");
    let output = member.take_output();
    assert_eq!(output.deliveries.len(), 1);
    assert_eq!(
        output.to_persist.len(),
        3,
        "the request, its sequence and the delivered number"
    );
    assert_eq!(
        output.to_persist[2],
        Record::Delivered {
            up_to: GlobalSeq(1)
        }
    );
}

#[test]
fn invalid_messages_are_refused() {
    let mut member = member(3, 0);
    assert!(
        member.step(MemberId(0), heartbeat(zeros(3))).is_err(),
        "from itself"
    );
    assert!(
        member.step(MemberId(3), heartbeat(zeros(3))).is_err(),
        "from outside the group"
    );
    assert!(
        member.step(MemberId(1), heartbeat(zeros(5))).is_err(),
        "watermark of another group"
    );
    assert!(
        member.step(MemberId(1), request(7, 1, zeros(3))).is_err(),
        "sender outside the group"
    );
    assert!(
        member
            .step(MemberId(1), sequence(0, 1, 1, zeros(3)))
            .is_err(),
        "number 0"
    );
    assert!(member.take_output().is_empty());
}

#[test]
fn config_validate_names_the_broken_rule() {
    assert!(Config::new(5, MemberId(4)).validate().is_ok());
    let broken = [
        (
            Config {
                members: 0,
                ..Config::new(5, MemberId(0))
            },
            "members must be at least 1",
        ),
        (Config::new(5, MemberId(5)), "id must be below members"),
        (
            Config {
                requests_window: 10,
                ..Config::new(5, MemberId(0))
            },
            "requests_window must be >= holdback_max",
        ),
        (
            Config {
                nack_backoff_max_ticks: 1,
                ..Config::new(5, MemberId(0))
            },
            "nack_backoff_max_ticks",
        ),
    ];
    for (config, rule) in broken {
        match config.validate() {
            Err(SequencerError::ConfigInvalid(message)) => {
                assert!(message.contains(rule), "{message}")
            }
            other => panic!("expected {rule:?}, got {other:?}"),
        }
    }
}

#[test]
fn sequences_beyond_the_holdback_window_are_dropped_and_asked_for_later() {
    // Bounded holdback: with holdback_max 32 and nothing delivered, number
    // 40 is dropped (not persisted), and a watermark claiming number 40
    // makes the member ask only for what fits in its window.
    let mut member = member(5, 0);
    let output = step(&mut member, 1, sequence(40, 3, 1, zeros(5)));
    assert!(output.to_persist.is_empty(), "beyond the window");
    step(&mut member, 2, heartbeat(watermark(40, &[0, 0, 0, 0, 0])));
    let asked: Vec<Missing> = retransmits_sent(&ticks(&mut member, 2))
        .into_iter()
        .flat_map(|(_, items)| items)
        .collect();
    assert_eq!(asked.len(), 32);
    assert!(asked.contains(&Missing::Sequence(GlobalSeq(32))));
    assert!(!asked.contains(&Missing::Sequence(GlobalSeq(33))));
}

#[test]
fn a_moved_watermark_is_announced_at_once_and_only_once() {
    // Delivery waits for a majority's watermarks, so `announce_watermark`
    // sends a moved one now instead of at the next tick; an unmoved one is
    // not sent again (one heartbeat per batch of events, not per call).
    let mut member = member(5, 0);
    member.announce_watermark();
    assert!(
        member.take_output().messages.is_empty(),
        "nothing moved yet"
    );
    let output = step(&mut member, 3, request(3, 1, zeros(5)));
    assert!(output.messages.is_empty(), "a Request is not answered");
    step(
        &mut member,
        1,
        sequence(1, 3, 1, watermark(1, &[0, 0, 0, 1, 0])),
    );
    member.announce_watermark();
    let output = member.take_output();
    let announced: Vec<&Message> = output
        .messages
        .iter()
        .filter(|(destination, _)| *destination == Destination::All)
        .map(|(_, message)| message)
        .collect();
    assert_eq!(announced.len(), 1, "{:?}", output.messages);
    assert_eq!(announced[0].body, Body::Heartbeat);
    assert_eq!(announced[0].watermark, watermark(1, &[0, 0, 0, 1, 0]));
    member.announce_watermark();
    assert!(
        member.take_output().messages.is_empty(),
        "already announced"
    );
    // The tick has nothing to add either: the watermark is not news.
    let output = ticks(&mut member, 1);
    assert!(output.messages.is_empty(), "{:?}", output.messages);
}

#[test]
fn a_group_of_one_announces_nothing() {
    let mut member = member(1, 0);
    member.broadcast(b"alone".to_vec()).expect("accepted");
    member.announce_watermark();
    let output = member.take_output();
    let heartbeats = output
        .messages
        .iter()
        .filter(|(_, message)| message.body == Body::Heartbeat)
        .count();
    assert_eq!(heartbeats, 0, "{:?}", output.messages);
    assert_eq!(output.deliveries.len(), 1);
}

/// Rule (docs/SEQUENCER.md, 5.8, exact claims): a member's claim follows
/// each sender's stream past a jump to a later incarnation, and names the
/// run it left, so it never claims a request it lacks; once the jump is
/// delivered, the run it left is void and no longer named.
#[test]
fn a_claim_past_a_jump_names_the_run_it_left() {
    let mut member = member(3, 0);
    let first = (3 << 32) | 1;
    let jumped_to = (9 << 32) | 1;
    let _ = step(&mut member, 2, request(2, first, zeros(3)));
    let _ = step(&mut member, 2, request(2, jumped_to, zeros(3)));
    let claimed = member.watermark();
    assert_eq!(claimed.requests_held_up_to[2], LocalSeq(jumped_to));
    let run_left = Origin {
        sender: MemberId(2),
        local_seq: LocalSeq(first),
    };
    let nothing_of_incarnation_0 = Origin {
        sender: MemberId(2),
        local_seq: LocalSeq(0),
    };
    assert_eq!(claimed.earlier_runs, [nothing_of_incarnation_0, run_left]);
    let torn = Origin {
        sender: MemberId(2),
        local_seq: LocalSeq(first + 1),
    };
    assert!(claimed.claims(run_left), "held");
    assert!(!claimed.claims(torn), "2/3:2 is not held here");
    assert!(!claimed.claims(Origin {
        sender: MemberId(2),
        local_seq: LocalSeq(1),
    }));
    let _ = step(
        &mut member,
        1,
        sequence(1, 2, first, watermark(1, &[0, 0, first])),
    );
    let _ = step(
        &mut member,
        2,
        sequence(2, 2, jumped_to, watermark(2, &[0, 0, jumped_to])),
    );
    assert_eq!(member.status().delivered_up_to, GlobalSeq(2));
    assert!(
        member.watermark().earlier_runs.is_empty(),
        "delivered past it"
    );
}

#[test]
fn a_snapshot_from_a_later_order_ends_the_view_its_sequencer_assigned_in() {
    // m2 owns number 2 in view 0 (2 mod 3) and assigns it to 0/2. A
    // snapshot at number 1 says it was delivered as 1/1 (a later view's
    // order): 0/2 no longer continues sender 0's order, and the install
    // drops number 2. Assigning it again in view 0 (now to 0/1) would bind
    // one number twice in one view's log; m2 must leave the view instead.
    let mut member = member(3, 2);
    step(&mut member, 0, request(0, 1, zeros(3)));
    step(&mut member, 0, request(0, 2, zeros(3)));
    let assigned = step(&mut member, 1, sequence(1, 0, 1, watermark(0, &[2, 0, 0])));
    assert_eq!(sequences_sent(&assigned), vec![(2, 0, 2)]);
    let later_order = SnapshotPoint {
        global: GlobalSeq(1),
        delivered_local: vec![LocalSeq(0), LocalSeq(1), LocalSeq(0)],
    };
    member.install_snapshot(later_order).expect("ahead");
    let installed = member.take_output();
    assert_eq!(sequences_sent(&installed), vec![]);
    assert!(member.status().changing, "m2 left view 0");
    assert!(installed
        .to_persist
        .iter()
        .any(|record| matches!(record, Record::ViewChange { view: 1 })));
}

#[test]
fn a_state_transfer_from_a_later_view_assigns_nothing_in_the_old_view() {
    // Member 1 still works in view 0 (number 4 is its turn there) while
    // members 0 and 2 went on to view 1. A Retransmit of Requests is
    // answered across views, so member 2, working in view 1, answers it
    // with Compacted, and member 1 installs a state transfer at number 3 of
    // view 1's log. View 0's log need not bind 1..3 as view 1 delivered
    // them, and no majority works in view 0 any more: member 1 must not
    // assign 4 in view 0 on top of that prefix (seeds 247326 and 385383 of
    // five, 291188 of other sizes). Early send or not, alike.
    for early_send in [false, true] {
        let config = Config {
            suspect_ticks: 1_000_000,
            early_send,
            ..sim_config(3, MemberId(1), 64)
        };
        let mut stale = Member::new(config).expect("valid config");
        let later = ViewStamp {
            view: 1,
            log_view: 1,
        };
        let output = step(
            &mut stale,
            2,
            Message {
                stamp: later,
                watermark: watermark(3, &[1, 1, 1]),
                body: Body::Compacted { base: GlobalSeq(3) },
            },
        );
        assert!(output.snapshot_needed.is_some());
        stale
            .install_snapshot(SnapshotPoint {
                global: GlobalSeq(3),
                delivered_local: vec![LocalSeq(1), LocalSeq(1), LocalSeq(1)],
            })
            .expect("ahead");
        let output = stale.take_output();
        assert!(sequences_sent(&output).is_empty());
        // Request 0/2 arrives: in view 0, number 4 would be member 1's.
        let output = step(&mut stale, 0, request(0, 2, watermark(0, &[2, 0, 0])));
        assert!(
            sequences_sent(&output).is_empty(),
            "early_send {early_send}: nothing assigned in view 0 after view 1's state transfer"
        );
    }
}
