//! `bench --scale`, the replica lifecycle at one size, for one database:
//!
//! - **snapshot**: the bytes of the newest snapshot file in one replica's
//!   data folder, and how long taking it took, from the line the replica
//!   logs for every snapshot it takes ("snapshot at N: B bytes, encoded in
//!   X ms, written in Y ms", once it is durable:
//!   lib/driver_kit/snapshot_writer.rs), its last such line;
//! - **restart**: that replica is killed (SIGKILL) and, once the others
//!   have settled without it, started again, nothing written meanwhile;
//!   timed from the start until it answers its status call, and until it
//!   serves again (the health check's rule: a Raft replica that follows a
//!   known leader, a sequencer member working in a view, which may still
//!   be a view without it) with its applied index at the others';
//! - **catch-up**: the same, but `lag` writes are made while it is down, so
//!   the time includes fetching them (log entries, or a snapshot when the
//!   others have compacted them away).
//!
//! The replica is a product-DB follower (the highest index that is not the
//! leader) or the customer DB's last member. Status comes from the
//! replicas' own `Status` call, the one `cluster-status` shows.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::config::{ClusterConfig, Component};
use crate::pb::marketplace::StatusReply;
use crate::rpc::{environment, DatabaseClient, DatabaseKind};

use super::scenario::ClusterControl;
use super::BenchError;

/// How long a replica may take to serve again, or the others to settle.
const SERVE_TIMEOUT: Duration = Duration::from_secs(180);
/// Pause between two status probes while timing.
const PROBE_EVERY: Duration = Duration::from_millis(20);
/// One status call's timeout.
const STATUS_TIMEOUT: Duration = Duration::from_secs(1);
/// How long the customer DB's others may take to install a view without
/// the killed member before the measurement goes on anyway.
const NOTICE_TIMEOUT: Duration = Duration::from_secs(5);

/// Makes `n` writes to one database through the frontends (the writes a
/// replica misses for the catch-up figure).
pub type LagWriter<'a> = &'a dyn Fn(usize) -> Result<(), BenchError>;

/// What the replica logged about its last snapshot.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SnapshotTiming {
    /// The encoded state's bytes.
    pub bytes: u64,
    /// Encoding the state, ms.
    pub encode_ms: f64,
    /// Writing and syncing the file, ms.
    pub write_ms: f64,
}

/// The lifecycle figures of one database at one size.
#[derive(Clone, Debug, PartialEq)]
pub struct LifecycleFigures {
    /// The database.
    pub database: Component,
    /// The replica measured.
    pub replica: usize,
    /// Bytes of its newest snapshot file, if it has one.
    pub snapshot_file_bytes: Option<u64>,
    /// Its last snapshot's timing, if its log has one.
    pub snapshot: Option<SnapshotTiming>,
    /// Restart, nothing missed: until it answers, and until it serves.
    pub restart: Restart,
    /// Restart after `lag` writes it missed.
    pub catch_up: Restart,
    /// The writes it missed for `catch_up`.
    pub lag: usize,
}

/// How long one restart took.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Restart {
    /// From the start until it answered its status call.
    pub answers: Duration,
    /// From the start until it served with the others' applied index.
    pub serves: Duration,
    /// Entries (Raft log indexes, or sequencer deliveries) it was behind
    /// when it first answered.
    pub behind: u64,
}

/// Measures one database's lifecycle figures. `write_lag(n)` makes `n`
/// writes to that database through the frontends.
pub fn measure_lifecycle(
    config: &ClusterConfig,
    control: &dyn ClusterControl,
    database: Component,
    lag: usize,
    write_lag: LagWriter<'_>,
) -> Result<LifecycleFigures, BenchError> {
    let replicas = Replicas::new(config, database)?;
    let replica = replicas.choose()?;
    let snapshot_file_bytes = newest_snapshot_bytes(&config.replica_data_dir(database, replica));
    let snapshot = control
        .log(database, replica)
        .and_then(|log| last_snapshot_timing(&log));
    let restart = replicas.time_restart(control, replica, &|| Ok(()))?;
    let catch_up = replicas.time_restart(control, replica, &|| write_lag(lag))?;
    Ok(LifecycleFigures {
        database,
        replica,
        snapshot_file_bytes,
        snapshot,
        restart,
        catch_up,
        lag,
    })
}

/// The replicas of one database, asked for their status.
struct Replicas {
    database: Component,
    kind: DatabaseKind,
    addresses: Vec<String>,
    environment: Arc<grpcio::Environment>,
    client: DatabaseClient<(), ()>,
}

impl Replicas {
    fn new(config: &ClusterConfig, database: Component) -> Result<Replicas, BenchError> {
        let kind = match database {
            Component::ProductDb => DatabaseKind::Product,
            Component::CustomerDb => DatabaseKind::Customer,
            other => return Err(BenchError::Usage(format!("{other} is no database"))),
        };
        let addresses: Vec<String> = (0..config.count(database))
            .filter_map(|index| config.endpoint(database, index).map(ToString::to_string))
            .collect();
        if addresses.len() < 3 {
            return Err(BenchError::Cluster(format!(
                "{database}: restarting a replica needs at least 3, the cluster file has {}",
                addresses.len()
            )));
        }
        let environment = environment("bench-lifecycle");
        let client = DatabaseClient::new(environment.clone(), kind, &addresses);
        Ok(Replicas {
            database,
            kind,
            addresses,
            environment,
            client,
        })
    }

    /// The replica to restart: a product-DB follower (the highest index
    /// that is not the leader), or the customer DB's last member.
    fn choose(&self) -> Result<usize, BenchError> {
        let last = self.addresses.len() - 1;
        if self.database == Component::CustomerDb {
            return Ok(last);
        }
        (0..=last)
            .rev()
            .find(|&index| {
                self.client
                    .status(index, STATUS_TIMEOUT)
                    .is_ok_and(|status| status.get_role() == "follower")
            })
            .ok_or_else(|| BenchError::Cluster("no product-DB follower to restart".into()))
    }

    /// One replica's status through a fresh channel: a channel that saw
    /// the replica down waits up to its reconnect back-off (1 s) before it
    /// tries again, which would show in the figure.
    fn fresh_status(&self, index: usize) -> Option<StatusReply> {
        let client: DatabaseClient<(), ()> = DatabaseClient::new(
            self.environment.clone(),
            self.kind,
            &[&self.addresses[index]],
        );
        client.status(0, STATUS_TIMEOUT).ok()
    }

    /// The highest applied index among the serving replicas but `except`,
    /// once at least a majority of them serve and, for the customer DB,
    /// have left `except` out of their view (so that every restart is one
    /// the others noticed, however quick; they are given `NOTICE_TIMEOUT`).
    fn settled_applied(&self, except: usize) -> Result<u64, BenchError> {
        let majority = self.addresses.len() / 2 + 1;
        let started = Instant::now();
        loop {
            let noticed = |status: &StatusReply| {
                !status.get_view_members().contains(&(except as u32))
                    || started.elapsed() > NOTICE_TIMEOUT
            };
            let serving: Vec<u64> = (0..self.addresses.len())
                .filter(|&index| index != except)
                .filter_map(|index| self.client.status(index, STATUS_TIMEOUT).ok())
                .filter(|status| serves(status) && noticed(status))
                .map(|status| status.get_applied_index())
                .collect();
            if serving.len() >= majority {
                return Ok(serving.into_iter().max().unwrap_or(0));
            }
            if started.elapsed() > SERVE_TIMEOUT {
                return Err(BenchError::Cluster(format!(
                    "{}: fewer than {majority} replicas serve without replica {except}",
                    self.database
                )));
            }
            std::thread::sleep(PROBE_EVERY);
        }
    }

    /// Waits until a killed replica no longer answers: SIGKILL takes a
    /// moment, and a process started before the old one is gone could not
    /// bind its ports.
    fn wait_gone(&self, replica: usize) -> Result<(), BenchError> {
        let started = Instant::now();
        while self.fresh_status(replica).is_some() {
            if started.elapsed() > NOTICE_TIMEOUT {
                return Err(BenchError::Control(format!(
                    "{} {replica} still answers after its kill",
                    self.database
                )));
            }
            std::thread::sleep(PROBE_EVERY);
        }
        Ok(())
    }

    /// Kills `replica`, runs `meanwhile`, starts it again and times it.
    fn time_restart(
        &self,
        control: &dyn ClusterControl,
        replica: usize,
        meanwhile: &dyn Fn() -> Result<(), BenchError>,
    ) -> Result<Restart, BenchError> {
        control.kill(self.database, replica)?;
        let outcome = self
            .wait_gone(replica)
            .and_then(|()| self.settled_applied(replica))
            .and_then(|_| meanwhile())
            .and_then(|()| self.settled_applied(replica));
        // Started again whatever happened, so a failed measurement leaves
        // the cluster whole.
        let started = Instant::now();
        control.restart(self.database, replica)?;
        let target = outcome?;
        let mut answers = None;
        let mut behind = 0;
        loop {
            if let Some(status) = self.fresh_status(replica) {
                if answers.is_none() {
                    answers = Some(started.elapsed());
                    behind = target.saturating_sub(status.get_applied_index());
                }
                if serves(&status) && status.get_applied_index() >= target {
                    return Ok(Restart {
                        answers: answers.unwrap_or_default(),
                        serves: started.elapsed(),
                        behind,
                    });
                }
            }
            if started.elapsed() > SERVE_TIMEOUT {
                return Err(BenchError::Cluster(format!(
                    "{} {replica} did not serve at applied index {target} within {} s",
                    self.database,
                    SERVE_TIMEOUT.as_secs()
                )));
            }
            std::thread::sleep(PROBE_EVERY);
        }
    }
}

/// The health check's rule (`ReplicaStatus::serves`) on a status reply.
fn serves(status: &StatusReply) -> bool {
    match status.get_protocol() {
        "sequencer" => status.get_role() == "member",
        _ => matches!(status.get_role(), "leader" | "follower") && status.get_leader() >= 0,
    }
}

/// The size of the newest snapshot file in a replica's data folder (the
/// highest index in its name: `snapshots/snap-<index>.snap`).
fn newest_snapshot_bytes(data_dir: &Path) -> Option<u64> {
    let entries = std::fs::read_dir(data_dir.join("snapshots")).ok()?;
    entries
        .filter_map(Result::ok)
        .filter(|entry| {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            name.starts_with("snap-") && name.ends_with(".snap")
        })
        .max_by_key(|entry| entry.file_name())
        .and_then(|entry| entry.metadata().ok())
        .map(|metadata| metadata.len())
}

/// The figures of the last "snapshot at N: B bytes, encoded in X ms,
/// written in Y ms" line of a replica's log.
pub fn last_snapshot_timing(log: &str) -> Option<SnapshotTiming> {
    log.lines().rev().find_map(|line| {
        let (_, rest) = line.split_once(": snapshot at ")?;
        let (_, figures) = rest.split_once(": ")?;
        let number_before = |text: &str, unit: &str| -> Option<f64> {
            text.strip_suffix(unit)?
                .trim()
                .rsplit(' ')
                .next()?
                .parse()
                .ok()
        };
        let mut parts = figures.split(", ");
        let bytes = number_before(parts.next()?, " bytes")?;
        let encode_ms = number_before(parts.next()?.strip_prefix("encoded in")?, " ms")?;
        let write_ms = number_before(parts.next()?.strip_prefix("written in")?, " ms")?;
        Some(SnapshotTiming {
            bytes: bytes as u64,
            encode_ms,
            write_ms,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_last_snapshot_line_of_a_log() {
        let log = "\
[2026-12-02T21:00:00Z INFO  marketplace::raft_driver::apply] raft apply 1: snapshot at 10000: \
1234 bytes, encoded in 1.5 ms, written in 8.0 ms
[2026-12-02T21:00:01Z INFO  marketplace::sequencer_driver::apply_loop] sequencer 4: snapshot \
at #2000: 5678 bytes, encoded in 12.3 ms, written in 40.7 ms
[2026-12-02T21:00:02Z INFO  marketplace::sequencer_driver::core_loop] sequencer: installed a \
snapshot at 3000
";
        let timing = last_snapshot_timing(log).expect("a snapshot line");
        assert_eq!(timing.bytes, 5678);
        assert_eq!(timing.encode_ms, 12.3);
        assert_eq!(timing.write_ms, 40.7);
        assert_eq!(last_snapshot_timing("no snapshot here\n"), None);
    }

    #[test]
    fn finds_the_newest_snapshot_file() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(newest_snapshot_bytes(dir.path()), None);
        let snapshots = dir.path().join("snapshots");
        std::fs::create_dir(&snapshots).unwrap();
        std::fs::write(snapshots.join("snap-00000000000000000900.snap"), [0; 9]).unwrap();
        std::fs::write(snapshots.join("snap-00000000000000001000.snap"), [0; 10]).unwrap();
        std::fs::write(snapshots.join("snap-00000000000000002000.snap.tmp"), [0; 3]).unwrap();
        assert_eq!(newest_snapshot_bytes(dir.path()), Some(10));
    }
}
