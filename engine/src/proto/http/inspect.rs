//! The HTTP buffers rules inspect, built from message heads as Suricata builds them:
//! `http.uri` normalised (path and query, percent-decoded), `http.host` lower-cased without
//! its port, `http.header` as `Name: value\r\n` lines without cookies, and so on.

use std::borrow::Cow;

use tcheck_rules::{Buffer, TxBuffers};

use super::parser::Head;

/// A header's value, the first of that name.
fn header<'h>(head: &'h Head, name: &str) -> Option<&'h [u8]> {
    head.header(name)
}

/// Decodes `%XX` escapes (invalid ones are kept as they are).
fn percent_decode(s: &[u8]) -> Vec<u8> {
    let hex = |b: u8| (b as char).to_digit(16).and_then(|d| u8::try_from(d).ok());
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        let b = s[i];
        if b == b'%' {
            if let (Some(h), Some(l)) = (
                s.get(i + 1).copied().and_then(hex),
                s.get(i + 2).copied().and_then(hex),
            ) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
    out
}

/// The normalised URI: an absolute URI loses its scheme and authority, escapes are decoded.
pub(crate) fn normalized_uri(raw: &[u8]) -> Vec<u8> {
    let lower: Vec<u8> = raw.iter().take(8).map(u8::to_ascii_lowercase).collect();
    let rest = if lower.starts_with(b"http://") || lower.starts_with(b"https://") {
        let after = raw.get(lower.iter().position(|b| *b == b':').unwrap_or(0) + 3..);
        match after {
            Some(a) => match a.iter().position(|b| *b == b'/' || *b == b'?') {
                Some(p) => &a[p..],
                None => &b"/"[..],
            },
            None => raw,
        }
    } else {
        raw
    };
    percent_decode(rest)
}

/// The host name, lower-cased, without a port.
fn normalized_host(h: &[u8]) -> Vec<u8> {
    let h = h.trim_ascii();
    let host = if h.first() == Some(&b'[') {
        // [v6]:port
        match h.iter().position(|b| *b == b']') {
            Some(end) => &h[..=end],
            None => h,
        }
    } else {
        match h.iter().rposition(|b| *b == b':') {
            Some(p) if h[p + 1..].iter().all(u8::is_ascii_digit) => &h[..p],
            _ => h,
        }
    };
    host.to_ascii_lowercase()
}

/// `Name: value\r\n` for every header but cookies (`cookie` names the one left out).
fn header_lines(head: &Head, cookie: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for (n, v) in &head.headers {
        if n.eq_ignore_ascii_case(cookie.as_bytes()) {
            continue;
        }
        out.extend_from_slice(n);
        out.extend_from_slice(b": ");
        out.extend_from_slice(v);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// `\r\nName1\r\nName2\r\n\r\n`.
fn header_names(head: &Head) -> Vec<u8> {
    let mut out = b"\r\n".to_vec();
    for (n, _) in &head.headers {
        out.extend_from_slice(n);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// The start line and headers, ending with an empty line.
fn start(line: &[u8], head: &Head) -> Vec<u8> {
    let mut out = line.to_vec();
    out.extend_from_slice(b"\r\n");
    for (n, v) in &head.headers {
        out.extend_from_slice(n);
        out.extend_from_slice(b": ");
        out.extend_from_slice(v);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}

fn protocol(head: &Head) -> Vec<u8> {
    super::parser::protocol_text(&head.version)
        .as_bytes()
        .to_vec()
}

/// Adds a request's buffers; `own` says whether the headers shared by both sides
/// (`http.header`, `http.cookie`...) are taken from this request (the client spoke last).
pub(crate) fn push_request<'a>(bufs: &mut TxBuffers<'a>, head: &'a Head, own: bool) {
    let line = [
        head.method.as_slice(),
        b" ",
        head.uri.as_slice(),
        b" ",
        &protocol(head),
    ]
    .concat();
    bufs.push(Buffer::HttpMethod, head.method.as_slice());
    bufs.push(Buffer::HttpUriRaw, head.uri.as_slice());
    bufs.push(Buffer::HttpUri, normalized_uri(&head.uri));
    if let Some(h) = header(head, "host") {
        bufs.push(Buffer::HttpHost, normalized_host(h));
    }
    for (b, name) in [
        (Buffer::HttpUserAgent, "user-agent"),
        (Buffer::HttpAccept, "accept"),
        (Buffer::HttpAcceptEnc, "accept-encoding"),
        (Buffer::HttpAcceptLang, "accept-language"),
        (Buffer::HttpReferer, "referer"),
    ] {
        if let Some(v) = header(head, name) {
            bufs.push(b, v);
        }
    }
    if own {
        push_shared(bufs, head, "cookie", line.clone());
    }
    bufs.push(Buffer::HttpRequestLine, line);
}

/// Adds a response's buffers (and the shared ones, from the response).
pub(crate) fn push_response<'a>(bufs: &mut TxBuffers<'a>, head: &'a Head) {
    let line = [
        protocol(head).as_slice(),
        b" ",
        head.status.to_string().as_bytes(),
        b" ",
        head.reason.as_slice(),
    ]
    .concat();
    bufs.push(Buffer::HttpStatCode, head.status.to_string().into_bytes());
    bufs.push(Buffer::HttpStatMsg, head.reason.as_slice());
    for (b, name) in [
        (Buffer::HttpServer, "server"),
        (Buffer::HttpLocation, "location"),
    ] {
        if let Some(v) = header(head, name) {
            bufs.push(b, v);
        }
    }
    push_shared(bufs, head, "set-cookie", line.clone());
    bufs.push(Buffer::HttpResponseLine, line);
}

/// The buffers both sides have, from `head`.
fn push_shared<'a>(bufs: &mut TxBuffers<'a>, head: &'a Head, cookie: &str, line: Vec<u8>) {
    bufs.push(Buffer::HttpHeader, header_lines(head, cookie));
    bufs.push(Buffer::HttpHeaderNames, header_names(head));
    bufs.push(Buffer::HttpStart, start(&line, head));
    bufs.push(Buffer::HttpProtocol, protocol(head));
    for (b, name) in [
        (Buffer::HttpCookie, cookie),
        (Buffer::HttpContentType, "content-type"),
        (Buffer::HttpContentLen, "content-length"),
        (Buffer::HttpConnection, "connection"),
    ] {
        if let Some(v) = header(head, name) {
            bufs.push(b, Cow::Borrowed(v));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_hosts_and_headers_are_normalised_as_suricata_does() {
        assert_eq!(normalized_uri(b"/a%20b?x=%41"), b"/a b?x=A");
        assert_eq!(normalized_uri(b"http://Example.com:8080/p?q"), b"/p?q");
        assert_eq!(normalized_uri(b"http://example.com"), b"/");
        assert_eq!(normalized_uri(b"/bad%zz"), b"/bad%zz");
        assert_eq!(normalized_host(b"WWW.Example.com:8080"), b"www.example.com");
        assert_eq!(normalized_host(b"[::1]:80"), b"[::1]");
        let head = Head {
            headers: [(&b"Host"[..], &b"x"[..]), (b"Cookie", b"a=b")]
                .into_iter()
                .collect(),
            ..Head::default()
        };
        assert_eq!(header_lines(&head, "cookie"), b"Host: x\r\n");
        assert_eq!(header_names(&head), b"\r\nHost\r\nCookie\r\n\r\n");
    }
}
