//! The read barrier: the bookkeeping that lets a member answer a read from
//! its own state, without putting the read in the total order, and still
//! never miss a write that completed before the read began. The handlers
//! that drive it are in `member/reads.rs`; the safety argument is in
//! docs/SEQUENCER.md, section 10.
//!
//! A read waits for a *round*: the member asks every member for the highest
//! global number it knows to be bound (`ReadQuery`), counts itself, and once
//! a majority has answered (`ReadAnswer`) the round's *target* is the
//! highest number any of them named. Every number delivered anywhere before
//! the round began is held by a majority, which shares a member with the
//! answering majority, so the target covers it; the read is answered once
//! this member has delivered up to the target. Reads that arrive while a
//! round is out wait for the next one (an answer to an earlier question
//! may predate the write they must see), so one round serves every read
//! that arrived before it, as Raft's ReadIndex rounds do.
//!
//! A target may name a number that a view change later drops (only a
//! minority held it); delivery then reaches it only with later traffic. So
//! a read waits at most `read_timeout_ticks` in all; then it is *abandoned*
//! and the driver puts it in the total order instead, which is always
//! correct, only slower.

use std::collections::VecDeque;

use super::ids::{GlobalSeq, MemberId};

/// Names one read at one member (counted from 1 at each start; the driver
/// keeps the request and its reply under it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ReadId(pub u64);

/// Reads waiting at one member, from their arrival to their answer.
#[derive(Clone, Debug)]
pub(super) struct ReadBarrier {
    /// The group's size, this member, and how many answers (its own
    /// included) complete a round.
    members: u16,
    me: MemberId,
    majority: usize,
    /// The last `ReadId` handed out.
    last_read: u64,
    /// The last round started (answers name it).
    last_round: u64,
    /// Reads that arrived after the round out was started, with their
    /// arrival tick: they go in the next round.
    queued: Vec<(ReadId, u64)>,
    /// The round out, if any.
    round: Option<Round>,
    /// Reads whose round is complete, waiting for delivery to reach their
    /// target, in the order their rounds completed.
    waiting: VecDeque<Waiting>,
}

/// A round of questions out to the group.
#[derive(Clone, Debug)]
struct Round {
    number: u64,
    /// When the question was last sent.
    sent_tick: u64,
    /// Who has answered (this member counts itself at once).
    answered: Vec<bool>,
    /// The highest bound number named so far.
    target: GlobalSeq,
    /// The reads it serves, with their arrival tick.
    reads: Vec<(ReadId, u64)>,
}

/// Reads of one complete round.
#[derive(Clone, Debug)]
struct Waiting {
    target: GlobalSeq,
    reads: Vec<(ReadId, u64)>,
}

impl ReadBarrier {
    /// No reads, at member `me` of a group of `members` whose rounds
    /// complete with `majority` answers. Rounds are numbered on from
    /// `first_round`, drawn at random at every start: an answer to a round
    /// of an earlier life of this member (a datagram delayed or duplicated
    /// across a restart) names a number this life does not use, so it never
    /// completes a round with a target older than the reads it serves.
    pub(super) fn new(
        members: u16,
        me: MemberId,
        majority: usize,
        first_round: u64,
    ) -> ReadBarrier {
        ReadBarrier {
            members,
            me,
            majority,
            last_read: 0,
            last_round: first_round,
            queued: Vec::new(),
            round: None,
            waiting: VecDeque::new(),
        }
    }

    /// Reads that have not been answered or abandoned yet.
    pub(super) fn pending(&self) -> usize {
        let in_round = self.round.as_ref().map_or(0, |round| round.reads.len());
        let waiting: usize = self.waiting.iter().map(|w| w.reads.len()).sum();
        self.queued.len() + in_round + waiting
    }

    /// Takes a new read, arrived at `now_tick`, into the next round.
    pub(super) fn add(&mut self, now_tick: u64) -> ReadId {
        self.last_read += 1;
        let read = ReadId(self.last_read);
        self.queued.push((read, now_tick));
        read
    }

    /// True when reads are queued and no round is out: start one.
    pub(super) fn wants_round(&self) -> bool {
        self.round.is_none() && !self.queued.is_empty()
    }

    /// Starts a round for the queued reads: this member answers at once
    /// with `known` (which completes it in a group of one). Returns the
    /// round's number, for the question.
    pub(super) fn start_round(&mut self, known: GlobalSeq, now_tick: u64) -> u64 {
        debug_assert!(self.round.is_none(), "one round at a time");
        self.last_round = self.last_round.wrapping_add(1);
        let mut answered = vec![false; usize::from(self.members)];
        answered[self.me.index()] = true;
        self.round = Some(Round {
            number: self.last_round,
            sent_tick: now_tick,
            answered,
            target: known,
            reads: std::mem::take(&mut self.queued),
        });
        self.complete_if_majority();
        self.last_round
    }

    /// Why `from`'s answer to round `number` does not count, if it does
    /// not: no round is out, it answers another round (perhaps one of an
    /// earlier life of this member), or `from` answered already.
    pub(super) fn ignore_answer(&self, from: MemberId, number: u64) -> Option<&'static str> {
        let Some(round) = self.round.as_ref() else {
            return Some("no read round is out");
        };
        if round.number != number {
            Some("an answer to another round")
        } else if round.answered.get(from.index()).copied().unwrap_or(true) {
            Some("a repeated answer")
        } else {
            None
        }
    }

    /// Counts `from`'s answer to round `number`; once a majority has
    /// answered, the round's reads wait for delivery to reach its target.
    /// What `ignore_answer` names is ignored.
    pub(super) fn on_answer(&mut self, from: MemberId, number: u64, known: GlobalSeq) {
        if self.ignore_answer(from, number).is_some() {
            return;
        }
        let Some(round) = self.round.as_mut() else {
            return;
        };
        round.answered[from.index()] = true;
        round.target = round.target.max(known);
        self.complete_if_majority();
    }

    /// Moves the round out to `waiting` if a majority has answered.
    fn complete_if_majority(&mut self) {
        let majority = self.majority;
        let complete = self
            .round
            .as_ref()
            .is_some_and(|round| round.answered.iter().filter(|a| **a).count() >= majority);
        if complete {
            let round = self.round.take().expect("checked above");
            self.waiting.push_back(Waiting {
                target: round.target,
                reads: round.reads,
            });
        }
    }

    /// The round out and the members that have not answered it, if its
    /// question is due again (sent `resend_ticks` ago or more); marks it
    /// sent now.
    pub(super) fn due_again(
        &mut self,
        now_tick: u64,
        resend_ticks: u64,
    ) -> Option<(u64, Vec<MemberId>)> {
        let round = self.round.as_mut()?;
        if now_tick < round.sent_tick + resend_ticks {
            return None;
        }
        round.sent_tick = now_tick;
        let silent = round
            .answered
            .iter()
            .enumerate()
            .filter(|(_, answered)| !**answered)
            .map(|(index, _)| MemberId(index as u16))
            .collect();
        Some((round.number, silent))
    }

    /// The reads whose target is delivered (`delivered` is this member's
    /// delivered number), in arrival order of their rounds.
    pub(super) fn take_ready(&mut self, delivered: GlobalSeq) -> Vec<ReadId> {
        let mut ready = Vec::new();
        // Targets of later rounds may be lower; each round is checked.
        self.waiting.retain(|waiting| {
            if waiting.target <= delivered {
                ready.extend(waiting.reads.iter().map(|(read, _)| *read));
                false
            } else {
                true
            }
        });
        ready
    }

    /// The reads that arrived `timeout_ticks` ago or more and are still
    /// unanswered, wherever they wait.
    pub(super) fn take_expired(&mut self, now_tick: u64, timeout_ticks: u64) -> Vec<ReadId> {
        let expired = |arrived: u64| now_tick >= arrived + timeout_ticks;
        let mut taken = Vec::new();
        let mut take = |reads: &mut Vec<(ReadId, u64)>| {
            reads.retain(|(read, arrived)| {
                let keep = !expired(*arrived);
                if !keep {
                    taken.push(*read);
                }
                keep
            });
        };
        take(&mut self.queued);
        if let Some(round) = self.round.as_mut() {
            take(&mut round.reads);
        }
        if self
            .round
            .as_ref()
            .is_some_and(|round| round.reads.is_empty())
        {
            // Nobody waits for it: the next read starts a fresh round
            // rather than wait behind one the group does not answer.
            self.round = None;
        }
        for waiting in &mut self.waiting {
            take(&mut waiting.reads);
        }
        self.waiting.retain(|waiting| !waiting.reads.is_empty());
        taken.sort_unstable();
        taken
    }

    /// Every unanswered read (the member stops working in its view); the
    /// round out is forgotten, so late answers to it are ignored.
    pub(super) fn take_all(&mut self) -> Vec<ReadId> {
        let mut taken: Vec<ReadId> = self.queued.drain(..).map(|(read, _)| read).collect();
        if let Some(round) = self.round.take() {
            taken.extend(round.reads.into_iter().map(|(read, _)| read));
        }
        for waiting in self.waiting.drain(..) {
            taken.extend(waiting.reads.into_iter().map(|(read, _)| read));
        }
        taken.sort_unstable();
        taken
    }
}
