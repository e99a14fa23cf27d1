//! The chaos run's clients: sellers that reprice, remove and list their
//! items and put up new ones; buyers that read, fill carts and buy; and a
//! second session per buyer that reads the same cart and history while the
//! first changes them. Every call is recorded in the [`History`] with what
//! it means for each object it touched.
//!
//! Two writing sessions per buyer: a purchase holds the cart from its first
//! step to its last, so the other session's cart changes (and purchases)
//! meanwhile are refused with 409, which the models take as no change; see
//! the README's note on concurrent carts.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use crate::market::ItemId;

use super::api::{Call, FrontendClient, Reply};
use super::check::ListedPurchase;
use super::history::{AckedPurchase, Effect, History, Key, Record, RunClock};
use super::models::{history_fingerprint, BuyerOp, ItemFacts, ItemOp, NameOp};
use super::ChaosError;

/// How long one call may keep failing over before it counts as unresolved.
const CALL_DEADLINE: Duration = Duration::from_secs(120);
/// Categories the catalogue uses.
const CATEGORIES: u32 = 3;
/// Units each item is put up with.
const INITIAL_UNITS: u32 = 40;
/// A seller puts up a new item when fewer of its items have units left.
const LIVE_ITEMS_PER_SELLER: usize = 4;
/// Names that buyers race to take, so some creations collide.
const RACE_NAMES: u32 = 24;

/// An item of the catalogue and whose it is.
#[derive(Clone, Debug)]
pub struct CatalogueItem {
    /// Its id.
    pub id: String,
    /// The seller (index into the sellers) who put it up.
    pub seller: usize,
}

/// An account the run created.
#[derive(Clone, Debug)]
pub struct Account {
    /// Its name.
    pub name: String,
    /// Its id.
    pub id: u64,
}

/// What every client shares.
pub struct Shared {
    /// The run's clock.
    pub clock: RunClock,
    /// The record of every call.
    pub history: History,
    /// Items put up so far.
    pub catalogue: RwLock<Vec<CatalogueItem>>,
    /// Items some client saw without units.
    pub sold_out: RwLock<HashSet<String>>,
    /// Set when the clients should stop after their current call.
    pub stop: AtomicBool,
    /// Seed of the run; request ids and names carry it.
    pub seed: u64,
}

impl Shared {
    fn items(&self) -> Vec<CatalogueItem> {
        self.catalogue
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The entries of `listed` for items whose put was acknowledged (an
    /// item put up by a call that never got its answer has no history).
    fn known(&self, mut listed: BTreeMap<String, ItemFacts>) -> BTreeMap<String, ItemFacts> {
        let catalogue = self.catalogue.read().unwrap_or_else(|e| e.into_inner());
        let known: HashSet<&str> = catalogue.iter().map(|item| item.id.as_str()).collect();
        listed.retain(|id, _| known.contains(id.as_str()));
        listed
    }

    /// Items not yet seen sold out.
    fn live_items(&self) -> Vec<CatalogueItem> {
        let sold_out = self.sold_out.read().unwrap_or_else(|e| e.into_inner());
        self.items()
            .into_iter()
            .filter(|item| !sold_out.contains(&item.id))
            .collect()
    }
}

/// One client: a session on one account, its frontends, its random stream.
pub struct Client {
    /// Its number, in request ids and reports.
    pub number: usize,
    shared: Arc<Shared>,
    api: FrontendClient,
    rng: StdRng,
    session: String,
    calls: u64,
    role: &'static str,
}

impl Client {
    /// Logs `account` in through `frontends` (`role` is `seller` or
    /// `buyer`).
    pub fn login(
        number: usize,
        shared: Arc<Shared>,
        frontends: Vec<std::net::SocketAddr>,
        role: &'static str,
        account: &Account,
    ) -> Result<Client, ChaosError> {
        let mut client = Client {
            number,
            rng: StdRng::seed_from_u64(shared.seed ^ (number as u64).wrapping_mul(0x51_7c_c1_b7)),
            shared,
            api: FrontendClient::new(frontends, number),
            session: String::new(),
            calls: 0,
            role,
        };
        let call = Call {
            method: "POST",
            path: format!("/{role}/login"),
            body: Some(json!({"name": account.name, "password": "chaos-pw"})),
            session: None,
        };
        let (reply, _, _) = client.send(&call);
        match reply {
            Some(reply) if reply.status == 200 => {
                client.session = reply.body["session"].as_str().unwrap_or("").to_string();
                Ok(client)
            }
            other => Err(ChaosError::Setup(format!(
                "{role} {} could not log in: {}",
                account.name,
                other.map_or("no answer".into(), |r| r.summary())
            ))),
        }
    }

    /// Sends one call with a fresh request id; returns the answer and the
    /// call's start and end on the run's clock.
    pub(super) fn send(&mut self, call: &Call) -> (Option<Reply>, u64, Option<u64>) {
        self.calls += 1;
        let request_id = format!("chaos-{}-{}-{}", self.shared.seed, self.number, self.calls);
        let start = self.shared.clock.now();
        let reply = self
            .api
            .send(call, &request_id, Instant::now() + CALL_DEADLINE);
        let end = reply.as_ref().map(|_| self.shared.clock.now());
        if reply.is_none() {
            let text = self.describe(call, None).to_string();
            self.shared.history.unresolved(text);
        }
        (reply, start, end)
    }

    pub(super) fn describe(&self, call: &Call, reply: Option<&Reply>) -> Arc<str> {
        let body = call
            .body
            .as_ref()
            .map_or(String::new(), |b| format!(" {b}"));
        let answer = reply.map_or("no answer".to_string(), Reply::summary);
        format!(
            "client {} ({}): {} {}{body} -> {answer}",
            self.number, self.role, call.method, call.path
        )
        .into()
    }

    pub(super) fn session_call(
        &self,
        method: &'static str,
        path: String,
        body: Option<Value>,
    ) -> Call {
        Call {
            method,
            path,
            body,
            session: Some(self.session.clone()),
        }
    }

    pub(super) fn record(
        &self,
        key: Key,
        start: u64,
        end: Option<u64>,
        text: &Arc<str>,
        effect: Effect,
    ) {
        let sold_out = matches!(
            &effect,
            Effect::Item(ItemOp::SoldOut | ItemOp::Remove { left: 0, .. })
        ) || matches!(&effect, Effect::Item(ItemOp::Read(facts)) if facts.quantity == 0);
        if let (true, Key::Item(id)) = (sold_out, &key) {
            // Stock never grows back: clients stop choosing this item.
            self.shared
                .sold_out
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .insert(id.clone());
        }
        self.shared.history.record([Record {
            key,
            call: start,
            ret: end,
            client: self.number,
            text: text.clone(),
            effect,
        }]);
    }

    pub(super) fn surprise(&self, text: Arc<str>) {
        self.shared.history.surprise(text.to_string());
    }

    fn pick_item(&mut self, seller: Option<usize>) -> Option<CatalogueItem> {
        let items: Vec<CatalogueItem> = self
            .shared
            .live_items()
            .into_iter()
            .filter(|item| seller.is_none_or(|s| item.seller == s))
            .collect();
        if items.is_empty() {
            return None;
        }
        Some(items[self.rng.gen_range(0..items.len())].clone())
    }

    fn stopping(&self) -> bool {
        self.shared.stop.load(Ordering::Relaxed)
    }
}

/// Creates an account of `role` (`seller` or `buyer`) during setup.
pub fn create_account(
    shared: &Arc<Shared>,
    frontends: Vec<std::net::SocketAddr>,
    role: &str,
    name: &str,
) -> Result<Account, ChaosError> {
    let mut api = FrontendClient::new(frontends, 0);
    let call = Call {
        method: "POST",
        path: format!("/{role}/accounts"),
        body: Some(json!({"name": name, "password": "chaos-pw"})),
        session: None,
    };
    let request_id = format!("chaos-{}-setup-{role}-{name}", shared.seed);
    match api.send(&call, &request_id, Instant::now() + CALL_DEADLINE) {
        Some(reply) if reply.status == 201 => Ok(Account {
            name: name.to_string(),
            id: reply.body[format!("{role}_id")].as_u64().unwrap_or(0),
        }),
        other => Err(ChaosError::Setup(format!(
            "cannot create {role} {name}: {}",
            other.map_or("no answer".into(), |r| r.summary())
        ))),
    }
}

/// A seller's client: reprices, removes units, lists, reads its rating and
/// now and then puts up a new item.
pub struct SellerClient {
    /// The session.
    pub client: Client,
    /// Which seller (index into the sellers).
    pub seller: usize,
}

impl SellerClient {
    /// Puts up one item and records it.
    pub fn put_item(&mut self) {
        let client = &mut self.client;
        let category = client.rng.gen_range(1..=CATEGORIES);
        let price = client.rng.gen_range(100..5000u64);
        let body = json!({
            "name": format!("chaos item {}", client.calls),
            "category": category,
            "condition": "new",
            "price": price_text(price),
            "quantity": INITIAL_UNITS,
            "keywords": ["chaos"],
        });
        let call = client.session_call("POST", "/seller/items".into(), Some(body));
        let (reply, start, end) = client.send(&call);
        client.shared.history.count_call("put-item");
        let text = client.describe(&call, reply.as_ref());
        match reply {
            Some(reply) if reply.status == 201 => {
                let id = reply.body["item_id"].as_str().unwrap_or("").to_string();
                let facts = ItemFacts {
                    quantity: INITIAL_UNITS,
                    price,
                };
                client.shared.history.item_put(&id, facts);
                client.record(
                    Key::Item(id.clone()),
                    start,
                    end,
                    &text,
                    Effect::Item(ItemOp::Put(facts)),
                );
                client
                    .shared
                    .catalogue
                    .write()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(CatalogueItem {
                        id,
                        seller: self.seller,
                    });
            }
            // Nobody learns the id of an unanswered put: the item exists or
            // not, outside every check but the units count.
            None => {}
            Some(_) => client.surprise(text),
        }
    }

    /// Runs until the run stops.
    pub fn run(mut self) {
        while !self.client.stopping() {
            if self.live_items() < LIVE_ITEMS_PER_SELLER {
                self.put_item();
                continue;
            }
            match self.client.rng.gen_range(0..100) {
                0..32 => self.set_price(),
                32..50 => self.remove_units(),
                50..88 => self.list_items(),
                88..98 => self.rating(),
                _ => self.put_item(),
            }
        }
    }

    fn live_items(&self) -> usize {
        self.client
            .shared
            .live_items()
            .iter()
            .filter(|item| item.seller == self.seller)
            .count()
    }

    fn set_price(&mut self) {
        let client = &mut self.client;
        let Some(item) = client.pick_item(Some(self.seller)) else {
            return;
        };
        let price = client.rng.gen_range(100..5000u64);
        let call = client.session_call(
            "PUT",
            format!("/seller/items/{}/price", item.id),
            Some(json!({ "price": price_text(price) })),
        );
        let (reply, start, end) = client.send(&call);
        client.shared.history.count_call("change-price");
        let text = client.describe(&call, reply.as_ref());
        let op = match &reply {
            Some(reply) if reply.status == 200 => ItemOp::SetPrice { price },
            None => ItemOp::MaybeSetPrice { price },
            Some(_) => return client.surprise(text),
        };
        client.record(Key::Item(item.id), start, end, &text, Effect::Item(op));
    }

    fn remove_units(&mut self) {
        let client = &mut self.client;
        let Some(item) = client.pick_item(Some(self.seller)) else {
            return;
        };
        let quantity = client.rng.gen_range(1..=2u32);
        let call = client.session_call(
            "POST",
            format!("/seller/items/{}/remove", item.id),
            Some(json!({ "quantity": quantity })),
        );
        let (reply, start, end) = client.send(&call);
        client.shared.history.count_call("remove-units");
        let text = client.describe(&call, reply.as_ref());
        let op = match &reply {
            Some(reply) if reply.status == 200 => match item_facts(&reply.body["item"]) {
                Some(facts) => {
                    client.shared.history.units_removed(&item.id, quantity);
                    ItemOp::Remove {
                        quantity,
                        left: facts.quantity,
                    }
                }
                None => return client.surprise(text),
            },
            Some(reply) if reply.error_kind() == "insufficient_stock" => {
                ItemOp::RemoveRefused { quantity }
            }
            None => ItemOp::MaybeRemove { quantity },
            Some(_) => return client.surprise(text),
        };
        client.record(Key::Item(item.id), start, end, &text, Effect::Item(op));
    }

    fn list_items(&mut self) {
        let client = &mut self.client;
        let call = client.session_call("GET", "/seller/items".into(), None);
        // The items of this seller put up before the call and not yet seen
        // sold out: each is either listed or sold out. (Stock never grows
        // back, so an item once seen sold out tells nothing new; were a
        // stale replica to list it again, the listing is recorded below.)
        let own: Vec<String> = client
            .shared
            .live_items()
            .into_iter()
            .filter(|item| item.seller == self.seller)
            .map(|item| item.id)
            .collect();
        let (reply, start, end) = client.send(&call);
        client.shared.history.count_call("list-items");
        let Some(reply) = reply else { return };
        let text = client.describe(&call, Some(&reply));
        if reply.status != 200 {
            return client.surprise(text);
        }
        let listed = listed_items(&reply.body["items"]);
        // A listing is one page (docs/API.md, "Paging"): the seller's first
        // items with units, by item id. When more follow (`next`), an
        // item missing from it is sold out only if it sorts before the
        // page's last item; past that, the page says nothing about it.
        let more_follow = reply.body.get("next").is_some_and(|next| !next.is_null());
        let page_end = listed
            .keys()
            .filter_map(|id| id.parse::<ItemId>().ok())
            .max();
        let on_the_page = |id: &str| {
            !more_follow
                || id
                    .parse::<ItemId>()
                    .is_ok_and(|id| page_end.is_some_and(|end| id < end))
        };
        for id in &own {
            if !listed.contains_key(id) && on_the_page(id) {
                client.record(
                    Key::Item(id.clone()),
                    start,
                    end,
                    &text,
                    Effect::Item(ItemOp::SoldOut),
                );
            }
        }
        for (id, facts) in client.shared.known(listed) {
            client.record(
                Key::Item(id),
                start,
                end,
                &text,
                Effect::Item(ItemOp::Read(facts)),
            );
        }
    }

    fn rating(&mut self) {
        self.items_sold();
    }

    /// Reads the seller's rating; returns its count of units sold.
    pub fn items_sold(&mut self) -> Option<u64> {
        let client = &mut self.client;
        let call = client.session_call("GET", "/seller/rating".into(), None);
        let (reply, _, _) = client.send(&call);
        client.shared.history.count_call("rating");
        let reply = reply?;
        match reply.body["items_sold"].as_u64() {
            Some(sold) if reply.status == 200 => Some(sold),
            _ => {
                let text = client.describe(&call, Some(&reply));
                client.surprise(text);
                None
            }
        }
    }
}

/// True if the call was refused because a purchase by another session held
/// the buyer's cart.
fn is_busy(reply: &Reply) -> bool {
    reply.status == 409
        && reply.error_kind() == "conflict"
        && reply.error_message().contains("being bought")
}

/// A buyer's client. Writers change the cart and buy; the reader, on
/// another session of the same buyer, only reads.
pub struct BuyerClient {
    /// The session.
    pub client: Client,
    /// The buyer's id.
    pub buyer: u64,
    /// Whether this session changes the cart.
    pub writer: bool,
}

impl BuyerClient {
    /// Runs until the run stops.
    pub fn run(mut self) {
        while !self.client.stopping() {
            let roll = self.client.rng.gen_range(0..100);
            if self.writer {
                match roll {
                    0..12 => self.get_item(),
                    12..20 => self.search(),
                    20..45 => self.add_to_cart(),
                    45..55 => self.remove_from_cart(),
                    55..63 => self.show_cart(),
                    63..80 => self.purchase(),
                    80..90 => self.history(),
                    90..93 => self.clear_cart(),
                    _ => self.race_for_a_name(),
                }
            } else {
                match roll {
                    0..40 => self.show_cart(),
                    40..70 => self.history(),
                    70..90 => self.get_item(),
                    _ => self.search(),
                }
            }
        }
    }

    fn record_buyer(&self, start: u64, end: Option<u64>, text: &Arc<str>, op: BuyerOp) {
        self.client
            .record(Key::Buyer(self.buyer), start, end, text, Effect::Buyer(op));
    }

    /// Reads one item.
    pub fn get_item(&mut self) {
        if let Some(item) = self.client.pick_item(None) {
            self.read_item(&item.id);
        }
    }

    /// Reads `item` and records what it saw; returns that.
    pub fn read_item(&mut self, id: &str) -> Option<ItemFacts> {
        let client = &mut self.client;
        let call = client.session_call("GET", format!("/buyer/items/{id}"), None);
        let (reply, start, end) = client.send(&call);
        client.shared.history.count_call("get-item");
        let reply = reply?;
        let text = client.describe(&call, Some(&reply));
        match (reply.status, item_facts(&reply.body["item"])) {
            (200, Some(facts)) => {
                client.record(
                    Key::Item(id.to_string()),
                    start,
                    end,
                    &text,
                    Effect::Item(ItemOp::Read(facts)),
                );
                Some(facts)
            }
            _ => {
                client.surprise(text);
                None
            }
        }
    }

    fn search(&mut self) {
        let client = &mut self.client;
        let category = client.rng.gen_range(1..=CATEGORIES);
        let call = client.session_call("GET", format!("/buyer/items?category={category}"), None);
        let (reply, start, end) = client.send(&call);
        client.shared.history.count_call("search");
        let Some(reply) = reply else { return };
        let text = client.describe(&call, Some(&reply));
        if reply.status != 200 {
            return client.surprise(text);
        }
        for (id, facts) in client.shared.known(listed_items(&reply.body["items"])) {
            client.record(
                Key::Item(id),
                start,
                end,
                &text,
                Effect::Item(ItemOp::Read(facts)),
            );
        }
    }

    fn add_to_cart(&mut self) {
        let Some(item) = self.client.pick_item(None) else {
            return;
        };
        let quantity = self.client.rng.gen_range(1..=2u32);
        let call = self.client.session_call(
            "POST",
            "/buyer/cart/add".into(),
            Some(json!({"item_id": item.id, "quantity": quantity})),
        );
        let (reply, start, end) = self.client.send(&call);
        self.client.shared.history.count_call("add-to-cart");
        let text = self.client.describe(&call, reply.as_ref());
        let op = match &reply {
            Some(reply) if reply.status == 200 => match cart_lines(&reply.body["cart"]) {
                Some(cart) => BuyerOp::Add {
                    item: item.id,
                    quantity,
                    cart,
                },
                None => return self.client.surprise(text),
            },
            Some(reply) if matches!(reply.error_kind(), "insufficient_stock" | "not_found") => {
                BuyerOp::AddRefused
            }
            Some(reply) if is_busy(reply) => BuyerOp::Busy,
            // A cart line is capped; a refusal for it changes nothing.
            Some(reply) if reply.status == 400 && reply.error_message().contains("cart line") => {
                BuyerOp::AddRefused
            }
            None => return self.client.shared.history.taint(Key::Buyer(self.buyer)),
            Some(_) => return self.client.surprise(text),
        };
        self.record_buyer(start, end, &text, op);
    }

    fn remove_from_cart(&mut self) {
        let Some(item) = self.client.pick_item(None) else {
            return;
        };
        let quantity = 1;
        let call = self.client.session_call(
            "POST",
            "/buyer/cart/remove".into(),
            Some(json!({"item_id": item.id, "quantity": quantity})),
        );
        let (reply, start, end) = self.client.send(&call);
        self.client.shared.history.count_call("remove-from-cart");
        let text = self.client.describe(&call, reply.as_ref());
        let op = match &reply {
            Some(reply) if reply.status == 200 => match cart_lines(&reply.body["cart"]) {
                Some(cart) => BuyerOp::Remove {
                    item: item.id,
                    quantity,
                    cart,
                },
                None => return self.client.surprise(text),
            },
            Some(reply) if is_busy(reply) => BuyerOp::Busy,
            Some(reply) if reply.status == 404 || reply.status == 400 => BuyerOp::RemoveRefused {
                item: item.id,
                quantity,
            },
            None => return self.client.shared.history.taint(Key::Buyer(self.buyer)),
            Some(_) => return self.client.surprise(text),
        };
        self.record_buyer(start, end, &text, op);
    }

    /// Reads the cart and records what it saw.
    pub fn show_cart(&mut self) {
        let call = self.client.session_call("GET", "/buyer/cart".into(), None);
        let (reply, start, end) = self.client.send(&call);
        self.client.shared.history.count_call("show-cart");
        let Some(reply) = reply else { return };
        let text = self.client.describe(&call, Some(&reply));
        match (reply.status, cart_lines(&reply.body["cart"])) {
            (200, Some(cart)) => self.record_buyer(start, end, &text, BuyerOp::Show { cart }),
            _ => self.client.surprise(text),
        }
    }

    fn clear_cart(&mut self) {
        let call = self
            .client
            .session_call("POST", "/buyer/cart/clear".into(), None);
        let (reply, start, end) = self.client.send(&call);
        self.client.shared.history.count_call("clear-cart");
        let text = self.client.describe(&call, reply.as_ref());
        match reply {
            Some(reply) if reply.status == 200 => {
                self.record_buyer(start, end, &text, BuyerOp::Clear)
            }
            Some(reply) if is_busy(&reply) => self.record_buyer(start, end, &text, BuyerOp::Busy),
            None => self.client.shared.history.taint(Key::Buyer(self.buyer)),
            Some(_) => self.client.surprise(text),
        }
    }

    fn purchase(&mut self) {
        let card_number = if self.client.rng.gen_bool(0.5) {
            "4111111111111111"
        } else {
            "5500000000000004"
        };
        let call = self.client.session_call(
            "POST",
            "/buyer/purchase".into(),
            Some(json!({"card_holder": "Chaos Buyer", "card_number": card_number, "expiry": "12/30"})),
        );
        let (reply, start, end) = self.client.send(&call);
        self.client.shared.history.count_call("purchase");
        let text = self.client.describe(&call, reply.as_ref());
        let Some(reply) = reply else {
            self.client.shared.history.taint(Key::Buyer(self.buyer));
            self.client.shared.history.taint_all_items();
            return;
        };
        let op = match reply.status {
            200 => {
                let purchase = &reply.body["purchase"];
                let Some(lines) = purchased_lines(&purchase["lines"]) else {
                    return self.client.surprise(text);
                };
                let mut units = BTreeMap::new();
                for (item, (quantity, price)) in &lines {
                    units.insert(item.clone(), *quantity);
                    self.client.record(
                        Key::Item(item.clone()),
                        start,
                        end,
                        &text,
                        Effect::Item(ItemOp::Buy {
                            quantity: *quantity,
                            price: *price,
                        }),
                    );
                }
                self.client.shared.history.purchase_acked(AckedPurchase {
                    buyer: self.buyer,
                    purchase_id: purchase["purchase_id"].as_str().unwrap_or("").to_string(),
                    lines: units.clone(),
                });
                BuyerOp::Purchase { lines: units }
            }
            402 | 409 if matches!(reply.error_kind(), "card_declined" | "insufficient_stock") => {
                BuyerOp::PurchaseRefused
            }
            400 if reply.error_message().contains("empty") => BuyerOp::PurchaseOfEmptyCart,
            409 if is_busy(&reply) => BuyerOp::Busy,
            _ => return self.client.surprise(text),
        };
        self.record_buyer(start, end, &text, op);
    }

    fn history(&mut self) {
        self.read_history();
    }

    /// Reads the purchase history and records it; returns each purchase's
    /// id and units per item.
    ///
    /// A history comes a page at a time. It only grows, at its end, and a
    /// recorded purchase never changes, so the pages read one after another
    /// make the whole history as the last page found it: one read, at that
    /// page's moment, which lies between the first call's start and the
    /// last call's end (the span recorded).
    pub fn read_history(&mut self) -> Option<Vec<ListedPurchase>> {
        let mut purchases: Vec<Value> = Vec::new();
        let mut path = "/buyer/history".to_string();
        let mut first_start = None;
        loop {
            let call = self.client.session_call("GET", path, None);
            let (reply, start, end) = self.client.send(&call);
            self.client.shared.history.count_call("history");
            let first_start = *first_start.get_or_insert(start);
            let reply = reply?;
            let text = self.client.describe(&call, Some(&reply));
            let page = reply.body["purchases"].as_array();
            let (200, Some(page)) = (reply.status, page) else {
                self.client.surprise(text);
                return None;
            };
            purchases.extend(page.iter().cloned());
            if let Some(next) = reply.body["next"].as_str() {
                path = format!("/buyer/history?after={next}");
                continue;
            }
            let purchases = Value::Array(purchases);
            let Some(lines) = history_lines(&purchases) else {
                self.client.surprise(text);
                return None;
            };
            let ids = purchases
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| p["purchase_id"].as_str().unwrap_or("").to_string());
            let listed = ids.zip(lines.iter().cloned()).collect();
            let op = BuyerOp::History {
                purchases: u32::try_from(lines.len()).unwrap_or(u32::MAX),
                fingerprint: history_fingerprint(&lines),
            };
            self.record_buyer(first_start, end, &text, op);
            return Some(listed);
        }
    }

    fn race_for_a_name(&mut self) {
        let client = &mut self.client;
        let name = format!("race-{}", client.rng.gen_range(0..RACE_NAMES));
        let call = Call {
            method: "POST",
            path: "/buyer/accounts".into(),
            body: Some(json!({"name": name, "password": "chaos-pw"})),
            session: None,
        };
        let (reply, start, end) = client.send(&call);
        client.shared.history.count_call("create-account");
        let text = client.describe(&call, reply.as_ref());
        let op = match &reply {
            Some(reply) if reply.status == 201 => NameOp::Created,
            Some(reply) if reply.error_kind() == "conflict" => NameOp::Taken,
            None => return client.shared.history.taint(Key::Name(name)),
            Some(_) => return client.surprise(text),
        };
        client.record(Key::Name(name), start, end, &text, Effect::Name(op));
    }
}

/// A price in cents as the API writes it.
pub fn price_text(cents: u64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

/// Cents from the API's price text.
pub fn parse_price(text: &str) -> Option<u64> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, "0"));
    let whole: u64 = whole.parse().ok()?;
    let fraction: u64 = match fraction.len() {
        1 => fraction.parse::<u64>().ok()? * 10,
        2 => fraction.parse().ok()?,
        _ => return None,
    };
    whole.checked_mul(100)?.checked_add(fraction)
}

/// An item's stock and price from its JSON.
pub fn item_facts(item: &Value) -> Option<ItemFacts> {
    Some(ItemFacts {
        quantity: u32::try_from(item["quantity"].as_u64()?).ok()?,
        price: parse_price(item["price"].as_str()?)?,
    })
}

/// The items of a list, by id.
pub fn listed_items(items: &Value) -> BTreeMap<String, ItemFacts> {
    items
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|item| Some((item["id"].as_str()?.to_string(), item_facts(item)?)))
                .collect()
        })
        .unwrap_or_default()
}

/// A cart's lines, by item.
pub fn cart_lines(cart: &Value) -> Option<BTreeMap<String, u32>> {
    cart.as_array()?
        .iter()
        .map(|line| {
            Some((
                line["item_id"].as_str()?.to_string(),
                u32::try_from(line["quantity"].as_u64()?).ok()?,
            ))
        })
        .collect()
}

/// A purchase's lines: units and price per item.
pub fn purchased_lines(lines: &Value) -> Option<BTreeMap<String, (u32, u64)>> {
    lines
        .as_array()?
        .iter()
        .map(|line| {
            Some((
                line["item_id"].as_str()?.to_string(),
                (
                    u32::try_from(line["quantity"].as_u64()?).ok()?,
                    parse_price(line["price"].as_str()?)?,
                ),
            ))
        })
        .collect()
}

/// A history's purchases as units per item, oldest first.
pub fn history_lines(purchases: &Value) -> Option<Vec<BTreeMap<String, u32>>> {
    purchases
        .as_array()?
        .iter()
        .map(|purchase| {
            purchased_lines(&purchase["lines"])
                .map(|lines| lines.into_iter().map(|(item, (q, _))| (item, q)).collect())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_read_as_the_api_writes_them() {
        assert_eq!(parse_price("12.50"), Some(1250));
        assert_eq!(parse_price("12.5"), Some(1250));
        assert_eq!(parse_price("7"), Some(700));
        assert_eq!(parse_price("1.234"), None);
        assert_eq!(parse_price("x"), None);
        assert_eq!(price_text(1205), "12.05");
    }

    #[test]
    fn replies_become_model_values() {
        let item = json!({"id": "1-2", "quantity": 3, "price": "1.00"});
        assert_eq!(
            item_facts(&item),
            Some(ItemFacts {
                quantity: 3,
                price: 100
            })
        );
        let cart = json!([{"item_id": "1-2", "quantity": 2}]);
        assert_eq!(cart_lines(&cart).unwrap()["1-2"], 2);
        let history = json!([{"lines": [{"item_id": "1-2", "quantity": 2, "price": "1.00"}]}]);
        assert_eq!(history_lines(&history).unwrap()[0]["1-2"], 2);
        assert_eq!(cart_lines(&json!([{"item_id": 5}])), None);
    }
}
