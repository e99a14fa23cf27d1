//! `PaymentClient`: how the buyer frontend asks the financial service to
//! approve a card, over HTTP with ureq, failing over between endpoints.
//!
//! Retrying is always safe here: the service keeps no state and decides from
//! the request id, so a repeated call gets the same answer.

use std::time::Duration;

use super::{
    decode_response, encode_request, PaymentDecision, PaymentRequest, SoapError, AUTHORIZE_ACTION,
    SOAP_PATH, XML_CONTENT_TYPE,
};

/// How many times the endpoint list is walked before giving up. Later passes
/// cover a pooled connection that a restarted service has closed (ureq never
/// retries a POST itself, and a fresh connection will work) and a connection
/// the service accepted but never serves (tiny_http's task pool can leave a
/// connection opened in a burst unserved): with a short per-attempt timeout,
/// several quick attempts cost far less than one long wait.
const PASSES: usize = 5;
/// Idle connections kept per service endpoint, one per concurrent caller
/// (ureq's default of 1 would make concurrent purchases reconnect).
const IDLE_CONNECTIONS_PER_HOST_MAX: usize = 16;

/// A client of the financial service, cheap to share between threads
/// (`Clone`; the connection pool is shared).
#[derive(Clone, Debug)]
pub struct PaymentClient {
    agent: ureq::Agent,
    /// Full URLs of the SOAP endpoints, tried in this order.
    urls: Vec<String>,
}

impl PaymentClient {
    /// A client for `endpoints` (`host:port`, or a full `http://` URL),
    /// waiting at most `timeout` for each attempt at one endpoint; a call
    /// makes up to `PASSES` attempts per endpoint.
    pub fn new(endpoints: Vec<String>, timeout: Duration) -> Self {
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(timeout)
            .timeout(timeout)
            .max_idle_connections_per_host(IDLE_CONNECTIONS_PER_HOST_MAX)
            .build();
        let urls = endpoints
            .iter()
            .map(|endpoint| endpoint_url(endpoint))
            .collect();
        PaymentClient { agent, urls }
    }

    /// Asks for approval. `Ok` holds the decision (a decline included);
    /// `Err(Transport)` means no endpoint answered, `Err(Fault)` that the
    /// service refused the request, `Err(Malformed)` that its reply made no sense.
    pub fn authorize(&self, request: &PaymentRequest) -> Result<PaymentDecision, SoapError> {
        let body = encode_request(request);
        let mut last_failure = "no financial-service endpoint configured".to_string();
        for url in self.urls.iter().cycle().take(self.urls.len() * PASSES) {
            match self.post(url, &body) {
                Ok((status, reply)) => return read_reply(url, status, &reply),
                Err(failure) => {
                    log::warn!("payment {}: {failure}", request.request_id);
                    last_failure = failure;
                }
            }
        }
        Err(SoapError::Transport(last_failure))
    }

    /// Posts a request envelope; the HTTP status and reply text, whatever the
    /// status (Faults come with 500), or why no reply came.
    fn post(&self, url: &str, body: &str) -> Result<(u16, String), String> {
        let result = self
            .agent
            .post(url)
            .set("Content-Type", XML_CONTENT_TYPE)
            .set("SOAPAction", &format!("\"{AUTHORIZE_ACTION}\""))
            .send_string(body);
        let response = match result {
            Ok(response) | Err(ureq::Error::Status(_, response)) => response,
            Err(ureq::Error::Transport(transport)) => return Err(format!("{url}: {transport}")),
        };
        let status = response.status();
        // Reading to the end also returns the connection to the pool.
        let reply = response
            .into_string()
            .map_err(|e| format!("{url}: reading reply: {e}"))?;
        Ok((status, reply))
    }
}

/// Decodes a reply, naming the endpoint and status if it is not SOAP at all
/// (a 404 page from a wrong port, say).
fn read_reply(url: &str, status: u16, reply: &str) -> Result<PaymentDecision, SoapError> {
    decode_response(reply).map_err(|error| match error {
        SoapError::Malformed(why) => {
            SoapError::Malformed(format!("HTTP {status} from {url}: {why}"))
        }
        other => other,
    })
}

/// `127.0.0.1:8100` becomes `http://127.0.0.1:8100/soap`; a URL stays as is.
fn endpoint_url(endpoint: &str) -> String {
    if endpoint.contains("://") {
        endpoint.to_string()
    } else {
        format!("http://{endpoint}{SOAP_PATH}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payment() -> PaymentRequest {
        PaymentRequest {
            request_id: "r".to_string(),
            card_holder: "Ada".to_string(),
            card_number: "4111111111111111".to_string(),
            expiry: "12/99".to_string(),
            amount_cents: 1,
        }
    }

    #[test]
    fn endpoints_become_soap_urls() {
        assert_eq!(endpoint_url("127.0.0.1:8100"), "http://127.0.0.1:8100/soap");
        assert_eq!(endpoint_url("http://pay:81/soap"), "http://pay:81/soap");
    }

    #[test]
    fn no_endpoints_is_a_transport_error() {
        let client = PaymentClient::new(Vec::new(), Duration::from_secs(1));
        let error = client.authorize(&payment()).unwrap_err();
        assert!(matches!(error, SoapError::Transport(_)), "{error}");
    }

    #[test]
    fn closed_port_is_a_transport_error() {
        // Bind then drop: the port is (almost surely) closed afterwards.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let client = PaymentClient::new(vec![port.to_string()], Duration::from_secs(1));
        assert!(matches!(
            client.authorize(&payment()),
            Err(SoapError::Transport(_))
        ));
    }

    #[test]
    fn an_attempt_that_gets_no_answer_is_retried_on_a_new_connection() {
        // The first connection is accepted and read but never answered (what
        // a stuck tiny_http worker looks like); the second gets an approval.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let (mut silent, _) = listener.accept().unwrap();
            let mut buffer = [0u8; 4096];
            let _ = std::io::Read::read(&mut silent, &mut buffer);
            let (mut answered, _) = listener.accept().unwrap();
            let _ = std::io::Read::read(&mut answered, &mut buffer);
            let body = super::super::encode_response(&PaymentDecision::Approved);
            let reply = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: {XML_CONTENT_TYPE}\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            std::io::Write::write_all(&mut answered, reply.as_bytes()).unwrap();
            // Keep the silent connection open until the client is done.
            drop(silent);
        });
        let client = PaymentClient::new(vec![addr.to_string()], Duration::from_millis(200));
        let started = std::time::Instant::now();
        assert_eq!(client.authorize(&payment()), Ok(PaymentDecision::Approved));
        let elapsed = started.elapsed();
        assert!(
            elapsed >= Duration::from_millis(200) && elapsed < Duration::from_secs(2),
            "one timed-out attempt, then an answer: {elapsed:?}"
        );
        server.join().unwrap();
    }

    #[test]
    fn non_soap_reply_is_malformed_and_names_the_status() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let server = tiny_http::Server::from_listener(listener, None).unwrap();
        let addr = server.server_addr().to_ip().unwrap();
        let responder = std::thread::spawn(move || {
            let request = server.recv().unwrap();
            let reply = tiny_http::Response::from_string("<html>nope</html>").with_status_code(404);
            request.respond(reply).unwrap();
        });
        let client = PaymentClient::new(vec![addr.to_string()], Duration::from_secs(2));
        let error = client.authorize(&payment()).unwrap_err();
        assert!(
            matches!(&error, SoapError::Malformed(m) if m.starts_with("HTTP 404")),
            "{error}"
        );
        responder.join().unwrap();
    }
}
