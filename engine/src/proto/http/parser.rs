//! HTTP/1.x message heads (with `httparse`, and a lenient fallback so that a malformed head
//! is still read rather than skipped), chunked transfer decoding, and content sniffing.

use memchr::memmem;

use super::headers::Headers;

/// Headers kept per message at most.
pub const MAX_HEADERS: usize = 128;

/// A request or status line and its headers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Head {
    /// Request method (requests).
    pub method: Vec<u8>,
    /// Request target (requests).
    pub uri: Vec<u8>,
    /// Status code (responses).
    pub status: u16,
    /// Reason phrase (responses).
    pub reason: Vec<u8>,
    /// The status as sent when it is not a number (`2XX`); `status` is then 0.
    pub status_text: Option<Vec<u8>>,
    /// Protocol version as written, e.g. `1.1` (see [`version_text`]).
    pub version: Version,
    /// Headers, in order, names as sent.
    pub headers: Headers,
    /// httparse refused the head and the lenient reader was used.
    pub lenient: bool,
}

impl Head {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers.get(name)
    }

    /// Whether a header's comma-separated value contains `token` (case-insensitive).
    pub fn has_token(&self, name: &str, token: &str) -> bool {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .any(|(_, v)| {
                v.split(|b| *b == b',')
                    .any(|t| t.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
            })
    }

    /// The Content-Length, if present and valid.
    pub fn content_length(&self) -> Option<u64> {
        let v = self.header("content-length")?;
        std::str::from_utf8(v).ok()?.trim().parse().ok()
    }
}

/// Where the head ends (the index after the blank line), if it is complete.
pub fn head_end(buf: &[u8]) -> Option<usize> {
    let crlf = memmem::find(buf, b"\r\n\r\n").map(|i| i + 4);
    let lf = memmem::find(buf, b"\n\n").map(|i| i + 2);
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn config() -> httparse::ParserConfig {
    let mut c = httparse::ParserConfig::default();
    c.allow_multiple_spaces_in_request_line_delimiters(true)
        .allow_multiple_spaces_in_response_status_delimiters(true)
        .allow_obsolete_multiline_headers_in_responses(true)
        .allow_spaces_after_header_name_in_responses(true)
        .allow_space_before_first_header_name(true)
        .ignore_invalid_headers_in_requests(true)
        .ignore_invalid_headers_in_responses(true);
    c
}

/// A protocol version's text: `1.0` and `1.1` (nearly every message) are static, so a
/// transaction copies its version into the request's and the response's fields without an
/// allocation.
pub type Version = std::borrow::Cow<'static, str>;

/// The two versions kept as static text.
const STATIC_VERSIONS: [(&str, &str); 2] = [("1.0", "HTTP/1.0"), ("1.1", "HTTP/1.1")];

/// The text of version `v` (`1.1`), without allocation for `1.0` and `1.1`.
pub fn version_text(v: &str) -> Version {
    match STATIC_VERSIONS.iter().find(|(known, _)| *known == v) {
        Some((known, _)) => Version::Borrowed(known),
        None => Version::Owned(v.to_string()),
    }
}

/// Suricata's `protocol` for version `v` (`HTTP/1.1`), without allocation for `1.0` and
/// `1.1`.
pub fn protocol_text(v: &str) -> Version {
    match STATIC_VERSIONS.iter().find(|(known, _)| *known == v) {
        Some((_, protocol)) => Version::Borrowed(protocol),
        None => Version::Owned(format!("HTTP/{v}")),
    }
}

/// The version of httparse's minor number `minor` (it reads `HTTP/1.0` and `HTTP/1.1`
/// only; any other number is written out all the same).
fn minor_version(minor: u8) -> Version {
    match STATIC_VERSIONS.get(usize::from(minor)) {
        Some((known, _)) => Version::Borrowed(known),
        None => Version::Owned(format!("1.{minor}")),
    }
}

fn owned_headers(h: &[httparse::Header<'_>]) -> Headers {
    let bytes = h.iter().map(|h| h.name.len() + h.value.len()).sum();
    let mut out = Headers::with_capacity(h.len(), bytes);
    for h in h {
        out.push(h.name.as_bytes(), h.value);
    }
    out
}

/// Parses a complete request head.
pub fn parse_request(head: &[u8]) -> Option<Head> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    if let Ok(httparse::Status::Complete(_)) = config().parse_request(&mut req, head) {
        return Some(Head {
            method: req.method?.as_bytes().to_vec(),
            uri: req.path?.as_bytes().to_vec(),
            version: minor_version(req.version?),
            headers: owned_headers(req.headers),
            ..Head::default()
        });
    }
    lenient(head, true)
}

/// Parses a complete response head.
pub fn parse_response(head: &[u8]) -> Option<Head> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut resp = httparse::Response::new(&mut headers);
    if let Ok(httparse::Status::Complete(_)) = config().parse_response(&mut resp, head) {
        return Some(Head {
            status: resp.code?,
            reason: resp.reason.unwrap_or("").as_bytes().to_vec(),
            version: minor_version(resp.version?),
            headers: owned_headers(resp.headers),
            ..Head::default()
        });
    }
    lenient(head, false)
}

/// Reads a head line by line, accepting what a browser or a server would (any version,
/// odd bytes in the target, header lines without a colon skipped).
fn lenient(head: &[u8], request: bool) -> Option<Head> {
    let mut lines = head
        .split(|b| *b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let first = lines.next()?;
    let mut parts = first.split(|b| *b == b' ').filter(|p| !p.is_empty());
    let mut h = Head {
        lenient: true,
        ..Head::default()
    };
    if request {
        // METHOD SP target SP version, where the target may itself hold spaces.
        h.method = parts.next()?.to_vec();
        let after_method = first.get(h.method.len() + 1..)?.trim_ascii();
        let (target, version) = match after_method.iter().rposition(|b| *b == b' ') {
            Some(i) if after_method[i + 1..].starts_with(b"HTTP/") => {
                (after_method[..i].trim_ascii(), &after_method[i + 1..])
            }
            _ => (after_method, &b"HTTP/0.9"[..]),
        };
        h.uri = target.to_vec();
        h.version = version_text(&String::from_utf8_lossy(version.strip_prefix(b"HTTP/")?));
        if !h
            .method
            .iter()
            .all(|b| b.is_ascii_alphabetic() || *b == b'-' || *b == b'_')
        {
            return None;
        }
    } else {
        let v = parts.next()?;
        h.version = version_text(&String::from_utf8_lossy(v.strip_prefix(b"HTTP/")?));
        let code = parts.next()?;
        match std::str::from_utf8(code).ok().and_then(|c| c.parse().ok()) {
            Some(n) => h.status = n,
            // A status that is not a number (`2XX`): kept as text, as Suricata logs it.
            None if code.len() <= 16 && code.iter().all(u8::is_ascii_graphic) => {
                h.status_text = Some(code.to_vec());
            }
            None => return None,
        }
        let at = first.iter().position(|b| *b == b' ').unwrap_or(0);
        let rest = first.get(at + 1..).unwrap_or(&[]);
        let after_code = rest
            .iter()
            .position(|b| *b == b' ')
            .map_or(&[][..], |i| &rest[i + 1..]);
        h.reason = after_code.to_vec();
    }
    for line in lines {
        if line.is_empty() || h.headers.len() >= MAX_HEADERS {
            break;
        }
        if let Some(i) = line.iter().position(|b| *b == b':') {
            let (n, v) = line.split_at(i);
            h.headers.push(n.trim_ascii(), v[1..].trim_ascii());
        }
    }
    Some(h)
}

/// Chunked transfer decoding, incremental.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Chunked {
    /// Reading a chunk-size line.
    #[default]
    Size,
    /// Inside a chunk, this many bytes left.
    Data(u64),
    /// The CRLF after a chunk's data.
    DataEnd,
    /// Trailer lines after the last chunk.
    Trailer,
    /// Done.
    Done,
    /// The encoding is broken; the rest is not body.
    Broken,
}

/// What a step of chunked decoding produced.
#[derive(Debug, Default)]
pub struct ChunkStep {
    /// Bytes of input consumed.
    pub consumed: usize,
    /// The body bytes found, as ranges of the input.
    pub body: Vec<(usize, usize)>,
}

impl Chunked {
    /// Decodes what it can of `data`. Lines split across calls need the caller to keep the
    /// unconsumed tail (at most a line).
    pub fn feed(&mut self, data: &[u8]) -> ChunkStep {
        let mut step = ChunkStep::default();
        let mut at = 0;
        while at < data.len() {
            let rest = &data[at..];
            match self {
                Chunked::Size => {
                    let Some(nl) = memchr::memchr(b'\n', rest) else {
                        if rest.len() > 1024 {
                            *self = Chunked::Broken;
                        }
                        break;
                    };
                    let line = &rest[..nl];
                    let hex_end = line
                        .iter()
                        .position(|b| !b.is_ascii_hexdigit())
                        .unwrap_or(line.len());
                    let size = std::str::from_utf8(&line[..hex_end])
                        .ok()
                        .and_then(|s| u64::from_str_radix(s, 16).ok());
                    match size {
                        Some(0) => *self = Chunked::Trailer,
                        Some(n) => *self = Chunked::Data(n),
                        None => {
                            *self = Chunked::Broken;
                            break;
                        }
                    }
                    at += nl + 1;
                }
                Chunked::Data(left) => {
                    let n = usize::try_from(*left).unwrap_or(usize::MAX).min(rest.len());
                    step.body.push((at, at + n));
                    at += n;
                    *left -= n as u64;
                    if *left == 0 {
                        *self = Chunked::DataEnd;
                    }
                }
                Chunked::DataEnd => {
                    let Some(nl) = memchr::memchr(b'\n', rest) else {
                        if rest.len() > 2 {
                            *self = Chunked::Broken;
                        }
                        break;
                    };
                    at += nl + 1;
                    *self = Chunked::Size;
                }
                Chunked::Trailer => {
                    let Some(nl) = memchr::memchr(b'\n', rest) else {
                        break;
                    };
                    let line = rest[..nl].strip_suffix(b"\r").unwrap_or(&rest[..nl]);
                    at += nl + 1;
                    if line.is_empty() {
                        *self = Chunked::Done;
                    }
                }
                Chunked::Done | Chunked::Broken => break,
            }
        }
        step.consumed = at;
        step
    }
}

/// The media type a body's first bytes reveal, with Zeek's signatures for the common ones.
pub fn sniff_mime(b: &[u8]) -> Option<&'static str> {
    let starts = |p: &[u8]| b.starts_with(p);
    if starts(b"\x89PNG\r\n\x1a\n") {
        return Some("image/png");
    }
    if starts(b"GIF87a") || starts(b"GIF89a") {
        return Some("image/gif");
    }
    if starts(b"\xff\xd8\xff") {
        return Some("image/jpeg");
    }
    if starts(b"%PDF-") {
        return Some("application/pdf");
    }
    if starts(b"PK\x03\x04") {
        return Some("application/zip");
    }
    if starts(b"\x1f\x8b") {
        return Some("application/x-gzip");
    }
    if starts(b"\x7fELF") {
        return Some("application/x-executable");
    }
    if starts(b"MZ") {
        return Some("application/x-dosexec");
    }
    if starts(b"RIFF") && b.get(8..12) == Some(b"WEBP") {
        return Some("image/webp");
    }
    let text = b.strip_prefix(b"\xef\xbb\xbf").unwrap_or(b);
    let trimmed = &text[text
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(text.len())..];
    let lower: Vec<u8> = trimmed
        .iter()
        .take(16)
        .map(u8::to_ascii_lowercase)
        .collect();
    for tag in [
        &b"<html"[..],
        b"<head",
        b"<title",
        b"<body",
        b"<!doctype html",
    ] {
        if lower.starts_with(tag) {
            return Some("text/html");
        }
    }
    if lower.starts_with(b"<?xml") {
        return Some("application/xml");
    }
    // Zeek's plain-text signature: ten printable or white-space characters.
    if b.len() >= 10
        && b.iter()
            .take(10)
            .all(|c| c.is_ascii_graphic() || c.is_ascii_whitespace())
    {
        return Some("text/plain");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_and_response_heads() {
        let r = parse_request(b"GET /a?b HTTP/1.1\r\nHost: x.org\r\nUser-Agent: t\r\n\r\n")
            .expect("req");
        assert_eq!(r.method, b"GET");
        assert_eq!(r.uri, b"/a?b");
        assert_eq!(r.version, "1.1");
        assert_eq!(r.header("host"), Some(&b"x.org"[..]));
        let s = parse_response(b"HTTP/1.0 304 Not Modified\r\nContent-Length: 0\r\n\r\n")
            .expect("resp");
        assert_eq!(s.status, 304);
        assert_eq!(s.reason, b"Not Modified");
        assert_eq!(s.content_length(), Some(0));
    }

    #[test]
    fn versions_are_static_for_1_0_and_1_1_and_kept_as_written_otherwise() {
        use std::borrow::Cow;
        for head in [&b"GET / HTTP/1.1\r\n\r\n"[..], b"GET / HTTP/1.0\r\n\r\n"] {
            let r = parse_request(head).expect("req");
            assert!(matches!(r.version, Cow::Borrowed(_)), "{:?}", r.version);
        }
        // The lenient reader keeps any version as written.
        let r = parse_request(b"GET /a b\x01c HTTP/2.0\r\n\r\n").expect("lenient");
        assert_eq!(r.version, "2.0");
        let s = parse_response(b"HTTP/1.0 200 OK\r\n\r\n").expect("resp");
        assert!(matches!(s.version, Cow::Borrowed("1.0")));
        assert_eq!(protocol_text("1.1"), "HTTP/1.1");
        assert_eq!(protocol_text("1.0"), "HTTP/1.0");
        assert_eq!(protocol_text("0.9"), "HTTP/0.9");
        assert!(matches!(version_text("1.1"), Cow::Borrowed("1.1")));
        assert!(matches!(version_text("3"), Cow::Owned(ref v) if v == "3"));
        assert!(matches!(minor_version(1), Cow::Borrowed("1.1")));
        assert!(matches!(minor_version(0), Cow::Borrowed("1.0")));
        assert_eq!(minor_version(9), "1.9");
    }

    #[test]
    fn lenient_fallback_reads_odd_heads() {
        let r = parse_request(b"GET /a b\x01c HTTP/1.1\r\nHost: x\r\n\r\n").expect("lenient");
        assert!(r.lenient);
        assert_eq!(r.method, b"GET");
        assert_eq!(r.uri, b"/a b\x01c");
        assert_eq!(r.version, "1.1");
        assert!(parse_request(b"\x16\x03\x01 garbage\r\n\r\n").is_none());
    }

    #[test]
    fn chunked_decoding_across_calls() {
        let mut c = Chunked::default();
        let body = b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-T: 1\r\n\r\n";
        let mut out = Vec::new();
        let mut pending: Vec<u8> = Vec::new();
        for piece in body.chunks(3) {
            pending.extend_from_slice(piece);
            let step = c.feed(&pending);
            for (a, b) in step.body {
                out.extend_from_slice(&pending[a..b]);
            }
            pending.drain(..step.consumed);
        }
        assert_eq!(out, b"hello world");
        assert_eq!(c, Chunked::Done);
    }

    #[test]
    fn sniffs_common_types() {
        assert_eq!(sniff_mime(b"\x89PNG\r\n\x1a\nxxxx"), Some("image/png"));
        assert_eq!(sniff_mime(b"  <!DOCTYPE html><html>"), Some("text/html"));
        assert_eq!(sniff_mime(b"body { color: red }"), Some("text/plain"));
        assert_eq!(sniff_mime(b"short"), None);
    }
}
