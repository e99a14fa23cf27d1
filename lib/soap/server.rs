//! The financial service's HTTP endpoint: a tiny_http server drained by a
//! fixed pool of worker threads, each answering one request at a time.
//!
//! ```text
//! POST /soap       SOAP call: 200 + response, or 500 + Fault; 413 over BODY_BYTES_MAX
//! GET  /soap?wsdl  the WSDL, addressed to the Host the client used
//! GET  /health     200 "ok"
//! other methods on those paths 405; other paths 404
//! ```

use std::io::{self, Cursor, Read};
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::SystemTime;

use tiny_http::{Header, Method, Request, Response};

use super::{
    decode_request, encode_fault, encode_response, wsdl, year_month_utc, ApprovalPolicy, FaultCode,
    PaymentDecision, SoapError, BODY_BYTES_MAX, SOAP_PATH, XML_CONTENT_TYPE,
};

/// An HTTP reply, built in memory (every body here is small).
type Reply = Response<Cursor<Vec<u8>>>;

/// What the workers share.
struct Shared {
    server: tiny_http::Server,
    policy: ApprovalPolicy,
    /// The port actually bound (port 0 picks one), for the WSDL's fallback address.
    addr: SocketAddr,
    /// Set to make the workers return; each blocked `recv()` needs an `unblock()`.
    stop: AtomicBool,
    /// Set when a worker stopped the server because `recv()` failed.
    failed: AtomicBool,
    worker_count: usize,
}

impl Shared {
    /// Asks every worker to return, waking those blocked in `recv()`.
    fn stop_workers(&self) {
        self.stop.store(true, Ordering::SeqCst);
        for _ in 0..self.worker_count {
            self.server.unblock();
        }
    }
}

/// A running financial service. Dropping it stops the service, like `shutdown`.
pub struct ServerHandle {
    shared: Arc<Shared>,
    workers: Vec<JoinHandle<()>>,
}

/// Starts the service on `listener_addr` (port 0 picks a free port; see
/// `ServerHandle::addr`) with `workers` threads deciding by `policy`.
pub fn serve(
    listener_addr: SocketAddr,
    policy: ApprovalPolicy,
    workers: usize,
) -> io::Result<ServerHandle> {
    policy
        .validate()
        .map_err(|m| io::Error::new(io::ErrorKind::InvalidInput, m))?;
    if workers == 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "at least one worker is needed",
        ));
    }
    let listener = TcpListener::bind(listener_addr)
        .map_err(|error| crate::config::bind_error("SOAP", listener_addr, error))?;
    let addr = listener.local_addr()?;
    let server = tiny_http::Server::from_listener(listener, None).map_err(io::Error::other)?;
    let shared = Arc::new(Shared {
        server,
        policy,
        addr,
        stop: AtomicBool::new(false),
        failed: AtomicBool::new(false),
        worker_count: workers,
    });
    // Built before the threads, so that a failed spawn drops it and stops the others.
    let mut handle = ServerHandle {
        shared,
        workers: Vec::with_capacity(workers),
    };
    for index in 0..workers {
        let shared = Arc::clone(&handle.shared);
        let name = format!("soap-worker-{index}");
        handle.workers.push(
            thread::Builder::new()
                .name(name)
                .spawn(move || run_worker(&shared))?,
        );
    }
    log::info!(
        "financial service on http://{addr}{SOAP_PATH} ({workers} workers, approve probability {})",
        policy.approve_probability
    );
    Ok(handle)
}

impl ServerHandle {
    /// The address the service listens on.
    pub fn addr(&self) -> SocketAddr {
        self.shared.addr
    }

    /// Stops the workers, waits for them, and closes the listening socket.
    pub fn shutdown(mut self) {
        self.stop_and_join();
    }

    /// Blocks until the service stops by itself, which happens only when it
    /// can no longer accept connections; that is an `Err`, so that a binary
    /// can exit with a failure and be restarted.
    pub fn wait(mut self) -> io::Result<()> {
        self.join_workers();
        if self.shared.failed.load(Ordering::SeqCst) {
            return Err(io::Error::other(
                "the financial service stopped accepting requests",
            ));
        }
        Ok(())
    }

    fn stop_and_join(&mut self) {
        // Empty once joined: `shutdown` or `wait`, then `drop`, stop only once.
        if !self.workers.is_empty() {
            self.shared.stop_workers();
            self.join_workers();
        }
    }

    fn join_workers(&mut self) {
        for worker in self.workers.drain(..) {
            if worker.join().is_err() {
                log::error!("a financial-service worker panicked");
            }
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

/// A worker's loop: take a request, answer it, until told to stop.
fn run_worker(shared: &Shared) {
    while !shared.stop.load(Ordering::SeqCst) {
        match shared.server.recv() {
            Ok(request) => answer(request, shared),
            // `unblock()` woke us: shutting down.
            Err(_) if shared.stop.load(Ordering::SeqCst) => return,
            // tiny_http's accept loop has ended for good (EMFILE, say): no
            // request will ever come again, so stop the whole service.
            Err(error) => {
                log::error!("financial service cannot accept connections: {error}");
                shared.failed.store(true, Ordering::SeqCst);
                shared.stop_workers();
                return;
            }
        }
    }
}

/// Routes one request and sends the reply.
fn answer(mut request: Request, shared: &Shared) {
    let reply = route(&mut request, shared);
    if let Err(error) = request.respond(reply) {
        log::warn!("could not send a financial-service reply: {error}");
    }
}

fn route(request: &mut Request, shared: &Shared) -> Reply {
    let url = request.url().to_string();
    let (path, query) = url.split_once('?').unwrap_or((&url, ""));
    match (path, request.method()) {
        ("/health", Method::Get) => text_reply(200, "ok"),
        ("/health", _) => text_reply(405, "use GET /health"),
        (SOAP_PATH, Method::Get) if query.eq_ignore_ascii_case("wsdl") => {
            xml_reply(200, wsdl(&endpoint_url(request, shared.addr)))
        }
        (SOAP_PATH, Method::Post) => soap_call(request, &shared.policy),
        (SOAP_PATH, _) => text_reply(405, "use POST /soap for calls, GET /soap?wsdl for the WSDL"),
        _ => text_reply(404, "not found"),
    }
}

/// The URL of the SOAP endpoint as this client reaches it: its Host header
/// if it sent one (we may listen on 0.0.0.0), else the bound address.
fn endpoint_url(request: &Request, addr: SocketAddr) -> String {
    let host = request
        .headers()
        .iter()
        .find(|header| header.field.equiv("Host"));
    match host {
        Some(header) => format!("http://{}{SOAP_PATH}", header.value.as_str()),
        None => format!("http://{addr}{SOAP_PATH}"),
    }
}

/// Answers one SOAP call: decode, decide, encode.
fn soap_call(request: &mut Request, policy: &ApprovalPolicy) -> Reply {
    let body = match read_body(request) {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    let Ok(xml) = String::from_utf8(body) else {
        return fault_reply(SoapError::client_fault("request body is not UTF-8"));
    };
    let payment = match decode_request(&xml) {
        Ok(payment) => payment,
        Err(error) => return fault_reply(error),
    };
    match policy.decide(&payment, year_month_utc(SystemTime::now())) {
        Ok(decision) => {
            let verdict = match &decision {
                PaymentDecision::Approved => "approved",
                PaymentDecision::Declined(_) => "declined",
            };
            log::info!(
                "payment {}: {} cents {verdict}",
                payment.request_id,
                payment.amount_cents
            );
            xml_reply(200, encode_response(&decision))
        }
        Err(error) => fault_reply(error),
    }
}

/// Reads the body, at most `BODY_BYTES_MAX` bytes, or the reply refusing it.
fn read_body(request: &mut Request) -> Result<Vec<u8>, Reply> {
    let too_large = || text_reply(413, "request body over 64 KiB");
    if request
        .body_length()
        .is_some_and(|length| length > BODY_BYTES_MAX)
    {
        return Err(too_large());
    }
    // Chunked bodies have no declared length: read one byte past the limit
    // to find out, and never more.
    let mut body = Vec::new();
    let mut reader = request.as_reader().take(BODY_BYTES_MAX as u64 + 1);
    if let Err(error) = reader.read_to_end(&mut body) {
        return Err(text_reply(
            400,
            &format!("could not read the request body: {error}"),
        ));
    }
    if body.len() > BODY_BYTES_MAX {
        return Err(too_large());
    }
    Ok(body)
}

/// A Fault reply: HTTP 500, as SOAP 1.1 requires for every Fault.
fn fault_reply(error: SoapError) -> Reply {
    let (code, message) = match error {
        SoapError::Fault { code, message } => (code, message),
        // The codec and the policy only make Faults; anything else is our bug.
        other => (FaultCode::Server, other.to_string()),
    };
    log::info!("payment refused with {}: {message}", code.qualified_name());
    xml_reply(500, encode_fault(code, &message))
}

fn xml_reply(status: u16, body: String) -> Reply {
    with_content_type(
        Response::from_string(body).with_status_code(status),
        XML_CONTENT_TYPE,
    )
}

fn text_reply(status: u16, body: &str) -> Reply {
    let response = Response::from_string(body).with_status_code(status);
    with_content_type(response, "text/plain; charset=utf-8")
}

fn with_content_type(response: Reply, content_type: &str) -> Reply {
    // Both arguments are ASCII constants, which `from_bytes` always accepts.
    match Header::from_bytes("Content-Type", content_type) {
        Ok(header) => response.with_header(header),
        Err(()) => response,
    }
}

#[cfg(test)]
mod tests {
    //! Loopback tests: a real server on 127.0.0.1:0, called through
    //! `PaymentClient` and through raw ureq requests.

    use std::time::Duration;

    use super::*;
    use crate::soap::{PaymentClient, PaymentRequest, AUTHORIZE_ACTION};

    fn start(approve_probability: f64) -> ServerHandle {
        let policy = ApprovalPolicy {
            approve_probability,
            seed: 1,
        };
        serve("127.0.0.1:0".parse().unwrap(), policy, 2).expect("server starts")
    }

    fn client(server: &ServerHandle) -> PaymentClient {
        PaymentClient::new(vec![server.addr().to_string()], Duration::from_secs(5))
    }

    fn payment() -> PaymentRequest {
        PaymentRequest {
            request_id: "loopback-1".to_string(),
            card_holder: "Grace <Hopper> & Co".to_string(),
            card_number: "5500 0000 0000 0004".to_string(),
            expiry: "12/99".to_string(),
            amount_cents: 999,
        }
    }

    /// Status and body of a raw request, whatever the status.
    fn call(method: &str, url: &str, body: &[u8]) -> (u16, String) {
        let response = match ureq::request(method, url).send_bytes(body) {
            Ok(response) => response,
            Err(ureq::Error::Status(_, response)) => response,
            Err(error) => panic!("{method} {url}: {error}"),
        };
        (response.status(), response.into_string().unwrap())
    }

    #[test]
    fn approves_declines_and_faults_over_http() {
        let approving = start(1.0);
        assert_eq!(
            client(&approving).authorize(&payment()),
            Ok(PaymentDecision::Approved)
        );
        let declining = start(0.0);
        let declined = PaymentDecision::Declined("card declined".to_string());
        assert_eq!(client(&declining).authorize(&payment()), Ok(declined));

        let mut expired = payment();
        expired.expiry = "01/20".to_string();
        let fault = client(&approving).authorize(&expired);
        assert_eq!(fault, Err(SoapError::client_fault("card expired in 01/20")));
        approving.shutdown();
        declining.shutdown();
    }

    #[test]
    fn serves_wsdl_health_404_405_and_413() {
        let server = start(0.95);
        let base = format!("http://{}", server.addr());
        let (status, wsdl) = call("GET", &format!("{base}/soap?wsdl"), b"");
        assert_eq!(status, 200);
        assert!(
            wsdl.contains(&format!("location=\"{base}/soap\"")),
            "{wsdl}"
        );
        assert!(roxmltree::Document::parse(&wsdl).is_ok());
        assert_eq!(
            call("GET", &format!("{base}/health"), b""),
            (200, "ok".to_string())
        );
        assert_eq!(call("GET", &format!("{base}/nowhere"), b"").0, 404);
        assert_eq!(call("GET", &format!("{base}/soap"), b"").0, 405);
        assert_eq!(call("PUT", &format!("{base}/soap"), b"x").0, 405);

        let huge = vec![b'x'; BODY_BYTES_MAX + 1];
        assert_eq!(call("POST", &format!("{base}/soap"), &huge).0, 413);
        // Exactly the limit is read, and refused only as bad XML.
        let (status, body) = call("POST", &format!("{base}/soap"), &huge[..BODY_BYTES_MAX]);
        assert_eq!(status, 500);
        assert!(
            body.contains("<faultcode>soap:Client</faultcode>"),
            "{body}"
        );
        server.shutdown();
    }

    #[test]
    fn bad_requests_get_client_faults_with_http_500() {
        let server = start(1.0);
        let url = format!("http://{}/soap", server.addr());
        for body in [&b"not xml"[..], b"", b"\xff\xfe<bad utf-8>"] {
            let response = ureq::post(&url)
                .set("Content-Type", XML_CONTENT_TYPE)
                .set("SOAPAction", &format!("\"{AUTHORIZE_ACTION}\""))
                .send_bytes(body);
            let Err(ureq::Error::Status(500, response)) = response else {
                panic!("expected HTTP 500 for {body:?}");
            };
            assert_eq!(response.header("Content-Type"), Some(XML_CONTENT_TYPE));
            let reply = response.into_string().unwrap();
            let decoded = crate::soap::decode_response(&reply);
            assert!(matches!(
                decoded,
                Err(SoapError::Fault {
                    code: FaultCode::Client,
                    ..
                })
            ));
        }
        // The server is still there after all that.
        assert_eq!(
            client(&server).authorize(&payment()),
            Ok(PaymentDecision::Approved)
        );
    }

    #[test]
    fn shutdown_closes_the_port_and_the_client_reports_transport() {
        let server = start(1.0);
        let addr = server.addr();
        server.shutdown();
        let client = PaymentClient::new(vec![addr.to_string()], Duration::from_secs(2));
        assert!(matches!(
            client.authorize(&payment()),
            Err(SoapError::Transport(_))
        ));
    }

    #[test]
    fn client_fails_over_to_the_next_endpoint() {
        let dead = start(1.0);
        let dead_addr = dead.addr().to_string();
        dead.shutdown();
        let live = start(1.0);
        let endpoints = vec![dead_addr, live.addr().to_string()];
        let client = PaymentClient::new(endpoints, Duration::from_secs(2));
        assert_eq!(client.authorize(&payment()), Ok(PaymentDecision::Approved));
    }

    #[test]
    fn bad_policy_or_no_workers_is_refused() {
        let addr = "127.0.0.1:0".parse().unwrap();
        let bad = ApprovalPolicy {
            approve_probability: 2.0,
            seed: 0,
        };
        assert!(serve(addr, bad, 1).is_err());
        let good = ApprovalPolicy {
            approve_probability: 0.5,
            seed: 0,
        };
        assert!(serve(addr, good, 0).is_err());
    }
}
