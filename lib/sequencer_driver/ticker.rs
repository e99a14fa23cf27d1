//! The ticker thread ("sequencer-tick"): puts a `Tick` on the core's inbox
//! every tick interval. Time reaches the protocol only this way, so the
//! core stays a pure function of its inputs.

use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::{select, tick, Receiver, Sender, TrySendError};

use super::events::CoreEvent;
use super::progress::{count, Progress};

/// The thread's body, until `stop` disconnects or the core is gone. A tick
/// that finds the inbox full is dropped: the core is busy, and the next
/// tick comes soon enough (the protocol's timers count ticks, so a busy
/// member's timers merely run a little slow).
pub(super) fn run_ticker<R>(
    interval: Duration,
    inbox: Sender<CoreEvent<R>>,
    stop: Receiver<()>,
    progress: Arc<Progress>,
) {
    let ticks = tick(interval);
    loop {
        select! {
            recv(ticks) -> _ => match inbox.try_send(CoreEvent::Tick) {
                Ok(()) => {}
                Err(TrySendError::Full(_)) => count(&progress.inbox_full_drops),
                Err(TrySendError::Disconnected(_)) => return,
            },
            recv(stop) -> _ => return,
        }
    }
}
