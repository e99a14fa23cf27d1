//! After the restart of a run on hosts: every replica of each database
//! must come to the same state, by its digest (applied index and a checksum
//! of the state, the `Digest` call the process tests compare too).
//!
//! The customer DB never stands still: an idle member puts a clock reading
//! into the log every second, so five members move the applied index about
//! five times a second, and after a long run a digest (a checksum of the
//! whole state, request log included) takes long enough that one round of
//! five may straddle a delivery. So the replicas are asked all at once,
//! round after round, and every answer is kept: two replicas that report
//! the same applied index with different checksums have diverged (an
//! anomaly, whatever else is seen). They agree when one round finds every
//! replica at one index and checksum; failing that within the time, when
//! every replica was seen at the index the most advanced one reported
//! first, and every index seen at two or more replicas had one checksum
//! (said as such in the summary, with how many indices were compared).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::rpc::{DatabaseClient, DatabaseKind};

use super::cluster::ChaosCluster;

/// How long the replicas have to agree after the restart.
const CONVERGE_WITHIN: Duration = Duration::from_secs(60);
/// Between two rounds of digests.
const POLL_EVERY: Duration = Duration::from_millis(20);
/// Indices seen at two or more replicas, at least, for agreement without
/// a round that caught them all at one index.
const SHARED_INDICES_MIN: usize = 10;

/// What the digests came to, per database.
#[derive(Clone, Debug, Default)]
pub struct Convergence {
    /// A database whose replicas agreed: one line each.
    pub agreed: Vec<String>,
    /// A database whose replicas diverged or never caught up: one line
    /// each, with the evidence (anomalies).
    pub diverged: Vec<String>,
}

/// Every answer of a database's replicas: by applied index, the checksum
/// and the replicas that reported it.
#[derive(Default)]
struct Observed {
    at_index: BTreeMap<u64, BTreeMap<u32, Vec<usize>>>,
    /// The highest index each replica reported.
    highest: BTreeMap<usize, u64>,
}

impl Observed {
    fn record(&mut self, replica: usize, applied: u64, crc: u32) {
        let replicas = self
            .at_index
            .entry(applied)
            .or_default()
            .entry(crc)
            .or_default();
        if !replicas.contains(&replica) {
            replicas.push(replica);
        }
        let highest = self.highest.entry(replica).or_insert(applied);
        *highest = (*highest).max(applied);
    }

    /// The first index at which replicas reported different checksums.
    fn conflict(&self) -> Option<String> {
        self.at_index
            .iter()
            .find(|(_, crcs)| crcs.len() > 1)
            .map(|(index, crcs)| {
                let each: Vec<String> = crcs
                    .iter()
                    .map(|(crc, replicas)| format!("{crc:08x} at {replicas:?}"))
                    .collect();
                format!("at applied index {index}: {}", each.join(" but "))
            })
    }

    /// Indices reported by two or more replicas.
    fn shared_indices(&self) -> usize {
        self.at_index
            .values()
            .filter(|crcs| crcs.values().map(Vec::len).sum::<usize>() > 1)
            .count()
    }
}

/// Polls every replica's digest, per database, until they agree or
/// [`CONVERGE_WITHIN`] has passed.
pub fn wait_converged(cluster: &ChaosCluster) -> Convergence {
    let mut result = Convergence::default();
    for (kind, name) in [
        (DatabaseKind::Product, "product-DB"),
        (DatabaseKind::Customer, "customer-DB"),
    ] {
        match converge(cluster, kind) {
            Ok(line) => result.agreed.push(format!("{name}: {line}")),
            Err(line) => result.diverged.push(format!("{name} replicas: {line}")),
        }
    }
    result
}

/// One round of digests, `(applied index, state checksum)` per replica
/// (`None`: no answer) and how long each took to come, asked of every
/// replica at once: one round as close to one moment as it gets.
fn ask_every_replica(
    client: &DatabaseClient<(), ()>,
    count: usize,
) -> Vec<(Option<(u64, u32)>, Duration)> {
    std::thread::scope(|scope| {
        let asks: Vec<_> = (0..count)
            .map(|i| {
                scope.spawn(move || {
                    let asked = Instant::now();
                    let digest = client
                        .digest(i, Duration::from_secs(2))
                        .ok()
                        .map(|d| (d.get_applied_index(), d.get_state_crc()));
                    (digest, asked.elapsed())
                })
            })
            .collect();
        asks.into_iter()
            .map(|ask| ask.join().unwrap_or((None, Duration::ZERO)))
            .collect()
    })
}

fn converge(cluster: &ChaosCluster, kind: DatabaseKind) -> Result<String, String> {
    let client = cluster.control_client(kind);
    let count = client.replica_count();
    let started = Instant::now();
    let mut observed = Observed::default();
    let mut target = None;
    let mut slowest = Duration::ZERO;
    let mut last = Vec::new();
    while started.elapsed() < CONVERGE_WITHIN {
        let round = ask_every_replica(&client, count);
        for (i, (digest, took)) in round.iter().enumerate() {
            slowest = slowest.max(*took);
            if let Some((applied, crc)) = digest {
                observed.record(i, *applied, *crc);
            }
        }
        if let Some(conflict) = observed.conflict() {
            return Err(format!("diverged {conflict}"));
        }
        last = round.iter().map(|(digest, _)| *digest).collect();
        // The index every replica must reach: the highest of the first
        // round in which every replica answered.
        if target.is_none() && last.iter().all(Option::is_some) {
            target = last.iter().flatten().map(|(applied, _)| *applied).max();
        }
        let first = last[0];
        if first.is_some_and(|(applied, _)| applied > 0) && last.iter().all(|d| *d == first) {
            let (applied, crc) = first.unwrap_or_default();
            return Ok(format!(
                "all {count} at applied index {applied}, state crc {crc:08x} (after {} ms)",
                started.elapsed().as_millis()
            ));
        }
        std::thread::sleep(POLL_EVERY);
    }
    let caught_up = target.is_some_and(|target| {
        (0..count).all(|i| observed.highest.get(&i).is_some_and(|h| *h >= target))
    });
    let shared = observed.shared_indices();
    if caught_up && shared >= SHARED_INDICES_MIN {
        return Ok(format!(
            "all {count} reached applied index {} and agreed at every one of the {shared} indices \
             two or more were seen at (never all caught at one index in {CONVERGE_WITHIN:?}; \
             a digest took up to {} ms)",
            target.unwrap_or_default(),
            slowest.as_millis()
        ));
    }
    let each: Vec<String> = last
        .iter()
        .enumerate()
        .map(|(i, d)| match d {
            Some((applied, crc)) => format!("{i}: {applied}/{crc:08x}"),
            None => format!("{i}: no answer"),
        })
        .collect();
    Err(format!(
        "not shown to agree {CONVERGE_WITHIN:?} after the restart: caught up {caught_up}, \
         {shared} indices seen at two or more; the last round (applied/crc): {}",
        each.join(", ")
    ))
}
