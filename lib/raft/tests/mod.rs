//! Tests of the raft core that span several nodes: the cases of the Raft
//! paper (`paper.rs`, and the multi-step ones as golden traces in
//! `testdata/`, run by `scripts.rs`) and of lease reads (`lease.rs`), the
//! seeded simulator
//! (`sim.rs`), the codec fuzzing (`codec.rs`) and a minimal driver written
//! out (`driver.rs`).
//! `harness.rs` holds the in-memory cluster they share and `checker.rs` the
//! safety properties checked after every step.

mod checker;
mod codec;
mod driver;
mod fuzz;
mod harness;
mod lease;
mod limits;
mod paper;
mod scripts;
mod sim;
