//! The customer DB's requests and replies through their protobuf messages
//! (`wire.rs`, `command_wire.rs`, which converts by group) and through the
//! log's encoding: every command and every outcome comes back as it went,
//! so no command lacks a wire form.

use crate::contract::log_encoding;
use crate::contract::round_trip::*;
use crate::market::{HistoryPage, Rating, RequestId, Role, Thumb};

use super::{CustomerCommand, CustomerOutcome, CustomerRequest, PurchaseRecord};

fn customer_commands() -> Vec<CustomerCommand> {
    let (role, name, password) = (Role::Buyer, "ann".to_string(), "pw".to_string());
    vec![
        CustomerCommand::ClockReading,
        CustomerCommand::CreateAccount {
            role,
            name: name.clone(),
            password: password.clone(),
        },
        CustomerCommand::Login {
            role: Role::Seller,
            name,
            password,
            token: session(),
        },
        CustomerCommand::Logout {
            role,
            session: session(),
        },
        CustomerCommand::Touch {
            role,
            session: session(),
        },
        CustomerCommand::OwnRating { session: session() },
        CustomerCommand::SellerRating {
            session: session(),
            seller: 3,
        },
        CustomerCommand::CartAdd {
            session: session(),
            item: item_id(),
            quantity: 2,
            available: 8,
        },
        CustomerCommand::CartRemove {
            session: session(),
            item: item_id(),
            quantity: 1,
        },
        CustomerCommand::CartSave { session: session() },
        CustomerCommand::CartClear { session: session() },
        CustomerCommand::CartShow { session: session() },
        CustomerCommand::BeginPurchase {
            session: session(),
            purchase: purchase(),
        },
        CustomerCommand::CompletePurchase {
            buyer: 4,
            purchase: purchase(),
            lines: purchased(),
        },
        CustomerCommand::AbortPurchase {
            buyer: 4,
            purchase: purchase(),
        },
        CustomerCommand::Feedback {
            session: session(),
            item: item_id(),
            thumb: Thumb::Up,
        },
        CustomerCommand::History {
            session: session(),
            page: HistoryPage {
                limit: 5,
                after: 10,
            },
        },
    ]
}

#[test]
fn every_customer_command_and_outcome_comes_back() {
    for (read_by, command) in [None, Some(0), Some(4)]
        .into_iter()
        .cycle()
        .zip(customer_commands())
    {
        round_trip(CustomerRequest {
            request_id: RequestId("r-2".into()),
            now_ms: 1_700_000_000_000,
            read_by,
            command,
        });
    }
    let record = PurchaseRecord {
        purchase: purchase(),
        at_ms: 12,
        lines: purchased(),
    };
    for outcome in [
        CustomerOutcome::AccountCreated { id: 3 },
        CustomerOutcome::LoggedIn {
            session: session(),
            user: 3,
        },
        CustomerOutcome::Done,
        CustomerOutcome::Session { user: 3 },
        CustomerOutcome::Rating(Rating { up: 1, down: 2 }),
        CustomerOutcome::SellerStanding {
            rating: Rating { up: 1, down: 0 },
            items_sold: 7,
        },
        CustomerOutcome::Cart(cart()),
        CustomerOutcome::PurchaseStarted {
            buyer: 4,
            lines: cart(),
        },
        CustomerOutcome::Purchased(record.clone()),
        CustomerOutcome::FeedbackRecorded { seller: 9 },
        CustomerOutcome::History {
            purchases: vec![record],
            next: Some(1),
        },
        CustomerOutcome::History {
            purchases: vec![],
            next: None,
        },
    ] {
        outcome_round_trip::<CustomerRequest>(outcome);
    }
}

/// What encoding and decoding one command costs, JSON (the log's encoding
/// before) against the log's protobuf, and their sizes; run with
/// `--ignored --nocapture` to see the figures.
#[test]
#[ignore]
fn log_encoding_against_json() {
    use std::hint::black_box;
    use std::time::Instant;
    let request = CustomerRequest {
        request_id: RequestId("c0-17-4fa3".into()),
        now_ms: 1_700_000_000_000,
        read_by: Some(2),
        command: customer_commands().swap_remove(7),
    };
    let rounds = 200_000;
    let started = Instant::now();
    for _ in 0..rounds {
        let bytes = serde_json::to_vec(black_box(&request)).unwrap();
        black_box(serde_json::from_slice::<CustomerRequest>(&bytes).unwrap());
    }
    let json = started.elapsed();
    let started = Instant::now();
    for _ in 0..rounds {
        let bytes = log_encoding::encode(black_box(&request)).unwrap();
        black_box(log_encoding::decode::<CustomerRequest>(&bytes).unwrap());
    }
    let protobuf = started.elapsed();
    let sizes = (
        serde_json::to_vec(&request).unwrap().len(),
        log_encoding::encode(&request).unwrap().len(),
    );
    eprintln!(
        "a cart add, encoded and decoded: JSON {:.2} us, {} bytes; protobuf {:.2} us, {} bytes",
        json.as_secs_f64() * 1e6 / f64::from(rounds),
        sizes.0,
        protobuf.as_secs_f64() * 1e6 / f64::from(rounds),
        sizes.1
    );
}
