//! How the product DB's state machine plugs into the replication layer:
//! its requests are logged as `crate::contract::log_encoding` writes them
//! (their protobuf messages, `wire.rs`), its snapshot is the state's JSON,
//! and Raft (`crate::raft_driver`) replicates it. Also the capacity plan
//! that keeps its snapshot within what Raft and the disk take.

use crate::contract::log_encoding;
use crate::market::limits::{PRODUCT_STATE_BYTES_MAX, REQUEST_LOG_BYTES_MAX};
use crate::raft::SNAPSHOT_BYTES_MAX_DEFAULT;
use crate::replication::{StateMachine, SNAPSHOT_ENVELOPE_BYTES};
use crate::wal::SNAPSHOT_BYTES_MAX;

use super::{ProductRequest, ProductResult, ProductState};

// What keeps a snapshot out of reach of any client: the state refuses a
// write that would take it past its limit, counted as an upper bound of
// the state's snapshot encoding; its request log keeps within its own
// limit by forgetting its oldest results.
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

    fn is_query(request: &ProductRequest) -> bool {
        request.command.is_query()
    }

    fn query(&self, request: &ProductRequest) -> Option<ProductResult> {
        ProductState::query(self, request)
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

/// What a product-DB replica writes into a request before it is
/// replicated: nothing, for product requests carry nothing a replica
/// chooses (the customer DB's counterpart is `customer/stamp.rs`).
pub fn stamp_nothing(_request: &mut ProductRequest) {}
