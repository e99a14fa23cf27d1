//! `FaultSwitch`: deliberate packet loss and partitions, for tests and for
//! running the cluster on a network worse than loopback.
//!
//! The switch drops a share of outgoing and/or incoming datagrams and can cut
//! chosen peers off in both directions. It is a handle (`Clone`, an `Arc`
//! inside) over atomics, so a test or an admin command can change it from any
//! thread while the transport runs, and the next datagram obeys.
//!
//! Drops are drawn from SplitMix64 (Steele, Lea and Flood, 2014) over one
//! atomic counter: no lock on the packet path, and one seed gives one
//! sequence of decisions, so a test that sends from one thread sees the same
//! drops on every run. A probability of exactly 0 or 1 draws nothing.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::fault_settings::{FaultSettings, FaultSettingsError};

/// The most peers a switch can cut: one bit each in a `u64`.
pub const PEERS_MAX: usize = 64;

/// The SplitMix64 increment (2^64 divided by the golden ratio).
const GOLDEN_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// A shared, run-time adjustable packet-loss and partition filter.
#[derive(Clone, Debug)]
pub struct FaultSwitch {
    state: Arc<FaultState>,
}

#[derive(Debug)]
struct FaultState {
    /// The drop probability of outgoing datagrams, as `f64` bits.
    drop_outgoing: AtomicU64,
    /// The drop probability of incoming datagrams, as `f64` bits.
    drop_incoming: AtomicU64,
    /// Bit `p` set: peer `p` is cut off.
    cut_peers: AtomicU64,
    /// The SplitMix64 state.
    random: AtomicU64,
}

impl Default for FaultSwitch {
    fn default() -> FaultSwitch {
        FaultSwitch::new()
    }
}

impl FaultSwitch {
    /// A switch with no faults, seeded at random.
    pub fn new() -> FaultSwitch {
        FaultSwitch::with_seed(rand::random())
    }

    /// A switch with no faults whose drops follow `seed`.
    pub fn with_seed(seed: u64) -> FaultSwitch {
        let state = FaultState {
            drop_outgoing: AtomicU64::new(0f64.to_bits()),
            drop_incoming: AtomicU64::new(0f64.to_bits()),
            cut_peers: AtomicU64::new(0),
            random: AtomicU64::new(seed),
        };
        FaultSwitch {
            state: Arc::new(state),
        }
    }

    /// A switch set as `settings` say (seeded at random if they name no seed).
    pub fn from_settings(settings: &FaultSettings) -> Result<FaultSwitch, FaultSettingsError> {
        let switch = FaultSwitch::new();
        switch.apply(settings)?;
        Ok(switch)
    }

    /// Replaces every setting with `settings` (and reseeds if they name a
    /// seed). Invalid settings change nothing.
    pub fn apply(&self, settings: &FaultSettings) -> Result<(), FaultSettingsError> {
        settings.validate()?;
        self.set_drop_outgoing(settings.drop_outgoing_probability);
        self.set_drop_incoming(settings.drop_incoming_probability);
        let cut = settings
            .cut_peers
            .iter()
            .fold(0u64, |bits, &peer| bits | 1 << peer);
        self.state.cut_peers.store(cut, Ordering::Release);
        if let Some(seed) = settings.seed {
            self.state.random.store(seed, Ordering::Release);
        }
        Ok(())
    }

    /// The current settings (without a seed: the sequence has moved on).
    pub fn settings(&self) -> FaultSettings {
        let cut = self.state.cut_peers.load(Ordering::Acquire);
        FaultSettings {
            drop_outgoing_probability: load_probability(&self.state.drop_outgoing),
            drop_incoming_probability: load_probability(&self.state.drop_incoming),
            cut_peers: (0..PEERS_MAX)
                .filter(|peer| cut & (1 << peer) != 0)
                .collect(),
            seed: None,
        }
    }

    /// Drops each outgoing datagram with `probability`.
    ///
    /// # Panics
    /// If `probability` is not within 0..=1 (settings from a file go through
    /// `FaultSettings::validate` instead).
    pub fn set_drop_outgoing(&self, probability: f64) {
        assert!(
            (0.0..=1.0).contains(&probability),
            "drop probability {probability}"
        );
        self.state
            .drop_outgoing
            .store(probability.to_bits(), Ordering::Release);
    }

    /// Drops each incoming datagram with `probability`.
    ///
    /// # Panics
    /// If `probability` is not within 0..=1.
    pub fn set_drop_incoming(&self, probability: f64) {
        assert!(
            (0.0..=1.0).contains(&probability),
            "drop probability {probability}"
        );
        self.state
            .drop_incoming
            .store(probability.to_bits(), Ordering::Release);
    }

    /// Cuts `peer` off: nothing is sent to it or accepted from it.
    ///
    /// # Panics
    /// If `peer >= PEERS_MAX`.
    pub fn cut(&self, peer: usize) {
        self.state
            .cut_peers
            .fetch_or(peer_bit(peer), Ordering::AcqRel);
    }

    /// Reconnects `peer`.
    ///
    /// # Panics
    /// If `peer >= PEERS_MAX`.
    pub fn heal(&self, peer: usize) {
        self.state
            .cut_peers
            .fetch_and(!peer_bit(peer), Ordering::AcqRel);
    }

    /// Removes every fault: no drops, no cuts.
    pub fn clear(&self) {
        self.set_drop_outgoing(0.0);
        self.set_drop_incoming(0.0);
        self.state.cut_peers.store(0, Ordering::Release);
    }

    /// Whether `peer` is cut off.
    pub fn is_cut(&self, peer: usize) -> bool {
        peer < PEERS_MAX && self.state.cut_peers.load(Ordering::Acquire) & (1 << peer) != 0
    }

    /// Decides whether to drop a datagram about to be sent to `peer`.
    pub fn should_drop_outgoing(&self, peer: usize) -> bool {
        self.is_cut(peer) || self.draw(load_probability(&self.state.drop_outgoing))
    }

    /// Decides whether to drop a datagram that arrived from `peer`.
    pub fn should_drop_incoming(&self, peer: usize) -> bool {
        self.is_cut(peer) || self.draw(load_probability(&self.state.drop_incoming))
    }

    /// True with `probability`.
    fn draw(&self, probability: f64) -> bool {
        if probability <= 0.0 {
            return false;
        }
        if probability >= 1.0 {
            return true;
        }
        // The top 53 bits make a uniform f64 in [0, 1).
        let unit = (self.next_random() >> 11) as f64 / (1u64 << 53) as f64;
        unit < probability
    }

    /// The next SplitMix64 output.
    fn next_random(&self) -> u64 {
        let state = self.state.random.fetch_add(GOLDEN_GAMMA, Ordering::Relaxed);
        let mut z = state.wrapping_add(GOLDEN_GAMMA);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

fn load_probability(bits: &AtomicU64) -> f64 {
    f64::from_bits(bits.load(Ordering::Acquire))
}

fn peer_bit(peer: usize) -> u64 {
    assert!(
        peer < PEERS_MAX,
        "peer {peer} out of range (at most {PEERS_MAX} peers)"
    );
    1 << peer
}
