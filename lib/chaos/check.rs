//! The verdicts on a run: linearizability of every object's history (an
//! item's stock and price, a buyer's cart and history, an account name),
//! and the invariants the spec states about units and purchases, read back
//! after the whole cluster restarted from its data folders.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use super::history::{Effect, HistorySnapshot, Key, Record};
use super::linearizability::{check, Model, Timed, Verdict, SEARCH_STEPS_MAX};
use super::models::{BuyerModel, BuyerState, ItemModel, ItemOp, NameModel};

/// Something a correct system would not have done.
#[derive(Clone, Debug)]
pub struct Anomaly {
    /// What is wrong, in a line.
    pub what: String,
    /// The calls that show it.
    pub evidence: Vec<String>,
}

/// What the checks found.
#[derive(Clone, Debug, Default)]
pub struct CheckReport {
    /// Objects whose histories were found linearizable, per kind.
    pub linearizable: BTreeMap<&'static str, usize>,
    /// Operations in those histories.
    pub operations_checked: usize,
    /// Objects not checked, with why.
    pub skipped: Vec<String>,
    /// Objects whose search ran out of budget.
    pub inconclusive: Vec<String>,
    /// Everything wrong.
    pub anomalies: Vec<Anomaly>,
}

/// The exit status of a run with these checks: 1 on any anomaly, else 3
/// if some object was not decided (skipped, or out of budget: a check that
/// did not finish proves nothing), else 0.
pub fn exit_status(checks: &CheckReport, other_anomalies: usize) -> i32 {
    if !checks.anomalies.is_empty() || other_anomalies > 0 {
        1
    } else if !checks.skipped.is_empty() || !checks.inconclusive.is_empty() {
        3
    } else {
        0
    }
}

#[cfg(test)]
mod exit_status_tests {
    use super::*;

    #[test]
    fn an_undecided_object_is_never_a_pass() {
        let mut checks = CheckReport::default();
        assert_eq!(exit_status(&checks, 0), 0);
        checks.inconclusive.push("buyer 3".into());
        assert_eq!(exit_status(&checks, 0), 3);
        checks.inconclusive.clear();
        checks.skipped.push("item 1-1: too many operations".into());
        assert_eq!(exit_status(&checks, 0), 3);
        assert_eq!(exit_status(&checks, 1), 1, "an anomaly outranks it");
    }
}

#[cfg(test)]
mod first_anomaly_tests {
    use super::*;
    use crate::chaos::models::ItemFacts;
    use std::sync::Arc;

    fn record(item: &str, call: u64, op: ItemOp) -> Record {
        Record {
            key: Key::Item(item.to_string()),
            call,
            ret: Some(call + 1),
            client: 0,
            text: Arc::from("call"),
            effect: Effect::Item(op),
        }
    }

    #[test]
    fn checking_can_stop_at_the_first_anomaly() {
        let facts = ItemFacts {
            quantity: 5,
            price: 100,
        };
        let stale = ItemFacts {
            quantity: 9,
            ..facts
        };
        let mut snapshot = HistorySnapshot::default();
        for item in ["1-1", "1-2", "1-3"] {
            snapshot.records.push(record(item, 0, ItemOp::Put(facts)));
            snapshot.records.push(record(item, 10, ItemOp::Read(stale)));
        }
        let all = check_histories(&snapshot, false);
        assert_eq!((all.anomalies.len(), all.skipped.len()), (3, 0));
        let first = check_histories(&snapshot, true);
        assert_eq!((first.anomalies.len(), first.skipped.len()), (1, 2));
        assert!(first.skipped[0].contains("--first-anomaly"));
    }
}

/// A purchase as a history lists it: its id and units per item.
pub type ListedPurchase = (String, BTreeMap<String, u32>);

/// What the cluster holds at the end, read after a full restart.
#[derive(Clone, Debug, Default)]
pub struct FinalState {
    /// Units left per item.
    pub units_left: BTreeMap<String, u32>,
    /// Each buyer's purchases: (purchase id, units per item), oldest first.
    pub histories: BTreeMap<u64, Vec<ListedPurchase>>,
    /// Units sold, per seller, as the customer DB counts them.
    pub items_sold: BTreeMap<u64, u64>,
}

/// Checks every object's history; with `first_anomaly`, stops at the first
/// object found not linearizable and lists the rest as not checked.
pub fn check_histories(snapshot: &HistorySnapshot, first_anomaly: bool) -> CheckReport {
    let mut report = CheckReport::default();
    let mut by_key: BTreeMap<&Key, Vec<&Record>> = BTreeMap::new();
    for record in &snapshot.records {
        by_key.entry(&record.key).or_default().push(record);
    }
    for (key, records) in by_key {
        if first_anomaly && !report.anomalies.is_empty() {
            report
                .skipped
                .push(format!("{key:?}: not checked (--first-anomaly)"));
            continue;
        }
        if snapshot.tainted.contains(key)
            || (snapshot.all_items_tainted && matches!(key, Key::Item(_)))
        {
            report.skipped.push(format!(
                "{key:?}: a call on it never got an answer the model can place"
            ));
            continue;
        }
        let (kind, verdict) = match key {
            Key::Item(_) => ("items", verdict_of(&ItemModel, None, &records, item_op)),
            Key::Buyer(_) => (
                "buyers",
                verdict_of(&BuyerModel, BuyerState::default(), &records, buyer_op),
            ),
            Key::Name(_) => ("names", verdict_of(&NameModel, false, &records, name_op)),
        };
        match verdict {
            Verdict::Linearizable => {
                *report.linearizable.entry(kind).or_insert(0) += 1;
                report.operations_checked += records.len();
            }
            Verdict::Inconclusive => report.inconclusive.push(format!("{key:?}")),
            Verdict::NotLinearizable { stuck } => report.anomalies.push(Anomaly {
                what: format!("{key:?}: no order of its calls explains what clients saw"),
                evidence: stuck.iter().map(|&i| timeline(records[i])).collect(),
            }),
        }
    }
    report
}

fn verdict_of<M: Model>(
    model: &M,
    initial: M::State,
    records: &[&Record],
    operation: fn(&Effect) -> Option<M::Operation>,
) -> Verdict {
    let history: Option<Vec<Timed<M::Operation>>> = records
        .iter()
        .map(|record| {
            Some(Timed {
                call: record.call,
                ret: record.ret,
                operation: operation(&record.effect)?,
            })
        })
        .collect();
    match history {
        Some(history) => check(model, initial, &history, SEARCH_STEPS_MAX),
        // A record filed under the wrong kind of key is the recorder's bug.
        None => Verdict::NotLinearizable { stuck: Vec::new() },
    }
}

fn item_op(effect: &Effect) -> Option<ItemOp> {
    match effect {
        Effect::Item(op) => Some(op.clone()),
        _ => None,
    }
}

fn buyer_op(effect: &Effect) -> Option<super::models::BuyerOp> {
    match effect {
        Effect::Buyer(op) => Some(op.clone()),
        _ => None,
    }
}

fn name_op(effect: &Effect) -> Option<super::models::NameOp> {
    match effect {
        Effect::Name(op) => Some(op.clone()),
        _ => None,
    }
}

fn timeline(record: &Record) -> String {
    let ms = |us: u64| format!("{:.3}", us as f64 / 1000.0);
    let end = record.ret.map_or("never".to_string(), ms);
    format!("[{} .. {} ms] {}", ms(record.call), end, record.text)
}

/// Checks the invariants on units and purchases against the final state.
pub fn check_invariants(snapshot: &HistorySnapshot, end: &FinalState) -> Vec<Anomaly> {
    let bought_per_item = units_bought_per_item(end);
    let mut anomalies = units_sold_equal_units_bought(end, &bought_per_item);
    anomalies.extend(units_left_account_for_removed_and_sold(
        snapshot,
        end,
        &bought_per_item,
    ));
    anomalies.extend(acknowledged_purchases_listed_once(snapshot, end));
    anomalies
}

/// Units bought per item, summed over every purchase in the buyers'
/// histories after the restart.
fn units_bought_per_item(end: &FinalState) -> BTreeMap<&str, u64> {
    let mut bought_per_item: BTreeMap<&str, u64> = BTreeMap::new();
    for purchases in end.histories.values() {
        for (_, lines) in purchases {
            for (item, quantity) in lines {
                *bought_per_item.entry(item).or_insert(0) += u64::from(*quantity);
            }
        }
    }
    bought_per_item
}

/// Units sold (the sellers' counts) equal units bought (the buyers'
/// histories); `bought_per_item` is [`units_bought_per_item`].
fn units_sold_equal_units_bought(
    end: &FinalState,
    bought_per_item: &BTreeMap<&str, u64>,
) -> Vec<Anomaly> {
    let mut anomalies = Vec::new();
    let units_in_histories: u64 = bought_per_item.values().sum();
    let counted: u64 = end.items_sold.values().sum();
    if counted != units_in_histories {
        anomalies.push(Anomaly {
            what: format!(
                "the sellers' counts say {counted} units sold, \
                 the buyers' histories {units_in_histories} bought"
            ),
            evidence: end
                .items_sold
                .iter()
                .map(|(seller, sold)| format!("seller {seller}: {sold} sold"))
                .collect(),
        });
    }
    anomalies
}

/// Every unit that left an item was sold or removed, exactly: for each
/// item put up, units put up less units left equals units removed plus
/// units bought (`bought_per_item`). Items a removal of unknown outcome
/// touched are passed over, and all of them when every item is tainted.
fn units_left_account_for_removed_and_sold(
    snapshot: &HistorySnapshot,
    end: &FinalState,
    bought_per_item: &BTreeMap<&str, u64>,
) -> Vec<Anomaly> {
    let mut anomalies = Vec::new();
    let uncertain: BTreeSet<&str> = snapshot
        .records
        .iter()
        .filter(|r| matches!(r.effect, Effect::Item(ItemOp::MaybeRemove { .. })))
        .filter_map(|r| match &r.key {
            Key::Item(id) => Some(id.as_str()),
            _ => None,
        })
        .collect();
    if snapshot.all_items_tainted {
        return anomalies;
    }
    for (item, facts) in &snapshot.items {
        if uncertain.contains(item.as_str()) {
            continue;
        }
        let Some(left) = end.units_left.get(item) else {
            anomalies.push(Anomaly {
                what: format!("item {item} was put up but is gone after the restart"),
                evidence: Vec::new(),
            });
            continue;
        };
        let removed = snapshot.removed.get(item).copied().unwrap_or(0);
        let sold = bought_per_item.get(item.as_str()).copied().unwrap_or(0);
        let gone = u64::from(facts.quantity).saturating_sub(u64::from(*left));
        if u64::from(*left) > u64::from(facts.quantity) || gone != removed + sold {
            anomalies.push(Anomaly {
                what: format!(
                    "item {item}: put up with {}, {left} left, \
                     but {removed} removed and {sold} sold",
                    facts.quantity
                ),
                evidence: Vec::new(),
            });
        }
    }
    anomalies
}

/// Every acknowledged purchase is in its buyer's history exactly once, and
/// nothing else is; buyers with a call of unknown outcome are passed over.
fn acknowledged_purchases_listed_once(
    snapshot: &HistorySnapshot,
    end: &FinalState,
) -> Vec<Anomaly> {
    let mut anomalies = Vec::new();
    let mut acked: BTreeMap<u64, Vec<&str>> = BTreeMap::new();
    for purchase in &snapshot.purchases {
        acked
            .entry(purchase.buyer)
            .or_default()
            .push(&purchase.purchase_id);
    }
    for (buyer, purchases) in &end.histories {
        if snapshot.tainted.contains(&Key::Buyer(*buyer)) {
            continue;
        }
        let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
        for (id, _) in purchases {
            *seen.entry(id).or_insert(0) += 1;
        }
        let expected = acked.get(buyer).cloned().unwrap_or_default();
        let mut problems = String::new();
        for id in &expected {
            match seen.get(id) {
                Some(1) => {}
                Some(n) => {
                    let _ = write!(problems, " {id} appears {n} times;");
                }
                None => {
                    let _ = write!(problems, " {id} is missing;");
                }
            }
        }
        for id in seen.keys() {
            if !expected.contains(id) {
                let _ = write!(problems, " {id} was never acknowledged;");
            }
        }
        if !problems.is_empty() {
            anomalies.push(Anomaly {
                what: format!("buyer {buyer}'s history:{problems}"),
                evidence: Vec::new(),
            });
        }
    }
    anomalies
}

#[cfg(test)]
mod tests {
    use super::super::history::AckedPurchase;
    use super::super::models::ItemFacts;
    use super::*;

    fn lines(item: &str, quantity: u32) -> BTreeMap<String, u32> {
        BTreeMap::from([(item.to_string(), quantity)])
    }

    fn ledger() -> (HistorySnapshot, FinalState) {
        let mut snapshot = HistorySnapshot::default();
        snapshot.items.insert(
            "1-1".into(),
            ItemFacts {
                quantity: 10,
                price: 100,
            },
        );
        snapshot.removed.insert("1-1".into(), 2);
        snapshot.purchases.push(AckedPurchase {
            buyer: 7,
            purchase_id: "p1".into(),
            lines: lines("1-1", 3),
        });
        let end = FinalState {
            units_left: BTreeMap::from([("1-1".to_string(), 5)]),
            histories: BTreeMap::from([(7, vec![("p1".to_string(), lines("1-1", 3))])]),
            items_sold: BTreeMap::from([(1, 3)]),
        };
        (snapshot, end)
    }

    #[test]
    fn a_consistent_ledger_passes() {
        let (snapshot, end) = ledger();
        assert!(check_invariants(&snapshot, &end).is_empty());
    }

    #[test]
    fn a_doubled_purchase_breaks_every_count() {
        let (snapshot, mut end) = ledger();
        end.histories
            .get_mut(&7)
            .unwrap()
            .push(("p1".to_string(), lines("1-1", 3)));
        let anomalies = check_invariants(&snapshot, &end);
        let text: Vec<&str> = anomalies.iter().map(|a| a.what.as_str()).collect();
        assert!(
            text.iter().any(|t| t.contains("appears 2 times")),
            "{text:?}"
        );
        assert!(text.iter().any(|t| t.contains("units sold")), "{text:?}");
        assert!(text.iter().any(|t| t.contains("item 1-1")), "{text:?}");
    }

    #[test]
    fn a_lost_removal_or_a_lost_purchase_is_found() {
        let (snapshot, mut end) = ledger();
        end.units_left.insert("1-1".into(), 7);
        assert_eq!(check_invariants(&snapshot, &end).len(), 1);
        let (snapshot, mut end) = ledger();
        end.histories.insert(7, Vec::new());
        let anomalies = check_invariants(&snapshot, &end);
        assert!(anomalies.iter().any(|a| a.what.contains("p1 is missing")));
    }
}
