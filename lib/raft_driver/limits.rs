//! Every bound of the driver in one place (those it shares with the
//! sequencer's driver are `driver_kit::limits`): queue capacities, the
//! table sizes, and the check that Raft's largest message fits the
//! transport's datagram. The protocol's own bounds (uncommitted entries,
//! pending reads, message sizes) live in `raft::RaftConfig`; the
//! transport's in `transport::udp`; the storage writer's in
//! `wal::group_commit`.

use std::time::Duration;

use crate::raft::config::APPEND_BYTES_MAX;
use crate::transport::PAYLOAD_BYTES_MAX;

/// Tasks waiting for the raft-apply thread (committed entries, snapshots to
/// load, replies to expect, confirmed reads). Beyond it, as many again wait
/// in the core's backlog (`driver_kit::ApplyQueue`), which never blocks
/// the core; with the backlog full, new proposals and reads are refused.
pub const APPLY_QUEUE_MAX: usize = 1024;

/// Proposals of this node waiting for their entry to be applied. Raft
/// already refuses proposals beyond `RaftConfig::uncommitted_entries_max`;
/// this is the driver's own backstop, sized to match.
pub const PENDING_PROPOSALS_MAX: usize = 4096;

/// Linearizable reads waiting for confirmation or for the state machine to
/// catch up. Matches `RaftConfig::pending_reads_max`.
pub const PENDING_READS_MAX: usize = 1024;

/// How long `state_digest` waits for the apply thread to compute it.
pub const DIGEST_WAIT_MAX: Duration = Duration::from_secs(10);

/// Bytes an Append message adds before its entries (`raft::Message::encode`):
/// version, kind, from, to, term; then the previous entry's id, the commit
/// index and the entry count.
pub const APPEND_HEADER_BYTES: usize = (1 + 1 + 4 + 4 + 8) + (8 + 8) + 8 + 4;

/// Bytes an Append message adds to each entry's data: term, index, kind and
/// the data's length.
pub const APPEND_ENTRY_HEADER_BYTES: usize = 8 + 8 + 1 + 4;

/// The entries an Append of `APPEND_BYTES_MAX` data bytes may be cut into
/// and still fit one datagram. `RaftOptions::validate` holds the Raft
/// core's `append_entries_max` to it.
pub const APPEND_ENTRIES_FIT: usize =
    (PAYLOAD_BYTES_MAX - APPEND_HEADER_BYTES - APPEND_BYTES_MAX) / APPEND_ENTRY_HEADER_BYTES;

// Raft's largest Append, with at least one entry, fits one datagram.
const _: () = assert!(APPEND_ENTRIES_FIT >= 1);
