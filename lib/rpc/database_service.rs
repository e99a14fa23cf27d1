//! The database side of gRPC: decode a command (`product/wire.rs`,
//! `customer/wire.rs`), let the replica fill in what it chooses, hand it to
//! the replicator, and answer when the replicator reports: the outcome as
//! a typed reply, a refusal as a status (`error_status.rs`). Handlers
//! never block: the thread that applied the command hands the result over
//! (`reply_slot.rs`), and the call's completion queue sends it and keeps
//! the call until it is sent.

use std::net::SocketAddr;
use std::sync::Arc;

use grpcio::{
    Marshaller, Method, MethodType, RpcContext, RpcStatus, RpcStatusCode, Server, ServerBuilder,
    ServiceBuilder, UnarySink, UnarySinkResult,
};

use crate::contract::WireCommand;
use crate::customer::CustomerState;
use crate::market::MarketError;
use crate::pb::marketplace::{DigestReply, FaultsReply, FaultsRequest, StatusReply, StatusRequest};
use crate::product::ProductState;
use crate::replication::{ReplicaStatus, ReplicationError, Replicator, StateMachine};
use crate::transport::FaultSettings;

use super::error_status::status_of;
use super::execute_call::ExecuteCall;
use super::health::HealthService;
use super::reply_slot::reply_slot;
use super::wire_decoding::{undecodable, Checked};

/// The outcome of a successful request of `S`.
type Outcome<S> = <<S as StateMachine>::Request as WireCommand>::Outcome;

/// Serves one database's `Execute`, `Status`, `Digest` and `SetFaults`
/// calls.
pub struct DatabaseService<S: StateMachine> {
    replicator: Arc<dyn Replicator<S>>,
    stamp: Stamp<S>,
}

/// What a replica writes into a request before it is replicated.
pub type Stamp<S> = Arc<dyn Fn(&mut <S as StateMachine>::Request) + Send + Sync>;

impl<S: StateMachine> Clone for DatabaseService<S> {
    fn clone(&self) -> Self {
        DatabaseService {
            replicator: self.replicator.clone(),
            stamp: self.stamp.clone(),
        }
    }
}

impl<S: StateMachine> DatabaseService<S> {
    /// A service over `replicator`; `stamp` fills in the values this
    /// replica chooses (time, tokens) before the request is replicated.
    pub fn new(replicator: Arc<dyn Replicator<S>>, stamp: Stamp<S>) -> Self {
        DatabaseService { replicator, stamp }
    }

    fn status(&self, ctx: &RpcContext, sink: UnarySink<StatusReply>) {
        send_on(ctx, sink.success(status_reply(&self.replicator.status())));
    }

    fn digest(&self, ctx: &RpcContext, sink: UnarySink<DigestReply>) {
        let digest = self.replicator.digest();
        let mut reply = DigestReply::new();
        reply.set_applied_index(digest.applied_index);
        reply.set_state_crc(digest.state_crc);
        send_on(ctx, sink.success(reply));
    }

    /// Reads or changes the UDP fault switch: how tests and demonstrations
    /// make a running replica lose packets.
    fn set_faults(&self, ctx: &RpcContext, call: FaultsRequest, sink: UnarySink<FaultsReply>) {
        let Some(switch) = self.replicator.fault_switch() else {
            let status =
                RpcStatus::with_message(RpcStatusCode::UNIMPLEMENTED, "no UDP transport".into());
            send_on(ctx, sink.fail(status));
            return;
        };
        if !call.get_settings_json().is_empty() {
            let applied = serde_json::from_str::<FaultSettings>(call.get_settings_json())
                .map_err(|e| e.to_string())
                .and_then(|settings| switch.apply(&settings).map_err(|e| e.to_string()));
            if let Err(error) = applied {
                let status = RpcStatus::with_message(RpcStatusCode::INVALID_ARGUMENT, error);
                send_on(ctx, sink.fail(status));
                return;
            }
            log::warn!("UDP fault switch set to {}", call.get_settings_json());
        }
        let mut reply = FaultsReply::new();
        reply.set_settings_json(serde_json::to_string(&switch.settings()).unwrap_or_default());
        send_on(ctx, sink.success(reply));
    }
}

impl<S> DatabaseService<S>
where
    S: StateMachine<Result = Result<Outcome<S>, MarketError>>,
    S::Request: ExecuteCall,
{
    /// Decodes a command, lets the replica fill in what it chooses, and
    /// hands it to the replicator. A command that does not decode, or names
    /// nothing this replica knows, is refused at once: nothing is logged.
    fn execute(
        &self,
        ctx: &RpcContext,
        call: Checked<<S::Request as WireCommand>::Wire>,
        sink: UnarySink<<S::Request as WireCommand>::Reply>,
    ) {
        let decoded = call
            .map_err(undecodable)
            .and_then(<S::Request as WireCommand>::from_wire);
        let mut request = match decoded {
            Ok(request) => request,
            Err(error) => {
                log::warn!("refused a command: {error}");
                send_on(ctx, sink.fail(status_of(&error)));
                return;
            }
        };
        (self.stamp)(&mut request);
        let (sender, receiver) = reply_slot();
        self.replicator
            .submit(request, Box::new(move |result| sender.send(result)));
        ctx.spawn(async move {
            let result = receiver.await.unwrap_or_else(|| {
                Err(ReplicationError::Unavailable(
                    "the replica dropped the request".into(),
                ))
            });
            let _ = answer::<S>(sink, result).await;
        });
    }
}

/// Keeps a sending call alive on its completion queue until gRPC reports
/// the answer sent (see `reply_slot.rs` for why it may not be dropped).
pub(super) fn send_on(ctx: &RpcContext, sending: UnarySinkResult) {
    ctx.spawn(async move {
        let _ = sending.await;
    });
}

/// Sends the result of one command; resolves once it is sent. A refusal
/// of the state machine is a status with the error's details
/// (`error_status.rs`); "not the leader" is a reply, so that its hint is
/// typed.
fn answer<S>(
    sink: UnarySink<<S::Request as WireCommand>::Reply>,
    result: Result<S::Result, ReplicationError>,
) -> UnarySinkResult
where
    S: StateMachine<Result = Result<Outcome<S>, MarketError>>,
    S::Request: ExecuteCall,
{
    match result {
        Ok(Ok(outcome)) => sink.success(<S::Request as WireCommand>::outcome_to_wire(&outcome)),
        Ok(Err(error)) => sink.fail(status_of(&error)),
        Err(ReplicationError::NotLeader { leader }) => {
            let hint = leader.map_or(-1, |l| l as i32);
            sink.success(<S::Request as WireCommand>::not_leader(hint))
        }
        Err(ReplicationError::Unavailable(why)) => {
            sink.fail(RpcStatus::with_message(RpcStatusCode::UNAVAILABLE, why))
        }
    }
}

/// The gRPC form of a replica's status (what `cluster-status` prints).
pub(crate) fn status_reply(status: &ReplicaStatus) -> StatusReply {
    let mut reply = StatusReply::new();
    reply.set_protocol(status.protocol.clone());
    reply.set_index(status.index as u32);
    reply.set_role(status.role.clone());
    reply.set_term(status.term);
    reply.set_leader(status.leader.map_or(-1, |l| l as i32));
    reply.set_commit_index(status.commit_index);
    reply.set_applied_index(status.applied_index);
    reply.set_next_global(status.next_global);
    reply.set_delivered(status.delivered);
    reply.set_contradictions(status.contradictions);
    if let Some(view) = &status.view {
        reply.set_has_view(true);
        reply.set_view(view.number);
        reply.set_view_members(view.members.iter().map(|m| *m as u32).collect());
        reply.set_in_view(view.in_view);
        reply.set_changing(view.changing);
        reply.set_turn(view.turn.map_or(-1, |t| t as i32));
        reply.set_suspicions(view.suspicions);
        reply.set_view_changes(view.view_changes);
        reply.set_rejoins(view.rejoins);
        reply.set_retransmits_pending(view.retransmits_pending);
        reply.set_drops(view.drops);
        reply.set_incarnation(view.incarnation);
    }
    reply
}

/// A protobuf message's marshaller.
const fn protobuf<T: protobuf::Message>() -> Marshaller<T> {
    Marshaller {
        ser: grpcio::pb_ser,
        de: grpcio::pb_de,
    }
}

/// A unary call of the database's service named `name`, taking and
/// returning protobuf messages.
fn call<Q: protobuf::Message, R: protobuf::Message>(name: &'static str) -> Method<Q, R> {
    Method {
        ty: MethodType::Unary,
        name,
        req_mar: protobuf(),
        resp_mar: protobuf(),
    }
}

/// The full names of a database service's calls other than `Execute`
/// (whose name comes with its request type, `ExecuteCall::EXECUTE`).
struct CallNames {
    status: &'static str,
    digest: &'static str,
    set_faults: &'static str,
}

/// The service of one database, built by hand rather than by the
/// generated `create_product_db`: its `Execute` decodes into a `Checked`
/// message (`wire_decoding.rs`).
fn database_service<S>(service: DatabaseService<S>, names: CallNames) -> grpcio::Service
where
    S: StateMachine<Result = Result<Outcome<S>, MarketError>>,
    S::Request: ExecuteCall,
{
    let (status, digest, faults) = (service.clone(), service.clone(), service.clone());
    ServiceBuilder::new()
        .add_unary_handler(
            &<S::Request as ExecuteCall>::EXECUTE_CHECKED,
            move |ctx, call, sink| service.execute(&ctx, call, sink),
        )
        .add_unary_handler(
            &call::<StatusRequest, StatusReply>(names.status),
            move |ctx, _, sink| status.status(&ctx, sink),
        )
        .add_unary_handler(
            &call::<StatusRequest, DigestReply>(names.digest),
            move |ctx, _, sink| digest.digest(&ctx, sink),
        )
        .add_unary_handler(
            &call::<FaultsRequest, FaultsReply>(names.set_faults),
            move |ctx, call, sink| faults.set_faults(&ctx, call, sink),
        )
        .build()
}

/// A started gRPC server; dropping it shuts it down.
pub struct RunningServer {
    server: Server,
}

impl RunningServer {
    /// Stops accepting calls and waits for the server to wind down.
    pub fn shutdown(mut self) {
        drop(futures_executor::block_on(self.server.shutdown()));
    }
}

/// Starts the gRPC server of a database replica on `address`.
pub fn serve_database(
    environment: Arc<grpcio::Environment>,
    address: SocketAddr,
    service: grpcio::Service,
    health: HealthService,
) -> Result<RunningServer, grpcio::Error> {
    let mut server = ServerBuilder::new(environment)
        .register_service(service)
        .register_service(health.into_service())
        .build()?;
    server.add_listening_port(address.to_string(), grpcio::ServerCredentials::insecure())?;
    server.start();
    Ok(RunningServer { server })
}

/// The gRPC service of a product-DB replica.
pub fn product_service(service: DatabaseService<ProductState>) -> grpcio::Service {
    let names = CallNames {
        status: "/marketplace.ProductDb/Status",
        digest: "/marketplace.ProductDb/Digest",
        set_faults: "/marketplace.ProductDb/SetFaults",
    };
    database_service(service, names)
}

/// The gRPC service of a customer-DB replica.
pub fn customer_service(service: DatabaseService<CustomerState>) -> grpcio::Service {
    let names = CallNames {
        status: "/marketplace.CustomerDb/Status",
        digest: "/marketplace.CustomerDb/Digest",
        set_faults: "/marketplace.CustomerDb/SetFaults",
    };
    database_service(service, names)
}
