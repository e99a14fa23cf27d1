//! The customer DB's time: one clock the replicas agree on, which a single
//! replica's bad clock cannot move.
//!
//! Each request carries the wall-clock reading of the replica that received
//! it (`now_ms`) and that replica's index (`read_by`). The state keeps every
//! replica's latest reading; its time is the **lower median** of them (of
//! five readings the third highest), and never goes back. So:
//!
//! - a replica whose clock runs ahead, by any amount, moves the time only as
//!   far as the median: it cannot end sessions early (with five replicas,
//!   two bad clocks in either direction are outvoted);
//! - a replica whose clock runs behind holds nothing back while a majority
//!   reads a correct clock.
//!
//! The median moves only if most replicas keep reading their clocks into the
//! log, including those no client talks to: each replica puts a
//! `ClockReading` into the log when it has put nothing there for
//! `CLOCK_READING_EVERY` (`stamp.rs`, `start_clock_readings`). The agreed time
//! then trails the true time by about that much, which is the grain of
//! session expiry.
//!
//! Requests from before this rule (no `read_by`) count as the readings of
//! one extra, unnamed replica.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How long a replica lets pass without putting a clock reading into the
/// log. Bounds how far the agreed time trails the true one.
pub const CLOCK_READING_EVERY: Duration = Duration::from_secs(1);

/// The key under which readings of unknown origin (older logs) are kept.
const UNNAMED_REPLICA: u16 = u16::MAX;

/// Every replica's latest clock reading, and the time they agree on.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct AgreedClock {
    /// The latest reading of each replica that has read one, in ms since
    /// the epoch. A reading never replaces a later one.
    latest: BTreeMap<u16, u64>,
    /// The agreed time: the lower median of `latest`, never going back.
    now_ms: u64,
}

impl AgreedClock {
    /// The agreed time now (ms since the epoch; 0 before any reading).
    pub(super) fn now_ms(&self) -> u64 {
        self.now_ms
    }

    /// Takes `reading_ms` from replica `read_by` and returns the agreed time.
    pub(super) fn observe(&mut self, read_by: Option<u16>, reading_ms: u64) -> u64 {
        let latest = self
            .latest
            .entry(read_by.unwrap_or(UNNAMED_REPLICA))
            .or_insert(reading_ms);
        *latest = (*latest).max(reading_ms);
        let mut readings: Vec<u64> = self.latest.values().copied().collect();
        readings.sort_unstable();
        let lower_median = readings[(readings.len() - 1) / 2];
        self.now_ms = self.now_ms.max(lower_median);
        self.now_ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR_MS: u64 = 3_600_000;

    #[test]
    fn one_clock_ahead_does_not_move_the_time() {
        let mut clock = AgreedClock::default();
        for replica in 0..5 {
            clock.observe(Some(replica), 1_000);
        }
        assert_eq!(clock.observe(Some(3), 1_000 + HOUR_MS), 1_000);
        assert_eq!(
            clock.observe(Some(4), 2_000 + HOUR_MS),
            1_000,
            "a second one neither"
        );
        assert_eq!(
            clock.observe(Some(0), 1_500),
            1_500,
            "the third clock decides"
        );
        assert_eq!(clock.observe(Some(1), 1_600), 1_600);
    }

    #[test]
    fn one_clock_behind_holds_nothing_back() {
        let mut clock = AgreedClock::default();
        clock.observe(Some(0), 10);
        for replica in 1..5 {
            clock.observe(Some(replica), 5_000);
        }
        assert_eq!(clock.observe(Some(2), 6_000), 5_000);
        assert_eq!(clock.observe(Some(1), 6_000), 5_000);
        assert_eq!(clock.observe(Some(3), 6_000), 6_000);
    }

    #[test]
    fn the_time_never_goes_back() {
        let mut clock = AgreedClock::default();
        assert_eq!(clock.observe(Some(0), 9_000), 9_000, "the only reading");
        assert_eq!(
            clock.observe(Some(1), 2_000),
            9_000,
            "lower median is lower, time stays"
        );
        assert_eq!(
            clock.observe(Some(1), 1_000),
            9_000,
            "a reading never goes back either"
        );
        assert_eq!(clock.observe(None, 12_000), 9_000);
        assert_eq!(clock.observe(Some(1), 10_000), 10_000);
    }
}
