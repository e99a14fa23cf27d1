//! When the core next calls `Member::tick`. The core thread keeps the
//! deadline itself instead of taking ticks from a ticker thread: waiting
//! with a timeout costs nothing under load, where the loop is awake anyway,
//! and one wake-up a tick when idle, where a ticker costs two (its own and
//! the core's). Without it an idle customer DB burns about a tenth less
//! CPU and a loaded one makes 5-9% more calls per second
//! (docs/EVALUATION.md, session 13).

use std::time::{Duration, Instant};

/// The next tick's deadline, one `interval` after the last one.
#[derive(Clone, Copy, Debug)]
pub(super) struct TickDeadline {
    interval: Duration,
    next: Instant,
}

impl TickDeadline {
    /// The first tick falls due one `interval` after `now`.
    pub(super) fn new(interval: Duration, now: Instant) -> TickDeadline {
        TickDeadline {
            interval,
            next: now + interval,
        }
    }

    /// How long an idle loop may wait before the tick falls due (zero once
    /// it has).
    pub(super) fn wait(&self, now: Instant) -> Duration {
        self.next.saturating_duration_since(now)
    }

    /// Whether a tick is due at `now`; if so it counts as taken. Ticks a
    /// busy loop missed are dropped, not made up in a burst: the next one
    /// falls due one interval later, or one interval after `now` if the
    /// loop is further behind than that.
    pub(super) fn is_due(&mut self, now: Instant) -> bool {
        if now < self.next {
            return false;
        }
        self.next += self.interval;
        if self.next <= now {
            self.next = now + self.interval;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TICK: Duration = Duration::from_millis(5);

    #[test]
    fn a_tick_falls_due_each_interval_and_is_taken_once() {
        let start = Instant::now();
        let mut deadline = TickDeadline::new(TICK, start);
        assert!(!deadline.is_due(start));
        assert_eq!(deadline.wait(start), TICK);
        assert!(deadline.is_due(start + TICK));
        assert!(!deadline.is_due(start + TICK), "taken once");
        // Slightly late: the rhythm stays, the next is due at 2 ticks.
        assert!(deadline.is_due(start + TICK * 2 + Duration::from_millis(1)));
        assert_eq!(deadline.next, start + TICK * 3);
    }

    #[test]
    fn a_loop_far_behind_gets_one_tick_not_a_burst() {
        let start = Instant::now();
        let mut deadline = TickDeadline::new(TICK, start);
        let late = start + TICK * 10;
        assert!(deadline.is_due(late));
        assert!(!deadline.is_due(late), "the missed ticks are dropped");
        assert_eq!(deadline.wait(late), TICK);
        assert_eq!(deadline.wait(late + TICK * 2), Duration::ZERO);
    }
}
