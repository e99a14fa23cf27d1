//! [`warn_if_refused`]: how both drivers report a peer message their core
//! refused because it contradicts what the core holds. The core counts it
//! (`contradictions` in its status, and so in the driver's status and
//! cluster-status) and logs it only at debug level; the driver says it
//! once at warn level, since no correct peer sends such a message: a peer
//! has a bug, or a datagram was corrupted past its checksum or replayed.

use std::fmt::Display;

use log::warn;

use crate::verdict::Verdict;

/// Logs a refused message at warn level, naming the core and the sender;
/// does nothing for a handled or ignored one.
pub fn warn_if_refused(core: &str, from: impl Display, verdict: &Verdict) {
    if let Verdict::Refused(why) = verdict {
        warn!("{core}: refused a message from {from} that contradicts what it holds: {why}");
    }
}
