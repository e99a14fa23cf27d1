//! One simulated client from start to end: its setup calls, the wait for
//! every other client to be ready, its share of the load, and its logout;
//! every call timed, recorded in the client's own recorder, and counted in
//! the run's shared progress.

use std::time::Instant;

use super::driver::RunShared;
use super::http::{CallResult, FrontendApi};
use super::recorder::{Outcome, Recorder};
use super::workload::{ClientScript, Reply, Request};

/// Makes a client's calls: a fresh request id per call (reused by every
/// failover retry of that call), timing, recording and counting.
pub struct Caller<'a> {
    api: FrontendApi,
    recorder: Recorder,
    shared: &'a RunShared,
    id_prefix: String,
    sequence: u64,
    loading: bool,
}

impl<'a> Caller<'a> {
    /// A caller over `api`, naming its requests `<id_prefix>-<n>`.
    pub fn new(api: FrontendApi, shared: &'a RunShared, id_prefix: String) -> Self {
        Caller {
            api,
            recorder: Recorder::default(),
            shared,
            id_prefix,
            sequence: 0,
            loading: false,
        }
    }

    /// Makes one call and returns what the script needs of its reply.
    pub fn call(&mut self, request: &Request) -> Reply {
        self.sequence += 1;
        let request_id = format!("{}-{}", self.id_prefix, self.sequence);
        let started = Instant::now();
        let result = self.api.call(request, &request_id);
        let finished = Instant::now();
        let (outcome, reply) = match &result {
            CallResult::Ok(body) => (Outcome::Ok, Reply::Ok(body.clone())),
            CallResult::Business(kind) => (Outcome::Business(kind), Reply::Business(kind)),
            CallResult::Error(kind) => {
                log::warn!("{} {} ({request_id}): {kind}", request.method, request.path);
                (Outcome::Error(kind), Reply::Failed)
            }
        };
        self.recorder.record(
            request.op,
            (started, finished),
            outcome,
            self.shared.epoch(),
            self.shared.kill_instant(),
        );
        if self.loading {
            self.shared
                .count_call(matches!(result, CallResult::Error(_)));
        }
        reply
    }

    /// The measurements so far, failovers included.
    pub fn into_recorder(mut self) -> Recorder {
        self.recorder.failovers = self.api.failovers;
        self.recorder
    }
}

/// Runs `script` through setup, the load (`calls` calls) and its last call,
/// and returns what was measured.
pub fn run_client(script: &mut dyn ClientScript, mut caller: Caller<'_>, calls: usize) -> Recorder {
    let shared = caller.shared;
    let mut arrival = shared.arrival();
    while let Some(request) = script.next_setup() {
        let reply = caller.call(&request);
        script.observe(&request, &reply);
    }
    arrival.arrive();
    let Some(catalogue) = shared.wait_for_start() else {
        // The load was called off (another client thread could not start).
        return caller.into_recorder();
    };
    script.start_load(&catalogue);
    caller.loading = true;
    for _ in 0..calls {
        let request = script.next_load();
        let reply = caller.call(&request);
        script.observe(&request, &reply);
    }
    // The logout is timed and on the timeline, but not one of the `calls`.
    caller.loading = false;
    if let Some(request) = script.finish() {
        let reply = caller.call(&request);
        script.observe(&request, &reply);
    }
    caller.into_recorder()
}
