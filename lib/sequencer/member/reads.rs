//! Reads answered from this member's state: the read barrier's handlers on
//! [`Member`]. The bookkeeping is in `read_barrier.rs`; why a read answered
//! this way never misses a completed write is docs/SEQUENCER.md, section 10.

use super::Member;
use crate::sequencer::errors::SequencerError;
use crate::sequencer::ids::{GlobalSeq, MemberId};
use crate::sequencer::message::Body;
use crate::sequencer::output::Destination;
use crate::sequencer::read_barrier::ReadId;

impl Member {
    /// Takes a read that the driver will answer from the application's
    /// state instead of broadcasting it. The read comes back in
    /// [`Output::reads_ready`](crate::sequencer::Output::reads_ready) once
    /// this member has delivered every number that any member could have
    /// delivered when it arrived; then answer it from the state, after the
    /// output's deliveries. Or it comes back in `reads_abandoned` (waited
    /// `read_timeout_ticks`, or this member left its view): then broadcast
    /// it like a write, or send the client elsewhere.
    ///
    /// # Errors
    /// `Recovering` or `NotInView` while the member does not work in a view
    /// (it would answer late or never); `TooManyReads` beyond
    /// `reads_pending_max`.
    pub fn read(&mut self) -> Result<ReadId, SequencerError> {
        if self.is_recovering() {
            return Err(SequencerError::Recovering);
        }
        if !self.is_normal() {
            return Err(SequencerError::NotInView);
        }
        let max = self.config.reads_pending_max;
        if self.reads.pending() >= max {
            return Err(SequencerError::TooManyReads { max });
        }
        let read = self.reads.add(self.now_tick);
        self.maybe_start_read_round();
        self.release_reads();
        Ok(read)
    }

    /// Reads taken and not yet handed back (ready or abandoned).
    pub fn reads_pending(&self) -> usize {
        self.reads.pending()
    }

    /// What this member answers to a read question: its contiguous
    /// Sequences known. It covers every number delivered anywhere that this
    /// member held: a Sequence is dropped only by a view change or a state
    /// transfer, and neither drops a delivered number (SEQUENCER.md, section 10).
    pub(super) fn known_up_to(&self) -> GlobalSeq {
        self.order.sequenced_up_to()
    }

    /// Starts a round for the reads that wait for one, if none is out.
    fn maybe_start_read_round(&mut self) {
        if !self.reads.wants_round() {
            return;
        }
        let round = self.reads.start_round(self.known_up_to(), self.now_tick);
        if self.config.members > 1 {
            self.send(Destination::All, Body::ReadQuery { round });
        }
    }

    /// Why a read question is dropped, if it is: this member is recovering
    /// from an empty disk, and what it knows then is no fact about its past.
    pub(super) fn ignore_read_query(&self) -> Option<&'static str> {
        self.is_recovering()
            .then_some("it recovers from an empty disk")
    }

    /// Answers a read question (`ignore_read_query` let it through).
    pub(super) fn on_read_query(&mut self, from: MemberId, round: u64) {
        let known_up_to = self.known_up_to();
        self.send(
            Destination::Member(from),
            Body::ReadAnswer { round, known_up_to },
        );
    }

    /// Why a read answer is dropped, if it is (`ReadBarrier::ignore_answer`).
    pub(super) fn ignore_read_answer(&self, from: MemberId, round: u64) -> Option<&'static str> {
        self.reads.ignore_answer(from, round)
    }

    /// Counts an answer to this member's round; a complete round's reads
    /// then wait for delivery, and the next round may start.
    pub(super) fn on_read_answer(&mut self, from: MemberId, round: u64, known: GlobalSeq) {
        self.reads.on_answer(from, round, known);
        self.maybe_start_read_round();
        self.release_reads();
    }

    /// Hands back the reads whose target this member has delivered.
    pub(super) fn release_reads(&mut self) {
        let ready = self.reads.take_ready(self.order.delivered_up_to());
        self.output.reads_ready.extend(ready);
    }

    /// Per tick: gives up reads that waited too long, and asks again the
    /// members that have not answered the round out.
    pub(super) fn reads_tick(&mut self) {
        let expired = self
            .reads
            .take_expired(self.now_tick, self.config.read_timeout_ticks);
        self.output.reads_abandoned.extend(expired);
        if let Some((round, silent)) = self
            .reads
            .due_again(self.now_tick, self.config.nack_delay_ticks)
        {
            for member in silent {
                self.send(Destination::Member(member), Body::ReadQuery { round });
            }
        }
        self.maybe_start_read_round();
        self.release_reads();
    }

    /// Gives up every pending read: this member stops working in its view,
    /// and its reads would wait for the whole view change.
    pub(super) fn abandon_reads(&mut self) {
        let all = self.reads.take_all();
        self.output.reads_abandoned.extend(all);
    }
}
