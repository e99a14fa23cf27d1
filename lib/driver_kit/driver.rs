//! [`Driver`]: the life every replication driver offers its owner (a
//! database binary, a test): start on the replica's own address or on a
//! socket bound already, stop cleanly, or stop as a crash would.

use std::net::UdpSocket;
use std::sync::Arc;

use crate::transport::{Receiving, UdpTransport};

use super::errors::DriverError;
use super::options::DriverOptions;
use super::running::{bind_socket, log_started, start_transport};

/// Why a driver `D` could not start.
pub type StartError<D> = DriverError<<<D as Driver>::Options as DriverOptions>::Restore>;

/// A replica run by a driver, from its start to its stop.
pub trait Driver: Sized {
    /// The state machine it replicates.
    type State;
    /// The driver's options.
    type Options: DriverOptions;
    /// What the driver's recovery reads back from the data directory: the
    /// protocol core, the state machine and the storage they run over.
    type Recovered;

    /// Who reads the transport's socket: a receiver thread, or the
    /// driver's own core thread.
    const RECEIVING: Receiving;

    /// Reads back the data directory (creating it on a first start), or
    /// starts from `initial_state` when it holds nothing.
    ///
    /// # Errors
    /// A data directory that does not recover.
    fn recover(
        options: &Self::Options,
        initial_state: Self::State,
    ) -> Result<Self::Recovered, StartError<Self>>;

    /// Starts the driver's threads over `transport`, from what `recover`
    /// read back.
    ///
    /// # Errors
    /// A thread that cannot be had.
    fn start_threads(
        options: &Self::Options,
        recovered: Self::Recovered,
        transport: Arc<UdpTransport>,
    ) -> Result<Self, StartError<Self>>;

    /// Starts over a socket bound already (tests bind port 0 first and
    /// build the peer list from the ports they got): checks the options,
    /// recovers, and only then starts the transport and the threads, so
    /// that a replica that cannot recover sends nothing.
    ///
    /// # Errors
    /// Bad options, a data directory that does not recover, a thread that
    /// cannot be had.
    fn start_on(
        socket: UdpSocket,
        options: Self::Options,
        initial_state: Self::State,
    ) -> Result<Self, StartError<Self>> {
        options.validate()?;
        let recovered = Self::recover(&options, initial_state)?;
        let transport = start_transport(socket, options.replica(), Self::RECEIVING)?;
        let bound = transport.local_addr();
        let driver = Self::start_threads(&options, recovered, transport)?;
        log_started(Self::Options::PROTOCOL, options.replica(), bound);
        Ok(driver)
    }

    /// Binds the replica's own address in the peer list, then starts as
    /// [`Driver::start_on`] does.
    ///
    /// # Errors
    /// As for `start_on`, and a socket that cannot be bound.
    fn start(options: Self::Options, initial_state: Self::State) -> Result<Self, StartError<Self>> {
        options.validate()?;
        let socket = bind_socket(options.replica())?;
        Self::start_on(socket, options, initial_state)
    }

    /// Stops the threads and closes the socket, once; `crash` stops them
    /// wherever they are. The driver says what a clean stop finishes.
    fn stop(&self, crash: bool);

    /// Stops cleanly: everything handed to the apply thread is applied, a
    /// last snapshot is written, every request still waiting is answered
    /// `Unavailable`, and the threads and the socket are gone when it
    /// returns. Everything the protocol acknowledged was fsynced before, so
    /// a restart from the data directory loses nothing.
    fn shutdown(&self) {
        self.stop(false);
    }

    /// Stops as `kill -9` would, for tests: the threads stop wherever they
    /// are, with no last apply and no last snapshot. Writes already made
    /// stay (a killed process keeps its page cache); give the options a
    /// `wal::FaultyFileSystem` and crash it first to cut the disk off too.
    fn crash(&self) {
        self.stop(true);
    }
}
