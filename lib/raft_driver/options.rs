//! [`RaftOptions`]: who this replica is, where its files are
//! (`driver_kit::ReplicaOptions`, shared with the sequencer), and Raft's
//! own timing and snapshot knobs, with [`RaftOptions::validate`] naming the
//! rule a bad configuration breaks (the Raft core's rules included).

use std::time::Duration;

use crate::driver_kit::{DriverOptions, ReplicaOptions};
use crate::raft::config::CLUSTER_SIZE_MAX;
use crate::raft::{NodeId, RaftConfig, RaftError, ReadMode};
use crate::transport::{PAYLOAD_BYTES_MAX, PEERS_MAX};

use super::errors::DriverError;
use super::limits::{APPEND_ENTRY_HEADER_BYTES, APPEND_HEADER_BYTES};

/// The default tick. With the default 10..20 election ticks this gives the
/// 150-300 ms election timeouts the Raft paper suggests, and heartbeats
/// every 30 ms.
pub const TICK_DEFAULT: Duration = Duration::from_millis(15);

/// The most applied entries between two snapshots, by default. Snapshots
/// fall due after a share of the state's size in log
/// (`driver_kit::SnapshotSchedule`); this bound is far above what that
/// gives at the default minimum (4 MiB of entries), and only caps the
/// entries a restart replays for a state so large that its share would
/// allow more.
pub const SNAPSHOT_EVERY_ENTRIES_DEFAULT: u64 = 1_000_000;

/// How long a submitted request may wait for its answer, by default.
pub const REPLY_TIMEOUT_DEFAULT: Duration = Duration::from_secs(5);

/// How one replica of a Raft-replicated database runs.
#[derive(Clone, Debug)]
pub struct RaftOptions {
    /// Who the replica is, where its files are (`log/`, `snapshots/`,
    /// `hard_state/`), its tick (every Raft timeout counts ticks of it),
    /// its reply timeout, fault switch and file system.
    pub replica: ReplicaOptions,
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
    /// Take a snapshot of the state machine after at most this many
    /// applied entries (sooner once the entries since the last one hold a
    /// share of its size); the log before it is then compacted, and a
    /// follower that falls further behind catches up by InstallSnapshot.
    pub snapshot_every_entries: u64,
}

impl RaftOptions {
    /// The Raft core's configuration for this replica, with `random_seed`
    /// for its election timeouts. Call after `validate`.
    pub(super) fn raft_config(&self, random_seed: u64) -> RaftConfig {
        let mut config = RaftConfig::new(NodeId(self.replica.index), self.replica.peers.len());
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

impl DriverOptions for RaftOptions {
    type Restore = RaftError;
    const PROTOCOL: &'static str = "raft";
    const TIMING: (Duration, Duration) = (TICK_DEFAULT, REPLY_TIMEOUT_DEFAULT);

    fn with_replica(replica: ReplicaOptions) -> Self {
        let defaults = RaftConfig::new(NodeId(0), 1);
        RaftOptions {
            replica,
            election_ticks_min: defaults.election_ticks_min,
            election_ticks_max: defaults.election_ticks_max,
            heartbeat_ticks: defaults.heartbeat_ticks,
            lease_reads: true,
            snapshot_every_entries: SNAPSHOT_EVERY_ENTRIES_DEFAULT,
        }
    }

    fn replica(&self) -> &ReplicaOptions {
        &self.replica
    }

    fn validate(&self) -> Result<(), DriverError> {
        let config = self.raft_config(0);
        let own = [
            (
                self.snapshot_every_entries >= 1,
                "snapshot_every_entries must be >= 1",
            ),
            (
                append_fits(config.append_entries_max, config.append_bytes_max),
                "append_entries_max and append_bytes_max must fit one datagram",
            ),
        ];
        self.replica.check(PEERS_MAX.min(CLUSTER_SIZE_MAX), &own)?;
        config
            .validate()
            .map_err(|error| DriverError::InvalidOptions(error.to_string()))
    }
}

/// True if an Append of `entries` entries holding `bytes` bytes of data in
/// all fits one datagram (see `limits::APPEND_ENTRIES_FIT`).
fn append_fits(entries: usize, bytes: usize) -> bool {
    let overhead = entries.saturating_mul(APPEND_ENTRY_HEADER_BYTES) + APPEND_HEADER_BYTES;
    overhead.saturating_add(bytes) <= PAYLOAD_BYTES_MAX
}
