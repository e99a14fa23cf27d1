//! Each database's `Execute` as a gRPC method, typed by its request's
//! protobuf form (`crate::contract::WireCommand`): the service and the
//! client are written once over [`ExecuteCall`].

use grpcio::Method;

use crate::contract::WireCommand;
use crate::customer::CustomerRequest;
use crate::pb::marketplace as pb;
use crate::product::ProductRequest;

use super::wire_decoding::{execute, execute_checked, Checked};

/// A database request that travels by its database's `Execute` call.
pub trait ExecuteCall: WireCommand {
    /// The `Execute` call as a client makes it.
    const EXECUTE: Method<Self::Wire, Self::Reply>;
    /// The `Execute` call as a replica serves it: a request that does not
    /// decode reaches the handler as the reason.
    const EXECUTE_CHECKED: Method<Checked<Self::Wire>, Self::Reply>;
}

const PRODUCT_EXECUTE: &str = "/marketplace.ProductDb/Execute";
const CUSTOMER_EXECUTE: &str = "/marketplace.CustomerDb/Execute";

impl ExecuteCall for ProductRequest {
    const EXECUTE: Method<pb::ProductRequest, pb::ProductReply> = execute(PRODUCT_EXECUTE);
    const EXECUTE_CHECKED: Method<Checked<pb::ProductRequest>, pb::ProductReply> =
        execute_checked(PRODUCT_EXECUTE);
}

impl ExecuteCall for CustomerRequest {
    const EXECUTE: Method<pb::CustomerRequest, pb::CustomerReply> = execute(CUSTOMER_EXECUTE);
    const EXECUTE_CHECKED: Method<Checked<pb::CustomerRequest>, pb::CustomerReply> =
        execute_checked(CUSTOMER_EXECUTE);
}
