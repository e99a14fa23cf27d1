//! The seller API (docs/API.md): accounts, sessions, and one's own items.

use serde_json::json;

use crate::customer::{CustomerCommand, CustomerOutcome};
use crate::market::{Category, Condition, ItemDraft, MarketError, Role};
use crate::product::{ProductCommand, ProductOutcome};

use super::accounts;
use super::backends::{unexpected, Backends};
use super::body::{self, NewItem, NewPrice, Quantity};
use super::json::{self, JsonBody};
use super::request::ApiRequest;
use super::server::Route;

type Reply = Result<(u16, JsonBody), MarketError>;

/// The seller frontend's route table.
pub fn seller_api() -> Vec<Route<Backends>> {
    vec![
        Route::new("POST", "/seller/accounts", create_account),
        Route::new("POST", "/seller/login", login),
        Route::new("POST", "/seller/logout", logout),
        Route::new("GET", "/seller/rating", rating),
        Route::new("POST", "/seller/items", put_item),
        Route::new("GET", "/seller/items", list_items),
        Route::new("PUT", "/seller/items/:id/price", change_price),
        Route::new("POST", "/seller/items/:id/remove", remove_units),
    ]
}

fn create_account(backends: &Backends, request: &ApiRequest, _: &[String]) -> Reply {
    accounts::create_account(Role::Seller, backends, request)
}

fn login(backends: &Backends, request: &ApiRequest, _: &[String]) -> Reply {
    accounts::login(Role::Seller, backends, request)
}

fn logout(backends: &Backends, request: &ApiRequest, _: &[String]) -> Reply {
    accounts::logout(Role::Seller, backends, request)
}

fn rating(backends: &Backends, request: &ApiRequest, _: &[String]) -> Reply {
    let command = CustomerCommand::OwnRating {
        session: request.session()?,
    };
    match backends.customer(&request.request_id, command)? {
        CustomerOutcome::SellerStanding { rating, items_sold } => {
            let mut reply = json::rating(&rating);
            reply["items_sold"] = items_sold.into();
            Ok((200, reply.into()))
        }
        other => Err(unexpected(other)),
    }
}

fn seller_of(backends: &Backends, request: &ApiRequest) -> Result<u64, MarketError> {
    backends.user_of(&request.request_id, Role::Seller, request.session()?)
}

fn put_item(backends: &Backends, request: &ApiRequest, _: &[String]) -> Reply {
    let seller = seller_of(backends, request)?;
    let fields: NewItem = body::parse(&request.body)?;
    let draft = ItemDraft {
        name: fields.name,
        category: Category::new(fields.category)?,
        keywords: fields.keywords,
        condition: fields.condition.parse::<Condition>()?,
        price: body::price(&fields.price)?,
        quantity: fields.quantity,
    };
    draft.validate()?;
    match backends.product(
        &request.request_id,
        ProductCommand::PutItem { seller, draft },
    )? {
        ProductOutcome::ItemPut { item } => {
            Ok((201, json!({ "item_id": item.to_string() }).into()))
        }
        other => Err(unexpected(other)),
    }
}

/// `GET /seller/items?limit=100&after=<cursor>`: one page of the seller's
/// items with units left (docs/API.md).
/// The read runs beside the session check when this frontend knows whose
/// the session is (`Backends::read_as_user`).
fn list_items(backends: &Backends, request: &ApiRequest, _: &[String]) -> Reply {
    let session = request.session()?;
    backends.read_as_user(&request.request_id, Role::Seller, session, |seller| {
        let page = request.page()?;
        match backends.product(
            &request.request_id,
            ProductCommand::ListSellerItems { seller, page },
        )? {
            ProductOutcome::Items { items, next } => Ok((200, json::items_page(&items, next))),
            other => Err(unexpected(other)),
        }
    })
}

fn change_price(backends: &Backends, request: &ApiRequest, parameters: &[String]) -> Reply {
    let seller = seller_of(backends, request)?;
    let item = parameters[0].parse()?;
    let NewPrice { price } = body::parse(&request.body)?;
    let price = body::price(&price)?;
    match backends.product(
        &request.request_id,
        ProductCommand::ChangePrice {
            seller,
            item,
            price,
        },
    )? {
        ProductOutcome::Done => Ok((200, json!({}).into())),
        other => Err(unexpected(other)),
    }
}

fn remove_units(backends: &Backends, request: &ApiRequest, parameters: &[String]) -> Reply {
    let seller = seller_of(backends, request)?;
    let item = parameters[0].parse()?;
    let Quantity { quantity } = body::parse(&request.body)?;
    let command = ProductCommand::RemoveUnits {
        seller,
        item,
        quantity,
    };
    match backends.product(&request.request_id, command)? {
        ProductOutcome::Item(item) => Ok((200, json!({ "item": json::item(&item) }).into())),
        other => Err(unexpected(other)),
    }
}
