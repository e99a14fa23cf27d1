//! [`Cluster`]: `n` replicators in one process on 127.0.0.1, each with its
//! own temp data directory (kept across restarts), fault switch and file
//! system, and the waiting helpers the scenarios share. Nothing sleeps:
//! every wait polls a condition against a deadline.

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Receiver};
use tempfile::TempDir;

use super::toy::{Toy, ToyRequest, ToyResult};
use crate::replication::{ReplicationError, Replicator, StateDigest};
use crate::sequencer_driver::{
    Driver, DriverOptions, DriverStatus, SequencerOptions, SequencerReplicator,
};
use crate::transport::FaultSwitch;
use crate::wal::FaultyFileSystem;

/// How long a scenario waits for a condition that must come.
pub(crate) const WAIT_MAX: Duration = Duration::from_secs(20);

/// How long a test waits for one reply (the replicator's own timeout is
/// 10 s by default; this only catches a reply that never comes).
const REPLY_WAIT_MAX: Duration = Duration::from_secs(30);

/// What the result of one submission was.
pub(crate) type Outcome = Result<ToyResult, ReplicationError>;

/// A group of replicas under test.
pub(crate) struct Cluster {
    pub(crate) addresses: Vec<SocketAddr>,
    pub(crate) faults: Vec<FaultSwitch>,
    pub(crate) disks: Vec<FaultyFileSystem>,
    dirs: Vec<TempDir>,
    replicas: Vec<Option<SequencerReplicator<Toy>>>,
    tune: fn(&mut SequencerOptions),
}

impl Cluster {
    /// `n` fresh replicas; `tune` adjusts every replica's options (at every
    /// start and restart).
    pub(crate) fn start(n: usize, tune: fn(&mut SequencerOptions)) -> Cluster {
        Cluster::start_with(n, tune, Toy::default())
    }

    /// As [`Cluster::start`], every replica starting from `initial`.
    pub(crate) fn start_with(n: usize, tune: fn(&mut SequencerOptions), initial: Toy) -> Cluster {
        // RUST_LOG=debug shows what the threads do (with --nocapture).
        let _ = env_logger::builder().is_test(true).try_init();
        let sockets: Vec<UdpSocket> = (0..n)
            .map(|_| UdpSocket::bind("127.0.0.1:0").expect("bind 127.0.0.1:0"))
            .collect();
        let addresses = sockets
            .iter()
            .map(|socket| socket.local_addr().expect("address"))
            .collect();
        let mut cluster = Cluster {
            addresses,
            faults: (0..n)
                .map(|i| FaultSwitch::with_seed(i as u64 + 11))
                .collect(),
            disks: (0..n)
                .map(|_| FaultyFileSystem::without_real_fsync())
                .collect(),
            dirs: (0..n).map(|_| TempDir::new().expect("temp dir")).collect(),
            replicas: (0..n).map(|_| None).collect(),
            tune,
        };
        for (index, socket) in sockets.into_iter().enumerate() {
            let options = cluster.options(index);
            let replica = SequencerReplicator::start_on(socket, options, initial.clone());
            cluster.replicas[index] = Some(replica.expect("start"));
        }
        cluster
    }

    /// The options replica `index` runs with.
    pub(crate) fn options(&self, index: usize) -> SequencerOptions {
        let mut options =
            SequencerOptions::new(index, self.addresses.clone(), self.dirs[index].path());
        options.replica.faults = self.faults[index].clone();
        options.replica.fs = Arc::new(self.disks[index].clone());
        options.replica.tick = Duration::from_millis(2);
        (self.tune)(&mut options);
        options
    }

    /// Replica `index`'s data directory.
    pub(crate) fn data_dir(&self, index: usize) -> &std::path::Path {
        self.dirs[index].path()
    }

    /// The replicas, by index, that are running.
    pub(crate) fn running(&self) -> Vec<usize> {
        (0..self.replicas.len())
            .filter(|index| self.replicas[*index].is_some())
            .collect()
    }

    /// Replica `index`, which must be running.
    pub(crate) fn replica(&self, index: usize) -> &SequencerReplicator<Toy> {
        self.replicas[index].as_ref().expect("replica is running")
    }

    /// Kills replica `index` as `kill -9` would: its disk stops taking
    /// writes at once, its threads stop where they are, its state is dropped.
    pub(crate) fn crash(&mut self, index: usize) {
        let replica = self.replicas[index].take().expect("replica is running");
        self.disks[index].crash_now();
        replica.crash();
        drop(replica);
    }

    /// Stops replica `index` cleanly.
    pub(crate) fn shutdown(&mut self, index: usize) {
        let replica = self.replicas[index].take().expect("replica is running");
        replica.shutdown();
    }

    /// Restarts replica `index` from its data directory, on its address,
    /// with a healthy disk.
    pub(crate) fn restart(&mut self, index: usize) {
        assert!(self.replicas[index].is_none(), "replica {index} runs");
        self.disks[index] = FaultyFileSystem::without_real_fsync();
        let options = self.options(index);
        let replica = SequencerReplicator::start(options, Toy::default()).expect("restart");
        self.replicas[index] = Some(replica);
    }

    /// Submits `request` at replica `index` and waits for the reply.
    pub(crate) fn submit(&self, index: usize, request: ToyRequest) -> Outcome {
        submit_to(self.replica(index), request)
    }

    /// Submits `request` at replica `index` without waiting; the reply
    /// arrives on the returned channel.
    pub(crate) fn submit_async(&self, index: usize, request: ToyRequest) -> Receiver<Outcome> {
        let (reply, answer) = bounded(2);
        self.replica(index).submit(
            request,
            Box::new(move |result| {
                let _ = reply.send(result);
            }),
        );
        answer
    }

    /// Replica `index`'s driver status.
    pub(crate) fn status(&self, index: usize) -> DriverStatus {
        self.replica(index).driver_status()
    }

    /// Waits until every running replica takes requests.
    pub(crate) fn wait_serving(&self) {
        wait_until("every replica serves", || {
            self.running().iter().all(|&i| self.status(i).serving)
        });
    }

    /// Waits until every running replica has applied the same number and it
    /// stays put across a few ticks (no traffic left in flight), then
    /// returns it.
    pub(crate) fn wait_quiet(&self) -> u64 {
        let mut last = (u64::MAX, Instant::now());
        let mut quiet = None;
        wait_until("the replicas agree and are quiet", || {
            let applied: Vec<u64> = self
                .running()
                .iter()
                .map(|&i| self.status(i))
                .map(|status| status.applied.min(status.delivered))
                .collect();
            let agreed = applied.windows(2).all(|pair| pair[0] == pair[1]);
            let now = applied[0];
            if !agreed || now != last.0 {
                last = (now, Instant::now());
                return false;
            }
            quiet = Some(now);
            last.1.elapsed() > Duration::from_millis(100)
        });
        quiet.expect("set when the wait ends")
    }

    /// Every running replica's state, compared twice: by `digest()` (the
    /// applied number and a crc of the state's snapshot bytes) once they
    /// are quiet, then byte for byte, read through the total order (a Dump
    /// request each). All must be equal. Returns the state.
    pub(crate) fn converged_state(&self) -> Toy {
        let applied = self.wait_quiet();
        let digests: Vec<StateDigest> = self
            .running()
            .iter()
            .map(|&i| self.replica(i).digest())
            .collect();
        assert_eq!(digests[0].applied_index, applied);
        assert!(
            digests.windows(2).all(|pair| pair[0] == pair[1]),
            "{digests:?}"
        );
        let dumps: Vec<(usize, Vec<u8>)> = self
            .running()
            .into_iter()
            .map(|i| {
                // A member in a view change refuses the read (correctly);
                // on a busy machine a silence can start one here.
                let mut dump = None;
                wait_until(&format!("replica {i} answers a dump"), || {
                    match self.submit(i, ToyRequest::Dump) {
                        Ok(ToyResult::Dump(bytes)) => dump = Some(bytes),
                        Err(ReplicationError::Unavailable(_)) => {}
                        other => panic!("replica {i} dump: {other:?}"),
                    }
                    dump.is_some()
                });
                (i, dump.expect("answered"))
            })
            .collect();
        for (index, bytes) in &dumps[1..] {
            assert!(
                *bytes == dumps[0].1,
                "replica {index} differs from replica {}",
                dumps[0].0
            );
        }
        serde_json::from_slice(&dumps[0].1).expect("a toy state")
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // Before the temp directories go: a replica still writing its
        // snapshot would find its directory gone.
        for replica in self.replicas.iter_mut().filter_map(Option::take) {
            replica.shutdown();
        }
    }
}

/// Submits and waits for the reply (which must come exactly once).
pub(crate) fn submit_to(replica: &SequencerReplicator<Toy>, request: ToyRequest) -> Outcome {
    let (reply, answer) = bounded(2);
    replica.submit(
        request,
        Box::new(move |result| {
            // A waiter that gave up has gone; the test fails on its own.
            let _ = reply.send(result);
        }),
    );
    let outcome = answer.recv_timeout(REPLY_WAIT_MAX).expect("a reply");
    assert!(answer.try_recv().is_err(), "a second reply");
    outcome
}

/// Waits until `condition` holds; fails the test after `WAIT_MAX`.
pub(crate) fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT_MAX;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        thread::sleep(Duration::from_millis(2));
    }
}
