//! `bench --scale`: what calls cost as the catalogue and the accounts
//! grow, and what a replica's lifecycle costs. The catalogue is grown to
//! each size in `--sizes` (10,000 and 100,000 by default) by one seller of
//! the run's own, then the buyer accounts to the same number, and at each
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
//! - `list-deep`: the same, a page among the first ten;
//! - `login`: a random account of the run logs in;
//! - `purchase`: the run's buyer puts one unit of a random item of the run
//!   in its cart (not timed) and buys it; a declined card (the financial
//!   service declines some at random) is bought again, and only the
//!   approved purchase is timed.
//!
//! Then each database of `--lifecycle` (both unless `--no-lifecycle`): its
//! snapshot, restart and
//! catch-up figures (`lifecycle.rs`); the catch-up's missed writes
//! (`--lag`, items or accounts of the run) count toward the next size. Once
//! the catalogue is full (`ITEMS_MAX` items, the largest size allowed), the
//! product DB's missed writes are price changes instead.
//!
//! All items go to one category, `SCALE_CATEGORY`, under keywords that carry
//! a random part, so earlier runs on the same cluster only add to the
//! category's size (which is the point) and never to a result. Calls go
//! through a buyer and a seller frontend like a client's, session check
//! included. The report (`scale_report.rs`) goes to `--out`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::config::{ClusterConfig, Component};
use crate::market::RequestId;

use super::lifecycle::{measure_lifecycle, LagWriter, LifecycleFigures};
use super::scale_report::write_report;
use super::scenario::{wait_healthy, ClusterControl};
use super::BenchError;

/// The category the catalogue grows in.
pub const SCALE_CATEGORY: u8 = 7;
/// Items that carry the selective keyword (the run's first ones).
const SELECTIVE_ITEMS: usize = 10;
/// Threads that put the catalogue and the accounts up: enough to fill the
/// Raft leader's group commit and the sequencer's batches, few enough for
/// a 2-core machine.
const WRITERS: usize = 16;
/// Tries of one write (same request id) before the growth gives up.
const WRITE_TRIES_MAX: usize = 20;
/// Tries of one purchase whose card is declined.
const PURCHASE_TRIES_MAX: usize = 20;
/// Pages walked to find the cursors of deep pages.
const DEEP_PAGES: usize = 10;
/// One call's timeout.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// Every grown account's password.
const PASSWORD: &str = "scale";
/// The card the run's buyer pays with (valid, so the financial service
/// approves it with the cluster file's probability).
const CARD: (&str, &str) = ("4111111111111111", "12/99");

/// The calls timed at each size, in report order.
pub const OPERATIONS: [&str; 9] = [
    "get-item",
    "search-selective",
    "search-broad",
    "search-broad-deep",
    "search-mixed",
    "list",
    "list-deep",
    "login",
    "purchase",
];

/// What `bench --scale` runs.
#[derive(Clone, Debug, PartialEq)]
pub struct ScaleOptions {
    /// The cluster file.
    pub config: PathBuf,
    /// Sizes (items, and accounts, this run puts up), ascending.
    pub sizes: Vec<usize>,
    /// Timed calls per operation and size.
    pub samples: usize,
    /// Where the report goes.
    pub out: PathBuf,
    /// Start the cluster with scripts/run.sh if it is not up.
    pub start_cluster: bool,
    /// The databases whose replica lifecycle is measured at each size.
    pub lifecycle: Vec<Component>,
    /// Writes a restarted replica misses for the catch-up figure.
    pub lag: usize,
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
    /// Items, and accounts, the run had put up.
    pub size: usize,
    /// How long growing the catalogue to this size took (from the size
    /// before, lag writes aside).
    pub items_growth: Duration,
    /// The same for the accounts.
    pub accounts_growth: Duration,
    /// One entry per `OPERATIONS`, same order.
    pub figures: Vec<Figures>,
    /// Per database, when measured.
    pub lifecycle: Vec<LifecycleFigures>,
}

/// The run's accounts and keywords, what it put up, and where to call.
struct Run {
    sellers: Vec<SocketAddr>,
    buyers: Vec<SocketAddr>,
    seller_name: String,
    buyer_name: String,
    seller_session: String,
    buyer_session: String,
    broad: String,
    selective: String,
    /// Grown account `n` is `<accounts_prefix><n>`.
    accounts_prefix: String,
    items_put: AtomicUsize,
    accounts_made: AtomicUsize,
    agent: ureq::Agent,
}

/// What `measure` calls, found before timing.
struct Targets {
    broad: String,
    mixed: String,
    broad_pages: Vec<String>,
    list_pages: Vec<String>,
    items: Vec<String>,
}

/// Runs the scale measurement and writes its report. Replicas are killed
/// and restarted through `control`.
pub fn run_scale(
    options: &ScaleOptions,
    control: &dyn ClusterControl,
    command: &str,
) -> Result<Vec<SizeResult>, BenchError> {
    let config =
        ClusterConfig::load(&options.config).map_err(|e| BenchError::Config(e.to_string()))?;
    wait_healthy(&config, Duration::from_secs(60))?;
    let mut run = Run::set_up(&config)?;
    let mut results = Vec::new();
    for &size in &options.sizes {
        let (items_growth, accounts_growth) = run.grow_to(size)?;
        // A long growth leaves the run's sessions unused for longer than
        // their timeout may allow.
        run.log_in_again()?;
        let mut result = run.measure_size(size, options, &config, control)?;
        result.items_growth = items_growth;
        result.accounts_growth = accounts_growth;
        results.push(result);
        // After every size, so a run stopped at a larger size (a million
        // takes long) still reports the sizes before it.
        write_report(&options.out, command, options, &results)?;
    }
    Ok(results)
}

/// How long `work` took.
fn timed(work: impl FnOnce() -> Result<(), BenchError>) -> Result<Duration, BenchError> {
    let started = Instant::now();
    work()?;
    Ok(started.elapsed())
}

impl Run {
    /// Accounts, sessions and keywords of a fresh run.
    fn set_up(config: &ClusterConfig) -> Result<Run, BenchError> {
        let stamp = format!("{:x}", rand::random::<u32>() & 0xfffff);
        let mut run = Run {
            sellers: super::frontend_addresses(&config.seller_server)?,
            buyers: super::frontend_addresses(&config.buyer_server)?,
            seller_name: format!("scale-seller-{stamp}"),
            buyer_name: format!("scale-buyer-{stamp}"),
            seller_session: String::new(),
            buyer_session: String::new(),
            broad: format!("b{stamp}"),
            selective: format!("s{stamp}"),
            accounts_prefix: format!("a{stamp}-"),
            items_put: AtomicUsize::new(0),
            accounts_made: AtomicUsize::new(0),
            agent: agent(),
        };
        run.create_account("seller", &run.seller_name)?;
        run.create_account("buyer", &run.buyer_name)?;
        run.log_in_again()?;
        Ok(run)
    }

    /// Grows the catalogue, then the accounts, to `size`; how long each took.
    fn grow_to(&self, size: usize) -> Result<(Duration, Duration), BenchError> {
        let items_growth = timed(|| self.grow_items(size))?;
        let accounts_growth = timed(|| self.grow_accounts(size))?;
        eprintln!(
            "bench --scale: {size} items ({:.1} s) and accounts ({:.1} s) put",
            items_growth.as_secs_f64(),
            accounts_growth.as_secs_f64()
        );
        Ok((items_growth, accounts_growth))
    }

    /// New sessions for the run's seller and buyer.
    fn log_in_again(&mut self) -> Result<(), BenchError> {
        self.seller_session = self.log_in("seller", &self.seller_name)?;
        self.buyer_session = self.log_in("buyer", &self.buyer_name)?;
        Ok(())
    }

    /// Times every operation, and measures the lifecycle, at `size`.
    fn measure_size(
        &self,
        size: usize,
        options: &ScaleOptions,
        config: &ClusterConfig,
        control: &dyn ClusterControl,
    ) -> Result<SizeResult, BenchError> {
        let figures = self.measure(options.samples)?;
        for (operation, figure) in OPERATIONS.iter().zip(&figures) {
            eprintln!(
                "bench --scale: {size} {operation}: mean {:.2} ms, p50 {:.2}, p99 {:.2}",
                figure.mean_ms, figure.p50_ms, figure.p99_ms
            );
        }
        let mut lifecycle = Vec::new();
        let item_lag = |lag| self.lag_items(lag);
        let account_lag =
            |lag| self.grow_accounts(self.accounts_made.load(Ordering::Relaxed) + lag);
        let lags: [(Component, LagWriter<'_>); 2] = [
            (Component::ProductDb, &item_lag),
            (Component::CustomerDb, &account_lag),
        ];
        for (database, write_lag) in lags {
            if !options.lifecycle.contains(&database) {
                continue;
            }
            let figures = measure_lifecycle(config, control, database, options.lag, write_lag)?;
            eprintln!("bench --scale: {size} {figures:?}");
            lifecycle.push(figures);
        }
        Ok(SizeResult {
            size,
            items_growth: Duration::ZERO,
            accounts_growth: Duration::ZERO,
            figures,
            lifecycle,
        })
    }

    /// Creates the account `name` of `role`.
    fn create_account(&self, role: &str, name: &str) -> Result<(), BenchError> {
        let credentials = json!({"name": name, "password": PASSWORD});
        let path = format!("/{role}/accounts");
        call(
            &self.agent,
            self.frontend(role),
            "POST",
            &path,
            None,
            Some(&credentials),
        )?;
        Ok(())
    }

    /// A new session of the account `name` of `role`.
    fn log_in(&self, role: &str, name: &str) -> Result<String, BenchError> {
        let credentials = json!({"name": name, "password": PASSWORD});
        let path = format!("/{role}/login");
        let reply = call(
            &self.agent,
            self.frontend(role),
            "POST",
            &path,
            None,
            Some(&credentials),
        )?;
        session_of(&reply)
    }

    fn frontend(&self, role: &str) -> SocketAddr {
        if role == "seller" {
            self.sellers[0]
        } else {
            self.buyers[0]
        }
    }

    /// Puts up the run's items up to number `to` (excluded).
    fn grow_items(&self, to: usize) -> Result<(), BenchError> {
        self.fan_out(&self.items_put, to, |agent, writer, n| {
            let mut keywords = vec![self.broad.clone()];
            if n < SELECTIVE_ITEMS {
                keywords.push(self.selective.clone());
            }
            let body = json!({"name": format!("scale item {n}"), "category": SCALE_CATEGORY,
                "condition": "new", "price": "1.00", "quantity": 1000, "keywords": keywords});
            let session = Some(self.seller_session.as_str());
            self.write(
                agent,
                &self.sellers,
                writer,
                ("POST", "/seller/items"),
                session,
                &body,
            )
        })
    }

    /// `lag` product-DB writes for a catch-up: new items while the
    /// catalogue has room for them, else (the largest size may fill it)
    /// price changes of the items on the seller's first page.
    fn lag_items(&self, lag: usize) -> Result<(), BenchError> {
        let put = self.items_put.load(Ordering::Relaxed);
        if catalogue_has_room(put, lag) {
            return self.grow_items(put + lag);
        }
        let items = self.item_ids(&[])?;
        self.fan_out(&AtomicUsize::new(0), lag, |agent, writer, n| {
            let path = format!("/seller/items/{}/price", items[n % items.len()]);
            let body = json!({"price": format!("1.{:02}", n % 100)});
            let session = Some(self.seller_session.as_str());
            self.write(agent, &self.sellers, writer, ("PUT", &path), session, &body)
        })
    }

    /// Creates the run's buyer accounts up to number `to` (excluded).
    fn grow_accounts(&self, to: usize) -> Result<(), BenchError> {
        self.fan_out(&self.accounts_made, to, |agent, writer, n| {
            let body = json!({"name": format!("{}{n}", self.accounts_prefix),
                "password": PASSWORD});
            let route = ("POST", "/buyer/accounts");
            self.write(agent, &self.buyers, writer, route, None, &body)
        })
    }

    /// Runs `write(agent, writer, n)` for every `n` from `done` up to `to`
    /// from `WRITERS` threads, then sets `done` to `to`.
    fn fan_out(
        &self,
        done: &AtomicUsize,
        to: usize,
        write: impl Fn(&ureq::Agent, usize, usize) -> Result<(), BenchError> + Sync,
    ) -> Result<(), BenchError> {
        let next = AtomicUsize::new(done.load(Ordering::Relaxed));
        let outcome = std::thread::scope(|scope| {
            let writers: Vec<_> = (0..WRITERS)
                .map(|writer| {
                    let (next, write) = (&next, &write);
                    scope.spawn(move || -> Result<(), BenchError> {
                        let agent = agent();
                        loop {
                            let n = next.fetch_add(1, Ordering::Relaxed);
                            if n >= to {
                                return Ok(());
                            }
                            write(&agent, writer, n)?;
                        }
                    })
                })
                .collect();
            writers
                .into_iter()
                .map(|writer| writer.join().unwrap_or_else(|_| Err(panicked())))
                .collect::<Result<Vec<()>, BenchError>>()
        });
        done.fetch_max(to, Ordering::Relaxed);
        outcome.map(|_| ())
    }

    /// One write (`route`: method and path), retried under the same
    /// request id (so it is applied once) on the next frontend if one fails.
    fn write(
        &self,
        agent: &ureq::Agent,
        frontends: &[SocketAddr],
        writer: usize,
        route: (&str, &str),
        session: Option<&str>,
        body: &Value,
    ) -> Result<(), BenchError> {
        let (method, path) = route;
        let request_id = RequestId::random().0;
        let mut last = None;
        for attempt in 0..WRITE_TRIES_MAX {
            let frontend = frontends[(writer + attempt) % frontends.len()];
            let mut request = agent
                .request(method, &format!("http://{frontend}{path}"))
                .set("X-Request-Id", &request_id);
            if let Some(session) = session {
                request = request.set("X-Session", session);
            }
            match request.send_json(body) {
                Ok(_) => return Ok(()),
                Err(error) => last = Some(error.to_string()),
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(BenchError::Cluster(format!(
            "{method} {path} {body} failed {WRITE_TRIES_MAX} times: {}",
            last.unwrap_or_default()
        )))
    }

    /// Times every operation `samples` times at the current size.
    fn measure(&self, samples: usize) -> Result<Vec<Figures>, BenchError> {
        let targets = self.targets()?;
        let mut figures = Vec::new();
        for operation in OPERATIONS {
            let mut times = Vec::with_capacity(samples);
            for sample in 0..samples {
                times.push(self.sample(&targets, operation, sample)?);
            }
            figures.push(summarize(&mut times));
        }
        Ok(figures)
    }

    /// What the reads call: paths, deep pages, and item ids.
    fn targets(&self) -> Result<Targets, BenchError> {
        let broad = search_path(&self.broad);
        let mixed = search_path(&format!("{},{}", self.selective, self.broad));
        let broad_pages = self.deep_pages(self.buyers[0], &broad, &self.buyer_session)?;
        let list_pages = self.deep_pages(self.sellers[0], "/seller/items", &self.seller_session)?;
        // The run's items have numbers the run does not know; it reads
        // them off the seller's pages.
        let items = self.item_ids(&list_pages)?;
        Ok(Targets {
            broad,
            mixed,
            broad_pages,
            list_pages,
            items,
        })
    }

    /// One timed call of `operation` (sample number `sample`).
    fn sample(
        &self,
        targets: &Targets,
        operation: &str,
        sample: usize,
    ) -> Result<Duration, BenchError> {
        let random_item = || &targets.items[rand::random::<usize>() % targets.items.len()];
        let (buyer, seller) = (&self.buyer_session, &self.seller_session);
        let (frontend, path, session) = match operation {
            "login" => return self.time_login(),
            "purchase" => return self.time_purchase(random_item()),
            "get-item" => (
                self.buyers[0],
                format!("/buyer/items/{}", random_item()),
                buyer,
            ),
            "search-selective" => (self.buyers[0], search_path(&self.selective), buyer),
            "search-broad" => (self.buyers[0], targets.broad.clone(), buyer),
            "search-broad-deep" => {
                let page = &targets.broad_pages[sample % targets.broad_pages.len()];
                (self.buyers[0], page.clone(), buyer)
            }
            "search-mixed" => (self.buyers[0], targets.mixed.clone(), buyer),
            "list" => (self.sellers[0], "/seller/items".into(), seller),
            _ => {
                let page = &targets.list_pages[sample % targets.list_pages.len()];
                (self.sellers[0], page.clone(), seller)
            }
        };
        let started = Instant::now();
        let reply = call(&self.agent, frontend, "GET", &path, Some(session), None)?;
        let time = started.elapsed();
        // Lag writes of an earlier size's catch-up put up items beyond it.
        check_reply(operation, self.items_put.load(Ordering::Relaxed), &reply)?;
        Ok(time)
    }

    /// A random grown account logs in.
    fn time_login(&self) -> Result<Duration, BenchError> {
        let made = self.accounts_made.load(Ordering::Relaxed).max(1);
        let name = format!("{}{}", self.accounts_prefix, rand::random::<usize>() % made);
        let credentials = json!({"name": name, "password": PASSWORD});
        let started = Instant::now();
        let reply = call(
            &self.agent,
            self.buyers[0],
            "POST",
            "/buyer/login",
            None,
            Some(&credentials),
        )?;
        let time = started.elapsed();
        session_of(&reply)?;
        Ok(time)
    }

    /// The run's buyer adds one unit of `item` and buys it; only the
    /// approved purchase is timed.
    fn time_purchase(&self, item: &str) -> Result<Duration, BenchError> {
        let session = Some(self.buyer_session.as_str());
        let line = json!({"item_id": item, "quantity": 1});
        let add = "/buyer/cart/add";
        call(
            &self.agent,
            self.buyers[0],
            "POST",
            add,
            session,
            Some(&line),
        )?;
        let card = json!({"card_holder": "Scale Buyer", "card_number": CARD.0,
            "expiry": CARD.1});
        for _ in 0..PURCHASE_TRIES_MAX {
            let started = Instant::now();
            let request = self
                .agent
                .post(&format!("http://{}/buyer/purchase", self.buyers[0]))
                .set("X-Session", &self.buyer_session);
            match request.send_json(&card) {
                Ok(response) => {
                    let time = started.elapsed();
                    let reply: Value = response
                        .into_json()
                        .map_err(|e| BenchError::Cluster(format!("purchase: {e}")))?;
                    if reply["purchase"]["purchase_id"].is_null() {
                        return Err(BenchError::Cluster(format!("purchase gave {reply}")));
                    }
                    return Ok(time);
                }
                // A declined card: the cart is still there; buy it again.
                Err(ureq::Error::Status(402, _)) => continue,
                Err(error) => return Err(BenchError::Cluster(format!("purchase: {error}"))),
            }
        }
        Err(BenchError::Cluster(format!(
            "{PURCHASE_TRIES_MAX} purchases in a row were declined"
        )))
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

/// Whether `lag` more items fit in the product DB beside the `put` this
/// run put up (a fresh cluster holds no others).
fn catalogue_has_room(put: usize, lag: usize) -> bool {
    put + lag <= crate::product::ITEMS_MAX
}

/// The search of the run's category for `keywords`.
fn search_path(keywords: &str) -> String {
    format!("/buyer/items?category={SCALE_CATEGORY}&keywords={keywords}")
}

/// The session a login gave.
fn session_of(reply: &Value) -> Result<String, BenchError> {
    reply["session"]
        .as_str()
        .map(String::from)
        .ok_or_else(|| BenchError::Cluster(format!("login gave no session: {reply}")))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lag_writes_put_items_only_while_the_catalogue_has_room() {
        let full = crate::product::ITEMS_MAX;
        assert!(catalogue_has_room(100_000, 2_000));
        assert!(catalogue_has_room(full - 2_000, 2_000));
        assert!(!catalogue_has_room(full - 1_999, 2_000));
        assert!(!catalogue_has_room(full, 1));
    }

    #[test]
    fn figures_are_mean_median_and_p99() {
        let mut times: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        let figures = summarize(&mut times);
        assert_eq!(figures.p50_ms, 50.0);
        assert_eq!(figures.p99_ms, 99.0);
        assert!((figures.mean_ms - 50.5).abs() < 1e-9);
    }
}
