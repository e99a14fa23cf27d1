//! The report of `bench --scale`, into `--out`: `scale.md` (a table of
//! the timed calls per size with the largest size against the smallest,
//! the growth times, and a table of the replicas' lifecycle figures),
//! `scale.csv` (the calls), `scale-lifecycle.csv` (the lifecycle) and
//! `scale.svg` (the calls' means against the size, chart.rs).

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use super::chart::write_scale_chart;
use super::lifecycle::{LifecycleFigures, Restart};
use super::scale::{ScaleOptions, SizeResult, OPERATIONS, SCALE_CATEGORY};
use super::BenchError;

/// The header of `scale-lifecycle.csv`.
const LIFECYCLE_CSV_HEADER: &str = "size,database,replica,snapshot_file_bytes,\
snapshot_state_bytes,snapshot_encode_ms,snapshot_write_ms,restart_answers_s,restart_serves_s,\
restart_behind,lag_writes,catch_up_answers_s,catch_up_serves_s,catch_up_behind\n";

/// Writes every file of the report.
pub fn write_report(
    out: &Path,
    command: &str,
    options: &ScaleOptions,
    results: &[SizeResult],
) -> Result<(), BenchError> {
    std::fs::create_dir_all(out).map_err(|e| BenchError::Write(out.to_path_buf(), e))?;
    let mut markdown = String::new();
    let _ = writeln!(
        markdown,
        "# Cost as the catalogue and the accounts grow (`bench --scale`)\n"
    );
    let _ = writeln!(markdown, "Command: `{command}`  ");
    let _ = writeln!(markdown, "Machine: {}  ", super::machine_description());
    let _ = writeln!(
        markdown,
        "{} calls per operation and size, one after another from one client; \
         a size is the items this run put up in category {SCALE_CATEGORY}, and as many \
         buyer accounts.\n",
        options.samples
    );
    markdown.push_str(&calls_table(results));
    let _ = writeln!(markdown, "\n![mean per call against the size](scale.svg)\n");
    for result in results {
        let _ = writeln!(
            markdown,
            "Growing to {} items took {:.1} s, to {0} accounts {:.1} s.  ",
            result.size,
            result.items_growth.as_secs_f64(),
            result.accounts_growth.as_secs_f64()
        );
    }
    if results.iter().any(|result| !result.lifecycle.is_empty()) {
        markdown.push_str(&lifecycle_table(results, options.lag));
    }
    let files = [
        ("scale.md", markdown),
        ("scale.csv", calls_csv(results)),
        ("scale-lifecycle.csv", lifecycle_csv(results)),
    ];
    for (name, text) in files {
        let path = out.join(name);
        std::fs::write(&path, text).map_err(|e| BenchError::Write(path.clone(), e))?;
    }
    write_scale_chart(results, &out.join("scale.svg"))
}

/// One row per operation: mean / p50 / p99 per size, and the ratio of the
/// means at the largest and the smallest size.
fn calls_table(results: &[SizeResult]) -> String {
    let mut markdown = String::from("| operation |");
    let ratio = results.len() >= 2;
    for result in results {
        let _ = write!(markdown, " {}: mean / p50 / p99 ms |", result.size);
    }
    if ratio {
        markdown.push_str(" largest / smallest (mean) |");
    }
    let _ = writeln!(
        markdown,
        "\n|---|{}",
        "---|".repeat(results.len() + usize::from(ratio))
    );
    for (index, operation) in OPERATIONS.iter().enumerate() {
        let _ = write!(markdown, "| {operation} |");
        for result in results {
            let figure = result.figures[index];
            let _ = write!(
                markdown,
                " {:.2} / {:.2} / {:.2} |",
                figure.mean_ms, figure.p50_ms, figure.p99_ms
            );
        }
        if let (Some(first), Some(last), true) = (results.first(), results.last(), ratio) {
            let ratio = last.figures[index].mean_ms / first.figures[index].mean_ms.max(1e-9);
            let _ = write!(markdown, " {ratio:.2} |");
        }
        markdown.push('\n');
    }
    markdown
}

fn calls_csv(results: &[SizeResult]) -> String {
    let mut csv = String::from("operation,size,mean_ms,p50_ms,p99_ms\n");
    for (index, operation) in OPERATIONS.iter().enumerate() {
        for result in results {
            let figure = result.figures[index];
            let _ = writeln!(
                csv,
                "{operation},{},{:.3},{:.3},{:.3}",
                result.size, figure.mean_ms, figure.p50_ms, figure.p99_ms
            );
        }
    }
    csv
}

/// One row per size and database.
fn lifecycle_table(results: &[SizeResult], lag: usize) -> String {
    let mut markdown = format!(
        "\n## Replica lifecycle\n\n\
         Snapshot: the newest snapshot file of the replica restarted, and its last \
         snapshot as it logged it (state encoded by the apply thread, then written \
         and synced by the snapshot writer thread). Restart: killed (SIGKILL) and started again \
         with nothing written meanwhile; seconds from the start until it answers its \
         status call / until it serves (the health check's SERVING: a Raft follower of \
         a known leader, a sequencer member working in a view, which may be one without \
         it until a view change takes it back into the turns) at the others' applied \
         index. Catch-up: the same with {lag} writes \
         (items, or price changes once the catalogue is full; accounts) made while \
         it was down; \"behind\" is how far its applied \
         index was from the others' when it first answered.\n\n\
         | size | database (replica) | snapshot file | snapshot encode + write | \
         restart: answers / serves | catch-up: answers / serves (behind) |\n\
         |---|---|---|---|---|---|\n"
    );
    for result in results {
        for figures in &result.lifecycle {
            let file = figures.snapshot_file_bytes.map_or("none".into(), mebibytes);
            let timing = figures.snapshot.map_or("not logged".into(), |s| {
                format!("{:.0} + {:.0} ms", s.encode_ms, s.write_ms)
            });
            let _ = writeln!(
                markdown,
                "| {} | {} ({}) | {file} | {timing} | {} | {} ({}) |",
                result.size,
                figures.database,
                figures.replica,
                answers_serves(&figures.restart),
                answers_serves(&figures.catch_up),
                figures.catch_up.behind
            );
        }
    }
    markdown
}

fn mebibytes(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

fn answers_serves(restart: &Restart) -> String {
    format!(
        "{:.2} / {:.2} s",
        restart.answers.as_secs_f64(),
        restart.serves.as_secs_f64()
    )
}

fn lifecycle_csv(results: &[SizeResult]) -> String {
    let mut csv = String::from(LIFECYCLE_CSV_HEADER);
    for result in results {
        for figures in &result.lifecycle {
            let _ = writeln!(csv, "{},{}", result.size, lifecycle_row(figures));
        }
    }
    csv
}

/// The CSV columns after the size; an unknown figure is an empty column.
fn lifecycle_row(figures: &LifecycleFigures) -> String {
    let known = |value: Option<String>| value.unwrap_or_default();
    let seconds = |time: Duration| format!("{:.3}", time.as_secs_f64());
    let snapshot = figures.snapshot;
    [
        figures.database.to_string(),
        figures.replica.to_string(),
        known(figures.snapshot_file_bytes.map(|b| b.to_string())),
        known(snapshot.map(|s| s.bytes.to_string())),
        known(snapshot.map(|s| format!("{:.1}", s.encode_ms))),
        known(snapshot.map(|s| format!("{:.1}", s.write_ms))),
        seconds(figures.restart.answers),
        seconds(figures.restart.serves),
        figures.restart.behind.to_string(),
        figures.lag.to_string(),
        seconds(figures.catch_up.answers),
        seconds(figures.catch_up.serves),
        figures.catch_up.behind.to_string(),
    ]
    .join(",")
}

#[cfg(test)]
mod tests {
    use super::super::lifecycle::SnapshotTiming;
    use super::super::scale::Figures;
    use super::*;
    use crate::config::Component;

    fn result(size: usize, mean_ms: f64) -> SizeResult {
        let restart = Restart {
            answers: Duration::from_millis(500),
            serves: Duration::from_millis(1500),
            behind: 7,
        };
        SizeResult {
            size,
            items_growth: Duration::from_secs(1),
            accounts_growth: Duration::from_secs(2),
            figures: vec![
                Figures {
                    mean_ms,
                    p50_ms: mean_ms,
                    p99_ms: mean_ms * 2.0,
                };
                OPERATIONS.len()
            ],
            lifecycle: vec![LifecycleFigures {
                database: Component::CustomerDb,
                replica: 4,
                snapshot_file_bytes: Some(3 * 1024 * 1024),
                snapshot: Some(SnapshotTiming {
                    bytes: 3_000_000,
                    encode_ms: 12.0,
                    write_ms: 30.0,
                }),
                restart,
                catch_up: restart,
                lag: 100,
            }],
        }
    }

    #[test]
    fn the_report_has_every_operation_size_and_database() {
        let results = [result(10, 2.0), result(100, 3.0)];
        let table = calls_table(&results);
        for operation in OPERATIONS {
            assert!(table.contains(&format!("| {operation} | 2.00 / 2.00 / 4.00 |")));
        }
        assert!(table.contains("3.00 / 3.00 / 6.00 | 1.50 |"), "{table}");
        let csv = calls_csv(&results);
        assert_eq!(csv.lines().count(), 1 + 2 * OPERATIONS.len());
        assert!(csv.contains("purchase,100,3.000,3.000,6.000"));
        let lifecycle = lifecycle_table(&results, 100);
        assert!(lifecycle.contains(
            "| 100 | customer-db (4) | 3.0 MiB | 12 + 30 ms | 0.50 / 1.50 s | 0.50 / 1.50 s (7) |"
        ));
        let csv = lifecycle_csv(&results);
        assert!(csv.contains(
            "10,customer-db,4,3145728,3000000,12.0,30.0,0.500,1.500,7,100,0.500,1.500,7"
        ));
        assert_eq!(
            csv.lines().next().map(|l| l.split(',').count()),
            csv.lines().nth(1).map(|l| l.split(',').count())
        );
    }
}
