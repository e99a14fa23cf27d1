//! A running replica's start and stop, the same for both drivers: binding
//! its UDP socket, starting the transport over it, and [`RunningCell`],
//! what a stop takes down and in which order.

use std::net::{SocketAddr, UdpSocket};
use std::sync::{Arc, Mutex, MutexGuard};

use log::info;

use crate::transport::{Receiving, TransportStats, UdpTransport};

use super::errors::{DriverError, RestoreError};
use super::lifecycle::LifecycleCell;
use super::options::ReplicaOptions;
use super::threads::Threads;

/// Binds the replica's own address.
///
/// # Errors
/// The socket cannot be bound (the message names the address and, for a
/// port in use, says so).
pub fn bind_socket<E: RestoreError>(replica: &ReplicaOptions) -> Result<UdpSocket, DriverError<E>> {
    let address = replica.own_address().bind_address();
    UdpSocket::bind(address)
        .map_err(|error| crate::config::bind_error("UDP", address, error))
        .map_err(DriverError::io(format!("bind {address}")))
}

/// Starts the replica's UDP transport over `socket`.
///
/// # Errors
/// The transport's threads cannot be started.
pub fn start_transport<E: RestoreError>(
    socket: UdpSocket,
    replica: &ReplicaOptions,
    receiving: Receiving,
) -> Result<Arc<UdpTransport>, DriverError<E>> {
    let (index, peers, faults) = (replica.index, replica.peers.clone(), replica.faults.clone());
    let transport = UdpTransport::from_socket_receiving(socket, index, peers, faults, receiving)
        .map_err(DriverError::io("start the UDP transport"))?;
    Ok(Arc::new(transport))
}

/// Logs that the replica runs `protocol`, and where: its name's binding if
/// it has a DNS name, else the address it got.
pub fn log_started(protocol: &str, replica: &ReplicaOptions, bound: SocketAddr) {
    let own = replica.own_address();
    let index = replica.index;
    let bound = match own.name() {
        Some(_) => own.describe_binding(),
        None => bound.to_string(),
    };
    info!("{protocol} {index}: started on {bound}");
}

/// What a stop takes down: the threads, the transport, and whatever the
/// driver holds besides (`held`), which goes first.
pub struct Running<X> {
    /// The driver's threads.
    pub threads: Threads,
    /// The UDP transport (its own threads and the socket).
    pub transport: Arc<UdpTransport>,
    /// The driver's own handles, dropped before the threads are joined (a
    /// sender the apply thread must see disconnect, say).
    pub held: X,
}

/// The running replica, until a stop takes it.
pub struct RunningCell<X> {
    running: Mutex<Option<Running<X>>>,
}

impl<X> RunningCell<X> {
    /// Holds the started `threads`, `transport` and the driver's `held`
    /// handles until a stop.
    pub fn new(threads: Threads, transport: Arc<UdpTransport>, held: X) -> RunningCell<X> {
        let running = Running {
            threads,
            transport,
            held,
        };
        RunningCell {
            running: Mutex::new(Some(running)),
        }
    }

    /// Reads the running handles, or `None` once stopped.
    pub fn with<T>(&self, read: impl FnOnce(&Running<X>) -> T) -> Option<T> {
        self.lock().as_ref().map(read)
    }

    /// The transport's counters while it runs.
    pub fn transport_stats(&self) -> Option<TransportStats> {
        self.with(|running| running.transport.stats())
    }

    /// Stops the replica `who` ("raft 2"), once: the lifecycle moves to
    /// `Stopping`, the threads are told to stop and joined, the transport
    /// closes, and the lifecycle moves to `Stopped`. A crash tells the
    /// threads to stop where they are. False if it was stopped already.
    pub fn stop(&self, lifecycle: &LifecycleCell, crash: bool, who: &str) -> bool {
        let Some(running) = self.lock().take() else {
            return false;
        };
        lifecycle.begin_stop(crash);
        let Running {
            mut threads,
            transport,
            held,
        } = running;
        drop(held);
        threads.stop_and_join();
        // The last handle: dropping it joins the UDP threads and closes the
        // socket, so that a restart may bind the same address at once.
        drop(transport);
        lifecycle.set_stopped();
        info!("{who}: stopped");
        true
    }

    fn lock(&self) -> MutexGuard<'_, Option<Running<X>>> {
        // Held only to take or read the handles; a panic there leaves them whole.
        self.running
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
