//! A linearizability checker for one object's history: the Wing-Gong
//! search, with Lowe's memoization of (operations linearized, state) pairs,
//! as in Knossos and Porcupine.
//!
//! A history is a set of operations, each with the time it was called and
//! the time it returned (`None`: it never returned, so it may take effect at
//! any point after its call, or never). It is linearizable if some total
//! order of the operations respects real time (an operation that returned
//! before another was called comes first) and, replayed through the
//! sequential [`Model`], gives every operation the output it observed.
//!
//! The search walks the call and return events in time order. At a call it
//! tries to linearize that operation now (the model accepts its output from
//! the current state); at a return whose operation is not yet linearized it
//! backtracks, since that operation had to take effect before it returned.
//! A (linearized set, state) pair seen before is a dead end already
//! explored, which keeps the search polynomial on the histories a real
//! system produces.
//!
//! **Memory.** The memo keeps a 64-bit hash of each state, not the state
//! (a buyer's state holds a whole cart), and at most [`MEMO_ENTRIES_MAX`]
//! pairs; past that the search goes on without remembering more (still
//! correct, only slower), so memory stays bounded whatever the budget. A
//! hash collision could only make the search skip a branch, with odds of
//! about 2^-64 per pair (as for the set's hash below).

use std::collections::hash_map::DefaultHasher;
use std::collections::HashSet;
use std::hash::{Hash, Hasher};

/// The sequential specification of one object.
pub trait Model {
    /// The object's state.
    type State: Clone + Eq + Hash;
    /// One operation: what was asked and what was observed.
    type Operation;

    /// The state after `operation` if it can take effect in `state` with
    /// the output it observed; `None` if it cannot.
    fn step(&self, state: &Self::State, operation: &Self::Operation) -> Option<Self::State>;
}

/// One operation of a history.
#[derive(Clone, Debug, PartialEq)]
pub struct Timed<O> {
    /// When it was called (any monotonic unit).
    pub call: u64,
    /// When its answer arrived; `None` if it never did.
    pub ret: Option<u64>,
    /// The operation and its observed output.
    pub operation: O,
}

/// What the search found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Some order explains every observation.
    Linearizable,
    /// No order does. `stuck` holds the operations (indices into the
    /// history) that were pending when the deepest attempt failed: the
    /// sub-history that shows the anomaly.
    NotLinearizable {
        /// Indices into the history of the operations pending at the
        /// deepest failed attempt.
        stuck: Vec<usize>,
    },
    /// The search gave up after its step budget.
    Inconclusive,
}

/// The most steps one search takes: far beyond what the per-key histories of a
/// chaos run need, and a bound on a pathological one.
pub const SEARCH_STEPS_MAX: u64 = 20_000_000;

/// The most (linearized set, state hash) pairs the memo keeps: each is 24
/// bytes, about 40 with the table's own, so about 160 MB at most.
pub const MEMO_ENTRIES_MAX: usize = 4_000_000;

/// An event in time order; `op` indexes the history.
#[derive(Clone, Copy, Debug)]
struct Event {
    op: usize,
    is_call: bool,
}

/// A doubly linked list of events over a vector, so that linearizing an
/// operation (lifting its call and return out of the list) and undoing it
/// are O(1).
struct EventList {
    events: Vec<Event>,
    /// `next[i]`/`prev[i]` for event i; index `len` is the head sentinel.
    next: Vec<usize>,
    prev: Vec<usize>,
    /// For each operation, the positions of its call and return events.
    call_of: Vec<usize>,
    return_of: Vec<usize>,
}

impl EventList {
    fn new<O>(history: &[Timed<O>]) -> EventList {
        // Returns sort after calls at the same instant: operations that
        // touch are treated as concurrent, the permissive reading.
        let mut keyed: Vec<(u64, bool, usize)> = Vec::with_capacity(history.len() * 2);
        for (op, timed) in history.iter().enumerate() {
            keyed.push((timed.call, false, op));
            keyed.push((timed.ret.unwrap_or(u64::MAX), true, op));
        }
        keyed.sort_unstable();
        let len = keyed.len();
        let mut call_of = vec![0; history.len()];
        let mut return_of = vec![0; history.len()];
        let events: Vec<Event> = keyed
            .iter()
            .enumerate()
            .map(|(position, &(_, is_return, op))| {
                if is_return {
                    return_of[op] = position;
                } else {
                    call_of[op] = position;
                }
                Event {
                    op,
                    is_call: !is_return,
                }
            })
            .collect();
        // Positions 0..len are events; `len` is the head. The list is
        // circular through the head, so `next[last] == head`.
        let head = len;
        let mut next = vec![0; len + 1];
        let mut prev = vec![0; len + 1];
        for position in 0..=len {
            next[position] = if position == len { 0 } else { position + 1 };
            prev[position] = if position == 0 { head } else { position - 1 };
        }
        if len == 0 {
            next[head] = head;
            prev[head] = head;
        } else {
            next[len - 1] = head;
            prev[head] = len - 1;
        }
        EventList {
            events,
            next,
            prev,
            call_of,
            return_of,
        }
    }

    fn head(&self) -> usize {
        self.events.len()
    }

    fn first(&self) -> usize {
        self.next[self.head()]
    }

    fn unlink(&mut self, position: usize) {
        let (p, n) = (self.prev[position], self.next[position]);
        self.next[p] = n;
        self.prev[n] = p;
    }

    fn relink(&mut self, position: usize) {
        let (p, n) = (self.prev[position], self.next[position]);
        self.next[p] = position;
        self.prev[n] = position;
    }

    /// Takes operation `op`'s call and return out of the list.
    fn lift(&mut self, op: usize) {
        self.unlink(self.call_of[op]);
        self.unlink(self.return_of[op]);
    }

    /// Puts them back, in the reverse order of `lift`.
    fn unlift(&mut self, op: usize) {
        self.relink(self.return_of[op]);
        self.relink(self.call_of[op]);
    }
}

/// The set of linearized operations, kept as a count and a Zobrist hash
/// (the XOR of a random word per member) so that the memo's key costs O(1)
/// to update and to store, however long the history. Two different sets
/// share a hash with odds of about 2^-64 per pair; a collision could only
/// make the search skip a branch, never accept a wrong order.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct OpSet {
    hash: u64,
    count: usize,
}

impl OpSet {
    fn empty() -> OpSet {
        OpSet { hash: 0, count: 0 }
    }
    fn with(self, op: usize) -> OpSet {
        OpSet {
            hash: self.hash ^ member_word(op),
            count: self.count + 1,
        }
    }
    fn without(self, op: usize) -> OpSet {
        OpSet {
            hash: self.hash ^ member_word(op),
            count: self.count - 1,
        }
    }
}

/// A fixed pseudo-random word per operation index (splitmix64).
fn member_word(op: usize) -> u64 {
    let mut z = (op as u64).wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Checks one object's history against `model`, starting from `initial`,
/// with at most `budget` search steps.
pub fn check<M: Model>(
    model: &M,
    initial: M::State,
    history: &[Timed<M::Operation>],
    budget: u64,
) -> Verdict {
    search(model, initial, history, budget, MEMO_ENTRIES_MAX).0
}

/// What a search cost.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SearchCost {
    /// Steps taken (each tries or undoes one operation).
    pub steps: u64,
    /// Pairs the memo held at the end.
    pub memo_entries: usize,
}

/// [`check`] with the memo bounded at `memo_max` pairs, and what it cost.
pub fn search<M: Model>(
    model: &M,
    initial: M::State,
    history: &[Timed<M::Operation>],
    budget: u64,
    memo_max: usize,
) -> (Verdict, SearchCost) {
    let mut memo = Memo {
        seen: HashSet::new(),
        max: memo_max,
    };
    let mut steps = 0u64;
    let verdict = walk(model, initial, history, budget, &mut memo, &mut steps);
    let cost = SearchCost {
        steps,
        memo_entries: memo.seen.len(),
    };
    (verdict, cost)
}

fn walk<M: Model>(
    model: &M,
    initial: M::State,
    history: &[Timed<M::Operation>],
    budget: u64,
    memo: &mut Memo,
    steps: &mut u64,
) -> Verdict {
    let mut list = EventList::new(history);
    let mut linearized = OpSet::empty();
    // Operations linearized so far, with the state before each.
    let mut stack: Vec<(usize, M::State)> = Vec::new();
    let mut state = initial;
    let mut cursor = list.first();
    let mut deepest = 0usize;
    let mut stuck = Vec::new();
    while list.first() != list.head() {
        *steps += 1;
        if *steps > budget {
            return Verdict::Inconclusive;
        }
        if cursor == list.head() {
            // Only returns are left after the cursor's calls failed; the
            // next loop turn backtracks at the first of them.
            cursor = list.first();
        }
        let event = list.events[cursor];
        if event.is_call {
            if let Some(next_state) = model.step(&state, &history[event.op].operation) {
                let next_set = linearized.with(event.op);
                if memo.first_visit(next_set, &next_state) {
                    stack.push((event.op, state));
                    state = next_state;
                    linearized = next_set;
                    list.lift(event.op);
                    cursor = list.first();
                    continue;
                }
            }
            cursor = list.next[cursor];
        } else {
            // A return of an operation not yet linearized: every choice
            // since the last linearization point failed.
            let depth = linearized.count;
            if depth >= deepest {
                deepest = depth;
                stuck = pending_at(&list, cursor);
            }
            let Some((op, previous)) = stack.pop() else {
                return Verdict::NotLinearizable { stuck };
            };
            state = previous;
            linearized = linearized.without(op);
            list.unlift(op);
            cursor = list.next[list.call_of[op]];
        }
    }
    Verdict::Linearizable
}

/// The (linearized set, state) pairs the search has explored.
struct Memo {
    seen: HashSet<(OpSet, u64)>,
    /// Pairs kept at most.
    max: usize,
}

impl Memo {
    /// False if the pair was explored before; true (and remembered, while
    /// there is room) if not.
    fn first_visit<S: Hash>(&mut self, set: OpSet, state: &S) -> bool {
        let mut hasher = DefaultHasher::new();
        state.hash(&mut hasher);
        let key = (set, hasher.finish());
        if self.seen.contains(&key) {
            return false;
        }
        if self.seen.len() < self.max {
            self.seen.insert(key);
        }
        true
    }
}

/// The operations still in the list whose call comes at or before
/// `position`: those that could have taken effect when the search failed
/// there.
fn pending_at(list: &EventList, position: usize) -> Vec<usize> {
    let mut ops = Vec::new();
    let mut cursor = list.first();
    loop {
        let event = list.events[cursor];
        if event.is_call {
            ops.push(event.op);
        }
        if cursor == position {
            break;
        }
        cursor = list.next[cursor];
        if cursor == list.head() {
            break;
        }
    }
    if !ops.contains(&list.events[position].op) {
        ops.push(list.events[position].op);
    }
    ops.sort_unstable();
    ops
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A register of integers: writes and reads.
    struct Register;

    #[derive(Clone, Debug)]
    enum RegisterOp {
        Write(u32),
        Read(u32),
    }

    impl Model for Register {
        type State = u32;
        type Operation = RegisterOp;
        fn step(&self, state: &u32, operation: &RegisterOp) -> Option<u32> {
            match operation {
                RegisterOp::Write(value) => Some(*value),
                RegisterOp::Read(value) => (value == state).then_some(*state),
            }
        }
    }

    fn op(call: u64, ret: u64, operation: RegisterOp) -> Timed<RegisterOp> {
        Timed {
            call,
            ret: Some(ret),
            operation,
        }
    }

    fn verdict(history: &[Timed<RegisterOp>]) -> Verdict {
        check(&Register, 0, history, SEARCH_STEPS_MAX)
    }

    #[test]
    fn an_empty_history_is_linearizable() {
        assert_eq!(verdict(&[]), Verdict::Linearizable);
    }

    #[test]
    fn sequential_reads_see_the_last_write() {
        let history = [
            op(0, 1, RegisterOp::Write(1)),
            op(2, 3, RegisterOp::Read(1)),
            op(4, 5, RegisterOp::Write(2)),
            op(6, 7, RegisterOp::Read(2)),
        ];
        assert_eq!(verdict(&history), Verdict::Linearizable);
    }

    #[test]
    fn a_stale_read_after_a_completed_write_is_caught() {
        let history = [
            op(0, 1, RegisterOp::Write(1)),
            op(2, 3, RegisterOp::Read(0)),
        ];
        assert!(matches!(verdict(&history), Verdict::NotLinearizable { .. }));
    }

    #[test]
    fn a_read_concurrent_with_a_write_may_see_either_value() {
        for seen in [0, 1] {
            let history = [
                op(0, 10, RegisterOp::Write(1)),
                op(2, 3, RegisterOp::Read(seen)),
            ];
            assert_eq!(verdict(&history), Verdict::Linearizable, "read {seen}");
        }
    }

    #[test]
    fn reads_may_not_go_back_in_time() {
        // Both reads overlap the write, but once one read saw the new value
        // a later read may not see the old one.
        let history = [
            op(0, 10, RegisterOp::Write(1)),
            op(1, 2, RegisterOp::Read(1)),
            op(3, 4, RegisterOp::Read(0)),
        ];
        match verdict(&history) {
            Verdict::NotLinearizable { stuck } => assert!(stuck.contains(&2), "{stuck:?}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn concurrent_writes_order_as_the_reads_require() {
        // Two overlapping writes, then reads that agree on one order.
        let history = [
            op(0, 5, RegisterOp::Write(1)),
            op(1, 6, RegisterOp::Write(2)),
            op(7, 8, RegisterOp::Read(1)),
            op(9, 10, RegisterOp::Read(1)),
        ];
        assert_eq!(verdict(&history), Verdict::Linearizable);
        // A read of a value never written is not.
        let history = [
            op(0, 5, RegisterOp::Write(1)),
            op(1, 6, RegisterOp::Write(2)),
            op(7, 8, RegisterOp::Read(3)),
        ];
        assert!(matches!(verdict(&history), Verdict::NotLinearizable { .. }));
    }

    #[test]
    fn a_write_that_never_returned_may_or_may_not_take_effect() {
        let pending = Timed {
            call: 0,
            ret: None,
            operation: RegisterOp::Write(7),
        };
        for seen in [0, 7] {
            let history = [pending.clone(), op(5, 6, RegisterOp::Read(seen))];
            assert_eq!(verdict(&history), Verdict::Linearizable, "read {seen}");
        }
        // But once seen, it stays.
        let history = [
            pending.clone(),
            op(5, 6, RegisterOp::Read(7)),
            op(7, 8, RegisterOp::Read(0)),
        ];
        assert!(matches!(verdict(&history), Verdict::NotLinearizable { .. }));
    }

    #[test]
    fn many_concurrent_operations_stay_cheap() {
        // 8 writers and 8 readers overlapping in waves: the memo keeps the
        // search far inside its budget.
        let mut history = Vec::new();
        for wave in 0..50u64 {
            let base = wave * 100;
            for writer in 0..4u32 {
                history.push(op(
                    base + u64::from(writer),
                    base + 50,
                    RegisterOp::Write(writer),
                ));
            }
            for reader in 0..4u64 {
                history.push(op(base + 10 + reader, base + 40, RegisterOp::Read(3)));
            }
        }
        assert_eq!(
            check(&Register, 0, &history, 2_000_000),
            Verdict::Linearizable
        );
    }

    #[test]
    fn a_full_memo_bounds_memory_and_changes_no_verdict() {
        // The memo stops growing at its bound; the search goes on without it.
        let mut history = Vec::new();
        for wave in 0..6u64 {
            let base = wave * 100;
            for writer in 0..3u32 {
                history.push(op(
                    base + u64::from(writer),
                    base + 50,
                    RegisterOp::Write(writer),
                ));
            }
            history.push(op(base + 10, base + 40, RegisterOp::Read(2)));
        }
        let (full, full_cost) = search(&Register, 0, &history, 2_000_000, usize::MAX);
        let (bounded, bounded_cost) = search(&Register, 0, &history, 2_000_000, 5);
        assert_eq!(
            (full, bounded.clone()),
            (Verdict::Linearizable, Verdict::Linearizable)
        );
        assert!(full_cost.memo_entries > 5, "{full_cost:?}");
        assert_eq!(bounded_cost.memo_entries, 5);
        history.push(op(1_000, 1_001, RegisterOp::Read(7)));
        let (stale, _) = search(&Register, 0, &history, 2_000_000, 5);
        assert!(matches!(stale, Verdict::NotLinearizable { .. }));
    }

    #[test]
    fn the_budget_bounds_the_search() {
        let history = [
            op(0, 1, RegisterOp::Write(1)),
            op(2, 3, RegisterOp::Read(1)),
        ];
        assert_eq!(check(&Register, 0, &history, 1), Verdict::Inconclusive);
    }
}
