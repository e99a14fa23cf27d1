//! A chaos client's REST calls: each call keeps its `X-Request-Id` and is
//! resent, to the next frontend of the role, on a transport error or a 503,
//! until some frontend gives a final answer or the deadline passes. Since
//! the databases deduplicate by request id, a resend returns the first
//! result, so nearly every call ends with a definite answer, which keeps the
//! history exact.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::Value;

/// How long one attempt may take: short, so a paused frontend is left
/// quickly; the deadline, not this, bounds the call.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(3);
/// Pause after every frontend of the role failed once.
const ROUND_PAUSE: Duration = Duration::from_millis(100);

/// A call's final answer.
#[derive(Clone, Debug)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// JSON body (`Null` if it was not JSON).
    pub body: Value,
}

impl Reply {
    /// The error kind of a refusal (`""` for a success).
    pub fn error_kind(&self) -> &str {
        self.body["error"]["kind"].as_str().unwrap_or("")
    }

    /// The error message of a refusal.
    pub fn error_message(&self) -> &str {
        self.body["error"]["message"].as_str().unwrap_or("")
    }

    /// One line for a report.
    pub fn summary(&self) -> String {
        let mut body = self.body.to_string();
        if body.len() > 160 {
            let mut cut = 160;
            while !body.is_char_boundary(cut) {
                cut -= 1;
            }
            body.truncate(cut);
            body.push('…');
        }
        format!("{} {body}", self.status)
    }
}

/// One REST call to make.
#[derive(Clone, Debug)]
pub struct Call {
    /// `GET`, `POST` or `PUT`.
    pub method: &'static str,
    /// Path and query.
    pub path: String,
    /// Body, for writes.
    pub body: Option<Value>,
    /// `X-Session`.
    pub session: Option<String>,
}

/// A client's view of the frontends of its role.
pub struct FrontendClient {
    endpoints: Vec<SocketAddr>,
    current: usize,
    agent: ureq::Agent,
}

impl FrontendClient {
    /// A client starting at `endpoints[first % len]`.
    pub fn new(endpoints: Vec<SocketAddr>, first: usize) -> FrontendClient {
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(Duration::from_secs(1))
            .timeout(ATTEMPT_TIMEOUT)
            .build();
        FrontendClient {
            current: first % endpoints.len().max(1),
            endpoints,
            agent,
        }
    }

    /// Sends `call` under `request_id` until a final answer or `deadline`;
    /// `None` if no frontend gave one in time.
    pub fn send(&mut self, call: &Call, request_id: &str, deadline: Instant) -> Option<Reply> {
        let mut misses = 0usize;
        loop {
            if let Some(reply) = self.attempt(call, request_id) {
                return Some(reply);
            }
            misses += 1;
            self.current = (self.current + 1) % self.endpoints.len();
            if Instant::now() >= deadline {
                return None;
            }
            if misses.is_multiple_of(self.endpoints.len()) {
                std::thread::sleep(ROUND_PAUSE);
            }
        }
    }

    fn attempt(&self, call: &Call, request_id: &str) -> Option<Reply> {
        let endpoint = self.endpoints[self.current];
        let mut request = self
            .agent
            .request(call.method, &format!("http://{endpoint}{}", call.path))
            .set("X-Request-Id", request_id);
        if let Some(session) = &call.session {
            request = request.set("X-Session", session);
        }
        let result = match &call.body {
            Some(body) => request.send_json(body.clone()),
            None => request.call(),
        };
        match result {
            Ok(response) => {
                let status = response.status();
                let body = response.into_json().ok()?;
                Some(Reply { status, body })
            }
            Err(ureq::Error::Status(503, _)) => None,
            Err(ureq::Error::Status(status, response)) => Some(Reply {
                status,
                body: response.into_json().unwrap_or(Value::Null),
            }),
            Err(ureq::Error::Transport(_)) => None,
        }
    }
}
