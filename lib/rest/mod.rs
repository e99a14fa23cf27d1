//! The REST frontends: a small HTTP server ([`HttpServer`]) with a fixed
//! pool of worker threads, and the seller and buyer APIs on top of it
//! (routes in `seller.rs` and `buyer.rs`, documented in docs/API.md).
//!
//! Frontends keep no user state: every call carries its session in the
//! `X-Session` header and is answered from the databases, so any frontend
//! replica can serve any call, and a retry may go to another one. A call's
//! `X-Request-Id` header (the clients always send one) travels to the
//! databases, which apply each request id at most once. The one thing a
//! frontend remembers is whose each recent session was, as a hint that is
//! checked on every call (`session_owners.rs`).

mod accounts;
mod backends;
mod body;
mod buyer;
mod cart_hints;
mod error;
mod json;
mod request;
mod seller;
mod server;
mod session_owners;

pub use backends::Backends;
pub use buyer::buyer_api;
pub use error::status_of;
pub use request::ApiRequest;
pub use seller::seller_api;
pub use server::{HttpServer, Route, RouteHandler};

/// Largest request body a frontend reads; larger ones get 413.
pub const BODY_BYTES_MAX: usize = 64 * 1024;
/// Handler threads per frontend.
pub const WORKERS: usize = 16;
