//! The bench's charts, as SVG (plotters, no fonts needed: the viewer
//! renders the text): per scenario, `latency-<S>.svg` (mean response time
//! of every operation, one bar per load, log scale) and
//! `throughput-<S>.svg` (calls per second and the longest call over time,
//! one line per load, each kill marked by a dashed line of its load's
//! colour). For `bench --scale`, `scale.svg`: each timed call's mean
//! against the size, and the replicas' restart and catch-up times.

use std::path::{Path, PathBuf};
use std::time::Duration;

use plotters::coord::combinators::LogCoord;
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::recorder::{Bucket, TIMELINE_STEP};
use super::scale::{SizeResult, OPERATIONS};
use super::scenario::Scenario;
use super::workload::Operation;
use super::{BenchError, RunResult};

/// Timeline buckets per plotted point for runs of up to 10 s, and beyond:
/// single 100 ms buckets are too noisy to read on a long run.
const BUCKETS_PER_POINT: [usize; 2] = [1, 5];

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

/// Draws both charts of every scenario in `runs` into `out`.
pub fn write_charts(runs: &[RunResult], out: &Path) -> Result<Vec<PathBuf>, BenchError> {
    let mut scenarios: Vec<Scenario> = runs.iter().map(|r| r.scenario).collect();
    scenarios.dedup();
    let mut written = Vec::new();
    for scenario in scenarios {
        let runs: Vec<&RunResult> = runs.iter().filter(|r| r.scenario == scenario).collect();
        let path = out.join(format!("latency-{scenario}.svg"));
        draw(&path, (900, 760), |area| {
            latency_chart(area, scenario, &runs)
        })?;
        written.push(path);
        let path = out.join(format!("throughput-{scenario}.svg"));
        draw(&path, (900, 640), |area| {
            throughput_chart(area, scenario, &runs)
        })?;
        written.push(path);
    }
    Ok(written)
}

type DrawResult = Result<(), Box<dyn std::error::Error>>;

fn draw(
    path: &Path,
    size: (u32, u32),
    chart: impl FnOnce(&Area<'_>) -> DrawResult,
) -> Result<(), BenchError> {
    let area = SVGBackend::new(path, size).into_drawing_area();
    let fail = |e: &dyn std::fmt::Display| BenchError::Chart(path.to_path_buf(), e.to_string());
    area.fill(&WHITE).map_err(|e| fail(&e))?;
    chart(&area).map_err(|e| fail(&e))?;
    area.present().map_err(|e| fail(&e))
}

fn colour(i: usize) -> RGBColor {
    const COLOURS: [RGBColor; 10] = [
        RGBColor(31, 119, 180),
        RGBColor(255, 127, 14),
        RGBColor(44, 160, 44),
        RGBColor(214, 39, 40),
        RGBColor(148, 103, 189),
        RGBColor(140, 86, 75),
        RGBColor(227, 119, 194),
        RGBColor(127, 127, 127),
        RGBColor(188, 189, 34),
        RGBColor(23, 190, 207),
    ];
    COLOURS[i % COLOURS.len()]
}

/// Horizontal bars: one row per operation, one bar per load.
fn latency_chart(area: &Area<'_>, scenario: Scenario, runs: &[&RunResult]) -> DrawResult {
    let ops = Operation::ALL;
    let means: Vec<Vec<f64>> = runs
        .iter()
        .map(|run| {
            ops.iter()
                .map(|op| run.recorder.operation(*op).stats(None).mean_ms)
                .collect()
        })
        .collect();
    let top = means.iter().flatten().copied().fold(1.0, f64::max) * 2.0;
    let mut chart = ChartBuilder::on(area)
        .caption(
            format!(
                "Scenario {scenario} ({}): mean response time",
                scenario.description()
            ),
            ("sans-serif", 18),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(190)
        .build_cartesian_2d((0.05f64..top).log_scale(), -0.5f64..ops.len() as f64 - 0.5)?;
    chart
        .configure_mesh()
        .y_labels(ops.len() + 1)
        .y_label_formatter(&|y| {
            let i = y.round() as usize;
            match ops.get(i) {
                Some(op) if (y - i as f64).abs() < 0.01 => {
                    format!("{} {}", op.role().name(), op.name())
                }
                _ => String::new(),
            }
        })
        .x_desc("ms (log scale)")
        .draw()?;
    let width = 0.8 / runs.len().max(1) as f64;
    for (r, run) in runs.iter().enumerate() {
        let colour = colour(r);
        let bars = means[r]
            .iter()
            .enumerate()
            .filter(|(_, m)| **m > 0.0)
            .map(|(i, m)| {
                // Row i runs from i - 0.4 to i + 0.4; loads stack top to bottom.
                let y0 = i as f64 + 0.4 - width * (r + 1) as f64;
                Rectangle::new([(0.05, y0), (*m, y0 + width)], colour.filled())
            });
        chart
            .draw_series(bars)?
            .label(format!("{} sellers+buyers", run.load))
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 15, y + 5)], colour.filled()));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}

/// (seconds, calls/s, longest call in ms) per plotted point.
fn points(timeline: &[Bucket], per_point: usize) -> Vec<(f64, f64, f64)> {
    let span = TIMELINE_STEP * per_point as u32;
    timeline
        .chunks(per_point)
        .enumerate()
        .map(|(i, chunk)| {
            let calls: u64 = chunk.iter().map(|b| b.calls).sum();
            let max = chunk.iter().map(|b| b.max_us).max().unwrap_or(0);
            let t = (span * i as u32 + span / 2).as_secs_f64();
            (
                t,
                calls as f64 / (TIMELINE_STEP * chunk.len() as u32).as_secs_f64(),
                max as f64 / 1000.0,
            )
        })
        .collect()
}

/// What the throughput chart plots: per run, (seconds, calls/s, longest
/// call in ms) points; the time axis' end; buckets per point; the tops of
/// both value axes.
struct Timelines {
    series: Vec<Vec<(f64, f64, f64)>>,
    end: f64,
    per_point: usize,
    rate_top: f64,
    latency_top: f64,
}

fn timelines(runs: &[&RunResult]) -> Timelines {
    let end = runs
        .iter()
        .map(|r| r.wall)
        .max()
        .unwrap_or(Duration::from_secs(1))
        .as_secs_f64()
        .max(0.5);
    let per_point = BUCKETS_PER_POINT[usize::from(end > 10.0)];
    let series: Vec<Vec<(f64, f64, f64)>> = runs
        .iter()
        .map(|r| points(r.recorder.timeline(), per_point))
        .collect();
    let rate_top = series.iter().flatten().map(|p| p.1).fold(10.0, f64::max) * 1.15;
    let latency_top = series.iter().flatten().map(|p| p.2).fold(1.0, f64::max) * 2.0;
    Timelines {
        series,
        end,
        per_point,
        rate_top,
        latency_top,
    }
}

/// Two panels over the same time axis: calls/s, and the longest call.
fn throughput_chart(area: &Area<'_>, scenario: Scenario, runs: &[&RunResult]) -> DrawResult {
    let Timelines {
        series,
        end,
        per_point,
        rate_top,
        latency_top,
    } = timelines(runs);
    let (upper, lower) = area.split_vertically(area.dim_in_pixel().1 / 2 + 20);
    let caption = format!(
        "Scenario {scenario} ({}): throughput over time",
        scenario.description()
    );
    let mut rate = ChartBuilder::on(&upper)
        .caption(caption, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(30)
        .y_label_area_size(60)
        .build_cartesian_2d(0f64..end, 0f64..rate_top)?;
    rate.configure_mesh()
        .y_desc(format!(
            "calls/s ({} ms windows)",
            (TIMELINE_STEP * per_point as u32).as_millis()
        ))
        .draw()?;
    let mut slow = ChartBuilder::on(&lower)
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0f64..end, (0.1f64..latency_top).log_scale())?;
    slow.configure_mesh()
        .x_desc("seconds since the load started")
        .y_desc("longest call, ms")
        .draw()?;
    for (r, run) in runs.iter().enumerate() {
        let c = colour(r);
        rate.draw_series(LineSeries::new(
            series[r].iter().map(|p| (p.0, p.1)),
            c.stroke_width(2),
        ))?
        .label(format!("{} sellers+buyers", run.load))
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2)));
        slow.draw_series(LineSeries::new(
            series[r].iter().map(|p| (p.0, p.2.max(0.1))),
            c.stroke_width(2),
        ))?;
        if let Some(at) = run.kill.as_ref().and_then(|k| k.at) {
            let label = format!("kill ({})", run.load);
            let tops = (rate_top, latency_top);
            mark_kill(&mut rate, &mut slow, at.as_secs_f64(), r, label, tops)?;
        }
    }
    rate.configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}

/// `scale.svg`: the mean of every timed call against the size (both axes
/// log scale) above, the replicas' restart and catch-up times below.
pub fn write_scale_chart(results: &[SizeResult], path: &Path) -> Result<(), BenchError> {
    draw(path, (900, 900), |area| {
        let (upper, lower) = area.split_vertically(560);
        calls_against_size(&upper, results)?;
        lifecycle_against_size(&lower, results)
    })
}

/// A size as `10k` or `1M`.
fn size_label(size: f64) -> String {
    match size.round() as u64 {
        n if n >= 1_000_000 && n.is_multiple_of(100_000) => format!("{}M", n as f64 / 1e6),
        n if n >= 1_000 && n.is_multiple_of(1_000) => format!("{}k", n / 1_000),
        n => n.to_string(),
    }
}

/// The size axis: from half the smallest size to twice the largest.
fn size_axis(results: &[SizeResult]) -> std::ops::Range<f64> {
    let size = |r: Option<&SizeResult>| r.map_or(1.0, |r| r.size.max(1) as f64);
    size(results.first()) / 2.0..size(results.last()) * 2.0
}

fn calls_against_size(area: &Area<'_>, results: &[SizeResult]) -> DrawResult {
    let means = results
        .iter()
        .flat_map(|r| r.figures.iter().map(|f| f.mean_ms));
    let top = means.fold(1.0, f64::max) * 2.0;
    let mut chart = ChartBuilder::on(area)
        .caption(
            "Mean per call as the catalogue and accounts grow",
            ("sans-serif", 18),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(size_axis(results).log_scale(), (0.1f64..top).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("items (and accounts), log scale")
        .x_label_formatter(&|x| size_label(*x))
        .y_desc("mean ms, log scale")
        .draw()?;
    for (index, operation) in OPERATIONS.iter().enumerate() {
        let c = colour(index);
        let points: Vec<(f64, f64)> = results
            .iter()
            .map(|r| (r.size as f64, r.figures[index].mean_ms.max(0.1)))
            .collect();
        chart
            .draw_series(LineSeries::new(points.clone(), c.stroke_width(2)))?
            .label(*operation)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2)));
        chart.draw_series(points.into_iter().map(|p| Circle::new(p, 3, c.filled())))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}

fn lifecycle_against_size(area: &Area<'_>, results: &[SizeResult]) -> DrawResult {
    // (label, seconds per result) for each database's restart and catch-up.
    let mut lines: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
    let databases = results.first().map_or(0, |r| r.lifecycle.len());
    for database in 0..databases {
        for catch_up in [false, true] {
            let mut label = String::new();
            let points = results
                .iter()
                .filter_map(|r| r.lifecycle.get(database))
                .zip(results)
                .map(|(figures, r)| {
                    let restart = if catch_up {
                        figures.catch_up
                    } else {
                        figures.restart
                    };
                    let what = if catch_up { "catch-up" } else { "restart" };
                    label = format!("{} {what}", figures.database);
                    (r.size as f64, restart.serves.as_secs_f64())
                })
                .collect();
            lines.push((label, points));
        }
    }
    let top = lines
        .iter()
        .flat_map(|l| &l.1)
        .map(|p| p.1)
        .fold(1.0, f64::max)
        * 1.2;
    let mut chart = ChartBuilder::on(area)
        .caption(
            "Replica restart and catch-up: seconds until it serves",
            ("sans-serif", 18),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(size_axis(results).log_scale(), 0f64..top)?;
    chart
        .configure_mesh()
        .x_desc("items (and accounts), log scale")
        .x_label_formatter(&|x| size_label(*x))
        .y_desc("seconds")
        .draw()?;
    for (index, (label, points)) in lines.into_iter().enumerate() {
        let c = colour(index);
        chart
            .draw_series(LineSeries::new(points.clone(), c.stroke_width(2)))?
            .label(label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2)));
        chart.draw_series(points.into_iter().map(|p| Circle::new(p, 3, c.filled())))?;
    }
    if databases > 0 {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .draw()?;
    }
    Ok(())
}

/// The upper panel of a throughput chart: calls/s over seconds.
type RateChart<'a, 'b> =
    ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;
/// The lower panel: the longest call in ms (log scale) over seconds.
type LatencyChart<'a, 'b> =
    ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, LogCoord<f64>>>;

/// Where run `r` killed, `t` seconds into its load: a dashed line across
/// both panels (up to their tops, `(rate_top, latency_top)`) in the run's
/// colour, and `label` on the upper one, each run's a little lower.
fn mark_kill(
    rate: &mut RateChart<'_, '_>,
    slow: &mut LatencyChart<'_, '_>,
    t: f64,
    r: usize,
    label: String,
    (rate_top, latency_top): (f64, f64),
) -> DrawResult {
    let c = colour(r);
    rate.draw_series(DashedLineSeries::new(
        vec![(t, 0.0), (t, rate_top)],
        6,
        4,
        c.stroke_width(2),
    ))?;
    rate.draw_series(std::iter::once(Text::new(
        label,
        (t, rate_top * (0.97 - 0.07 * r as f64)),
        ("sans-serif", 13).into_font().color(&c),
    )))?;
    slow.draw_series(DashedLineSeries::new(
        vec![(t, 0.1), (t, latency_top)],
        6,
        4,
        c.stroke_width(2),
    ))?;
    Ok(())
}
