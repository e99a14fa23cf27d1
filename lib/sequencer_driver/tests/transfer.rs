//! The state-transfer protocol without sockets: a `Fetch` against a
//! `Server`, with chunks lost, duplicated, a donor that changes its image,
//! a donor that never answers, a donor without an image, and a donor that
//! takes one on demand.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::sequencer::{GlobalSeq, LocalSeq, MemberId, SnapshotNeeded, SnapshotPoint};
use crate::sequencer_driver::image::Image;
use crate::sequencer_driver::limits::{
    CHUNK_BYTES_MAX, TRANSFER_ATTEMPTS_PER_DONOR, TRANSFER_NOT_YET_PER_DONOR,
};
use crate::sequencer_driver::transfer_fetch::{Fetch, FetchStep};
use crate::sequencer_driver::transfer_message::TransferMessage;
use crate::sequencer_driver::transfer_serve::Server;

const ME: MemberId = MemberId(1);

/// What the donors' states cover in these tests: past every image.
const APPLIED: GlobalSeq = GlobalSeq(100);

fn image(global: u64, app_bytes: usize) -> Arc<Image> {
    let point = SnapshotPoint {
        global: GlobalSeq(global),
        delivered_local: vec![LocalSeq(global); 3],
    };
    let app: Vec<u8> = (0..app_bytes).map(|i| (i % 251) as u8).collect();
    Arc::new(Image::encode(point, &app))
}

fn needed(from: u16, base: u64) -> SnapshotNeeded {
    SnapshotNeeded {
        from: MemberId(from),
        base: GlobalSeq(base),
    }
}

/// Hands a fetch's request to the server and the answer back, until the
/// fetch finishes; `lose` says which round trips are lost. Returns the
/// image and the number of round trips.
fn run(
    fetch: &mut Fetch,
    mut step: FetchStep,
    server: &mut Server,
    latest: impl Fn(usize) -> Option<Arc<Image>>,
    lose: impl Fn(usize) -> bool,
) -> (Image, usize) {
    let mut now = Instant::now();
    for round in 0..1000 {
        step = match step {
            FetchStep::Send(
                donor,
                TransferMessage::ChunkRequest {
                    snapshot,
                    offset,
                    at_least,
                },
            ) => {
                if lose(round) {
                    now += Duration::from_secs(1);
                    fetch.on_timer(now)
                } else {
                    let request = (snapshot, offset, at_least);
                    match server.answer(ME, request, latest(round), APPLIED) {
                        TransferMessage::Chunk {
                            snapshot,
                            total,
                            offset,
                            bytes,
                        } => fetch.on_chunk(donor, (snapshot, total, offset, bytes), now),
                        TransferMessage::NoSnapshot => fetch.on_no_snapshot(donor, now),
                        other => panic!("server answered {other:?}"),
                    }
                }
            }
            FetchStep::Done(image) => return (image, round),
            other => panic!("unexpected step {other:?}"),
        };
    }
    panic!("the fetch did not finish");
}

#[test]
fn an_image_arrives_in_chunks_despite_loss() {
    let donor_image = image(40, 5 * CHUNK_BYTES_MAX + 123);
    let mut server = Server::new(3);
    let (mut fetch, step) = Fetch::start(needed(0, 35), ME, 3, Instant::now());
    let latest = |_| Some(Arc::clone(&donor_image));
    let (got, rounds) = run(&mut fetch, step, &mut server, latest, |round| {
        round % 3 == 1
    });
    assert_eq!(got, *donor_image);
    assert!(rounds >= 6, "{rounds} round trips for 6 chunks with loss");
}

#[test]
fn a_donor_that_snapshots_meanwhile_keeps_serving_the_pinned_image() {
    let old = image(40, 3 * CHUNK_BYTES_MAX);
    let new = image(50, 2 * CHUNK_BYTES_MAX);
    let mut server = Server::new(3);
    let (mut fetch, step) = Fetch::start(needed(0, 35), ME, 3, Instant::now());
    let latest = |round: usize| Some(Arc::clone(if round == 0 { &old } else { &new }));
    let (got, _) = run(&mut fetch, step, &mut server, latest, |_| false);
    assert_eq!(got, *old, "pinned at the first chunk");
}

#[test]
fn a_silent_donor_is_replaced_and_a_donor_without_image_is_skipped() {
    let (mut fetch, step) = Fetch::start(needed(2, 35), ME, 3, Instant::now());
    let FetchStep::Send(first, _) = step else {
        panic!("{step:?}");
    };
    assert_eq!(first, MemberId(2));
    let mut now = Instant::now();
    let mut step = FetchStep::Wait;
    for _ in 0..TRANSFER_ATTEMPTS_PER_DONOR {
        now += Duration::from_secs(1);
        step = fetch.on_timer(now);
    }
    let FetchStep::Send(second, _) = step else {
        panic!("{step:?}");
    };
    assert_eq!(second, MemberId(0), "the next member, never itself");
    let step = fetch.on_no_snapshot(MemberId(0), now);
    assert!(matches!(step, FetchStep::Send(MemberId(2), _)), "{step:?}");
    let step = fetch.on_no_snapshot(MemberId(2), now);
    assert!(matches!(step, FetchStep::Send(MemberId(0), _)), "{step:?}");
    assert_eq!(fetch.on_no_snapshot(MemberId(0), now), FetchStep::GiveUp);
}

#[test]
fn an_image_too_old_or_from_a_stranger_is_not_taken() {
    let mut server = Server::new(3);
    let (mut fetch, _) = Fetch::start(needed(0, 35), ME, 3, Instant::now());
    let old = image(30, 10);
    let TransferMessage::Chunk {
        snapshot,
        total,
        offset,
        bytes,
    } = server.answer(ME, (0, 0, 0), Some(old), APPLIED)
    else {
        panic!("a chunk");
    };
    let chunk = (snapshot, total, offset, bytes);
    let now = Instant::now();
    assert_eq!(
        fetch.on_chunk(MemberId(2), chunk.clone(), now),
        FetchStep::Wait
    );
    let step = fetch.on_chunk(MemberId(0), chunk, now);
    assert!(
        matches!(step, FetchStep::Send(MemberId(2), _)),
        "too old: {step:?}"
    );
}

#[test]
fn a_server_without_image_says_so() {
    let mut server = Server::new(3);
    let none = server.answer(ME, (0, 0, 35), None, GlobalSeq(30));
    assert_eq!(none, TransferMessage::NoSnapshot);
}

#[test]
fn a_donor_past_the_base_without_an_image_that_recent_says_not_yet() {
    let mut server = Server::new(3);
    let old = image(30, 10);
    let not_yet = server.answer(ME, (0, 0, 35), Some(Arc::clone(&old)), GlobalSeq(40));
    assert_eq!(not_yet, TransferMessage::NotYet);
    assert_eq!(
        server.answer(ME, (0, 0, 35), None, GlobalSeq(35)),
        TransferMessage::NotYet
    );
    let behind = server.answer(ME, (0, 0, 35), Some(old), GlobalSeq(34));
    assert_eq!(
        behind,
        TransferMessage::NoSnapshot,
        "its state is behind too"
    );
}

#[test]
fn a_fetch_waits_out_not_yet_then_takes_the_image_taken_on_demand() {
    let start = Instant::now();
    let (mut fetch, step) = Fetch::start(needed(0, 35), ME, 3, start);
    assert!(matches!(
        step,
        FetchStep::Send(
            MemberId(0),
            TransferMessage::ChunkRequest { at_least: 35, .. }
        )
    ));
    assert_eq!(
        fetch.on_not_yet(MemberId(2), start),
        FetchStep::Wait,
        "not the donor"
    );
    assert_eq!(fetch.on_not_yet(MemberId(0), start), FetchStep::Wait);
    assert_eq!(fetch.on_timer(start), FetchStep::Wait, "backed off");
    let mut now = fetch.retry_at();
    let step = fetch.on_timer(now);
    let expected = TransferMessage::ChunkRequest {
        snapshot: 0,
        offset: 0,
        at_least: 35,
    };
    assert_eq!(
        step,
        FetchStep::Send(MemberId(0), expected),
        "from the start"
    );
    let new = image(40, 10);
    let mut server = Server::new(3);
    let TransferMessage::Chunk {
        snapshot,
        total,
        offset,
        bytes,
    } = server.answer(ME, (0, 0, 35), Some(Arc::clone(&new)), APPLIED)
    else {
        panic!("a chunk");
    };
    now += Duration::from_millis(1);
    let step = fetch.on_chunk(MemberId(0), (snapshot, total, offset, bytes), now);
    assert_eq!(step, FetchStep::Done((*new).clone()));
}

#[test]
fn a_donor_that_stays_not_yet_is_left_after_a_bounded_wait() {
    let mut now = Instant::now();
    let (mut fetch, _) = Fetch::start(needed(0, 35), ME, 3, now);
    let mut waited = Duration::ZERO;
    for _ in 1..TRANSFER_NOT_YET_PER_DONOR {
        assert_eq!(fetch.on_not_yet(MemberId(0), now), FetchStep::Wait);
        waited += fetch.retry_at() - now;
        now = fetch.retry_at();
        assert!(matches!(
            fetch.on_timer(now),
            FetchStep::Send(MemberId(0), _)
        ));
    }
    let step = fetch.on_not_yet(MemberId(0), now);
    assert!(matches!(step, FetchStep::Send(MemberId(2), _)), "{step:?}");
    assert!(waited <= Duration::from_secs(15), "waited {waited:?}");
}
