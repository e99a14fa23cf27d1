//! What a frontend talks to: the two databases over gRPC and, for buyers,
//! the financial service over SOAP. Turns their replies into domain results.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crate::config::ClusterConfig;
use crate::customer::{CustomerCommand, CustomerOutcome, CustomerRequest, CustomerResult};
use crate::market::{Item, ItemId, MarketError, RequestId, Role, SessionToken};
use crate::product::{ProductCommand, ProductOutcome, ProductRequest, ProductResult};
use crate::rpc::{DatabaseClient, DatabaseKind, StartedCall};
use crate::soap::PaymentClient;

use super::cart_hints::CartHints;
use super::session_owners::SessionOwners;

/// How long one attempt at the financial service may take. A payment takes a
/// few ms; an attempt that gets no answer this soon is stuck (finding 2 of
/// docs/EVALUATION.md: a connection left unserved) and is retried on a new
/// connection, which is safe because the decision is a function of the
/// request id.
const PAYMENT_ATTEMPT_TIMEOUT: Duration = Duration::from_millis(300);

/// The databases and services behind a frontend.
pub struct Backends {
    product: DatabaseClient<ProductRequest, ProductResult>,
    customer: DatabaseClient<CustomerRequest, CustomerResult>,
    payment: PaymentClient,
    /// Who recently checked sessions belong to: a hint for `read_as_user`.
    owners: SessionOwners,
    /// The items of recently seen carts: a hint for a purchase's price reads.
    carts: CartHints,
}

impl Backends {
    /// Clients for every replica and service in the cluster file, for
    /// frontend number `frontend` (which spreads frontends over the
    /// customer DB's replicas, all of which serve).
    pub fn connect(
        config: &ClusterConfig,
        environment: Arc<grpcio::Environment>,
        frontend: usize,
    ) -> Self {
        // Names stay names: gRPC and ureq look them up as they connect.
        let product: Vec<_> = config.product_db.iter().map(|node| &node.grpc).collect();
        let customer: Vec<_> = config.customer_db.iter().map(|node| &node.grpc).collect();
        let payment = config
            .financial_service
            .iter()
            .map(|node| node.http.to_string())
            .collect();
        Backends {
            product: DatabaseClient::new(environment.clone(), DatabaseKind::Product, &product),
            customer: DatabaseClient::new(environment, DatabaseKind::Customer, &customer)
                .prefer(frontend),
            payment: PaymentClient::new(payment, PAYMENT_ATTEMPT_TIMEOUT),
            owners: SessionOwners::default(),
            carts: CartHints::default(),
        }
    }

    /// Runs a product-DB command.
    pub fn product(
        &self,
        request_id: &RequestId,
        command: ProductCommand,
    ) -> Result<ProductOutcome, MarketError> {
        self.product
            .execute(&product_request(request_id, command))?
    }

    /// Runs a customer-DB command; the receiving replica stamps the time.
    pub fn customer(
        &self,
        request_id: &RequestId,
        command: CustomerCommand,
    ) -> Result<CustomerOutcome, MarketError> {
        self.customer
            .execute(&customer_request(request_id, command))?
    }

    /// Checks a session of `role` and returns its user's id.
    pub fn user_of(
        &self,
        request_id: &RequestId,
        role: Role,
        session: SessionToken,
    ) -> Result<u64, MarketError> {
        let touch = CustomerCommand::Touch {
            role,
            session: session.clone(),
        };
        let user = user_in(self.customer(request_id, touch)?)?;
        self.owners.remember(role, &session, user);
        Ok(user)
    }

    /// Runs `read`, a product-DB read for the session's user, and returns
    /// its result only if the session is a live one of `role`; otherwise
    /// the session's error.
    ///
    /// When this frontend has checked the session before, it knows whose
    /// it was (`SessionOwners`) and runs the read for that user while the
    /// check is on its way, as `read_with_session` does; the result is
    /// used only if the check names the same user, else the read runs
    /// again for the user it names. Otherwise the check comes first.
    pub fn read_as_user<T>(
        &self,
        request_id: &RequestId,
        role: Role,
        session: SessionToken,
        read: impl Fn(u64) -> Result<T, MarketError>,
    ) -> Result<T, MarketError> {
        let Some(hint) = self.owners.owner(role, &session) else {
            return read(self.user_of(request_id, role, session)?);
        };
        let check = self
            .customer
            .start(&touch_request(request_id, role, session.clone()))?;
        let result = read(hint);
        let user = user_in(check.finish()??)?;
        if user == hint {
            return result;
        }
        self.owners.remember(role, &session, user);
        read(user)
    }

    /// Runs `read`, a product-DB read, while the session check (`user_of`)
    /// is on its way, and returns the read's result only if the session is
    /// a live one of `role`; otherwise the session's error.
    ///
    /// The two are independent, so the call waits for the slower of them
    /// instead of both in turn (a customer-DB round costs as much as the
    /// read). The check is sent before the read and collected after it,
    /// on this same thread: gRPC carries both at once. Only for reads:
    /// `read` runs whatever the session turns out to be, and its result is
    /// dropped when the session is refused.
    pub fn read_with_session<T>(
        &self,
        request_id: &RequestId,
        role: Role,
        session: SessionToken,
        read: impl FnOnce() -> Result<T, MarketError>,
    ) -> Result<T, MarketError> {
        let check = self
            .customer
            .start(&touch_request(request_id, role, session))?;
        let result = read();
        user_in(check.finish()??)?;
        result
    }

    /// The items of the carts this frontend has seen lately, by session.
    pub fn cart_hints(&self) -> &CartHints {
        &self.carts
    }

    /// Starts a product-DB read of each of `items` and returns at once, so
    /// that the calling thread can make another call while they are on
    /// their way (as `read_with_session` does); `ItemReads::finish` collects
    /// them, and dropping them cancels those not collected.
    pub fn start_item_reads(&self, request_id: &RequestId, items: &[ItemId]) -> ItemReads<'_> {
        let calls = items
            .iter()
            .filter_map(|&item| {
                let request = product_request(request_id, ProductCommand::GetItem { item });
                self.product.start(&request).ok().map(|call| (item, call))
            })
            .collect();
        ItemReads { calls }
    }

    /// The financial service's client.
    pub fn payment(&self) -> &PaymentClient {
        &self.payment
    }
}

/// Product-DB reads of items on their way ([`Backends::start_item_reads`]).
pub struct ItemReads<'a> {
    calls: Vec<(ItemId, StartedCall<'a, ProductRequest>)>,
}

impl ItemReads<'_> {
    /// What each read came to: the item, or why it could not be read.
    pub fn finish(self) -> HashMap<ItemId, Result<Item, MarketError>> {
        self.calls
            .into_iter()
            .map(|(id, call)| (id, item_in(call.finish().and_then(|answer| answer))))
            .collect()
    }
}

/// The item a `GetItem` call answered, or its error.
pub fn item_in(answer: Result<ProductOutcome, MarketError>) -> Result<Item, MarketError> {
    match answer? {
        ProductOutcome::Item(item) => Ok(item),
        other => Err(unexpected(other)),
    }
}

/// A product-DB request as a frontend sends it.
fn product_request(request_id: &RequestId, command: ProductCommand) -> ProductRequest {
    ProductRequest {
        request_id: request_id.clone(),
        command,
    }
}

/// A customer-DB request as a frontend sends it: the receiving replica
/// stamps the time, and decides how to read.
fn customer_request(request_id: &RequestId, command: CustomerCommand) -> CustomerRequest {
    CustomerRequest {
        request_id: request_id.clone(),
        now_ms: 0,
        read_by: None,
        command,
    }
}

/// The session check (`Touch`) of `session` as a role's, as a request.
fn touch_request(request_id: &RequestId, role: Role, session: SessionToken) -> CustomerRequest {
    customer_request(request_id, CustomerCommand::Touch { role, session })
}

/// The user a session check's outcome names.
fn user_in(outcome: CustomerOutcome) -> Result<u64, MarketError> {
    match outcome {
        CustomerOutcome::Session { user } => Ok(user),
        other => Err(unexpected(other)),
    }
}

/// A reply of the wrong shape: a bug between frontend and database versions.
pub fn unexpected(outcome: impl std::fmt::Debug) -> MarketError {
    log::error!("unexpected database reply: {outcome:?}");
    MarketError::Unavailable("unexpected reply from a database".into())
}
