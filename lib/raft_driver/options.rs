//! [`RaftOptions`]: who this replica is, where its files are, and the
//! timing and storage knobs, with [`RaftOptions::validate`] naming the rule
//! a bad configuration breaks (the Raft core's rules included).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::config::NodeAddress;
use crate::driver_kit::replica_rules;
use crate::raft::config::CLUSTER_SIZE_MAX;
use crate::raft::{NodeId, RaftConfig, ReadMode};
use crate::transport::{FaultSwitch, PEERS_MAX};
use crate::wal::{FileSystem, StdFileSystem};

use super::errors::DriverError;

/// The default tick. With the default 10..20 election ticks this gives the
/// 150-300 ms election timeouts the Raft paper suggests, and heartbeats
/// every 30 ms.
pub const TICK_DEFAULT: Duration = Duration::from_millis(15);

/// Applied entries between two snapshots, by default.
pub const SNAPSHOT_EVERY_ENTRIES_DEFAULT: u64 = 10_000;

/// How long a submitted request may wait for its answer, by default.
pub const REPLY_TIMEOUT_DEFAULT: Duration = Duration::from_secs(5);

/// The size at which the log starts a new segment file, by default. Small
/// enough that compaction (which drops whole segments) frees disk soon
/// after each snapshot.
pub const LOG_SEGMENT_BYTES_DEFAULT: u64 = 4 * 1024 * 1024;

/// How one replica of a Raft-replicated database runs.
#[derive(Clone, Debug)]
pub struct RaftOptions {
    /// This replica's index in `peers` (its Raft node id).
    pub index: usize,
    /// Every replica's UDP address, this one's included, in index order:
    /// an IP (bound as given) or a DNS name (this replica binds every
    /// interface; peers' names are looked up again every few seconds).
    pub peers: Vec<NodeAddress>,
    /// Where the log (`log/`), the snapshots (`snapshots/`) and the hard
    /// state (`hard_state/`) live.
    pub data_dir: PathBuf,
    /// The tick interval: every Raft timeout counts ticks of this length.
    pub tick: Duration,
    /// The shortest randomized election timeout, in ticks (also the leader
    /// lease and the check-quorum period).
    pub election_ticks_min: u32,
    /// One past the longest randomized election timeout, in ticks.
    pub election_ticks_max: u32,
    /// How often a leader sends heartbeats, in ticks.
    pub heartbeat_ticks: u32,
    /// A leader that holds a lease answers reads at once, without a
    /// heartbeat round (`ReadMode::LeaseBased`; docs/RAFT.md §7.1 for the
    /// clock assumption). Every replica of a cluster must agree.
    pub lease_reads: bool,
    /// Take a snapshot of the state machine after this many applied
    /// entries; the log before it is then compacted, and a follower that
    /// falls further behind catches up by InstallSnapshot.
    pub snapshot_every_entries: u64,
    /// The UDP fault switch (loss, cuts), a handle tests and admins keep.
    pub faults: FaultSwitch,
    /// A request not answered within this time is answered `Unavailable`;
    /// a retry with the same request id is then answered by the state
    /// machine's request log, never applied twice.
    pub reply_timeout: Duration,
    /// Segment size of the log (see [`LOG_SEGMENT_BYTES_DEFAULT`]).
    pub log_segment_bytes: u64,
    /// The file system under the log, the hard state and the snapshots: the
    /// real one, or a `wal::FaultyFileSystem` in tests.
    pub fs: Arc<dyn FileSystem>,
}

impl RaftOptions {
    /// Options with every default, for replica `index` of `peers`.
    pub fn new(
        index: usize,
        peers: impl IntoIterator<Item = impl Into<NodeAddress>>,
        data_dir: impl Into<PathBuf>,
    ) -> Self {
        let peers: Vec<NodeAddress> = peers.into_iter().map(Into::into).collect();
        let defaults = RaftConfig::new(NodeId(0), 1);
        RaftOptions {
            index,
            peers,
            data_dir: data_dir.into(),
            tick: TICK_DEFAULT,
            election_ticks_min: defaults.election_ticks_min,
            election_ticks_max: defaults.election_ticks_max,
            heartbeat_ticks: defaults.heartbeat_ticks,
            lease_reads: true,
            snapshot_every_entries: SNAPSHOT_EVERY_ENTRIES_DEFAULT,
            faults: FaultSwitch::new(),
            reply_timeout: REPLY_TIMEOUT_DEFAULT,
            log_segment_bytes: LOG_SEGMENT_BYTES_DEFAULT,
            fs: Arc::new(StdFileSystem),
        }
    }

    /// Checks every rule, the Raft core's included; the error names the
    /// first one broken.
    pub fn validate(&self) -> Result<(), DriverError> {
        let replica = replica_rules(
            self.index,
            self.peers.len(),
            PEERS_MAX.min(CLUSTER_SIZE_MAX),
            self.tick,
            self.reply_timeout,
        );
        let own: [(bool, &str); 2] = [
            (
                self.snapshot_every_entries >= 1,
                "snapshot_every_entries must be >= 1",
            ),
            (self.log_segment_bytes >= 1, "log_segment_bytes must be > 0"),
        ];
        if let Some((_, rule)) = replica.iter().chain(&own).find(|(holds, _)| !holds) {
            return Err(DriverError::InvalidOptions(rule.to_string()));
        }
        self.raft_config(0)
            .validate()
            .map_err(|error| DriverError::InvalidOptions(error.to_string()))
    }

    /// The Raft core's configuration for this replica, with `random_seed`
    /// for its election timeouts. Call after `validate`.
    pub(super) fn raft_config(&self, random_seed: u64) -> RaftConfig {
        let mut config = RaftConfig::new(NodeId(self.index), self.peers.len());
        config.election_ticks_min = self.election_ticks_min;
        config.election_ticks_max = self.election_ticks_max;
        config.heartbeat_ticks = self.heartbeat_ticks;
        // The lease margin's default is worked out for this driver's ticker
        // (driver_kit::Ticker) and clock (core_loop.rs, TickClock).
        config.read_mode = if self.lease_reads {
            ReadMode::LeaseBased
        } else {
            ReadMode::ReadIndex
        };
        config.random_seed = random_seed;
        config
    }
}
