//! [`Config`]: the group size, this member's id, the tick-based timeouts and
//! every bound on memory; plus the hard limits (`*_MAX`) the codec enforces on
//! bytes from the network. [`Config::validate`] names the rule a bad config
//! breaks.

use super::errors::SequencerError;
use super::ids::MemberId;
use super::message::VIEW_BINDINGS_MAX;

/// Most members a group may have; bounds the watermark vector in every message.
pub const MEMBERS_MAX: u16 = 64;

/// Largest payload of one request, in bytes. A request travels in one UDP
/// datagram (at most 65,507 bytes over IPv4); the rest is header room.
pub const PAYLOAD_BYTES_MAX: usize = 60_000;

/// Most missing items one Retransmit message may name.
pub const RETRANSMIT_ITEMS_MAX: usize = 256;

/// Configuration of one member. All times are in ticks: the driver calls
/// [`Member::tick`](super::Member::tick) at a fixed interval (say 10 ms).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Group size `n`; members are `0..n`. A majority is `n / 2 + 1`.
    pub members: u16,
    /// This member's id, below `members`.
    pub id: MemberId,
    /// An idle member sends a heartbeat (its watermarks) this often. A member
    /// whose watermarks moved sends one at the next tick regardless, so that
    /// the others learn promptly that a majority holds a number.
    pub heartbeat_interval_ticks: u64,
    /// Wait this long after finding a gap before the first Retransmit request;
    /// a reordered message usually fills the gap by itself meanwhile.
    pub nack_delay_ticks: u64,
    /// The delay between repeated Retransmit requests for one item doubles
    /// after every attempt up to this cap.
    pub nack_backoff_max_ticks: u64,
    /// Holdback bound: a member keeps Sequences only up to
    /// `delivered + holdback_max` and assigns no number beyond that. (After a
    /// restart the log may hold more, up to `DELIVERED_UNRECORDED_MAX`
    /// delivered numbers it did not record: held Sequences are never dropped.)
    pub holdback_max: u64,
    /// Per-sender bound: a member keeps a sender's Requests only up to that
    /// sender's `delivered local_seq + requests_window`. At least
    /// `holdback_max`, so every Request that a kept Sequence names fits.
    pub requests_window: u64,
    /// [`Member::broadcast`](super::Member::broadcast) refuses with
    /// `Backpressure` while this many of the member's own requests are not
    /// yet delivered locally. At most `requests_window`.
    pub broadcasts_in_flight_max: u64,
    /// Delivered entries kept for retransmission to members that do not hold
    /// them yet. Entries every member holds are dropped at once; past this
    /// bound the oldest are dropped even if some member (say, one that is
    /// down) lacks them: that member then needs a state transfer.
    pub history_max: u64,
    /// Largest payload accepted by `broadcast` and from the network.
    pub payload_bytes_max: usize,
    /// Most items named in one Retransmit message.
    pub retransmit_items_max: usize,
    /// A member suspects a member of the turn list that it has not heard
    /// from in its view for this long, and starts a view change. Heartbeats
    /// come every `heartbeat_interval_ticks`, so this is several of them.
    pub suspect_ticks: u64,
    /// A view change that has not started its view after this long moves
    /// on to the next view (whose coordinator is the next member).
    pub view_change_timeout_ticks: u64,
    /// While a view change is under way, StartViewChange and DoViewChange go
    /// out again this often (they may be lost).
    pub view_change_resend_ticks: u64,
    /// A coordinator that has a majority's DoViewChange waits this long for
    /// the rest before it starts the view, so that every live member gets a
    /// turn in it.
    pub view_gather_ticks: u64,
    /// A member takes turns in a new view only if its delivered number is
    /// at most this far behind the most advanced member's: it must not hold
    /// the order up while it catches up.
    pub rejoin_lag_max: u64,
    /// A live member outside the turn list that has caught up for this long
    /// is taken back in by a view change.
    pub rejoin_ready_ticks: u64,
    /// Drawn by the driver at random at every start. It tags the recovery
    /// queries of a member that starts with an empty disk
    /// ([`Member::recover`](super::Member::recover)), until it recovers
    /// (persisted: a restart in the middle keeps it), so that each lost
    /// disk asks under a nonce of its own. It also numbers this life's read
    /// rounds, so that an answer to an earlier life's round never counts.
    pub recovery_nonce: u64,
    /// A read that waited this long for its barrier is abandoned (the
    /// driver orders it instead): a view change may have dropped the number
    /// it waits for (`read_barrier.rs`). Its question goes again every
    /// `nack_delay_ticks` to the members that have not answered.
    pub read_timeout_ticks: u64,
    /// Reads that may wait here at once; more are refused.
    pub reads_pending_max: usize,
    /// A member's own Requests and Sequences leave before their fsync
    /// (docs/SEQUENCER.md, 5.8 and 5.10). On by default; off sends every
    /// message after the fsync, kept for comparison. Every restart takes a
    /// new incarnation in a new view either way: the run before it may have
    /// had the early send on.
    pub early_send: bool,
}

impl Config {
    /// A config with the defaults used by the customer DB, for member `id` of
    /// a group of `members`.
    pub fn new(members: u16, id: MemberId) -> Config {
        Config {
            members,
            id,
            heartbeat_interval_ticks: 10,
            nack_delay_ticks: 2,
            nack_backoff_max_ticks: 50,
            holdback_max: 1024,
            requests_window: 1024,
            broadcasts_in_flight_max: 256,
            history_max: 4096,
            payload_bytes_max: PAYLOAD_BYTES_MAX,
            retransmit_items_max: 64,
            suspect_ticks: 60,
            view_change_timeout_ticks: 60,
            view_change_resend_ticks: 10,
            view_gather_ticks: 2,
            rejoin_lag_max: 64,
            rejoin_ready_ticks: 20,
            recovery_nonce: 0,
            read_timeout_ticks: 60,
            reads_pending_max: 4_096,
            early_send: true,
        }
    }

    /// The number of members that make a majority.
    pub fn majority(&self) -> usize {
        usize::from(self.members) / 2 + 1
    }

    /// Checks every rule; the error names the one broken.
    pub fn validate(&self) -> Result<(), SequencerError> {
        let mut rules = self.window_rules().into_iter().chain(self.view_rules());
        match rules.find(|(holds, _)| !holds) {
            Some((_, rule)) => Err(SequencerError::ConfigInvalid(rule.to_string())),
            None => Ok(()),
        }
    }

    /// The group's size, this member's id, retransmission, and the windows
    /// and sizes of what a member holds: whether each holds, and the rule.
    fn window_rules(&self) -> [(bool, &'static str); 11] {
        [
            (self.members >= 1, "members must be at least 1"),
            (
                self.members <= MEMBERS_MAX,
                "members must be at most MEMBERS_MAX (64)",
            ),
            (self.id.0 < self.members, "id must be below members"),
            (
                self.heartbeat_interval_ticks >= 1,
                "heartbeat_interval_ticks must be >= 1",
            ),
            (self.nack_delay_ticks >= 1, "nack_delay_ticks must be >= 1"),
            (
                self.nack_backoff_max_ticks >= self.nack_delay_ticks,
                "nack_backoff_max_ticks must be >= nack_delay_ticks",
            ),
            (self.holdback_max >= 1, "holdback_max must be >= 1"),
            (
                self.requests_window >= self.holdback_max,
                // A kept Sequence must name a Request that can be kept.
                "requests_window must be >= holdback_max",
            ),
            (
                self.broadcasts_in_flight_max >= 1
                    && self.broadcasts_in_flight_max <= self.requests_window,
                "broadcasts_in_flight_max must be in 1..=requests_window",
            ),
            (
                self.payload_bytes_max <= PAYLOAD_BYTES_MAX,
                "payload_bytes_max must be <= PAYLOAD_BYTES_MAX",
            ),
            (
                (1..=RETRANSMIT_ITEMS_MAX).contains(&self.retransmit_items_max),
                "retransmit_items_max must be in 1..=RETRANSMIT_ITEMS_MAX",
            ),
        ]
    }

    /// View changes, suspicion and reads.
    fn view_rules(&self) -> [(bool, &'static str); 6] {
        [
            (
                // A DoViewChange carries the undelivered Sequences: the
                // holdback window, and after a restart the deliveries it
                // had not recorded (at most `DELIVERED_UNRECORDED_MAX`,
                // asserted <= VIEW_BINDINGS_MAX / 2 in persist.rs).
                self.holdback_max <= VIEW_BINDINGS_MAX as u64 / 2,
                "holdback_max must be <= VIEW_BINDINGS_MAX / 2",
            ),
            (
                self.suspect_ticks > self.heartbeat_interval_ticks,
                // Silence must span more than one heartbeat interval.
                "suspect_ticks must be > heartbeat_interval_ticks",
            ),
            (
                self.view_change_timeout_ticks > self.view_change_resend_ticks
                    && self.view_change_resend_ticks >= 1,
                "view_change_timeout_ticks must be > view_change_resend_ticks >= 1",
            ),
            (
                self.view_gather_ticks < self.view_change_timeout_ticks,
                "view_gather_ticks must be < view_change_timeout_ticks",
            ),
            (
                // A question lost once must have time to go again.
                self.read_timeout_ticks > self.nack_delay_ticks,
                "read_timeout_ticks must be > nack_delay_ticks",
            ),
            (
                self.reads_pending_max >= 1,
                "reads_pending_max must be >= 1",
            ),
        ]
    }
}
