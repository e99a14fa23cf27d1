//! The one place where a `MarketError` becomes a gRPC status, and where a
//! status becomes a `MarketError` again (the table is in
//! proto/marketplace.proto and docs/API.md).
//!
//! The status's message is the error's text; its details (which gRPC sends
//! as the `grpc-status-details-bin` trailing metadata, and grpcio 0.13
//! reads and writes as `RpcStatus::details`) are a `marketplace.Failure`
//! message: the error's kind and, for a short stock, its numbers. A status
//! without them did not come from the database's state machine.

use grpcio::{RpcStatus, RpcStatusCode};
use protobuf::Message;

use crate::market::MarketError;
use crate::pb::marketplace::{Failure, Failure_Kind as Kind};

/// The gRPC status code of an error.
pub fn code_of(error: &MarketError) -> RpcStatusCode {
    match error {
        MarketError::InvalidInput(_) => RpcStatusCode::INVALID_ARGUMENT,
        MarketError::Unauthenticated(_) => RpcStatusCode::UNAUTHENTICATED,
        MarketError::Forbidden(_) => RpcStatusCode::PERMISSION_DENIED,
        MarketError::NotFound(_) => RpcStatusCode::NOT_FOUND,
        // gRPC's own table maps HTTP's 409 Conflict to ABORTED.
        MarketError::Conflict(_) => RpcStatusCode::ABORTED,
        // The state lacks what the command needs; a retry as it is fails
        // again.
        MarketError::InsufficientStock { .. } | MarketError::CardDeclined(_) => {
            RpcStatusCode::FAILED_PRECONDITION
        }
        MarketError::Unavailable(_) => RpcStatusCode::UNAVAILABLE,
        MarketError::Full(_) => RpcStatusCode::RESOURCE_EXHAUSTED,
    }
}

fn kind_of(error: &MarketError) -> Kind {
    match error {
        MarketError::InvalidInput(_) => Kind::INVALID_INPUT,
        MarketError::Unauthenticated(_) => Kind::UNAUTHENTICATED,
        MarketError::Forbidden(_) => Kind::FORBIDDEN,
        MarketError::NotFound(_) => Kind::NOT_FOUND,
        MarketError::Conflict(_) => Kind::CONFLICT,
        MarketError::InsufficientStock { .. } => Kind::INSUFFICIENT_STOCK,
        MarketError::CardDeclined(_) => Kind::CARD_DECLINED,
        MarketError::Unavailable(_) => Kind::UNAVAILABLE,
        MarketError::Full(_) => Kind::FULL,
    }
}

/// The status that refuses a call with `error`.
pub fn status_of(error: &MarketError) -> RpcStatus {
    let mut failure = Failure::new();
    failure.kind = kind_of(error);
    failure.message = error.to_string();
    if let MarketError::InsufficientStock {
        item,
        available,
        requested,
    } = error
    {
        failure.item = item.clone();
        failure.available = *available;
        failure.requested = *requested;
    }
    let details = failure.write_to_bytes().unwrap_or_default();
    RpcStatus::with_details(code_of(error), failure.message, details)
}

/// The database's refusal that `status` carries, or `None` when it carries
/// none (gRPC's own failures: a deadline, a lost connection).
pub fn error_of(status: &RpcStatus) -> Option<MarketError> {
    if status.details().is_empty() {
        return None;
    }
    let failure = Failure::parse_from_bytes(status.details()).ok()?;
    let message = failure.message;
    Some(match failure.kind {
        Kind::KIND_UNSPECIFIED => return None,
        Kind::INVALID_INPUT => MarketError::InvalidInput(message),
        Kind::UNAUTHENTICATED => MarketError::Unauthenticated(message),
        Kind::FORBIDDEN => MarketError::Forbidden(message),
        Kind::NOT_FOUND => MarketError::NotFound(message),
        Kind::CONFLICT => MarketError::Conflict(message),
        Kind::INSUFFICIENT_STOCK => MarketError::InsufficientStock {
            item: failure.item,
            available: failure.available,
            requested: failure.requested,
        },
        Kind::CARD_DECLINED => MarketError::CardDeclined(message),
        Kind::UNAVAILABLE => MarketError::Unavailable(message),
        Kind::FULL => MarketError::Full(message),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_comes_back_as_it_went() {
        let errors = [
            MarketError::InvalidInput("bad".into()),
            MarketError::Unauthenticated("who".into()),
            MarketError::Forbidden("not yours".into()),
            MarketError::NotFound("none".into()),
            MarketError::Conflict("taken".into()),
            MarketError::InsufficientStock {
                item: "1-2".into(),
                available: 3,
                requested: 4,
            },
            MarketError::CardDeclined("no".into()),
            MarketError::Unavailable("later".into()),
            MarketError::Full("full".into()),
        ];
        for error in errors {
            let status = status_of(&error);
            assert_eq!(status.code(), code_of(&error));
            assert_eq!(status.message(), error.to_string());
            assert_eq!(error_of(&status), Some(error));
        }
    }

    #[test]
    fn a_status_without_details_is_no_refusal() {
        let status = RpcStatus::with_message(RpcStatusCode::UNAVAILABLE, "gone".into());
        assert_eq!(error_of(&status), None);
    }
}
