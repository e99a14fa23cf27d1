//! What flows on the driver's channels, one enum per receiving thread:
//! [`CoreEvent`] into the core's inbox, [`ApplyTask`] into the apply queue,
//! [`TransferTask`] into the state-transfer inbox. Every channel is bounded
//! (see `limits.rs`); who may block on which is in mod.rs.

use std::sync::Arc;

use crossbeam_channel::Sender;

use crate::driver_kit::Reply;
use crate::replication::StateDigest;
use crate::sequencer::{Delivery, LocalSeq, MemberId, SnapshotNeeded};

use super::image::Image;
use super::transfer_message::TransferMessage;

/// An input of the protocol core, for the core thread.
pub(super) enum CoreEvent<R> {
    /// A client request to broadcast (from `submit`), and its reply.
    Broadcast {
        /// The request, encoded with serde_json.
        payload: Vec<u8>,
        /// Answered when the request is delivered here, or on failure.
        reply: Reply<R>,
    },
    /// A query (`StateMachine::is_query`, from `submit`): answered from the
    /// state after a read barrier, not broadcast.
    Read {
        /// The request, encoded with serde_json.
        payload: Vec<u8>,
        /// Answered from the state, or when the read is ordered after all.
        reply: Reply<R>,
    },
    /// A state transfer finished: a peer's snapshot image, checked.
    SnapshotFetched(Arc<Image>),
    /// `digest()` wants a fingerprint of the applied state; the core passes
    /// it on to the apply thread behind the deliveries handed over so far.
    Digest(Sender<StateDigest>),
}

/// Work for the apply thread, in the order the core queued it.
pub(super) enum ApplyTask<R> {
    /// Own broadcast `local_seq` was taken: answer `replies` when it is
    /// delivered. Queued before any delivery of it can be.
    Expect {
        /// The broadcast's number in this member's stream.
        local_seq: LocalSeq,
        /// The replies owed, one per request of the batch, in its order.
        replies: Vec<Reply<R>>,
    },
    /// Apply the next delivery in the total order.
    Deliver(Delivery),
    /// Answer a query from the state (its read barrier is passed: every
    /// delivery it must see was queued before it), or hand it back to the
    /// core to be ordered (`StateMachine::query` says it must be).
    Query {
        /// The request, encoded with serde_json.
        payload: Vec<u8>,
        /// Its reply.
        reply: Reply<R>,
    },
    /// Install a fetched snapshot (if it is ahead of the state here), make it
    /// durable, and say on `done` whether it was installed.
    Install {
        /// The image, already checked.
        image: Arc<Image>,
        /// Capacity 1: the answer never blocks the apply thread.
        done: Sender<bool>,
    },
    /// Answer the applied index and the crc of the state's snapshot bytes
    /// (capacity 1: never blocks).
    Digest(Sender<StateDigest>),
}

/// Work for the state-transfer thread.
pub(super) enum TransferTask {
    /// The core needs a snapshot (it fell behind what peers keep).
    Fetch(SnapshotNeeded),
    /// A state-transfer message from a peer (a request to serve, or a chunk).
    FromPeer {
        /// The sending member.
        peer: MemberId,
        /// The message.
        message: TransferMessage,
    },
}
