//! The "raft-udp-receiver" thread: takes the datagrams the transport's
//! "udp-receiver" thread checked (framing, checksum, known sender), decodes
//! each as a Raft message and puts it into the core's inbox.
//!
//! It may call: `Message::decode` and the core inbox (`try_send` only).
//! Decoding here keeps that work off the core thread. What does not decode,
//! or names another sender than the peer whose address it came from, is
//! dropped and counted, never a panic. A full inbox drops the message too:
//! UDP is lossy anyway, and Raft retransmits.

use std::sync::Arc;

use crossbeam_channel::{select, Receiver, Sender, TrySendError};
use log::debug;

use crate::driver_kit::count;
use crate::raft::{Message, NodeId};
use crate::replication::StateMachine;
use crate::transport::Datagram;

use super::events::CoreEvent;
use super::status::SharedStatus;

/// The receiver thread's state.
pub struct UdpReceiver<S: StateMachine> {
    /// Checked datagrams from the transport.
    pub datagrams: Receiver<Datagram>,
    /// Where decoded messages go.
    pub core_inbox: Sender<CoreEvent<S>>,
    /// Disconnects when the replicator stops.
    pub stop: Receiver<()>,
    /// Where drops are counted.
    pub status: Arc<SharedStatus>,
}

impl<S: StateMachine> UdpReceiver<S> {
    /// Decodes and forwards until stopped.
    pub fn run(self) {
        loop {
            select! {
                recv(self.stop) -> _ => return,
                recv(self.datagrams) -> datagram => match datagram {
                    Ok(datagram) => {
                        if !self.forward(datagram) {
                            return;
                        }
                    }
                    Err(_) => return,
                },
            }
        }
    }

    /// Forwards one datagram if it decodes; false once the core is gone.
    fn forward(&self, datagram: Datagram) -> bool {
        let message = match decode_datagram(&datagram) {
            Ok(message) => message,
            Err(why) => {
                count(&self.status.counters.malformed_dropped, 1);
                debug!(
                    "raft: dropping a datagram from peer {}: {why}",
                    datagram.peer
                );
                return true;
            }
        };
        match self.core_inbox.try_send(CoreEvent::Peer(message)) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) => {
                count(&self.status.counters.inbox_full_drops, 1);
                true
            }
            Err(TrySendError::Disconnected(_)) => false,
        }
    }
}

/// The Raft message in `datagram`, if it is one and comes from the peer it
/// names as its sender (the transport knows the sender by its address; a
/// message claiming another is misrouted or forged).
pub fn decode_datagram(datagram: &Datagram) -> Result<Message, String> {
    let message = Message::decode(&datagram.payload).map_err(|error| error.to_string())?;
    if message.from != NodeId(datagram.peer) {
        return Err(format!(
            "claims to be from {} but came from peer {}",
            message.from, datagram.peer
        ));
    }
    Ok(message)
}
