//! [`Cluster`]: `n` Raft replicators in one process on 127.0.0.1, each with
//! its own temp data directory (kept across restarts), fault switch and
//! file system; a frontend-like client that follows redirects and retries
//! with the same request id; and the waits the scenarios share. Nothing
//! sleeps to synchronise: every wait polls a condition against a deadline
//! (the client's short pause between retries is a backoff, as a real
//! frontend's).

use std::net::{SocketAddr, UdpSocket};
use std::sync::{Arc, Mutex, RwLock};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::bounded;
use tempfile::TempDir;

use super::toy::{Toy, ToyRequest, ToyResult};
use crate::raft::Role;
use crate::raft_driver::{Driver, DriverOptions, DriverStatus, RaftOptions, RaftReplicator};
use crate::replication::{ReplicationError, Replicator, StateDigest};
use crate::transport::FaultSwitch;
use crate::wal::FaultyFileSystem;

/// How long a scenario waits for a condition that must come.
pub const WAIT_MAX: Duration = Duration::from_secs(20);

/// How long a test waits for one reply: longer than the replicator's own
/// timeout, so it only catches a reply that never comes.
const REPLY_WAIT_MAX: Duration = Duration::from_secs(15);

/// The pause before retrying at another replica when none is known to lead.
const RETRY_BACKOFF: Duration = Duration::from_millis(5);

/// What one submission returned.
pub type Outcome = Result<ToyResult, ReplicationError>;

/// How the replicas' disks behave.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Disk {
    /// Real fsyncs (for latency figures).
    Durable,
    /// Fsyncs counted, not done (the page cache survives a simulated crash).
    Fast,
}

/// A group of replicas under test.
pub struct Cluster {
    /// Every replica's address.
    pub addresses: Vec<SocketAddr>,
    /// Every replica's fault switch.
    pub faults: Vec<FaultSwitch>,
    disks: Mutex<Vec<FaultyFileSystem>>,
    disk: Disk,
    dirs: Vec<TempDir>,
    replicas: RwLock<Vec<Option<Arc<RaftReplicator<Toy>>>>>,
    tune: fn(&mut RaftOptions),
}

impl Cluster {
    /// `n` fresh replicas; `tune` adjusts every replica's options (at every
    /// start and restart).
    pub fn start(n: usize, disk: Disk, tune: fn(&mut RaftOptions)) -> Cluster {
        Cluster::start_with(n, disk, tune, Toy::default())
    }

    /// As [`Cluster::start`], every replica starting from `initial`.
    pub fn start_with(n: usize, disk: Disk, tune: fn(&mut RaftOptions), initial: Toy) -> Cluster {
        // RUST_LOG=info shows what the threads do (with --nocapture).
        let _ = env_logger::builder().is_test(true).try_init();
        let sockets: Vec<UdpSocket> = (0..n)
            .map(|_| UdpSocket::bind("127.0.0.1:0").expect("bind 127.0.0.1:0"))
            .collect();
        let cluster = Cluster {
            addresses: sockets
                .iter()
                .map(|s| s.local_addr().expect("address"))
                .collect(),
            faults: (0..n)
                .map(|i| FaultSwitch::with_seed(i as u64 + 7))
                .collect(),
            disks: Mutex::new((0..n).map(|_| new_disk(disk)).collect()),
            disk,
            dirs: (0..n).map(|_| TempDir::new().expect("temp dir")).collect(),
            replicas: RwLock::new((0..n).map(|_| None).collect()),
            tune,
        };
        for (index, socket) in sockets.into_iter().enumerate() {
            let options = cluster.options(index);
            let replica =
                RaftReplicator::start_on(socket, options, initial.clone()).expect("start");
            cluster.replicas.write().unwrap()[index] = Some(Arc::new(replica));
        }
        cluster
    }

    /// The options replica `index` runs with.
    pub fn options(&self, index: usize) -> RaftOptions {
        let mut options = RaftOptions::new(index, self.addresses.clone(), self.dirs[index].path());
        options.replica.faults = self.faults[index].clone();
        options.replica.fs = Arc::new(self.disks.lock().unwrap()[index].clone());
        (self.tune)(&mut options);
        options
    }

    /// Replica `index`'s file system (a handle on the one it runs on).
    pub fn disk(&self, index: usize) -> FaultyFileSystem {
        self.disks.lock().unwrap()[index].clone()
    }

    /// Replica `index`'s data directory.
    pub fn data_dir(&self, index: usize) -> &std::path::Path {
        self.dirs[index].path()
    }

    /// The replicas, by index, that are running.
    pub fn running(&self) -> Vec<usize> {
        let replicas = self.replicas.read().unwrap();
        (0..replicas.len())
            .filter(|&i| replicas[i].is_some())
            .collect()
    }

    /// Replica `index`, if running.
    pub fn replica(&self, index: usize) -> Option<Arc<RaftReplicator<Toy>>> {
        self.replicas.read().unwrap()[index].clone()
    }

    /// Kills replica `index` as `kill -9` would: its disk stops taking
    /// writes at once, then its threads stop where they are.
    pub fn crash(&self, index: usize) {
        let replica = self.replicas.write().unwrap()[index]
            .take()
            .expect("running");
        self.disks.lock().unwrap()[index].crash_now();
        replica.crash();
    }

    /// Restarts replica `index` from its data directory, on its address,
    /// with a healthy disk.
    pub fn restart(&self, index: usize) {
        assert!(self.replica(index).is_none(), "replica {index} runs");
        self.disks.lock().unwrap()[index] = new_disk(self.disk);
        let replica = RaftReplicator::start(self.options(index), Toy::default()).expect("restart");
        self.replicas.write().unwrap()[index] = Some(Arc::new(replica));
    }

    /// Replica `index`'s driver status.
    pub fn status(&self, index: usize) -> DriverStatus {
        self.replica(index).expect("running").driver_status()
    }

    /// Submits `request` at replica `index` and waits for the reply.
    pub fn submit(&self, index: usize, request: ToyRequest) -> Outcome {
        let Some(replica) = self.replica(index) else {
            return Err(ReplicationError::Unavailable("not running".into()));
        };
        let (answer, outcome) = bounded(1);
        replica.submit(
            request,
            Box::new(move |result| {
                let _ = answer.send(result);
            }),
        );
        outcome
            .recv_timeout(REPLY_WAIT_MAX)
            .expect("every submission is answered")
    }

    /// What a frontend does: submit at `first`, follow redirects, move on
    /// to the next replica when none is known, and retry with the same
    /// request (so the same id) until it succeeds. Returns the result and
    /// the replica that answered.
    pub fn request(&self, first: usize, request: &ToyRequest) -> (ToyResult, usize) {
        let deadline = Instant::now() + WAIT_MAX;
        let n = self.addresses.len();
        let mut target = first;
        loop {
            assert!(
                Instant::now() < deadline,
                "{request:?} did not succeed in time"
            );
            match self.submit(target, request.clone()) {
                Ok(result) => return (result, target),
                Err(ReplicationError::NotLeader {
                    leader: Some(leader),
                }) if leader != target && self.replica(leader).is_some() => {
                    target = leader;
                }
                Err(_) => {
                    target = (target + 1) % n;
                    thread::sleep(RETRY_BACKOFF);
                }
            }
        }
    }

    /// Waits until one running replica leads and every other running
    /// replica follows it; returns its index.
    pub fn wait_leader(&self) -> usize {
        let mut found = None;
        wait_until("one leader that every replica follows", || {
            let running = self.running();
            let statuses: Vec<(usize, DriverStatus)> =
                running.iter().map(|&i| (i, self.status(i))).collect();
            let leaders: Vec<usize> = statuses
                .iter()
                .filter(|(_, status)| status.node.role == Role::Leader)
                .map(|(i, _)| *i)
                .collect();
            let [leader] = leaders[..] else { return false };
            let followed = statuses
                .iter()
                .all(|(_, status)| status.node.leader.map(|l| l.0) == Some(leader));
            found = Some(leader);
            followed
        });
        found.expect("set when the wait ends")
    }

    /// Waits until every running replica has applied the same entries and
    /// holds the same state (equal digests); returns the digest.
    pub fn wait_converged(&self) -> StateDigest {
        let mut digest = StateDigest::default();
        wait_until("the replicas converge", || {
            let running = self.running();
            let commits: Vec<u64> = running
                .iter()
                .map(|&i| self.status(i).node.commit.0)
                .collect();
            let commit = commits.iter().copied().max().unwrap_or(0);
            let digests: Vec<StateDigest> = running
                .iter()
                .map(|&i| self.replica(i).expect("running").digest())
                .collect();
            digest = digests[0];
            digest.applied_index == commit && digests.iter().all(|d| *d == digests[0])
        });
        digest
    }

    /// The whole state, read linearizably at the leader.
    pub fn dump(&self) -> Toy {
        let leader = self.wait_leader();
        match self.request(leader, &ToyRequest::Dump) {
            (ToyResult::Dump(toy), _) => toy,
            (other, _) => panic!("a dump answered {other:?}"),
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for index in self.running() {
            if let Some(replica) = self.replica(index) {
                replica.shutdown();
            }
        }
    }
}

fn new_disk(disk: Disk) -> FaultyFileSystem {
    match disk {
        Disk::Durable => FaultyFileSystem::new(),
        Disk::Fast => FaultyFileSystem::without_real_fsync(),
    }
}

/// Polls `condition` until it holds; panics naming `what` after `WAIT_MAX`.
pub fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT_MAX;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        thread::sleep(Duration::from_millis(5));
    }
}
