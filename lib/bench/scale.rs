//! `bench --scale`: what the product DB's reads cost as the catalogue
//! grows. The catalogue is grown to each size in `--sizes` (10,000 and
//! 100,000 items by default) by one seller of the run's own, and at each
//! size one client times, one call after another, `--samples` calls of:
//!
//! - `get-item`: a random item of the run;
//! - `search-selective`: a keyword only the run's first 10 items carry;
//! - `search-broad`: a keyword every item of the run carries, first page
//!   (the default 100 items);
//! - `search-broad-deep`: the same, a page among the first ten, through the
//!   `next` cursors of a walk done before timing;
//! - `search-mixed`: the broad and the selective keyword together, first
//!   page (the 10 items carrying both rank first);
//! - `list`: the seller's list (every item of the run), first page;
//! - `list-deep`: the same, a page among the first ten.
//!
//! All items go to one category, `SCALE_CATEGORY`, under keywords that carry
//! a random part, so earlier runs on the same cluster only add to the
//! category's size (which is the point) and never to a result. Calls go
//! through a buyer and a seller frontend like a client's, session check
//! included. The report (`scale.md`, `scale.csv`) goes to `--out`.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::config::ClusterConfig;
use crate::market::RequestId;

use super::scenario::wait_healthy;
use super::BenchError;

/// The category the catalogue grows in.
const SCALE_CATEGORY: u8 = 7;
/// Items that carry the selective keyword (the run's first ones).
const SELECTIVE_ITEMS: usize = 10;
/// Threads that put the catalogue up: enough to fill the Raft leader's
/// group commit, few enough for a 2-core machine.
const WRITERS: usize = 16;
/// Tries of one put (same request id) before the growth gives up.
const PUT_TRIES_MAX: usize = 20;
/// Pages walked to find the cursors of deep pages.
const DEEP_PAGES: usize = 10;
/// One call's timeout.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// The reads timed at each size, in report order.
const OPERATIONS: [&str; 7] = [
    "get-item",
    "search-selective",
    "search-broad",
    "search-broad-deep",
    "search-mixed",
    "list",
    "list-deep",
];

/// What `bench --scale` runs.
#[derive(Clone, Debug, PartialEq)]
pub struct ScaleOptions {
    /// The cluster file.
    pub config: PathBuf,
    /// Catalogue sizes (items this run puts up), ascending.
    pub sizes: Vec<usize>,
    /// Timed calls per operation and size.
    pub samples: usize,
    /// Where `scale.md` and `scale.csv` go.
    pub out: PathBuf,
    /// Start the cluster with scripts/run.sh if it is not up.
    pub start_cluster: bool,
}

/// Latency figures of one operation at one size, in ms.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Figures {
    /// Mean.
    pub mean_ms: f64,
    /// Median.
    pub p50_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
}

/// The figures of one size.
pub struct SizeResult {
    /// Items the run had put up.
    pub size: usize,
    /// How long growing to this size took (from the size before).
    pub growth: Duration,
    /// One entry per `OPERATIONS`, same order.
    pub figures: Vec<Figures>,
}

/// The run's accounts and keywords, and where to call.
struct Run {
    sellers: Vec<SocketAddr>,
    buyers: Vec<SocketAddr>,
    seller_session: String,
    buyer_session: String,
    broad: String,
    selective: String,
    agent: ureq::Agent,
}

/// Runs the scale measurement and writes its report.
pub fn run_scale(options: &ScaleOptions, command: &str) -> Result<Vec<SizeResult>, BenchError> {
    let config =
        ClusterConfig::load(&options.config).map_err(|e| BenchError::Config(e.to_string()))?;
    wait_healthy(&config, Duration::from_secs(60))?;
    let run = Run::set_up(&config)?;
    let mut results = Vec::new();
    let mut put = 0;
    for &size in &options.sizes {
        let started = Instant::now();
        run.grow(put, size)?;
        put = size;
        let growth = started.elapsed();
        eprintln!(
            "bench --scale: {size} items put ({:.1} s)",
            growth.as_secs_f64()
        );
        let figures = run.measure(size, options.samples)?;
        for (operation, figure) in OPERATIONS.iter().zip(&figures) {
            eprintln!(
                "bench --scale: {size} {operation}: mean {:.2} ms, p50 {:.2}, p99 {:.2}",
                figure.mean_ms, figure.p50_ms, figure.p99_ms
            );
        }
        results.push(SizeResult {
            size,
            growth,
            figures,
        });
    }
    write_report(&options.out, command, options.samples, &results)?;
    Ok(results)
}

impl Run {
    /// Accounts, sessions and keywords of a fresh run.
    fn set_up(config: &ClusterConfig) -> Result<Run, BenchError> {
        let stamp = format!("{:x}", rand::random::<u32>() & 0xfffff);
        let mut run = Run {
            sellers: super::frontend_addresses(&config.seller_server)?,
            buyers: super::frontend_addresses(&config.buyer_server)?,
            seller_session: String::new(),
            buyer_session: String::new(),
            broad: format!("b{stamp}"),
            selective: format!("s{stamp}"),
            agent: agent(),
        };
        run.seller_session = run.account("seller", &format!("scale-seller-{stamp}"))?;
        run.buyer_session = run.account("buyer", &format!("scale-buyer-{stamp}"))?;
        Ok(run)
    }

    fn account(&self, role: &str, name: &str) -> Result<String, BenchError> {
        let credentials = json!({"name": name, "password": "scale"});
        let frontend = if role == "seller" {
            self.sellers[0]
        } else {
            self.buyers[0]
        };
        let path = format!("/{role}/accounts");
        call(
            &self.agent,
            frontend,
            "POST",
            &path,
            None,
            Some(&credentials),
        )?;
        let path = format!("/{role}/login");
        let reply = call(
            &self.agent,
            frontend,
            "POST",
            &path,
            None,
            Some(&credentials),
        )?;
        reply["session"]
            .as_str()
            .map(String::from)
            .ok_or_else(|| BenchError::Cluster(format!("login gave no session: {reply}")))
    }

    /// Puts up items number `from`..`to` of the run from `WRITERS` threads.
    fn grow(&self, from: usize, to: usize) -> Result<(), BenchError> {
        let next = AtomicUsize::new(from);
        std::thread::scope(|scope| {
            let writers: Vec<_> = (0..WRITERS)
                .map(|writer| {
                    let next = &next;
                    scope.spawn(move || -> Result<(), BenchError> {
                        let agent = agent();
                        let frontend = self.sellers[writer % self.sellers.len()];
                        loop {
                            let n = next.fetch_add(1, Ordering::Relaxed);
                            if n >= to {
                                return Ok(());
                            }
                            self.put(&agent, frontend, n)?;
                        }
                    })
                })
                .collect();
            writers
                .into_iter()
                .map(|writer| writer.join().unwrap_or_else(|_| Err(panicked())))
                .collect::<Result<Vec<()>, BenchError>>()
                .map(|_| ())
        })
    }

    /// Puts up the run's item number `n`, retrying under the same request
    /// id (so a put is applied once) on another frontend if one fails.
    fn put(&self, agent: &ureq::Agent, first: SocketAddr, n: usize) -> Result<(), BenchError> {
        let mut keywords = vec![self.broad.clone()];
        if n < SELECTIVE_ITEMS {
            keywords.push(self.selective.clone());
        }
        let body = json!({"name": format!("scale item {n}"), "category": SCALE_CATEGORY,
            "condition": "new", "price": "1.00", "quantity": 1000, "keywords": keywords});
        let request_id = RequestId::random().0;
        let mut last = None;
        for attempt in 0..PUT_TRIES_MAX {
            let frontend = if attempt == 0 {
                first
            } else {
                self.sellers[attempt % self.sellers.len()]
            };
            let request = agent
                .post(&format!("http://{frontend}/seller/items"))
                .set("X-Session", &self.seller_session)
                .set("X-Request-Id", &request_id);
            match request.send_json(&body) {
                Ok(_) => return Ok(()),
                Err(error) => last = Some(error.to_string()),
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(BenchError::Cluster(format!(
            "putting item {n} failed {PUT_TRIES_MAX} times: {}",
            last.unwrap_or_default()
        )))
    }

    /// Times every operation `samples` times at the current size.
    fn measure(&self, size: usize, samples: usize) -> Result<Vec<Figures>, BenchError> {
        let search =
            |keywords: &str| format!("/buyer/items?category={SCALE_CATEGORY}&keywords={keywords}");
        let broad = search(&self.broad);
        let mixed = search(&format!("{},{}", self.selective, self.broad));
        let broad_pages = self.deep_pages(self.buyers[0], &broad, &self.buyer_session)?;
        let list_pages = self.deep_pages(self.sellers[0], "/seller/items", &self.seller_session)?;
        // The run's items have numbers the run does not know; it reads
        // them off the seller's pages.
        let items: Vec<String> = self.item_ids(&list_pages)?;
        let mut figures = Vec::new();
        for operation in OPERATIONS {
            let mut times = Vec::with_capacity(samples);
            for sample in 0..samples {
                let (frontend, path, session) = match operation {
                    "get-item" => {
                        let item = &items[rand::random::<usize>() % items.len()];
                        (
                            self.buyers[0],
                            format!("/buyer/items/{item}"),
                            &self.buyer_session,
                        )
                    }
                    "search-selective" => {
                        (self.buyers[0], search(&self.selective), &self.buyer_session)
                    }
                    "search-broad" => (self.buyers[0], broad.clone(), &self.buyer_session),
                    "search-broad-deep" => {
                        let page = &broad_pages[sample % broad_pages.len()];
                        (self.buyers[0], page.clone(), &self.buyer_session)
                    }
                    "search-mixed" => (self.buyers[0], mixed.clone(), &self.buyer_session),
                    "list" => (
                        self.sellers[0],
                        "/seller/items".into(),
                        &self.seller_session,
                    ),
                    _ => {
                        let page = &list_pages[sample % list_pages.len()];
                        (self.sellers[0], page.clone(), &self.seller_session)
                    }
                };
                let started = Instant::now();
                let reply = call(&self.agent, frontend, "GET", &path, Some(session), None)?;
                times.push(started.elapsed());
                check_reply(operation, size, &reply)?;
            }
            figures.push(summarize(&mut times));
        }
        Ok(figures)
    }

    /// The paths of the first `DEEP_PAGES` pages after the first of `path`
    /// (through `next`), or as many as there are.
    fn deep_pages(
        &self,
        frontend: SocketAddr,
        path: &str,
        session: &str,
    ) -> Result<Vec<String>, BenchError> {
        let separator = if path.contains('?') { '&' } else { '?' };
        let mut pages = Vec::new();
        let mut current = path.to_string();
        for _ in 0..DEEP_PAGES {
            let reply = call(&self.agent, frontend, "GET", &current, Some(session), None)?;
            let Some(next) = reply["next"].as_str() else {
                break;
            };
            current = format!("{path}{separator}after={}", crate::client::encode(next));
            pages.push(current.clone());
        }
        if pages.is_empty() {
            pages.push(path.to_string());
        }
        Ok(pages)
    }

    /// The item ids on the seller's first pages.
    fn item_ids(&self, list_pages: &[String]) -> Result<Vec<String>, BenchError> {
        let mut ids = Vec::new();
        let first = std::iter::once("/seller/items".to_string());
        for path in first.chain(list_pages.iter().cloned()) {
            let reply = call(
                &self.agent,
                self.sellers[0],
                "GET",
                &path,
                Some(&self.seller_session),
                None,
            )?;
            for item in reply["items"].as_array().into_iter().flatten() {
                ids.extend(item["id"].as_str().map(String::from));
            }
        }
        if ids.is_empty() {
            return Err(BenchError::Cluster("the seller lists no items".into()));
        }
        Ok(ids)
    }
}

/// Checks that a timed reply is what the operation should give, so a
/// figure never times an error or a short answer.
fn check_reply(operation: &str, size: usize, reply: &Value) -> Result<(), BenchError> {
    let listed = reply["items"].as_array().map_or(0, Vec::len);
    let page = crate::market::limits::PAGE_ITEMS_DEFAULT.min(size);
    let expected = match operation {
        "get-item" => return Ok(()),
        "search-selective" => SELECTIVE_ITEMS.min(size),
        _ => page,
    };
    if listed != expected {
        return Err(BenchError::Cluster(format!(
            "{operation} at {size} items listed {listed}, not {expected}"
        )));
    }
    Ok(())
}

fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout_connect(Duration::from_secs(2))
        .timeout(CALL_TIMEOUT)
        .build()
}

fn panicked() -> BenchError {
    BenchError::Cluster("a writer thread panicked".into())
}

/// One REST call; any failure is an error of the measurement.
fn call(
    agent: &ureq::Agent,
    frontend: SocketAddr,
    method: &str,
    path: &str,
    session: Option<&str>,
    body: Option<&Value>,
) -> Result<Value, BenchError> {
    let mut request = agent.request(method, &format!("http://{frontend}{path}"));
    if let Some(session) = session {
        request = request.set("X-Session", session);
    }
    let reply = match body {
        Some(body) => request.send_json(body),
        None => request.call(),
    };
    let failed = |error: String| BenchError::Cluster(format!("{method} {path}: {error}"));
    match reply {
        Ok(response) => response.into_json().map_err(|e| failed(e.to_string())),
        Err(ureq::Error::Status(status, response)) => {
            let body = response.into_string().unwrap_or_default();
            Err(failed(format!("{status} {body}")))
        }
        Err(error) => Err(failed(error.to_string())),
    }
}

/// Mean, median and 99th percentile of `times`, in ms.
fn summarize(times: &mut [Duration]) -> Figures {
    times.sort_unstable();
    let ms = |time: Duration| time.as_secs_f64() * 1000.0;
    let at = |share: f64| {
        let index = ((times.len() as f64 * share).ceil() as usize).clamp(1, times.len()) - 1;
        ms(times[index])
    };
    let total: f64 = times.iter().map(|time| ms(*time)).sum();
    Figures {
        mean_ms: total / times.len().max(1) as f64,
        p50_ms: at(0.50),
        p99_ms: at(0.99),
    }
}

/// The start of `scale.md`: title, command, machine, what was measured,
/// and the table's head (a column per size, and the ratio when there are
/// two sizes or more).
fn report_header(command: &str, samples: usize, results: &[SizeResult]) -> String {
    let mut markdown = String::new();
    let _ = writeln!(
        markdown,
        "# Read cost as the catalogue grows (`bench --scale`)\n"
    );
    let _ = writeln!(markdown, "Command: `{command}`  ");
    let _ = writeln!(markdown, "Machine: {}  ", super::machine_description());
    let _ = writeln!(
        markdown,
        "{samples} calls per operation and size, one after another from one client; \
         sizes are the items this run put up in category {SCALE_CATEGORY}.\n"
    );
    let _ = write!(markdown, "| operation |");
    for result in results {
        let _ = write!(markdown, " {} items: mean / p50 / p99 ms |", result.size);
    }
    if results.len() >= 2 {
        let _ = write!(markdown, " largest / smallest (mean) |");
    }
    let _ = writeln!(markdown);
    let _ = writeln!(
        markdown,
        "|---|{}",
        "---|".repeat(results.len() + usize::from(results.len() >= 2))
    );
    markdown
}

/// `scale.md` (a table per figure, and the largest size against the
/// smallest) and `scale.csv`.
fn write_report(
    out: &Path,
    command: &str,
    samples: usize,
    results: &[SizeResult],
) -> Result<(), BenchError> {
    std::fs::create_dir_all(out).map_err(|e| BenchError::Write(out.to_path_buf(), e))?;
    let mut markdown = report_header(command, samples, results);
    let mut csv = String::from("operation,size,mean_ms,p50_ms,p99_ms\n");
    for (index, operation) in OPERATIONS.iter().enumerate() {
        let _ = write!(markdown, "| {operation} |");
        for result in results {
            let figure = result.figures[index];
            let _ = write!(
                markdown,
                " {:.2} / {:.2} / {:.2} |",
                figure.mean_ms, figure.p50_ms, figure.p99_ms
            );
            let _ = writeln!(
                csv,
                "{operation},{},{:.3},{:.3},{:.3}",
                result.size, figure.mean_ms, figure.p50_ms, figure.p99_ms
            );
        }
        if let (Some(first), Some(last)) = (results.first(), results.last()) {
            if results.len() >= 2 {
                let ratio = last.figures[index].mean_ms / first.figures[index].mean_ms.max(1e-9);
                let _ = write!(markdown, " {ratio:.2} |");
            }
        }
        let _ = writeln!(markdown);
    }
    let _ = writeln!(markdown);
    for result in results {
        let _ = writeln!(
            markdown,
            "Growing to {} items took {:.1} s.  ",
            result.size,
            result.growth.as_secs_f64()
        );
    }
    for (name, text) in [("scale.md", markdown), ("scale.csv", csv)] {
        let path = out.join(name);
        std::fs::write(&path, text).map_err(|e| BenchError::Write(path.clone(), e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_are_mean_median_and_p99() {
        let mut times: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        let figures = summarize(&mut times);
        assert_eq!(figures.p50_ms, 50.0);
        assert_eq!(figures.p99_ms, 99.0);
        assert!((figures.mean_ms - 50.5).abs() < 1e-9);
    }
}
