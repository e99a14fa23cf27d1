//! What every driver's options share: the tick's bounds and the rules about
//! who the replica is among its peers. Each driver's `options.rs` adds its
//! protocol's own knobs and rules.

use std::time::Duration;

/// The shortest tick accepted.
pub const TICK_MIN: Duration = Duration::from_millis(1);
/// The longest tick accepted.
pub const TICK_MAX: Duration = Duration::from_secs(1);

/// The rules every replica's options keep, each with the words that name it
/// when broken: `index` of `peers` replicas (at most `peers_max`), ticking
/// every `tick`, giving up on a reply after `reply_timeout`.
pub fn replica_rules(
    index: usize,
    peers: usize,
    peers_max: usize,
    tick: Duration,
    reply_timeout: Duration,
) -> [(bool, &'static str); 5] {
    [
        (peers > 0, "peers must not be empty"),
        (peers <= peers_max, "at most 64 peers"),
        (index < peers, "index must be below peers"),
        (
            (TICK_MIN..=TICK_MAX).contains(&tick),
            "tick must be within 1 ms..=1 s",
        ),
        (!reply_timeout.is_zero(), "reply_timeout must be > 0"),
    ]
}
