//! What both listeners (the kiosk's and the admin backend's) check and add on every request:
//! the peer's address, the name it was asked under, the origin of a state change, the
//! security headers.

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

/// Whether the `Host` of a request is a name this box answers to: an IP address,
/// `localhost`, or one of `names` (see [`box_names`]).
///
/// This defeats DNS rebinding: a page from another site whose name was then made to resolve
/// to the box would otherwise be "same origin" with the box, free to read its pages and
/// send it requests. A request without `Host` (HTTP/1.0 tools; browsers always send one)
/// is let through to the other checks.
pub fn host_allowed(headers: &HeaderMap, names: &[String]) -> bool {
    let Some(host) = headers.get(header::HOST) else {
        return true;
    };
    let Ok(host) = host.to_str() else {
        return false;
    };
    let name = host_name(host);
    let name = name.strip_suffix('.').unwrap_or(name);
    name.parse::<IpAddr>().is_ok()
        || name.eq_ignore_ascii_case("localhost")
        || names.iter().any(|n| n.eq_ignore_ascii_case(name))
}

/// The name or address of a `Host` value, without its port and IPv6 brackets.
fn host_name(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or("");
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    }
}

/// The names the box answers to besides its addresses: `extra` (from the configuration),
/// its host name and that name under `.local` (mDNS).
pub fn box_names(extra: &[String]) -> Vec<String> {
    let mut names = extra.to_vec();
    let node = rustix::system::uname();
    if let Ok(node) = node.nodename().to_str() {
        if !node.is_empty() {
            names.push(node.to_string());
            names.push(format!("{node}.local"));
        }
    }
    names
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

#[cfg(test)]
mod tests {
    use super::*;

    fn with_host(host: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_str(host).unwrap());
        h
    }

    #[test]
    fn only_the_box_own_names_are_answered() {
        let names = vec!["tcheck.local".to_string()];
        for ok in [
            "127.0.0.1:8080",
            "10.0.0.5",
            "[::1]:8443",
            "[fe80::1]",
            "localhost:8080",
            "LOCALHOST.",
            "tcheck.local",
            "TCheck.Local:8080",
        ] {
            assert!(host_allowed(&with_host(ok), &names), "{ok}");
        }
        for refused in [
            "attacker.example",
            "attacker.example:8080",
            "127.0.0.1.nip.io",
            "localhost.attacker.example",
            "tcheck.local.attacker.example",
            "",
        ] {
            assert!(!host_allowed(&with_host(refused), &names), "{refused}");
        }
        assert!(host_allowed(&HeaderMap::new(), &names));
    }

    #[test]
    fn the_box_name_is_one_of_its_names() {
        let names = box_names(&["extra.example".into()]);
        assert_eq!(names.first().map(String::as_str), Some("extra.example"));
        let node = rustix::system::uname();
        let node = node.nodename().to_str().unwrap();
        assert!(names.iter().any(|n| n == node));
        assert!(names.contains(&format!("{node}.local")));
    }
}
