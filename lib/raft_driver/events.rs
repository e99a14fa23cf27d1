//! What flows on the driver's two queues: [`CoreEvent`] into the raft-core
//! thread's inbox, and [`ApplyTask`] from the core to the raft-apply thread.
//! Both queues are bounded (limits.rs) and carry owned values only, so no
//! thread ever shares the Raft node or the state machine.

use std::time::Instant;

use crossbeam_channel::Sender;

use crate::driver_kit::Reply;
use crate::raft::{Entry, Message, Snapshot};
use crate::replication::{StateDigest, StateMachine};

/// One input for the raft-core thread.
pub enum CoreEvent<S: StateMachine> {
    /// A message from a peer, read from the socket and decoded by the core
    /// itself (it never travels through the inbox).
    Peer(Message),
    /// One tick of time, from the raft-ticker thread.
    Tick,
    /// A write from `submit` (or a query the state machine declined to
    /// answer from its state): the request as `S::encode_request` writes
    /// it, to be proposed.
    Propose {
        /// The state machine's request, encoded.
        request: Vec<u8>,
        /// Where the result goes.
        reply: Reply<S::Result>,
        /// When the caller stops waiting.
        deadline: Instant,
    },
    /// A query from `submit`, to be served by ReadIndex.
    Read {
        /// The state machine's request.
        request: S::Request,
        /// Where the result goes.
        reply: Reply<S::Result>,
        /// When the caller stops waiting.
        deadline: Instant,
    },
    /// The raft-apply thread saved a snapshot at `index` (durably): the log
    /// may forget what it covers, and lagging followers get it instead.
    Compact {
        /// The last entry the snapshot covers.
        index: u64,
        /// The state machine's bytes at `index`.
        data: Vec<u8>,
    },
}

impl<S: StateMachine> CoreEvent<S> {
    /// The proposal of `request`; `None` if it does not encode (then
    /// `reply` has been answered).
    pub fn proposal(
        request: &S::Request,
        reply: Reply<S::Result>,
        deadline: Instant,
    ) -> Option<CoreEvent<S>> {
        match S::encode_request(request) {
            Ok(request) => Some(CoreEvent::Propose {
                request,
                reply,
                deadline,
            }),
            Err(error) => {
                reply.fail(format!("the request does not encode: {error}"));
                None
            }
        }
    }
}

/// One task for the raft-apply thread, in the order the core queued it.
/// That order is what makes replies right: a proposal's reply is expected
/// before its entry can be committed, and a step-down fails only the
/// replies queued before it.
pub enum ApplyTask<S: StateMachine> {
    /// This node proposed entry number `number`; its result goes to `reply`.
    ExpectProposal {
        /// The proposal number inside the entry's tag.
        number: u64,
        /// Where the result goes.
        reply: Reply<S::Result>,
        /// When the caller stops waiting.
        deadline: Instant,
    },
    /// This node started read `id`; the leader will confirm it.
    ExpectRead {
        /// The read's id (its ReadIndex context).
        id: u64,
        /// The read-only request.
        request: S::Request,
        /// Where the result goes.
        reply: Reply<S::Result>,
        /// When the caller stops waiting.
        deadline: Instant,
    },
    /// Committed entries, in log order, all on this node's disk.
    Committed(Vec<Entry>),
    /// A snapshot received from the leader and on disk: it replaces the
    /// state machine (the entries it covers will never be handed out here).
    Install(Snapshot),
    /// The leader confirmed read `id` at commit index `index`.
    ReadConfirmed {
        /// The read's id.
        id: u64,
        /// Answer once applied up to here.
        index: u64,
    },
    /// This node stopped leading: waiting replies get `NotLeader` now, so
    /// that frontends retry at the new leader at once.
    SteppedDown {
        /// The new leader, if known.
        leader: Option<usize>,
    },
    /// Compute the digest of the applied state and send it back.
    Digest(Sender<StateDigest>),
}
