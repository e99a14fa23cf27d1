//! Peers' datagrams as Raft messages. The raft-core thread reads its
//! socket itself (`UdpTransport::receive_now`, after the transport's checks
//! of framing, checksum and known sender) and decodes each datagram here.
//!
//! Until session 14 two threads stood between the socket and the core: the
//! transport's "udp-receiver" and a "raft-udp-receiver" that decoded; each
//! datagram cost two wake-ups and two channel hand-offs before the core
//! saw it (docs/EVALUATION.md, session 14). What does not decode, or names
//! another sender than the peer whose address it came from, is dropped and
//! counted, never a panic.

use crate::raft::{Message, NodeId};
use crate::transport::Datagram;

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
