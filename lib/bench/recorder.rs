//! What the bench measures, kept per client thread without locks and merged
//! at the end: per operation, an HDR histogram of response times for each
//! phase around a kill (before, during, after), exact count, sum and max,
//! and business outcomes; a timeline of completions in
//! [`TIMELINE_STEP`] buckets; and every error by kind.
//!
//! Phases, when a process is killed at instant K: a call is *before* if it
//! ended before K, *after* if it started at or after K + [`DURING_WINDOW`],
//! and *during* otherwise (it was in flight at K, or started in the window
//! while the system recovered). Without a kill every call is *before*.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use super::workload::Operation;

/// Width of one timeline bucket.
pub const TIMELINE_STEP: Duration = Duration::from_millis(100);
/// How long after a kill calls still count as *during* it.
pub const DURING_WINDOW: Duration = Duration::from_secs(2);
/// Histogram range, in microseconds: 1 us to 2 minutes.
const HISTOGRAM_MAX_US: u64 = 120_000_000;
/// Two significant digits (1 % resolution) keep a histogram near 20 KB,
/// so 200 threads x 22 operations x 3 phases stay affordable; mean and max
/// are kept exactly beside it.
const HISTOGRAM_DIGITS: u8 = 2;

/// Where a call falls relative to a kill.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Ended before the kill (or there was none).
    Before,
    /// In flight at the kill or started within [`DURING_WINDOW`] of it.
    During,
    /// Started after the window.
    After,
}

impl Phase {
    /// Every phase, in time order.
    pub const ALL: [Phase; 3] = [Phase::Before, Phase::During, Phase::After];

    /// Lowercase name.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Before => "before",
            Phase::During => "during",
            Phase::After => "after",
        }
    }

    fn of(started: Instant, finished: Instant, kill: Option<Instant>) -> Phase {
        match kill {
            Some(k) if finished >= k && started < k + DURING_WINDOW => Phase::During,
            Some(k) if started >= k + DURING_WINDOW => Phase::After,
            _ => Phase::Before,
        }
    }
}

/// How one call ended, for the recorder.
#[derive(Clone, Copy, Debug)]
pub enum Outcome<'a> {
    /// 2xx.
    Ok,
    /// An expected business refusal (its kind).
    Business(&'static str),
    /// An error (its kind).
    Error(&'a str),
}

/// Response-time figures of a set of calls, in milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Stats {
    /// How many calls.
    pub calls: u64,
    /// Mean.
    pub mean_ms: f64,
    /// Median.
    pub p50_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Longest.
    pub max_ms: f64,
}

/// Everything about one operation.
#[derive(Clone, Debug, Default)]
pub struct OperationRecord {
    histograms: [Option<Histogram<u64>>; 3],
    sum_us: [u64; 3],
    max_us: [u64; 3],
    /// Calls answered 2xx.
    pub ok: u64,
    /// Expected business outcomes by kind.
    pub business: BTreeMap<&'static str, u64>,
    /// Calls that ended in an error.
    pub errors: u64,
}

impl OperationRecord {
    fn record(&mut self, phase: Phase, micros: u64) {
        let p = phase as usize;
        let histogram = self.histograms[p].get_or_insert_with(new_histogram);
        histogram.saturating_record(micros.max(1));
        self.sum_us[p] += micros;
        self.max_us[p] = self.max_us[p].max(micros);
    }

    fn merge(&mut self, other: &OperationRecord) {
        for p in 0..3 {
            if let Some(theirs) = &other.histograms[p] {
                let ours = self.histograms[p].get_or_insert_with(new_histogram);
                ours.add(theirs).expect("histograms share their bounds");
            }
            self.sum_us[p] += other.sum_us[p];
            self.max_us[p] = self.max_us[p].max(other.max_us[p]);
        }
        self.ok += other.ok;
        for (kind, n) in &other.business {
            *self.business.entry(kind).or_default() += n;
        }
        self.errors += other.errors;
    }

    /// Figures of one phase, or of every phase with `None`.
    pub fn stats(&self, phase: Option<Phase>) -> Stats {
        let phases: Vec<usize> = match phase {
            Some(p) => vec![p as usize],
            None => vec![0, 1, 2],
        };
        let mut merged: Option<Histogram<u64>> = None;
        let (mut sum, mut max) = (0u64, 0u64);
        for p in phases {
            if let Some(h) = &self.histograms[p] {
                match &mut merged {
                    Some(m) => m.add(h).expect("histograms share their bounds"),
                    None => merged = Some(h.clone()),
                }
            }
            sum += self.sum_us[p];
            max = max.max(self.max_us[p]);
        }
        let Some(h) = merged.filter(|h| !h.is_empty()) else {
            return Stats::default();
        };
        // A quantile reads the top of its bucket (1 % wide), which may lie
        // above the exact maximum: never report it higher than that.
        let ms = |us: u64| us.min(max) as f64 / 1000.0;
        Stats {
            calls: h.len(),
            mean_ms: sum as f64 / h.len() as f64 / 1000.0,
            p50_ms: ms(h.value_at_quantile(0.50)),
            p99_ms: ms(h.value_at_quantile(0.99)),
            max_ms: ms(max),
        }
    }

    /// Calls of every outcome.
    pub fn calls(&self) -> u64 {
        self.ok + self.errors + self.business.values().sum::<u64>()
    }
}

fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, HISTOGRAM_MAX_US, HISTOGRAM_DIGITS)
        .expect("valid histogram bounds")
}

/// One timeline bucket.
#[derive(Clone, Copy, Debug, Default)]
pub struct Bucket {
    /// Calls that ended in it.
    pub calls: u64,
    /// Of which errors.
    pub errors: u64,
    /// Sum of their response times, in microseconds.
    pub sum_us: u64,
    /// The longest of them, in microseconds.
    pub max_us: u64,
}

/// The measurements of one client thread, or of a whole run once merged.
#[derive(Clone, Debug)]
pub struct Recorder {
    operations: Vec<OperationRecord>,
    timeline: Vec<Bucket>,
    /// Errors by kind.
    pub errors: BTreeMap<String, u64>,
    /// Attempts that moved to another frontend.
    pub failovers: u64,
}

impl Default for Recorder {
    fn default() -> Self {
        Recorder {
            operations: vec![OperationRecord::default(); Operation::ALL.len()],
            timeline: Vec::new(),
            errors: BTreeMap::new(),
            failovers: 0,
        }
    }
}

impl Recorder {
    /// Records one call. `epoch` is when the load started (calls that end
    /// before it, during setup, stay off the timeline); `kill` is when a
    /// process was killed, if one was.
    pub fn record(
        &mut self,
        op: Operation,
        (started, finished): (Instant, Instant),
        outcome: Outcome<'_>,
        epoch: Option<Instant>,
        kill: Option<Instant>,
    ) {
        let micros = finished.duration_since(started).as_micros() as u64;
        let record = &mut self.operations[op.index()];
        record.record(Phase::of(started, finished, kill), micros);
        let error = match outcome {
            Outcome::Ok => {
                record.ok += 1;
                false
            }
            Outcome::Business(kind) => {
                *record.business.entry(kind).or_default() += 1;
                false
            }
            Outcome::Error(kind) => {
                record.errors += 1;
                *self.errors.entry(kind.to_string()).or_default() += 1;
                true
            }
        };
        if let Some(epoch) = epoch.filter(|e| finished >= *e) {
            let index =
                (finished.duration_since(epoch).as_micros() / TIMELINE_STEP.as_micros()) as usize;
            if self.timeline.len() <= index {
                self.timeline.resize(index + 1, Bucket::default());
            }
            let bucket = &mut self.timeline[index];
            bucket.calls += 1;
            bucket.errors += u64::from(error);
            bucket.sum_us += micros;
            bucket.max_us = bucket.max_us.max(micros);
        }
    }

    /// Adds `other`'s measurements to these.
    pub fn merge(&mut self, other: &Recorder) {
        for (ours, theirs) in self.operations.iter_mut().zip(&other.operations) {
            ours.merge(theirs);
        }
        if self.timeline.len() < other.timeline.len() {
            self.timeline
                .resize(other.timeline.len(), Bucket::default());
        }
        for (ours, theirs) in self.timeline.iter_mut().zip(&other.timeline) {
            ours.calls += theirs.calls;
            ours.errors += theirs.errors;
            ours.sum_us += theirs.sum_us;
            ours.max_us = ours.max_us.max(theirs.max_us);
        }
        for (kind, n) in &other.errors {
            *self.errors.entry(kind.clone()).or_default() += n;
        }
        self.failovers += other.failovers;
    }

    /// One operation's record.
    pub fn operation(&self, op: Operation) -> &OperationRecord {
        &self.operations[op.index()]
    }

    /// The timeline, one bucket per [`TIMELINE_STEP`] from the load's start.
    pub fn timeline(&self) -> &[Bucket] {
        &self.timeline
    }

    /// Every error.
    pub fn total_errors(&self) -> u64 {
        self.errors.values().sum()
    }

    /// Business outcomes of one kind over every operation.
    pub fn business(&self, kind: &str) -> u64 {
        self.operations
            .iter()
            .filter_map(|o| o.business.get(kind))
            .sum()
    }

    /// Calls on the timeline (those that ended after the load started).
    pub fn timeline_calls(&self) -> u64 {
        self.timeline.iter().map(|b| b.calls).sum()
    }

    /// Longest stretch with no call ending anywhere, between the first and
    /// the last completion (resolution: one bucket).
    pub fn longest_gap(&self) -> Duration {
        let busy: Vec<usize> = (0..self.timeline.len())
            .filter(|&i| self.timeline[i].calls > 0)
            .collect();
        let gap_buckets = busy.windows(2).map(|w| w[1] - w[0] - 1).max().unwrap_or(0);
        TIMELINE_STEP * gap_buckets as u32
    }

    /// Longest single call of the run, in milliseconds.
    pub fn longest_call_ms(&self) -> f64 {
        self.operations
            .iter()
            .map(|o| o.stats(None).max_ms)
            .fold(0.0, f64::max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_follow_the_kill() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let kill = Some(at(1000));
        assert_eq!(Phase::of(at(0), at(999), kill), Phase::Before);
        assert_eq!(Phase::of(at(900), at(1100), kill), Phase::During);
        assert_eq!(Phase::of(at(2900), at(3100), kill), Phase::During);
        assert_eq!(Phase::of(at(3000), at(3001), kill), Phase::After);
        assert_eq!(Phase::of(at(5000), at(5001), None), Phase::Before);
    }

    #[test]
    fn merged_figures_are_exact_where_they_can_be() {
        let t0 = Instant::now();
        let ms = |n: u64| Duration::from_millis(n);
        let mut a = Recorder::default();
        let mut b = Recorder::default();
        a.record(
            Operation::Search,
            (t0, t0 + ms(1)),
            Outcome::Ok,
            Some(t0),
            None,
        );
        b.record(
            Operation::Search,
            (t0, t0 + ms(3)),
            Outcome::Ok,
            Some(t0),
            None,
        );
        b.record(
            Operation::Purchase,
            (t0, t0 + ms(2)),
            Outcome::Business("card_declined"),
            Some(t0),
            None,
        );
        b.record(
            Operation::History,
            (t0 + ms(350), t0 + ms(351)),
            Outcome::Error("HTTP 500 x"),
            Some(t0),
            None,
        );
        a.merge(&b);
        let search = a.operation(Operation::Search).stats(None);
        assert_eq!(search.calls, 2);
        assert!((search.mean_ms - 2.0).abs() < 1e-9);
        assert!((search.max_ms - 3.0).abs() < 1e-9);
        assert!(search.p99_ms <= search.max_ms && search.p50_ms <= search.p99_ms);
        assert_eq!(a.business("card_declined"), 1);
        assert_eq!(a.total_errors(), 1);
        assert_eq!(a.timeline_calls(), 4);
        assert_eq!(a.longest_gap(), ms(200));
        assert_eq!(a.operation(Operation::History).calls(), 1);
    }

    #[test]
    fn a_histogram_stays_small() {
        let h = new_histogram();
        assert!(h.distinct_values() <= 4096, "{}", h.distinct_values());
    }
}
