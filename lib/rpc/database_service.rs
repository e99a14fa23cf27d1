//! The database side of gRPC: decode a command, let the replica fill in
//! what it chooses, hand it to the replicator, and answer when the
//! replicator reports. Handlers never block: the thread that applied the
//! command hands the result over (`reply_slot.rs`), and the call's
//! completion queue sends it and keeps the call until it is sent.

use std::net::SocketAddr;
use std::sync::Arc;

use grpcio::{
    RpcContext, RpcStatus, RpcStatusCode, Server, ServerBuilder, UnarySink, UnarySinkResult,
};

use crate::customer::CustomerState;
use crate::pb::marketplace::{
    CommandReply, CommandRequest, DigestReply, FaultsReply, FaultsRequest, StatusReply,
    StatusRequest,
};
use crate::pb::marketplace_grpc::{create_customer_db, create_product_db, CustomerDb, ProductDb};
use crate::product::ProductState;
use crate::replication::{ReplicaStatus, ReplicationError, Replicator, StateMachine};
use crate::transport::FaultSettings;

use super::health::HealthService;
use super::reply_slot::reply_slot;

/// Serves one database's `Execute` and `Status` calls.
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

    fn execute(&self, ctx: &RpcContext, call: CommandRequest, sink: UnarySink<CommandReply>) {
        let mut request: S::Request = match serde_json::from_slice(call.get_command()) {
            Ok(request) => request,
            Err(error) => {
                log::warn!("refused an undecodable command: {error}");
                let status = RpcStatus::with_message(
                    RpcStatusCode::INVALID_ARGUMENT,
                    format!("undecodable command: {error}"),
                );
                send_on(ctx, sink.fail(status));
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

/// Keeps a sending call alive on its completion queue until gRPC reports
/// the answer sent (see `reply_slot.rs` for why it may not be dropped).
pub(super) fn send_on(ctx: &RpcContext, sending: UnarySinkResult) {
    ctx.spawn(async move {
        let _ = sending.await;
    });
}

/// Sends the result of one command; resolves once it is sent.
fn answer<S: StateMachine>(
    sink: UnarySink<CommandReply>,
    result: Result<S::Result, ReplicationError>,
) -> UnarySinkResult {
    let mut reply = CommandReply::new();
    match result {
        Ok(outcome) => match serde_json::to_vec(&outcome) {
            Ok(bytes) => reply.set_outcome(bytes),
            Err(error) => {
                let status = RpcStatus::with_message(RpcStatusCode::INTERNAL, error.to_string());
                return sink.fail(status);
            }
        },
        Err(ReplicationError::NotLeader { leader }) => {
            reply.set_not_leader(true);
            reply.set_leader_hint(leader.map_or(-1, |l| l as i32));
        }
        Err(ReplicationError::Unavailable(why)) => {
            return sink.fail(RpcStatus::with_message(RpcStatusCode::UNAVAILABLE, why));
        }
    }
    sink.success(reply)
}

fn status_reply(status: &ReplicaStatus) -> StatusReply {
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

/// The generated `ProductDb` and `CustomerDb` traits have the same four
/// calls; both forward to the one `DatabaseService` above.
macro_rules! serve_calls {
    ($service:ident for $state:ty) => {
        impl $service for DatabaseService<$state> {
            fn execute(
                &mut self,
                ctx: RpcContext,
                call: CommandRequest,
                sink: UnarySink<CommandReply>,
            ) {
                DatabaseService::execute(self, &ctx, call, sink)
            }

            fn status(&mut self, ctx: RpcContext, _: StatusRequest, sink: UnarySink<StatusReply>) {
                DatabaseService::status(self, &ctx, sink)
            }

            fn digest(&mut self, ctx: RpcContext, _: StatusRequest, sink: UnarySink<DigestReply>) {
                DatabaseService::digest(self, &ctx, sink)
            }

            fn set_faults(
                &mut self,
                ctx: RpcContext,
                call: FaultsRequest,
                sink: UnarySink<FaultsReply>,
            ) {
                DatabaseService::set_faults(self, &ctx, call, sink)
            }
        }
    };
}

serve_calls!(ProductDb for ProductState);
serve_calls!(CustomerDb for CustomerState);

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
    create_product_db(service)
}

/// The gRPC service of a customer-DB replica.
pub fn customer_service(service: DatabaseService<CustomerState>) -> grpcio::Service {
    create_customer_db(service)
}
