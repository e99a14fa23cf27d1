//! Account calls that sellers and buyers share: create, log in, log out.

use serde_json::json;

use crate::customer::{CustomerCommand, CustomerOutcome};
use crate::market::{MarketError, Role, SessionToken};

use super::backends::{unexpected, Backends};
use super::body::{self, Credentials};
use super::json::JsonBody;
use super::request::ApiRequest;

type Reply = Result<(u16, JsonBody), MarketError>;

/// `POST /<role>/accounts`: 201 with the new id.
pub fn create_account(role: Role, backends: &Backends, request: &ApiRequest) -> Reply {
    let Credentials { name, password } = body::parse(&request.body)?;
    let command = CustomerCommand::CreateAccount {
        role,
        name,
        password,
    };
    match backends.customer(&request.request_id, command)? {
        CustomerOutcome::AccountCreated { id } => {
            Ok((201, json!({ format!("{role}_id"): id }).into()))
        }
        other => Err(unexpected(other)),
    }
}

/// `POST /<role>/login`: the session and the user's id.
pub fn login(role: Role, backends: &Backends, request: &ApiRequest) -> Reply {
    let Credentials { name, password } = body::parse(&request.body)?;
    // The token is drawn by the customer-DB replica that receives the call.
    let token = SessionToken(String::new());
    let command = CustomerCommand::Login {
        role,
        name,
        password,
        token,
    };
    match backends.customer(&request.request_id, command)? {
        CustomerOutcome::LoggedIn { session, user } => Ok((
            200,
            json!({ "session": session.to_string(), format!("{role}_id"): user }).into(),
        )),
        other => Err(unexpected(other)),
    }
}

/// `POST /<role>/logout`: ends the session.
pub fn logout(role: Role, backends: &Backends, request: &ApiRequest) -> Reply {
    let session = request.session()?;
    match backends.customer(
        &request.request_id,
        CustomerCommand::Logout { role, session },
    )? {
        CustomerOutcome::Done => Ok((200, json!({}).into())),
        other => Err(unexpected(other)),
    }
}
