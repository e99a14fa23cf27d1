//! How each database's state machine plugs into the replication layer (its
//! requests logged as `log_encoding.rs` writes them), and what the
//! receiving replica fills in before a request is replicated.

use crate::customer::{CustomerRequest, CustomerResult, CustomerState};
use crate::market::limits::{
    CUSTOMER_STATE_BYTES_MAX, PRODUCT_STATE_BYTES_MAX, REQUEST_LOG_BYTES_MAX,
};
use crate::product::{ProductRequest, ProductResult, ProductState};
use crate::raft::SNAPSHOT_BYTES_MAX_DEFAULT;
use crate::replication::StateMachine;
use crate::sequencer_driver::TRANSFER_BYTES_MAX;
use crate::wal::SNAPSHOT_BYTES_MAX;

use super::log_encoding;

// What keeps a snapshot and a state transfer out of reach of any client.
// Each database refuses a write that would take its state past its limit,
// counted as an upper bound of the state's snapshot encoding; its request
// log keeps within its own limit by forgetting its oldest results. What is
// left of a snapshot (the clock readings, the fields' names, a header) is
// far below `SNAPSHOT_ENVELOPE_BYTES`.
const SNAPSHOT_ENVELOPE_BYTES: u64 = 1024 * 1024;
/// The customer DB's last step of a purchase is never refused (the sale is
/// done), and is counted against the room its first step took, unless the
/// frontend took longer than `PURCHASE_HOLD_MS` between the two steps and
/// the hold was gone. This much room is kept for such late completions:
/// over twelve thousand of the largest purchases, each a frontend stalled
/// for half a minute in the middle of a purchase.
const LATE_PURCHASES_BYTES: u64 = 256 * 1024 * 1024;
const _: () = assert!(
    CUSTOMER_STATE_BYTES_MAX
        + LATE_PURCHASES_BYTES
        + REQUEST_LOG_BYTES_MAX
        + SNAPSHOT_ENVELOPE_BYTES
        <= TRANSFER_BYTES_MAX
);
const _: () = assert!(TRANSFER_BYTES_MAX <= SNAPSHOT_BYTES_MAX as u64);
const _: () = assert!(crate::customer::STATE_FIXED_BYTES <= SNAPSHOT_ENVELOPE_BYTES);
const _: () = assert!(
    PRODUCT_STATE_BYTES_MAX + REQUEST_LOG_BYTES_MAX + SNAPSHOT_ENVELOPE_BYTES
        <= SNAPSHOT_BYTES_MAX_DEFAULT
);
const _: () = assert!(SNAPSHOT_BYTES_MAX_DEFAULT <= SNAPSHOT_BYTES_MAX as u64);

impl StateMachine for ProductState {
    type Request = ProductRequest;
    type Result = ProductResult;

    fn apply(&mut self, request: &ProductRequest) -> ProductResult {
        ProductState::apply(self, request)
    }

    fn is_read_only(request: &ProductRequest) -> bool {
        request.command.is_read_only()
    }

    fn encode_request(request: &ProductRequest) -> Result<Vec<u8>, String> {
        log_encoding::encode(request)
    }

    fn decode_request(bytes: &[u8]) -> Result<ProductRequest, String> {
        log_encoding::decode(bytes)
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

    fn encode_request(request: &CustomerRequest) -> Result<Vec<u8>, String> {
        log_encoding::encode(request)
    }

    fn decode_request(bytes: &[u8]) -> Result<CustomerRequest, String> {
        log_encoding::decode(bytes)
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
