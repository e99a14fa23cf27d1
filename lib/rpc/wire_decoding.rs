//! How a replica decodes a command it is sent. grpcio answers a message
//! that does not decode with INTERNAL ("Failed to deserialize") before any
//! handler sees it, which tells a caller nothing about whose fault it was;
//! decoding into a [`Checked`] message instead lets the service refuse it
//! as invalid input, the same way it refuses every other bad command.

use grpcio::{GrpcSlice, Marshaller, MessageReader, Method, MethodType};

use crate::market::limits::PURCHASE_JSON_BYTES_MAX;
use crate::market::MarketError;

/// A decoded request message, or why its bytes are none (the service then
/// refuses the call with a clear status instead of gRPC's INTERNAL).
pub type Checked<T> = Result<T, String>;

/// No command is larger than this, encoded: the largest, a purchase's
/// last step, holds at most `CART_LINES_MAX` lines, which take less room in
/// protobuf than the `PURCHASE_JSON_BYTES_MAX` they take in JSON. A larger
/// message is refused before it is replicated: its fields are too large
/// for any rule, and it would only fill every replica's log.
pub const REQUEST_BYTES_MAX: usize = 2 * PURCHASE_JSON_BYTES_MAX;

/// The marshaller of a request that may not decode.
pub const fn checked<T: protobuf::Message>() -> Marshaller<Checked<T>> {
    Marshaller {
        ser: serialize_checked::<T>,
        de: deserialize_checked::<T>,
    }
}

/// The unary method `name` with protobuf both ways: the client's side.
pub const fn execute<Q: protobuf::Message, R: protobuf::Message>(
    name: &'static str,
) -> Method<Q, R> {
    Method {
        ty: MethodType::Unary,
        name,
        req_mar: protobuf_marshaller(),
        resp_mar: protobuf_marshaller(),
    }
}

/// The same method as the service registers it: its request may not
/// decode, and the service answers that itself (`checked`).
pub const fn execute_checked<Q: protobuf::Message, R: protobuf::Message>(
    name: &'static str,
) -> Method<Checked<Q>, R> {
    Method {
        ty: MethodType::Unary,
        name,
        req_mar: checked(),
        resp_mar: protobuf_marshaller(),
    }
}

const fn protobuf_marshaller<T: protobuf::Message>() -> Marshaller<T> {
    Marshaller {
        ser: grpcio::pb_ser,
        de: grpcio::pb_de,
    }
}

fn serialize_checked<T: protobuf::Message>(
    message: &Checked<T>,
    buffer: &mut GrpcSlice,
) -> grpcio::Result<()> {
    match message {
        Ok(message) => grpcio::pb_ser(message, buffer),
        Err(why) => Err(grpcio::Error::Codec(why.clone().into())),
    }
}

fn deserialize_checked<T: protobuf::Message>(reader: MessageReader) -> grpcio::Result<Checked<T>> {
    if reader.len() > REQUEST_BYTES_MAX {
        return Ok(Err(format!(
            "a request of {} bytes is larger than any command ({REQUEST_BYTES_MAX} bytes at most)",
            reader.len()
        )));
    }
    Ok(grpcio::pb_de::<T>(reader).map_err(|error| format!("the request does not decode: {error}")))
}

/// Why a checked request is refused, as the database's error.
pub fn undecodable(why: String) -> MarketError {
    MarketError::InvalidInput(why)
}
