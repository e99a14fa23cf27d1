//! Runs one load: a thread per client, started [`LoadSpec::ramp`] apart
//! (tiny_http 0.12's task pool can leave connections opened in a burst
//! unserved until one closes); every client sets itself up, then all start
//! the load at the same instant (the epoch of the timeline); a `killer`
//! thread kills processes when the load's progress crosses the kill point;
//! the calling thread prints a progress line on stderr every few seconds
//! and merges the recorders.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::ScopedJoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Receiver, Sender};

use super::client::{run_client, Caller};
use super::http::FrontendApi;
use super::options::Load;
use super::recorder::Recorder;
use super::scenario::{ClusterControl, Target};
use super::workload::{
    catalogue_size, Buyer, CatalogueItem, CatalogueSeller, ClientScript, RunNames, Seller,
};
use super::BenchError;

/// How often the progress line is printed.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);
/// How often the calling thread looks at the clients.
const POLL: Duration = Duration::from_millis(20);
/// The killer picks its targets while the clients set up, so that the kill
/// itself is immediate (asking every process for its status takes a while
/// on a loaded machine); a pick older than this is made again at the kill,
/// since a Raft leader may have changed meanwhile.
const PICK_FRESH_FOR: Duration = Duration::from_secs(5);

/// What to kill, and when.
pub struct KillPlan<'a> {
    /// Kill once this many load calls have ended.
    pub after_calls: u64,
    /// Picks the targets at the moment of the kill (a Raft leader may have
    /// changed since the load started).
    pub choose: &'a (dyn Fn() -> Result<Vec<Target>, BenchError> + Sync),
    /// Kills them.
    pub control: &'a dyn ClusterControl,
}

/// What was killed, and when.
#[derive(Clone, Debug, Default)]
pub struct KillRecord {
    /// When, from the start of the load.
    pub at: Option<Duration>,
    /// What was killed (to be restarted).
    pub targets: Vec<Target>,
    /// Why the kill failed, if it did.
    pub error: Option<String>,
}

/// One load to run.
pub struct LoadSpec<'a> {
    /// For progress lines, e.g. "B 10+10".
    pub label: String,
    /// How many sellers and buyers.
    pub load: Load,
    /// Load calls per client.
    pub calls: usize,
    /// Seller frontends; seller i starts at `sellers[i % len]`.
    pub sellers: Vec<SocketAddr>,
    /// Buyer frontends; buyer i starts at `buyers[i % len]`.
    pub buyers: Vec<SocketAddr>,
    /// This run's unique names.
    pub names: RunNames,
    /// Pause between two client threads' starts.
    pub ramp: Duration,
    /// The kill, if the scenario has one.
    pub kill: Option<KillPlan<'a>>,
}

/// What a load came to.
pub struct LoadOutcome {
    /// Every client's measurements, merged.
    pub recorder: Recorder,
    /// From the start of the load to the last call's end.
    pub wall: Duration,
    /// The kill, if one was planned.
    pub kill: Option<KillRecord>,
}

enum KillerMessage {
    Kill,
    Stop,
}

/// What the client threads of one load share with the calling thread.
pub struct RunShared {
    completed: AtomicU64,
    errors: AtomicU64,
    arrived: AtomicUsize,
    epoch: OnceLock<Instant>,
    /// The catalogue, set when the load starts; `None` aborts the load.
    start: OnceLock<Option<Arc<Vec<CatalogueItem>>>>,
    kill: OnceLock<Instant>,
    kill_after: Option<u64>,
    killer: Option<Sender<KillerMessage>>,
}

impl RunShared {
    /// When the load started, once it has.
    pub fn epoch(&self) -> Option<Instant> {
        self.epoch.get().copied()
    }

    /// When the kill happened, once it has.
    pub fn kill_instant(&self) -> Option<Instant> {
        self.kill.get().copied()
    }

    /// Counts one load call; the one that reaches the kill point wakes the
    /// killer (without waiting for it).
    pub fn count_call(&self, error: bool) {
        if error {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
        let done = self.completed.fetch_add(1, Ordering::Relaxed) + 1;
        if Some(done) == self.kill_after {
            if let Some(killer) = &self.killer {
                let _ = killer.try_send(KillerMessage::Kill);
            }
        }
    }

    /// A handle that reports this client ready, at the latest when dropped
    /// (so a client that panics in setup cannot hold the load back).
    pub fn arrival(&self) -> Arrival<'_> {
        Arrival {
            shared: self,
            arrived: false,
        }
    }

    /// Blocks until the load starts; `None` if it was called off.
    pub fn wait_for_start(&self) -> Option<Arc<Vec<CatalogueItem>>> {
        loop {
            if let Some(start) = self.start.get() {
                return start.clone();
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

/// See [`RunShared::arrival`].
pub struct Arrival<'a> {
    shared: &'a RunShared,
    arrived: bool,
}

impl Arrival<'_> {
    /// Reports the client ready for the load.
    pub fn arrive(&mut self) {
        if !self.arrived {
            self.arrived = true;
            self.shared.arrived.fetch_add(1, Ordering::SeqCst);
        }
    }
}

impl Drop for Arrival<'_> {
    fn drop(&mut self) {
        self.arrive();
    }
}

/// Runs `spec` and returns its measurements.
pub fn run_load(spec: &LoadSpec<'_>) -> Result<LoadOutcome, BenchError> {
    let clients = spec.load.sellers + spec.load.buyers;
    let (killer_tx, killer_rx) = bounded(2);
    let shared = RunShared {
        completed: AtomicU64::new(0),
        errors: AtomicU64::new(0),
        arrived: AtomicUsize::new(0),
        epoch: OnceLock::new(),
        start: OnceLock::new(),
        kill: OnceLock::new(),
        kill_after: spec.kill.as_ref().map(|k| k.after_calls.max(1)),
        killer: spec.kill.as_ref().map(|_| killer_tx.clone()),
    };
    let catalogue = match spec.load.buyers {
        0 => Vec::new(),
        _ => put_catalogue(spec, &shared)?,
    };
    std::thread::scope(|scope| {
        // The targets are picked before the clients start: the pick asks
        // every process for its status, which can take longer than a short
        // run, and a kill must land inside the run on any machine.
        let killer = match &spec.kill {
            Some(plan) => {
                let early_pick = ((plan.choose)(), Instant::now());
                Some(spawn_killer(scope, plan, early_pick, &shared, killer_rx)?)
            }
            None => None,
        };
        let handles = match spawn_clients(scope, spec, &shared) {
            Ok(handles) => handles,
            Err(error) => {
                // Release the clients already waiting, then report.
                let _ = shared.start.set(None);
                let _ = killer_tx.send(KillerMessage::Stop);
                return Err(error);
            }
        };
        wait_for_setup(spec, &shared, clients);
        let epoch = Instant::now();
        let _ = shared.epoch.set(epoch);
        let _ = shared.start.set(Some(Arc::new(catalogue)));
        let (recorder, last_end) = collect(spec, &shared, handles, clients);
        let _ = killer_tx.send(KillerMessage::Stop);
        let kill = killer.map(|k| k.join().unwrap_or_else(|_| killer_panicked()));
        Ok(LoadOutcome {
            recorder,
            wall: last_end.saturating_duration_since(epoch),
            kill,
        })
    })
}

fn killer_panicked() -> KillRecord {
    KillRecord {
        error: Some("the killer thread panicked".into()),
        ..KillRecord::default()
    }
}

type ClientHandle<'scope> = ScopedJoinHandle<'scope, (Recorder, Instant)>;

/// Starts every client thread, sellers and buyers alternating.
fn spawn_clients<'scope, 'env>(
    scope: &'scope std::thread::Scope<'scope, 'env>,
    spec: &'env LoadSpec<'env>,
    shared: &'env RunShared,
) -> Result<Vec<ClientHandle<'scope>>, BenchError> {
    let mut order = Vec::new();
    for i in 0..spec.load.sellers.max(spec.load.buyers) {
        if i < spec.load.sellers {
            order.push(("seller", i));
        }
        if i < spec.load.buyers {
            order.push(("buyer", i));
        }
    }
    let mut handles = Vec::with_capacity(order.len());
    for (n, (role, i)) in order.into_iter().enumerate() {
        if n > 0 {
            std::thread::sleep(spec.ramp);
        }
        let (endpoints, mut script): (_, Box<dyn ClientScript + Send>) = match role {
            "seller" => (
                spec.sellers.clone(),
                Box::new(Seller::new(i, spec.names.clone())),
            ),
            _ => (
                spec.buyers.clone(),
                Box::new(Buyer::new(i, spec.names.clone())),
            ),
        };
        let id_prefix = format!("{}{}{i}", spec.names.accounts, &role[..1]);
        let calls = spec.calls;
        let handle = std::thread::Builder::new()
            .name(format!("{role}-{i}"))
            .spawn_scoped(scope, move || {
                let caller = Caller::new(FrontendApi::new(endpoints, i), shared, id_prefix);
                let recorder = run_client(script.as_mut(), caller, calls);
                (recorder, Instant::now())
            })
            .map_err(|e| BenchError::Control(format!("cannot start a client thread: {e}")))?;
        handles.push(handle);
    }
    Ok(handles)
}

/// Puts the run's catalogue (setup: timed by nobody) and logs its seller out.
fn put_catalogue(
    spec: &LoadSpec<'_>,
    shared: &RunShared,
) -> Result<Vec<CatalogueItem>, BenchError> {
    let size = catalogue_size(spec.calls);
    let mut script = CatalogueSeller::new(spec.names.clone(), size);
    let api = FrontendApi::new(spec.sellers.clone(), 0);
    let mut caller = Caller::new(api, shared, format!("{}c", spec.names.accounts));
    while let Some(request) = script.next_setup() {
        let reply = caller.call(&request);
        script.observe(&request, &reply);
    }
    if let Some(request) = script.finish() {
        caller.call(&request);
    }
    if script.items().len() < size {
        let errors = caller.into_recorder().errors;
        return Err(BenchError::Cluster(format!(
            "could not put the catalogue ({} of {size} items): {errors:?}",
            script.items().len()
        )));
    }
    Ok(script.items().to_vec())
}

fn wait_for_setup(spec: &LoadSpec<'_>, shared: &RunShared, clients: usize) {
    let started = Instant::now();
    let mut next_line = started + PROGRESS_EVERY;
    while shared.arrived.load(Ordering::SeqCst) < clients {
        if Instant::now() >= next_line {
            eprintln!(
                "  {}: setting up, {}/{clients} clients ready ({:.0} s)",
                spec.label,
                shared.arrived.load(Ordering::SeqCst),
                started.elapsed().as_secs_f64()
            );
            next_line += PROGRESS_EVERY;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Waits for every client, printing progress, and merges their recorders.
fn collect(
    spec: &LoadSpec<'_>,
    shared: &RunShared,
    handles: Vec<ClientHandle<'_>>,
    clients: usize,
) -> (Recorder, Instant) {
    let total = (clients * spec.calls) as u64;
    let started = Instant::now();
    let (mut next_line, mut last_count) = (started + PROGRESS_EVERY, 0u64);
    while !handles.iter().all(|h| h.is_finished()) {
        std::thread::sleep(POLL);
        if Instant::now() >= next_line {
            let done = shared.completed.load(Ordering::Relaxed);
            let rate = (done - last_count) as f64 / PROGRESS_EVERY.as_secs_f64();
            let kill = match shared.kill_instant() {
                Some(k) => format!(", killed at {:.1} s", (k - started).as_secs_f64()),
                None => String::new(),
            };
            eprintln!(
                "  {}: {:.0} s, {done}/{total} calls, {rate:.0} calls/s, {} errors{kill}",
                spec.label,
                started.elapsed().as_secs_f64(),
                shared.errors.load(Ordering::Relaxed),
            );
            next_line += PROGRESS_EVERY;
            last_count = done;
        }
    }
    let mut merged = Recorder::default();
    let mut last_end = started;
    for handle in handles {
        match handle.join() {
            Ok((recorder, ended)) => {
                merged.merge(&recorder);
                last_end = last_end.max(ended);
            }
            Err(_) => {
                *merged
                    .errors
                    .entry("bench client panicked".into())
                    .or_default() += 1;
            }
        }
    }
    (merged, last_end)
}

fn spawn_killer<'scope, 'env>(
    scope: &'scope std::thread::Scope<'scope, 'env>,
    plan: &'env KillPlan<'env>,
    (early_pick, picked_at): (Result<Vec<Target>, BenchError>, Instant),
    shared: &'env RunShared,
    messages: Receiver<KillerMessage>,
) -> Result<ScopedJoinHandle<'scope, KillRecord>, BenchError> {
    std::thread::Builder::new()
        .name("killer".into())
        .spawn_scoped(scope, move || {
            let mut record = KillRecord::default();
            if !matches!(messages.recv(), Ok(KillerMessage::Kill)) {
                record.error = Some("the load ended before the kill point".into());
                return record;
            }
            let pick = match early_pick {
                Ok(targets) if picked_at.elapsed() < PICK_FRESH_FOR => Ok(targets),
                _ => (plan.choose)(),
            };
            let targets = match pick {
                Ok(targets) => targets,
                Err(error) => {
                    record.error = Some(error.to_string());
                    return record;
                }
            };
            let now = Instant::now();
            let _ = shared.kill.set(now);
            record.at = shared.epoch().map(|e| now.saturating_duration_since(e));
            for target in targets {
                match plan.control.kill(target.component, target.index) {
                    Ok(()) => record.targets.push(target),
                    Err(error) => record.error = Some(error.to_string()),
                }
            }
            let killed: Vec<String> = record.targets.iter().map(|t| t.to_string()).collect();
            eprintln!(
                "  killed {} at {:.2} s",
                killed.join(" and "),
                record.at.unwrap_or_default().as_secs_f64()
            );
            record
        })
        .map_err(|e| BenchError::Control(format!("cannot start the killer thread: {e}")))
}
