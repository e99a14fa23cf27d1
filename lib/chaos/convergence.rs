//! After the restart of a run on hosts: every replica of each database
//! must come to the same state, by its digest (applied index and a checksum
//! of the state, the `Digest` call the process tests compare too). The
//! customer DB keeps putting clock readings into its log while idle, so
//! the digests are polled until one round finds them all equal.

use std::time::{Duration, Instant};

use crate::rpc::DatabaseKind;

use super::cluster::ChaosCluster;

/// How long the replicas have to agree after the restart.
const CONVERGE_WITHIN: Duration = Duration::from_secs(60);
/// Between two rounds of digests.
const POLL_EVERY: Duration = Duration::from_millis(50);

/// What the digests came to, per database.
#[derive(Clone, Debug, Default)]
pub struct Convergence {
    /// A database whose replicas agreed: one line each.
    pub agreed: Vec<String>,
    /// A database whose replicas never agreed: one line each, with the last
    /// round's digests (anomalies).
    pub diverged: Vec<String>,
}

/// Polls every replica's digest, per database, until all agree or
/// [`CONVERGE_WITHIN`] has passed.
pub fn wait_converged(cluster: &ChaosCluster) -> Convergence {
    let mut result = Convergence::default();
    for (kind, name) in [
        (DatabaseKind::Product, "product-DB"),
        (DatabaseKind::Customer, "customer-DB"),
    ] {
        let started = Instant::now();
        loop {
            let digests = cluster.digests(kind);
            let first = digests[0];
            if first.is_some_and(|(applied, _)| applied > 0) && digests.iter().all(|d| *d == first)
            {
                let (applied, crc) = first.unwrap_or_default();
                result.agreed.push(format!(
                    "{name}: all {} at applied index {applied}, state crc {crc:08x} (after {} ms)",
                    digests.len(),
                    started.elapsed().as_millis()
                ));
                break;
            }
            if started.elapsed() > CONVERGE_WITHIN {
                let each: Vec<String> = digests
                    .iter()
                    .enumerate()
                    .map(|(i, d)| match d {
                        Some((applied, crc)) => format!("{i}: {applied}/{crc:08x}"),
                        None => format!("{i}: no answer"),
                    })
                    .collect();
                result.diverged.push(format!(
                    "{name} replicas still differ {CONVERGE_WITHIN:?} after the restart (applied/crc): {}",
                    each.join(", ")
                ));
                break;
            }
            std::thread::sleep(POLL_EVERY);
        }
    }
    result
}
