//! The Raft consensus core: a pure, deterministic state machine that
//! replicates a log across a fixed cluster of nodes (Ongaro and Ousterhout,
//! "In Search of an Understandable Consensus Algorithm", and Ongaro's thesis).
//!
//! The core owns no socket, file, thread or clock. It takes four kinds of
//! input and returns what should happen as a [`Ready`]:
//!
//! * [`RaftNode::step`]: a message from another node;
//! * [`RaftNode::tick`]: one unit of time (the driver calls it at a fixed
//!   period; election timeouts and heartbeats are counted in ticks);
//! * [`RaftNode::propose`] and [`RaftNode::read_index`]: client requests.
//!
//! Because the core is deterministic (its only randomness comes from a
//! seeded `StdRng`), the same inputs always give the same outputs. The tests
//! in `tests/` exploit that: a simulator drives five cores through thousands
//! of seeded schedules of loss, duplication, reordering, partitions and
//! crashes, and checks the safety properties after every step.
//!
//! # The Ready loop
//!
//! A driver runs one loop per node, on one thread:
//!
//! ```text
//! loop {
//!     select! { message => node.step(message),        // from the UDP receiver
//!               tick    => node.tick(),                // from a ticker
//!               request => node.propose(..) / node.read_index(..) }
//!     while node.has_ready() {
//!         let ready = node.ready();
//!         1. send ready.messages_now
//!         2. write ready.snapshot_to_persist, ready.entries_to_persist,
//!            ready.hard_state (in that order), then fsync once
//!         3. send ready.messages_after_persist
//!         4. load the snapshot into the state machine; apply
//!            ready.committed_entries in order
//!         5. answer ready.read_states once applied up to their index
//!         node.advance();
//!     }
//! }
//! ```
//!
//! Why this order:
//! 1. A leader's appends and heartbeats may leave before its own write:
//!    the leader counts itself towards a majority only once `advance` tells it
//!    the entries are on its disk, so sending early is safe and saves a disk
//!    latency (thesis §10.2.1).
//! 2. Entries before the hard state: a torn write then loses a commit index
//!    at worst, never leaves a commit index pointing past the entries.
//! 3. A vote or an append acknowledgement is a promise about the disk; sent
//!    before the fsync, a crash could break it and elect two leaders in a
//!    term or lose a committed entry (Figure 2, "before responding to RPCs").
//! 4. `committed_entries` only ever holds entries already on this node's
//!    disk, so a node never applies what a crash could take back.
//! 5. A read is linearizable once the state machine has caught up to the
//!    index at which the leader confirmed its leadership.
//!
//! Between `ready()` and `advance()` the node must not be stepped, ticked or
//! given requests; it panics if it is. Inputs that arrive meanwhile wait in
//! the driver's channel and form the next batch, which is how many
//! proposals come to share one fsync.
//!
//! On restart, the driver reads back the hard state, the latest snapshot and
//! the entries after it and calls [`RaftNode::restore`]. When the state
//! machine has saved a snapshot, the driver calls [`RaftNode::compact`] so
//! that the log forgets the entries it covers; a follower that needs them
//! gets the snapshot over InstallSnapshot instead.
//!
//! # Files
//!
//! * `node.rs`: `RaftNode`, its entry points, the term rules, role changes.
//! * `election.rs`: votes, pre-votes and the election restriction.
//! * `replication.rs`: appends, commit, heartbeats, check-quorum, reads.
//! * `snapshot.rs`: InstallSnapshot in chunks, both sides.
//! * `ready.rs`: `Ready` and `advance`.
//! * `log.rs`: the in-memory log after the latest snapshot.
//! * `progress.rs`: the leader's view of each follower; flow control.
//! * `read_index.rs`: pending linearizable reads.
//! * `lease.rs`: the leader lease that answers reads without a round.
//! * `quorum.rs`: majority arithmetic.
//! * `message.rs`: messages, `describe()`, and the wire format.
//! * `config.rs`, `errors.rs`: settings and errors.
//! * `ids.rs`, `types.rs`: the ids (node, term, index, entry), other value types.
//! * `tests/`: the Raft paper's cases (`paper.rs`, and the multi-step ones
//!   as golden scenarios: `testdata/*.txt`, run by `scripts.rs`; see
//!   docs/RAFT.md, "Golden scenarios"), the seeded simulator
//!   (`sim.rs`, with `harness.rs` and `checker.rs`), the wire format
//!   (`codec.rs`), forged traffic (`fuzz.rs`) and a minimal driver written
//!   out (`driver.rs`).
//!
//! # What a driver must know
//!
//! * Messages: encode with [`Message::encode`], decode with
//!   [`Message::decode`] (the transport adds a checksum). Anything that
//!   fails to decode is dropped by the transport; anything that decodes is
//!   given to `step`, which answers with a [`Verdict`]: handled, ignored
//!   (stale or malformed) or refused (it contradicts what the node holds;
//!   log it at warn level). Both are counted in [`RaftStatus::counters`].
//! * Proposals: [`RaftNode::propose`] returns the new entry's [`EntryId`].
//!   The command is committed when `committed_entries` holds an entry with
//!   that id, and lost (retry it) if another entry shows up at its index.
//! * Reads: [`RaftNode::read_index`] with a context naming the request; the
//!   matching [`ReadState`] comes back in a later `Ready`. Reads queued when
//!   the node stops leading are dropped, so the driver times them out.
//! * Redirects: on a follower both calls fail with
//!   [`RaftError::NotLeader`], naming the leader if known.
//! * Time: call [`RaftNode::tick`] at a fixed period; every timeout in
//!   [`RaftConfig`] counts ticks. A driver that drops ticks while the node
//!   is held up (so that timers run slow, not in bursts) gives the node its
//!   clock with [`RaftNode::tick_at`] instead, and before every read with
//!   [`RaftNode::advance_clock`]: the leader lease of
//!   [`ReadMode::LeaseBased`] is measured on that clock, and must not run
//!   slow (docs/RAFT.md §7.1).

#![deny(missing_docs)]

pub mod config;
mod election;
pub mod errors;
pub mod ids;
mod lease;
pub mod log;
pub mod message;
pub mod node;
mod progress;
mod quorum;
mod read_index;
pub mod ready;
mod replication;
mod snapshot;
pub mod types;

#[cfg(test)]
mod tests;

pub use crate::verdict::Verdict;
pub use config::{RaftConfig, ReadMode, SNAPSHOT_BYTES_MAX_DEFAULT};
pub use errors::{DecodeError, RaftError};
pub use ids::{EntryId, LogIndex, NodeId, Term};
pub use message::{AppendOutcome, Body, Message, RejectHint};
pub use node::{RaftCounters, RaftNode, RaftStatus};
pub use ready::Ready;
pub use types::{Entry, EntryKind, HardState, ReadState, Role, Snapshot, SnapshotMeta};
