//! [`SequencerOptions`]: who this member is, where its files are
//! (`driver_kit::ReplicaOptions`, shared with Raft), and the sequencer's own
//! timing and storage knobs, with [`SequencerOptions::validate`] naming the
//! rule a bad configuration breaks.

use std::time::Duration;

use crate::driver_kit::{DriverOptions, ReplicaOptions};
use crate::sequencer::{Config, MemberId, SequencerError, MEMBERS_MAX};
use crate::transport::PEERS_MAX;

use super::errors::DriverError;
use super::limits;

/// The default tick: heartbeats, retransmission timers and the wait before
/// a moved watermark is announced are counted in ticks, so the tick sets the
/// latency floor (a delivery waits for about one tick; see docs/SEQUENCER.md).
pub const TICK_DEFAULT: Duration = Duration::from_millis(5);

/// The most deliveries between two snapshots of the application state, by
/// default. Snapshots fall due after a share of the state's size in log
/// (`driver_kit::SnapshotSchedule`); this bound is far above what that
/// gives at the default minimum (4 MiB of payload), and only caps the
/// deliveries a restart replays for a state so large that its share would
/// allow more.
pub const SNAPSHOT_EVERY_DEFAULT: u64 = 1_000_000;

/// How long a submitted request may wait for its delivery, by default.
pub const REPLY_TIMEOUT_DEFAULT: Duration = Duration::from_secs(10);

/// Records appended after which the log is rewritten, by default.
pub const LOG_REWRITE_RECORDS_DEFAULT: u64 = 50_000;

/// How one member of the customer DB's sequencer group runs.
#[derive(Clone, Debug)]
pub struct SequencerOptions {
    /// Who the member is (its index is its member id), where its files are
    /// (`log/`, `snapshots/`), its tick (see [`TICK_DEFAULT`]), its reply
    /// timeout (a request not delivered here by then is answered
    /// `Unavailable`), fault switch and file system.
    pub replica: ReplicaOptions,
    /// Silence after which a turn-list member is suspected (see
    /// `limits::SUSPECT_AFTER`, the default; tests that load the machine
    /// heavily raise it).
    pub suspect_after: Duration,
    /// Take a snapshot of the application state after at most this many
    /// deliveries (sooner once the payload delivered since the last one
    /// holds a share of its size); only then may the member forget the
    /// history the snapshot covers.
    pub snapshot_every: u64,
    /// Delivered entries kept for peers that lack them, beyond those every
    /// member holds (`sequencer::Config::history_max`). A member that falls
    /// further behind catches up by state transfer.
    pub history_max: u64,
    /// `sequencer::Config::early_send` (on by default).
    pub early_send: bool,
    /// Records appended after which the log is rewritten as the member's
    /// persisted state and the old segments dropped.
    pub log_rewrite_records: u64,
}

impl SequencerOptions {
    /// The protocol core's config for this member. Call after `validate`.
    pub(super) fn sequencer_config(&self) -> Config {
        let mut config = Config::new(self.members(), self.member_id());
        config.history_max = self.history_max;
        config.early_send = self.early_send;
        // The view change's times are durations; the core counts ticks.
        let ticks = |time: Duration| {
            (time.as_micros() / self.replica.tick.as_micros().max(1)).max(1) as u64
        };
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
        self.replica.peers.len() as u16
    }

    /// This member's id.
    pub(super) fn member_id(&self) -> MemberId {
        MemberId(self.replica.index as u16)
    }
}

impl DriverOptions for SequencerOptions {
    type Restore = SequencerError;
    const PROTOCOL: &'static str = "sequencer";
    const TIMING: (Duration, Duration) = (TICK_DEFAULT, REPLY_TIMEOUT_DEFAULT);

    fn with_replica(replica: ReplicaOptions) -> Self {
        let members = replica.peers.len().min(usize::from(MEMBERS_MAX)) as u16;
        let defaults = Config::new(members.max(1), MemberId(0));
        SequencerOptions {
            replica,
            suspect_after: limits::SUSPECT_AFTER,
            snapshot_every: SNAPSHOT_EVERY_DEFAULT,
            history_max: defaults.history_max,
            early_send: defaults.early_send,
            log_rewrite_records: LOG_REWRITE_RECORDS_DEFAULT,
        }
    }

    fn replica(&self) -> &ReplicaOptions {
        &self.replica
    }

    fn validate(&self) -> Result<(), DriverError> {
        let own = [
            (self.snapshot_every >= 1, "snapshot_every must be >= 1"),
            (
                self.log_rewrite_records >= 1,
                "log_rewrite_records must be >= 1",
            ),
        ];
        self.replica
            .check(usize::from(MEMBERS_MAX).min(PEERS_MAX), &own)?;
        let config = self.sequencer_config();
        config
            .validate()
            .map_err(|error| DriverError::InvalidOptions(error.to_string()))
    }
}
