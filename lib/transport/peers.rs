//! `PeerTable`: the fixed list of peers, each as the cluster file names it
//! (`NodeAddress`: an IP or a DNS name) and the socket address it stands
//! for now.
//!
//! Why names are looked up again and again, not once: a peer named by DNS
//! may move (a rescheduled Kubernetes pod keeps its name and gets a new
//! IP), and a lookup done once at start would send to the old IP for ever.
//! So the "udp-resolver" thread (resolver.rs) calls [`PeerTable::refresh`]
//! every few seconds. A failed lookup keeps the last good address (DNS
//! hiccups must not cut a peer off) and is counted and logged, never
//! fatal; a peer whose name never resolved has no address, and datagrams to
//! it are dropped and counted as UDP loss would be. IP entries never change
//! and are never looked up.
//!
//! Incoming datagrams are not matched against these addresses: they carry
//! their sender's index (envelope.rs).

use std::collections::HashSet;
use std::io;
use std::net::{IpAddr, SocketAddr, SocketAddrV6};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use log::{debug, info, warn};

use super::counters::{count, TransportCounters};
use super::faults::PEERS_MAX;
use crate::config::NodeAddress;

/// How a name becomes socket addresses: `NodeAddress::resolve` (std's
/// resolver), or a stand-in in tests that moves a peer.
pub(crate) type Lookup = Arc<dyn Fn(&NodeAddress) -> io::Result<Vec<SocketAddr>> + Send + Sync>;

/// The lookup every transport uses outside tests.
pub(crate) fn system_lookup() -> Lookup {
    Arc::new(NodeAddress::resolve)
}

/// The peers, by index (the index is the node id the protocols use).
pub(crate) struct PeerTable {
    configured: Vec<NodeAddress>,
    /// The address each peer has now; `None` while a name never resolved.
    current: RwLock<Vec<Option<SocketAddr>>>,
    /// Per peer: whether its last lookup failed (to log a run of failures
    /// once, not every few seconds).
    failing: Vec<AtomicBool>,
    /// The socket is IPv6: an IPv4 answer is sent to as IPv4-mapped.
    ipv6_socket: bool,
    lookup: Lookup,
}

impl PeerTable {
    /// Builds the table; refuses more than `PEERS_MAX` peers or an address
    /// listed twice (as text: two peers sharing it could not both be sent
    /// to). Names are not looked up here: call `refresh`.
    pub fn new(
        configured: Vec<NodeAddress>,
        ipv6_socket: bool,
        lookup: Lookup,
    ) -> io::Result<PeerTable> {
        if configured.len() > PEERS_MAX {
            let message = format!("{} peers, at most {PEERS_MAX}", configured.len());
            return Err(io::Error::new(io::ErrorKind::InvalidInput, message));
        }
        let mut seen = HashSet::with_capacity(configured.len());
        for (index, address) in configured.iter().enumerate() {
            if !seen.insert(address) {
                let first = configured.iter().position(|a| a == address).unwrap_or(0);
                let message = format!("peers {first} and {index} share the address {address}");
                return Err(io::Error::new(io::ErrorKind::InvalidInput, message));
            }
        }
        let current = configured
            .iter()
            .map(|address| address.ip_address().map(|a| fit(a, ipv6_socket)))
            .collect();
        let failing = configured.iter().map(|_| AtomicBool::new(false)).collect();
        Ok(PeerTable {
            configured,
            current: RwLock::new(current),
            failing,
            ipv6_socket,
            lookup,
        })
    }

    /// How many peers there are.
    pub fn len(&self) -> usize {
        self.configured.len()
    }

    /// Whether any peer is named by DNS (and so needs `refresh`).
    pub fn has_names(&self) -> bool {
        self.configured.iter().any(|a| a.name().is_some())
    }

    /// The address peer `index` has now; `None` for no such peer or a name
    /// that never resolved.
    pub fn address(&self, index: usize) -> Option<SocketAddr> {
        let current = self.current.read().unwrap_or_else(|e| e.into_inner());
        current.get(index).copied().flatten()
    }

    /// Looks every named peer up once (blocking, one lookup at a time) and
    /// takes the answers; a failure keeps the last good address.
    pub fn refresh(&self, counters: &TransportCounters) {
        for (index, address) in self.configured.iter().enumerate() {
            if address.name().is_none() {
                continue;
            }
            let found = (self.lookup)(address).and_then(|candidates| {
                pick(&candidates, self.ipv6_socket).ok_or_else(|| {
                    io::Error::new(
                        io::ErrorKind::NotFound,
                        format!("no address this socket can reach among {candidates:?}"),
                    )
                })
            });
            match found {
                Ok(found) => self.take(index, address, found),
                Err(error) => {
                    count(&counters.lookup_failures);
                    let kept = self.address(index);
                    if !self.failing[index].swap(true, Ordering::Relaxed) {
                        warn!(
                            "udp peer {index}: cannot look up {address}: {error}; {}",
                            match kept {
                                Some(kept) => format!("keeping {kept}, trying again"),
                                None => "nothing is sent to it until it resolves".into(),
                            }
                        );
                    } else {
                        debug!("udp peer {index}: cannot look up {address}: {error}");
                    }
                }
            }
        }
    }

    /// Takes a successful lookup of peer `index`.
    fn take(&self, index: usize, address: &NodeAddress, found: SocketAddr) {
        let recovered = self.failing[index].swap(false, Ordering::Relaxed);
        let mut current = self.current.write().unwrap_or_else(|e| e.into_inner());
        let before = current[index].replace(found);
        drop(current);
        match before {
            Some(before) if before == found => {
                if recovered {
                    info!("udp peer {index}: {address} resolves again, still {found}");
                }
            }
            Some(before) => info!("udp peer {index}: {address} moved from {before} to {found}"),
            None => info!("udp peer {index}: {address} is {found}"),
        }
    }
}

/// The first answer the socket can send to: an IPv4 socket takes only IPv4
/// answers; an IPv6 socket prefers IPv6 and takes IPv4 as mapped.
fn pick(candidates: &[SocketAddr], ipv6_socket: bool) -> Option<SocketAddr> {
    if ipv6_socket {
        let v6 = candidates.iter().find(|a| a.is_ipv6());
        v6.or(candidates.first()).map(|a| fit(*a, true))
    } else {
        candidates.iter().find(|a| a.is_ipv4()).copied()
    }
}

/// `address` as the socket sends to it (IPv4-mapped on an IPv6 socket).
fn fit(address: SocketAddr, ipv6_socket: bool) -> SocketAddr {
    match (address.ip(), ipv6_socket) {
        (IpAddr::V4(v4), true) => {
            SocketAddr::V6(SocketAddrV6::new(v4.to_ipv6_mapped(), address.port(), 0, 0))
        }
        _ => address,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    fn addresses(texts: &[&str]) -> Vec<NodeAddress> {
        texts.iter().map(|t| t.parse().expect("address")).collect()
    }

    #[test]
    fn a_moved_name_is_followed_and_a_failed_lookup_keeps_the_last_address() {
        let answer: Arc<Mutex<io::Result<Vec<SocketAddr>>>> =
            Arc::new(Mutex::new(Ok(vec!["10.0.0.1:7".parse().unwrap()])));
        let lookups = Arc::clone(&answer);
        let lookup: Lookup = Arc::new(move |_: &NodeAddress| match &*lookups.lock().unwrap() {
            Ok(found) => Ok(found.clone()),
            Err(error) => Err(io::Error::new(error.kind(), error.to_string())),
        });
        let table =
            PeerTable::new(addresses(&["127.0.0.1:5", "db-1.db:7"]), false, lookup).unwrap();
        let counters = TransportCounters::default();
        assert!(table.has_names());
        assert_eq!(table.address(0), Some("127.0.0.1:5".parse().unwrap()));
        assert_eq!(table.address(1), None, "not looked up yet");
        table.refresh(&counters);
        assert_eq!(table.address(1), Some("10.0.0.1:7".parse().unwrap()));
        *answer.lock().unwrap() = Ok(vec!["10.0.0.2:7".parse().unwrap()]);
        table.refresh(&counters);
        assert_eq!(table.address(1), Some("10.0.0.2:7".parse().unwrap()));
        *answer.lock().unwrap() = Err(io::Error::other("SERVFAIL"));
        table.refresh(&counters);
        table.refresh(&counters);
        assert_eq!(table.address(1), Some("10.0.0.2:7".parse().unwrap()));
        assert_eq!(counters.snapshot().lookup_failures, 2);
        assert_eq!(table.address(0), Some("127.0.0.1:5".parse().unwrap()));
    }

    #[test]
    fn answers_are_picked_for_the_socket_family_and_duplicates_refused() {
        let v4: SocketAddr = "10.0.0.1:7".parse().unwrap();
        let v6: SocketAddr = "[fd00::1]:7".parse().unwrap();
        assert_eq!(pick(&[v6, v4], false), Some(v4));
        assert_eq!(pick(&[v6], false), None);
        assert_eq!(pick(&[v4, v6], true), Some(v6));
        assert_eq!(
            pick(&[v4], true),
            Some("[::ffff:10.0.0.1]:7".parse().unwrap())
        );
        let twice = PeerTable::new(addresses(&["a:1", "b:1", "a:1"]), false, system_lookup());
        let error = twice.err().expect("refused");
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
        assert!(error.to_string().contains("peers 0 and 2"), "{error}");
    }
}
