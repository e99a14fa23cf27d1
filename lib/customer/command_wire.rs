//! The customer DB's commands as the `oneof command` of proto/marketplace's
//! `CustomerRequest`, and back. Seventeen commands make too long a match
//! for one function, so each direction goes by group (accounts and
//! sessions; carts; purchases and feedback): a group converts what is
//! its own and passes on the rest. A unit test converts every command both
//! ways, so a command no group converts cannot go unnoticed.

use crate::contract::vocabulary::*;
use crate::market::{MarketError, SessionToken};
use crate::pb::marketplace::{self as pb, CustomerRequest_oneof_command as Wire};

use super::CustomerCommand as C;

/// The wire form of `command`.
pub fn command_to_wire(command: &C) -> Result<Wire, MarketError> {
    account_to_wire(command)
        .or_else(|| cart_to_wire(command))
        .or_else(|| purchase_to_wire(command))
        .ok_or_else(|| MarketError::invalid(format!("no wire form for {command:?}")))
}

/// The command `wire` carries.
pub fn command_from_wire(wire: Wire) -> Result<C, MarketError> {
    let wire = match account_from_wire(wire) {
        Ok(command) => return command,
        Err(other) => other,
    };
    let wire = match cart_from_wire(wire) {
        Ok(command) => return command,
        Err(other) => other,
    };
    purchase_from_wire(wire)
        .unwrap_or_else(|other| Err(MarketError::invalid(format!("no command for {other:?}"))))
}

/// What a group makes of a command: the command (or why it is none), or
/// the wire form handed back when the command is another group's.
type Converted = Result<Result<C, MarketError>, Wire>;

fn token(session: &SessionToken) -> String {
    session.0.clone()
}

fn account_to_wire(command: &C) -> Option<Wire> {
    Some(match command {
        C::ClockReading => Wire::clock_reading(Default::default()),
        C::CreateAccount {
            role,
            name,
            password,
        } => Wire::create_account(pb::CustomerRequest_CreateAccount {
            role: role_to_wire(*role),
            name: name.clone(),
            password: password.clone(),
            ..Default::default()
        }),
        C::Login {
            role,
            name,
            password,
            token: drawn,
        } => Wire::login(pb::CustomerRequest_Login {
            role: role_to_wire(*role),
            name: name.clone(),
            password: password.clone(),
            token: token(drawn),
            ..Default::default()
        }),
        C::Logout { role, session } => Wire::logout(pb::CustomerRequest_Logout {
            role: role_to_wire(*role),
            session: token(session),
            ..Default::default()
        }),
        C::Touch { role, session } => Wire::touch(pb::CustomerRequest_Touch {
            role: role_to_wire(*role),
            session: token(session),
            ..Default::default()
        }),
        C::OwnRating { session } => Wire::own_rating(pb::CustomerRequest_OwnRating {
            session: token(session),
            ..Default::default()
        }),
        C::SellerRating { session, seller } => {
            Wire::seller_rating(pb::CustomerRequest_SellerRating {
                session: token(session),
                seller: *seller,
                ..Default::default()
            })
        }
        _ => return None,
    })
}

fn cart_to_wire(command: &C) -> Option<Wire> {
    Some(match command {
        C::CartAdd {
            session,
            item,
            quantity,
            available,
        } => Wire::cart_add(pb::CustomerRequest_CartAdd {
            session: token(session),
            item: some(item_id_to_wire(item)),
            quantity: *quantity,
            available: *available,
            ..Default::default()
        }),
        C::CartRemove {
            session,
            item,
            quantity,
        } => Wire::cart_remove(pb::CustomerRequest_CartRemove {
            session: token(session),
            item: some(item_id_to_wire(item)),
            quantity: *quantity,
            ..Default::default()
        }),
        C::CartSave { session } => Wire::cart_save(pb::CustomerRequest_CartSave {
            session: token(session),
            ..Default::default()
        }),
        C::CartClear { session } => Wire::cart_clear(pb::CustomerRequest_CartClear {
            session: token(session),
            ..Default::default()
        }),
        C::CartShow { session } => Wire::cart_show(pb::CustomerRequest_CartShow {
            session: token(session),
            ..Default::default()
        }),
        _ => return None,
    })
}

fn purchase_to_wire(command: &C) -> Option<Wire> {
    Some(match command {
        C::BeginPurchase { session, purchase } => {
            Wire::begin_purchase(pb::CustomerRequest_BeginPurchase {
                session: token(session),
                purchase: purchase.0.clone(),
                ..Default::default()
            })
        }
        C::CompletePurchase {
            buyer,
            purchase,
            lines,
        } => Wire::complete_purchase(pb::CustomerRequest_CompletePurchase {
            buyer: *buyer,
            purchase: purchase.0.clone(),
            lines: repeated(lines, purchased_line_to_wire),
            ..Default::default()
        }),
        C::AbortPurchase { buyer, purchase } => {
            Wire::abort_purchase(pb::CustomerRequest_AbortPurchase {
                buyer: *buyer,
                purchase: purchase.0.clone(),
                ..Default::default()
            })
        }
        C::Feedback {
            session,
            item,
            thumb,
        } => Wire::feedback(pb::CustomerRequest_Feedback {
            session: token(session),
            item: some(item_id_to_wire(item)),
            thumb: thumb_to_wire(*thumb),
            ..Default::default()
        }),
        C::History { session, page } => Wire::history(pb::CustomerRequest_History {
            session: token(session),
            page: history_page_to_wire(page),
            ..Default::default()
        }),
        _ => return None,
    })
}

fn account_from_wire(wire: Wire) -> Converted {
    Ok(match wire {
        Wire::clock_reading(_) => Ok(C::ClockReading),
        Wire::create_account(create) => role(create.role).map(|role| C::CreateAccount {
            role,
            name: create.name,
            password: create.password,
        }),
        Wire::login(login) => role(login.role).map(|role| C::Login {
            role,
            name: login.name,
            password: login.password,
            token: session(login.token),
        }),
        Wire::logout(logout) => role(logout.role).map(|role| C::Logout {
            role,
            session: session(logout.session),
        }),
        Wire::touch(touch) => role(touch.role).map(|role| C::Touch {
            role,
            session: session(touch.session),
        }),
        Wire::own_rating(own) => Ok(C::OwnRating {
            session: session(own.session),
        }),
        Wire::seller_rating(rating) => Ok(C::SellerRating {
            session: session(rating.session),
            seller: rating.seller,
        }),
        other => return Err(other),
    })
}

fn cart_from_wire(wire: Wire) -> Converted {
    Ok(match wire {
        Wire::cart_add(add) => required_item(add.item).map(|item| C::CartAdd {
            session: session(add.session),
            item,
            quantity: add.quantity,
            available: add.available,
        }),
        Wire::cart_remove(remove) => required_item(remove.item).map(|item| C::CartRemove {
            session: session(remove.session),
            item,
            quantity: remove.quantity,
        }),
        Wire::cart_save(save) => Ok(C::CartSave {
            session: session(save.session),
        }),
        Wire::cart_clear(clear) => Ok(C::CartClear {
            session: session(clear.session),
        }),
        Wire::cart_show(show) => Ok(C::CartShow {
            session: session(show.session),
        }),
        other => return Err(other),
    })
}

fn purchase_from_wire(wire: Wire) -> Converted {
    Ok(match wire {
        Wire::begin_purchase(begin) => {
            request_id(begin.purchase).map(|purchase| C::BeginPurchase {
                session: session(begin.session),
                purchase,
            })
        }
        Wire::complete_purchase(complete) => complete_purchase(complete),
        Wire::abort_purchase(abort) => {
            request_id(abort.purchase).map(|purchase| C::AbortPurchase {
                buyer: abort.buyer,
                purchase,
            })
        }
        Wire::feedback(feedback) => feedback_from_wire(feedback),
        Wire::history(history) => history_page(history.page).map(|page| C::History {
            session: session(history.session),
            page,
        }),
        other => return Err(other),
    })
}

fn complete_purchase(wire: pb::CustomerRequest_CompletePurchase) -> Result<C, MarketError> {
    Ok(C::CompletePurchase {
        buyer: wire.buyer,
        purchase: request_id(wire.purchase)?,
        lines: each(wire.lines, purchased_line)?,
    })
}

fn feedback_from_wire(wire: pb::CustomerRequest_Feedback) -> Result<C, MarketError> {
    Ok(C::Feedback {
        session: session(wire.session),
        item: required_item(wire.item)?,
        thumb: thumb(wire.thumb)?,
    })
}
