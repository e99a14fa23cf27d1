//! [`SequencerOptions`]: who this member is, where its files are, and the
//! timing and storage knobs, with [`SequencerOptions::validate`] naming the
//! rule a bad configuration breaks.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::config::NodeAddress;
use crate::driver_kit::replica_rules;
use crate::sequencer::{Config, MemberId, MEMBERS_MAX};
use crate::transport::{FaultSwitch, PEERS_MAX};
use crate::wal::{FileSystem, StdFileSystem};

use super::errors::DriverError;
use super::limits;

/// The default tick: heartbeats, retransmission timers and the wait before
/// a moved watermark is announced are counted in ticks, so the tick sets the
/// latency floor (a delivery waits for about one tick; see docs/SEQUENCER.md).
pub const TICK_DEFAULT: Duration = Duration::from_millis(5);

/// Deliveries between two snapshots of the application state, by default.
pub const SNAPSHOT_EVERY_DEFAULT: u64 = 1000;

/// How long a submitted request may wait for its delivery, by default.
pub const REPLY_TIMEOUT_DEFAULT: Duration = Duration::from_secs(10);

/// Records appended after which the log is rewritten, by default.
pub const LOG_REWRITE_RECORDS_DEFAULT: u64 = 50_000;

/// The size at which the log starts a new segment file, by default. Small
/// enough that a rewrite lets the old segments go soon.
pub const LOG_SEGMENT_BYTES_DEFAULT: u64 = 4 * 1024 * 1024;

/// How one member of the customer DB's sequencer group runs.
#[derive(Clone, Debug)]
pub struct SequencerOptions {
    /// This member's index in `peers` (its member id).
    pub index: usize,
    /// Every member's UDP address, this one's included, in member-id order:
    /// an IP (bound as given) or a DNS name (this member binds every
    /// interface; peers' names are looked up again every few seconds).
    pub peers: Vec<NodeAddress>,
    /// Where the log (`log/`) and the snapshots (`snapshots/`) live.
    pub data_dir: PathBuf,
    /// The tick interval (see [`TICK_DEFAULT`]).
    pub tick: Duration,
    /// Silence after which a turn-list member is suspected (see
    /// `limits::SUSPECT_AFTER`, the default; tests that load the machine
    /// heavily raise it).
    pub suspect_after: Duration,
    /// Take a snapshot of the application state after this many deliveries;
    /// only then may the member forget the history the snapshot covers.
    pub snapshot_every: u64,
    /// A submitted request not delivered here within this time is answered
    /// `Unavailable`; a retry with the same request id is then answered by
    /// the state machine's request log, never applied twice.
    pub reply_timeout: Duration,
    /// The UDP fault switch (loss, cuts), a handle tests and admins keep.
    pub faults: FaultSwitch,
    /// Delivered entries kept for peers that lack them, beyond those every
    /// member holds (`sequencer::Config::history_max`). A member that falls
    /// further behind catches up by state transfer.
    pub history_max: u64,
    /// Records appended after which the log is rewritten as the member's
    /// persisted state and the old segments dropped.
    pub log_rewrite_records: u64,
    /// Segment size of the log (see [`LOG_SEGMENT_BYTES_DEFAULT`]).
    pub log_segment_bytes: u64,
    /// The file system under the log and the snapshots: the real one, or a
    /// `wal::FaultyFileSystem` in tests (no real fsync; a crash that makes
    /// every later write fail).
    pub fs: Arc<dyn FileSystem>,
}

impl SequencerOptions {
    /// Options with every default, for member `index` of `peers`.
    pub fn new(
        index: usize,
        peers: impl IntoIterator<Item = impl Into<NodeAddress>>,
        data_dir: impl Into<PathBuf>,
    ) -> Self {
        let peers: Vec<NodeAddress> = peers.into_iter().map(Into::into).collect();
        let members = peers.len().min(usize::from(MEMBERS_MAX)) as u16;
        let defaults = Config::new(members.max(1), MemberId(0));
        SequencerOptions {
            index,
            peers,
            data_dir: data_dir.into(),
            tick: TICK_DEFAULT,
            suspect_after: limits::SUSPECT_AFTER,
            snapshot_every: SNAPSHOT_EVERY_DEFAULT,
            reply_timeout: REPLY_TIMEOUT_DEFAULT,
            faults: FaultSwitch::new(),
            history_max: defaults.history_max,
            log_rewrite_records: LOG_REWRITE_RECORDS_DEFAULT,
            log_segment_bytes: LOG_SEGMENT_BYTES_DEFAULT,
            fs: Arc::new(StdFileSystem),
        }
    }

    /// Checks every rule, the protocol's included; the error names the
    /// first one broken.
    pub fn validate(&self) -> Result<(), DriverError> {
        let replica = replica_rules(
            self.index,
            self.peers.len(),
            usize::from(MEMBERS_MAX).min(PEERS_MAX),
            self.tick,
            self.reply_timeout,
        );
        let own: [(bool, &str); 2] = [
            (self.snapshot_every >= 1, "snapshot_every must be >= 1"),
            (
                self.log_rewrite_records >= 1 && self.log_segment_bytes >= 1,
                "log_rewrite_records and log_segment_bytes must be >= 1",
            ),
        ];
        if let Some((_, rule)) = replica.iter().chain(&own).find(|(holds, _)| !holds) {
            return Err(DriverError::InvalidOptions(rule.to_string()));
        }
        self.sequencer_config()
            .validate()
            .map_err(|error| DriverError::InvalidOptions(error.to_string()))
    }

    /// The protocol core's config for this member. Call after `validate`.
    pub(super) fn sequencer_config(&self) -> Config {
        let mut config = Config::new(self.members(), self.member_id());
        config.history_max = self.history_max;
        // The view change's times are durations; the core counts ticks.
        let ticks =
            |time: Duration| (time.as_micros() / self.tick.as_micros().max(1)).max(1) as u64;
        config.suspect_ticks = ticks(self.suspect_after).max(config.heartbeat_interval_ticks + 1);
        config.view_change_resend_ticks = ticks(limits::VIEW_CHANGE_RESEND);
        config.view_change_timeout_ticks =
            ticks(limits::VIEW_CHANGE_TIMEOUT).max(config.view_change_resend_ticks + 1);
        config.rejoin_ready_ticks = ticks(limits::REJOIN_READY_AFTER);
        // Used only if this start recovers an empty disk; drawn anew at
        // every start (see `Config::recovery_nonce`).
        config.recovery_nonce = rand::random();
        config
    }

    /// The group size.
    pub(super) fn members(&self) -> u16 {
        self.peers.len() as u16
    }

    /// This member's id.
    pub(super) fn member_id(&self) -> MemberId {
        MemberId(self.index as u16)
    }
}
