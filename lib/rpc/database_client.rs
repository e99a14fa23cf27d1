//! The frontend side of gRPC: one channel per database replica, built once;
//! the replica that answered last is tried first (for Raft, the leader);
//! "not the leader" follows the hint; an unreachable replica is skipped.
//! Every retry resends the same request with the same request id, so the
//! database applies it at most once however often it is sent.

use std::ffi::CString;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use grpcio::{CallOption, ChannelBuilder, ClientUnaryReceiver};

use crate::contract::{Answer, WireCommand};
use crate::market::MarketError;
use crate::pb::marketplace::{DigestReply, FaultsReply, FaultsRequest, StatusReply, StatusRequest};
use crate::pb::marketplace_grpc::{CustomerDbClient, ProductDbClient};

use super::error_status::error_of;
use super::execute_call::ExecuteCall;

/// The shortest gap between two DNS lookups of a replica's name by gRPC
/// (its default is 30 s): the UDP transport's `RESOLVE_INTERVAL`, so that
/// frontends find a moved replica about as soon as its peers do.
const DNS_RESOLUTION_GAP: Duration = crate::transport::RESOLVE_INTERVAL;

/// Which database a client talks to (the two have separate gRPC services).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DatabaseKind {
    /// The Raft-replicated product DB.
    Product,
    /// The sequencer-replicated customer DB.
    Customer,
}

impl DatabaseKind {
    /// How long one attempt at one replica may take before the next is
    /// tried. Product DB: a paused leader is replaced by an election within
    /// a few hundred ms, so moving on soon pays. Customer DB: every member
    /// delivers the same total order, so when one member is slow (a paused
    /// member stalls the order at its turn; a slow disk flush holds up a
    /// round) all are; moving on would only send the request around again
    /// (docs/EVALUATION.md, finding 6).
    fn attempt_timeout(self) -> Duration {
        match self {
            DatabaseKind::Product => Duration::from_millis(1500),
            DatabaseKind::Customer => Duration::from_secs(4),
        }
    }

    fn name(self) -> &'static str {
        match self {
            DatabaseKind::Product => "product DB",
            DatabaseKind::Customer => "customer DB",
        }
    }
}

/// One replica's stubs: its database's `Execute` is called through
/// `execute` with the request's own method (`ExecuteCall::EXECUTE`), the
/// other calls through the generated client.
struct Stub {
    execute: grpcio::Client,
    control: Control,
}

/// The generated client of one replica, for the calls other than `Execute`.
enum Control {
    Product(ProductDbClient),
    Customer(CustomerDbClient),
}

impl Stub {
    fn status(&self, option: CallOption) -> grpcio::Result<StatusReply> {
        match &self.control {
            Control::Product(stub) => stub.status_opt(&StatusRequest::new(), option),
            Control::Customer(stub) => stub.status_opt(&StatusRequest::new(), option),
        }
    }

    fn digest(&self, option: CallOption) -> grpcio::Result<DigestReply> {
        match &self.control {
            Control::Product(stub) => stub.digest_opt(&StatusRequest::new(), option),
            Control::Customer(stub) => stub.digest_opt(&StatusRequest::new(), option),
        }
    }

    fn set_faults(&self, call: &FaultsRequest, option: CallOption) -> grpcio::Result<FaultsReply> {
        match &self.control {
            Control::Product(stub) => stub.set_faults_opt(call, option),
            Control::Customer(stub) => stub.set_faults_opt(call, option),
        }
    }
}

/// Sends requests of type `Q` to a replicated database and returns its
/// results of type `R`, failing over between replicas.
pub struct DatabaseClient<Q, R> {
    kind: DatabaseKind,
    stubs: Vec<Stub>,
    preferred: AtomicUsize,
    call_timeout: Duration,
    give_up_after: Duration,
    types: PhantomData<fn(&Q) -> R>,
}

impl<Q: ExecuteCall> DatabaseClient<Q, Result<Q::Outcome, MarketError>> {
    /// Executes `request`, retrying on other replicas until one answers or
    /// the time runs out (then `MarketError::Unavailable`).
    pub fn execute(&self, request: &Q) -> Result<Result<Q::Outcome, MarketError>, MarketError> {
        self.start(request)?.finish()
    }

    /// Sends `request`'s first attempt and returns at once; the calling
    /// thread can do other work (another call) before it waits for the
    /// answer with [`StartedCall::finish`]. gRPC's completion queue carries
    /// the call meanwhile, so running two calls side by side takes no
    /// thread of their own.
    pub fn start(&self, request: &Q) -> Result<StartedCall<'_, Q>, MarketError> {
        let call = request
            .to_wire()
            .map_err(|e| MarketError::Unavailable(format!("cannot encode request: {e}")))?;
        let started = Instant::now();
        let target = self.preferred.load(Ordering::Relaxed) % self.stubs.len();
        let first = self.send(target, &call);
        Ok(StartedCall {
            client: self,
            call,
            target,
            started,
            first,
        })
    }

    /// Waits for the attempt `sent` to `target` and, while no replica
    /// has answered, tries the next one.
    fn follow(
        &self,
        call: &Q::Wire,
        mut target: usize,
        started: Instant,
        mut sent: Sent<Q>,
    ) -> Result<Result<Q::Outcome, MarketError>, MarketError> {
        let mut misses_in_a_row = 0usize;
        let mut last_problem: String;
        loop {
            match attempt_of::<Q>(sent) {
                Attempt::Answered(result) => {
                    self.preferred.store(target, Ordering::Relaxed);
                    return Ok(result);
                }
                Attempt::NotLeader(Some(leader))
                    if leader != target && leader < self.stubs.len() =>
                {
                    last_problem = format!("replica {target} is not the leader");
                    target = leader;
                }
                Attempt::NotLeader(_) => {
                    last_problem = format!("replica {target} is not the leader");
                    target = (target + 1) % self.stubs.len();
                }
                Attempt::Unreachable(why) => {
                    last_problem = format!("replica {target}: {why}");
                    target = (target + 1) % self.stubs.len();
                }
            }
            misses_in_a_row += 1;
            // Why a call took long is otherwise invisible from outside.
            log::debug!(
                "{}: {last_problem}; next attempt at replica {target} ({:?} in)",
                self.kind.name(),
                started.elapsed()
            );
            if started.elapsed() >= self.give_up_after {
                return Err(MarketError::Unavailable(format!(
                    "{} unavailable: {last_problem}",
                    self.kind.name()
                )));
            }
            // After a full round without an answer (an election, say), wait
            // a little before the next round instead of spinning.
            if misses_in_a_row.is_multiple_of(self.stubs.len()) {
                let round = (misses_in_a_row / self.stubs.len()).min(5) as u64;
                std::thread::sleep(Duration::from_millis(20 * round));
            }
            sent = self.send(target, call);
        }
    }

    /// Sends one attempt to replica `target`.
    fn send(&self, target: usize, call: &Q::Wire) -> Sent<Q> {
        let option = CallOption::default().timeout(self.call_timeout);
        self.stubs[target]
            .execute
            .unary_call_async(&Q::EXECUTE, call, option)
    }
}

/// One attempt on its way: the reply to wait for, or why it was not sent.
type Sent<Q> = grpcio::Result<ClientUnaryReceiver<<Q as WireCommand>::Reply>>;

/// Waits for the attempt `sent` and says what it came to.
fn attempt_of<Q: ExecuteCall>(sent: Sent<Q>) -> Attempt<Result<Q::Outcome, MarketError>> {
    match sent.and_then(|mut reply| reply.receive_sync()) {
        Ok((_, reply, _)) => match Q::reply_from_wire(reply) {
            Ok(Answer::Outcome(outcome)) => Attempt::Answered(Ok(outcome)),
            Ok(Answer::NotLeader(hint)) => Attempt::NotLeader(hint),
            Err(e) => Attempt::Unreachable(format!("undecodable reply: {e}")),
        },
        // A status with a refusal's details is the database's answer;
        // any other failure is the replica's or the network's.
        Err(grpcio::Error::RpcFailure(status)) => match error_of(&status) {
            Some(refusal) => Attempt::Answered(Err(refusal)),
            None => Attempt::Unreachable(format!("{:?}: {}", status.code(), status.message())),
        },
        Err(error) => Attempt::Unreachable(error.to_string()),
    }
}

/// A call whose first attempt is on its way ([`DatabaseClient::start`]).
/// Dropped unfinished, it cancels that attempt.
#[must_use = "a started call is cancelled when dropped unfinished"]
pub struct StartedCall<'a, Q: ExecuteCall> {
    client: &'a DatabaseClient<Q, Result<Q::Outcome, MarketError>>,
    call: Q::Wire,
    target: usize,
    started: Instant,
    first: Sent<Q>,
}

impl<Q: ExecuteCall> StartedCall<'_, Q> {
    /// Waits for the answer, trying other replicas as `execute` does.
    pub fn finish(self) -> Result<Result<Q::Outcome, MarketError>, MarketError> {
        self.client
            .follow(&self.call, self.target, self.started, self.first)
    }
}

/// What one attempt at one replica came to.
enum Attempt<R> {
    Answered(R),
    NotLeader(Option<usize>),
    Unreachable(String),
}

impl<Q, R> DatabaseClient<Q, R> {
    /// Channels to every replica at `addresses` (connected lazily), each
    /// `host:port` with an IP or a DNS name. A name goes to gRPC as it is:
    /// gRPC's resolver looks it up, and again when a connection fails, so
    /// a replica that moved (a rescheduled pod: same name, new IP) is found
    /// at its new address, at most `DNS_RESOLUTION_GAP` after the last look.
    pub fn new(
        environment: Arc<grpcio::Environment>,
        kind: DatabaseKind,
        addresses: &[impl std::fmt::Display],
    ) -> Self {
        assert!(!addresses.is_empty(), "a database has at least one replica");
        let stubs = addresses
            .iter()
            .map(|address| {
                // Short reconnect back-off: gRPC's default grows to two
                // minutes, which would hide a restarted replica for that long.
                let channel = ChannelBuilder::new(environment.clone())
                    .initial_reconnect_backoff(Duration::from_millis(100))
                    .max_reconnect_backoff(Duration::from_secs(1))
                    .raw_cfg_int(
                        CString::from(c"grpc.dns_min_time_between_resolutions_ms"),
                        DNS_RESOLUTION_GAP.as_millis() as i32,
                    )
                    .connect(&address.to_string());
                let control = match kind {
                    DatabaseKind::Product => {
                        Control::Product(ProductDbClient::new(channel.clone()))
                    }
                    DatabaseKind::Customer => {
                        Control::Customer(CustomerDbClient::new(channel.clone()))
                    }
                };
                Stub {
                    execute: grpcio::Client::new(channel),
                    control,
                }
            })
            .collect();
        DatabaseClient {
            kind,
            stubs,
            preferred: AtomicUsize::new(0),
            call_timeout: kind.attempt_timeout(),
            give_up_after: Duration::from_secs(10),
            types: PhantomData,
        }
    }

    /// Starts with replica `index` (any replica of the customer DB serves,
    /// so frontends spread their load this way).
    pub fn prefer(self, index: usize) -> Self {
        self.preferred
            .store(index % self.stubs.len(), Ordering::Relaxed);
        self
    }

    /// Asks replica `index` for its replication status.
    pub fn status(&self, index: usize, timeout: Duration) -> grpcio::Result<StatusReply> {
        self.stubs[index].status(CallOption::default().timeout(timeout))
    }

    /// Asks replica `index` for a fingerprint of its applied state.
    pub fn digest(&self, index: usize, timeout: Duration) -> grpcio::Result<DigestReply> {
        self.stubs[index].digest(CallOption::default().timeout(timeout))
    }

    /// Sets replica `index`'s UDP fault switch from JSON (empty: only read
    /// it); returns the switch's settings afterwards.
    pub fn set_faults(
        &self,
        index: usize,
        settings_json: &str,
        timeout: Duration,
    ) -> grpcio::Result<String> {
        let mut call = FaultsRequest::new();
        call.set_settings_json(settings_json.to_string());
        let reply = self.stubs[index].set_faults(&call, CallOption::default().timeout(timeout))?;
        Ok(reply.get_settings_json().to_string())
    }

    /// Number of replicas.
    pub fn replica_count(&self) -> usize {
        self.stubs.len()
    }
}
