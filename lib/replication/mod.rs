//! The seam between a database's gRPC service and the protocol that keeps
//! its replicas in step. The service turns a call into a request for the
//! state machine, hands it to a [`Replicator`] and answers the call when the
//! replicator reports the result; it never applies anything itself.
//!
//! A replicator decides where and when a request is applied: Raft
//! (`crate::raft_driver`) once a majority has logged it; the rotating
//! sequencer (`crate::sequencer_driver`) once it is delivered in the total
//! order. Both apply requests to the same kind of [`StateMachine`].

use std::fmt;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::transport::FaultSwitch;

/// A deterministic state machine: the same requests in the same order give
/// the same results and state on every replica. Everything that varies
/// (time, new ids, tokens) comes inside the request.
pub trait StateMachine: Send + 'static {
    /// What is replicated and applied (it carries its request id).
    type Request: Serialize + DeserializeOwned + Clone + fmt::Debug + Send + 'static;
    /// What applying a request returns.
    type Result: Serialize + DeserializeOwned + Clone + fmt::Debug + Send + 'static;

    /// Applies one request.
    fn apply(&mut self, request: &Self::Request) -> Self::Result;

    /// True when `request` is a query: it may be answered by
    /// [`StateMachine::query`] from a replica's state once the replica has
    /// applied everything a read must see (Raft's ReadIndex and lease reads,
    /// the sequencer's read barrier), instead of being ordered among writes.
    /// None by default.
    ///
    /// A query is what may *skip the order*, which is not the same as what a
    /// state machine keeps out of its request log: the customer DB's session
    /// check is a query that sometimes renews the session, so `query`
    /// declines it then, and the replicator orders it after all.
    fn is_query(_request: &Self::Request) -> bool {
        false
    }

    /// Answers a query (`is_query`) from the state, changing nothing; or
    /// `None` when it must be ordered after all (for example, it is due to
    /// renew a session, which only the order may change).
    fn query(&self, _request: &Self::Request) -> Option<Self::Result> {
        None
    }

    /// The bytes a replicator logs and sends for `request`: every replica
    /// decodes them with [`StateMachine::decode_request`]. JSON, unless a
    /// state machine has an encoding of its own (the databases' is their
    /// gRPC message, `crate::contract`).
    fn encode_request(request: &Self::Request) -> Result<Vec<u8>, String> {
        serde_json::to_vec(request).map_err(|error| error.to_string())
    }

    /// The request that `encode_request` wrote, or why the bytes are none.
    fn decode_request(bytes: &[u8]) -> Result<Self::Request, String> {
        serde_json::from_slice(bytes).map_err(|error| error.to_string())
    }

    /// The whole state as bytes, for snapshots and state transfer. Equal
    /// states give equal bytes.
    fn snapshot(&self) -> Vec<u8>;

    /// The state that `snapshot` wrote, or why the bytes are not one.
    fn restore(bytes: &[u8]) -> Result<Self, String>
    where
        Self: Sized;
}

/// Room in a snapshot for what is neither a database's state nor its
/// request log, each kept within its own byte limit: the clock readings,
/// the fields' names, a header, which take far less. The databases'
/// capacity plans (`product/replicated.rs`, `customer/replicated.rs`)
/// count it against the snapshot and state-transfer limits.
pub const SNAPSHOT_ENVELOPE_BYTES: u64 = 1024 * 1024;

/// How a replicator hands back the result of one request; called exactly
/// once, from whichever thread applied it.
pub type ReplyTo<R> = Box<dyn FnOnce(Result<R, ReplicationError>) + Send>;

/// Orders requests among replicas and applies them.
pub trait Replicator<S: StateMachine>: Send + Sync + 'static {
    /// Hands `request` over; `reply` gets the state machine's result once
    /// the request is applied here, or why it could not be.
    fn submit(&self, request: S::Request, reply: ReplyTo<S::Result>);

    /// What this replica reports to cluster-status.
    fn status(&self) -> ReplicaStatus;

    /// A fingerprint of the applied state (tests compare replicas with it).
    fn digest(&self) -> StateDigest;

    /// The switch that makes this replica's UDP transport drop packets, if
    /// it has one.
    fn fault_switch(&self) -> Option<FaultSwitch> {
        None
    }
}

/// The applied index and a checksum of the state's snapshot bytes at it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StateDigest {
    /// Entries (or deliveries) applied so far.
    pub applied_index: u64,
    /// crc32 of `StateMachine::snapshot()` at that point.
    pub state_crc: u32,
}

impl StateDigest {
    /// The digest of `state` at `applied_index`.
    pub fn of<S: StateMachine>(applied_index: u64, state: &S) -> StateDigest {
        StateDigest {
            applied_index,
            state_crc: crc32fast::hash(&state.snapshot()),
        }
    }
}

/// Why a request was not applied by this replica.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReplicationError {
    /// This replica does not take requests; `leader` (an index into the
    /// cluster file) may, if known.
    NotLeader {
        /// The replica that leads as far as this one knows (its index in
        /// the cluster file); `None` while none is known.
        leader: Option<usize>,
    },
    /// The replica cannot make progress now (no quorum, shutting down, too
    /// many requests in flight); the text says which.
    Unavailable(String),
}

impl fmt::Display for ReplicationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplicationError::NotLeader {
                leader: Some(leader),
            } => {
                write!(f, "not the leader; replica {leader} is")
            }
            ReplicationError::NotLeader { leader: None } => {
                f.write_str("not the leader; leader unknown")
            }
            ReplicationError::Unavailable(why) => write!(f, "replica unavailable: {why}"),
        }
    }
}

impl std::error::Error for ReplicationError {}

/// A replica's view of its replication protocol, for cluster-status.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplicaStatus {
    /// "raft" or "sequencer".
    pub protocol: String,
    /// This replica's index in the cluster file.
    pub index: usize,
    /// leader, follower, candidate, member, standby.
    pub role: String,
    /// Raft term (0 elsewhere).
    pub term: u64,
    /// The replica that takes requests, if known.
    pub leader: Option<usize>,
    /// Highest index known committed (Raft) or delivered (others).
    pub commit_index: u64,
    /// Highest index applied to the state machine.
    pub applied_index: u64,
    /// Sequencer: the next global number to be assigned.
    pub next_global: u64,
    /// Sequencer: the highest delivered global number.
    pub delivered: u64,
    /// Sequencer: the member's view, if it has views.
    pub view: Option<ViewSummary>,
    /// Peer messages the protocol core refused because they contradict
    /// what it holds (`crate::verdict`): no correct peer sends one, so
    /// anything but 0 means a peer with a bug, or a corrupted or replayed
    /// datagram.
    pub contradictions: u64,
}

impl ReplicaStatus {
    /// True if the replica takes part in answering calls now: a Raft
    /// replica that leads or follows a known leader, a sequencer member
    /// working in its view (what the gRPC health check reports).
    pub fn serves(&self) -> bool {
        match self.protocol.as_str() {
            "sequencer" => self.role == "member",
            _ => matches!(self.role.as_str(), "leader" | "follower") && self.leader.is_some(),
        }
    }
}

/// A sequencer member's view, for cluster-status.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ViewSummary {
    /// The view number it is in, or is changing to.
    pub number: u64,
    /// The installed view's turn list (member indexes).
    pub members: Vec<usize>,
    /// True if this member takes turns in its view.
    pub in_view: bool,
    /// True while a view change is under way here.
    pub changing: bool,
    /// Whose turn the next number is (None while unknown).
    pub turn: Option<usize>,
    /// Turn-list members suspected after a silence.
    pub suspicions: u64,
    /// View changes begun or joined.
    pub view_changes: u64,
    /// Members taken back into the turns.
    pub rejoins: u64,
    /// The incarnation its requests are numbered in (0, or the view it
    /// recovered into after losing its disk).
    pub incarnation: u64,
    /// Items this member is asking peers to retransmit now.
    pub retransmits_pending: u64,
    /// Messages dropped: from other views, contradicting, malformed,
    /// refused, or lost to a full inbox.
    pub drops: u64,
}
