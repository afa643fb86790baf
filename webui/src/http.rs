//! What both listeners (the kiosk's and the admin backend's) check and add on every request:
//! the peer's address, the origin of a state change, the security headers.

use std::net::IpAddr;

use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::Response;

/// The peer's address, an IPv4-mapped IPv6 address taken as the IPv4 one (so that network
/// lists written in IPv4 apply to dual-stack sockets too).
pub fn unmapped(peer: IpAddr) -> IpAddr {
    match peer {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(peer, IpAddr::V4),
        v4 => v4,
    }
}

/// A state change must come from a page of this server: not marked cross-site or same-site
/// (another host) by the browser, and with an `Origin`, if any, equal to `scheme://Host`.
pub fn same_origin(headers: &HeaderMap, scheme: &str) -> Result<(), &'static str> {
    if headers
        .get("sec-fetch-site")
        .is_some_and(|v| v.as_bytes() == b"cross-site" || v.as_bytes() == b"same-site")
    {
        return Err("cross-site request");
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("");
        if origin.to_str().unwrap_or("") != format!("{scheme}://{host}") {
            return Err("request from another origin");
        }
    }
    Ok(())
}

/// Compares secrets in a time that does not depend on where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Adds the headers every response carries: a strict Content-Security-Policy (no inline
/// script or style, nothing from elsewhere), no framing, no sniffing, no referrer, and no
/// caching unless the handler said otherwise.
pub fn secure(resp: &mut Response) {
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
}
