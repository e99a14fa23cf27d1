//! [`Threads`]: a replicator's named threads and the one stop signal they
//! all watch: a channel that never carries a message and disconnects when
//! its sender is dropped, which wakes every `select!` waiting on it at once.

use std::thread::{self, JoinHandle};

use crossbeam_channel::{bounded, Receiver, Sender};
use log::error;

use super::errors::{DriverError, RestoreError};

/// The running threads of one replicator.
pub struct Threads {
    /// Dropped to stop: never sent on.
    stop: Option<Sender<()>>,
    handles: Vec<JoinHandle<()>>,
}

impl Threads {
    /// No threads yet, and the receiving end of the stop signal for them.
    pub fn new() -> (Threads, Receiver<()>) {
        let (stop, stopped) = bounded(0);
        let threads = Threads {
            stop: Some(stop),
            handles: Vec::new(),
        };
        (threads, stopped)
    }

    /// Starts thread `name` running `body`. The name says the thread's one
    /// job and its protocol ("raft-apply", "sequencer-core"): it is what a
    /// debugger, `top -H` and a panic message show.
    pub fn spawn<E: RestoreError>(
        &mut self,
        name: &str,
        body: impl FnOnce() + Send + 'static,
    ) -> Result<(), DriverError<E>> {
        let handle = thread::Builder::new()
            .name(name.to_string())
            .spawn(body)
            .map_err(DriverError::io(format!("start the {name} thread")))?;
        self.handles.push(handle);
        Ok(())
    }

    /// Signals stop and waits for every thread to end, in the order they
    /// were started.
    pub fn stop_and_join(&mut self) {
        drop(self.stop.take());
        for handle in self.handles.drain(..) {
            let name = handle.thread().name().unwrap_or("?").to_string();
            if handle.join().is_err() {
                error!("replication driver: the {name} thread panicked");
            }
        }
    }
}

impl Drop for Threads {
    fn drop(&mut self) {
        // Not while unwinding: joining a thread that panicked too would
        // only add a second report.
        if !thread::panicking() {
            self.stop_and_join();
        }
    }
}
