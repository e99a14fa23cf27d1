//! How the customer DB's state machine plugs into the replication layer:
//! its requests are logged as `crate::contract::log_encoding` writes them
//! (their protobuf messages, `wire.rs`), its snapshot is the state's JSON,
//! and the rotating sequencer (`crate::sequencer_driver`) replicates it.
//! Also the capacity plan that keeps its state within one state transfer.

use crate::contract::log_encoding;
use crate::market::limits::{CUSTOMER_STATE_BYTES_MAX, REQUEST_LOG_BYTES_MAX};
use crate::replication::{StateMachine, SNAPSHOT_ENVELOPE_BYTES};
use crate::sequencer_driver::TRANSFER_BYTES_MAX;
use crate::wal::SNAPSHOT_BYTES_MAX;

use super::{CustomerRequest, CustomerResult, CustomerState};

/// The customer DB's last step of a purchase is never refused (the sale is
/// done), and is counted against the room its first step took, unless the
/// frontend took longer than `PURCHASE_HOLD_MS` between the two steps and
/// the hold was gone. This much room is kept for such late completions:
/// over twelve thousand of the largest purchases, each a frontend stalled
/// for half a minute in the middle of a purchase.
const LATE_PURCHASES_BYTES: u64 = 256 * 1024 * 1024;
// What keeps a snapshot and a state transfer out of reach of any client:
// the state refuses a write that would take it past its limit, counted as
// an upper bound of the state's snapshot encoding; its request log keeps
// within its own limit by forgetting its oldest results.
const _: () = assert!(
    CUSTOMER_STATE_BYTES_MAX
        + LATE_PURCHASES_BYTES
        + REQUEST_LOG_BYTES_MAX
        + SNAPSHOT_ENVELOPE_BYTES
        <= TRANSFER_BYTES_MAX
);
const _: () = assert!(TRANSFER_BYTES_MAX <= SNAPSHOT_BYTES_MAX as u64);
const _: () = assert!(super::STATE_FIXED_BYTES <= SNAPSHOT_ENVELOPE_BYTES);

impl StateMachine for CustomerState {
    type Request = CustomerRequest;
    type Result = CustomerResult;

    fn apply(&mut self, request: &CustomerRequest) -> CustomerResult {
        CustomerState::apply(self, request)
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
