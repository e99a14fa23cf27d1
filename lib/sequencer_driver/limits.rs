//! Every bound of the driver in one place (those it shares with Raft's
//! driver are `driver_kit::limits`): queue capacities, batch sizes, the
//! state-transfer chunking and its retry schedule. The protocol's own
//! bounds (holdback, windows, history) live in `sequencer::Config`; the
//! transport's in `transport::udp`.

use std::time::Duration;

use crate::transport::PAYLOAD_BYTES_MAX as DATAGRAM_PAYLOAD_BYTES_MAX;
use crate::wal::SNAPSHOT_BYTES_MAX;
use crate::wire::formats::STATE_TRANSFER;

/// A member suspects a member of the turn list it has not heard from in
/// its view for this long, and starts a view change. Converted to ticks of
/// whatever tick the replica runs (`SequencerOptions::sequencer_config`), so
/// the time holds at every tick. Several heartbeat intervals, and short
/// enough that a kill costs the callers well under a second.
pub const SUSPECT_AFTER: Duration = Duration::from_millis(300);

/// A view change that has not started its view after this long moves on to
/// the next view (and coordinator).
pub const VIEW_CHANGE_TIMEOUT: Duration = Duration::from_millis(300);

/// While a view change is under way its messages go out again this often.
pub const VIEW_CHANGE_RESEND: Duration = Duration::from_millis(50);

/// A live member outside the turn list is taken back in once it has kept up
/// for this long.
pub const REJOIN_READY_AFTER: Duration = Duration::from_millis(100);

/// Client requests one broadcast carries (`request_batch.rs`); the
/// payload size bounds them too.
pub const REQUESTS_PER_BATCH_MAX: usize = 256;

/// While this many of the member's own request batches are undelivered,
/// the core gathers new requests instead of broadcasting them: they go out
/// together once one is delivered. Under load this keeps batches large and
/// the global numbers (each costing every member messages, wake-ups and an
/// fsync) few; a request that finds nothing in flight goes at once.
pub const BATCHES_IN_FLIGHT_MAX: u64 = 1;

/// Core messages packed into one datagram (`batch.rs`); the datagram size
/// bounds them too. A flush sends each peer a few messages (its Requests,
/// Sequences and one heartbeat), so this is rarely reached.
pub const BATCH_MESSAGES_MAX: usize = 256;

/// Tasks waiting for the apply thread (deliveries, reply registrations,
/// snapshot installs). Beyond it, as many again wait in the core's backlog
/// (`driver_kit::ApplyQueue`), which never blocks the core; with the
/// backlog full, new client requests are refused.
pub const APPLY_QUEUE_MAX: usize = 4096;

/// Replies waiting for their request's delivery here. The protocol already
/// bounds this member's undelivered broadcasts (`broadcasts_in_flight_max`,
/// 256 by default); this is the driver's own backstop.
pub const PENDING_REPLIES_MAX: usize = 4096;

/// How long `digest()` waits for the apply thread to fingerprint its state
/// (it queues behind the deliveries already handed over).
pub const DIGEST_WAIT_MAX: Duration = Duration::from_secs(5);

/// Tasks waiting for the state-transfer thread (fetch orders, chunk
/// requests and chunks from peers); more are dropped (peers retry).
pub const TRANSFER_INBOX_MAX: usize = 256;

/// Bytes of snapshot in one chunk datagram.
pub const CHUNK_BYTES_MAX: usize = 32 * 1024;

/// The largest snapshot image a member fetches (point, application state
/// and checksum); a chunk announcing more is refused. As large as a
/// snapshot file may be: a state that can be snapshotted can be fetched.
/// (The image is gathered in memory; nothing is allocated before its
/// chunks arrive.)
pub const TRANSFER_BYTES_MAX: u64 = (SNAPSHOT_BYTES_MAX - 16) as u64;

/// The first wait for a chunk before asking again; it doubles per attempt.
pub const TRANSFER_RETRY_FIRST: Duration = Duration::from_millis(20);

/// The longest wait between two requests for the same chunk.
pub const TRANSFER_RETRY_MAX: Duration = Duration::from_millis(640);

/// Unanswered requests in a row after which the fetch moves to another donor.
pub const TRANSFER_ATTEMPTS_PER_DONOR: u32 = 6;

/// "Not yet" answers (the donor is taking a snapshot on demand) a fetch
/// waits out from one donor before it moves on. At the capped retry delay
/// that is about 13 s, several times the 3 s a snapshot of a million
/// accounts took to encode and write (docs/EVALUATION.md, Scale).
pub const TRANSFER_NOT_YET_PER_DONOR: u32 = 24;

/// How long the state-transfer thread sleeps when it has nothing to wait for.
pub const TRANSFER_IDLE_WAKE: Duration = Duration::from_millis(500);

/// Bytes a chunk message adds to its chunk: magic, version, kind, the
/// snapshot number, the total, the offset and the length.
pub const CHUNK_HEADER_BYTES: usize = STATE_TRANSFER.magic.len() + 1 + 1 + 8 + 8 + 8 + 4;

// A chunk must fit in one datagram.
const _: () = assert!(CHUNK_BYTES_MAX + CHUNK_HEADER_BYTES <= DATAGRAM_PAYLOAD_BYTES_MAX);
// Every core message must fit in one datagram.
const _: () = assert!(crate::sequencer::MESSAGE_BYTES_MAX <= DATAGRAM_PAYLOAD_BYTES_MAX);
// A fetched image must fit in a snapshot file.
const _: () = assert!(TRANSFER_BYTES_MAX as usize <= SNAPSHOT_BYTES_MAX - 16);
// A batch's count is a u16.
const _: () = assert!(REQUESTS_PER_BATCH_MAX <= u16::MAX as usize);
const _: () = assert!(TRANSFER_RETRY_FIRST.as_millis() <= TRANSFER_RETRY_MAX.as_millis());
