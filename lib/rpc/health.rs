//! The standard gRPC health service (`grpc.health.v1.Health`,
//! proto/health.proto) on every database replica, so that standard probes
//! (grpc_health_probe, a Kubernetes gRPC probe) can ask a replica whether
//! it serves.
//!
//! `Check` answers SERVING when the replica can take part in answering
//! calls now ([`ReplicaStatus::serves`]: a Raft replica that knows a
//! leader; a sequencer member working in its view), NOT_SERVING otherwise,
//! and the status NOT_FOUND for a service name it does not serve. `Watch`
//! is not offered (UNIMPLEMENTED): probes poll `Check`.

use std::sync::Arc;

use grpcio::{RpcContext, RpcStatus, RpcStatusCode, UnarySink};

use crate::pb::health::{
    HealthCheckRequest, HealthCheckResponse, HealthCheckResponse_ServingStatus,
};
use crate::pb::health_grpc::{create_health, Health};
use crate::replication::ReplicaStatus;

use super::database_service::send_on;

/// The service names a product-DB and a customer-DB replica answer for
/// (besides "", the replica as a whole).
pub const PRODUCT_DB_SERVICE: &str = "marketplace.ProductDb";
/// See [`PRODUCT_DB_SERVICE`].
pub const CUSTOMER_DB_SERVICE: &str = "marketplace.CustomerDb";

/// Reads a replica's status.
pub type StatusSource = Arc<dyn Fn() -> ReplicaStatus + Send + Sync>;

/// The health service of one replica.
#[derive(Clone)]
pub struct HealthService {
    service_name: &'static str,
    status: StatusSource,
}

impl HealthService {
    /// The health of the replica whose status `status` reads, serving the
    /// database service `service_name`.
    pub fn new(service_name: &'static str, status: StatusSource) -> HealthService {
        HealthService {
            service_name,
            status,
        }
    }

    /// As a gRPC service to register.
    pub fn into_service(self) -> grpcio::Service {
        create_health(self)
    }
}

impl Health for HealthService {
    fn check(
        &mut self,
        ctx: RpcContext,
        request: HealthCheckRequest,
        sink: UnarySink<HealthCheckResponse>,
    ) {
        let name = request.get_service();
        if !name.is_empty() && name != self.service_name {
            let status = RpcStatus::with_message(
                RpcStatusCode::NOT_FOUND,
                format!(
                    "unknown service {name:?}: this replica serves {:?}",
                    self.service_name
                ),
            );
            send_on(&ctx, sink.fail(status));
            return;
        }
        let mut reply = HealthCheckResponse::new();
        reply.set_status(if (self.status)().serves() {
            HealthCheckResponse_ServingStatus::SERVING
        } else {
            HealthCheckResponse_ServingStatus::NOT_SERVING
        });
        send_on(&ctx, sink.success(reply));
    }
}
