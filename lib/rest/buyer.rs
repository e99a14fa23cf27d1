//! The buyer API (docs/API.md): search, cart, purchase, feedback, history.

use std::collections::HashMap;

use serde_json::json;

use crate::customer::{CustomerCommand, CustomerOutcome};
use crate::market::{
    CartLine, Category, Item, ItemId, MarketError, PurchasedLine, RequestId, Role, SessionToken,
    Thumb,
};
use crate::product::{ProductCommand, ProductOutcome};
use crate::soap::{PaymentDecision, PaymentRequest, SoapError};

use super::accounts;
use super::backends::{item_in, unexpected, Backends};
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
    item_in(backends.product(request_id, ProductCommand::GetItem { item }))
}

/// Runs a cart command of `session` and answers with the cart, which it
/// notes as this session's cart (a hint for a purchase: `CartHints`).
fn run_cart_command(
    backends: &Backends,
    request: &ApiRequest,
    session: &SessionToken,
    command: CustomerCommand,
) -> Reply {
    match backends.customer(&request.request_id, command)? {
        CustomerOutcome::Cart(lines) => {
            backends.cart_hints().remember(session, &lines);
            Ok((200, json!({ "cart": json::cart(&lines) }).into()))
        }
        CustomerOutcome::Done => Ok((200, json!({}).into())),
        other => Err(unexpected(other)),
    }
}

fn show_cart(backends: &Backends, request: &ApiRequest, _: &[String]) -> Reply {
    let session = request.session()?;
    let command = CustomerCommand::CartShow {
        session: session.clone(),
    };
    run_cart_command(backends, request, &session, command)
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
        session: session.clone(),
        item,
        quantity,
        available,
    };
    run_cart_command(backends, request, &session, command)
}

fn remove_from_cart(backends: &Backends, request: &ApiRequest, _: &[String]) -> Reply {
    let session = request.session()?;
    let CartChange { item_id, quantity } = body::parse(&request.body)?;
    let command = CustomerCommand::CartRemove {
        session: session.clone(),
        item: item_id.parse()?,
        quantity,
    };
    run_cart_command(backends, request, &session, command)
}

fn save_cart(backends: &Backends, request: &ApiRequest, _: &[String]) -> Reply {
    let session = request.session()?;
    let command = CustomerCommand::CartSave {
        session: session.clone(),
    };
    run_cart_command(backends, request, &session, command)
}

fn clear_cart(backends: &Backends, request: &ApiRequest, _: &[String]) -> Reply {
    let session = request.session()?;
    let command = CustomerCommand::CartClear {
        session: session.clone(),
    };
    run_cart_command(backends, request, &session, command)
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
///
/// The prices the card is asked for are read while step 1 is on its way,
/// for the items this frontend last saw in the cart (`CartHints`); a line
/// the hint missed is read after step 1, as without a hint.
fn purchase(backends: &Backends, request: &ApiRequest, _: &[String]) -> Reply {
    let session = request.session()?;
    let card: Card = body::parse(&request.body)?;
    let purchase = request.request_id.clone();
    let hinted = backends.cart_hints().items(&session);
    let price_reads = backends.start_item_reads(&request.request_id, &hinted);
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
    let read = price_reads.finish();
    let sold = match pay_and_sell(backends, request, &purchase, card, lines, read) {
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

/// Steps 2 and 3 of a purchase: the card, then the sale. `read` holds the
/// item reads already made during this purchase.
fn pay_and_sell(
    backends: &Backends,
    request: &ApiRequest,
    purchase: &RequestId,
    card: Card,
    lines: Vec<CartLine>,
    read: HashMap<ItemId, Result<Item, MarketError>>,
) -> Result<Vec<PurchasedLine>, MarketError> {
    let amount_cents = cart_total_cents(&lines, read, |item| {
        fetch_item(backends, &request.request_id, item)
    })?;
    authorize(backends, purchase, card, amount_cents)?;
    match backends.product(&request.request_id, ProductCommand::Purchase { lines })? {
        ProductOutcome::Purchased(sold) => Ok(sold),
        other => Err(unexpected(other)),
    }
}

/// What the cart's `lines` cost at current prices (the amount the card is
/// asked for): each line's item as its read during this purchase came out
/// (`read`: an error there stands, as if the read had come after step 1),
/// or as `fetch` reads it now. Reads of items that are not among the lines
/// count for nothing.
fn cart_total_cents(
    lines: &[CartLine],
    mut read: HashMap<ItemId, Result<Item, MarketError>>,
    mut fetch: impl FnMut(ItemId) -> Result<Item, MarketError>,
) -> Result<u64, MarketError> {
    let mut total: u64 = 0;
    for line in lines {
        let item = match read.remove(&line.item) {
            Some(answer) => answer?,
            None => fetch(line.item)?,
        };
        let cents = item.price.cents();
        total = total.saturating_add(cents.saturating_mul(u64::from(line.quantity)));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market::{Category, Condition, Price, Rating};

    fn id(number: u64) -> ItemId {
        ItemId {
            category: Category::new(3).expect("a category"),
            number,
        }
    }

    fn item(number: u64, cents: u64) -> Item {
        Item {
            id: id(number),
            name: format!("item {number}"),
            keywords: vec![],
            condition: Condition::New,
            price: Price::from_cents(cents).expect("a price"),
            quantity: 10,
            seller: 7,
            rating: Rating::default(),
        }
    }

    fn line(number: u64, quantity: u32) -> CartLine {
        CartLine {
            item: id(number),
            quantity,
        }
    }

    /// Goal: the amount is the lines' units at their prices, whatever the
    /// hint read: an item read on the hint counts only if it is a line, and
    /// a line the hint missed is read now (and only that one).
    #[test]
    fn the_amount_counts_the_lines_handed_over_not_the_hint() {
        let lines = [line(1, 2), line(2, 3)];
        let read = [(id(1), Ok(item(1, 300))), (id(9), Ok(item(9, 5000)))].into();
        let mut fetched = vec![];
        let total = cart_total_cents(&lines, read, |wanted| {
            fetched.push(wanted);
            Ok(item(wanted.number, 700))
        });
        assert_eq!(total.expect("a total"), 2 * 300 + 3 * 700);
        assert_eq!(fetched, vec![id(2)]);
    }

    /// Goal: without a hint every line is read, and a line whose read fails
    /// fails the total with that error, whether it was read now or on the
    /// hint (which is then not read again: a database that did not answer
    /// is not waited for twice).
    #[test]
    fn without_a_hint_every_line_is_read_and_a_failed_read_stands() {
        let lines = [line(1, 1), line(4, 1)];
        let missing = |wanted: ItemId| MarketError::NotFound(format!("item {wanted}"));
        let total = cart_total_cents(&lines, HashMap::new(), |wanted| match wanted.number {
            1 => Ok(item(1, 250)),
            _ => Err(missing(wanted)),
        });
        assert!(matches!(total, Err(MarketError::NotFound(_))), "{total:?}");
        let total = cart_total_cents(&lines[..1], HashMap::new(), |wanted| {
            Ok(item(wanted.number, 250))
        });
        assert_eq!(total.expect("a total"), 250);
        let read = [(id(4), Err(missing(id(4))))].into();
        let total = cart_total_cents(&lines, read, |wanted| match wanted.number {
            1 => Ok(item(1, 250)),
            _ => panic!("{wanted} was read on the hint already"),
        });
        assert!(matches!(total, Err(MarketError::NotFound(_))), "{total:?}");
    }
}
