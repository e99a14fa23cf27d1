//! Tests of the customer state machine through `CustomerState::apply`, at
//! least one per rule in `state.rs`. Each test opens with what it checks.
//! After every request the state's invariants are checked too.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::{CustomerCommand, CustomerOutcome, CustomerRequest, CustomerResult, CustomerState};
use crate::market::{
    limits, Category, ItemId, MarketError, Price, PurchasedLine, Rating, RequestId, Role,
    SessionToken, Thumb,
};

const TIMEOUT_MS: u64 = 1_000;
const PASSWORD: &str = "secret";

use CustomerCommand as Command;
use CustomerOutcome as Outcome;

/// One state machine, a clock, and counters for fresh request ids and
/// session tokens.
struct Replica {
    state: CustomerState,
    now_ms: u64,
    /// Which replica read `now_ms` (`None`: one clock for everything).
    read_by: Option<u16>,
    requests: u64,
    tokens: u64,
}

impl Replica {
    fn new() -> Self {
        Replica::with_session_timeout(TIMEOUT_MS)
    }

    fn with_session_timeout(timeout_ms: u64) -> Self {
        Replica {
            state: CustomerState::new(timeout_ms),
            now_ms: 0,
            read_by: None,
            requests: 0,
            tokens: 0,
        }
    }

    /// Applies `command` at the current time with a fresh request id.
    fn run(&mut self, command: CustomerCommand) -> CustomerResult {
        self.requests += 1;
        let request_id = format!("request-{}", self.requests);
        self.run_as(&request_id, command)
    }

    /// Applies `command` with the given request id.
    fn run_as(&mut self, request_id: &str, command: CustomerCommand) -> CustomerResult {
        let request = CustomerRequest {
            request_id: RequestId(request_id.to_string()),
            now_ms: self.now_ms,
            read_by: self.read_by,
            command,
        };
        let result = self.state.apply(&request);
        self.state.assert_invariants();
        result
    }

    fn at(&mut self, now_ms: u64) -> &mut Self {
        self.now_ms = now_ms;
        self
    }

    /// The next requests arrive at replica `read_by`, whose clock reads
    /// `now_ms`.
    fn read_by(&mut self, read_by: u16, now_ms: u64) -> &mut Self {
        self.read_by = Some(read_by);
        self.now_ms = now_ms;
        self
    }

    fn create(&mut self, role: Role, name: &str) -> u64 {
        let command = Command::CreateAccount {
            role,
            name: name.to_string(),
            password: PASSWORD.to_string(),
        };
        match self.run(command) {
            Ok(Outcome::AccountCreated { id }) => id,
            other => panic!("create {role} {name}: {other:?}"),
        }
    }

    fn log_in(&mut self, role: Role, name: &str) -> SessionToken {
        self.tokens += 1;
        let token = SessionToken(format!("token-{}", self.tokens));
        let command = Command::Login {
            role,
            name: name.to_string(),
            password: PASSWORD.to_string(),
            token: token.clone(),
        };
        match self.run(command) {
            Ok(Outcome::LoggedIn { session, .. }) => session,
            other => panic!("log in {role} {name}: {other:?}"),
        }
    }

    /// A new seller, logged in.
    fn seller(&mut self, name: &str) -> (u64, SessionToken) {
        (
            self.create(Role::Seller, name),
            self.log_in(Role::Seller, name),
        )
    }

    /// A new buyer, logged in.
    fn buyer(&mut self, name: &str) -> (u64, SessionToken) {
        (
            self.create(Role::Buyer, name),
            self.log_in(Role::Buyer, name),
        )
    }

    fn touch(&mut self, role: Role, session: &SessionToken) -> CustomerResult {
        self.run(Command::Touch {
            role,
            session: session.clone(),
        })
    }

    fn log_out(&mut self, role: Role, session: &SessionToken) -> CustomerResult {
        self.run(Command::Logout {
            role,
            session: session.clone(),
        })
    }

    fn add(&mut self, session: &SessionToken, number: u64, quantity: u32) -> CustomerResult {
        self.add_with_stock(session, number, quantity, 100)
    }

    fn add_with_stock(
        &mut self,
        session: &SessionToken,
        number: u64,
        quantity: u32,
        available: u32,
    ) -> CustomerResult {
        let session = session.clone();
        self.run(Command::CartAdd {
            session,
            item: item(number),
            quantity,
            available,
        })
    }

    fn remove(&mut self, session: &SessionToken, number: u64, quantity: u32) -> CustomerResult {
        self.run(Command::CartRemove {
            session: session.clone(),
            item: item(number),
            quantity,
        })
    }

    fn save(&mut self, session: &SessionToken) -> CustomerResult {
        self.run(Command::CartSave {
            session: session.clone(),
        })
    }

    /// The cart as `(item number, quantity)` pairs.
    fn cart(&mut self, session: &SessionToken) -> Vec<(u64, u32)> {
        match self.run(Command::CartShow {
            session: session.clone(),
        }) {
            Ok(Outcome::Cart(lines)) => lines
                .iter()
                .map(|line| (line.item.number, line.quantity))
                .collect(),
            other => panic!("show cart: {other:?}"),
        }
    }

    /// A purchase's first step as a frontend sends it: under the
    /// purchase's own id.
    fn begin_as_sent(&mut self, session: &SessionToken, purchase: &str) -> CustomerResult {
        let command = Command::BeginPurchase {
            session: session.clone(),
            purchase: RequestId(purchase.to_string()),
        };
        self.run_as(purchase, command)
    }

    fn begin(&mut self, session: &SessionToken, purchase: &str) -> CustomerResult {
        let purchase = RequestId(purchase.to_string());
        self.run(Command::BeginPurchase {
            session: session.clone(),
            purchase,
        })
    }

    fn complete(
        &mut self,
        buyer: u64,
        purchase: &str,
        lines: Vec<PurchasedLine>,
    ) -> CustomerResult {
        let purchase = RequestId(purchase.to_string());
        self.run(Command::CompletePurchase {
            buyer,
            purchase,
            lines,
        })
    }

    fn feedback(&mut self, session: &SessionToken, number: u64, thumb: Thumb) -> CustomerResult {
        self.run(Command::Feedback {
            session: session.clone(),
            item: item(number),
            thumb,
        })
    }

    fn own_rating(&mut self, session: &SessionToken) -> CustomerResult {
        self.run(Command::OwnRating {
            session: session.clone(),
        })
    }

    fn history(&mut self, session: &SessionToken) -> Vec<String> {
        match self.run(Command::History {
            session: session.clone(),
            page: Default::default(),
        }) {
            Ok(Outcome::History { purchases, .. }) => purchases
                .into_iter()
                .map(|record| record.purchase.0)
                .collect(),
            other => panic!("history: {other:?}"),
        }
    }
}

/// Item `1-<number>`.
fn item(number: u64) -> ItemId {
    ItemId {
        category: Category::new(1).expect("1 is a category"),
        number,
    }
}

/// A purchased line of `quantity` units of item `1-<number>` sold by `seller`.
fn line(number: u64, seller: u64, quantity: u32) -> PurchasedLine {
    PurchasedLine {
        item: item(number),
        name: format!("thing {number}"),
        quantity,
        price: Price::from_cents(250).expect("a valid price"),
        seller,
    }
}

fn is_unauthenticated(result: &CustomerResult) -> bool {
    matches!(result, Err(MarketError::Unauthenticated(_)))
}

fn is_invalid(result: &CustomerResult) -> bool {
    matches!(result, Err(MarketError::InvalidInput(_)))
}

// Accounts.

#[test]
fn account_ids_count_from_one_separately_per_role() {
    // Ids are per role: the first seller and the first buyer are both 1.
    let mut replica = Replica::new();
    assert_eq!(replica.create(Role::Seller, "sam"), 1);
    assert_eq!(replica.create(Role::Seller, "sue"), 2);
    assert_eq!(replica.create(Role::Buyer, "bea"), 1);
    assert_eq!(replica.create(Role::Buyer, "bo"), 2);
}

#[test]
fn create_account_checks_name_and_password_limits() {
    // Every limit refuses with InvalidInput and changes nothing; the
    // longest allowed name and password are accepted.
    let mut replica = Replica::new();
    let long_name = "n".repeat(limits::NAME_CHARS_MAX + 1);
    let long_password = "p".repeat(limits::PASSWORD_CHARS_MAX + 1);
    let bad = [
        ("", PASSWORD),
        ("   ", PASSWORD),
        ("line\nbreak", PASSWORD),
        (long_name.as_str(), PASSWORD),
        ("ann", ""),
        ("ann", "tab\there"),
        ("ann", long_password.as_str()),
    ];
    for (name, password) in bad {
        let command = Command::CreateAccount {
            role: Role::Buyer,
            name: name.to_string(),
            password: password.to_string(),
        };
        assert!(
            is_invalid(&replica.run(command)),
            "{name:?} / {password:?} accepted"
        );
    }
    let longest_name = "n".repeat(limits::NAME_CHARS_MAX);
    let command = Command::CreateAccount {
        role: Role::Buyer,
        name: longest_name,
        password: "p".repeat(limits::PASSWORD_CHARS_MAX),
    };
    assert_eq!(replica.run(command), Ok(Outcome::AccountCreated { id: 1 }));
}

#[test]
fn names_are_unique_per_role() {
    // A second buyer "ann" is a conflict; a seller "ann" is fine.
    let mut replica = Replica::new();
    replica.create(Role::Buyer, "ann");
    let again = Command::CreateAccount {
        role: Role::Buyer,
        name: "ann".to_string(),
        password: "other".to_string(),
    };
    assert_eq!(
        replica.run(again),
        Err(MarketError::Conflict(
            "buyer name \"ann\" is taken".to_string()
        ))
    );
    assert_eq!(replica.create(Role::Seller, "ann"), 1);
    assert_eq!(
        replica.create(Role::Buyer, "bob"),
        2,
        "the refused account took no id"
    );
}

#[test]
fn login_refuses_unknown_names_and_wrong_passwords_alike() {
    // Both get the same error, so a caller cannot tell which names exist;
    // names are looked up in the login's role only.
    let mut replica = Replica::new();
    replica.create(Role::Buyer, "ann");
    let login = |name: &str, password: &str, role: Role| Command::Login {
        role,
        name: name.to_string(),
        password: password.to_string(),
        token: SessionToken("t1".to_string()),
    };
    let expected = Err(MarketError::Unauthenticated(
        "wrong user name or password".to_string(),
    ));
    assert_eq!(
        replica.run(login("nobody", PASSWORD, Role::Buyer)),
        expected
    );
    assert_eq!(replica.run(login("ann", "wrong", Role::Buyer)), expected);
    assert_eq!(replica.run(login("ann", PASSWORD, Role::Seller)), expected);
    let logged_in = replica.run(login("ann", PASSWORD, Role::Buyer));
    let session = SessionToken("t1".to_string());
    assert_eq!(logged_in, Ok(Outcome::LoggedIn { session, user: 1 }));
}

#[test]
fn a_user_may_hold_many_sessions() {
    // Two logins give two live sessions of the same user; ending one
    // leaves the other.
    let mut replica = Replica::new();
    let (buyer, first) = replica.buyer("ann");
    let second = replica.log_in(Role::Buyer, "ann");
    assert_ne!(first, second);
    assert_eq!(
        replica.touch(Role::Buyer, &first),
        Ok(Outcome::Session { user: buyer })
    );
    assert_eq!(replica.log_out(Role::Buyer, &first), Ok(Outcome::Done));
    assert!(is_unauthenticated(&replica.touch(Role::Buyer, &first)));
    assert_eq!(
        replica.touch(Role::Buyer, &second),
        Ok(Outcome::Session { user: buyer })
    );
}

#[test]
fn login_refuses_a_token_in_use_or_malformed() {
    // A token already naming a session (of either role) is a conflict; an
    // empty or oversized token is invalid. Neither opens a session.
    let mut replica = Replica::new();
    let (_, seller_session) = replica.seller("sam");
    replica.create(Role::Buyer, "ann");
    let login = |token: &str| Command::Login {
        role: Role::Buyer,
        name: "ann".to_string(),
        password: PASSWORD.to_string(),
        token: SessionToken(token.to_string()),
    };
    let clash = replica.run(login(&seller_session.0));
    assert_eq!(
        clash,
        Err(MarketError::Conflict(
            "session token already in use".to_string()
        ))
    );
    assert!(is_invalid(&replica.run(login(""))));
    assert!(is_invalid(&replica.run(login(&"x".repeat(65)))));
    assert!(is_unauthenticated(
        &replica.touch(Role::Buyer, &seller_session)
    ));
}

// Sessions.

#[test]
fn a_session_expires_exactly_when_idle_for_the_timeout() {
    // last activity + timeout <= now ends a session: at 999 ms idle it is
    // live, at 1000 ms it is gone.
    let mut replica = Replica::new();
    let (_, early) = replica.buyer("ann");
    let late = replica.log_in(Role::Buyer, "ann");
    replica.at(TIMEOUT_MS - 1);
    assert!(
        replica.touch(Role::Buyer, &late).is_ok(),
        "idle 999 ms: live"
    );
    replica.at(TIMEOUT_MS);
    let expired = replica.touch(Role::Buyer, &early);
    let message = "unknown or expired session; log in again".to_string();
    assert_eq!(expired, Err(MarketError::Unauthenticated(message)));
    assert!(
        replica.touch(Role::Buyer, &late).is_ok(),
        "touched at 999: live until 1999"
    );
    replica.at(2 * TIMEOUT_MS - 1);
    assert!(replica.touch(Role::Buyer, &late).is_ok());
}

#[test]
fn clocks_ahead_by_the_timeout_end_no_session_until_a_majority_has_passed_it() {
    // The time the replicas agree on is the median of their latest clock
    // readings (TIMEOUT_MS = 1000 here). Replicas 3 and 4 read clocks five
    // timeouts ahead: their requests end no session. A session ends when a
    // third clock has passed its last use by the timeout.
    let mut replica = Replica::new();
    for member in 0..5 {
        replica
            .read_by(member, 100)
            .run(CustomerCommand::ClockReading)
            .unwrap();
    }
    let (_, session) = replica.buyer("ann");
    replica.read_by(4, 100 + 5 * TIMEOUT_MS);
    assert!(
        replica.touch(Role::Buyer, &session).is_ok(),
        "one clock ahead"
    );
    replica.read_by(3, 100 + 5 * TIMEOUT_MS);
    assert!(
        replica.touch(Role::Buyer, &session).is_ok(),
        "two clocks ahead"
    );
    replica.read_by(0, 1_099);
    assert!(
        replica.touch(Role::Buyer, &session).is_ok(),
        "idle 999 ms by the median"
    );
    replica.read_by(1, 2_098);
    assert!(
        replica.touch(Role::Buyer, &session).is_ok(),
        "idle 999 ms again"
    );
    replica.read_by(2, 3_098);
    assert!(
        is_unauthenticated(&replica.touch(Role::Buyer, &session)),
        "the median is a timeout past the last use: ended"
    );
}

#[test]
fn a_clock_reading_changes_nothing_but_the_time_and_is_not_logged() {
    let without_clock = |state: &CustomerState| {
        let mut value = serde_json::to_value(state).unwrap();
        value.as_object_mut().unwrap().remove("clock");
        value
    };
    let mut replica = Replica::new();
    let (_, session) = replica.buyer("ann");
    replica.add(&session, 1, 1).unwrap();
    let before = replica.state.clone();
    replica
        .read_by(0, 10)
        .run(CustomerCommand::ClockReading)
        .unwrap();
    assert_eq!(without_clock(&before), without_clock(&replica.state));
}

#[test]
fn every_command_on_a_session_counts_as_activity() {
    // Reads, writes, and commands that fail after the session check all
    // keep the session alive.
    let mut replica = Replica::new();
    let (_, session) = replica.buyer("ann");
    replica.at(900);
    replica.cart(&session);
    replica.at(1_800);
    let absent = replica.remove(&session, 7, 1);
    assert!(
        matches!(absent, Err(MarketError::NotFound(_))),
        "{absent:?}"
    );
    replica.at(2_700);
    assert!(replica.add(&session, 1, 1).is_ok());
    replica.at(3_699);
    assert!(replica.touch(Role::Buyer, &session).is_ok());
    replica.at(4_699);
    assert!(is_unauthenticated(&replica.touch(Role::Buyer, &session)));
}

#[test]
fn time_going_back_never_shortens_a_session() {
    // A request stamped earlier than the last activity (another replica's
    // clock) does not move the activity back.
    let mut replica = Replica::new();
    let (_, session) = replica.buyer("ann");
    replica.at(500);
    assert!(replica.touch(Role::Buyer, &session).is_ok());
    replica.at(100);
    assert!(replica.touch(Role::Buyer, &session).is_ok());
    replica.at(1_499);
    assert!(
        replica.touch(Role::Buyer, &session).is_ok(),
        "still last active at 500"
    );
}

#[test]
fn logout_ends_the_session() {
    // After logout the token is unknown, and a second logout is refused.
    let mut replica = Replica::new();
    let (_, session) = replica.seller("sam");
    assert_eq!(replica.log_out(Role::Seller, &session), Ok(Outcome::Done));
    assert!(is_unauthenticated(&replica.touch(Role::Seller, &session)));
    assert!(is_unauthenticated(&replica.log_out(Role::Seller, &session)));
}

#[test]
fn a_session_works_only_for_its_own_role() {
    // A buyer's token with a seller command, or the other way round, is
    // refused as if unknown, and the session survives the attempt.
    let mut replica = Replica::new();
    let (_, seller) = replica.seller("sam");
    let (_, buyer) = replica.buyer("ann");
    let as_seller = [
        Command::OwnRating {
            session: buyer.clone(),
        },
        Command::Touch {
            role: Role::Seller,
            session: buyer.clone(),
        },
        Command::Logout {
            role: Role::Seller,
            session: buyer.clone(),
        },
    ];
    let as_buyer = [
        Command::Touch {
            role: Role::Buyer,
            session: seller.clone(),
        },
        Command::Logout {
            role: Role::Buyer,
            session: seller.clone(),
        },
        Command::SellerRating {
            session: seller.clone(),
            seller: 1,
        },
        Command::CartAdd {
            session: seller.clone(),
            item: item(1),
            quantity: 1,
            available: 9,
        },
        Command::CartRemove {
            session: seller.clone(),
            item: item(1),
            quantity: 1,
        },
        Command::CartSave {
            session: seller.clone(),
        },
        Command::CartClear {
            session: seller.clone(),
        },
        Command::CartShow {
            session: seller.clone(),
        },
        Command::BeginPurchase {
            session: seller.clone(),
            purchase: RequestId("p".into()),
        },
        Command::Feedback {
            session: seller.clone(),
            item: item(1),
            thumb: Thumb::Up,
        },
        Command::History {
            session: seller.clone(),
            page: Default::default(),
        },
    ];
    for command in as_seller.into_iter().chain(as_buyer) {
        let description = format!("{command:?}");
        assert!(
            is_unauthenticated(&replica.run(command)),
            "{description} accepted"
        );
    }
    assert!(replica.touch(Role::Seller, &seller).is_ok());
    assert!(replica.touch(Role::Buyer, &buyer).is_ok());
}

// Carts.

#[test]
fn cart_add_checks_the_quantity_limits() {
    // 0 and more than QUANTITY_MAX units are refused; the cart is unchanged.
    let mut replica = Replica::new();
    let (_, session) = replica.buyer("ann");
    let plenty = u32::MAX;
    assert!(is_invalid(&replica.add_with_stock(&session, 1, 0, plenty)));
    let too_many = limits::QUANTITY_MAX + 1;
    assert!(is_invalid(
        &replica.add_with_stock(&session, 1, too_many, plenty)
    ));
    assert!(replica.cart(&session).is_empty());
    let most = limits::QUANTITY_MAX;
    assert!(replica.add_with_stock(&session, 1, most, plenty).is_ok());
    assert!(
        is_invalid(&replica.add_with_stock(&session, 1, 1, plenty)),
        "line over the max"
    );
}

#[test]
fn cart_add_never_goes_past_the_available_stock() {
    // The line's total, not just the units added, is checked against stock.
    let mut replica = Replica::new();
    let (_, session) = replica.buyer("ann");
    assert!(replica.add_with_stock(&session, 1, 3, 5).is_ok());
    let short = replica.add_with_stock(&session, 1, 3, 5);
    let expected = MarketError::InsufficientStock {
        item: "1-1".to_string(),
        available: 5,
        requested: 6,
    };
    assert_eq!(short, Err(expected));
    assert_eq!(replica.cart(&session), [(1, 3)]);
    assert!(
        replica.add_with_stock(&session, 1, 2, 5).is_ok(),
        "exactly the stock is fine"
    );
    assert_eq!(replica.cart(&session), [(1, 5)]);
}

#[test]
fn cart_lines_are_merged_and_ordered_by_item() {
    // Adding an item twice makes one line; lines come in item order.
    let mut replica = Replica::new();
    let (_, session) = replica.buyer("ann");
    replica.add(&session, 9, 1).expect("in stock");
    replica.add(&session, 2, 2).expect("in stock");
    let result = replica.add(&session, 9, 3);
    let Ok(Outcome::Cart(lines)) = result else {
        panic!("cart add: {result:?}")
    };
    let lines: Vec<(u64, u32)> = lines.iter().map(|l| (l.item.number, l.quantity)).collect();
    assert_eq!(lines, [(2, 2), (9, 4)]);
}

#[test]
fn a_cart_holds_at_most_cart_lines_max_items() {
    // A new item beyond the limit is refused; more units of an item already
    // in the full cart are fine.
    let mut replica = Replica::new();
    let (_, session) = replica.buyer("ann");
    for number in 1..=limits::CART_LINES_MAX as u64 {
        replica.add(&session, number, 1).expect("room in the cart");
    }
    let extra = limits::CART_LINES_MAX as u64 + 1;
    assert!(is_invalid(&replica.add(&session, extra, 1)));
    assert!(replica.add(&session, 1, 1).is_ok());
    assert_eq!(replica.cart(&session).len(), limits::CART_LINES_MAX);
}

#[test]
fn cart_remove_takes_units_out() {
    // Unknown item: NotFound; too many units or 0: InvalidInput; a line
    // reaching 0 goes.
    let mut replica = Replica::new();
    let (_, session) = replica.buyer("ann");
    replica.add(&session, 1, 2).expect("in stock");
    replica.add(&session, 2, 1).expect("in stock");
    let absent = replica.remove(&session, 3, 1);
    let message = "item 1-3 is not in the cart".to_string();
    assert_eq!(absent, Err(MarketError::NotFound(message)));
    let too_many = replica.remove(&session, 1, 3);
    assert_eq!(
        too_many,
        Err(MarketError::invalid("only 2 units of item 1-1 in the cart"))
    );
    assert!(is_invalid(&replica.remove(&session, 1, 0)));
    assert_eq!(
        replica.remove(&session, 1, 1),
        Ok(Outcome::Cart(vec![line_of(1, 1), line_of(2, 1)]))
    );
    assert_eq!(
        replica.remove(&session, 1, 1),
        Ok(Outcome::Cart(vec![line_of(2, 1)]))
    );
}

fn line_of(number: u64, quantity: u32) -> crate::market::CartLine {
    crate::market::CartLine {
        item: item(number),
        quantity,
    }
}

#[test]
fn the_cart_belongs_to_the_buyer_not_the_session() {
    // What one session adds, another session of the same buyer sees.
    let mut replica = Replica::new();
    let (_, laptop) = replica.buyer("ann");
    let phone = replica.log_in(Role::Buyer, "ann");
    replica.add(&laptop, 1, 2).expect("in stock");
    replica.add(&phone, 2, 1).expect("in stock");
    assert_eq!(replica.cart(&laptop), [(1, 2), (2, 1)]);
    assert_eq!(replica.cart(&phone), [(1, 2), (2, 1)]);
}

#[test]
fn logout_of_the_last_session_reverts_the_cart_to_the_saved_one() {
    // Saved lines survive; what was added after the save is dropped.
    let mut replica = Replica::new();
    let (_, session) = replica.buyer("ann");
    replica.add(&session, 1, 1).expect("in stock");
    replica.save(&session).expect("live session");
    replica.add(&session, 2, 1).expect("in stock");
    replica
        .log_out(Role::Buyer, &session)
        .expect("live session");
    let session = replica.log_in(Role::Buyer, "ann");
    assert_eq!(replica.cart(&session), [(1, 1)]);
}

#[test]
fn a_cart_never_saved_is_empty_after_the_last_logout() {
    let mut replica = Replica::new();
    let (_, session) = replica.buyer("ann");
    replica.add(&session, 1, 1).expect("in stock");
    replica
        .log_out(Role::Buyer, &session)
        .expect("live session");
    let session = replica.log_in(Role::Buyer, "ann");
    assert!(replica.cart(&session).is_empty());
}

#[test]
fn logout_keeps_the_cart_while_another_session_is_live() {
    // Reverting would destroy the other session's work.
    let mut replica = Replica::new();
    let (_, laptop) = replica.buyer("ann");
    let phone = replica.log_in(Role::Buyer, "ann");
    replica.add(&laptop, 1, 1).expect("in stock");
    replica.log_out(Role::Buyer, &laptop).expect("live session");
    assert_eq!(replica.cart(&phone), [(1, 1)]);
}

#[test]
fn expiry_of_the_last_session_reverts_the_cart() {
    // Expiry acts like logout: the unsaved line is gone at the next login.
    let mut replica = Replica::new();
    let (_, session) = replica.buyer("ann");
    replica.add(&session, 1, 1).expect("in stock");
    replica.save(&session).expect("live session");
    replica.add(&session, 2, 1).expect("in stock");
    replica.at(TIMEOUT_MS);
    let session = replica.log_in(Role::Buyer, "ann");
    assert_eq!(replica.cart(&session), [(1, 1)]);
}

#[test]
fn expiry_keeps_the_cart_while_another_session_is_live() {
    // The idle session expires, the active one keeps the cart; when that
    // one expires too, the cart reverts.
    let mut replica = Replica::new();
    let (_, idle) = replica.buyer("ann");
    let active = replica.log_in(Role::Buyer, "ann");
    replica.at(500);
    replica.add(&active, 1, 1).expect("in stock");
    replica.at(TIMEOUT_MS);
    assert!(is_unauthenticated(&replica.touch(Role::Buyer, &idle)));
    assert_eq!(replica.cart(&active), [(1, 1)]);
    replica.at(2 * TIMEOUT_MS);
    let session = replica.log_in(Role::Buyer, "ann");
    assert!(replica.cart(&session).is_empty());
}

#[test]
fn a_saved_cart_is_kept_across_sessions() {
    let mut replica = Replica::new();
    let (_, session) = replica.buyer("ann");
    replica.add(&session, 3, 2).expect("in stock");
    assert_eq!(replica.save(&session), Ok(Outcome::Done));
    replica
        .log_out(Role::Buyer, &session)
        .expect("live session");
    replica.at(10 * TIMEOUT_MS);
    let session = replica.log_in(Role::Buyer, "ann");
    assert_eq!(replica.cart(&session), [(3, 2)]);
}

#[test]
fn cart_clear_empties_the_live_and_the_saved_cart() {
    let mut replica = Replica::new();
    let (_, session) = replica.buyer("ann");
    replica.add(&session, 1, 1).expect("in stock");
    replica.save(&session).expect("live session");
    let cleared = replica.run(Command::CartClear {
        session: session.clone(),
    });
    assert_eq!(cleared, Ok(Outcome::Done));
    assert!(replica.cart(&session).is_empty());
    replica
        .log_out(Role::Buyer, &session)
        .expect("live session");
    let session = replica.log_in(Role::Buyer, "ann");
    assert!(
        replica.cart(&session).is_empty(),
        "nothing saved to go back to"
    );
}

// Ratings.

#[test]
fn ratings_start_at_zero_and_unknown_sellers_are_not_found() {
    let mut replica = Replica::new();
    let (seller, seller_session) = replica.seller("sam");
    let (_, buyer_session) = replica.buyer("ann");
    assert_eq!(
        replica.own_rating(&seller_session),
        Ok(Outcome::SellerStanding {
            rating: Rating::default(),
            items_sold: 0
        })
    );
    let rating = Command::SellerRating {
        session: buyer_session.clone(),
        seller,
    };
    assert_eq!(replica.run(rating), Ok(Outcome::Rating(Rating::default())));
    let unknown = Command::SellerRating {
        session: buyer_session,
        seller: 99,
    };
    let message = "no seller with id 99".to_string();
    assert_eq!(replica.run(unknown), Err(MarketError::NotFound(message)));
}

// Purchases.

#[test]
fn begin_purchase_refuses_an_empty_cart() {
    let mut replica = Replica::new();
    let (_, session) = replica.buyer("ann");
    assert_eq!(
        replica.begin(&session, "p1"),
        Err(MarketError::invalid("cart is empty"))
    );
}

#[test]
fn a_purchase_s_first_answer_is_final_for_its_id() {
    // A frontend thread whose client has gone may resend a purchase's first
    // step seconds later, after another frontend answered the client and the
    // client refilled the cart. It must get the first answer again (the
    // chaos suite saw it buy the new cart under the old id instead).
    let mut replica = Replica::new();
    let (buyer, session) = replica.buyer("ann");
    let empty = replica.begin_as_sent(&session, "p1");
    assert_eq!(empty, Err(MarketError::invalid("cart is empty")));
    replica.add(&session, 3, 1).expect("in stock");
    assert_eq!(
        replica.begin_as_sent(&session, "p1"),
        empty,
        "still refused"
    );
    let started = replica.begin_as_sent(&session, "p2");
    assert_eq!(
        started,
        Ok(Outcome::PurchaseStarted {
            buyer,
            lines: vec![line_of(3, 1)]
        })
    );
    replica
        .run(Command::AbortPurchase {
            buyer,
            purchase: RequestId("p2".into()),
        })
        .expect("abandoned");
    replica.add(&session, 4, 2).expect("in stock");
    assert_eq!(
        replica.begin_as_sent(&session, "p2"),
        started,
        "the same lines, not the cart as it is now"
    );
}

#[test]
fn begin_purchase_hands_out_the_cart() {
    // The lines in item order, with the buyer's id for CompletePurchase.
    let mut replica = Replica::new();
    let (buyer, session) = replica.buyer("ann");
    replica.add(&session, 5, 1).expect("in stock");
    replica.add(&session, 2, 3).expect("in stock");
    let lines = vec![line_of(2, 3), line_of(5, 1)];
    assert_eq!(
        replica.begin(&session, "p1"),
        Ok(Outcome::PurchaseStarted { buyer, lines })
    );
    assert_eq!(
        replica.cart(&session),
        [(2, 3), (5, 1)],
        "beginning changes nothing"
    );
}

#[test]
fn complete_purchase_records_history_counts_and_empties_both_carts() {
    let mut replica = Replica::new();
    let (seller, _) = replica.seller("sam");
    let (buyer, session) = replica.buyer("ann");
    replica.add(&session, 1, 2).expect("in stock");
    replica.save(&session).expect("live session");
    replica.at(70);
    let lines = vec![line(1, seller, 2), line(2, seller, 3)];
    let result = replica.complete(buyer, "p1", lines.clone());
    let Ok(Outcome::Purchased(record)) = result else {
        panic!("complete: {result:?}")
    };
    assert_eq!(
        (record.purchase.0.as_str(), record.at_ms, record.lines),
        ("p1", 70, lines)
    );
    assert_eq!(replica.state.seller_items_sold(seller), Some(5));
    assert_eq!(replica.state.buyer_items_purchased(buyer), Some(5));
    assert!(replica.cart(&session).is_empty());
    replica
        .log_out(Role::Buyer, &session)
        .expect("live session");
    let session = replica.log_in(Role::Buyer, "ann");
    assert!(
        replica.cart(&session).is_empty(),
        "the saved cart was emptied too"
    );
    assert_eq!(replica.history(&session), ["p1"]);
}

#[test]
fn a_purchase_holds_the_cart_until_it_completes() {
    // Purchase is two customer-DB steps around the sale. Between them, the
    // cart is held: another session's add, remove and clear, and a second
    // purchase, are refused (409) and change nothing; reads see the cart as
    // it is. Completing takes out what was bought and releases the cart.
    // (Before, a remove in between could take out units being bought.)
    let mut replica = Replica::new();
    let (seller, _) = replica.seller("sam");
    let (buyer, session) = replica.buyer("ann");
    replica.add(&session, 1, 2).expect("in stock");
    let other = replica.log_in(Role::Buyer, "ann");
    assert!(matches!(
        replica.begin(&session, "p1"),
        Ok(Outcome::PurchaseStarted { .. })
    ));
    let held = |result: CustomerResult| matches!(result, Err(MarketError::Conflict(_)));
    assert!(held(replica.add(&other, 7, 1)));
    assert!(held(replica.remove(&other, 1, 1)));
    assert!(held(replica.run(Command::CartClear {
        session: other.clone()
    })));
    assert!(held(replica.begin(&other, "p2")));
    assert_eq!(replica.cart(&other), [(1, 2)], "nothing changed");
    let bought = vec![line(1, seller, 2)];
    assert!(matches!(
        replica.complete(buyer, "p1", bought),
        Ok(Outcome::Purchased(_))
    ));
    assert!(replica.cart(&session).is_empty());
    replica.add(&other, 7, 1).expect("released");
}

#[test]
fn an_abandoned_purchase_releases_the_cart_and_so_does_time() {
    let mut replica = Replica::with_session_timeout(10 * limits::PURCHASE_HOLD_MS);
    let (buyer, session) = replica.buyer("ann");
    replica.add(&session, 1, 2).expect("in stock");
    assert!(replica.begin(&session, "p1").is_ok());
    let abort = |purchase: &str| Command::AbortPurchase {
        buyer,
        purchase: RequestId(purchase.to_string()),
    };
    replica.run(abort("p9")).expect("another purchase: nothing");
    assert!(matches!(
        replica.add(&session, 3, 1),
        Err(MarketError::Conflict(_))
    ));
    replica.run(abort("p1")).expect("released");
    replica.add(&session, 3, 1).expect("free again");
    // A purchase whose frontend died holds the cart until its time runs out.
    assert!(replica.begin(&session, "p2").is_ok());
    replica.at(limits::PURCHASE_HOLD_MS - 1);
    assert!(matches!(
        replica.add(&session, 3, 1),
        Err(MarketError::Conflict(_))
    ));
    replica.at(limits::PURCHASE_HOLD_MS);
    replica.add(&session, 3, 1).expect("the hold ran out");
}

#[test]
fn what_is_added_after_a_hold_ran_out_stays_in_the_cart() {
    // A purchase completing after its hold ran out (a frontend stalled for
    // longer than PURCHASE_HOLD_MS) takes out only what it bought.
    let mut replica = Replica::with_session_timeout(10 * limits::PURCHASE_HOLD_MS);
    let (seller, _) = replica.seller("sam");
    let (buyer, session) = replica.buyer("ann");
    replica.add(&session, 1, 2).expect("in stock");
    assert!(replica.begin(&session, "p1").is_ok());
    replica.at(limits::PURCHASE_HOLD_MS);
    replica.add(&session, 7, 1).expect("in stock");
    replica.add(&session, 1, 3).expect("in stock");
    let bought = vec![line(1, seller, 2)];
    assert!(replica.complete(buyer, "p1", bought).is_ok());
    assert_eq!(replica.cart(&session), [(1, 3), (7, 1)], "not bought: kept");
}

#[test]
fn complete_purchase_applies_once_per_purchase_id() {
    // A second CompletePurchase with the same purchase id but a new request
    // id, later, returns the first record and counts nothing again.
    let mut replica = Replica::new();
    let (seller, _) = replica.seller("sam");
    let (buyer, session) = replica.buyer("ann");
    let first = replica.complete(buyer, "p1", vec![line(1, seller, 2)]);
    replica.at(500);
    replica.add(&session, 4, 1).expect("in stock");
    let again = replica.complete(buyer, "p1", vec![line(1, seller, 2)]);
    assert_eq!(first, again);
    assert_eq!(replica.state.seller_items_sold(seller), Some(2));
    assert_eq!(replica.state.buyer_items_purchased(buyer), Some(2));
    assert_eq!(
        replica.cart(&session),
        [(4, 1)],
        "the retry did not empty the cart"
    );
    assert_eq!(replica.history(&session), ["p1"]);
}

#[test]
fn begin_purchase_after_completion_returns_the_record() {
    // A frontend that crashed after the sale and retries from the start
    // gets the receipt, not a second sale.
    let mut replica = Replica::new();
    let (seller, _) = replica.seller("sam");
    let (buyer, session) = replica.buyer("ann");
    replica.add(&session, 1, 1).expect("in stock");
    let completed = replica.complete(buyer, "p1", vec![line(1, seller, 1)]);
    replica.add(&session, 2, 1).expect("in stock");
    assert_eq!(replica.begin(&session, "p1"), completed);
    assert!(matches!(
        replica.begin(&session, "p2"),
        Ok(Outcome::PurchaseStarted { .. })
    ));
}

#[test]
fn a_purchase_id_belongs_to_one_buyer() {
    // Another buyer naming a completed purchase id gets a conflict, not the
    // first buyer's receipt, and nothing is recorded for them.
    let mut replica = Replica::new();
    let (seller, _) = replica.seller("sam");
    let (ann, _) = replica.buyer("ann");
    let (bob, bob_session) = replica.buyer("bob");
    replica
        .complete(ann, "p1", vec![line(1, seller, 1)])
        .expect("a valid purchase");
    replica.add(&bob_session, 1, 1).expect("in stock");
    assert!(matches!(
        replica.begin(&bob_session, "p1"),
        Err(MarketError::Conflict(_))
    ));
    let theft = replica.complete(bob, "p1", vec![line(1, seller, 1)]);
    assert!(matches!(theft, Err(MarketError::Conflict(_))), "{theft:?}");
    assert_eq!(replica.state.buyer_items_purchased(bob), Some(0));
    assert_eq!(replica.state.seller_items_sold(seller), Some(1));
}

#[test]
fn complete_purchase_checks_its_input() {
    // Unknown buyer: NotFound; no lines, a 0-unit line, a bad name or a bad
    // purchase id: InvalidInput. None of them records anything.
    let mut replica = Replica::new();
    let (seller, _) = replica.seller("sam");
    let (buyer, _) = replica.buyer("ann");
    let unknown = replica.complete(99, "p1", vec![line(1, seller, 1)]);
    assert_eq!(
        unknown,
        Err(MarketError::NotFound("no buyer with id 99".to_string()))
    );
    assert!(is_invalid(&replica.complete(buyer, "p1", Vec::new())));
    assert!(is_invalid(&replica.complete(
        buyer,
        "p1",
        vec![line(1, seller, 0)]
    )));
    let mut nameless = line(1, seller, 1);
    nameless.name = String::new();
    assert!(is_invalid(&replica.complete(buyer, "p1", vec![nameless])));
    assert!(is_invalid(&replica.complete(
        buyer,
        "no spaces",
        vec![line(1, seller, 1)]
    )));
    let too_many = (1..=limits::CART_LINES_MAX as u64 + 1)
        .map(|n| line(n, seller, 1))
        .collect();
    assert!(is_invalid(&replica.complete(buyer, "p1", too_many)));
    assert_eq!(replica.state.buyer_items_purchased(buyer), Some(0));
    assert_eq!(replica.state.seller_items_sold(seller), Some(0));
    assert!(
        replica
            .complete(buyer, "p1", vec![line(1, seller, 1)])
            .is_ok(),
        "p1 still free"
    );
}

#[test]
fn a_sale_by_an_unknown_seller_is_recorded_but_not_counted() {
    let mut replica = Replica::new();
    let (seller, _) = replica.seller("sam");
    let (buyer, _) = replica.buyer("ann");
    let lines = vec![line(1, seller, 1), line(2, 42, 5)];
    assert!(replica.complete(buyer, "p1", lines).is_ok());
    assert_eq!(replica.state.seller_items_sold(seller), Some(1));
    assert_eq!(replica.state.seller_items_sold(42), None);
    assert_eq!(replica.state.buyer_items_purchased(buyer), Some(6));
}

#[test]
fn history_lists_purchases_oldest_first() {
    let mut replica = Replica::new();
    let (seller, _) = replica.seller("sam");
    let (buyer, session) = replica.buyer("ann");
    assert!(replica.history(&session).is_empty());
    for purchase in ["p3", "p1", "p2"] {
        replica
            .complete(buyer, purchase, vec![line(1, seller, 1)])
            .expect("a valid purchase");
    }
    assert_eq!(replica.history(&session), ["p3", "p1", "p2"]);
}

// Feedback.

#[test]
fn feedback_needs_a_purchase_of_the_item() {
    let mut replica = Replica::new();
    let (seller, _) = replica.seller("sam");
    let (buyer, session) = replica.buyer("ann");
    replica
        .complete(buyer, "p1", vec![line(1, seller, 1)])
        .expect("a valid purchase");
    let message = "you can give feedback only on items you bought".to_string();
    assert_eq!(
        replica.feedback(&session, 2, Thumb::Up),
        Err(MarketError::Forbidden(message))
    );
    let other_category = ItemId {
        category: Category::new(2).expect("a category"),
        number: 1,
    };
    let command = Command::Feedback {
        session,
        item: other_category,
        thumb: Thumb::Up,
    };
    assert!(matches!(
        replica.run(command),
        Err(MarketError::Forbidden(_))
    ));
}

#[test]
fn feedback_is_given_once_per_item() {
    // Even after buying the item again.
    let mut replica = Replica::new();
    let (seller, seller_session) = replica.seller("sam");
    let (buyer, session) = replica.buyer("ann");
    replica
        .complete(buyer, "p1", vec![line(1, seller, 1)])
        .expect("a valid purchase");
    assert!(replica.feedback(&session, 1, Thumb::Up).is_ok());
    let twice = replica.feedback(&session, 1, Thumb::Down);
    let message = "feedback already given for item 1-1".to_string();
    assert_eq!(twice, Err(MarketError::Conflict(message.clone())));
    replica
        .complete(buyer, "p2", vec![line(1, seller, 1)])
        .expect("a valid purchase");
    assert_eq!(
        replica.feedback(&session, 1, Thumb::Down),
        Err(MarketError::Conflict(message))
    );
    let rating = Rating { up: 1, down: 0 };
    assert_eq!(
        replica.own_rating(&seller_session),
        Ok(Outcome::SellerStanding {
            rating,
            items_sold: 2
        })
    );
}

#[test]
fn feedback_counts_on_the_items_seller() {
    // Each buyer's thumb lands on the seller recorded in their purchase.
    let mut replica = Replica::new();
    let (sam, sam_session) = replica.seller("sam");
    let (sue, sue_session) = replica.seller("sue");
    let (ann, ann_session) = replica.buyer("ann");
    let (bob, bob_session) = replica.buyer("bob");
    replica
        .complete(ann, "p1", vec![line(1, sam, 1), line(2, sue, 1)])
        .expect("valid");
    replica
        .complete(bob, "p2", vec![line(1, sam, 1)])
        .expect("valid");
    let recorded = replica.feedback(&ann_session, 1, Thumb::Up);
    assert_eq!(recorded, Ok(Outcome::FeedbackRecorded { seller: sam }));
    replica
        .feedback(&bob_session, 1, Thumb::Down)
        .expect("bought");
    replica
        .feedback(&ann_session, 2, Thumb::Down)
        .expect("bought");
    // Units sold count every line, whoever gave feedback.
    let sam_standing = Outcome::SellerStanding {
        rating: Rating { up: 1, down: 1 },
        items_sold: 2,
    };
    assert_eq!(replica.own_rating(&sam_session), Ok(sam_standing));
    let sue_standing = Outcome::SellerStanding {
        rating: Rating { up: 0, down: 1 },
        items_sold: 1,
    };
    assert_eq!(replica.own_rating(&sue_session), Ok(sue_standing));
}

// Exactly once.

#[test]
fn a_repeated_write_applies_once_and_returns_the_first_result() {
    let mut replica = Replica::new();
    let create = |name: &str| Command::CreateAccount {
        role: Role::Seller,
        name: name.to_string(),
        password: PASSWORD.to_string(),
    };
    assert_eq!(
        replica.run_as("same", create("sam")),
        Ok(Outcome::AccountCreated { id: 1 })
    );
    assert_eq!(
        replica.run_as("same", create("sam")),
        Ok(Outcome::AccountCreated { id: 1 }),
        "the retry gets the first result"
    );
    // The same id for another request is refused and changes nothing: it
    // must not hand over sam's result either.
    assert!(matches!(
        replica.run_as("same", create("sue")),
        Err(MarketError::Conflict(_))
    ));
    assert_eq!(
        replica.create(Role::Seller, "sue"),
        2,
        "sue was not created under sam's id"
    );
}

#[test]
fn a_repeated_write_returns_the_first_error() {
    // The retry would succeed now, but it gets the first answer and the
    // cart stays empty.
    let mut replica = Replica::new();
    let (_, session) = replica.buyer("ann");
    let add = |available| Command::CartAdd {
        session: session.clone(),
        item: item(1),
        quantity: 2,
        available,
    };
    let first = replica.run_as("add-1", add(1));
    assert!(matches!(first, Err(MarketError::InsufficientStock { .. })));
    assert_eq!(replica.run_as("add-1", add(10)), first);
    assert!(replica.cart(&session).is_empty());
}

#[test]
fn a_retried_logout_gets_its_first_answer() {
    let mut replica = Replica::new();
    let (_, session) = replica.buyer("ann");
    let logout = Command::Logout {
        role: Role::Buyer,
        session,
    };
    assert_eq!(replica.run_as("bye", logout.clone()), Ok(Outcome::Done));
    assert_eq!(replica.run_as("bye", logout.clone()), Ok(Outcome::Done));
    assert!(is_unauthenticated(&replica.run_as("bye-again", logout)));
}

#[test]
fn reads_are_not_recorded() {
    // A write reusing a read's request id is applied.
    let mut replica = Replica::new();
    let (_, session) = replica.buyer("ann");
    let shown = replica.run_as(
        "x",
        Command::CartShow {
            session: session.clone(),
        },
    );
    assert_eq!(shown, Ok(Outcome::Cart(Vec::new())));
    let command = Command::CartAdd {
        session,
        item: item(1),
        quantity: 1,
        available: 5,
    };
    assert_eq!(
        replica.run_as("x", command),
        Ok(Outcome::Cart(vec![line_of(1, 1)]))
    );
}

#[test]
fn a_malformed_request_id_is_refused_and_not_recorded() {
    let mut replica = Replica::new();
    let long = "r".repeat(limits::DATABASE_REQUEST_ID_CHARS_MAX + 1);
    for id in ["", "has space", long.as_str()] {
        let command = Command::CreateAccount {
            role: Role::Buyer,
            name: "ann".to_string(),
            password: PASSWORD.to_string(),
        };
        assert!(is_invalid(&replica.run_as(id, command)), "{id:?} accepted");
    }
    assert_eq!(
        replica.create(Role::Buyer, "ann"),
        1,
        "no account was created"
    );
}

// Robustness and determinism.

#[test]
fn extreme_inputs_are_refused_without_panicking() {
    // Values at the edges of their types, as a hostile client might send.
    let mut replica = Replica::new();
    let (_, session) = replica.buyer("ann");
    let huge_item = ItemId {
        category: Category::new(9).expect("a category"),
        number: u64::MAX,
    };
    let add = Command::CartAdd {
        session: session.clone(),
        item: huge_item,
        quantity: u32::MAX,
        available: u32::MAX,
    };
    assert!(is_invalid(&replica.run(add)));
    let login = Command::Login {
        role: Role::Buyer,
        name: "a".repeat(100_000),
        password: "p".repeat(100_000),
        token: SessionToken("t".repeat(100_000)),
    };
    assert!(replica.run(login).is_err());
    let rating = Command::SellerRating {
        session: session.clone(),
        seller: u64::MAX,
    };
    assert!(matches!(replica.run(rating), Err(MarketError::NotFound(_))));
    assert!(replica
        .complete(0, "p", vec![line(u64::MAX, u64::MAX, 1)])
        .is_err());
    replica.at(u64::MAX);
    assert!(is_unauthenticated(&replica.touch(Role::Buyer, &session)));
}

/// Draws random requests from small pools of names, tokens, items and
/// request ids, so that logins succeed, sessions clash and expire, carts
/// fill, purchases complete and retries repeat.
struct Workload {
    rng: StdRng,
    now_ms: u64,
    requests: u64,
}

impl Workload {
    fn request(&mut self) -> CustomerRequest {
        // Time mostly moves on a little, sometimes past the timeout, and
        // sometimes back (another replica's clock).
        self.now_ms = match self.rng.gen_range(0..10) {
            0 => self.now_ms.saturating_sub(self.rng.gen_range(0..300)),
            1 => self.now_ms + TIMEOUT_MS,
            _ => self.now_ms + self.rng.gen_range(0..200),
        };
        self.requests += 1;
        let request_id = if self.rng.gen_bool(0.2) {
            format!("r{}", self.rng.gen_range(0..self.requests))
        } else {
            format!("r{}", self.requests)
        };
        CustomerRequest {
            request_id: RequestId(request_id),
            now_ms: self.now_ms,
            // Five replicas in turn (drawn without the generator, whose
            // sequence the chosen seeds rely on).
            read_by: Some((self.requests % 5) as u16),
            command: self.command(),
        }
    }

    fn command(&mut self) -> CustomerCommand {
        let rng = &mut self.rng;
        let role = if rng.gen_bool(0.5) {
            Role::Seller
        } else {
            Role::Buyer
        };
        let name = ["ann", "bob", "cy"][rng.gen_range(0..3)].to_string();
        let password = if rng.gen_bool(0.9) { PASSWORD } else { "wrong" }.to_string();
        let session = SessionToken(format!("t{}", rng.gen_range(0..8)));
        let item = item(rng.gen_range(1..=4));
        let quantity = rng.gen_range(0..=3);
        let purchase = RequestId(format!("p{}", rng.gen_range(0..40)));
        let thumb = if rng.gen_bool(0.5) {
            Thumb::Up
        } else {
            Thumb::Down
        };
        match rng.gen_range(0..16) {
            0 => Command::CreateAccount {
                role,
                name,
                password,
            },
            1 | 2 => Command::Login {
                role,
                name,
                password,
                token: session,
            },
            3 => Command::Logout { role, session },
            4 => Command::Touch { role, session },
            5 => Command::OwnRating { session },
            6 => Command::SellerRating {
                session,
                seller: rng.gen_range(0..=4),
            },
            7 | 8 => Command::CartAdd {
                session,
                item,
                quantity,
                available: rng.gen_range(0..=6),
            },
            9 => Command::CartRemove {
                session,
                item,
                quantity,
            },
            10 => Command::CartSave { session },
            11 => Command::CartClear { session },
            12 => Command::BeginPurchase { session, purchase },
            13 => {
                let lines = (1..=rng.gen_range(0..=3))
                    .map(|number| line(number, rng.gen_range(1..=4), rng.gen_range(1..=3)))
                    .collect();
                Command::CompletePurchase {
                    buyer: rng.gen_range(1..=4),
                    purchase,
                    lines,
                }
            }
            14 => Command::Feedback {
                session,
                item,
                thumb,
            },
            _ => Command::History {
                session,
                page: Default::default(),
            },
        }
    }
}

#[test]
fn the_same_requests_give_the_same_states_and_results() {
    // Two replicas apply the same random requests; the second is rebuilt
    // from a JSON snapshot halfway. Every result and the final states must
    // match, and the workload must reach the interesting outcomes.
    let mut outcomes_seen = std::collections::BTreeSet::new();
    for seed in 0..60 {
        let mut workload = Workload {
            rng: StdRng::seed_from_u64(seed),
            now_ms: 0,
            requests: 0,
        };
        let mut first = CustomerState::new(TIMEOUT_MS);
        let mut second = CustomerState::new(TIMEOUT_MS);
        for step in 0..600 {
            if step == 300 {
                let snapshot = serde_json::to_string(&second).expect("state serializes");
                second = serde_json::from_str(&snapshot).expect("snapshot reads back");
            }
            let request = workload.request();
            let result = first.apply(&request);
            assert_eq!(
                second.apply(&request),
                result,
                "seed {seed} step {step}: {request:?}"
            );
            first.assert_invariants();
            if let Ok(outcome) = &result {
                let kind = format!("{outcome:?}");
                outcomes_seen.insert(kind.split([' ', '(']).next().unwrap_or("").to_string());
            }
        }
        let first = serde_json::to_value(&first).expect("state serializes");
        let second = serde_json::to_value(&second).expect("state serializes");
        assert_eq!(first, second, "seed {seed}: states differ");
    }
    for kind in [
        "LoggedIn",
        "Cart",
        "PurchaseStarted",
        "Purchased",
        "FeedbackRecorded",
    ] {
        assert!(
            outcomes_seen.contains(kind),
            "the workload never produced {kind}"
        );
    }
}

// Queries (`query.rs`).

impl Replica {
    /// Asks `query` at the current time; the state is not changed.
    fn query(&self, command: CustomerCommand) -> Option<CustomerResult> {
        let request = CustomerRequest {
            request_id: RequestId("query".to_string()),
            now_ms: self.now_ms,
            read_by: self.read_by,
            command,
        };
        self.state.query(&request)
    }

    /// Moves the agreed time to `now_ms` (one clock for every replica).
    fn agree_on(&mut self, now_ms: u64) {
        self.at(now_ms)
            .run(Command::ClockReading)
            .expect("a clock reading");
    }
}

#[test]
fn a_query_answers_as_ordering_would_and_changes_nothing() {
    // Each query command, while its session is fresh, gets from `query` the
    // result that `apply` gives it, errors included, and the state's bytes
    // stay as they were.
    let mut replica = Replica::with_session_timeout(60_000);
    replica.agree_on(1_000);
    let (seller_id, seller) = replica.seller("sam");
    let (_, buyer) = replica.buyer("bob");
    replica.add(&buyer, 1, 2).expect("added");
    let commands = [
        Command::Touch {
            role: Role::Buyer,
            session: buyer.clone(),
        },
        Command::OwnRating {
            session: seller.clone(),
        },
        Command::SellerRating {
            session: buyer.clone(),
            seller: seller_id,
        },
        Command::SellerRating {
            session: buyer.clone(),
            seller: 99,
        },
        Command::CartShow {
            session: buyer.clone(),
        },
        Command::History {
            session: buyer.clone(),
            page: Default::default(),
        },
        Command::Touch {
            role: Role::Seller,
            session: buyer.clone(),
        },
    ];
    for command in commands {
        let before = serde_json::to_vec(&replica.state).expect("encodes");
        let answered = replica.query(command.clone());
        assert_eq!(
            serde_json::to_vec(&replica.state).expect("encodes"),
            before,
            "{command:?}"
        );
        let answered = answered.expect("a fresh session needs no renewal");
        assert_eq!(answered, replica.run(command.clone()), "{command:?}");
    }
    let write = Command::CartClear { session: buyer };
    assert_eq!(replica.query(write), None, "a write is never a query");
}

#[test]
fn a_query_is_ordered_to_renew_its_session_once_per_grain() {
    // Renewing a session changes the state, which only the total order
    // may do: a query whose session was renewed a grain ago or more is
    // left to be ordered, and the ordered one renews it.
    let mut replica = Replica::with_session_timeout(60_000);
    assert_eq!(replica.state.renewal_grain_ms(), 1_000);
    replica.agree_on(1_000);
    let (_, buyer) = replica.buyer("bob");
    let touch = Command::Touch {
        role: Role::Buyer,
        session: buyer,
    };
    replica.agree_on(1_999);
    assert!(replica.query(touch.clone()).is_some(), "within the grain");
    replica.agree_on(2_000);
    assert_eq!(replica.query(touch.clone()), None, "due for renewal");
    replica.run(touch.clone()).expect("renewed");
    assert!(replica.query(touch).is_some(), "renewed at 2 000");
}

#[test]
fn a_query_on_an_idle_session_is_refused_at_the_agreed_time() {
    // A session idle for the timeout is over for a query too, though no
    // write has removed it from the table yet; the query's own clock
    // reading, ahead, does not end it earlier.
    let mut replica = Replica::with_session_timeout(60_000);
    replica.agree_on(1_000);
    let (_, buyer) = replica.buyer("bob");
    let show = Command::CartShow { session: buyer };
    replica.at(1_000 + 60_000);
    assert!(
        replica
            .query(show.clone())
            .is_none_or(|r| !is_unauthenticated(&r)),
        "the agreed time is still 1 000"
    );
    replica.agree_on(1_000 + 60_000);
    let refused = replica.query(show).expect("answered");
    assert!(is_unauthenticated(&refused), "{refused:?}");
}

// Capacity: what the state is charged, and the writes refused when full.

/// The longest name the limits allow, of characters JSON writes at their
/// widest: 4-byte characters and quotes (escaped to two bytes).
fn widest_name(tag: u64) -> String {
    let mut name: String = format!("{tag}\"");
    while name.chars().count() < limits::NAME_CHARS_MAX {
        name.push('𝄞');
    }
    name
}

/// The charge bounds the encoding (checked after every request by
/// `assert_invariants`, with the kept charge equal to a fresh count) over
/// random work with the widest values the limits allow: names, passwords,
/// tokens and purchase ids at their longest, full carts, saved carts,
/// purchases of many lines, feedback, logouts and expiries.
#[test]
fn the_charge_bounds_the_snapshot_over_random_work_with_the_widest_values() {
    for seed in 0..20 {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut replica = Replica::new();
        let password = "\"𝄞".repeat(limits::PASSWORD_CHARS_MAX / 2);
        let mut sessions: Vec<(u64, SessionToken)> = Vec::new();
        for step in 0..300u64 {
            replica.at(step * 50);
            match rng.gen_range(0..8) {
                0 => {
                    let name = widest_name(step);
                    let created = replica.run(Command::CreateAccount {
                        role: Role::Buyer,
                        name: name.clone(),
                        password: password.clone(),
                    });
                    let Ok(Outcome::AccountCreated { id }) = created else {
                        panic!("seed {seed}: {created:?}");
                    };
                    let token = SessionToken(format!("{step:064}"));
                    let login = replica.run(Command::Login {
                        role: Role::Buyer,
                        name,
                        password: password.clone(),
                        token: token.clone(),
                    });
                    assert!(login.is_ok(), "seed {seed}: {login:?}");
                    sessions.push((id, token));
                }
                _ if sessions.is_empty() => {}
                1 | 2 => {
                    let (_, session) = &sessions[rng.gen_range(0..sessions.len())];
                    let session = session.clone();
                    let _ = replica.add(&session, rng.gen_range(1..150), 1);
                }
                3 => {
                    let (_, session) = &sessions[rng.gen_range(0..sessions.len())];
                    let session = session.clone();
                    let _ = replica.save(&session);
                }
                4 | 5 => {
                    let (buyer, session) = sessions[rng.gen_range(0..sessions.len())].clone();
                    let purchase = format!("{step}\"{}", "p".repeat(60));
                    if let Ok(Outcome::PurchaseStarted { lines, .. }) =
                        replica.begin(&session, &purchase)
                    {
                        let sold = lines
                            .iter()
                            .map(|cart_line| PurchasedLine {
                                name: widest_name(cart_line.item.number),
                                ..line(cart_line.item.number, 1, cart_line.quantity)
                            })
                            .collect();
                        let done = replica.complete(buyer, &purchase, sold);
                        assert!(done.is_ok(), "seed {seed}: {done:?}");
                        let _ = replica.feedback(&session, lines[0].item.number, Thumb::Up);
                    }
                }
                6 => {
                    let (_, session) = sessions.swap_remove(rng.gen_range(0..sessions.len()));
                    let _ = replica.log_out(Role::Buyer, &session);
                }
                _ => {
                    // Past the session timeout: every session ends, and
                    // the carts go back to the saved ones.
                    replica.at(step * 50 + TIMEOUT_MS);
                    let _ = replica.run(Command::ClockReading);
                    sessions.clear();
                }
            }
        }
    }
}

/// A full customer DB refuses what would grow it (a new account, a new
/// session, a cart line, a new purchase) with `Full`, changing nothing,
/// and still serves everything else: reads, removals, and the last step
/// of a purchase begun before it filled, whose room its first step took.
#[test]
fn a_full_customer_db_refuses_growth_and_completes_purchases_under_way() {
    let mut replica = Replica::new();
    let (buyer, session) = replica.buyer("ann");
    replica.add(&session, 1, 2).expect("in stock");
    let begun = replica.begin(&session, "buy-1");
    assert!(
        matches!(begun, Ok(Outcome::PurchaseStarted { .. })),
        "{begun:?}"
    );
    let (_, other) = replica.buyer("bob");
    replica.add(&other, 2, 1).expect("in stock");

    // Full: less room than one more cart line.
    let charged = replica.state.charged_bytes();
    replica.state.limit_to(charged + 1);
    let before = serde_json::to_value(&replica.state).unwrap();
    let full = |result: CustomerResult| matches!(result, Err(MarketError::Full(_)));
    let create = replica.run(Command::CreateAccount {
        role: Role::Seller,
        name: "cy".into(),
        password: PASSWORD.into(),
    });
    assert!(full(create.clone()), "{create:?}");
    let login = replica.run(Command::Login {
        role: Role::Buyer,
        name: "ann".into(),
        password: PASSWORD.into(),
        token: SessionToken("another".into()),
    });
    assert!(full(login.clone()), "{login:?}");
    let add = replica.add(&other, 3, 1);
    assert!(full(add.clone()), "{add:?}");
    let begin = replica.begin(&other, "buy-2");
    assert!(full(begin.clone()), "{begin:?}");
    let mut after = serde_json::to_value(&replica.state).unwrap();
    // Only the request log has changed: it keeps each refusal for retries.
    after["requests"] = before["requests"].clone();
    assert_eq!(before, after, "a refused write changed the state");

    // A repeat of the first step (its request log entry gone) still gets
    // the cart: its room was taken when it began.
    let repeated = replica.begin(&session, "buy-1");
    assert!(
        matches!(repeated, Ok(Outcome::PurchaseStarted { .. })),
        "{repeated:?}"
    );
    assert_eq!(replica.cart(&other), [(2, 1)]);
    replica.remove(&other, 2, 1).expect("a removal frees room");
    let completed = replica.complete(buyer, "buy-1", vec![line(1, 1, 2)]);
    assert!(
        matches!(completed, Ok(Outcome::Purchased(_))),
        "{completed:?}"
    );
    assert_eq!(replica.history(&session), ["buy-1"]);
}

/// The state's encoding without the request log (which is charged apart).
fn encoded_without_requests(state: &CustomerState) -> u64 {
    let mut value = serde_json::to_value(state).expect("a state encodes");
    value["requests"] = serde_json::Value::Null;
    serde_json::to_vec(&value).expect("a value encodes").len() as u64
}

/// Each part's charge bounds what one such part at its widest adds to the
/// snapshot: an account, a session, a cart line, a purchase of a full cart
/// with the items it adds to what may be rated.
#[test]
fn each_charge_bounds_what_its_part_adds_to_the_snapshot() {
    use super::capacity::{account_bytes, purchase_bytes_max, CART_LINE_BYTES, SESSION_BYTES};
    let mut replica = Replica::new();
    let name = widest_name(7);
    let password = "\"𝄞".repeat(limits::PASSWORD_CHARS_MAX / 2);
    let grew = |replica: &mut Replica, command: CustomerCommand| {
        let before = encoded_without_requests(&replica.state);
        let result = replica.run(command);
        assert!(result.is_ok(), "{result:?}");
        encoded_without_requests(&replica.state) - before
    };
    let account = grew(
        &mut replica,
        Command::CreateAccount {
            role: Role::Buyer,
            name: name.clone(),
            password: password.clone(),
        },
    );
    assert!(
        account <= account_bytes(&name, &password),
        "account: {account}"
    );
    let token = SessionToken("\"".repeat(super::session::SESSION_TOKEN_CHARS_MAX));
    let session = grew(
        &mut replica,
        Command::Login {
            role: Role::Buyer,
            name,
            password,
            token: token.clone(),
        },
    );
    assert!(session <= SESSION_BYTES, "session: {session}");
    let mut widest_line = 0;
    for number in 0..limits::CART_LINES_MAX as u64 {
        let line = grew(
            &mut replica,
            Command::CartAdd {
                session: token.clone(),
                item: ItemId {
                    category: Category::new(limits::CATEGORY_MAX.into()).unwrap(),
                    number: u64::MAX - number,
                },
                quantity: limits::QUANTITY_MAX,
                available: limits::QUANTITY_MAX,
            },
        );
        widest_line = widest_line.max(line);
    }
    assert!(widest_line <= CART_LINE_BYTES, "cart line: {widest_line}");
    let purchase = format!("{}\"", "p".repeat(limits::REQUEST_ID_CHARS_MAX - 1));
    let Ok(Outcome::PurchaseStarted { buyer, lines }) = replica.begin(&token, &purchase) else {
        panic!("the purchase did not begin");
    };
    let sold: Vec<PurchasedLine> = lines
        .iter()
        .map(|cart_line| PurchasedLine {
            item: cart_line.item,
            name: widest_name(1),
            quantity: cart_line.quantity,
            price: Price::from_cents(limits::PRICE_CENTS_MAX).unwrap(),
            seller: u64::MAX,
        })
        .collect();
    // The purchase empties the carts; what it adds is measured against a
    // state whose carts are empty too.
    let mut emptied = replica.state.clone();
    emptied.clear_carts_for_tests(buyer);
    let before = encoded_without_requests(&emptied);
    let completed = replica.complete(buyer, &purchase, sold);
    assert!(completed.is_ok(), "{completed:?}");
    let added = encoded_without_requests(&replica.state) - before;
    let charge = purchase_bytes_max(limits::CART_LINES_MAX as u64);
    assert!(added <= charge, "purchase: {added} > {charge}");
    println!("account {account}, session {session}, cart line {widest_line}, purchase {added}");
}

/// A history comes a page at a time, oldest first: `next` is where the
/// next page starts, absent on the last; a page decoded from the network
/// with a limit out of range is refused.
#[test]
fn a_history_comes_a_page_at_a_time() {
    use crate::market::HistoryPage;
    let mut replica = Replica::new();
    let (seller, _) = replica.seller("sam");
    let (buyer, session) = replica.buyer("ann");
    for purchase in ["p1", "p2", "p3"] {
        let done = replica.complete(buyer, purchase, vec![line(1, seller, 1)]);
        assert!(done.is_ok(), "{done:?}");
    }
    let mut page = |limit: usize, after: usize| {
        let command = Command::History {
            session: session.clone(),
            page: HistoryPage { limit, after },
        };
        match replica.run(command) {
            Ok(Outcome::History { purchases, next }) => {
                let ids: Vec<String> = purchases.into_iter().map(|p| p.purchase.0).collect();
                Ok((ids, next))
            }
            Err(error) => Err(error),
            other => panic!("history: {other:?}"),
        }
    };
    assert_eq!(page(2, 0), Ok((vec!["p1".into(), "p2".into()], Some(2))));
    assert_eq!(page(2, 2), Ok((vec!["p3".into()], None)));
    assert_eq!(
        page(50, 0).map(|(ids, next)| (ids.len(), next)),
        Ok((3, None))
    );
    for limit in [0, limits::HISTORY_PAGE_PURCHASES_MAX + 1] {
        assert!(matches!(page(limit, 0), Err(MarketError::InvalidInput(_))));
    }
}
