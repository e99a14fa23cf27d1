//! The buyer API (docs/API.md): search, cart, purchase, feedback, history.

use serde_json::json;

use crate::customer::{CustomerCommand, CustomerOutcome};
use crate::market::{
    CartLine, Category, ItemId, MarketError, PurchasedLine, RequestId, Role, Thumb,
};
use crate::product::{ProductCommand, ProductOutcome};
use crate::soap::{PaymentDecision, PaymentRequest, SoapError};

use super::accounts;
use super::backends::{unexpected, Backends};
use super::body::{self, Card, CartChange, FeedbackBody};
use super::json::{self, JsonBody};
use super::request::ApiRequest;
use super::server::Route;

type Reply = Result<(u16, JsonBody), MarketError>;

/// The buyer frontend's route table.
pub fn buyer_api() -> Vec<Route<Backends>> {
    vec![
        Route::new("POST", "/buyer/accounts", create_account),
        Route::new("POST", "/buyer/login", login),
        Route::new("POST", "/buyer/logout", logout),
        Route::new("GET", "/buyer/items", search),
        Route::new("GET", "/buyer/items/:id", get_item),
        Route::new("GET", "/buyer/cart", show_cart),
        Route::new("POST", "/buyer/cart/add", add_to_cart),
        Route::new("POST", "/buyer/cart/remove", remove_from_cart),
        Route::new("POST", "/buyer/cart/save", save_cart),
        Route::new("POST", "/buyer/cart/clear", clear_cart),
        Route::new("POST", "/buyer/purchase", purchase),
        Route::new("POST", "/buyer/feedback", feedback),
        Route::new("GET", "/buyer/sellers/:id/rating", seller_rating),
        Route::new("GET", "/buyer/history", history),
    ]
}

fn create_account(backends: &Backends, request: &ApiRequest, _: &[String]) -> Reply {
    accounts::create_account(Role::Buyer, backends, request)
}

fn login(backends: &Backends, request: &ApiRequest, _: &[String]) -> Reply {
    accounts::login(Role::Buyer, backends, request)
}

fn logout(backends: &Backends, request: &ApiRequest, _: &[String]) -> Reply {
    accounts::logout(Role::Buyer, backends, request)
}

fn check_buyer(backends: &Backends, request: &ApiRequest) -> Result<u64, MarketError> {
    backends.user_of(&request.request_id, Role::Buyer, request.session()?)
}

/// `GET /buyer/items?category=3&keywords=a,b&limit=100&after=<cursor>`;
/// the session check runs beside the search (`Backends::read_with_session`).
/// One page of the results: `limit` and `after` as in docs/API.md.
fn search(backends: &Backends, request: &ApiRequest, _: &[String]) -> Reply {
    let session = request.session()?;
    backends.read_with_session(&request.request_id, Role::Buyer, session, || {
        run_search(backends, request)
    })
}

fn run_search(backends: &Backends, request: &ApiRequest) -> Reply {
    let category = request
        .query_value("category")
        .ok_or_else(|| MarketError::invalid("search needs a category: ?category=0..9"))?;
    let category: Category = category.parse()?;
    let keywords: Vec<String> = request
        .query_value("keywords")
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(String::from)
        .collect();
    crate::market::validate_keywords(&keywords)?;
    let page = request.page()?;
    let command = ProductCommand::Search {
        category,
        keywords,
        page,
    };
    match backends.product(&request.request_id, command)? {
        ProductOutcome::Items { items, next } => Ok((200, json::items_page(&items, next))),
        other => Err(unexpected(other)),
    }
}

/// The session check runs beside the read (`Backends::read_with_session`).
fn get_item(backends: &Backends, request: &ApiRequest, parameters: &[String]) -> Reply {
    let session = request.session()?;
    backends.read_with_session(&request.request_id, Role::Buyer, session, || {
        let item: ItemId = parameters[0].parse()?;
        let item = fetch_item(backends, &request.request_id, item)?;
        Ok((200, json!({ "item": json::item(&item) }).into()))
    })
}

fn fetch_item(
    backends: &Backends,
    request_id: &RequestId,
    item: ItemId,
) -> Result<crate::market::Item, MarketError> {
    match backends.product(request_id, ProductCommand::GetItem { item })? {
        ProductOutcome::Item(item) => Ok(item),
        other => Err(unexpected(other)),
    }
}

fn cart_reply(outcome: CustomerOutcome) -> Reply {
    match outcome {
        CustomerOutcome::Cart(lines) => Ok((200, json!({ "cart": json::cart(&lines) }).into())),
        CustomerOutcome::Done => Ok((200, json!({}).into())),
        other => Err(unexpected(other)),
    }
}

fn show_cart(backends: &Backends, request: &ApiRequest, _: &[String]) -> Reply {
    let command = CustomerCommand::CartShow {
        session: request.session()?,
    };
    cart_reply(backends.customer(&request.request_id, command)?)
}

/// Adds units after checking, with the product DB, that the item exists and
/// has them; the customer DB then checks the cart's total against that.
///
/// `CartAdd` checks the session itself, in the total order, so no separate
/// check comes first (it would cost a customer-DB round). An error found
/// before `CartAdd` runs (a bad body, an unknown item) is reported only after
/// a session check, so that a caller without a live session gets the session
/// error, as from every other call, and learns nothing about items.
fn add_to_cart(backends: &Backends, request: &ApiRequest, _: &[String]) -> Reply {
    let session = request.session()?;
    let prepared = body::parse::<CartChange>(&request.body).and_then(|change| {
        let item: ItemId = change.item_id.parse()?;
        let available = fetch_item(backends, &request.request_id, item)?.quantity;
        Ok((item, change.quantity, available))
    });
    let (item, quantity, available) = match prepared {
        Ok(prepared) => prepared,
        Err(error) => {
            check_buyer(backends, request)?;
            return Err(error);
        }
    };
    let command = CustomerCommand::CartAdd {
        session,
        item,
        quantity,
        available,
    };
    cart_reply(backends.customer(&request.request_id, command)?)
}

fn remove_from_cart(backends: &Backends, request: &ApiRequest, _: &[String]) -> Reply {
    let session = request.session()?;
    let CartChange { item_id, quantity } = body::parse(&request.body)?;
    let command = CustomerCommand::CartRemove {
        session,
        item: item_id.parse()?,
        quantity,
    };
    cart_reply(backends.customer(&request.request_id, command)?)
}

fn save_cart(backends: &Backends, request: &ApiRequest, _: &[String]) -> Reply {
    let command = CustomerCommand::CartSave {
        session: request.session()?,
    };
    cart_reply(backends.customer(&request.request_id, command)?)
}

fn clear_cart(backends: &Backends, request: &ApiRequest, _: &[String]) -> Reply {
    let command = CustomerCommand::CartClear {
        session: request.session()?,
    };
    cart_reply(backends.customer(&request.request_id, command)?)
}

/// A purchase in four steps, each safe to repeat with the same request id:
/// 1. the customer DB hands over the cart and holds it for this purchase
///    (or the receipt, if this purchase already completed: a retry after a
///    crash); its answer is final for the purchase's id;
/// 2. the financial service approves the card (its answer is a function of
///    the request id, so a retry gets the same answer);
/// 3. the product DB sells every line or none (idempotent by request id);
/// 4. the customer DB records history and counts, takes what was bought out
///    of the cart and releases it (idempotent by purchase id).
///
/// A purchase refused at step 2 or 3 releases the cart at once. One whose
/// fate is unknown (a database did not answer) keeps it, so that a retry
/// completes it; the hold ends by itself after `PURCHASE_HOLD_MS`.
fn purchase(backends: &Backends, request: &ApiRequest, _: &[String]) -> Reply {
    let session = request.session()?;
    let card: Card = body::parse(&request.body)?;
    let purchase = request.request_id.clone();
    let begin = CustomerCommand::BeginPurchase {
        session,
        purchase: purchase.clone(),
    };
    let (buyer, lines) = match backends.customer(&request.request_id, begin)? {
        CustomerOutcome::Purchased(record) => {
            return Ok((200, json!({ "purchase": json::purchase(&record) }).into()))
        }
        CustomerOutcome::PurchaseStarted { buyer, lines } => (buyer, lines),
        other => return Err(unexpected(other)),
    };
    let sold = match pay_and_sell(backends, request, &purchase, card, lines) {
        Ok(sold) => sold,
        Err(refusal) if !matches!(refusal, MarketError::Unavailable(_)) => {
            let abort = CustomerCommand::AbortPurchase {
                buyer,
                purchase: purchase.clone(),
            };
            // Best effort: if this is lost, the hold runs out by itself.
            let _ = backends.customer(&RequestId::purchase_abort_step(&purchase), abort);
            return Err(refusal);
        }
        Err(unknown) => return Err(unknown),
    };
    let complete = CustomerCommand::CompletePurchase {
        buyer,
        purchase: purchase.clone(),
        lines: sold,
    };
    let step_id = RequestId::purchase_step(&purchase);
    match backends.customer(&step_id, complete)? {
        CustomerOutcome::Purchased(record) => {
            Ok((200, json!({ "purchase": json::purchase(&record) }).into()))
        }
        other => Err(unexpected(other)),
    }
}

/// Steps 2 and 3 of a purchase: the card, then the sale.
fn pay_and_sell(
    backends: &Backends,
    request: &ApiRequest,
    purchase: &RequestId,
    card: Card,
    lines: Vec<CartLine>,
) -> Result<Vec<PurchasedLine>, MarketError> {
    let amount_cents = cart_total_cents(backends, &request.request_id, &lines)?;
    authorize(backends, purchase, card, amount_cents)?;
    match backends.product(&request.request_id, ProductCommand::Purchase { lines })? {
        ProductOutcome::Purchased(sold) => Ok(sold),
        other => Err(unexpected(other)),
    }
}

/// What the cart costs at current prices (the amount the card is asked for).
fn cart_total_cents(
    backends: &Backends,
    request_id: &RequestId,
    lines: &[CartLine],
) -> Result<u64, MarketError> {
    let mut total: u64 = 0;
    for line in lines {
        let item = fetch_item(backends, request_id, line.item)?;
        total = total.saturating_add(item.price.cents().saturating_mul(u64::from(line.quantity)));
    }
    Ok(total)
}

fn authorize(
    backends: &Backends,
    purchase: &RequestId,
    card: Card,
    amount_cents: u64,
) -> Result<(), MarketError> {
    let payment = PaymentRequest {
        request_id: purchase.to_string(),
        card_holder: card.card_holder,
        card_number: card.card_number,
        expiry: card.expiry,
        amount_cents,
    };
    match backends.payment().authorize(&payment) {
        Ok(PaymentDecision::Approved) => Ok(()),
        Ok(PaymentDecision::Declined(reason)) => Err(MarketError::CardDeclined(reason)),
        Err(SoapError::Fault { message, .. }) => Err(MarketError::invalid(message)),
        Err(error) => Err(MarketError::Unavailable(format!(
            "financial service: {error}"
        ))),
    }
}

/// Counts a thumb: first on the seller, in the customer DB (which checks
/// that the buyer bought the item and has not rated it yet), then on the
/// item, in the product DB. Both steps are idempotent by request id.
fn feedback(backends: &Backends, request: &ApiRequest, _: &[String]) -> Reply {
    let session = request.session()?;
    let FeedbackBody { item_id, thumb } = body::parse(&request.body)?;
    let item: ItemId = item_id.parse()?;
    let thumb: Thumb = thumb.parse()?;
    match backends.customer(
        &request.request_id,
        CustomerCommand::Feedback {
            session,
            item,
            thumb,
        },
    )? {
        CustomerOutcome::FeedbackRecorded { .. } => {}
        other => return Err(unexpected(other)),
    }
    match backends.product(
        &request.request_id,
        ProductCommand::Feedback { item, thumb },
    )? {
        ProductOutcome::Done => Ok((200, json!({}).into())),
        other => Err(unexpected(other)),
    }
}

fn seller_rating(backends: &Backends, request: &ApiRequest, parameters: &[String]) -> Reply {
    let session = request.session()?;
    let seller: u64 = parameters[0].parse().map_err(|_| {
        MarketError::invalid(format!(
            "seller id must be a number, got {:?}",
            parameters[0]
        ))
    })?;
    match backends.customer(
        &request.request_id,
        CustomerCommand::SellerRating { session, seller },
    )? {
        CustomerOutcome::Rating(rating) => Ok((200, json::rating(&rating).into())),
        other => Err(unexpected(other)),
    }
}

fn history(backends: &Backends, request: &ApiRequest, _: &[String]) -> Reply {
    let command = CustomerCommand::History {
        session: request.session()?,
        page: request.history_page()?,
    };
    match backends.customer(&request.request_id, command)? {
        CustomerOutcome::History { purchases, next } => {
            Ok((200, json::history_page(&purchases, next)))
        }
        other => Err(unexpected(other)),
    }
}
