//! `Lease`: the leader's lease for reads without a heartbeat round (thesis
//! §6.4.1; etcd's `ReadOnlyLeaseBased`). docs/RAFT.md §7.1 has the rule,
//! the clock assumption and the safety argument; in short:
//!
//! A follower that hears from the leader refuses to vote for anyone else
//! until it has counted `election_ticks_min` ticks (`RaftNode::in_lease`),
//! and a restarted node refuses for as long after its start. So once a
//! majority acknowledged a heartbeat round sent at tick `s`, no other leader
//! can be elected before that majority has counted `election_ticks_min`
//! ticks after `s`. The lease is shorter than that by a margin for tick
//! granularity and clock drift, and it starts when the round was *sent*:
//! the acknowledgements arrive later, and a lease counted from them would
//! outlast the followers' promise by the round trip.
//!
//! The clock is the node's own count of ticks (`RaftNode::tick`, or what the
//! driver reports with `tick_at` and `advance_clock`), never a wall clock.
//!
//! This type is the bookkeeping: which round was sent at which tick, and
//! the tick until which the latest round a majority acknowledged keeps the
//! lease.

use std::collections::VecDeque;

/// The heartbeat rounds in flight and the lease they earned.
#[derive(Clone, Debug)]
pub struct Lease {
    /// How long a confirmed round keeps the lease, in ticks.
    lease_ticks: u64,
    /// `(round, tick)`: the first round sent at each tick, oldest first.
    /// Rounds and ticks both only grow, so the tick a round was sent at is
    /// that of the last entry at or below it. Entries too old to give a
    /// lease are dropped, so this holds at most `lease_ticks + 1`.
    sent: VecDeque<(u64, u64)>,
    /// The highest round a majority acknowledged so far.
    confirmed: u64,
    /// The lease holds while the clock is below this tick.
    until: u64,
}

impl Lease {
    /// No lease yet; a confirmed round will keep it for `lease_ticks`.
    pub fn new(lease_ticks: u32) -> Lease {
        Lease {
            lease_ticks: u64::from(lease_ticks),
            sent: VecDeque::new(),
            confirmed: 0,
            until: 0,
        }
    }

    /// Records that heartbeat round `round` left at tick `now`.
    pub fn on_round_sent(&mut self, round: u64, now: u64) {
        self.forget_old_rounds(now);
        if self.sent.back().is_none_or(|&(_, tick)| tick < now) {
            self.sent.push_back((round, now));
        }
    }

    /// A majority acknowledged rounds up to `confirmed`: the lease runs
    /// until `lease_ticks` after the tick that round was sent at.
    pub fn on_round_confirmed(&mut self, confirmed: u64) {
        if confirmed <= self.confirmed {
            return;
        }
        self.confirmed = confirmed;
        // The tick of the last entry at or below `confirmed`; none if it
        // was dropped as too old, which then gives no lease anyway.
        let sent_at = self
            .sent
            .iter()
            .take_while(|&&(round, _)| round <= confirmed)
            .last()
            .map(|&(_, tick)| tick);
        if let Some(sent_at) = sent_at {
            self.until = self.until.max(sent_at + self.lease_ticks);
        }
        // Keep the entry that covers `confirmed`: later rounds of its tick
        // still need it.
        while self.sent.len() >= 2 && self.sent[1].0 <= confirmed {
            self.sent.pop_front();
        }
    }

    /// Whether the lease holds at tick `now`.
    pub fn holds(&self, now: u64) -> bool {
        now < self.until
    }

    /// Forgets everything: the node stopped leading, or leads a new term.
    pub fn clear(&mut self) {
        *self = Lease::new(self.lease_ticks as u32);
    }

    /// Drops the rounds sent too long ago to give a lease at `now` (the
    /// front entry stays while the next one is recent: it covers rounds up
    /// to that one's), so that `sent` stays bounded while no majority
    /// answers.
    fn forget_old_rounds(&mut self, now: u64) {
        while self.sent.len() >= 2 && self.sent[1].1 + self.lease_ticks <= now {
            self.sent.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lease_runs_from_the_sending_of_the_confirmed_round() {
        let mut lease = Lease::new(6);
        assert!(!lease.holds(0), "no lease before any round");
        lease.on_round_sent(1, 10);
        lease.on_round_sent(2, 12);
        lease.on_round_sent(3, 12);
        // Round 1's answers come in at tick 15: the lease still counts from
        // tick 10.
        lease.on_round_confirmed(1);
        assert!(lease.holds(15));
        assert!(!lease.holds(16), "10 + 6");
        // Round 3 was sent at tick 12, as round 2 was.
        lease.on_round_confirmed(3);
        assert!(lease.holds(17));
        assert!(!lease.holds(18));
        lease.on_round_confirmed(2);
        assert!(!lease.holds(18), "an older round never extends it");
    }

    #[test]
    fn rounds_too_old_to_give_a_lease_are_forgotten() {
        let mut lease = Lease::new(6);
        for tick in 0..100 {
            lease.on_round_sent(tick + 1, tick);
        }
        assert!(lease.sent.len() <= 7, "{} entries", lease.sent.len());
        // A late answer to a forgotten round gives no lease.
        lease.on_round_confirmed(3);
        assert!(!lease.holds(99));
        lease.on_round_confirmed(98);
        assert!(lease.holds(99), "round 98 left at tick 97");
        lease.clear();
        assert!(!lease.holds(99));
    }
}
