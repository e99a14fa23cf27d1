//! A small JSON-over-HTTP server on tiny_http: one accept thread (tiny_http's
//! own), a fixed pool of handler threads pulling requests from it, and a
//! route table that maps method + path pattern to a handler.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use serde_json::json;

use crate::market::MarketError;

use super::error::{error_body, status_of};
use super::json::JsonBody;
use super::request::{ApiRequest, ReadError};

/// A handler: the frontend's context, the request, and the values of the
/// pattern's `:name` segments in order. Returns a status and a JSON body.
pub type RouteHandler<C> = fn(&C, &ApiRequest, &[String]) -> Result<(u16, JsonBody), MarketError>;

/// One entry of a route table.
pub struct Route<C> {
    /// HTTP method.
    pub method: &'static str,
    /// Path pattern; segments starting with ':' match any one segment.
    pub pattern: &'static str,
    /// What serves it.
    pub handler: RouteHandler<C>,
}

impl<C> Route<C> {
    /// `handler` serves `method` on paths that match `pattern`: one line
    /// per entry keeps a route table readable at a glance.
    pub fn new(method: &'static str, pattern: &'static str, handler: RouteHandler<C>) -> Self {
        Route {
            method,
            pattern,
            handler,
        }
    }
}

/// Calls answered (health checks aside), and those answered with a 5xx
/// status, since the server started: `GET /health` reports them (the live
/// view's calls per second).
#[derive(Default)]
struct CallCounts {
    calls: AtomicU64,
    errors: AtomicU64,
}

/// A running server; `shutdown` stops it.
pub struct HttpServer {
    server: Arc<tiny_http::Server>,
    stopping: Arc<AtomicBool>,
    workers: Vec<JoinHandle<()>>,
    address: SocketAddr,
}

impl HttpServer {
    /// Binds `address` and starts `workers` handler threads serving `routes`.
    /// `GET /health` is always there.
    pub fn start<C: Send + Sync + 'static>(
        address: SocketAddr,
        workers: usize,
        context: Arc<C>,
        routes: Vec<Route<C>>,
    ) -> std::io::Result<HttpServer> {
        let listener = std::net::TcpListener::bind(address)
            .map_err(|error| crate::config::bind_error("HTTP", address, error))?;
        disable_nagle(&listener)?;
        let server =
            tiny_http::Server::from_listener(listener, None).map_err(std::io::Error::other)?;
        let address = server.server_addr().to_ip().unwrap_or(address);
        let server = Arc::new(server);
        let stopping = Arc::new(AtomicBool::new(false));
        let routes = Arc::new(routes);
        let counts = Arc::new(CallCounts::default());
        let workers = (0..workers)
            .map(|n| {
                let (server, stopping) = (server.clone(), stopping.clone());
                let (context, routes) = (context.clone(), routes.clone());
                let counts = counts.clone();
                std::thread::Builder::new()
                    .name(format!("http-worker-{n}"))
                    .spawn(move || serve_requests(&server, &stopping, &*context, &routes, &counts))
            })
            .collect::<std::io::Result<Vec<_>>>()?;
        Ok(HttpServer {
            server,
            stopping,
            workers,
            address,
        })
    }

    /// The address it listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Blocks until the workers stop, which happens only on shutdown or
    /// when the listening socket fails for good (tiny_http's accept loop
    /// ends at its first error; the process should then exit).
    pub fn wait(self) {
        for worker in self.workers {
            let _ = worker.join();
        }
    }

    /// Stops the workers once they finish their current request.
    pub fn shutdown(self) {
        self.stopping.store(true, Ordering::SeqCst);
        for _ in 0..self.workers.len() {
            self.server.unblock();
        }
        self.wait();
    }
}

/// Turns Nagle's algorithm off for every connection the listener accepts
/// (Linux accepted sockets inherit it). tiny_http writes a response through
/// a 1 KiB buffer, so a longer body goes out in two writes, and with Nagle
/// the second waits for the client's delayed ACK: 40 ms per reply (measured
/// in docs/EVALUATION.md).
fn disable_nagle(listener: &std::net::TcpListener) -> std::io::Result<()> {
    use std::os::fd::AsFd;
    crate::transport::set_int_option(listener.as_fd(), libc::IPPROTO_TCP, libc::TCP_NODELAY, 1)
}

/// One handler thread's job: take a request, answer it, repeat.
fn serve_requests<C>(
    server: &tiny_http::Server,
    stopping: &AtomicBool,
    context: &C,
    routes: &[Route<C>],
    counts: &CallCounts,
) {
    while !stopping.load(Ordering::SeqCst) {
        let mut request = match server.recv() {
            Ok(request) => request,
            Err(error) => {
                log::error!("HTTP server stopped accepting: {error}");
                return;
            }
        };
        let (status, body) = answer(&mut request, context, routes, counts);
        if status >= 500 {
            counts.errors.fetch_add(1, Ordering::Relaxed);
        }
        let text = body.into_text();
        let response = tiny_http::Response::from_string(text)
            .with_status_code(status)
            .with_header(json_content_type());
        if let Err(error) = request.respond(response) {
            log::debug!("could not send a response: {error}");
        }
    }
}

fn json_content_type() -> tiny_http::Header {
    "Content-Type: application/json"
        .parse()
        .expect("a valid static header")
}

fn answer<C>(
    request: &mut tiny_http::Request,
    context: &C,
    routes: &[Route<C>],
    counts: &CallCounts,
) -> (u16, JsonBody) {
    let api_request = match ApiRequest::read(request) {
        Ok(api_request) => api_request,
        Err(ReadError::TooLarge) => {
            let error =
                MarketError::invalid(format!("request body over {} bytes", super::BODY_BYTES_MAX));
            return (413, error_body(&error).into());
        }
        Err(ReadError::Bad(error)) => return (status_of(&error), error_body(&error).into()),
        Err(ReadError::UnknownTransferCoding(coding)) => {
            let message = format!("transfer coding {coding:?} is not supported (only chunked)");
            return (
                501,
                json!({ "error": { "kind": "not_implemented", "message": message } }).into(),
            );
        }
    };
    if api_request.method == "GET" && api_request.segments == ["health"] {
        return (
            200,
            json!({
                "status": "ok",
                "calls": counts.calls.load(Ordering::Relaxed),
                "errors": counts.errors.load(Ordering::Relaxed),
            })
            .into(),
        );
    }
    // Every call but a health check counts.
    counts.calls.fetch_add(1, Ordering::Relaxed);
    let mut path_known = false;
    for route in routes {
        let Some(parameters) = match_pattern(route.pattern, &api_request.segments) else {
            continue;
        };
        path_known = true;
        if route.method != api_request.method {
            continue;
        }
        return match (route.handler)(context, &api_request, &parameters) {
            Ok(reply) => reply,
            Err(error) => {
                log::debug!("{} {} -> {error}", api_request.method, route.pattern);
                (status_of(&error), error_body(&error).into())
            }
        };
    }
    let (status, kind) = if path_known {
        (405, "method_not_allowed")
    } else {
        (404, "not_found")
    };
    let message = format!(
        "no route for {} /{}",
        api_request.method,
        api_request.segments.join("/")
    );
    (
        status,
        json!({ "error": { "kind": kind, "message": message } }).into(),
    )
}

/// The `:name` values if `segments` match `pattern`.
fn match_pattern(pattern: &str, segments: &[String]) -> Option<Vec<String>> {
    let parts: Vec<&str> = pattern.split('/').filter(|s| !s.is_empty()).collect();
    if parts.len() != segments.len() {
        return None;
    }
    let mut parameters = Vec::new();
    for (part, segment) in parts.iter().zip(segments) {
        if part.starts_with(':') {
            parameters.push(segment.clone());
        } else if part != segment {
            return None;
        }
    }
    Some(parameters)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpStream;
    use std::time::{Duration, Instant};

    /// Sends raw bytes and returns the status of the first answer, and how
    /// long it took; `None` if no answer came within 2 s.
    fn status_of_raw(address: SocketAddr, bytes: &[u8]) -> (Option<u16>, Duration) {
        let mut stream = TcpStream::connect(address).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(2)))
            .unwrap();
        let started = Instant::now();
        stream.write_all(bytes).expect("send");
        let mut answer = [0u8; 64];
        let read = stream.read(&mut answer).unwrap_or(0);
        let text = String::from_utf8_lossy(&answer[..read]).to_string();
        let status = text
            .strip_prefix("HTTP/1.1 ")
            .and_then(|rest| rest.get(..3))
            .and_then(|code| code.parse().ok());
        (status, started.elapsed())
    }

    #[test]
    fn malformed_framing_is_answered_at_once_and_the_server_serves_on() {
        let server = HttpServer::start("127.0.0.1:0".parse().unwrap(), 2, Arc::new(()), Vec::new())
            .expect("start");
        let address = server.address();
        // Not here, because tiny_http 0.12 cannot answer them: a request
        // with bare LF line endings (it waits for CRLF until the client
        // closes) and an HTTP/2.0 request line (its 505 waits on the
        // request it refuses, and the connection's thread hangs). See the
        // README's "Known limits".
        let cases: [(&str, u16); 4] = [
            (
                "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\nabc",
                501,
            ),
            (
                "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\
                 Content-Length: 3\r\n\r\n0\r\n\r\n",
                400,
            ),
            (
                "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
                400,
            ),
            ("\x16\x03\x01 not http at all\r\n\r\n", 400),
        ];
        for (request, expected) in cases {
            let (status, took) = status_of_raw(address, request.as_bytes());
            assert_eq!(status, Some(expected), "{request:?}");
            assert!(took < Duration::from_secs(1), "{request:?} took {took:?}");
        }
        let (status, _) = status_of_raw(address, b"GET /health HTTP/1.1\r\nHost: a\r\n\r\n");
        assert_eq!(status, Some(200), "still serving");
        server.shutdown();
    }

    #[test]
    fn patterns_bind_named_segments() {
        let segments = |p: &str| {
            p.split('/')
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            match_pattern(
                "/seller/items/:id/price",
                &segments("/seller/items/3-1/price")
            ),
            Some(vec!["3-1".to_string()])
        );
        assert_eq!(
            match_pattern("/seller/items", &segments("/seller/items/3-1")),
            None
        );
        assert_eq!(
            match_pattern("/seller/items", &segments("/buyer/items")),
            None
        );
    }
}
