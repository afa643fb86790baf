//! HTTP/1.x.

pub mod headers;
pub(crate) mod inspect;
pub mod log;
pub mod parser;
pub(crate) mod state;

use crate::event::FlowId;
use crate::time::Timestamp;

pub(crate) use state::{HttpState, Next};

/// One HTTP request/response pair, as Zeek's `http.log` and Suricata's EVE `http` have it.
/// Text fields are escaped (see [`crate::text::escape_bytes`]).
#[derive(Clone, Debug)]
pub struct HttpRecord {
    /// The flow.
    pub flow: FlowId,
    /// When the request (or, without one, the response) was seen.
    pub ts: Timestamp,
    /// Position of the transaction in the connection (1-based).
    pub trans_depth: u32,
    /// Request method.
    pub method: Option<String>,
    /// Host header.
    pub host: Option<String>,
    /// Request target.
    pub uri: Option<String>,
    /// Referer header.
    pub referrer: Option<String>,
    /// Version (the response's if there was one, as Zeek).
    pub version: Option<parser::Version>,
    /// The request's version.
    pub request_version: Option<parser::Version>,
    /// The response's version.
    pub response_version: Option<parser::Version>,
    /// User-Agent header.
    pub user_agent: Option<String>,
    /// Origin header.
    pub origin: Option<String>,
    /// Request body length after transfer and content decoding.
    pub request_body_len: u64,
    /// Response body length after transfer and content decoding (Zeek's
    /// `response_body_len`: a gzip body counts its decompressed bytes).
    pub response_body_len: u64,
    /// Response body length as sent: after transfer decoding (chunks) but before content
    /// decoding (gzip, deflate). Suricata's EVE `length`, libhtp's response message length.
    pub response_message_len: u64,
    /// Final status code.
    pub status_code: Option<u16>,
    /// Final reason phrase.
    pub status_msg: Option<String>,
    /// The status as sent when it is not a number (Suricata's `status_string`).
    pub status_string: Option<String>,
    /// Last informational (1xx) code.
    pub info_code: Option<u16>,
    /// Its reason phrase.
    pub info_msg: Option<String>,
    /// User name of Basic authorization.
    pub username: Option<String>,
    /// Proxy-revealing headers, as `NAME -> value`.
    pub proxied: Vec<String>,
    /// Location header of the response.
    pub location: Option<String>,
    /// Media type sniffed from the request body.
    pub orig_mime: Option<&'static str>,
    /// Media type sniffed from the response body.
    pub resp_mime: Option<&'static str>,
    /// Request headers, raw.
    pub request_headers: headers::Headers,
    /// Response headers, raw.
    pub response_headers: headers::Headers,
    /// First bytes of the request body (bounded).
    pub request_body: Vec<u8>,
    /// First bytes of the response body (bounded).
    pub response_body: Vec<u8>,
}

impl HttpRecord {
    /// A transaction with nothing known yet.
    pub(crate) fn empty(flow: FlowId, ts: Timestamp) -> Self {
        HttpRecord {
            flow,
            ts,
            trans_depth: 0,
            method: None,
            host: None,
            uri: None,
            referrer: None,
            version: None,
            request_version: None,
            response_version: None,
            user_agent: None,
            origin: None,
            request_body_len: 0,
            response_body_len: 0,
            response_message_len: 0,
            status_code: None,
            status_msg: None,
            status_string: None,
            info_code: None,
            info_msg: None,
            username: None,
            proxied: Vec::new(),
            location: None,
            orig_mime: None,
            resp_mime: None,
            request_headers: headers::Headers::default(),
            response_headers: headers::Headers::default(),
            request_body: Vec::new(),
            response_body: Vec::new(),
        }
    }

    /// Completes derived fields (media types) once the bodies are in.
    pub(crate) fn finish(mut self) -> Self {
        self.orig_mime = parser::sniff_mime(&self.request_body);
        self.resp_mime = parser::sniff_mime(&self.response_body);
        self
    }

    /// A header of the request (case-insensitive name).
    pub fn request_header(&self, name: &str) -> Option<&[u8]> {
        self.request_headers.get(name)
    }

    /// A header of the response (case-insensitive name).
    pub fn response_header(&self, name: &str) -> Option<&[u8]> {
        self.response_headers.get(name)
    }
}
