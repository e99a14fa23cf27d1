//! The packet simulator: packets between numbered nodes, each due at a
//! simulated time (a step, a tick: the caller's unit), with loss,
//! duplication, delay and cut links.
//!
//! Loss, duplication and delay are drawn when a packet is sent; a cut link
//! is checked when it falls due, so that a partition also catches what was
//! in flight when it began. Packets due at the same time come in send
//! order, or in a random order with `shuffle_ties`.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::SimRng;

/// The faults applied to each packet sent.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Faults {
    /// The chance that a packet is lost.
    pub loss: f64,
    /// The chance that a packet arrives twice (each copy delayed apart).
    pub duplicate: f64,
    /// The shortest delay, in time units.
    pub delay_min: u64,
    /// The longest delay (at least `delay_min`).
    pub delay_max: u64,
}

/// A packet that fell due.
#[derive(Debug)]
pub struct Arrival<P> {
    /// The node that sent it.
    pub from: usize,
    /// The node it is for.
    pub to: usize,
    /// What it carries.
    pub packet: P,
    /// True if its link was cut when it fell due: it is lost.
    pub blocked: bool,
}

/// A packet in flight, ordered by its due time, then its tie-break.
struct InFlight<P> {
    due: u64,
    tie: u64,
    from: usize,
    to: usize,
    packet: P,
}

impl<P> PartialEq for InFlight<P> {
    fn eq(&self, other: &Self) -> bool {
        (self.due, self.tie) == (other.due, other.tie)
    }
}
impl<P> Eq for InFlight<P> {}
impl<P> PartialOrd for InFlight<P> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl<P> Ord for InFlight<P> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.due, self.tie).cmp(&(other.due, other.tie))
    }
}

/// Packets in flight between `size` nodes, and the faults they meet.
pub struct PacketSim<P> {
    rng: SimRng,
    queue: BinaryHeap<Reverse<InFlight<P>>>,
    sent: u64,
    /// `blocked[from][to]`: packets on this link are lost when due.
    blocked: Vec<Vec<bool>>,
    /// The faults drawn for each packet sent.
    pub faults: Faults,
    /// Packets due at the same time come in a random order, not in send
    /// order.
    pub shuffle_ties: bool,
}

impl<P: Clone> PacketSim<P> {
    /// A quiet network between `size` nodes, drawing from `rng`.
    pub fn new(size: usize, rng: SimRng) -> PacketSim<P> {
        PacketSim {
            rng,
            queue: BinaryHeap::new(),
            sent: 0,
            blocked: vec![vec![false; size]; size],
            faults: Faults::default(),
            shuffle_ties: false,
        }
    }

    /// Sends `packet` at time `now`: lost, once, or twice, each copy after
    /// a delay drawn from the faults.
    pub fn send(&mut self, now: u64, from: usize, to: usize, packet: P) {
        let faults = self.faults;
        if self.rng.chance(faults.loss) {
            return;
        }
        let copies = if self.rng.chance(faults.duplicate) {
            2
        } else {
            1
        };
        for _ in 0..copies {
            let spread = faults.delay_max.saturating_sub(faults.delay_min);
            let delay = faults.delay_min + self.rng.below(spread + 1);
            self.send_at(now + delay, from, to, packet.clone());
        }
    }

    /// Puts `packet` in flight, due at `due`, with no fault drawn (a packet
    /// held back, say in a paused node's socket).
    pub fn send_at(&mut self, due: u64, from: usize, to: usize, packet: P) {
        self.sent += 1;
        let tie = if self.shuffle_ties {
            self.rng.next_u64()
        } else {
            self.sent
        };
        self.queue.push(Reverse(InFlight {
            due,
            tie,
            from,
            to,
            packet,
        }));
    }

    /// The next packet due at `now` or before (any packet if `now` is
    /// None), marked `blocked` if its link is cut.
    pub fn pop_due(&mut self, now: Option<u64>) -> Option<Arrival<P>> {
        let due = self.queue.peek()?.0.due;
        if now.is_some_and(|now| due > now) {
            return None;
        }
        let flight = self.queue.pop().expect("peeked").0;
        Some(Arrival {
            blocked: self.blocked[flight.from][flight.to],
            from: flight.from,
            to: flight.to,
            packet: flight.packet,
        })
    }

    /// Forgets the packets in flight for which `keep` is false.
    pub fn retain(&mut self, mut keep: impl FnMut(usize, usize, &P) -> bool) {
        let queue = std::mem::take(&mut self.queue);
        self.queue = queue
            .into_iter()
            .filter(|flight| keep(flight.0.from, flight.0.to, &flight.0.packet))
            .collect();
    }

    /// Cuts both directions between `a` and `b`.
    pub fn cut(&mut self, a: usize, b: usize) {
        self.blocked[a][b] = true;
        self.blocked[b][a] = true;
    }

    /// Cuts `a` off from everyone.
    pub fn isolate(&mut self, a: usize) {
        for other in (0..self.blocked.len()).filter(|other| *other != a) {
            self.cut(a, other);
        }
    }

    /// Splits the nodes into two sides that cannot talk.
    pub fn partition(&mut self, side: &[bool]) {
        for from in 0..side.len() {
            for to in 0..side.len() {
                self.blocked[from][to] = side[from] != side[to];
            }
        }
    }

    /// Repairs every link.
    pub fn heal(&mut self) {
        for row in &mut self.blocked {
            row.fill(false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packets_come_when_due_in_send_order_and_cut_links_mark_them() {
        let mut packets = PacketSim::new(3, SimRng::new(1));
        packets.send(0, 0, 1, "a");
        packets.send(0, 0, 2, "b");
        packets.faults.delay_min = 5;
        packets.faults.delay_max = 5;
        packets.send(0, 1, 2, "late");
        packets.cut(0, 2);
        let first = packets.pop_due(Some(0)).expect("due");
        assert_eq!((first.packet, first.blocked), ("a", false));
        let second = packets.pop_due(Some(0)).expect("due");
        assert_eq!((second.packet, second.blocked), ("b", true));
        assert!(packets.pop_due(Some(4)).is_none(), "not yet");
        assert_eq!(packets.pop_due(None).expect("any").packet, "late");
    }

    #[test]
    fn loss_and_duplication_are_drawn_per_packet() {
        let mut packets = PacketSim::new(2, SimRng::new(2));
        packets.faults.loss = 1.0;
        packets.send(0, 0, 1, 1);
        assert!(packets.pop_due(None).is_none(), "lost");
        packets.faults = Faults {
            duplicate: 1.0,
            ..Faults::default()
        };
        packets.send(0, 0, 1, 2);
        assert!(packets.pop_due(None).is_some() && packets.pop_due(None).is_some());
        assert!(packets.pop_due(None).is_none());
    }
}
