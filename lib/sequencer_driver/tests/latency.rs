//! The latency of one submit on loopback with five members, real fsyncs and
//! the default tick: requests one at a time at one replica, each answered
//! when that replica delivers it. Printed (run with `--nocapture` to see
//! it) and checked only loosely, since test machines vary.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::cluster::Cluster;
use super::toy::add;
use crate::sequencer_driver::TICK_DEFAULT;
use crate::wal::StdFileSystem;

const SUBMITS: u64 = 100;

#[test]
fn one_submit_takes_a_few_milliseconds() {
    let cluster = Cluster::start(5, |options| {
        options.replica.tick = TICK_DEFAULT;
        options.replica.fs = Arc::new(StdFileSystem);
    });
    cluster.wait_serving();
    let mut samples: Vec<Duration> = (1..=SUBMITS)
        .map(|id| {
            let start = Instant::now();
            cluster.submit(0, add(id, "latency", 1)).expect("applied");
            start.elapsed()
        })
        .collect();
    samples.sort();
    let at = |share: f64| samples[((samples.len() - 1) as f64 * share) as usize];
    let mean = samples.iter().sum::<Duration>() / samples.len() as u32;
    eprintln!(
        "submit latency, 5 members, tick {TICK_DEFAULT:?}, real fsync: \
         mean {mean:?} p50 {:?} p90 {:?} p99 {:?} max {:?}",
        at(0.5),
        at(0.9),
        at(0.99),
        at(1.0)
    );
    assert!(at(0.5) < Duration::from_millis(200), "p50 {:?}", at(0.5));
}
