//! Five replicators over loopback UDP, end to end. Each test opens with its
//! goal and method. Every check of the replicated state reads it through
//! the total order (a Dump request at each replica, see `cluster.rs`) once
//! the replicas agree on what they applied.

use std::collections::{BTreeMap, BTreeSet};
use std::net::UdpSocket;
use std::thread;
use std::time::Duration;

use super::cluster::{wait_until, Cluster, WAIT_MAX};
use super::toy::{add, Toy, ToyRequest, ToyResult};
use crate::driver_kit::testing::{steady_load, SLOW_SNAPSHOT};
use crate::replication::ReplicationError;
use crate::sequencer::VIEW_BINDINGS_MAX;
use crate::sequencer_driver::SequencerOptions;

/// A client retries a refused request (same id) this many times, at the
/// next replica each time.
const RETRIES_MAX: usize = 20;

/// The key an add with this id touches.
fn key_of(id: u64) -> String {
    format!("k{}", id % 7)
}

/// `clients` threads per replica in `targets`, each submitting `per_client`
/// adds with ids from `first_id` up, one at a time, retrying a refusal with
/// the same id at the next target. Returns every acknowledged result.
fn run_load(
    cluster: &Cluster,
    targets: &[usize],
    clients: usize,
    per_client: usize,
    first_id: u64,
) -> BTreeMap<u64, ToyResult> {
    let mut acked = BTreeMap::new();
    thread::scope(|scope| {
        let mut handles = Vec::new();
        for (slot, client) in (0..targets.len() * clients).enumerate() {
            let start = slot % targets.len();
            handles.push(scope.spawn(move || {
                let mut mine = Vec::new();
                for request in 0..per_client {
                    let id = first_id + (client * per_client + request) as u64;
                    if let Some(result) = submit_with_retries(cluster, targets, start, id) {
                        mine.push((id, result));
                    }
                }
                mine
            }));
        }
        for handle in handles {
            acked.extend(handle.join().expect("client thread"));
        }
    });
    acked
}

/// One add, retried on refusal; `None` if every attempt was refused.
fn submit_with_retries(
    cluster: &Cluster,
    targets: &[usize],
    start: usize,
    id: u64,
) -> Option<ToyResult> {
    for attempt in 0..RETRIES_MAX {
        let target = targets[(start + attempt) % targets.len()];
        match cluster.submit(target, add(id, &key_of(id), 1)) {
            Ok(result) => return Some(result),
            Err(ReplicationError::Unavailable(_)) => continue,
            Err(other) => panic!("request {id}: {other}"),
        }
    }
    None
}

/// Every request was applied at most once, and every acknowledged one
/// exactly once, at the place and with the result its reply reported.
fn check_exactly_once(state: &Toy, acked: &BTreeMap<u64, ToyResult>) {
    let mut applied = BTreeSet::new();
    for id in &state.order {
        assert!(applied.insert(*id), "request {id} applied twice");
    }
    for (id, result) in acked {
        assert!(applied.contains(id), "acknowledged request {id} is lost");
        assert_eq!(state.answered.get(id), Some(result), "request {id}");
        let ToyResult::Added { position, .. } = result else {
            panic!("request {id}: {result:?}");
        };
        assert_eq!(
            state.order[*position as usize - 1],
            *id,
            "request {id}'s place"
        );
    }
}

/// The sum a key must hold: one per applied add.
fn expected_value(state: &Toy, key: &str) -> i64 {
    state.order.iter().filter(|id| key_of(**id) == key).count() as i64
}

#[test]
fn concurrent_requests_are_applied_in_one_order_everywhere() {
    // Goal: total order and one reply per request. Method: 2 clients at
    // each of 5 replicas submit 20 adds each at once; every reply's
    // position must be its own, and every replica must end in the same
    // state (same bytes, so the same order).
    let cluster = Cluster::start(5, |_| {});
    cluster.wait_serving();
    let stranger = UdpSocket::bind("127.0.0.1:0").expect("bind");
    for garbage in [&b""[..], b"SQ\x01", b"\xff\xff\xff\xff\x00\x00\x00\x00"] {
        stranger
            .send_to(garbage, cluster.addresses[0])
            .expect("send");
    }
    let acked = run_load(&cluster, &[0, 1, 2, 3, 4], 2, 20, 1);
    assert_eq!(acked.len(), 200, "no loss, no refusal");
    let stats = cluster.status(0).transport.expect("running");
    // Without the transport's header, nothing tells who sent them.
    assert_eq!(stats.dropped_malformed, 3, "a stranger's datagrams");
    let positions: BTreeSet<u64> = acked
        .values()
        .map(|result| match result {
            ToyResult::Added { position, .. } => *position,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        positions,
        (1..=200).collect(),
        "each reply has its own place"
    );
    let state = cluster.converged_state();
    assert_eq!(state.order.len(), 200);
    check_exactly_once(&state, &acked);
}

#[test]
fn requests_taken_together_share_one_broadcast() {
    // Goal: request batching, with one reply per request in its place.
    // Method: 40 clients submit 10 adds each at replica 0 at once. A round
    // of the order takes at least a few fsyncs, so requests queue up behind
    // it and go out together: the order needs fewer global numbers than
    // requests. Every reply must still name its own place.
    let cluster = Cluster::start(5, |_| {});
    cluster.wait_serving();
    let acked = run_load(&cluster, &[0], 40, 10, 1);
    assert_eq!(acked.len(), 400, "no loss, no refusal");
    // Every reply came from replica 0's delivery: its count is final here.
    let numbers = cluster.status(0).delivered;
    let state = cluster.converged_state();
    assert_eq!(state.order.len(), 400);
    check_exactly_once(&state, &acked);
    assert!(
        numbers < 400,
        "{numbers} global numbers for 400 requests: none shared a broadcast"
    );
}

#[test]
fn a_read_sees_every_write_acknowledged_before_it_without_a_broadcast() {
    // Goal: reads answered from a member's state after its read barrier
    // are linearizable and write nothing to the order. Method: 100 times,
    // an add acknowledged at one replica, then at once a read of that key
    // at another (a different one each time); the read must see the add.
    // Then 50 reads at each replica: none may move the delivered number.
    let cluster = Cluster::start(5, |_| {});
    cluster.wait_serving();
    for id in 1..=100_u64 {
        let (writer, reader) = ((id % 5) as usize, ((id + 1 + id / 5) % 5) as usize);
        let reader = if reader == writer {
            (reader + 1) % 5
        } else {
            reader
        };
        let Ok(ToyResult::Added { value, .. }) = cluster.submit(writer, add(id, "k", 1)) else {
            panic!("add {id} refused");
        };
        let read = cluster.submit(reader, ToyRequest::Read { key: "k".into() });
        assert_eq!(
            read,
            Ok(ToyResult::Value(value)),
            "read at {reader} after add {id}"
        );
    }
    let quiet = cluster.wait_quiet();
    let answered: u64 = (0..5).map(|i| cluster.status(i).reads_answered).sum();
    for replica in 0..5 {
        for _ in 0..50 {
            let read = cluster.submit(replica, ToyRequest::Read { key: "k".into() });
            assert_eq!(read, Ok(ToyResult::Value(100)));
        }
    }
    let after: u64 = (0..5).map(|i| cluster.status(i).reads_answered).sum();
    assert!(
        after - answered >= 240,
        "{} of 250 reads answered from the state",
        after - answered
    );
    for replica in 0..5 {
        assert_eq!(
            cluster.status(replica).delivered,
            quiet,
            "reads broadcast nothing"
        );
    }
}

#[test]
fn requests_wait_while_the_member_s_own_batch_is_undelivered() {
    // Goal: the in-flight gate. Method: replica 0's outgoing datagrams are
    // dropped, so its first request cannot be delivered; five more
    // requests submitted meanwhile must wait, gathered, and go out as one
    // batch once the first is delivered: at most two global numbers for
    // six requests, each answered with its own place.
    let cluster = Cluster::start(5, |_| {});
    cluster.wait_serving();
    let before = cluster.status(0).delivered;
    cluster.faults[0].set_drop_outgoing(1.0);
    let first = cluster.submit_async(0, add(1, "k", 1));
    let rest: Vec<_> = (2..=6)
        .map(|id| {
            let answer = cluster.submit_async(0, add(id, "k", 1));
            // Apart, so that without the gate each would leave on its own.
            thread::sleep(Duration::from_millis(10));
            answer
        })
        .collect();
    assert!(
        first.try_recv().is_err(),
        "nothing is delivered while cut off"
    );
    cluster.faults[0].set_drop_outgoing(0.0);
    let mut places = BTreeSet::new();
    for answer in std::iter::once(first).chain(rest) {
        match answer.recv_timeout(WAIT_MAX).expect("a reply") {
            Ok(ToyResult::Added { position, .. }) => assert!(places.insert(position)),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(places.len(), 6);
    // The first batch, then one for everything gathered behind it: two
    // numbers, or one if a slow fsync held the core until all six had
    // queued. Without the gate, each later request leaves on its own.
    let numbers = cluster.status(0).delivered - before;
    assert!(
        (1..=2).contains(&numbers),
        "{numbers} global numbers: the requests behind the first did not wait"
    );
}

#[test]
fn with_fifteen_percent_loss_the_replicas_still_converge() {
    // Goal: loss recovery. Method: every replica's fault switch drops 15%
    // of outgoing datagrams while 10 clients submit 20 adds each; then all
    // replicas must hold the same state, with each acknowledged add once.
    let cluster = Cluster::start(5, |_| {});
    cluster.wait_serving();
    for faults in &cluster.faults {
        faults.set_drop_outgoing(0.15);
    }
    let acked = run_load(&cluster, &[0, 1, 2, 3, 4], 2, 20, 1);
    assert_eq!(acked.len(), 200, "every request acknowledged after retries");
    let state = cluster.converged_state();
    check_exactly_once(&state, &acked);
    let dropped: u64 = cluster
        .running()
        .iter()
        .filter_map(|&i| cluster.status(i).transport)
        .map(|stats| stats.dropped_outgoing_by_faults)
        .sum();
    assert!(
        dropped > 100,
        "the fault switch dropped {dropped} datagrams"
    );
}

#[test]
fn a_crashed_replica_restarts_catches_up_and_reads_consistently() {
    // Goal: recovery of one member after kill -9. Method: load, crash
    // replica 2 (disk cut off first), submit more adds at the others (the
    // order stalls at 2's next turn: they wait), restart 2 from its data
    // directory; the waiting adds complete (or, refused while 2's restart
    // takes a new incarnation through a view change, are retried with the
    // same id, as a frontend does), and reads at 2 agree. With the early
    // send on, so the restart's new incarnation runs in a real driver.
    let mut cluster = Cluster::start(5, |options| {
        options.snapshot_every = 20;
        options.early_send = true;
    });
    cluster.wait_serving();
    let mut acked = run_load(&cluster, &[0, 1, 2, 3, 4], 1, 15, 1);
    cluster.crash(2);
    let waiting: Vec<(u64, _)> = (1000..1008u64)
        .map(|id| {
            let target = [0, 1, 3, 4][id as usize % 4];
            (id, cluster.submit_async(target, add(id, &key_of(id), 1)))
        })
        .collect();
    cluster.restart(2);
    cluster.wait_serving();
    for (id, answer) in waiting {
        let result = match answer.recv_timeout(WAIT_MAX).expect("a reply") {
            Ok(result) => result,
            Err(ReplicationError::Unavailable(_)) => {
                submit_with_retries(&cluster, &[0, 1, 2, 3, 4], 0, id).expect("retried")
            }
            Err(other) => panic!("request {id}: {other}"),
        };
        acked.insert(id, result);
    }
    let state = cluster.converged_state();
    for key in ["k0", "k3", "k6"] {
        let read = cluster.submit(2, ToyRequest::Read { key: key.into() });
        assert_eq!(read, Ok(ToyResult::Value(expected_value(&state, key))));
    }
    check_exactly_once(&state, &acked);
    assert_eq!(state.order.len(), 83);
}

#[test]
fn a_full_stop_and_restart_loses_nothing_acknowledged() {
    // Goal: durability of everything acknowledged. Method: 150 adds in
    // flight at once; once a third are answered, stop all five (two
    // cleanly, three killed); restart all from their data directories
    // (small snapshots interval and log rewrites, so recovery replays a
    // snapshot, a rewritten log and its tail); every acknowledged add must
    // be there once, and the group must take new requests.
    let tune = |options: &mut SequencerOptions| {
        options.snapshot_every = 25;
        options.log_rewrite_records = 200;
        options.replica.log_segment_bytes = 8 * 1024;
    };
    let mut cluster = Cluster::start(5, tune);
    cluster.wait_serving();
    let answers: Vec<(u64, _)> = (1..=150u64)
        .map(|id| {
            (
                id,
                cluster.submit_async(id as usize % 5, add(id, &key_of(id), 1)),
            )
        })
        .collect();
    let mut acked = BTreeMap::new();
    for (id, answer) in &answers[..50] {
        if let Ok(Ok(result)) = answer.recv_timeout(WAIT_MAX) {
            acked.insert(*id, result);
        }
    }
    cluster.shutdown(0);
    cluster.crash(1);
    cluster.shutdown(2);
    cluster.crash(3);
    cluster.crash(4);
    for (id, answer) in &answers[50..] {
        if let Ok(Ok(result)) = answer.recv_timeout(WAIT_MAX) {
            acked.insert(*id, result);
        }
    }
    assert!(acked.len() >= 50, "{} acknowledged", acked.len());
    for index in 0..5 {
        cluster.restart(index);
    }
    cluster.wait_serving();
    let state = cluster.converged_state();
    check_exactly_once(&state, &acked);
    let more = run_load(&cluster, &[0, 1, 2, 3, 4], 1, 4, 1000);
    assert_eq!(more.len(), 20);
    check_exactly_once(&cluster.converged_state(), &more);
}

#[test]
fn a_replica_behind_forgotten_history_catches_up_by_state_transfer() {
    // Goal: state transfer. Method: peers keep no history beyond their
    // snapshots (history_max 0, a snapshot per delivery). Crash the member
    // whose turn was the last number, so the others can order 4 more adds
    // without it, and wait until they have forgotten them. On restart it
    // asks for them, hears "compacted", fetches a snapshot, installs it,
    // and takes its turn again.
    let tune = |options: &mut SequencerOptions| {
        options.history_max = 0;
        options.snapshot_every = 1;
    };
    let mut cluster = Cluster::start(5, tune);
    cluster.wait_serving();
    let mut acked = run_load(&cluster, &[0, 1, 2, 3, 4], 1, 3, 1);
    let delivered = cluster.wait_quiet();
    let victim = (delivered % 5) as usize;
    cluster.crash(victim);
    let others: Vec<usize> = (0..5).filter(|&i| i != victim).collect();
    acked.extend(run_load(&cluster, &others, 1, 1, 100));
    wait_until("the others forgot the four numbers", || {
        others
            .iter()
            .all(|&i| cluster.status(i).base >= delivered + 4)
    });
    cluster.restart(victim);
    cluster.wait_serving();
    assert!(cluster.status(victim).transfers_installed >= 1);
    acked.extend(run_load(&cluster, &[0, 1, 2, 3, 4], 1, 3, 200));
    let state = cluster.converged_state();
    check_exactly_once(&state, &acked);
    assert_eq!(state.order.len(), acked.len());
}

/// Five members that delivered more numbers than a view message carries
/// (`VIEW_BINDINGS_MAX`), with the acknowledged results.
fn five_past_a_view_message() -> (Cluster, BTreeMap<u64, ToyResult>) {
    let cluster = Cluster::start(5, |_| {});
    cluster.wait_serving();
    let all = [0, 1, 2, 3, 4];
    let per_client = VIEW_BINDINGS_MAX / all.len() + 20;
    let acked = run_load(&cluster, &all, 1, per_client, 1);
    let delivered = cluster.wait_quiet();
    assert!(
        delivered > VIEW_BINDINGS_MAX as u64,
        "{delivered} delivered"
    );
    (cluster, acked)
}

#[test]
fn a_replica_that_lost_its_disk_rejoins_though_no_one_snapshotted() {
    // Goal: a member far behind the group's view rejoins though no donor
    // has a snapshot that recent. Method: all five deliver more numbers
    // than a view message carries (`VIEW_BINDINGS_MAX`) while none
    // snapshots (the default schedule wants far more log bytes than this);
    // crash member 4, delete its data folder, let the others order a few
    // more without it. Restarted with an empty disk, member 4 recovers
    // into their view, whose log begins above every number it could be
    // told in a view message: only a snapshot that recent lets it in. A
    // donor, asked for one, takes it on demand; member 4 fetches it and
    // serves.
    let (mut cluster, mut acked) = five_past_a_view_message();
    cluster.crash(4);
    std::fs::remove_dir_all(cluster.data_dir(4)).expect("delete member 4's data");
    let others = [0, 1, 2, 3];
    acked.extend(run_load(&cluster, &others, 1, 5, 100_000));
    for index in others {
        assert_eq!(cluster.status(index).snapshot, 0, "member {index}");
    }
    cluster.restart(4);
    cluster.wait_serving();
    assert!(cluster.status(4).transfers_installed >= 1);
    let state = cluster.converged_state();
    check_exactly_once(&state, &acked);
    assert_eq!(state.order.len(), acked.len());
}

#[test]
fn the_whole_group_restarts_with_logs_longer_than_a_view_message() {
    // Goal: a group all of whose members restart at once, each with more
    // delivered numbers in its log beyond its snapshot than a view message
    // carries, works again. Before, a restarted member delivered nothing
    // from its log until it was in a view, and its undelivered log was too
    // long to vote with: every member sat out every view change, for ever.
    // Method: all five deliver more than `VIEW_BINDINGS_MAX` numbers while
    // none snapshots; crash all five, restart them; new requests are
    // ordered, and every acknowledged one is in the state exactly once.
    let all = [0, 1, 2, 3, 4];
    let (mut cluster, mut acked) = five_past_a_view_message();
    for index in all {
        assert_eq!(cluster.status(index).snapshot, 0, "member {index}");
        cluster.crash(index);
    }
    for index in all {
        cluster.restart(index);
    }
    cluster.wait_serving();
    acked.extend(run_load(&cluster, &all, 1, 5, 100_000));
    let state = cluster.converged_state();
    check_exactly_once(&state, &acked);
    assert_eq!(state.order.len(), acked.len());
}

#[test]
fn a_retry_after_a_timeout_gets_the_first_result() {
    // Goal: a frontend's retry is never applied twice. Method: stall the
    // order (crash three of five, the member whose turn is next among them:
    // no majority, so no view change either), submit an add that times
    // out, restart them; the add is then delivered, and its retries, at
    // other replicas, are answered with its first result.
    let tune = |options: &mut SequencerOptions| {
        options.replica.reply_timeout = Duration::from_millis(300);
    };
    let mut cluster = Cluster::start(5, tune);
    cluster.wait_serving();
    cluster.submit(0, add(1, "x", 1)).expect("first add");
    let delivered = cluster.wait_quiet();
    let stalled = ((delivered + 1) % 5) as usize;
    let down = [stalled, (stalled + 3) % 5, (stalled + 4) % 5];
    down.iter().for_each(|&member| cluster.crash(member));
    let asked = (stalled + 1) % 5;
    let first = cluster.submit(asked, add(777, "x", 5));
    assert!(
        matches!(first, Err(ReplicationError::Unavailable(_))),
        "{first:?}"
    );
    down.iter().for_each(|&member| cluster.restart(member));
    cluster.wait_serving();
    let retry = cluster.submit((stalled + 2) % 5, add(777, "x", 5));
    let again = cluster.submit(stalled, add(777, "x", 5));
    assert_eq!(retry, again);
    let Ok(ToyResult::Added { value, position }) = retry else {
        panic!("retry: {retry:?}");
    };
    assert_eq!((value, position), (6, 2), "applied once, second");
    let state = cluster.converged_state();
    assert_eq!(state.order, vec![1, 777]);
    assert_eq!(state.counters["x"], 6);
}

/// Goal: a member whose apply thread spends longer than the suspicion time
/// writing a snapshot is not suspected under load. Before, its
/// core blocked on the full apply queue and sent nothing, so the others
/// changed views without it for no fault. Method: three members whose
/// snapshots take 2.5 s (suspicion after 1 s here), a snapshot every 300
/// deliveries, and requests submitted to member 0 at a steady 2 per ms for
/// 3 s without waiting for answers; some are refused while member 0
/// applies behind. Every request is answered; no member ever suspects
/// another or leaves view 0.
#[test]
fn a_slow_snapshot_under_load_causes_no_view_change() {
    let cluster = Cluster::start_with(
        3,
        |options| {
            options.snapshot_every = 300;
            // Far below the snapshot's 2.5 s, far above what a busy test
            // machine stalls a thread for.
            options.suspect_after = Duration::from_secs(1);
        },
        Toy {
            snapshot_delay: SLOW_SNAPSHOT,
            ..Toy::default()
        },
    );
    cluster.wait_serving();
    let request = |id: u64| add(id, &key_of(id), 1);
    steady_load(
        cluster.replica(0),
        Duration::from_secs(3),
        WAIT_MAX,
        request,
    );
    for index in 0..3 {
        let view = cluster.status(index).view;
        assert_eq!(
            (view.number, view.counters.suspicions),
            (0, 0),
            "member {index}: {view:?}"
        );
    }
}
