//! `RaftConfig`: every knob and every limit of the raft core, and `validate`,
//! which names the rule a bad configuration breaks.
//!
//! Time is counted in ticks: the driver calls `RaftNode::tick` at a fixed
//! period (for example every 15 ms, so that 10..20 ticks give the 150-300 ms
//! election timeouts the paper suggests).

use super::errors::RaftError;
use super::ids::NodeId;

/// The largest cluster the core and the wire format accept. Raft clusters are
/// small (3, 5, 7); the bound keeps per-peer vectors and messages small.
pub const CLUSTER_SIZE_MAX: usize = 64;

/// The largest snapshot a follower accepts unless configured otherwise.
pub const SNAPSHOT_BYTES_MAX_DEFAULT: u64 = 1 << 30;

/// How many ticks shorter than `election_ticks_min` a leader lease is, by
/// default, for a driver whose ticker works as `driver_kit::Ticker` does
/// (docs/RAFT.md §7.1 does the arithmetic):
/// * 1 tick: the leader reads its clock in whole ticks, so it may see a
///   lease younger than it is by almost one tick;
/// * 2 ticks: a follower may count two ticks just after a heartbeat arrives
///   (one waiting in its inbox, one its ticker was about to queue), so its
///   `election_ticks_min` ticks may pass in `election_ticks_min - 2` periods;
/// * 1 tick: the drift between two machines' clock rates. With 10 election
///   ticks this covers rates that differ by up to 1 in 7; quartz clocks and
///   NTP's slewing differ by less than 1 in 1,000.
pub const LEASE_MARGIN_TICKS_DEFAULT: u32 = 4;

/// How a leader confirms a linearizable read (`RaftNode::read_index`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadMode {
    /// Always ReadIndex: one heartbeat round, acknowledged by a majority,
    /// after the read arrived (thesis §6.4). Assumes nothing about clocks.
    ReadIndex,
    /// A leader that holds a lease answers at once, at its commit index;
    /// without a lease it falls back to ReadIndex (thesis §6.4.1, etcd's
    /// `ReadOnlyLeaseBased`). Needs `check_quorum`, and assumes that clock
    /// rates drift apart by less than `lease_margin_ticks` covers
    /// (docs/RAFT.md §7.1). Every node of a cluster must run the same mode:
    /// the followers' side of the lease (no vote for a while after a
    /// restart) is what makes the leaders' side safe.
    LeaseBased,
}

/// The largest Append payload, in bytes. A UDP datagram carries at most
/// 65,507 bytes; this leaves room for headers and the transport's checksum.
pub const APPEND_BYTES_MAX: usize = 60_000;

/// Configuration of one raft node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RaftConfig {
    /// This node's id: its position in the cluster file.
    pub id: NodeId,
    /// The number of nodes; their ids are `0..cluster_size`.
    pub cluster_size: usize,
    /// The smallest randomized election timeout, in ticks. It is also the
    /// leader lease: a follower that heard from a leader within this many
    /// ticks ignores vote requests, and a check-quorum leader steps down if no
    /// majority answered it within this many ticks.
    pub election_ticks_min: u32,
    /// One past the largest randomized election timeout, in ticks.
    pub election_ticks_max: u32,
    /// How often a leader sends heartbeats, in ticks.
    pub heartbeat_ticks: u32,
    /// Run a pre-vote round before a real election (thesis §9.6), so that a
    /// node that cannot win does not bump everyone's term.
    pub pre_vote: bool,
    /// Leaders step down when they lose contact with a majority, and nodes in
    /// contact with a leader ignore vote requests (the leader lease).
    pub check_quorum: bool,
    /// How reads are confirmed; see [`ReadMode`].
    pub read_mode: ReadMode,
    /// With `ReadMode::LeaseBased`: the lease lasts `election_ticks_min -
    /// lease_margin_ticks` ticks from the sending of the heartbeat round a
    /// majority acknowledged. See [`LEASE_MARGIN_TICKS_DEFAULT`]; only a
    /// simulation whose nodes tick in lockstep may use less.
    pub lease_margin_ticks: u32,
    /// Most entries in one Append message.
    pub append_entries_max: usize,
    /// Most entry payload bytes in one Append message (one entry is always
    /// allowed, and `entry_bytes_max` keeps it small enough).
    pub append_bytes_max: usize,
    /// Largest command a client may propose.
    pub entry_bytes_max: usize,
    /// Most Append messages in flight to one follower before the leader waits
    /// for acknowledgements (flow control).
    pub inflight_appends_max: usize,
    /// Most entries a leader holds beyond its commit index; further proposals
    /// are refused, so a leader cut off from its followers cannot grow without
    /// bound.
    pub uncommitted_entries_max: usize,
    /// Most ReadIndex requests waiting for confirmation.
    pub pending_reads_max: usize,
    /// Most committed entries handed out in one `Ready`.
    pub apply_entries_max: usize,
    /// Bytes of snapshot data in one InstallSnapshot chunk.
    pub snapshot_chunk_bytes: usize,
    /// Most snapshot chunks sent to one follower ahead of its acknowledgement.
    pub snapshot_chunks_inflight_max: usize,
    /// Largest snapshot a follower accepts, in bytes; guards memory against a
    /// broken or hostile sender.
    pub snapshot_bytes_max: u64,
    /// Seed for the randomized election timeouts. Tests fix it to replay a
    /// run; a real driver picks it from the OS or the clock once at start.
    pub random_seed: u64,
}

impl RaftConfig {
    /// A configuration with the defaults suggested by the paper for node `id`
    /// of a `cluster_size`-node cluster.
    pub fn new(id: NodeId, cluster_size: usize) -> RaftConfig {
        RaftConfig {
            id,
            cluster_size,
            election_ticks_min: 10,
            election_ticks_max: 20,
            heartbeat_ticks: 2,
            pre_vote: true,
            check_quorum: true,
            read_mode: ReadMode::ReadIndex,
            lease_margin_ticks: LEASE_MARGIN_TICKS_DEFAULT,
            append_entries_max: 64,
            append_bytes_max: 48 * 1024,
            entry_bytes_max: 16 * 1024,
            inflight_appends_max: 16,
            uncommitted_entries_max: 4096,
            pending_reads_max: 1024,
            apply_entries_max: 256,
            snapshot_chunk_bytes: 32 * 1024,
            snapshot_chunks_inflight_max: 8,
            snapshot_bytes_max: SNAPSHOT_BYTES_MAX_DEFAULT,
            random_seed: id.0 as u64,
        }
    }

    /// The number of votes (or acknowledgements) that make a majority.
    pub fn quorum(&self) -> usize {
        self.cluster_size / 2 + 1
    }

    /// How long a leader lease lasts, in ticks, from the sending of the
    /// heartbeat round that a majority acknowledged.
    pub fn lease_ticks(&self) -> u32 {
        self.election_ticks_min
            .saturating_sub(self.lease_margin_ticks)
    }

    /// Checks every rule and returns the first one broken.
    pub fn validate(&self) -> Result<(), RaftError> {
        let rules = self.cluster_rules().into_iter();
        let mut rules = rules.chain(self.limit_rules()).chain(self.read_rules());
        match rules.find(|(holds, _)| !holds) {
            Some((_, rule)) => Err(RaftError::ConfigInvalid(rule.to_string())),
            None => Ok(()),
        }
    }

    /// The cluster's size, this node's id, and the timers: whether each
    /// holds, and the rule.
    fn cluster_rules(&self) -> [(bool, &'static str); 5] {
        [
            (
                (1..=CLUSTER_SIZE_MAX).contains(&self.cluster_size),
                "cluster_size must be 1..=CLUSTER_SIZE_MAX",
            ),
            (
                self.id.0 < self.cluster_size,
                "id must be below cluster_size",
            ),
            (
                self.heartbeat_ticks >= 1,
                "heartbeat_ticks must be at least 1",
            ),
            (
                self.election_ticks_min > self.heartbeat_ticks,
                "election_ticks_min must exceed heartbeat_ticks",
            ),
            (
                self.election_ticks_max > self.election_ticks_min,
                "election_ticks_max must exceed election_ticks_min (it is exclusive)",
            ),
        ]
    }

    /// The batch, size and queue limits.
    fn limit_rules(&self) -> [(bool, &'static str); 9] {
        [
            (
                self.append_entries_max >= 1,
                "append_entries_max must be at least 1",
            ),
            (
                self.append_bytes_max <= APPEND_BYTES_MAX,
                "append_bytes_max must fit in a UDP datagram (APPEND_BYTES_MAX)",
            ),
            (
                self.entry_bytes_max <= self.append_bytes_max,
                "entry_bytes_max must not exceed append_bytes_max",
            ),
            (
                self.inflight_appends_max >= 1,
                "inflight_appends_max must be at least 1",
            ),
            (
                self.uncommitted_entries_max >= 1,
                "uncommitted_entries_max must be at least 1",
            ),
            (
                self.pending_reads_max >= 1,
                "pending_reads_max must be at least 1",
            ),
            (
                self.apply_entries_max >= 1,
                "apply_entries_max must be at least 1",
            ),
            (
                self.snapshot_chunk_bytes >= 1
                    && self.snapshot_chunk_bytes <= self.append_bytes_max,
                "snapshot_chunk_bytes must be 1..=append_bytes_max",
            ),
            (
                self.snapshot_chunks_inflight_max >= 1,
                "snapshot_chunks_inflight_max must be at least 1",
            ),
        ]
    }

    /// What lease-based reads need.
    fn read_rules(&self) -> [(bool, &'static str); 2] {
        let leases = self.read_mode == ReadMode::LeaseBased;
        [
            (
                !leases || self.check_quorum,
                "read_mode LeaseBased needs check_quorum (followers inside a lease refuse votes)",
            ),
            (
                !leases || self.lease_ticks() >= 1,
                "lease_margin_ticks must be below election_ticks_min",
            ),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        for size in [1, 3, 5, 7] {
            for id in 0..size {
                assert_eq!(RaftConfig::new(NodeId(id), size).validate(), Ok(()));
            }
        }
    }

    #[test]
    fn validate_names_the_broken_rule() {
        let mut config = RaftConfig::new(NodeId(5), 5);
        let error = config.validate().unwrap_err();
        assert_eq!(
            error,
            RaftError::ConfigInvalid("id must be below cluster_size".into())
        );
        config.id = NodeId(0);
        config.election_ticks_max = config.election_ticks_min;
        let text = config.validate().unwrap_err().to_string();
        assert!(text.contains("election_ticks_max"), "{text}");
        config.election_ticks_max = 20;
        config.entry_bytes_max = config.append_bytes_max + 1;
        let text = config.validate().unwrap_err().to_string();
        assert!(text.contains("entry_bytes_max"), "{text}");
    }

    #[test]
    fn lease_reads_need_check_quorum_and_a_lease() {
        let mut config = RaftConfig::new(NodeId(0), 3);
        config.read_mode = ReadMode::LeaseBased;
        assert_eq!(config.validate(), Ok(()));
        assert_eq!(config.lease_ticks(), 6, "10 - 4");
        config.check_quorum = false;
        let text = config.validate().unwrap_err().to_string();
        assert!(text.contains("check_quorum"), "{text}");
        config.check_quorum = true;
        config.lease_margin_ticks = config.election_ticks_min;
        let text = config.validate().unwrap_err().to_string();
        assert!(text.contains("lease_margin_ticks"), "{text}");
    }

    #[test]
    fn quorum_is_a_strict_majority() {
        let quorums: Vec<usize> = (1..=7)
            .map(|size| RaftConfig::new(NodeId(0), size).quorum())
            .collect();
        assert_eq!(quorums, vec![1, 2, 2, 3, 3, 4, 4]);
    }
}
