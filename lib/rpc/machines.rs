//! How each database's state machine plugs into the replication layer, and
//! what the receiving replica fills in before a request is replicated.

use crate::customer::{CustomerRequest, CustomerResult, CustomerState};
use crate::product::{ProductRequest, ProductResult, ProductState};
use crate::replication::StateMachine;

impl StateMachine for ProductState {
    type Request = ProductRequest;
    type Result = ProductResult;

    fn apply(&mut self, request: &ProductRequest) -> ProductResult {
        ProductState::apply(self, request)
    }

    fn is_read_only(request: &ProductRequest) -> bool {
        request.command.is_read_only()
    }

    fn snapshot(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a product state always encodes")
    }

    fn restore(bytes: &[u8]) -> Result<Self, String> {
        serde_json::from_slice(bytes).map_err(|e| format!("not a product-DB snapshot: {e}"))
    }
}

impl StateMachine for CustomerState {
    type Request = CustomerRequest;
    type Result = CustomerResult;

    fn apply(&mut self, request: &CustomerRequest) -> CustomerResult {
        CustomerState::apply(self, request)
    }

    fn is_read_only(request: &CustomerRequest) -> bool {
        request.command.is_read_only()
    }

    fn is_query(request: &CustomerRequest) -> bool {
        request.command.is_query()
    }

    fn query(&self, request: &CustomerRequest) -> Option<CustomerResult> {
        CustomerState::query(self, request)
    }

    fn snapshot(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a customer state always encodes")
    }

    fn restore(bytes: &[u8]) -> Result<Self, String> {
        serde_json::from_slice(bytes).map_err(|e| format!("not a customer-DB snapshot: {e}"))
    }
}

/// Product requests carry nothing that a replica chooses.
pub fn stamp_nothing(_request: &mut ProductRequest) {}
