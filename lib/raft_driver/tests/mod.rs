//! Tests of the Raft driver.
//!
//! - `scenarios.rs`: five replicators in one process over loopback UDP,
//!   replicating a toy state machine (`toy.rs`) through `cluster.rs`:
//!   election, order, reads, loss, follower and leader crashes, snapshots,
//!   a full restart, a torn log tail.
//! - `snapshot_writer.rs`: snapshots written off the apply thread, and a
//!   crash in the middle of one.
//! - `parts.rs`: the codec, the pending tables, the datagram filter and
//!   recovery's repairs, without threads.
//!
//! Waits poll a condition against a deadline; nothing relies on a sleep
//! being long enough.

mod cluster;
mod parts;
mod scenarios;
mod snapshot_writer;
mod toy;
