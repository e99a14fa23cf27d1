//! `UdpTransport`: datagrams between a fixed set of peers over one UDP
//! socket, with two threads (three when a peer is named by DNS) whose jobs
//! are plain from their names:
//!
//! - "udp-receiver" reads datagrams and filters them, in this order: too
//!   large, bad frame or header, unknown sender, meant for another peer,
//!   fault switch; what survives goes on a bounded crossbeam channel as a
//!   [`Datagram`] `(peer, payload)`. Every drop is counted and logged at
//!   debug level, none panics, and the thread keeps going. If the channel
//!   is full the datagram is dropped rather than blocking the socket: UDP
//!   is lossy anyway and the protocols retransmit. A transport made with
//!   `Receiving::Caller` has no receiver thread: its owner waits on the
//!   socket itself and takes datagrams with `receive_now`, through the
//!   same checks (both drivers' cores do, `driver_kit/core_wake.rs`).
//! - "udp-sender" takes framed datagrams from a bounded queue and hands them
//!   to the socket, so `send` never blocks its caller (the protocol's core
//!   loop) on a full socket buffer. `send_now` skips it: it sends from the
//!   caller's thread with `MSG_DONTWAIT`, and only a datagram the kernel
//!   cannot take at once goes through the queue.
//! - "udp-resolver", only when some peer is named by DNS, looks the names
//!   up again every few seconds (resolver.rs, peers.rs).
//!
//! Each datagram holds exactly one frame (`len | crc32 | body`, see
//! crate::wal::frame): UDP's own checksum is optional and weak, and the
//! length check catches datagrams cut by a too-small buffer. The body is
//! the transport's header (version, sender index, recipient index; see
//! envelope.rs) and the payload: a datagram's sender is known by the index
//! it carries, not by its source address, since a peer named by DNS binds
//! every interface and may move.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::os::fd::{AsFd, BorrowedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crossbeam_channel::{bounded, Receiver, Sender, TrySendError};
use log::{debug, error};

use super::counters::{count, TransportCounters, TransportStats};
use super::envelope::{decode_datagram, encode_datagram, ENVELOPE_HEADER_BYTES};
use super::errors::TransportError;
use super::faults::FaultSwitch;
use super::nonblocking::{self, Sent};
use super::peers::{system_lookup, Lookup, PeerTable};
use super::resolver::{spawn_resolver, RESOLVE_INTERVAL};
use super::socket_buffer::{enlarge_receive_buffer, RECEIVE_SOCKET_BUFFER_BYTES};
use crate::config::NodeAddress;
use crate::wal::frame::FRAME_HEADER_BYTES;

/// The largest datagram sent or accepted: below the 64 KiB UDP limit, with
/// room to spare for IP and UDP headers.
pub const DATAGRAM_BYTES_MAX: usize = 60 * 1024;

/// The largest payload `send` takes: a datagram less its frame header and
/// the transport's header.
pub const PAYLOAD_BYTES_MAX: usize =
    DATAGRAM_BYTES_MAX - FRAME_HEADER_BYTES - ENVELOPE_HEADER_BYTES;

/// Received datagrams waiting for the consumer; more are dropped.
pub const INBOUND_QUEUE_MAX: usize = 4096;

/// Datagrams waiting for the sender thread; more are dropped.
pub const OUTBOUND_QUEUE_MAX: usize = 4096;

/// The receive buffer: larger than any UDP payload (65,507 bytes over IPv4),
/// so an oversized datagram arrives whole and is dropped as oversized, never
/// silently cut to a size that might pass.
const RECEIVE_BUFFER_BYTES: usize = 64 * 1024;

/// How long the receiver blocks before it looks at the stop flag again (a
/// fallback: stopping also sends it an empty datagram to wake it at once).
const RECEIVE_POLL_INTERVAL: Duration = Duration::from_millis(200);

/// Failed receive calls in a row after which the receiver gives up (a socket
/// that fails every call would otherwise spin).
const RECEIVE_ERRORS_IN_A_ROW_MAX: u32 = 1000;

const _: () = assert!(DATAGRAM_BYTES_MAX < RECEIVE_BUFFER_BYTES);

/// A buffer for [`UdpTransport::receive_now`]: larger than any datagram,
/// so an oversized one arrives whole and is dropped as oversized.
pub fn receive_buffer() -> Vec<u8> {
    vec![0; RECEIVE_BUFFER_BYTES]
}

/// A payload received from a peer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Datagram {
    /// The sender's index in the peer list.
    pub peer: usize,
    /// The payload, checked against its frame's CRC.
    pub payload: Vec<u8>,
}

/// Who reads the socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Receiving {
    /// The "udp-receiver" thread, onto the [`UdpTransport::inbound`] channel.
    Thread,
    /// The transport's owner, on its own thread, with
    /// [`UdpTransport::receive_now`] (waiting on [`UdpTransport::socket_fd`]);
    /// no receiver thread runs. It saves a wake-up and a hand-off per
    /// datagram for an owner that waits on the socket anyway.
    Caller,
}

/// A framed datagram on its way to the sender thread.
struct Outgoing {
    address: SocketAddr,
    bytes: Vec<u8>,
}

/// One node's UDP endpoint. Dropping it stops both threads.
pub struct UdpTransport {
    socket: Arc<UdpSocket>,
    local_addr: SocketAddr,
    /// Who this node is and its peers, the fault switch and the counters:
    /// everything receiving needs, which sending uses too.
    check: DatagramCheck,
    inbound: Receiver<Datagram>,
    /// `None` only while dropping (closing it stops the sender thread).
    outbound: Option<Sender<Outgoing>>,
    stopping: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    /// Dropping it stops the "udp-resolver" thread, if there is one.
    _resolver_stop: Option<Sender<()>>,
}

/// The checks a received datagram passes, and their counters.
#[derive(Clone)]
struct DatagramCheck {
    /// This node's index in the peer list (written into every datagram).
    me: usize,
    peers: Arc<PeerTable>,
    faults: FaultSwitch,
    counters: Arc<TransportCounters>,
}

/// What the receiver thread needs.
struct ReceiverContext {
    socket: Arc<UdpSocket>,
    check: DatagramCheck,
    inbound: Sender<Datagram>,
    stopping: Arc<AtomicBool>,
}

impl UdpTransport {
    /// Binds peer `me`'s own entry (`NodeAddress::bind_address`: the IP as
    /// given, every interface for a name) and starts the threads.
    /// `peers[i]` is the address of peer `i`, this node's own included.
    pub fn bind(
        me: usize,
        peers: Vec<NodeAddress>,
        faults: FaultSwitch,
    ) -> io::Result<UdpTransport> {
        let Some(own) = peers.get(me) else {
            return Err(not_a_peer(me, peers.len()));
        };
        UdpTransport::from_socket(UdpSocket::bind(own.bind_address())?, me, peers, faults)
    }

    /// Like `bind`, over a socket bound already: tests bind every socket to
    /// port 0 first, then build the peer lists from the ports they got.
    /// Named peers are looked up once here (a failure is not an error: the
    /// resolver thread tries again), then every `RESOLVE_INTERVAL`.
    pub fn from_socket(
        socket: UdpSocket,
        me: usize,
        peers: Vec<NodeAddress>,
        faults: FaultSwitch,
    ) -> io::Result<UdpTransport> {
        UdpTransport::from_socket_receiving(socket, me, peers, faults, Receiving::Thread)
    }

    /// Like `from_socket`, with who reads the socket given: the receiver
    /// thread, or the caller (`receive_now`).
    pub fn from_socket_receiving(
        socket: UdpSocket,
        me: usize,
        peers: Vec<NodeAddress>,
        faults: FaultSwitch,
        receiving: Receiving,
    ) -> io::Result<UdpTransport> {
        let resolving = (system_lookup(), RESOLVE_INTERVAL);
        UdpTransport::start(socket, me, peers, faults, resolving, receiving)
    }

    /// Like `from_socket`, with the lookup and its interval given (tests
    /// move a peer by changing what its name resolves to).
    #[cfg(test)]
    pub(crate) fn with_lookup(
        socket: UdpSocket,
        me: usize,
        peers: Vec<NodeAddress>,
        faults: FaultSwitch,
        resolving: (Lookup, Duration),
    ) -> io::Result<UdpTransport> {
        UdpTransport::start(socket, me, peers, faults, resolving, Receiving::Thread)
    }

    fn start(
        socket: UdpSocket,
        me: usize,
        peers: Vec<NodeAddress>,
        faults: FaultSwitch,
        (lookup, resolve_interval): (Lookup, Duration),
        receiving: Receiving,
    ) -> io::Result<UdpTransport> {
        if me >= peers.len() {
            return Err(not_a_peer(me, peers.len()));
        }
        socket.set_read_timeout(Some(RECEIVE_POLL_INTERVAL))?;
        let local_addr = socket.local_addr()?;
        let peers = Arc::new(PeerTable::new(peers, local_addr.is_ipv6(), lookup)?);
        let counters = Arc::new(TransportCounters::default());
        let resolver_stop = if peers.has_names() {
            peers.refresh(&counters);
            let (table, counters) = (Arc::clone(&peers), Arc::clone(&counters));
            Some(spawn_resolver(table, counters, resolve_interval)?)
        } else {
            None
        };
        let socket = Arc::new(socket);
        let stopping = Arc::new(AtomicBool::new(false));
        let (inbound_sender, inbound) = bounded(INBOUND_QUEUE_MAX);
        let (outbound, outbound_queue) = bounded(OUTBOUND_QUEUE_MAX);
        let check = DatagramCheck {
            me,
            peers: Arc::clone(&peers),
            faults: faults.clone(),
            counters: Arc::clone(&counters),
        };
        let mut threads = Vec::new();
        match receiving {
            Receiving::Caller => {
                if let Err(error) = enlarge_receive_buffer(&socket, RECEIVE_SOCKET_BUFFER_BYTES) {
                    debug!("udp {local_addr}: the receive buffer keeps its size: {error}");
                }
            }
            Receiving::Thread => {
                let context = ReceiverContext {
                    socket: Arc::clone(&socket),
                    check: check.clone(),
                    inbound: inbound_sender,
                    stopping: Arc::clone(&stopping),
                };
                let receiver = thread::Builder::new()
                    .name("udp-receiver".into())
                    .spawn(move || context.run())?;
                threads.push(receiver);
            }
        }
        let (sender_socket, sender_counters) = (Arc::clone(&socket), Arc::clone(&counters));
        let sender = thread::Builder::new()
            .name("udp-sender".into())
            .spawn(move || run_sender(&sender_socket, &outbound_queue, &sender_counters))?;
        threads.push(sender);
        Ok(UdpTransport {
            socket,
            local_addr,
            check,
            inbound,
            outbound: Some(outbound),
            stopping,
            threads,
            _resolver_stop: resolver_stop,
        })
    }

    /// The next datagram from a peer that passes the receiver's checks, if
    /// one waits on the socket; never blocks. `buffer` is the caller's,
    /// kept between calls ([`receive_buffer`]). Drops are counted as the
    /// receiver thread counts them. For a transport `Receiving::Caller`:
    /// with a receiver thread the two would race for datagrams.
    pub fn receive_now(&self, buffer: &mut [u8]) -> Option<Datagram> {
        loop {
            match nonblocking::receive(&self.socket, buffer) {
                Ok(None) => return None,
                Ok(Some(bytes)) => {
                    if let Some(datagram) = self.check.check(&buffer[..bytes], None) {
                        return Some(datagram);
                    }
                }
                Err(error) => {
                    count(&self.check.counters.receive_errors);
                    debug!("udp receive: {error}");
                    return None;
                }
            }
        }
    }

    /// The socket, for `poll(2)`: readable when a datagram waits.
    pub fn socket_fd(&self) -> BorrowedFd<'_> {
        self.socket.as_fd()
    }

    /// The address the socket is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// How many peers there are.
    pub fn peer_count(&self) -> usize {
        self.check.peers.len()
    }

    /// The channel on which received datagrams arrive (clone it to `select!`).
    pub fn inbound(&self) -> &Receiver<Datagram> {
        &self.inbound
    }

    /// The fault switch this transport obeys (a handle: changes apply at once).
    pub fn faults(&self) -> &FaultSwitch {
        &self.check.faults
    }

    /// The counters so far.
    pub fn stats(&self) -> TransportStats {
        self.check.counters.snapshot()
    }

    /// Frames `payload` and queues it for `peer`, without blocking. A drop
    /// (fault switch, full queue, a name not resolved yet) is not an error: it is counted, as UDP
    /// loss would go unnoticed. Errors are requests that can never succeed.
    pub fn send(&self, peer: usize, payload: &[u8]) -> Result<(), TransportError> {
        if let Some((address, bytes)) = self.prepare(peer, payload)? {
            self.enqueue(Outgoing { address, bytes });
        }
        Ok(())
    }

    /// Like `send`, but hands the datagram to the kernel from the caller's
    /// thread, without blocking it (`nonblocking.rs`); only if the socket's
    /// send buffer is full does it go through the sender thread's queue.
    /// For a protocol's core loop, which sends a batch's datagrams at once:
    /// it saves the sender thread's wake-up on every send.
    pub fn send_now(&self, peer: usize, payload: &[u8]) -> Result<(), TransportError> {
        let Some((address, bytes)) = self.prepare(peer, payload)? else {
            return Ok(());
        };
        count(&self.check.counters.sent);
        match nonblocking::send_to(&self.socket, &bytes, address) {
            Ok(Sent::Taken) => {}
            Ok(Sent::WouldBlock) => {
                // Counted once: the sender thread counts what it sends.
                self.check.counters.sent.fetch_sub(1, Ordering::Relaxed);
                self.enqueue(Outgoing { address, bytes });
            }
            Err(error) => {
                count(&self.check.counters.send_errors);
                debug!("udp send to {address}: {error}");
            }
        }
        Ok(())
    }

    /// Checks `payload` and `peer`, applies the fault switch, and frames
    /// the payload for the peer's address now: `None` when the switch drops
    /// it or the peer has no address yet (counted).
    fn prepare(
        &self,
        peer: usize,
        payload: &[u8],
    ) -> Result<Option<(SocketAddr, Vec<u8>)>, TransportError> {
        if payload.len() > PAYLOAD_BYTES_MAX {
            let bytes = payload.len();
            return Err(TransportError::PayloadTooLarge {
                bytes,
                max: PAYLOAD_BYTES_MAX,
            });
        }
        if peer >= self.check.peers.len() {
            return Err(TransportError::UnknownPeer {
                peer,
                peers: self.check.peers.len(),
            });
        }
        if self.check.faults.should_drop_outgoing(peer) {
            count(&self.check.counters.dropped_outgoing_by_faults);
            return Ok(None);
        }
        let Some(address) = self.check.peers.address(peer) else {
            count(&self.check.counters.dropped_unresolved);
            debug!("udp: peer {peer}'s name has not resolved yet; dropping");
            return Ok(None);
        };
        Ok(Some((
            address,
            encode_datagram(self.check.me, peer, payload),
        )))
    }

    /// Queues a framed datagram for the sender thread, without blocking.
    fn enqueue(&self, outgoing: Outgoing) {
        let address = outgoing.address;
        let outbound = self.outbound.as_ref().expect("taken only when dropped");
        match outbound.try_send(outgoing) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                count(&self.check.counters.dropped_outgoing_queue_full);
                debug!(
                    "udp {}: send queue full, dropping a datagram to {address}",
                    self.local_addr
                );
            }
            Err(TrySendError::Disconnected(_)) => {
                count(&self.check.counters.send_errors);
                error!("udp {}: the udp-sender thread is gone", self.local_addr);
            }
        }
    }

    /// Wakes the receiver with an empty datagram to itself, so that it sees
    /// the stop flag now rather than after its poll interval.
    fn wake_receiver(&self) {
        let mut address = self.local_addr;
        if address.ip().is_unspecified() {
            address.set_ip(match address.ip() {
                IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
            });
        }
        let _ = self.socket.send_to(&[], address);
    }
}

impl Drop for UdpTransport {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::Release);
        drop(self.outbound.take());
        self.wake_receiver();
        for thread in self.threads.drain(..) {
            let name = thread.thread().name().unwrap_or("?").to_string();
            if thread.join().is_err() {
                error!("udp {}: the {name} thread panicked", self.local_addr);
            }
        }
    }
}

impl ReceiverContext {
    /// The receiver thread: read, filter, forward; until stopped.
    fn run(self) {
        let mut buffer = vec![0; RECEIVE_BUFFER_BYTES];
        let mut errors_in_a_row = 0;
        while !self.stopping.load(Ordering::Acquire) {
            match self.socket.recv_from(&mut buffer) {
                Ok((bytes, from)) => {
                    errors_in_a_row = 0;
                    if self.stopping.load(Ordering::Acquire) || !self.accept(&buffer[..bytes], from)
                    {
                        return;
                    }
                }
                Err(error) if is_timeout(&error) => {}
                Err(error) => {
                    count(&self.check.counters.receive_errors);
                    debug!("udp receive: {error}");
                    errors_in_a_row += 1;
                    if errors_in_a_row >= RECEIVE_ERRORS_IN_A_ROW_MAX {
                        error!("udp receive failed {errors_in_a_row} times in a row; stopping");
                        return;
                    }
                }
            }
        }
    }

    /// Filters one datagram and forwards it if it passes. Returns false when
    /// the transport is gone and the thread should end.
    fn accept(&self, bytes: &[u8], from: SocketAddr) -> bool {
        let Some(datagram) = self.check.check(bytes, Some(from)) else {
            return true;
        };
        let peer = datagram.peer;
        match self.inbound.try_send(datagram) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                count(&self.check.counters.dropped_inbound_queue_full);
                debug!("udp: inbound queue full, dropping a datagram from peer {peer}");
            }
            Err(TrySendError::Disconnected(_)) => return false,
        }
        true
    }
}

impl DatagramCheck {
    /// The datagram's payload and sender if it passes, in this order: not
    /// too large, a good frame and header, a known sender, meant for this
    /// node, not dropped by the fault switch. Every drop is counted and
    /// logged at debug level (with the source address when it is known).
    fn check(&self, bytes: &[u8], from: Option<SocketAddr>) -> Option<Datagram> {
        let counters = &self.counters;
        let from = Source(from);
        if bytes.len() > DATAGRAM_BYTES_MAX {
            count(&counters.dropped_oversized);
            debug!(
                "udp: dropping a datagram of {} bytes from {from}",
                bytes.len()
            );
            return None;
        }
        let envelope = match decode_datagram(bytes, PAYLOAD_BYTES_MAX) {
            Ok(envelope) => envelope,
            Err(error) => {
                count(&counters.dropped_malformed);
                debug!("udp: dropping a malformed datagram from {from}: {error}");
                return None;
            }
        };
        let peer = envelope.sender;
        if peer >= self.peers.len() {
            count(&counters.dropped_unknown_sender);
            debug!("udp: dropping a datagram from {from} claiming to be peer {peer}, not a peer");
            return None;
        }
        if envelope.recipient != self.me {
            count(&counters.dropped_misdirected);
            debug!(
                "udp: dropping a datagram from peer {peer} ({from}) meant for peer {}",
                envelope.recipient
            );
            return None;
        }
        if self.faults.should_drop_incoming(peer) {
            count(&counters.dropped_incoming_by_faults);
            return None;
        }
        // Counted before it is handed on, so that a consumer holding the
        // datagram already sees it counted.
        count(&counters.received);
        let payload = envelope.payload.to_vec();
        Some(Datagram { peer, payload })
    }
}

/// Where a datagram came from, for a log line: its source address when the
/// receive asked for it (formatted only if the line is logged).
#[derive(Clone, Copy)]
struct Source(Option<SocketAddr>);

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(address) => write!(f, "{address}"),
            None => write!(f, "a peer"),
        }
    }
}

/// The sender thread: hand each queued datagram to the socket; until the
/// transport closes the queue.
fn run_sender(socket: &UdpSocket, queue: &Receiver<Outgoing>, counters: &TransportCounters) {
    for outgoing in queue {
        // Counted before the call, so that a peer holding the datagram
        // already sees it counted here.
        count(&counters.sent);
        match socket.send_to(&outgoing.bytes, outgoing.address) {
            Ok(_) => {}
            Err(error) => {
                count(&counters.send_errors);
                debug!("udp send to {}: {error}", outgoing.address);
            }
        }
    }
}

/// The error for an own index outside the peer list.
fn not_a_peer(me: usize, peers: usize) -> io::Error {
    let message = format!("this node is peer {me}, but there are {peers} peers");
    io::Error::new(io::ErrorKind::InvalidInput, message)
}

/// Whether a receive error only means "nothing arrived in time".
fn is_timeout(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}
