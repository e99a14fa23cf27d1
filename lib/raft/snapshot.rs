//! InstallSnapshot (§7) in chunks over a lossy network: the leader streams
//! its latest snapshot to a follower whose next entries are compacted, and
//! the follower assembles the chunks and installs the result.
//!
//! The leader keeps up to `snapshot_chunks_inflight_max` chunks ahead of the
//! follower's acknowledgement. The follower acknowledges each chunk with the
//! number of bytes it holds (`SnapshotResponse::next_offset`); a chunk that
//! arrives past a gap is refused (`accepted: false`) and the leader rewinds to
//! the follower's offset. If no acknowledgement comes for
//! `SNAPSHOT_RETRY_HEARTBEATS` heartbeat intervals, the leader rewinds to the
//! last acknowledged offset. The last chunk is answered with an ordinary
//! accepted `AppendResponse`, after the snapshot is on the follower's disk.

use super::ids::{LogIndex, NodeId};
use super::message::{AppendOutcome, Body};
use super::node::RaftNode;
use super::progress::{ProgressState, SnapshotTransfer};
use super::types::{Snapshot, SnapshotMeta};

/// Heartbeat intervals without an acknowledgement before the leader resends
/// unacknowledged chunks.
pub const SNAPSHOT_RETRY_HEARTBEATS: u32 = 2;

/// A snapshot a follower is receiving: the bytes `0..data.len()` so far.
#[derive(Clone, Debug)]
pub struct SnapshotAssembly {
    /// The snapshot being received.
    pub meta: SnapshotMeta,
    /// The bytes received so far, in order.
    pub data: Vec<u8>,
}

impl RaftNode {
    /// Leader: starts sending the latest snapshot to `to`.
    pub(super) fn start_snapshot_transfer(&mut self, to: NodeId) {
        let meta = self.log.snapshot().meta;
        assert!(
            meta.index > LogIndex::ZERO,
            "{} entries for {to} compacted without a snapshot",
            self.tag()
        );
        log::debug!("{} sending snapshot {} to {to}", self.tag(), meta.id());
        self.progress[to.0].become_snapshot(meta);
        self.send_snapshot_chunks(to);
    }

    /// Leader: sends the chunks that fit in `to`'s window.
    fn send_snapshot_chunks(&mut self, to: NodeId) {
        let ProgressState::Snapshot(mut transfer) = self.progress[to.0].state else {
            return;
        };
        if transfer.meta != self.log.snapshot().meta {
            // The log was compacted again: send the newer snapshot instead.
            return self.start_snapshot_transfer(to);
        }
        let chunk_bytes = self.config.snapshot_chunk_bytes as u64;
        let window_bytes = chunk_bytes * self.config.snapshot_chunks_inflight_max as u64;
        let total = self.log.snapshot().data.len() as u64;
        let mut chunks = Vec::new();
        for _ in 0..self.config.snapshot_chunks_inflight_max {
            if transfer.all_sent || transfer.sent_offset - transfer.acked_offset >= window_bytes {
                break;
            }
            let start = transfer.sent_offset;
            let end = (start + chunk_bytes).min(total);
            let data = self.log.snapshot().data[start as usize..end as usize].to_vec();
            let last = end == total;
            chunks.push(Body::InstallSnapshot {
                snapshot: transfer.meta,
                offset: start,
                data,
                last,
            });
            transfer.sent_offset = end;
            transfer.all_sent = last;
        }
        self.progress[to.0].state = ProgressState::Snapshot(transfer);
        for body in chunks {
            self.send_now(to, body);
        }
    }

    /// Leader: why a follower's snapshot answer is dropped, if it is: no
    /// transfer to it is under way, or the answer is about another snapshot
    /// or bytes beyond this one (an answer to an older transfer).
    pub(super) fn ignore_snapshot_answer(
        &self,
        from: NodeId,
        snapshot_index: LogIndex,
        next_offset: u64,
    ) -> Option<&'static str> {
        let ProgressState::Snapshot(transfer) = self.progress[from.0].state else {
            return Some("no snapshot is being sent to it");
        };
        let total = self.log.snapshot().data.len() as u64;
        let stale = snapshot_index != transfer.meta.index || next_offset > total;
        stale.then_some("stale snapshot answer")
    }

    /// Leader: a follower acknowledged snapshot bytes, or refused a chunk.
    pub(super) fn on_snapshot_response(&mut self, from: NodeId, next_offset: u64, accepted: bool) {
        // `ignore_snapshot_answer` let only answers to this transfer through.
        let ProgressState::Snapshot(mut transfer) = self.progress[from.0].state else {
            return;
        };
        if accepted {
            if next_offset > transfer.acked_offset {
                transfer.acked_offset = next_offset;
                transfer.idle_heartbeats = 0;
            }
            transfer.sent_offset = transfer.sent_offset.max(transfer.acked_offset);
        } else {
            rewind(&mut transfer, next_offset);
        }
        self.progress[from.0].state = ProgressState::Snapshot(transfer);
        self.send_snapshot_chunks(from);
    }

    /// Leader, each heartbeat: resends chunks to followers that stopped
    /// acknowledging (a chunk or its acknowledgement was lost).
    pub(super) fn retry_snapshot_transfers(&mut self) {
        let peers: Vec<NodeId> = self.peers().collect();
        for peer in peers {
            let ProgressState::Snapshot(mut transfer) = self.progress[peer.0].state else {
                continue;
            };
            transfer.idle_heartbeats += 1;
            if transfer.idle_heartbeats >= SNAPSHOT_RETRY_HEARTBEATS {
                let offset = transfer.acked_offset;
                rewind(&mut transfer, offset);
            }
            self.progress[peer.0].state = ProgressState::Snapshot(transfer);
            self.send_snapshot_chunks(peer);
        }
    }

    /// Follower: why a snapshot chunk is dropped, if it is: it is the next
    /// chunk of a snapshot this node would install, and it would take that
    /// snapshot past `snapshot_bytes_max`.
    pub(super) fn ignore_snapshot_chunk(
        &self,
        meta: SnapshotMeta,
        offset: u64,
        len: usize,
    ) -> Option<&'static str> {
        let installs = meta.index > self.log.committed() && !self.log.matches(meta.id());
        let expected = self.assembled_bytes(meta);
        let too_large = expected + len as u64 > self.config.snapshot_bytes_max;
        (installs && offset == expected && too_large).then_some("snapshot beyond its size limit")
    }

    /// Follower: how many bytes of snapshot `meta` it holds so far.
    fn assembled_bytes(&self, meta: SnapshotMeta) -> u64 {
        match &self.incoming_snapshot {
            Some(assembly) if assembly.meta == meta => assembly.data.len() as u64,
            _ => 0,
        }
    }

    /// Follower: one chunk of a snapshot.
    pub(super) fn on_install_snapshot(
        &mut self,
        from: NodeId,
        meta: SnapshotMeta,
        offset: u64,
        data: Vec<u8>,
        last: bool,
    ) {
        if meta.index <= self.log.committed() || self.log.matches(meta.id()) {
            return self.skip_snapshot(from, meta);
        }
        let expected = self.assembled_bytes(meta);
        if offset != expected {
            // A duplicate (behind) is acknowledged; a gap (ahead) is refused.
            let accepted = offset < expected;
            return self.ack_snapshot(from, meta.index, expected, accepted);
        }
        let assembly = self
            .incoming_snapshot
            .get_or_insert_with(|| SnapshotAssembly {
                meta,
                data: Vec::new(),
            });
        if assembly.meta != meta {
            *assembly = SnapshotAssembly {
                meta,
                data: Vec::new(),
            };
        }
        assembly.data.extend_from_slice(&data);
        let received = assembly.data.len() as u64;
        if !last {
            return self.ack_snapshot(from, meta.index, received, true);
        }
        let assembly = self.incoming_snapshot.take().expect("assembled above");
        log::info!(
            "{} installing snapshot {} from {from}",
            self.tag(),
            meta.id()
        );
        self.log.install_snapshot(Snapshot {
            meta,
            data: assembly.data,
        });
        let outcome = AppendOutcome::Accepted {
            match_index: meta.index,
        };
        self.send_after_persist(from, self.term, Body::AppendResponse { outcome });
    }

    /// Follower: our log already covers the snapshot, so there is nothing to
    /// install; tell the leader how far we match so it resumes appending.
    fn skip_snapshot(&mut self, from: NodeId, meta: SnapshotMeta) {
        if self
            .incoming_snapshot
            .as_ref()
            .is_some_and(|assembly| assembly.meta.index <= meta.index)
        {
            self.incoming_snapshot = None;
        }
        let mut match_index = self.log.committed();
        if self.log.matches(meta.id()) {
            // The log matches at the snapshot's last entry, so everything
            // before it matches too (Log Matching), and it is committed.
            self.log.commit_to(meta.index);
            match_index = match_index.max(meta.index);
        }
        let outcome = AppendOutcome::Accepted { match_index };
        self.send_after_persist(from, self.term, Body::AppendResponse { outcome });
    }

    fn ack_snapshot(&mut self, to: NodeId, snapshot_index: LogIndex, next: u64, accepted: bool) {
        let body = Body::SnapshotResponse {
            snapshot_index,
            next_offset: next,
            accepted,
        };
        self.send_now(to, body);
    }
}

/// Resend from `offset` on.
fn rewind(transfer: &mut SnapshotTransfer, offset: u64) {
    transfer.acked_offset = offset;
    transfer.sent_offset = offset;
    transfer.all_sent = false;
    transfer.idle_heartbeats = 0;
}
