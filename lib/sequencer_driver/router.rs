//! The router thread ("datagram-router"): takes the datagrams the UDP
//! receiver accepted (right size, known sender, good frame checksum),
//! decodes them, and routes them by their magic: core messages ("SQ") to
//! the core's inbox, state-transfer messages ("ST") to the state-transfer
//! thread. Decoding here keeps it off the core thread.
//!
//! Anything that does not decode is dropped and counted; nothing a peer
//! (or a stranger who got past the address filter) sends can panic it.

use std::sync::Arc;

use crossbeam_channel::{select, Receiver, Sender, TrySendError};
use log::debug;

use crate::sequencer::{MemberId, Message};
use crate::transport::Datagram;

use super::batch::{self, BATCH_MAGIC};
use super::events::{CoreEvent, TransferTask};
use super::progress::{count, Progress};
use super::transfer_message::{TransferMessage, TRANSFER_MAGIC};

/// The magic of the core's messages (see `sequencer/codec.rs`).
const CORE_MAGIC: [u8; 2] = *b"SQ";

/// Where the router sends what it decoded.
pub(super) struct Router<R> {
    pub(super) me: MemberId,
    /// The transport's inbound channel.
    pub(super) datagrams: Receiver<Datagram>,
    pub(super) core_inbox: Sender<CoreEvent<R>>,
    pub(super) transfer_inbox: Sender<TransferTask>,
    pub(super) stop: Receiver<()>,
    pub(super) progress: Arc<Progress>,
}

impl<R> Router<R> {
    /// The thread's body, until `stop` disconnects or a consumer is gone.
    pub(super) fn run(self) {
        loop {
            let datagram = select! {
                recv(self.datagrams) -> datagram => match datagram {
                    Ok(datagram) => datagram,
                    Err(_) => return,
                },
                recv(self.stop) -> _ => return,
            };
            if !self.route(datagram) {
                return;
            }
        }
    }

    /// Decodes and forwards one datagram; false once a consumer is gone.
    fn route(&self, datagram: Datagram) -> bool {
        // The transport's peer table includes this member's own address
        // (its stop wake-up datagram comes from there): never a peer.
        let Some(peer) = self.peer(datagram.peer) else {
            count(&self.progress.malformed_datagrams);
            return true;
        };
        let magic = datagram.payload.get(..2);
        if magic == Some(&CORE_MAGIC[..]) {
            match Message::decode(&datagram.payload) {
                Ok(message) => {
                    let event = CoreEvent::Message {
                        from: peer,
                        message,
                    };
                    return self.forward(&self.core_inbox, event);
                }
                Err(error) => debug!("sequencer: bad message from {peer}: {error}"),
            }
        } else if magic == Some(&BATCH_MAGIC[..]) {
            match batch::unpack(&datagram.payload) {
                Ok(messages) => return self.route_batch(peer, &messages),
                Err(error) => debug!("sequencer: bad batch from {peer}: {error}"),
            }
        } else if magic == Some(&TRANSFER_MAGIC[..]) {
            match TransferMessage::decode(&datagram.payload) {
                Ok(message) => {
                    let task = TransferTask::FromPeer { peer, message };
                    return self.forward(&self.transfer_inbox, task);
                }
                Err(error) => debug!("sequencer: bad transfer message from {peer}: {error}"),
            }
        }
        count(&self.progress.malformed_datagrams);
        true
    }

    /// Decodes and forwards each message of a batch, in order; one that does
    /// not decode is dropped and counted, and the others still go.
    fn route_batch(&self, peer: MemberId, messages: &[&[u8]]) -> bool {
        for bytes in messages {
            let message = match Message::decode(bytes) {
                Ok(message) => message,
                Err(error) => {
                    debug!("sequencer: bad message in a batch from {peer}: {error}");
                    count(&self.progress.malformed_datagrams);
                    continue;
                }
            };
            let event = CoreEvent::Message {
                from: peer,
                message,
            };
            if !self.forward(&self.core_inbox, event) {
                return false;
            }
        }
        true
    }

    /// The member id of transport peer `index`, unless it is this member.
    fn peer(&self, index: usize) -> Option<MemberId> {
        let peer = MemberId(u16::try_from(index).ok()?);
        (peer != self.me).then_some(peer)
    }

    /// Hands `item` on without blocking: a full inbox drops it (UDP might
    /// have lost it as well; the protocols ask again).
    fn forward<T>(&self, inbox: &Sender<T>, item: T) -> bool {
        match inbox.try_send(item) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) => {
                count(&self.progress.inbox_full_drops);
                true
            }
            Err(TrySendError::Disconnected(_)) => false,
        }
    }
}
