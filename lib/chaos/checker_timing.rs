//! `chaos --time-checker`: how long the linearizability checker takes on
//! one object's history of many operations, a benchmark (not a test).
//!
//! The histories are generated: `CLIENTS` concurrent clients call one item
//! (reads, purchases, price changes, removals), each call lasting a random
//! while, and each taking effect at a random point inside it; replaying the
//! calls in the order of those points gives every call its output. So the
//! history is linearizable by construction, with as much overlap as a busy
//! object gets. The second history is the same with one read made stale
//! (it sees a price from before a price change that had returned), which
//! the checker must find.

use std::fmt::Write;
use std::time::Instant;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::linearizability::{
    search, SearchCost, Timed, Verdict, MEMO_ENTRIES_MAX, SEARCH_STEPS_MAX,
};
use super::models::{ItemFacts, ItemModel, ItemOp};

/// Concurrent clients of the object.
const CLIENTS: usize = 10;

/// The report: one line per history.
pub fn time_checker(ops: usize, seed: u64) -> String {
    let mut rng = StdRng::seed_from_u64(seed);
    let history = item_history(ops, &mut rng);
    let mut report = format!(
        "checker timing: one item, {ops} operations from {CLIENTS} concurrent clients, \
         seed {seed}\n"
    );
    line(&mut report, "linearizable", &history);
    let stale = with_stale_read(history);
    line(&mut report, "one stale read", &stale);
    report
}

fn line(report: &mut String, name: &str, history: &[Timed<ItemOp>]) {
    let started = Instant::now();
    let (verdict, cost): (Verdict, SearchCost) = search(
        &ItemModel,
        None,
        history,
        SEARCH_STEPS_MAX,
        MEMO_ENTRIES_MAX,
    );
    let took = started.elapsed();
    let verdict = match verdict {
        Verdict::Linearizable => "linearizable".to_string(),
        Verdict::NotLinearizable { stuck } => {
            format!("not linearizable ({} calls shown)", stuck.len())
        }
        Verdict::Inconclusive => "inconclusive (budget)".to_string(),
    };
    let _ = writeln!(
        report,
        "  {name:<15} {verdict:<36} {:>9.3} s  {:>10} steps  {:>9} memo entries",
        took.as_secs_f64(),
        cost.steps,
        cost.memo_entries
    );
}

/// A linearizable history of one item: put up first, then `ops` calls.
fn item_history(ops: usize, rng: &mut StdRng) -> Vec<Timed<ItemOp>> {
    let mut facts = ItemFacts {
        quantity: 1_000_000,
        price: 100,
    };
    let mut history = vec![Timed {
        call: 0,
        ret: Some(1),
        operation: ItemOp::Put(facts),
    }];
    // Each call: (its point of effect, call, return, what it asks).
    let mut calls = Vec::with_capacity(ops);
    let mut free_at = [2u64; CLIENTS];
    for number in 0..ops {
        let client = number % CLIENTS;
        let call = free_at[client] + rng.gen_range(0..20);
        let ret = call + rng.gen_range(1..200);
        let point = rng.gen_range(call..ret);
        free_at[client] = ret + 1;
        calls.push((point, call, ret, rng.gen_range(0..100u32)));
    }
    calls.sort_unstable();
    for (_, call, ret, draw) in calls {
        let operation = match draw {
            0..=39 => ItemOp::Read(facts),
            40..=69 => {
                let quantity = rng.gen_range(1..=3);
                facts.quantity -= quantity;
                ItemOp::Buy {
                    quantity,
                    price: facts.price,
                }
            }
            70..=84 => {
                facts.price = rng.gen_range(1..10_000);
                ItemOp::SetPrice { price: facts.price }
            }
            _ => {
                let quantity = rng.gen_range(1..=5);
                facts.quantity -= quantity;
                ItemOp::Remove {
                    quantity,
                    left: facts.quantity,
                }
            }
        };
        history.push(Timed {
            call,
            ret: Some(ret),
            operation,
        });
    }
    history.sort_by_key(|timed| timed.call);
    history
}

/// The history with one read, late in it, seeing the price from before the
/// last price change that returned before the read was called.
fn with_stale_read(mut history: Vec<Timed<ItemOp>>) -> Vec<Timed<ItemOp>> {
    let reads: Vec<usize> = (0..history.len())
        .filter(|&i| matches!(history[i].operation, ItemOp::Read(_)))
        .collect();
    for &read in reads.iter().rev().skip(reads.len() / 4) {
        let called = history[read].call;
        let earlier_price = history[..read]
            .iter()
            .rev()
            .find_map(|timed| match timed.operation {
                ItemOp::SetPrice { price } if timed.ret.is_some_and(|ret| ret < called) => {
                    Some(price)
                }
                _ => None,
            });
        let ItemOp::Read(seen) = history[read].operation else {
            continue;
        };
        // A price set before that one, so it is surely overwritten.
        let older = history[..read]
            .iter()
            .find_map(|timed| match timed.operation {
                ItemOp::SetPrice { price }
                    if Some(price) != earlier_price && price != seen.price =>
                {
                    Some(price)
                }
                _ => None,
            });
        if let (Some(_), Some(older)) = (earlier_price, older) {
            history[read].operation = ItemOp::Read(ItemFacts {
                price: older,
                ..seen
            });
            return history;
        }
    }
    history
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chaos::linearizability::check;

    #[test]
    fn generated_histories_are_linearizable_and_the_stale_one_is_not() {
        let mut rng = StdRng::seed_from_u64(3);
        let history = item_history(500, &mut rng);
        assert_eq!(
            check(&ItemModel, None, &history, SEARCH_STEPS_MAX),
            Verdict::Linearizable
        );
        let stale = with_stale_read(history);
        assert!(matches!(
            check(&ItemModel, None, &stale, SEARCH_STEPS_MAX),
            Verdict::NotLinearizable { .. }
        ));
    }
}
