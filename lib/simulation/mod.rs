//! What the seeded simulations of both cores share (tests only): one seeded
//! generator ([`SimRng`]) and one packet simulator ([`PacketSim`]), so that
//! the raft simulation (`lib/raft/tests/sim.rs`, through the cluster of
//! `harness.rs`) and the sequencer's (`lib/sequencer/tests/sim.rs`) lose,
//! duplicate, delay, reorder and cut their messages the same way.
//!
//! A seed replays one schedule with this code; schedules recorded before
//! the two simulations shared it (a failing seed quoted in an old commit
//! message or document) do not replay the same any more.

mod packets;
mod rng;

pub use packets::{Faults, PacketSim};
pub use rng::SimRng;
