//! The datagram router: decodes the datagrams the UDP receiver accepted
//! (right size, known sender, good frame checksum) and routes them by their
//! magic (`wire::formats`). Core messages (`SEQUENCER_MESSAGE`, or several
//! in a `MESSAGE_BATCH`) go back to the caller, the core thread, which
//! steps them at once; state-transfer messages (`STATE_TRANSFER`) go to the
//! state-transfer thread. It runs on the core
//! thread rather than a thread of its own: a datagram then wakes one thread
//! on its way in, not two.
//!
//! Anything that does not decode is dropped and counted; nothing a peer
//! (or a stranger who got past the address filter) sends can panic it.

use std::sync::Arc;

use crossbeam_channel::{Sender, TrySendError};
use log::debug;

use crate::driver_kit::count;
use crate::sequencer::{MemberId, Message};
use crate::transport::Datagram;

use super::batch;
use super::events::TransferTask;
use super::status::SharedStatus;
use super::transfer_message::TransferMessage;
use crate::wire::formats::{MESSAGE_BATCH, SEQUENCER_MESSAGE, STATE_TRANSFER};

/// What the router needs besides the datagram.
pub(super) struct Router {
    pub(super) me: MemberId,
    /// State-transfer messages go here.
    pub(super) transfer_inbox: Sender<TransferTask>,
    pub(super) status: Arc<SharedStatus>,
}

impl Router {
    /// Decodes one datagram: its core messages, in order, for the caller
    /// to step; a state-transfer message is handed on here.
    pub(super) fn route(&self, datagram: Datagram) -> Vec<(MemberId, Message)> {
        // The transport's peer table includes this member's own address
        // (its stop wake-up datagram comes from there): never a peer.
        let Some(peer) = self.peer(datagram.peer) else {
            count(&self.status.malformed_datagrams, 1);
            return Vec::new();
        };
        let payload = &datagram.payload;
        if payload.starts_with(SEQUENCER_MESSAGE.magic) {
            match Message::decode(payload) {
                Ok(message) => return vec![(peer, message)],
                Err(error) => debug!("sequencer: bad message from {peer}: {error}"),
            }
        } else if payload.starts_with(MESSAGE_BATCH.magic) {
            match batch::unpack(payload) {
                Ok(messages) => return self.decode_batch(peer, &messages),
                Err(error) => debug!("sequencer: bad batch from {peer}: {error}"),
            }
        } else if payload.starts_with(STATE_TRANSFER.magic) {
            match TransferMessage::decode(payload) {
                Ok(message) => {
                    self.forward(TransferTask::FromPeer { peer, message });
                    return Vec::new();
                }
                Err(error) => debug!("sequencer: bad transfer message from {peer}: {error}"),
            }
        }
        count(&self.status.malformed_datagrams, 1);
        Vec::new()
    }

    /// The messages of a batch, in order; one that does not decode is
    /// dropped and counted, and the others still go.
    fn decode_batch(&self, peer: MemberId, messages: &[&[u8]]) -> Vec<(MemberId, Message)> {
        let mut decoded = Vec::with_capacity(messages.len());
        for bytes in messages {
            match Message::decode(bytes) {
                Ok(message) => decoded.push((peer, message)),
                Err(error) => {
                    debug!("sequencer: bad message in a batch from {peer}: {error}");
                    count(&self.status.malformed_datagrams, 1);
                }
            }
        }
        decoded
    }

    /// The member id of transport peer `index`, unless it is this member.
    fn peer(&self, index: usize) -> Option<MemberId> {
        let peer = MemberId(u16::try_from(index).ok()?);
        (peer != self.me).then_some(peer)
    }

    /// Hands a task to the state-transfer thread without blocking: a full
    /// inbox drops it (UDP might have lost it as well; peers ask again).
    fn forward(&self, task: TransferTask) {
        if let Err(TrySendError::Full(_)) = self.transfer_inbox.try_send(task) {
            count(&self.status.inbox_full_drops, 1);
        }
    }
}
