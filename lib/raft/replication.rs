//! Log replication (§5.3), the commit rule (§5.4.2), heartbeats,
//! check-quorum and the confirmation of ReadIndex rounds: the leader's side
//! (`bcast_*`, `on_*_response`) and the follower's (`on_append`,
//! `on_heartbeat`).

use super::ids::{EntryId, LogIndex, NodeId};
use super::log::AppendResult;
use super::message::{AppendOutcome, Body, RejectHint};
use super::node::RaftNode;
use super::progress::ProgressState;
use super::quorum::quorum_value;
use super::types::Entry;

impl RaftNode {
    /// Leader: sends every follower what it is missing (entries, or a
    /// snapshot if they are compacted), and the commit index.
    pub(super) fn bcast_append(&mut self) {
        let peers: Vec<NodeId> = self.peers().collect();
        for peer in peers {
            self.maybe_send_append(peer, true);
        }
    }

    /// Leader: sends `to` an Append with the entries from its next index, if
    /// its progress is not paused. Without new entries an Append is sent only
    /// if `send_if_empty` (to carry the commit index or probe). Starts a
    /// snapshot transfer if the entries are compacted. Returns whether
    /// anything was sent.
    pub(super) fn maybe_send_append(&mut self, to: NodeId, send_if_empty: bool) -> bool {
        let progress = &self.progress[to.0];
        if progress.is_paused() {
            return false;
        }
        let next_index = progress.next_index;
        assert!(
            next_index <= self.log.last_index().next(),
            "{} next {next_index} for {to} beyond the log end {}",
            self.tag(),
            self.log.last_index()
        );
        let prev_index = next_index.prev();
        let Some(prev_term) = self.log.term_at(prev_index) else {
            // The entries the follower needs are compacted (§7).
            self.start_snapshot_transfer(to);
            return true;
        };
        let entries = if next_index > self.log.last_index() {
            Vec::new()
        } else {
            let count_max = self.config.append_entries_max;
            let bytes_max = self.config.append_bytes_max;
            self.log.entries_from(next_index, count_max, bytes_max)
        };
        if entries.is_empty() && !send_if_empty {
            return false;
        }
        let last_index = entries.last().map_or(prev_index, |entry| entry.index);
        self.progress[to.0].sent_entries(entries.len(), last_index);
        let body = Body::Append {
            prev_log: EntryId {
                term: prev_term,
                index: prev_index,
            },
            commit: self.log.committed(),
            entries,
        };
        self.send_now(to, body);
        true
    }

    /// Leader: handles a follower's answer to an Append.
    pub(super) fn on_append_response(&mut self, from: NodeId, outcome: AppendOutcome) {
        match outcome {
            AppendOutcome::Accepted { match_index } => self.on_append_accepted(from, match_index),
            AppendOutcome::Rejected {
                rejected_index,
                hint,
            } => {
                let hint_next = self.next_index_from_hint(rejected_index, hint);
                // `ignore_append_answer` dropped stale rejections: this one
                // moves the progress back.
                self.progress[from.0].maybe_decrease_to(rejected_index, hint_next);
                log::debug!(
                    "{} {from} rejected at {rejected_index}; retrying from {}",
                    self.tag(),
                    self.progress[from.0].next_index
                );
                self.maybe_send_append(from, true);
            }
        }
    }

    /// Leader: why a follower's answer to an Append is dropped, if it is: a
    /// rejection of an Append that a later answer already superseded.
    pub(super) fn ignore_append_answer(
        &self,
        from: NodeId,
        outcome: &AppendOutcome,
    ) -> Option<&'static str> {
        match outcome {
            AppendOutcome::Rejected { rejected_index, .. }
                if self.progress[from.0].is_stale_rejection(*rejected_index) =>
            {
                Some("stale rejection")
            }
            _ => None,
        }
    }

    fn on_append_accepted(&mut self, from: NodeId, match_index: LogIndex) {
        let progress = &mut self.progress[from.0];
        if progress.maybe_update(match_index) {
            match progress.state {
                ProgressState::Probe { .. } => progress.become_replicate(),
                ProgressState::Snapshot(transfer) if match_index >= transfer.meta.index => {
                    log::debug!(
                        "{} {from} installed snapshot {}",
                        self.tag(),
                        transfer.meta.id()
                    );
                    self.progress[from.0].become_replicate();
                }
                ProgressState::Snapshot(_) | ProgressState::Replicate => {}
            }
            if self.maybe_commit() {
                // Followers learn the new commit index with the next Append.
                self.append_pending = true;
            }
        }
        // Keep the follower's pipeline full; the window bounds the loop.
        for _ in 0..self.config.inflight_appends_max {
            if !self.maybe_send_append(from, false) {
                break;
            }
        }
    }

    /// Leader: where to retry after a rejection (fast backtracking). If the
    /// follower conflicts with term T and the leader has T entries, retry
    /// after the leader's last T entry; else skip the follower's whole run
    /// of T; if the follower's log is short, retry after its end.
    fn next_index_from_hint(&self, rejected_index: LogIndex, hint: RejectHint) -> LogIndex {
        match hint {
            RejectHint::LogTooShort { last_index } => last_index.next(),
            RejectHint::TermConflict { term, first_index } => {
                match self.log.last_index_of_term(term, rejected_index) {
                    Some(index) => index.next(),
                    None => first_index,
                }
            }
        }
    }

    /// Leader: commits the highest index stored on a majority, if it holds
    /// an entry of the current term (§5.4.2). Returns whether the commit
    /// index moved; if so, confirmed reads may be released.
    pub(super) fn maybe_commit(&mut self) -> bool {
        let matches = self
            .progress
            .iter()
            .map(|progress| progress.match_index)
            .collect();
        let index = quorum_value(matches, self.config.quorum());
        if !self.log.maybe_commit(index, self.term) {
            return false;
        }
        log::debug!("{} committed {}", self.tag(), index);
        self.release_reads();
        true
    }

    /// Leader: records that its own disk holds the log up to `persisted`.
    pub(super) fn on_own_persist(&mut self, persisted: LogIndex) {
        let own = self.id.0;
        if self.progress[own].maybe_update(persisted) && self.maybe_commit() {
            self.append_pending = true;
        }
    }

    /// Leader: a heartbeat to every follower (§5.2), carrying the commit
    /// index (capped at what each holds) and a new round number, which
    /// confirms the reads waiting for it once a majority echoes it, and
    /// starts a lease from now (lease.rs).
    pub(super) fn bcast_heartbeat(&mut self) {
        let read_round = self.reads.next_round();
        // The leader confirms its own round at once.
        self.progress[self.id.0].read_round_acked = read_round;
        self.lease.on_round_sent(read_round, self.clock);
        // This broadcast serves the reads that asked for one too.
        self.heartbeat_pending = false;
        let committed = self.log.committed();
        let peers: Vec<NodeId> = self.peers().collect();
        for peer in peers {
            let commit = self.progress[peer.0].match_index.min(committed);
            self.send_now(peer, Body::Heartbeat { commit, read_round });
        }
        // Alone, the leader is its own majority.
        self.on_round_acked();
    }

    /// Leader: a follower answered a heartbeat: it is alive, it confirmed a
    /// read round, and if it lags it gets entries.
    pub(super) fn on_heartbeat_response(&mut self, from: NodeId, read_round: u64) {
        let progress = &mut self.progress[from.0];
        progress.read_round_acked = progress.read_round_acked.max(read_round);
        progress.resume();
        // A lost Append would otherwise hold a window slot forever.
        if progress.state == ProgressState::Replicate && progress.inflights.is_full() {
            progress.inflights.free_first();
        }
        if progress.match_index < self.log.last_index() {
            self.maybe_send_append(from, true);
        }
        self.on_round_acked();
    }

    /// Leader: a round was acknowledged (by a follower, or by the leader
    /// itself as it sent it): the lease runs from the newest round a
    /// majority acknowledged, and the reads it confirms may go.
    fn on_round_acked(&mut self) {
        let confirmed_round = self.confirmed_round();
        self.lease.on_round_confirmed(confirmed_round);
        self.release_reads();
    }

    /// Leader: the newest heartbeat round a majority acknowledged.
    fn confirmed_round(&self) -> u64 {
        let rounds = self
            .progress
            .iter()
            .map(|progress| progress.read_round_acked)
            .collect();
        quorum_value(rounds, self.config.quorum())
    }

    /// Leader: emits the reads whose round a majority confirmed and whose
    /// index is committed.
    pub(super) fn release_reads(&mut self) {
        if self.reads.is_empty() {
            return;
        }
        let confirmed_round = self.confirmed_round();
        let released = self.reads.release(confirmed_round, self.log.committed());
        self.read_states.extend(released);
    }

    /// Leader, each election timeout with check-quorum: whether a majority
    /// answered since the last check. Clears the marks for the next round.
    pub(super) fn maybe_confirm_quorum_active(&mut self) -> bool {
        let own = self.id.0;
        let mut active = 0;
        for (id, progress) in self.progress.iter_mut().enumerate() {
            if id == own || progress.recent_active {
                active += 1;
            }
            progress.recent_active = false;
        }
        active >= self.config.quorum()
    }

    /// Follower: AppendEntries (§5.3). Answers after persist: an accepted
    /// answer promises the entries are on disk.
    pub(super) fn on_append(
        &mut self,
        from: NodeId,
        prev_log: EntryId,
        commit: LogIndex,
        entries: Vec<Entry>,
    ) {
        let committed = self.log.committed();
        if prev_log.index < committed {
            // Everything up to our commit index matches any leader's log
            // (§5.4), so the part of the message below it is old news.
            let outcome = AppendOutcome::Accepted {
                match_index: committed,
            };
            return self.send_after_persist(from, self.term, Body::AppendResponse { outcome });
        }
        let outcome = match self.log.maybe_append(prev_log, commit, &entries) {
            AppendResult::Appended { last_new_index } => AppendOutcome::Accepted {
                match_index: last_new_index,
            },
            AppendResult::Mismatch => AppendOutcome::Rejected {
                rejected_index: prev_log.index,
                hint: self.log.reject_hint(prev_log.index),
            },
        };
        self.send_after_persist(from, self.term, Body::AppendResponse { outcome });
    }

    /// Follower: a heartbeat. Learns the commit index and confirms the read
    /// round at once: the answer promises nothing about the disk.
    pub(super) fn on_heartbeat(&mut self, from: NodeId, commit: LogIndex, read_round: u64) {
        // The leader caps `commit` at what we acknowledged, which is on our
        // disk, so it never exceeds our log (`contradiction` refused a
        // heartbeat that says otherwise).
        self.log.commit_to(commit);
        self.send_now(from, Body::HeartbeatResponse { read_round });
    }
}
