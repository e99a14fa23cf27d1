//! The financial service: a SOAP 1.1 card-approval stub and the client the
//! buyer frontend uses to call it.
//!
//! One operation, `AuthorizePayment`, in the document/literal "wrapped" style
//! that standard SOAP clients (Python zeep, Java JAX-WS) expect from a WSDL
//! 1.1 description:
//!
//! ```text
//! POST /soap      AuthorizePayment(cardHolder, cardNumber, expiry, amountCents, requestId)
//!                 -> AuthorizePaymentResponse(approved, reason)   HTTP 200
//!                 -> soap:Fault (soap:Client bad input, soap:Server our bug)   HTTP 500
//! GET  /soap?wsdl the WSDL, with this server's address in it
//! GET  /health    "ok"
//! ```
//!
//! The decision is stateless and deterministic (a hash of the seed, the
//! request id and the card number), so a purchase retried with the same
//! request id gets the same answer from any replica of the service.
//!
//! Files: `message.rs` (the request and the decision), `approval.rs` (input
//! rules and the decision), `envelope.rs` (XML codec), `wsdl.rs` (service
//! description), `server.rs` (HTTP endpoint), `client.rs` (caller side),
//! `error.rs` (SoapError).

mod approval;
mod client;
mod envelope;
mod error;
mod message;
mod server;
mod wsdl;

pub use approval::{year_month_utc, ApprovalPolicy, DECLINE_REASON};
pub use client::PaymentClient;
pub use envelope::{
    decode_request, decode_response, encode_fault, encode_request, encode_response,
};
pub use error::{FaultCode, SoapError};
pub use message::{PaymentDecision, PaymentRequest};
pub use server::{serve, ServerHandle};
pub use wsdl::wsdl;

/// The namespace of the SOAP 1.1 envelope (`soap:Envelope`, `soap:Body`, `soap:Fault`).
pub const ENVELOPE_NAMESPACE: &str = "http://schemas.xmlsoap.org/soap/envelope/";
/// The target namespace of the payment service: its elements and the WSDL.
pub const PAYMENT_NAMESPACE: &str = "urn:marketplace:payment";
/// The SOAPAction of `AuthorizePayment`, as declared in the WSDL. The server
/// dispatches on the body element, not on this header (zeep may quote it).
pub const AUTHORIZE_ACTION: &str = "urn:marketplace:payment#AuthorizePayment";
/// The path of the SOAP endpoint; `GET` with the query `wsdl` serves the WSDL.
pub const SOAP_PATH: &str = "/soap";
/// Request bodies larger than this are refused with HTTP 413.
pub const BODY_BYTES_MAX: usize = 64 * 1024;
/// The content type of every SOAP 1.1 message, both ways.
pub const XML_CONTENT_TYPE: &str = "text/xml; charset=utf-8";
