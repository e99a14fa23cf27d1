//! The "raft-ticker" thread: puts a `Tick` into the core's inbox every
//! tick. The core never reads a clock; every Raft timeout counts these.
//!
//! It may call: the core inbox (`try_send` only). A tick that finds the
//! inbox full is dropped and counted: the core is busy, and the next tick
//! comes anyway (Raft's timeouts only need to be roughly right, and a
//! late election is safe).

use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::{select, tick, Receiver, Sender, TrySendError};

use crate::replication::StateMachine;

use super::events::CoreEvent;
use super::status::{count, SharedStatus};

/// Ticks until `stop` disconnects or the core is gone.
pub fn run_ticker<S: StateMachine>(
    period: Duration,
    core_inbox: Sender<CoreEvent<S>>,
    stop: Receiver<()>,
    status: Arc<SharedStatus>,
) {
    // crossbeam's ticker keeps a fixed schedule: a late tick does not push
    // the later ones back, so time does not drift under load.
    let ticks = tick(period);
    loop {
        select! {
            recv(stop) -> _ => return,
            recv(ticks) -> _ => match core_inbox.try_send(CoreEvent::Tick) {
                Ok(()) => {}
                Err(TrySendError::Full(_)) => count(&status.counters.ticks_dropped, 1),
                Err(TrySendError::Disconnected(_)) => return,
            },
        }
    }
}
