//! Tests of the sequencer core: one test per protocol rule (`rules.rs`), the
//! codec (`codec.rs`), the seeded simulation (`sim.rs` with its referee
//! `checker.rs`), run here over thousands of seeds, and the scenarios over
//! a lossless cluster (`harness.rs`): golden traces in `testdata/` run by
//! `scripts.rs` (docs/SEQUENCER.md, section 11); and the restore paths of a
//! single member (`restore.rs`).
//!
//! `SEQ_SIM_SEEDS=20000` raises the number of simulated schedules;
//! `SEQ_SIM_SEED=1234` replays one seed (print it from a failure message).
//! The generator and the network are the ones the raft simulation uses too
//! (`crate::simulation`); seeds quoted from before they were shared name
//! other schedules now.

mod checker;
mod codec;
mod harness;
mod restore;
mod rules;
mod scripts;
mod sim;

use std::time::Instant;

/// The generator of the seeded tests, shared with the raft simulation.
pub(super) use crate::simulation::SimRng as Rng;

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().map(|value| {
        value
            .parse()
            .unwrap_or_else(|_| panic!("{name} must be a number"))
    })
}

/// Runs one simulation per seed, spread over the machine's cores, and
/// prints a summary. A failing run panics with its seed.
fn run_seeds(seeds: Vec<u64>, members: fn(u64) -> u16) {
    let started = Instant::now();
    let threads = std::thread::available_parallelism().map_or(1, |count| count.get());
    let results: Vec<Result<sim::RunStats, u64>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|thread| {
                let mine: Vec<u64> = seeds
                    .iter()
                    .copied()
                    .skip(thread)
                    .step_by(threads)
                    .collect();
                scope.spawn(move || {
                    let run = |seed| {
                        let simulation = || sim::Simulation::new(seed, members(seed)).run();
                        std::panic::catch_unwind(simulation).map_err(|_| seed)
                    };
                    mine.into_iter().map(run).collect::<Vec<_>>()
                })
            })
            .collect();
        let joined = handles
            .into_iter()
            .map(|handle| handle.join().expect("a simulation thread"));
        joined.flatten().collect()
    });
    // Every seed runs, so one run names every failing seed (each failure
    // printed its message above).
    let failed: Vec<u64> = results.iter().filter_map(|result| result.err()).collect();
    let results: Vec<sim::RunStats> = results.into_iter().filter_map(Result::ok).collect();
    let broadcasts: u64 = results.iter().map(|stats| stats.broadcasts).sum();
    let crashes: u64 = results.iter().map(|stats| stats.crashes).sum();
    let snapshots: u64 = results.iter().map(|stats| stats.snapshots).sum();
    let partitions: u64 = results.iter().map(|stats| stats.partitions).sum();
    let pauses: u64 = results.iter().map(|stats| stats.pauses).sum();
    let wipes: u64 = results.iter().map(|stats| stats.wipes).sum();
    let views: u64 = results.iter().map(|stats| stats.views).sum();
    let with_views = results.iter().filter(|stats| stats.views > 0).count();
    let reads_ready: u64 = results.iter().map(|stats| stats.reads_ready).sum();
    let reads_abandoned: u64 = results.iter().map(|stats| stats.reads_abandoned).sum();
    let torn: u64 = results.iter().map(|stats| stats.torn_flushes).sum();
    let unsynced: u64 = results.iter().map(|stats| stats.unsynced_lost).sum();
    let slowest = results
        .iter()
        .map(|stats| stats.convergence_ticks)
        .max()
        .unwrap_or(0);
    println!(
        "{} seeds in {:.1?}: {broadcasts} broadcasts, {crashes} crashes, \
         {snapshots} snapshot installs, {partitions} partitions, {pauses} pauses, \
         {wipes} lost disks, {torn} crashes between an early send and its fsync, \
         {unsynced} unsynced records lost in crashes, \
         {views} views installed ({with_views} runs changed views), \
         {reads_ready} reads answered after their barrier ({reads_abandoned} abandoned), \
         slowest convergence {slowest} ticks (bound {})",
        seeds.len(),
        started.elapsed(),
        sim::LIVENESS_TICKS_MAX
    );
    assert!(failed.is_empty(), "failing seeds: {failed:?}");
}

/// The seeds to run: `SEQ_SIM_SEED` alone, or `SEQ_SIM_SEEDS` (default
/// `default_count`) from `SEQ_SIM_FROM` (default 0).
fn seeds(default_count: u64) -> Vec<u64> {
    match env_u64("SEQ_SIM_SEED") {
        Some(seed) => vec![seed],
        None => {
            let from = env_u64("SEQ_SIM_FROM").unwrap_or(0);
            (from..from + env_u64("SEQ_SIM_SEEDS").unwrap_or(default_count)).collect()
        }
    }
}

/// Goal: safety on every step and liveness after the faults, over thousands
/// of seeded schedules of a group of 5: loss 0..30%, duplication,
/// reordering, crashes with restart from the persisted state, full stops of
/// the whole group, applications that lose undurable deliveries, state
/// transfers. Method: `sim::Simulation` per seed, checked by `checker.rs`.
#[test]
fn seeded_simulations_of_five_are_safe_and_live() {
    run_seeds(seeds(2_000), |_| 5);
}

/// Goal: the same for the edge group sizes (1 and 2: a majority is the whole
/// group; even sizes; 7). Method: as above, fewer seeds.
#[test]
fn seeded_simulations_of_other_sizes_are_safe_and_live() {
    run_seeds(seeds(300), |seed| [1, 2, 3, 4, 6, 7][(seed % 6) as usize]);
}

/// Goal: the schedules wide runs once found failing stay fixed, whatever
/// the seed range CI runs. Method: as above, on those seeds alone. 36092
/// and 98808 of five: a member took a view's log whole, beyond its holdback
/// window, and never asked for a Request it named once delivery moved the
/// window there. 43886, 90488 and 96404 of other sizes (groups of three):
/// a claim jumped over a torn flush's request, and a view change kept the
/// binding of a request nobody held; 135428, 145790 and 153734: the same
/// with two torn restarts of one sender, when a watermark named one earlier
/// run per sender (docs/SEQUENCER.md, 5.8). 123471 of five: the referee
/// forgot the claims of a member that lost its disk again while catching
/// up (5.10, "How it is checked"). A seed's
/// schedule depends on the code it runs, so these replay kinds of faults,
/// not the exact runs; the rules themselves are pinned by their own tests
/// (`view_change.rs`, `rules.rs`).
#[test]
fn seeds_that_once_failed_stay_fixed() {
    run_seeds(vec![36_092, 98_808, 123_471], |_| 5);
    run_seeds(
        vec![43_886, 90_488, 96_404, 135_428, 145_790, 153_734],
        |seed| [1, 2, 3, 4, 6, 7][(seed % 6) as usize],
    );
}
