//! The ticker thread ("sequencer-tick"): puts a `Tick` on the core's inbox
//! every tick interval. Time reaches the protocol only this way, so the
//! core stays a pure function of its inputs.
//!
//! At most one `Tick` waits in the inbox. A core held up (a disk flush can
//! take hundreds of ms; docs/EVALUATION.md, finding 6) would otherwise find
//! a pile of ticks when it resumes and fire every timer they add up to at
//! once: Retransmit requests for messages that are merely queued behind
//! them. Its timers run slow instead, which the protocol tolerates.

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
            recv(ticks) -> _ => {
                if !progress.queue_tick() {
                    continue;
                }
                match inbox.try_send(CoreEvent::Tick) {
                    Ok(()) => {}
                    Err(TrySendError::Full(_)) => {
                        progress.tick_taken();
                        count(&progress.inbox_full_drops);
                    }
                    Err(TrySendError::Disconnected(_)) => return,
                }
            }
            recv(stop) -> _ => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::thread;
    use std::time::Instant;

    use crossbeam_channel::bounded;

    use super::*;
    use crate::sequencer::GlobalSeq;

    #[test]
    fn at_most_one_tick_waits_for_a_busy_core() {
        let (inbox, core) = bounded::<CoreEvent<()>>(64);
        let (stop, stopped) = bounded::<()>(0);
        let progress = Arc::new(Progress::new(GlobalSeq(0)));
        let ticker_progress = Arc::clone(&progress);
        let ticker = thread::spawn(move || {
            run_ticker(Duration::from_millis(1), inbox, stopped, ticker_progress)
        });
        let first = core.recv_timeout(Duration::from_secs(5)).expect("a tick");
        assert!(matches!(first, CoreEvent::Tick));
        // The core "is busy": it has not said it took the tick. Twenty
        // intervals later the inbox is still empty.
        let busy_until = Instant::now() + Duration::from_millis(20);
        while Instant::now() < busy_until {
            assert!(core.is_empty(), "a second tick while one waits");
            thread::sleep(Duration::from_millis(1));
        }
        progress.tick_taken();
        let next = core
            .recv_timeout(Duration::from_secs(5))
            .expect("the next tick");
        assert!(matches!(next, CoreEvent::Tick));
        drop(stop);
        ticker.join().expect("the ticker stops");
    }
}
