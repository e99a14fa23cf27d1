//! The customer DB's requests and replies as the protobuf messages of
//! proto/marketplace.proto (`CustomerRequest`, `CustomerReply`): how they
//! travel over gRPC and how the sequencer's journal holds them. The
//! commands inside are converted by `command_wire.rs`.

use crate::contract::vocabulary::*;
use crate::contract::{leader_of, Answer, WireCommand};
use crate::market::{MarketError, RequestId, SessionToken};
use crate::pb::marketplace::{self as pb, CustomerReply_oneof_outcome as Out};

use super::command_wire::{command_from_wire, command_to_wire};
use super::{CustomerOutcome, CustomerRequest, PurchaseRecord};

impl WireCommand for CustomerRequest {
    type Wire = pb::CustomerRequest;
    type Reply = pb::CustomerReply;
    type Outcome = CustomerOutcome;

    fn to_wire(&self) -> Result<pb::CustomerRequest, MarketError> {
        Ok(pb::CustomerRequest {
            request_id: self.request_id.0.clone(),
            now_ms: self.now_ms,
            read_by: self.read_by.map_or(-1, i32::from),
            command: Some(command_to_wire(&self.command)?),
            ..Default::default()
        })
    }

    fn from_wire(wire: pb::CustomerRequest) -> Result<CustomerRequest, MarketError> {
        let Some(command) = wire.command else {
            return Err(MarketError::invalid(
                "the request names no customer-DB command this replica knows",
            ));
        };
        Ok(CustomerRequest {
            command: command_from_wire(command)?,
            request_id: request_id(wire.request_id)?,
            now_ms: wire.now_ms,
            read_by: u16::try_from(wire.read_by).ok(),
        })
    }

    fn outcome_to_wire(outcome: &CustomerOutcome) -> pb::CustomerReply {
        pb::CustomerReply {
            outcome: Some(outcome_to_wire(outcome)),
            ..Default::default()
        }
    }

    fn not_leader(hint: i32) -> pb::CustomerReply {
        let mut not_leader = pb::NotLeader::new();
        not_leader.set_leader_hint(hint);
        pb::CustomerReply {
            outcome: Some(Out::not_leader(not_leader)),
            ..Default::default()
        }
    }

    fn reply_from_wire(reply: pb::CustomerReply) -> Result<Answer<CustomerOutcome>, MarketError> {
        match reply.outcome {
            None => Err(MarketError::invalid("the reply carries no known outcome")),
            Some(Out::not_leader(not_leader)) => {
                Ok(Answer::NotLeader(leader_of(not_leader.leader_hint)))
            }
            Some(outcome) => outcome_from_wire(outcome).map(Answer::Outcome),
        }
    }
}

fn outcome_to_wire(outcome: &CustomerOutcome) -> Out {
    match outcome {
        CustomerOutcome::AccountCreated { id } => {
            Out::account_created(pb::CustomerReply_AccountCreated {
                id: *id,
                ..Default::default()
            })
        }
        CustomerOutcome::LoggedIn { session, user } => Out::logged_in(pb::CustomerReply_LoggedIn {
            session: session.0.clone(),
            user: *user,
            ..Default::default()
        }),
        CustomerOutcome::Done => Out::done(pb::Done::new()),
        CustomerOutcome::Session { user } => Out::session(pb::CustomerReply_Session {
            user: *user,
            ..Default::default()
        }),
        CustomerOutcome::Rating(rating) => Out::rating(rating_to_wire(rating)),
        CustomerOutcome::SellerStanding { rating, items_sold } => {
            Out::seller_standing(pb::CustomerReply_SellerStanding {
                rating: some(rating_to_wire(rating)),
                items_sold: *items_sold,
                ..Default::default()
            })
        }
        CustomerOutcome::Cart(lines) => Out::cart(pb::CustomerReply_Cart {
            lines: repeated(lines, cart_line_to_wire),
            ..Default::default()
        }),
        CustomerOutcome::PurchaseStarted { buyer, lines } => {
            Out::purchase_started(pb::CustomerReply_PurchaseStarted {
                buyer: *buyer,
                lines: repeated(lines, cart_line_to_wire),
                ..Default::default()
            })
        }
        CustomerOutcome::Purchased(record) => Out::purchased(record_to_wire(record)),
        CustomerOutcome::FeedbackRecorded { seller } => {
            Out::feedback_recorded(pb::CustomerReply_FeedbackRecorded {
                seller: *seller,
                ..Default::default()
            })
        }
        CustomerOutcome::History { purchases, next } => Out::history(pb::CustomerReply_History {
            purchases: repeated(purchases, record_to_wire),
            next: next.map_or(0, |next| next as u64),
            ..Default::default()
        }),
    }
}

fn outcome_from_wire(outcome: Out) -> Result<CustomerOutcome, MarketError> {
    Ok(match outcome {
        Out::account_created(created) => CustomerOutcome::AccountCreated { id: created.id },
        Out::logged_in(logged_in) => CustomerOutcome::LoggedIn {
            session: SessionToken(logged_in.session),
            user: logged_in.user,
        },
        Out::done(_) => CustomerOutcome::Done,
        Out::session(session) => CustomerOutcome::Session { user: session.user },
        Out::rating(wire) => CustomerOutcome::Rating(rating(some(wire))),
        Out::seller_standing(standing) => CustomerOutcome::SellerStanding {
            rating: rating(standing.rating),
            items_sold: standing.items_sold,
        },
        Out::cart(cart) => CustomerOutcome::Cart(each(cart.lines, cart_line)?),
        Out::purchase_started(started) => CustomerOutcome::PurchaseStarted {
            buyer: started.buyer,
            lines: each(started.lines, cart_line)?,
        },
        Out::purchased(record) => CustomerOutcome::Purchased(record_from_wire(record)?),
        Out::feedback_recorded(recorded) => CustomerOutcome::FeedbackRecorded {
            seller: recorded.seller,
        },
        Out::history(history) => CustomerOutcome::History {
            purchases: each(history.purchases, record_from_wire)?,
            next: (history.next > 0).then_some(history.next as usize),
        },
        Out::not_leader(_) => return Err(MarketError::invalid("not an outcome: not_leader")),
    })
}

fn record_to_wire(record: &PurchaseRecord) -> pb::PurchaseRecord {
    pb::PurchaseRecord {
        purchase: record.purchase.0.clone(),
        at_ms: record.at_ms,
        lines: repeated(&record.lines, purchased_line_to_wire),
        ..Default::default()
    }
}

fn record_from_wire(wire: pb::PurchaseRecord) -> Result<PurchaseRecord, MarketError> {
    Ok(PurchaseRecord {
        purchase: RequestId(wire.purchase),
        at_ms: wire.at_ms,
        lines: each(wire.lines, purchased_line)?,
    })
}
