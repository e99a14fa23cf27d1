//! The run's one-page summary: what ran, what struck, what was checked,
//! and every anomaly with the calls that show it.

use std::fmt;
use std::time::Duration;

use super::check::{CheckReport, FinalState};
use super::cluster::ClusterShape;
use super::convergence::Convergence;
use super::history::HistorySnapshot;
use super::nemesis::FaultLog;

/// Evidence lines printed per anomaly.
const EVIDENCE_LINES: usize = 24;

/// Everything a run produced.
pub struct ChaosReport {
    /// Its seed.
    pub seed: u64,
    /// How long the nemesis struck.
    pub fault_time: Duration,
    /// How long the whole run took.
    pub wall_time: Duration,
    /// The cluster.
    pub shape: ClusterShape,
    /// Seller accounts.
    pub sellers: usize,
    /// Buyer accounts.
    pub buyers: usize,
    /// The clients' record.
    pub snapshot: HistorySnapshot,
    /// The nemesis's record.
    pub faults: FaultLog,
    /// What was read back after the restart.
    pub end: FinalState,
    /// The verdicts.
    pub checks: CheckReport,
    /// On hosts: whether every replica's digest agreed after the restart.
    pub convergence: Option<Convergence>,
}

impl ChaosReport {
    /// Every anomaly: failed checks, unexpected answers, calls that never
    /// got one, and faults the nemesis could not carry out.
    pub fn anomaly_count(&self) -> usize {
        self.checks.anomalies.len()
            + self.snapshot.surprises.len()
            + self.snapshot.unresolved.len()
            + self.faults.failures.len()
            + self.convergence.as_ref().map_or(0, |c| c.diverged.len())
    }

    /// The run's exit status (see `check::exit_status`).
    pub fn exit_status(&self) -> i32 {
        let others = self.anomaly_count() - self.checks.anomalies.len();
        super::check::exit_status(&self.checks, others)
    }

    /// Calls made in all.
    pub fn calls(&self) -> u64 {
        self.snapshot.calls.values().sum()
    }
}

impl ChaosReport {
    /// The run itself: its seed and times, the cluster, the clients and
    /// the calls they made.
    fn fmt_run(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shape = &self.shape;
        writeln!(
            f,
            "chaos: seed {}, {:.1} min of faults, {:.1} min in all",
            self.seed,
            self.fault_time.as_secs_f64() / 60.0,
            self.wall_time.as_secs_f64() / 60.0
        )?;
        writeln!(
            f,
            "cluster: {} product-DB (Raft) + {} customer-DB (sequencer) replicas, \
             {} seller + {} buyer servers{}",
            shape.product_dbs,
            shape.customer_dbs,
            shape.seller_servers,
            shape.buyer_servers,
            if self.convergence.is_some() {
                ", on the 5 hosts of scripts/hosts.sh (clients on the client host)"
            } else {
                ""
            }
        )?;
        writeln!(
            f,
            "clients: {} sellers x 2 sessions, {} buyers x (2 writers + reader)",
            self.sellers, self.buyers
        )?;
        let calls: Vec<String> = self
            .snapshot
            .calls
            .iter()
            .map(|(name, n)| format!("{name} {n}"))
            .collect();
        writeln!(
            f,
            "operations: {} calls ({})",
            self.calls(),
            calls.join(", ")
        )
    }

    /// The faults the nemesis struck, counted per kind.
    fn fmt_faults(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let counts: Vec<String> = self
            .faults
            .counts()
            .iter()
            .map(|(kind, n)| format!("{kind}: {n}"))
            .collect();
        writeln!(
            f,
            "faults: {} injected, then a kill -9 of every process and a restart from disk",
            self.faults.events.len()
        )?;
        for line in counts {
            writeln!(f, "  {line}")?;
        }
        Ok(())
    }

    /// The linearizability verdicts: objects found linearizable, and the
    /// objects left undecided (skipped or inconclusive).
    fn fmt_linearizability(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let checks = &self.checks;
        let linearizable: Vec<String> = checks
            .linearizable
            .iter()
            .map(|(kind, n)| format!("{n} {kind}"))
            .collect();
        writeln!(
            f,
            "linearizable: {} ({} recorded operations); skipped {}; inconclusive {}",
            linearizable.join(", "),
            checks.operations_checked,
            checks.skipped.len(),
            checks.inconclusive.len()
        )?;
        let undecided = checks.skipped.len() + checks.inconclusive.len();
        if undecided > 0 {
            writeln!(
                f,
                "undecided: {undecided} objects (not a pass; exit status 3):"
            )?;
        }
        for line in checks.skipped.iter().chain(&checks.inconclusive) {
            writeln!(f, "  not checked: {line}")?;
        }
        Ok(())
    }

    /// What was read back after the restart, and on hosts the digests the
    /// replicas agreed on.
    fn fmt_final_state(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let units: u64 = self.end.items_sold.values().sum();
        let purchases: usize = self.end.histories.values().map(Vec::len).sum();
        writeln!(
            f,
            "after the restart: {} items, {} purchases ({} acknowledged), {units} units sold",
            self.end.units_left.len(),
            purchases,
            self.snapshot.purchases.len()
        )?;
        if let Some(convergence) = &self.convergence {
            for line in &convergence.agreed {
                writeln!(f, "digests after the restart: {line}")?;
            }
        }
        Ok(())
    }

    /// Every anomaly: failed checks with their evidence, unexpected
    /// answers, calls never answered, faults not carried out and, on
    /// hosts, replicas whose digests diverged.
    fn fmt_anomalies(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "anomalies: {}", self.anomaly_count())?;
        for anomaly in &self.checks.anomalies {
            writeln!(f, "- {}", anomaly.what)?;
            for line in anomaly.evidence.iter().take(EVIDENCE_LINES) {
                writeln!(f, "    {line}")?;
            }
            if anomaly.evidence.len() > EVIDENCE_LINES {
                writeln!(
                    f,
                    "    ... {} more",
                    anomaly.evidence.len() - EVIDENCE_LINES
                )?;
            }
        }
        for line in &self.snapshot.surprises {
            writeln!(f, "- unexpected answer: {line}")?;
        }
        for line in &self.snapshot.unresolved {
            writeln!(f, "- never answered: {line}")?;
        }
        for line in &self.faults.failures {
            writeln!(f, "- fault not carried out: {line}")?;
        }
        for line in self.convergence.iter().flat_map(|c| &c.diverged) {
            writeln!(f, "- diverged: {line}")?;
        }
        Ok(())
    }
}

impl fmt::Display for ChaosReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.fmt_run(f)?;
        self.fmt_faults(f)?;
        self.fmt_linearizability(f)?;
        self.fmt_final_state(f)?;
        self.fmt_anomalies(f)
    }
}
