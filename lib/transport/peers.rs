//! `PeerTable`: the fixed list of peer addresses, both ways round: index to
//! address for sending, address to index for telling who sent a datagram.
//!
//! A datagram's sender is known only by its source address, so the table
//! must hold the exact address each peer's socket is bound to (the one in the
//! cluster file; binding to 0.0.0.0 would make the source address whatever
//! the route picks). Anything from another address is dropped.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;

use super::faults::PEERS_MAX;

/// The peers, by index (the index is the node id the protocols use).
#[derive(Debug)]
pub(crate) struct PeerTable {
    addresses: Vec<SocketAddr>,
    index_by_address: HashMap<SocketAddr, usize>,
}

impl PeerTable {
    /// Builds the table; refuses more than `PEERS_MAX` peers or an address
    /// listed twice (a datagram from it could not be attributed).
    pub fn new(addresses: Vec<SocketAddr>) -> io::Result<PeerTable> {
        if addresses.len() > PEERS_MAX {
            let message = format!("{} peers, at most {PEERS_MAX}", addresses.len());
            return Err(io::Error::new(io::ErrorKind::InvalidInput, message));
        }
        let mut index_by_address = HashMap::with_capacity(addresses.len());
        for (index, address) in addresses.iter().enumerate() {
            if let Some(first) = index_by_address.insert(*address, index) {
                let message = format!("peers {first} and {index} share the address {address}");
                return Err(io::Error::new(io::ErrorKind::InvalidInput, message));
            }
        }
        Ok(PeerTable {
            addresses,
            index_by_address,
        })
    }

    /// How many peers there are.
    pub fn len(&self) -> usize {
        self.addresses.len()
    }

    /// The address of peer `index`.
    pub fn address(&self, index: usize) -> Option<SocketAddr> {
        self.addresses.get(index).copied()
    }

    /// The index of the peer bound to `address`.
    pub fn index_of(&self, address: SocketAddr) -> Option<usize> {
        self.index_by_address.get(&address).copied()
    }
}
