//! marketplace: a replicated online marketplace, the reference
//! implementation of a classic distributed-systems course project.
//!
//! The crate map, from the domain outwards:
//! - [`market`]: the vocabulary (items, prices, carts, errors, limits).
//! - [`contract`]: the protobuf messages' shared vocabulary, the trait a
//!   database's request implements to have one, and the log encoding.
//! - [`product`], [`customer`]: the two databases' deterministic state
//!   machines, each with its protobuf form and its replication glue.
//! - [`raft`]: the Raft consensus core (pure).
//! - [`raft_driver`]: threads, UDP and storage around the Raft core.
//! - [`driver_kit`]: the plumbing both drivers share (replies, lifecycle,
//!   threads, ticker, apply queue, counters, errors).
//! - [`replication`]: the seam between a database service and its protocol.
//! - [`sequencer`]: the rotating-sequencer atomic broadcast core (pure).
//! - [`sequencer_driver`]: threads, UDP and storage around the sequencer core.
//! - [`rpc`]: gRPC between frontends and databases.
//! - [`rest`]: the seller and buyer REST frontends.
//! - [`soap`]: the card-approval service and its client.
//! - [`client`]: the line-oriented stdin clients.
//! - [`status`]: the cluster-status program.
//! - [`transport`]: UDP between replicas, with a fault switch.
//! - [`verdict`]: what a protocol core made of a peer's message (both cores).
//! - [`wire`]: the one byte reader and writer of the binary formats.
//! - [`wal`]: durable, checksummed storage: log, hard state, snapshots.
//! - [`bench`]: the evaluation: load, failure scenarios, report.
//! - [`config`]: the cluster file and shared flags.
//! - [`app`]: what each binary runs.
//! - `datadriven` (tests only): the runner of the cores' golden scenarios.
//! - `simulation` (tests only): the seeded generator and packet simulator
//!   both cores' simulations share.
//!
//! Every public item has a doc comment: the build refuses one without.

#![deny(missing_docs)]

pub mod app;
pub mod bench;
pub mod chaos;
pub mod client;
pub mod config;
pub mod contract;
pub mod customer;
#[cfg(test)]
pub(crate) mod datadriven;
pub mod driver_kit;
pub mod market;
pub mod product;
pub mod raft;
pub mod raft_driver;
pub mod replication;
pub mod rest;
pub mod rpc;
pub mod sequencer;
pub mod sequencer_driver;
#[cfg(test)]
pub(crate) mod simulation;
pub mod soap;
pub mod status;
pub mod transport;
pub mod verdict;
pub mod wal;
pub mod wire;

/// Code generated from proto/marketplace.proto by build.rs.
#[allow(warnings, clippy::all, missing_docs)]
pub mod pb {
    include!(concat!(env!("OUT_DIR"), "/mod.rs"));
}
