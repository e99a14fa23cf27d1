//! Calling the frontends: start at a random one, move to the next on a
//! connection error or a 503, and resend the same request with the same
//! `X-Request-Id`, so a call that reached a frontend before it died is
//! still applied only once.

use std::time::{Duration, Instant};

use rand::seq::SliceRandom;
use serde_json::Value;

use crate::config::NodeAddress;

/// A call that did not get a successful reply.
#[derive(Debug)]
pub enum CallError {
    /// The frontend answered with an error status and this body's message.
    Refused {
        /// The HTTP status (4xx, or 5xx after every frontend was tried).
        status: u16,
        /// `MarketError::kind` from the body (`"not_found"`, ...), or
        /// `"http"` when the body names none.
        kind: String,
        /// The body's message, or `HTTP status N` when it has none.
        message: String,
    },
    /// No frontend could be reached in time.
    Unreachable(String),
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Refused { message, .. } => f.write_str(message),
            CallError::Unreachable(why) => write!(f, "no frontend reachable: {why}"),
        }
    }
}

/// A REST client over every frontend of one kind.
pub struct FrontendClient {
    /// `host:port` each; a name is looked up by ureq on every connection.
    endpoints: Vec<NodeAddress>,
    current: usize,
    agent: ureq::Agent,
    give_up_after: Duration,
}

/// One attempt's result.
enum Attempt {
    Done(Result<Value, CallError>),
    /// Worth trying another frontend; the error is what to report if none
    /// does better.
    TryAnother(CallError),
}

impl FrontendClient {
    /// A client over `endpoints`, starting at a random one.
    pub fn new(mut endpoints: Vec<NodeAddress>) -> Self {
        assert!(
            !endpoints.is_empty(),
            "a client needs at least one frontend"
        );
        endpoints.shuffle(&mut rand::thread_rng());
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(Duration::from_secs(1))
            .timeout(Duration::from_secs(15))
            .max_idle_connections_per_host(4)
            .build();
        FrontendClient {
            endpoints,
            current: 0,
            agent,
            give_up_after: Duration::from_secs(30),
        }
    }

    /// Sends `method path` with the session, the request id and a JSON body;
    /// returns the reply's JSON body.
    pub fn call(
        &mut self,
        method: &str,
        path: &str,
        session: Option<&str>,
        request_id: &str,
        body: Option<&Value>,
    ) -> Result<Value, CallError> {
        let started = Instant::now();
        let mut failures = 0usize;
        loop {
            let endpoint = &self.endpoints[self.current];
            match self.attempt(endpoint, method, path, session, request_id, body) {
                Attempt::Done(result) => return result,
                Attempt::TryAnother(error) => {
                    log::debug!("frontend {endpoint}: {error}; trying another");
                    failures += 1;
                    self.current = (self.current + 1) % self.endpoints.len();
                    // Give up after a while, or once every frontend has said
                    // its backend is unavailable (503): they share backends.
                    let all_said_503 = matches!(error, CallError::Refused { .. })
                        && failures >= self.endpoints.len();
                    if started.elapsed() > self.give_up_after || all_said_503 {
                        return Err(error);
                    }
                    // After a round over every frontend, pause before the next.
                    if failures.is_multiple_of(self.endpoints.len()) {
                        std::thread::sleep(Duration::from_millis(100));
                    }
                }
            }
        }
    }

    fn attempt(
        &self,
        endpoint: &NodeAddress,
        method: &str,
        path: &str,
        session: Option<&str>,
        request_id: &str,
        body: Option<&Value>,
    ) -> Attempt {
        let mut request = self
            .agent
            .request(method, &format!("http://{endpoint}{path}"))
            .set("X-Request-Id", request_id);
        if let Some(session) = session {
            request = request.set("X-Session", session);
        }
        let response = match body {
            Some(body) => request.send_json(body),
            None => request.call(),
        };
        match response {
            Ok(response) => match response.into_json::<Value>() {
                Ok(value) => Attempt::Done(Ok(value)),
                Err(e) => {
                    Attempt::TryAnother(CallError::Unreachable(format!("unreadable reply: {e}")))
                }
            },
            Err(ureq::Error::Status(503, response)) => Attempt::TryAnother(refusal(503, response)),
            Err(ureq::Error::Status(status, response)) => {
                Attempt::Done(Err(refusal(status, response)))
            }
            Err(ureq::Error::Transport(transport)) => {
                Attempt::TryAnother(CallError::Unreachable(transport.to_string()))
            }
        }
    }
}

fn refusal(status: u16, response: ureq::Response) -> CallError {
    let body: Value = response.into_json().unwrap_or(Value::Null);
    let error = &body["error"];
    CallError::Refused {
        status,
        kind: error["kind"].as_str().unwrap_or("http").to_string(),
        message: error["message"]
            .as_str()
            .map(String::from)
            .unwrap_or_else(|| format!("HTTP status {status}")),
    }
}
