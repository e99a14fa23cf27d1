//! The per-role operation mix: what each simulated seller and buyer calls,
//! in which order, and what it keeps from the replies to make its next
//! call valid.
//!
//! Before the clients start, a catalogue seller of its own puts the items
//! buyers use ([`CatalogueSeller`], not measured). Every client then sets
//! itself up (account, login), repeats a cycle that covers every operation
//! of its role, and logs out:
//! - seller: put-item, change-price, remove-units, list-items, rating. A
//!   seller keeps at most [`WORKING_ITEMS_MAX`] items of its own on sale:
//!   beyond that, remove-units takes every unit of its oldest one, so its
//!   list stays short however long the run.
//! - buyer, on catalogue item X (a different one each cycle): search,
//!   get-item, add-to-cart (2), remove-from-cart (1), show-cart, save-cart,
//!   clear-cart, add-to-cart (1), purchase, feedback on X, seller-rating of
//!   X's seller, history. A declined card (402) is answered with another
//!   purchase under a new request id, as a user would retry; feedback is
//!   given only on an item actually bought (the rules refuse anything else).
//!
//! The scripts are state machines: [`ClientScript::next_load`] gives the
//! next call, [`ClientScript::observe`] takes its reply. They never touch
//! the network, so the caller decides timing, retries and accounting.

use serde_json::{json, Value};

/// Most items a seller keeps on sale from its own puts during the load.
pub const WORKING_ITEMS_MAX: usize = 5;
/// Calls in one buyer cycle (without purchase retries).
pub const BUYER_CYCLE_CALLS: usize = 12;
/// Purchases tried per cycle before a buyer gives the item up (a decline
/// has p = 0.05 in conf/local.json, so this is never reached in practice).
const PURCHASE_TRIES_MAX: u32 = 10;
/// Catalogue items go to categories 0..=8, sellers' own items to 9: a
/// search used to scan its whole category (finding 5 of docs/EVALUATION.md;
/// it now walks a keyword index), so keeping the sellers' puts (a fifth of
/// their calls, thousands per run) out of the searched categories kept
/// search costs the same from the first run of a bench to the last, and
/// keeps runs comparable with the reports made then.
const CATALOGUE_CATEGORIES: usize = 9;
/// See [`CATALOGUE_CATEGORIES`].
const WORKING_CATEGORY: usize = 9;
/// Units of each catalogue item: buyers take one per purchase.
const CATALOGUE_UNITS: u32 = 1_000_000;
/// Units of each item a seller puts during the load.
const WORKING_UNITS: u32 = 100;
/// The card every buyer pays with; the financial service approves a valid
/// card with the configured probability.
const CARD: (&str, &str) = ("4111111111111111", "12/99");

/// Which side of the marketplace a client plays.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// Calls the seller frontends.
    Seller,
    /// Calls the buyer frontends.
    Buyer,
}

impl Role {
    /// Lowercase name, as in paths and reports.
    pub fn name(self) -> &'static str {
        match self {
            Role::Seller => "seller",
            Role::Buyer => "buyer",
        }
    }
}

macro_rules! operations {
    ($($(#[doc = $doc:literal])+ $variant:ident => ($role:ident, $name:literal)),+ $(,)?) => {
        /// Every operation the bench times, one per REST call kind.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Operation { $($(#[doc = $doc])+ $variant),+ }

        impl Operation {
            /// Every operation, sellers' first, in report order.
            pub const ALL: &'static [Operation] = &[$(Operation::$variant),+];

            /// Which role calls it.
            pub fn role(self) -> Role {
                match self { $(Operation::$variant => Role::$role),+ }
            }

            /// Its name in reports (without the role).
            pub fn name(self) -> &'static str {
                match self { $(Operation::$variant => $name),+ }
            }
        }
    };
}

operations! {
    /// `POST /seller/accounts`: a new seller account.
    SellerCreateAccount => (Seller, "create-account"),
    /// `POST /seller/login`: a seller opens a session.
    SellerLogin => (Seller, "login"),
    /// `POST /seller/items`: a seller puts an item up for sale.
    PutItem => (Seller, "put-item"),
    /// `PUT /seller/items/:id/price`: a seller reprices an item.
    ChangePrice => (Seller, "change-price"),
    /// `POST /seller/items/:id/remove`: a seller takes units off sale.
    RemoveUnits => (Seller, "remove-units"),
    /// `GET /seller/items`: one page of a seller's items.
    ListItems => (Seller, "list-items"),
    /// `GET /seller/rating`: a seller's thumbs and units sold.
    OwnRating => (Seller, "rating"),
    /// `POST /seller/logout`: a seller's session ends.
    SellerLogout => (Seller, "logout"),
    /// `POST /buyer/accounts`: a new buyer account.
    BuyerCreateAccount => (Buyer, "create-account"),
    /// `POST /buyer/login`: a buyer opens a session.
    BuyerLogin => (Buyer, "login"),
    /// `GET /buyer/items`: one page of a search by category and keywords.
    Search => (Buyer, "search"),
    /// `GET /buyer/items/:id`: one item.
    GetItem => (Buyer, "get-item"),
    /// `POST /buyer/cart/add`: units of an item into the cart.
    AddToCart => (Buyer, "add-to-cart"),
    /// `POST /buyer/cart/remove`: units out of the cart.
    RemoveFromCart => (Buyer, "remove-from-cart"),
    /// `GET /buyer/cart`: the buyer's cart.
    ShowCart => (Buyer, "show-cart"),
    /// `POST /buyer/cart/save`: the cart kept across sessions.
    SaveCart => (Buyer, "save-cart"),
    /// `POST /buyer/cart/clear`: the cart and its saved copy emptied.
    ClearCart => (Buyer, "clear-cart"),
    /// `POST /buyer/purchase`: the cart bought with a card.
    Purchase => (Buyer, "purchase"),
    /// `POST /buyer/feedback`: a thumb on an item bought.
    Feedback => (Buyer, "feedback"),
    /// `GET /buyer/sellers/:id/rating`: a seller's thumbs.
    SellerRating => (Buyer, "seller-rating"),
    /// `GET /buyer/history`: one page of the buyer's purchases.
    History => (Buyer, "history"),
    /// `POST /buyer/logout`: a buyer's session ends.
    BuyerLogout => (Buyer, "logout"),
}

impl Operation {
    /// Its position in [`Operation::ALL`], for per-operation tables.
    pub fn index(self) -> usize {
        self as usize
    }
}

/// One REST call to make.
#[derive(Clone, Debug)]
pub struct Request {
    /// What it is, for the recorder.
    pub op: Operation,
    /// HTTP method.
    pub method: &'static str,
    /// Path and query.
    pub path: String,
    /// The `X-Session` header, once logged in.
    pub session: Option<String>,
    /// JSON body, already encoded.
    pub body: Option<String>,
}

/// What a call came to, as the script sees it.
#[derive(Clone, Debug)]
pub enum Reply {
    /// 2xx, with the body.
    Ok(String),
    /// An expected business refusal: `card_declined` or `insufficient_stock`.
    Business(&'static str),
    /// Anything else (already counted as an error by the caller).
    Failed,
}

/// A catalogue item: put by the catalogue's seller, used by buyers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CatalogueItem {
    /// Its global number in this run (orders the catalogue).
    pub number: usize,
    /// The item id the product DB gave it.
    pub id: String,
    /// Its category.
    pub category: u8,
    /// The keyword only it carries in this run.
    pub keyword: String,
    /// Its seller.
    pub seller_id: u64,
}

/// What makes this run's names unique: accounts and keywords of an earlier
/// run on the same cluster never collide with this one's.
#[derive(Clone, Debug)]
pub struct RunNames {
    /// Prefix of account names (at most 20 characters).
    pub accounts: String,
    /// Prefix of catalogue keywords (3 characters: keywords have at most 8).
    pub keywords: String,
}

impl RunNames {
    fn keyword(&self, number: usize) -> String {
        format!("{}{number}", self.keywords)
    }
}

/// A client's behaviour: setup calls, then load calls, then a last call.
pub trait ClientScript {
    /// The next setup call, or `None` once the client is ready.
    fn next_setup(&mut self) -> Option<Request>;
    /// The whole catalogue, handed over when the load starts.
    fn start_load(&mut self, _catalogue: &[CatalogueItem]) {}
    /// The next call of the load.
    fn next_load(&mut self) -> Request;
    /// The call that ends the client (logout), if it ever logged in.
    fn finish(&mut self) -> Option<Request>;
    /// Takes the reply to `request`.
    fn observe(&mut self, request: &Request, reply: &Reply);
}

fn json_field(reply: &Reply, field: &str) -> Option<Value> {
    match reply {
        Reply::Ok(body) => serde_json::from_str::<Value>(body)
            .ok()
            .and_then(|v| v.get(field).cloned()),
        _ => None,
    }
}

fn post(op: Operation, path: String, session: &Option<String>, body: Value) -> Request {
    Request {
        op,
        method: "POST",
        path,
        session: session.clone(),
        body: Some(body.to_string()),
    }
}

fn get(op: Operation, path: String, session: &Option<String>) -> Request {
    Request {
        op,
        method: "GET",
        path,
        session: session.clone(),
        body: None,
    }
}

/// How many catalogue items a run needs so that every buyer can buy (and
/// rate) a different item in each of its cycles, whatever the number of
/// buyers: each buyer walks the catalogue from its own starting point.
pub fn catalogue_size(calls_per_client: usize) -> usize {
    calls_per_client.div_ceil(BUYER_CYCLE_CALLS) + 1
}

/// The catalogue's seller: an account of its own that puts every item
/// buyers use before the load starts (setup, not measured). Keeping the
/// catalogue out of the measured sellers' accounts gives every seller the
/// same short list at every load, so list-items costs the same in 1+1 and
/// 100+100.
pub struct CatalogueSeller {
    names: RunNames,
    size: usize,
    session: Option<String>,
    seller_id: u64,
    next: usize,
    created: bool,
    logged_in: bool,
    items: Vec<CatalogueItem>,
}

impl CatalogueSeller {
    /// The seller of a catalogue of `size` items.
    pub fn new(names: RunNames, size: usize) -> Self {
        CatalogueSeller {
            names,
            size,
            session: None,
            seller_id: 0,
            next: 0,
            created: false,
            logged_in: false,
            items: Vec::new(),
        }
    }

    /// The items put so far.
    pub fn items(&self) -> &[CatalogueItem] {
        &self.items
    }

    fn credentials(&self) -> Value {
        json!({"name": format!("{}c", self.names.accounts), "password": "pw"})
    }

    fn item_request(&self, number: usize) -> Request {
        let body = json!({
            "name": format!("bench item {number}"),
            "category": number % CATALOGUE_CATEGORIES,
            "condition": if number.is_multiple_of(2) { "new" } else { "used" },
            "price": "12.50",
            "quantity": CATALOGUE_UNITS,
            "keywords": [self.names.keyword(number), "bench"],
        });
        post(
            Operation::PutItem,
            "/seller/items".into(),
            &self.session,
            body,
        )
    }
}

impl ClientScript for CatalogueSeller {
    fn next_setup(&mut self) -> Option<Request> {
        if !self.created {
            let body = self.credentials();
            return Some(post(
                Operation::SellerCreateAccount,
                "/seller/accounts".into(),
                &None,
                body,
            ));
        }
        if !self.logged_in {
            let body = self.credentials();
            return Some(post(
                Operation::SellerLogin,
                "/seller/login".into(),
                &None,
                body,
            ));
        }
        // Without a session there is nothing to put: the catalogue stays short.
        (self.session.is_some() && self.next < self.size).then(|| self.item_request(self.next))
    }

    fn next_load(&mut self) -> Request {
        get(Operation::ListItems, "/seller/items".into(), &self.session)
    }

    fn finish(&mut self) -> Option<Request> {
        let session = self.session.take()?;
        Some(post(
            Operation::SellerLogout,
            "/seller/logout".into(),
            &Some(session),
            json!({}),
        ))
    }

    fn observe(&mut self, request: &Request, reply: &Reply) {
        match request.op {
            Operation::SellerCreateAccount => self.created = true,
            Operation::SellerLogin => {
                self.logged_in = true;
                self.session =
                    json_field(reply, "session").and_then(|s| s.as_str().map(String::from));
                self.seller_id = json_field(reply, "seller_id")
                    .and_then(|v| v.as_u64())
                    .unwrap_or(0);
            }
            Operation::PutItem => {
                let number = self.next;
                self.next += 1;
                if let Some(id) =
                    json_field(reply, "item_id").and_then(|v| v.as_str().map(String::from))
                {
                    self.items.push(CatalogueItem {
                        number,
                        id,
                        category: (number % CATALOGUE_CATEGORIES) as u8,
                        keyword: self.names.keyword(number),
                        seller_id: self.seller_id,
                    });
                }
            }
            _ => {}
        }
    }
}

/// One simulated seller.
pub struct Seller {
    index: usize,
    names: RunNames,
    created: bool,
    logged_in: bool,
    session: Option<String>,
    /// Own items put during the load, oldest first, with units left.
    working: std::collections::VecDeque<(String, u32)>,
    step: usize,
    cycle: usize,
}

impl Seller {
    /// Seller number `index` of the run.
    pub fn new(index: usize, names: RunNames) -> Self {
        Seller {
            index,
            names,
            created: false,
            logged_in: false,
            session: None,
            working: Default::default(),
            step: 0,
            cycle: 0,
        }
    }

    fn credentials(&self) -> Value {
        json!({"name": format!("{}s{}", self.names.accounts, self.index), "password": "pw"})
    }

    /// The item change-price and remove-units work on: the newest own item.
    /// Before the first put succeeded there is none, and the call goes to an
    /// item id that cannot exist, so the failure shows in the report.
    fn target(&self) -> String {
        self.working
            .back()
            .map(|(id, _)| id.clone())
            .unwrap_or_else(|| "0-0".into())
    }

    fn put_request(&self) -> Request {
        let body = json!({
            "name": format!("work {} {}", self.index, self.cycle),
            "category": WORKING_CATEGORY,
            "condition": "new",
            "price": "9.99",
            "quantity": WORKING_UNITS,
            "keywords": ["bench", "work"],
        });
        post(
            Operation::PutItem,
            "/seller/items".into(),
            &self.session,
            body,
        )
    }

    fn remove_request(&self) -> Request {
        let (item, quantity) = match self.working.front() {
            Some((oldest, left)) if self.working.len() > WORKING_ITEMS_MAX => {
                (oldest.clone(), *left)
            }
            _ => (self.target(), 1),
        };
        post(
            Operation::RemoveUnits,
            format!("/seller/items/{item}/remove"),
            &self.session,
            json!({ "quantity": quantity }),
        )
    }

    fn observe_removal(&mut self, request: &Request) {
        let Some(body) = &request.body else { return };
        let quantity = serde_json::from_str::<Value>(body)
            .ok()
            .and_then(|v| v["quantity"].as_u64())
            .unwrap_or(0) as u32;
        let item = request.path.split('/').nth(3).unwrap_or_default();
        if let Some(position) = self.working.iter().position(|(id, _)| id == item) {
            let left = &mut self.working[position].1;
            *left = left.saturating_sub(quantity);
            if *left == 0 {
                self.working.remove(position);
            }
        }
    }
}

impl ClientScript for Seller {
    fn next_setup(&mut self) -> Option<Request> {
        if !self.created {
            let body = self.credentials();
            Some(post(
                Operation::SellerCreateAccount,
                "/seller/accounts".into(),
                &None,
                body,
            ))
        } else if !self.logged_in {
            let body = self.credentials();
            Some(post(
                Operation::SellerLogin,
                "/seller/login".into(),
                &None,
                body,
            ))
        } else {
            None
        }
    }

    fn next_load(&mut self) -> Request {
        match self.step {
            0 => self.put_request(),
            1 => Request {
                op: Operation::ChangePrice,
                method: "PUT",
                path: format!("/seller/items/{}/price", self.target()),
                session: self.session.clone(),
                body: Some(json!({ "price": format!("10.{:02}", self.cycle % 100) }).to_string()),
            },
            2 => self.remove_request(),
            3 => get(Operation::ListItems, "/seller/items".into(), &self.session),
            _ => get(Operation::OwnRating, "/seller/rating".into(), &self.session),
        }
    }

    fn finish(&mut self) -> Option<Request> {
        let session = self.session.take()?;
        Some(post(
            Operation::SellerLogout,
            "/seller/logout".into(),
            &Some(session),
            json!({}),
        ))
    }

    fn observe(&mut self, request: &Request, reply: &Reply) {
        match request.op {
            Operation::SellerCreateAccount => self.created = true,
            Operation::SellerLogin => {
                self.session =
                    json_field(reply, "session").and_then(|s| s.as_str().map(String::from));
                // Without a session the seller's calls fail, and show as errors.
                self.logged_in = true;
            }
            op => {
                if op == Operation::PutItem {
                    if let Some(id) =
                        json_field(reply, "item_id").and_then(|v| v.as_str().map(String::from))
                    {
                        self.working.push_back((id, WORKING_UNITS));
                    }
                }
                if op == Operation::RemoveUnits && matches!(reply, Reply::Ok(_)) {
                    self.observe_removal(request);
                }
                self.step = (self.step + 1) % 5;
                if self.step == 0 {
                    self.cycle += 1;
                }
            }
        }
    }
}

/// A buyer's place in its cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BuyerStep {
    Search,
    GetItem,
    AddTwo,
    RemoveOne,
    ShowCart,
    Save,
    Clear,
    AddOne,
    Purchase,
    Feedback,
    SellerRating,
    History,
}

impl BuyerStep {
    fn next(self) -> BuyerStep {
        use BuyerStep::*;
        match self {
            Search => GetItem,
            GetItem => AddTwo,
            AddTwo => RemoveOne,
            RemoveOne => ShowCart,
            ShowCart => Save,
            Save => Clear,
            Clear => AddOne,
            AddOne => Purchase,
            Purchase => Feedback,
            Feedback => SellerRating,
            SellerRating => History,
            History => Search,
        }
    }
}

/// One simulated buyer.
pub struct Buyer {
    index: usize,
    names: RunNames,
    session: Option<String>,
    logged_in: bool,
    created: bool,
    catalogue: Vec<CatalogueItem>,
    step: BuyerStep,
    cycle: usize,
    purchase_tries: u32,
    bought: bool,
}

impl Buyer {
    /// Buyer number `index` of the run.
    pub fn new(index: usize, names: RunNames) -> Self {
        Buyer {
            index,
            names,
            session: None,
            logged_in: false,
            created: false,
            catalogue: Vec::new(),
            step: BuyerStep::Search,
            cycle: 0,
            purchase_tries: 0,
            bought: false,
        }
    }

    fn credentials(&self) -> Value {
        json!({"name": format!("{}b{}", self.names.accounts, self.index), "password": "pw"})
    }

    /// This cycle's item: buyers start at different places and move one
    /// item per cycle, so no buyer meets the same item twice (the catalogue
    /// has more items than a buyer has cycles) and load spreads over items.
    fn item(&self) -> Option<&CatalogueItem> {
        let len = self.catalogue.len();
        (len > 0).then(|| &self.catalogue[(self.index * 7 + self.cycle) % len])
    }

    fn cart_change(&self, op: Operation, path: &str, item: &str, quantity: u32) -> Request {
        post(
            op,
            path.into(),
            &self.session,
            json!({"item_id": item, "quantity": quantity}),
        )
    }

    fn request_for(&self, step: BuyerStep, item: &CatalogueItem) -> Request {
        let s = &self.session;
        match step {
            BuyerStep::Search => {
                let next = &self.catalogue[(item.number + 1) % self.catalogue.len()];
                let path = format!(
                    "/buyer/items?category={}&keywords={},{}",
                    item.category, item.keyword, next.keyword
                );
                get(Operation::Search, path, s)
            }
            BuyerStep::GetItem => get(Operation::GetItem, format!("/buyer/items/{}", item.id), s),
            BuyerStep::AddTwo => {
                self.cart_change(Operation::AddToCart, "/buyer/cart/add", &item.id, 2)
            }
            BuyerStep::RemoveOne => {
                self.cart_change(Operation::RemoveFromCart, "/buyer/cart/remove", &item.id, 1)
            }
            BuyerStep::ShowCart => get(Operation::ShowCart, "/buyer/cart".into(), s),
            BuyerStep::Save => post(Operation::SaveCart, "/buyer/cart/save".into(), s, json!({})),
            BuyerStep::Clear => post(
                Operation::ClearCart,
                "/buyer/cart/clear".into(),
                s,
                json!({}),
            ),
            BuyerStep::AddOne => {
                self.cart_change(Operation::AddToCart, "/buyer/cart/add", &item.id, 1)
            }
            BuyerStep::Purchase => {
                let body = json!({
                    "card_holder": format!("Bench Buyer {}", self.index),
                    "card_number": CARD.0,
                    "expiry": CARD.1,
                });
                post(Operation::Purchase, "/buyer/purchase".into(), s, body)
            }
            BuyerStep::Feedback => {
                let thumb = if self.cycle.is_multiple_of(2) {
                    "up"
                } else {
                    "down"
                };
                let body = json!({"item_id": item.id, "thumb": thumb});
                post(Operation::Feedback, "/buyer/feedback".into(), s, body)
            }
            BuyerStep::SellerRating => get(
                Operation::SellerRating,
                format!("/buyer/sellers/{}/rating", item.seller_id),
                s,
            ),
            BuyerStep::History => get(Operation::History, "/buyer/history".into(), s),
        }
    }

    fn advance(&mut self) {
        self.step = self.step.next();
        if self.step == BuyerStep::Search {
            self.cycle += 1;
            self.bought = false;
        }
        self.purchase_tries = 0;
    }
}

impl ClientScript for Buyer {
    fn next_setup(&mut self) -> Option<Request> {
        if !self.created {
            Some(post(
                Operation::BuyerCreateAccount,
                "/buyer/accounts".into(),
                &None,
                self.credentials(),
            ))
        } else if !self.logged_in {
            Some(post(
                Operation::BuyerLogin,
                "/buyer/login".into(),
                &None,
                self.credentials(),
            ))
        } else {
            None
        }
    }

    fn start_load(&mut self, catalogue: &[CatalogueItem]) {
        self.catalogue = catalogue.to_vec();
        self.catalogue.sort_by_key(|c| c.number);
        // Renumber densely: an item whose seed put failed leaves no hole.
        for (n, item) in self.catalogue.iter_mut().enumerate() {
            item.number = n;
        }
    }

    fn next_load(&mut self) -> Request {
        // Feedback is allowed only on an item bought in this cycle.
        if self.step == BuyerStep::Feedback && !self.bought {
            self.advance();
        }
        match self.item() {
            Some(item) => self.request_for(self.step, item),
            // No catalogue (its puts failed): history needs none.
            None => get(Operation::History, "/buyer/history".into(), &self.session),
        }
    }

    fn finish(&mut self) -> Option<Request> {
        let session = self.session.take()?;
        Some(post(
            Operation::BuyerLogout,
            "/buyer/logout".into(),
            &Some(session),
            json!({}),
        ))
    }

    fn observe(&mut self, request: &Request, reply: &Reply) {
        match request.op {
            Operation::BuyerCreateAccount => self.created = true,
            Operation::BuyerLogin => {
                self.session =
                    json_field(reply, "session").and_then(|s| s.as_str().map(String::from));
                // Without a session there is nothing to do; setup still ends.
                self.logged_in = true;
            }
            Operation::Purchase => match reply {
                Reply::Ok(_) => {
                    self.bought = true;
                    self.advance();
                }
                Reply::Business("card_declined")
                    if self.purchase_tries + 1 < PURCHASE_TRIES_MAX =>
                {
                    // Same step again: a new purchase under a new request id.
                    self.purchase_tries += 1;
                }
                _ => self.advance(),
            },
            _ if self.item().is_none() => {}
            _ => self.advance(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> RunNames {
        RunNames {
            accounts: "t".into(),
            keywords: "abc".into(),
        }
    }

    #[test]
    fn every_operation_has_a_distinct_name_per_role() {
        let mut seen = std::collections::HashSet::new();
        for op in Operation::ALL {
            assert!(seen.insert((op.role(), op.name())), "{op:?}");
            assert_eq!(Operation::ALL[op.index()], *op);
        }
    }

    #[test]
    fn the_catalogue_outlasts_every_buyer_cycle() {
        for calls in [1, 20, 100, 1000] {
            assert!(
                catalogue_size(calls) > calls.div_ceil(BUYER_CYCLE_CALLS),
                "{calls}"
            );
        }
    }

    #[test]
    fn the_catalogue_seller_puts_every_item_once() {
        let mut catalogue = CatalogueSeller::new(names(), 3);
        while let Some(request) = catalogue.next_setup() {
            let reply = match request.op {
                Operation::SellerLogin => Reply::Ok(r#"{"session": "s", "seller_id": 4}"#.into()),
                Operation::PutItem => {
                    Reply::Ok(format!(r#"{{"item_id": "1-{}"}}"#, catalogue.next))
                }
                _ => Reply::Ok("{}".into()),
            };
            catalogue.observe(&request, &reply);
        }
        let ids: Vec<&str> = catalogue.items().iter().map(|i| i.id.as_str()).collect();
        assert_eq!(ids, ["1-0", "1-1", "1-2"]);
        assert!(catalogue.items().iter().all(|i| i.seller_id == 4));
    }

    #[test]
    fn a_buyer_cycle_covers_every_buyer_operation() {
        let mut buyer = Buyer::new(0, names());
        buyer.session = Some("s".into());
        let item = |n: usize| CatalogueItem {
            number: n,
            id: format!("{}-{}", n % 10, n + 1),
            category: (n % 10) as u8,
            keyword: format!("abc{n}"),
            seller_id: 1,
        };
        buyer.start_load(&[item(0), item(1)]);
        let mut seen = std::collections::HashSet::new();
        for _ in 0..BUYER_CYCLE_CALLS + 1 {
            let request = buyer.next_load();
            let reply = if request.op == Operation::Purchase && !seen.contains(&Operation::Purchase)
            {
                Reply::Business("card_declined")
            } else {
                Reply::Ok("{}".into())
            };
            seen.insert(request.op);
            buyer.observe(&request, &reply);
        }
        for op in Operation::ALL.iter().filter(|o| o.role() == Role::Buyer) {
            let setup = matches!(
                op,
                Operation::BuyerCreateAccount | Operation::BuyerLogin | Operation::BuyerLogout
            );
            assert_eq!(seen.contains(op), !setup, "{op:?}");
        }
    }

    #[test]
    fn a_seller_keeps_its_list_short() {
        let mut seller = Seller::new(0, names());
        seller.session = Some("s".into());
        for n in 0..100 {
            let request = seller.next_load();
            let reply = match request.op {
                Operation::PutItem => Reply::Ok(format!("{{\"item_id\": \"1-{n}\"}}")),
                _ => Reply::Ok("{}".into()),
            };
            seller.observe(&request, &reply);
        }
        assert!(seller.working.len() <= WORKING_ITEMS_MAX + 1);
    }
}
