//! How the driver threads count what they did and dropped: relaxed atomic
//! counters, each independent of the others, since a status reader only
//! needs a recent value of each and the hot loops must never wait for it.

use std::sync::atomic::{AtomicU64, Ordering};

/// Adds `amount` to `counter`.
pub fn count(counter: &AtomicU64, amount: u64) {
    counter.fetch_add(amount, Ordering::Relaxed);
}

/// The counter's recent value.
pub fn read(counter: &AtomicU64) -> u64 {
    counter.load(Ordering::Relaxed)
}
