//! One client's REST connection to the frontends of its role, with the
//! failover a real client does: start at an assigned frontend; on a
//! transport error or a 503, move to the next one and resend the *same*
//! `X-Request-Id`, so a call that reached a frontend before it died is
//! still applied once. A long-lived `ureq::Agent` per client keeps its
//! connection open (tiny_http 0.12 can leave new connections opened in a
//! burst unserved).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::workload::Request;

/// How long one attempt may take before the client tries another frontend.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(15);
/// How long a client keeps failing over before the call counts as failed.
const GIVE_UP_AFTER: Duration = Duration::from_secs(60);
/// Pause after a whole round of frontends failed, before the next round.
const ROUND_PAUSE: Duration = Duration::from_millis(50);

/// What a call came to, after any failover.
#[derive(Debug)]
pub enum CallResult {
    /// 2xx with its body.
    Ok(String),
    /// An expected business outcome: 402 `card_declined` or 409
    /// `insufficient_stock`.
    Business(&'static str),
    /// An error: an unexpected status, or no frontend answered in time.
    /// The text is the error's kind, for counting.
    Error(String),
}

/// A client's connection to every frontend of its role.
pub struct FrontendApi {
    endpoints: Vec<SocketAddr>,
    current: usize,
    agent: ureq::Agent,
    /// Attempts that moved to another frontend (failover is invisible to
    /// the call's result but not to its latency; the report counts them).
    pub failovers: u64,
}

/// One attempt's result.
enum Attempt {
    Done(CallResult),
    TryAnother(String),
}

impl FrontendApi {
    /// A client of `endpoints`, starting at `endpoints[first % len]`.
    pub fn new(endpoints: Vec<SocketAddr>, first: usize) -> Self {
        assert!(!endpoints.is_empty(), "a role has at least one frontend");
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(Duration::from_secs(2))
            .timeout(ATTEMPT_TIMEOUT)
            .max_idle_connections_per_host(2)
            .build();
        FrontendApi {
            current: first % endpoints.len(),
            endpoints,
            agent,
            failovers: 0,
        }
    }

    /// Sends `request` under `request_id` until a frontend gives a final
    /// answer or the time runs out.
    pub fn call(&mut self, request: &Request, request_id: &str) -> CallResult {
        let started = Instant::now();
        let mut misses = 0usize;
        loop {
            let endpoint = self.endpoints[self.current];
            match self.attempt(endpoint, request, request_id) {
                Attempt::Done(result) => return result,
                Attempt::TryAnother(kind) => {
                    log::debug!("{endpoint}: {kind}; failing over");
                    misses += 1;
                    self.failovers += 1;
                    self.current = (self.current + 1) % self.endpoints.len();
                    if started.elapsed() >= GIVE_UP_AFTER {
                        return CallResult::Error(kind);
                    }
                    if misses.is_multiple_of(self.endpoints.len()) {
                        std::thread::sleep(ROUND_PAUSE);
                    }
                }
            }
        }
    }

    fn attempt(&self, endpoint: SocketAddr, request: &Request, request_id: &str) -> Attempt {
        let mut call = self
            .agent
            .request(
                request.method,
                &format!("http://{endpoint}{}", request.path),
            )
            .set("X-Request-Id", request_id);
        if let Some(session) = &request.session {
            call = call.set("X-Session", session);
        }
        let response = match &request.body {
            Some(body) => call
                .set("Content-Type", "application/json")
                .send_string(body),
            None => call.call(),
        };
        match response {
            Ok(response) => match response.into_string() {
                Ok(body) => Attempt::Done(CallResult::Ok(body)),
                Err(e) => Attempt::TryAnother(format!("transport: reply cut short ({e})")),
            },
            Err(ureq::Error::Status(503, _)) => Attempt::TryAnother("HTTP 503".into()),
            Err(ureq::Error::Status(status, response)) => {
                Attempt::Done(classify(status, error_kind(response)))
            }
            Err(ureq::Error::Transport(transport)) => {
                Attempt::TryAnother(format!("transport: {}", transport.kind()))
            }
        }
    }
}

/// Sorts a refusal into an expected business outcome or an error.
fn classify(status: u16, kind: String) -> CallResult {
    match (status, kind.as_str()) {
        (402, "card_declined") => CallResult::Business("card_declined"),
        (409, "insufficient_stock") => CallResult::Business("insufficient_stock"),
        _ => CallResult::Error(format!("HTTP {status} {kind}")),
    }
}

fn error_kind(response: ureq::Response) -> String {
    let body: Value = response.into_json().unwrap_or(Value::Null);
    body["error"]["kind"]
        .as_str()
        .unwrap_or("unknown")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_declines_and_stock_are_business() {
        assert!(matches!(
            classify(402, "card_declined".into()),
            CallResult::Business("card_declined")
        ));
        assert!(matches!(
            classify(409, "insufficient_stock".into()),
            CallResult::Business("insufficient_stock")
        ));
        assert!(matches!(
            classify(409, "conflict".into()),
            CallResult::Error(kind) if kind == "HTTP 409 conflict"
        ));
        assert!(matches!(
            classify(401, "unauthenticated".into()),
            CallResult::Error(_)
        ));
    }
}
