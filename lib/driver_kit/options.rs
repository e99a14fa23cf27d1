//! [`ReplicaOptions`]: what every driver's options share (who the replica
//! is among its peers, where its files are, its tick, its reply timeout,
//! its UDP fault switch and its file system), and the rules that check
//! them; [`DriverOptions`]: what a driver's own options type offers. Each
//! driver's `options.rs` adds its protocol's own knobs and rules.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::config::NodeAddress;
use crate::driver_kit::{DriverError, RestoreError};
use crate::transport::FaultSwitch;
use crate::wal::{FileSystem, StdFileSystem};

/// The shortest tick accepted.
pub const TICK_MIN: Duration = Duration::from_millis(1);
/// The longest tick accepted.
pub const TICK_MAX: Duration = Duration::from_secs(1);

/// The size at which a log starts a new segment file, by default. Small
/// enough that compaction (which drops whole segments) frees disk soon
/// after each snapshot or rewrite.
pub const LOG_SEGMENT_BYTES_DEFAULT: u64 = 4 * 1024 * 1024;

/// A replica snapshots once the log applied since its last snapshot holds
/// this share (in percent) of that snapshot's bytes
/// ([`SnapshotSchedule`](super::SnapshotSchedule)). Each snapshot then costs
/// at most two bytes written per byte of log, whatever the state's size, so
/// the snapshot work per request stays constant as the state grows; and a
/// restart replays at most half the state's size in log after loading the
/// snapshot, so recovery stays about as fast as loading the state.
pub const SNAPSHOT_LOG_SHARE_PERCENT: u64 = 50;

/// However small the state, a replica snapshots once this many bytes of log
/// were applied since its last snapshot: a tiny state then snapshots often
/// enough that the log (and the history the protocol keeps for it) stays
/// bounded, and never more often than a log segment fills, since Raft's
/// compaction drops whole segments only. A restart replays at most this
/// much on top of the share of the state.
pub const SNAPSHOT_LOG_BYTES_MIN: u64 = 4 * 1024 * 1024;

// Snapshotting before a segment is full frees no segment.
const _: () = assert!(SNAPSHOT_LOG_BYTES_MIN >= LOG_SEGMENT_BYTES_DEFAULT);
// A share of 0 would snapshot after every MIN bytes whatever the state.
const _: () = assert!(SNAPSHOT_LOG_SHARE_PERCENT >= 1);

/// How one replica runs, whatever its protocol.
#[derive(Clone, Debug)]
pub struct ReplicaOptions {
    /// This replica's index in `peers` (its node or member id).
    pub index: usize,
    /// Every replica's UDP address, this one's included, in index order:
    /// an IP (bound as given) or a DNS name (this replica binds every
    /// interface; peers' names are looked up again every few seconds).
    pub peers: Vec<NodeAddress>,
    /// Where the replica's files live (each driver's `recovery.rs` names
    /// the folders inside).
    pub data_dir: PathBuf,
    /// The tick interval: every protocol timer counts ticks of this length.
    pub tick: Duration,
    /// A request not answered within this time is answered `Unavailable`;
    /// a retry with the same request id is then answered by the state
    /// machine's request log, never applied twice.
    pub reply_timeout: Duration,
    /// The UDP fault switch (loss, cuts), a handle tests and admins keep.
    pub faults: FaultSwitch,
    /// Segment size of the log (see [`LOG_SEGMENT_BYTES_DEFAULT`]).
    pub log_segment_bytes: u64,
    /// The file system under the log and the snapshots: the real one, or a
    /// `wal::FaultyFileSystem` in tests (no real fsync; a crash that makes
    /// every later write fail).
    pub fs: Arc<dyn FileSystem>,
}

impl ReplicaOptions {
    /// Replica `index` of `peers`, keeping its files in `data_dir`, with the
    /// protocol's default `tick` and `reply_timeout`.
    pub fn new(
        index: usize,
        peers: impl IntoIterator<Item = impl Into<NodeAddress>>,
        data_dir: impl Into<PathBuf>,
        (tick, reply_timeout): (Duration, Duration),
    ) -> ReplicaOptions {
        ReplicaOptions {
            index,
            peers: peers.into_iter().map(Into::into).collect(),
            data_dir: data_dir.into(),
            tick,
            reply_timeout,
            faults: FaultSwitch::new(),
            log_segment_bytes: LOG_SEGMENT_BYTES_DEFAULT,
            fs: Arc::new(StdFileSystem),
        }
    }

    /// Checks these options for a protocol that takes at most `peers_max`
    /// replicas, then the protocol's `own` rules (each true when kept, with
    /// the words that name it).
    ///
    /// # Errors
    /// `InvalidOptions`, naming the first rule broken.
    pub fn check<E: RestoreError>(
        &self,
        peers_max: usize,
        own: &[(bool, &'static str)],
    ) -> Result<(), DriverError<E>> {
        let peers = self.peers.len();
        let rules = [
            (peers > 0, "peers must not be empty"),
            (peers <= peers_max, "at most 64 peers"),
            (self.index < peers, "index must be below peers"),
            (
                (TICK_MIN..=TICK_MAX).contains(&self.tick),
                "tick must be within 1 ms..=1 s",
            ),
            (!self.reply_timeout.is_zero(), "reply_timeout must be > 0"),
            (self.log_segment_bytes >= 1, "log_segment_bytes must be > 0"),
        ];
        match rules.iter().chain(own).find(|(holds, _)| !holds) {
            Some((_, rule)) => Err(DriverError::InvalidOptions(rule.to_string())),
            None => Ok(()),
        }
    }

    /// This replica's own address.
    pub fn own_address(&self) -> &NodeAddress {
        &self.peers[self.index]
    }
}

/// A driver's options: the [`ReplicaOptions`] inside, the protocol's own
/// knobs around them, and the rules both keep.
pub trait DriverOptions: Sized {
    /// The protocol core's error when its persisted state does not fit.
    type Restore: RestoreError;
    /// The protocol's name in logs ("raft", "sequencer").
    const PROTOCOL: &'static str;
    /// The protocol's default tick and reply timeout.
    const TIMING: (Duration, Duration);

    /// Options with every protocol default around `replica`.
    fn with_replica(replica: ReplicaOptions) -> Self;

    /// The part every driver has.
    fn replica(&self) -> &ReplicaOptions;

    /// Checks every rule, the protocol core's included; the error names
    /// the first one broken.
    ///
    /// # Errors
    /// `InvalidOptions`, naming the rule.
    fn validate(&self) -> Result<(), DriverError<Self::Restore>>;

    /// Options with every default, for replica `index` of `peers`, keeping
    /// its files in `data_dir`.
    fn new(
        index: usize,
        peers: impl IntoIterator<Item = impl Into<NodeAddress>>,
        data_dir: impl Into<PathBuf>,
    ) -> Self {
        Self::with_replica(ReplicaOptions::new(index, peers, data_dir, Self::TIMING))
    }
}
