//! How each database's state machine plugs into the replication layer, and
//! what the receiving replica fills in before a request is replicated.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::customer::{CustomerCommand, CustomerRequest, CustomerResult, CustomerState};
use crate::market::SessionToken;
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

    fn snapshot(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a customer state always encodes")
    }

    fn restore(bytes: &[u8]) -> Result<Self, String> {
        serde_json::from_slice(bytes).map_err(|e| format!("not a customer-DB snapshot: {e}"))
    }
}

/// Product requests carry nothing that a replica chooses.
pub fn stamp_nothing(_request: &mut ProductRequest) {}

/// The receiving customer-DB replica reads the clock once and draws the
/// session token of a login, and writes both into the request: every replica
/// then applies the same values, which is what keeps them identical.
pub fn stamp_customer_request(request: &mut CustomerRequest) {
    request.now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|since| since.as_millis() as u64)
        .unwrap_or(0);
    if let CustomerCommand::Login { token, .. } = &mut request.command {
        *token = SessionToken(format!("{:032x}", rand::random::<u128>()));
    }
}
