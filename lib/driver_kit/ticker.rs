//! The Raft driver's ticker (a thread of its own): it puts a tick event on
//! the protocol core's inbox every interval. (The sequencer's core keeps its
//! own deadline, `sequencer_driver/tick_deadline.rs`, and drops missed ticks
//! the same way.) Time reaches a protocol
//! core only this way, so the core stays a pure function of its inputs.
//!
//! **At most one tick waits in the inbox** ([`TickGate`]). A core held up
//! (a disk flush can take hundreds of ms; docs/EVALUATION.md, finding 6)
//! would otherwise find a pile of ticks when it resumes, and fire every
//! timer they add up to at once: a Raft follower would start an election
//! before it reads the heartbeats queued behind the ticks, a sequencer
//! member would ask again for messages that are merely queued. Its timers
//! run slow instead, which both protocols tolerate (a late timeout is safe).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::{select, tick, Receiver, TrySendError};

use super::core_wake::CoreInbox;

/// Whether a tick waits in the core's inbox: the ticker sets it when it
/// queues one, the core clears it when it takes one.
#[derive(Debug, Default)]
pub struct TickGate {
    queued: AtomicBool,
}

impl TickGate {
    /// No tick waiting.
    pub fn new() -> TickGate {
        TickGate::default()
    }

    /// Claims the one place for a tick; false if a tick already waits.
    pub fn try_queue(&self) -> bool {
        !self.queued.swap(true, Ordering::AcqRel)
    }

    /// The core took the tick (or it never made it into the inbox).
    pub fn taken(&self) {
        self.queued.store(false, Ordering::Release);
    }
}

/// What a ticker needs: where ticks go, how to make one, the gate, and the
/// counter of ticks dropped because the inbox was full.
pub struct Ticker<E> {
    /// The tick interval.
    pub interval: Duration,
    /// The core's inbox (a tick rings its doorbell).
    pub(crate) inbox: CoreInbox<E>,
    /// Makes the tick event.
    pub tick: fn() -> E,
    /// At most one tick waiting.
    pub gate: Arc<TickGate>,
    /// Counts ticks that found the inbox full (the core is overloaded).
    pub dropped: Arc<AtomicU64>,
}

impl<E> Ticker<E> {
    /// The thread's body, until `stop` disconnects or the core is gone.
    /// crossbeam's ticker, as `select!` takes it, schedules the next tick
    /// one interval after it took this one: ticks come at least an interval
    /// apart, and a late one pushes the later ones back (the schedule slips;
    /// it never bunches). Raft's lease reads count on that spacing at the
    /// followers (docs/RAFT.md §7.1).
    pub fn run(self, stop: Receiver<()>) {
        let ticks = tick(self.interval);
        loop {
            select! {
                recv(ticks) -> _ => {
                    if !self.gate.try_queue() {
                        continue;
                    }
                    match self.inbox.try_send((self.tick)()) {
                        Ok(()) => {}
                        Err(TrySendError::Full(_)) => {
                            self.gate.taken();
                            self.dropped.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(TrySendError::Disconnected(_)) => return,
                    }
                }
                recv(stop) -> _ => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::thread;
    use std::time::Instant;

    use crossbeam_channel::bounded;

    use super::*;
    use crate::driver_kit::CoreWake;

    #[test]
    fn at_most_one_tick_waits_for_a_busy_core() {
        let (sender, core) = bounded::<()>(64);
        let wake = Arc::new(CoreWake::new().expect("an eventfd"));
        let inbox = CoreInbox::new(sender, wake);
        let (stop, stopped) = bounded::<()>(0);
        let gate = Arc::new(TickGate::new());
        let ticker = Ticker {
            interval: Duration::from_millis(1),
            inbox,
            tick: || (),
            gate: Arc::clone(&gate),
            dropped: Arc::new(AtomicU64::new(0)),
        };
        let thread = thread::spawn(move || ticker.run(stopped));
        core.recv_timeout(Duration::from_secs(5)).expect("a tick");
        // The core "is busy": it has not said it took the tick. Twenty
        // intervals later the inbox is still empty.
        let busy_until = Instant::now() + Duration::from_millis(20);
        while Instant::now() < busy_until {
            assert!(core.is_empty(), "a second tick while one waits");
            thread::sleep(Duration::from_millis(1));
        }
        gate.taken();
        core.recv_timeout(Duration::from_secs(5))
            .expect("the next tick");
        drop(stop);
        thread.join().expect("the ticker stops");
    }
}
