//! Rotating-sequencer atomic broadcast (total-order broadcast), the pure core.
//!
//! This folder owns the protocol that replicates the customer DB: `n` members
//! (`0..n`) agree on one total order of client requests, so every replica
//! applies the same requests in the same order. It does no I/O: no sockets,
//! files, threads or clocks. Messages and ticks go in; messages to send,
//! records to persist and requests to deliver come out. The driver (UDP,
//! log files, timer, threads) lives elsewhere and calls the API below.
//!
//! # The protocol
//!
//! 1. **Request.** A member that takes a client request gives it the next
//!    number in its own stream, `local_seq` (1, 2, 3, ...), holds it, and
//!    sends `Request(sender, local_seq, payload)` to all.
//! 2. **Sequence.** Global number `k` (1, 2, 3, ...) is assigned by the
//!    member whose turn it is in the current view alone (member `k mod n`
//!    in view 0; see "Views" below), with `Sequence(k -> sender/local_seq)` to all, and only
//!    once it holds every Sequence below `k` and every Request those name, and
//!    the Request it names is the sender's next unnumbered one (per-sender
//!    FIFO: `sender/5` is never numbered before `sender/4`). So each number is
//!    decided by exactly one member, from a complete view of the numbers
//!    below it, and never twice in a view (the assignment may leave before
//!    its record is durable, so a restart never assigns in its old view
//!    again: it starts a view change; see "A restart" below).
//! 3. **Delivery.** A member delivers `s` once it has delivered everything
//!    below `s`, holds Sequence `s` and its Request, and knows that a
//!    majority holds all Requests and Sequences up to `s`. Knowing comes from
//!    watermarks: every message carries its sender's `held_up_to` (contiguous
//!    global numbers held, with their Requests) and, per sender, its
//!    contiguous `local_seq` held. Because holdings are durable before they
//!    are claimed, a delivered number survives the crash of any minority.
//! 4. **Loss recovery.** Three gaps are noticed: a gap in a sender's
//!    `local_seq`, a Sequence naming a Request not held, and a gap in global
//!    numbers (below a Sequence received, or below a peer's watermark: that is
//!    how a lost *last* message is found, from heartbeats). Each missing item
//!    is asked for by a `Retransmit` (a negative acknowledgement), first from
//!    its original sender (the owner of `k` in the view for Sequence `k`, the sender for
//!    a Request), then, with back-off (2, 4, 8, ... times `nack_delay_ticks`,
//!    capped), round the original sender and every member whose watermark
//!    says it holds the item: so recovery does not depend on the original
//!    sender being up. Duplicates are dropped. Idle members send heartbeats
//!    (just a watermark) every `heartbeat_interval_ticks`, and at the next
//!    tick whenever their watermark moved, so deliveries are not held back.
//!
//! # The driver loop
//!
//! ```
//! use marketplace::sequencer::{Config, Destination, Member, MemberId, SnapshotPoint};
//! # fn send(_: Destination, _: Vec<u8>) {}
//! # fn apply(_: &[u8]) {}
//! let mut member = Member::new(Config::new(1, MemberId(0))).unwrap();
//! let mut applied = SnapshotPoint::start(1); // where the application state is
//! // Inputs: member.broadcast(payload), member.step(from, Message::decode(&datagram)?)
//! // and member.tick() every tick interval (say 10 ms). After any of them:
//! member.broadcast(b"create-account alice".to_vec()).unwrap();
//! let output = member.take_output();
//! // 0. Send the early messages (the member's own Requests and Sequences):
//! //    they claim only what earlier outputs made durable.
//! for (destination, message) in output.early_messages {
//!     send(destination, message.encode());
//! }
//! // 1. Persist: append each record (Record::encode) to the log, then fsync
//! //    if output.needs_sync() (an output that sends and delivers nothing
//! //    may leave its records for the next one).
//! for _record in &output.to_persist { /* wal.append(&record.encode()) */ }
//! // 2. Send: only after step 1, since messages claim what is now durable.
//! for (destination, message) in output.messages {
//!     send(destination, message.encode());
//! }
//! // 3. Apply the deliveries in order, moving the application's point along.
//! for delivery in &output.deliveries {
//!     apply(&delivery.payload);
//!     applied.advance(delivery);
//! }
//! // ... and once the application state up to `applied` is durable, say so:
//! member.applied_durably(applied.global);
//! // 4. output.snapshot_needed: fetch a snapshot, then member.install_snapshot(point).
//! assert_eq!(output.deliveries.len(), 1); // a group of one delivers at once
//! ```
//!
//! Messages of one output may be sent in any order, and any message may be
//! lost, duplicated or reordered by the network: the protocol expects it.
//! What the driver must not do is send `messages` or apply `deliveries`
//! before the fsync of step 1, send an output's early messages before every
//! earlier output that needed a sync is durable, or persist a `Base` record
//! before the application state it stands for is durable.
//!
//! # Restart and state transfer
//!
//! Rebuild a [`PersistedState`] by replaying the log
//! ([`PersistedState::apply`] over [`Record::decode`]d entries), restore the
//! application state and its [`SnapshotPoint`], and call [`Member::restore`].
//! The member re-delivers what the log holds beyond the application's point
//! (once a majority is heard from again) and catches up on the rest by
//! retransmission. It takes no sequencing turn in the view it was in (an
//! assignment of its earlier life may have left before its record was
//! durable): it starts a view change and works again from the next view.
//! If peers have forgotten what it lacks
//! (history is bounded) they answer `Compacted`, and
//! [`Output::snapshot_needed`] asks the driver for a state transfer: a peer's
//! application snapshot with that peer's [`Member::snapshot_point`], made
//! durable here, then [`Member::install_snapshot`]. To compact its log the
//! driver may rewrite it as [`Member::persisted_state`].

//! # Views: when a member is down
//!
//! Number `k` is assigned by the member whose turn it is in the current
//! [`View`]: its turn list `L` and start `s` give `k >= s` to
//! `L[(k - s) mod |L|]` (view 0 lists everyone from 0: member `k mod n`).
//! A member silent for `suspect_ticks` is suspected, and a majority agrees
//! on a new view without it: each member stops working in the old view
//! (persisted), sends its log to the new view's coordinator
//! (`DoViewChange`), and the coordinator starts the view from the highest
//! `log_view`'s longest log (`NewView`). So every number delivered anywhere
//! keeps its request in every later view, and a minority can neither form a
//! view nor deliver in an old one. Returning members catch up and are taken
//! back in by another view change. `member/views.rs` has the handlers;
//! docs/SEQUENCER.md, section 5, the protocol and its safety argument.

//! # A lost disk
//!
//! A member that starts with an empty log ([`Member::recover`]) cannot tell
//! what it forgot: what it claimed to hold, the views it voted in, the local
//! numbers it used. It asks every member, and either starts a new group
//! (every other member is new too) or asks for a view above every view a
//! majority reports, takes no part until it installs one, and then numbers
//! its requests in a new *incarnation* (that view's number, in the high bits
//! of [`LocalSeq`]). To make "every view it may have voted in" visible to a
//! majority, a DoViewChange waits until a majority has entered the view.
//! docs/SEQUENCER.md, section 5.7.

//! # A restart
//!
//! A restarted member ([`Member::restore`]) numbers its requests in a new
//! incarnation too: the next view it installs (it starts a view change for
//! it, and refuses requests and assigns nothing meanwhile). Since no restart
//! reuses a name or works in its old view again, a member's own Requests
//! and Sequences may leave before their records are durable
//! ([`Output::early_messages`]): the sender's fsync overlaps the
//! sequencer's, and the sequencer's the holders'. docs/SEQUENCER.md,
//! sections 5.8 and 5.10.

//! # Reads
//!
//! A read need not be broadcast: [`Member::read`] asks every member for the
//! highest number it knows to be bound, and once a majority answered and
//! this member delivered up to the highest answer, the read is handed back
//! in [`Output::reads_ready`] to be answered from the application's state.
//! A read that waits too long is handed back in `reads_abandoned`, to be
//! broadcast instead. docs/SEQUENCER.md, section 10.

//! # Bounds
//!
//! Sequences are kept only up to `delivered + holdback_max` and Requests up
//! to the sender's delivered `local_seq + requests_window` (beyond that they
//! are dropped and asked for again later). Delivered entries stay for
//! retransmission until every member holds them, at most `history_max` past
//! that, and never beyond what the application has made durable
//! ([`Member::applied_durably`]). The missing-item table is bounded by the
//! same windows.
//!
//! # Files
//!
//! - `member.rs`: [`Member`], the handlers and the sequencing and delivery rules.
//! - `order.rs`: holdback, delivery in global order, the history store.
//! - `retransmit.rs`: missing items, back-off, answers to Retransmit.
//! - `peers.rs`: peers' watermarks; majority and everyone arithmetic.
//! - `message.rs`, `codec.rs`: [`Message`], `describe()`, the wire format.
//! - `persist.rs`: [`Record`], [`PersistedState`], [`SnapshotPoint`].
//! - `view.rs`: [`View`], [`ViewStamp`], the coordinator of a view.
//! - `view_change.rs`: a view change under way; the coordinator's choice.
//! - `member/views.rs`: the view change's handlers on [`Member`].
//! - `recovery.rs`, `member/recovering.rs`: a member that lost its disk asks
//!   the group, recovers into a new view and a new incarnation (see "A lost
//!   disk" below).
//! - `member/incarnation.rs`: a restart's new incarnation and the early
//!   send of a member's own Request (see "A restart" above).
//! - `read_barrier.rs`, `member/reads.rs`: reads answered from a member's
//!   state once it delivered what a majority knows (see "Reads" above).
//! - `output.rs`, `config.rs`, `errors.rs`, `ids.rs`: the rest of the API.
//! - `tests/`: rule tests, codec tests, the seeded simulation, and the
//!   scenarios as golden traces (`tests/testdata/`, docs/SEQUENCER.md §11).

#![deny(missing_docs)]

mod codec;
mod config;
mod errors;
mod ids;
mod member;
mod message;
mod order;
mod output;
mod peers;
mod persist;
mod read_barrier;
mod recovery;
mod retransmit;
mod view;
mod view_change;

#[cfg(test)]
mod tests;

pub use crate::verdict::Verdict;
pub use codec::MESSAGE_BYTES_MAX;
pub use config::{Config, MEMBERS_MAX, PAYLOAD_BYTES_MAX, RETRANSMIT_ITEMS_MAX};
pub use errors::{DecodeError, SequencerError};
pub use ids::{GlobalSeq, LocalSeq, MemberId, Origin, INCARNATION_MAX};
pub use member::{Member, Status, ViewCounters};
pub use message::{
    Body, Message, Missing, Standing, Watermark, EARLIER_RUNS_MAX, VIEW_BINDINGS_MAX,
};
pub use output::{Delivery, Destination, Output, SnapshotNeeded};
pub use persist::{PersistedState, Record, SnapshotPoint};
pub use read_barrier::ReadId;
pub use view::{coordinator, View, ViewStamp};
