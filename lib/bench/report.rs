//! The bench's written results: `report.md` (a summary table of every run;
//! per scenario one table, one row per operation, one column per load;
//! around each kill, latency before, during and after it), and CSV files of
//! every figure (`runs.csv`, `results.csv`, `timeline.csv`, `errors.csv`).
//! The charts are [`super::chart`]'s.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::recorder::{Phase, Stats, TIMELINE_STEP};
use super::scenario::Scenario;
use super::workload::Operation;
use super::{BenchError, BenchReport, RunResult};

/// Writes `report.md` and the CSV files into `out`; returns their paths.
pub fn write_tables(report: &BenchReport, out: &Path) -> Result<Vec<PathBuf>, BenchError> {
    let files = [
        ("report.md", markdown(report)),
        ("runs.csv", runs_csv(&report.runs)),
        ("results.csv", results_csv(&report.runs)),
        ("timeline.csv", timeline_csv(&report.runs)),
        ("errors.csv", errors_csv(&report.runs)),
    ];
    let mut written = Vec::new();
    for (name, text) in files {
        let path = out.join(name);
        std::fs::write(&path, text).map_err(|e| BenchError::Write(path.clone(), e))?;
        written.push(path);
    }
    Ok(written)
}

/// A response time for a table: 3 significant digits, at most 2 decimals.
pub fn ms(value: f64) -> String {
    if value >= 100.0 {
        format!("{value:.0}")
    } else if value >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    }
}

fn mean_p99(stats: Stats) -> String {
    if stats.calls == 0 {
        "-".into()
    } else {
        format!("{} / {}", ms(stats.mean_ms), ms(stats.p99_ms))
    }
}

fn killed(run: &RunResult) -> String {
    match &run.kill {
        None => String::new(),
        Some(kill) => {
            let targets: Vec<String> = kill.targets.iter().map(|t| t.to_string()).collect();
            let mut text = targets.join(" and ");
            if let Some(at) = kill.at {
                let _ = write!(text, " at {:.1} s", at.as_secs_f64());
            }
            if let Some(error) = &kill.error {
                let _ = write!(text, " (kill failed: {error})");
            }
            text
        }
    }
}

fn markdown(report: &BenchReport) -> String {
    let mut md = String::from("# Bench report\n\n");
    let o = &report.options;
    let _ = writeln!(md, "- command: `{}`", report.command);
    let _ = writeln!(md, "- machine: {}", report.machine);
    let _ = writeln!(md, "- replication: {}", report.replication);
    let _ = writeln!(
        md,
        "- each client: create-account and login, then {} calls of its role's mix, then \
         logout; the items buyers use were put before by a catalogue seller (not measured)",
        o.calls
    );
    md.push_str("- response times in ms, as the client sees them (failover included)\n\n");
    md.push_str(&summary_table(&report.runs));
    for scenario in &o.scenarios {
        let runs: Vec<&RunResult> = report
            .runs
            .iter()
            .filter(|r| r.scenario == *scenario)
            .collect();
        if runs.is_empty() {
            continue;
        }
        let _ = writeln!(md, "\n## Scenario {scenario}: {}\n", scenario.description());
        md.push_str(&operation_table(&runs));
        if scenario.kills() {
            for run in &runs {
                md.push_str(&kill_table(run));
            }
        }
        let _ = writeln!(
            md,
            "\n![latency per operation, scenario {scenario}](latency-{scenario}.svg)\n\n\
             ![throughput over time, scenario {scenario}](throughput-{scenario}.svg)"
        );
    }
    md.push_str(&errors_section(&report.runs));
    md
}

fn summary_table(runs: &[RunResult]) -> String {
    let mut md = String::from(
        "## Summary\n\n| scenario | load | calls | s | calls/s | errors | declined (402) | \
         out of stock (409) | failovers | killed | longest call ms | longest gap ms | \
         bench CPU s |\n|---|---|--:|--:|--:|--:|--:|--:|--:|---|--:|--:|--:|\n",
    );
    for run in runs {
        let r = &run.recorder;
        let _ = writeln!(
            md,
            "| {} | {} | {} | {:.1} | {:.0} | {} | {} | {} | {} | {} | {} | {} | {:.1} |",
            run.scenario,
            run.load,
            r.timeline_calls(),
            run.wall.as_secs_f64(),
            run.calls_per_second(),
            r.total_errors(),
            r.business("card_declined"),
            r.business("insufficient_stock"),
            r.failovers,
            killed(run),
            ms(r.longest_call_ms()),
            r.longest_gap().as_millis(),
            run.bench_cpu.as_secs_f64()
        );
    }
    md
}

fn operation_table(runs: &[&RunResult]) -> String {
    let mut md =
        String::from("Mean / p99 in ms, per load (sellers+buyers):\n\n| role | operation |");
    for run in runs {
        let _ = write!(md, " {} |", run.load);
    }
    md.push_str("\n|---|---|");
    md.push_str(&"--:|".repeat(runs.len()));
    md.push('\n');
    for op in Operation::ALL {
        let _ = write!(md, "| {} | {} |", op.role().name(), op.name());
        for run in runs {
            let _ = write!(
                md,
                " {} |",
                mean_p99(run.recorder.operation(*op).stats(None))
            );
        }
        md.push('\n');
    }
    md.push_str("| **all** | **calls/s** |");
    for run in runs {
        let _ = write!(md, " **{:.0}** |", run.calls_per_second());
    }
    md.push('\n');
    md
}

fn kill_table(run: &RunResult) -> String {
    let r = &run.recorder;
    let mut md = format!(
        "\n### {} at {}: {}\n\nLongest call {} ms; longest stretch without any call ending {} ms \
         (resolution {} ms). Mean / p99 (max for *during*) in ms:\n\n\
         | role | operation | before | during | after |\n|---|---|--:|--:|--:|\n",
        run.scenario,
        run.load,
        killed(run),
        ms(r.longest_call_ms()),
        r.longest_gap().as_millis(),
        TIMELINE_STEP.as_millis()
    );
    for op in Operation::ALL {
        let record = r.operation(*op);
        let during = record.stats(Some(Phase::During));
        let during = if during.calls == 0 {
            "-".to_string()
        } else {
            format!("{} / max {}", ms(during.mean_ms), ms(during.max_ms))
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {during} | {} |",
            op.role().name(),
            op.name(),
            mean_p99(record.stats(Some(Phase::Before))),
            mean_p99(record.stats(Some(Phase::After)))
        );
    }
    md
}

fn errors_section(runs: &[RunResult]) -> String {
    let mut md = String::from("\n## Errors\n\n");
    let rows: Vec<String> =
        runs.iter()
            .flat_map(|run| {
                run.recorder.errors.iter().map(move |(kind, n)| {
                    format!("| {} | {} | {kind} | {n} |", run.scenario, run.load)
                })
            })
            .collect();
    if rows.is_empty() {
        md.push_str("None: every call got its answer (failover included).\n");
    } else {
        md.push_str("| scenario | load | kind | count |\n|---|---|---|--:|\n");
        md.push_str(&rows.join("\n"));
        md.push('\n');
    }
    md
}

fn runs_csv(runs: &[RunResult]) -> String {
    let mut csv = String::from(
        "scenario,load,sellers,buyers,calls,seconds,calls_per_s,errors,card_declined,\
         insufficient_stock,failovers,killed,kill_at_s,kill_error,longest_call_ms,longest_gap_ms,\
         bench_cpu_s\n",
    );
    for run in runs {
        let r = &run.recorder;
        let kill = run.kill.clone().unwrap_or_default();
        let targets: Vec<String> = kill.targets.iter().map(|t| t.to_string()).collect();
        let _ = writeln!(
            csv,
            "{},{},{},{},{},{:.3},{:.1},{},{},{},{},{},{},{},{:.3},{},{:.2}",
            run.scenario,
            run.load,
            run.load.sellers,
            run.load.buyers,
            r.timeline_calls(),
            run.wall.as_secs_f64(),
            run.calls_per_second(),
            r.total_errors(),
            r.business("card_declined"),
            r.business("insufficient_stock"),
            r.failovers,
            targets.join(";"),
            kill.at
                .map(|a| format!("{:.3}", a.as_secs_f64()))
                .unwrap_or_default(),
            kill.error.unwrap_or_default().replace(',', ";"),
            r.longest_call_ms(),
            r.longest_gap().as_millis(),
            run.bench_cpu.as_secs_f64()
        );
    }
    csv
}

fn stats_fields(stats: Stats) -> String {
    format!(
        "{:.3},{:.3},{:.3},{:.3}",
        stats.mean_ms, stats.p50_ms, stats.p99_ms, stats.max_ms
    )
}

fn results_csv(runs: &[RunResult]) -> String {
    let mut csv = String::from(
        "scenario,load,role,operation,phase,calls,ok,card_declined,insufficient_stock,errors,\
         mean_ms,p50_ms,p99_ms,max_ms\n",
    );
    for run in runs {
        for op in Operation::ALL {
            let record = run.recorder.operation(*op);
            let head = format!(
                "{},{},{},{}",
                run.scenario,
                run.load,
                op.role().name(),
                op.name()
            );
            let all = record.stats(None);
            let _ = writeln!(
                csv,
                "{head},all,{},{},{},{},{},{}",
                all.calls,
                record.ok,
                record.business.get("card_declined").unwrap_or(&0),
                record.business.get("insufficient_stock").unwrap_or(&0),
                record.errors,
                stats_fields(all)
            );
            if run.scenario == Scenario::A {
                continue;
            }
            for phase in Phase::ALL {
                let stats = record.stats(Some(phase));
                let _ = writeln!(
                    csv,
                    "{head},{},{},,,,,{}",
                    phase.name(),
                    stats.calls,
                    stats_fields(stats)
                );
            }
        }
    }
    csv
}

fn timeline_csv(runs: &[RunResult]) -> String {
    let mut csv = String::from("scenario,load,t_s,calls,calls_per_s,errors,mean_ms,max_ms\n");
    let step = TIMELINE_STEP.as_secs_f64();
    for run in runs {
        for (i, b) in run.recorder.timeline().iter().enumerate() {
            let mean = if b.calls == 0 {
                0.0
            } else {
                b.sum_us as f64 / b.calls as f64 / 1000.0
            };
            let _ = writeln!(
                csv,
                "{},{},{:.1},{},{:.0},{},{:.3},{:.3}",
                run.scenario,
                run.load,
                i as f64 * step,
                b.calls,
                b.calls as f64 / step,
                b.errors,
                mean,
                b.max_us as f64 / 1000.0
            );
        }
    }
    csv
}

fn errors_csv(runs: &[RunResult]) -> String {
    let mut csv = String::from("scenario,load,kind,count\n");
    for run in runs {
        for (kind, n) in &run.recorder.errors {
            let _ = writeln!(
                csv,
                "{},{},{},{n}",
                run.scenario,
                run.load,
                kind.replace(',', ";")
            );
        }
    }
    csv
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_with_three_digits() {
        assert_eq!(ms(0.8349), "0.83");
        assert_eq!(ms(21.06), "21.1");
        assert_eq!(ms(247.4), "247");
    }
}
