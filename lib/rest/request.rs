//! An HTTP request as the API handlers see it: method, path segments, query
//! parameters, the two headers that matter, and a body read under a limit.

use std::io::Read;

use crate::market::{HistoryPage, MarketError, Page, RequestId, SessionToken};

use super::BODY_BYTES_MAX;

/// A parsed request.
#[derive(Debug)]
pub struct ApiRequest {
    /// GET, POST, PUT...
    pub method: String,
    /// The path split at '/', without empty segments.
    pub segments: Vec<String>,
    /// Query parameters in order, percent-decoded.
    pub query: Vec<(String, String)>,
    /// The `X-Session` header.
    pub session: Option<SessionToken>,
    /// The `X-Request-Id` header, or a fresh id when the caller sent none.
    pub request_id: RequestId,
    /// The body (at most `BODY_BYTES_MAX` bytes).
    pub body: Vec<u8>,
}

/// Why a request could not even be read.
#[derive(Debug)]
pub enum ReadError {
    /// The body is larger than the limit (413).
    TooLarge,
    /// A header or the body is malformed (400).
    Bad(MarketError),
    /// The body comes in a transfer coding this server does not know
    /// (501, as RFC 9112 section 6.1 says); its length is then unknown.
    UnknownTransferCoding(String),
}

impl ApiRequest {
    /// Reads method, path, headers and a bounded body from tiny_http.
    pub fn read(request: &mut tiny_http::Request) -> Result<ApiRequest, ReadError> {
        check_framing(request.headers())?;
        if request
            .body_length()
            .is_some_and(|length| length > BODY_BYTES_MAX)
        {
            return Err(ReadError::TooLarge);
        }
        let mut body = Vec::new();
        // Read one byte past the limit to tell "exactly at" from "over"
        // for chunked bodies, which announce no length.
        let limit = (BODY_BYTES_MAX + 1) as u64;
        if request
            .as_reader()
            .take(limit)
            .read_to_end(&mut body)
            .is_err()
        {
            return Err(ReadError::Bad(MarketError::invalid(
                "could not read the request body",
            )));
        }
        if body.len() > BODY_BYTES_MAX {
            return Err(ReadError::TooLarge);
        }
        let header = |name: &'static str| {
            request
                .headers()
                .iter()
                .find(|h| h.field.equiv(name))
                .map(|h| h.value.as_str().trim().to_string())
        };
        let session = header("X-Session")
            .filter(|s| !s.is_empty())
            .map(SessionToken);
        let request_id = match header("X-Request-Id") {
            Some(id) => RequestId::parse(&id).map_err(ReadError::Bad)?,
            None => RequestId::random(),
        };
        let (path, query) = match request.url().split_once('?') {
            Some((path, query)) => (path.to_string(), parse_query(query)),
            None => (request.url().to_string(), Vec::new()),
        };
        let segments = path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(percent_decode)
            .collect();
        Ok(ApiRequest {
            method: request.method().as_str().to_ascii_uppercase(),
            segments,
            query,
            session,
            request_id,
            body,
        })
    }

    /// The session, or the error every authenticated call returns without one.
    pub fn session(&self) -> Result<SessionToken, MarketError> {
        self.session.clone().ok_or_else(|| {
            MarketError::Unauthenticated("no session: log in and send the X-Session header".into())
        })
    }

    /// The first value of query parameter `name`.
    pub fn query_value(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// Which page of a list the caller asks for: query parameters `limit`
    /// (default `PAGE_ITEMS_DEFAULT`) and `after` (a cursor from the
    /// previous page's `next`).
    pub fn page(&self) -> Result<Page, MarketError> {
        Page::parse(self.query_value("limit"), self.query_value("after"))
    }

    /// Which page of a buyer's history the caller asks for: query
    /// parameters `limit` (default `HISTORY_PAGE_PURCHASES_MAX`) and `after`.
    pub fn history_page(&self) -> Result<HistoryPage, MarketError> {
        HistoryPage::parse(self.query_value("limit"), self.query_value("after"))
    }
}

/// Refuses, before any of the body is read, a request whose body length
/// cannot be known for sure: a transfer coding other than `chunked` (which
/// tiny_http would read as chunked), or a `Content-Length` beside a
/// `Transfer-Encoding`, or two different `Content-Length`s (request
/// smuggling: a proxy and this server could split the bytes differently;
/// RFC 9112 section 6.3 says to treat it as an error).
fn check_framing(headers: &[tiny_http::Header]) -> Result<(), ReadError> {
    let values = |name: &'static str| {
        headers
            .iter()
            .filter(move |h| h.field.equiv(name))
            .map(|h| h.value.as_str().trim().to_ascii_lowercase())
    };
    let codings: Vec<String> = values("Transfer-Encoding")
        .flat_map(|value| {
            value
                .split(',')
                .map(|coding| coding.trim().to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    if let Some(unknown) = codings.iter().find(|coding| coding.as_str() != "chunked") {
        return Err(ReadError::UnknownTransferCoding(unknown.clone()));
    }
    let lengths: Vec<String> = values("Content-Length").collect();
    if !codings.is_empty() && !lengths.is_empty() {
        return Err(ReadError::Bad(MarketError::invalid(
            "both Content-Length and Transfer-Encoding: the body's length is ambiguous",
        )));
    }
    if lengths.iter().any(|length| length != &lengths[0])
        || lengths
            .first()
            .is_some_and(|length| length.parse::<u64>().is_err())
    {
        return Err(ReadError::Bad(MarketError::invalid(
            "Content-Length must be one number",
        )));
    }
    Ok(())
}

fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((key, value)) => (percent_decode(key), percent_decode(value)),
            None => (percent_decode(pair), String::new()),
        })
        .collect()
}

/// Decodes `%XX` escapes and `+` (as a space); a broken escape is kept as
/// written, and bytes that are not UTF-8 are replaced.
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(byte) => {
                        decoded.push(byte);
                        i += 3;
                        continue;
                    }
                    None => decoded.push(b'%'),
                }
            }
            b'+' => decoded.push(b' '),
            byte => decoded.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_escapes_and_keeps_broken_ones() {
        assert_eq!(percent_decode("a%20b+c"), "a b c");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
        assert_eq!(percent_decode("%4"), "%4");
        assert_eq!(
            parse_query("category=3&keywords=a,b&flag"),
            vec![
                ("category".to_string(), "3".to_string()),
                ("keywords".to_string(), "a,b".to_string()),
                ("flag".to_string(), String::new()),
            ]
        );
    }
}
