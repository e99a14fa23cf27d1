//! Tests of the sequencer driver.
//!
//! - `scenarios.rs`: five replicators in one process over loopback UDP,
//!   replicating a toy state machine (`toy.rs`) through `cluster.rs`:
//!   total order, loss, crash and restart, full restart, state transfer,
//!   retries after a timeout.
//! - `latency.rs`: one submit's latency on loopback with real fsyncs.
//! - `codec.rs`, `transfer.rs`, `storage.rs`, `inbound.rs`, `catch_up.rs`,
//!   `status.rs`: the parts on their own, without threads where possible.
//!
//! Waits poll a condition against a deadline; nothing relies on a sleep
//! being long enough.

mod catch_up;
mod cluster;
mod codec;
mod inbound;
mod latency;
mod scenarios;
mod status;
mod storage;
mod toy;
mod transfer;
