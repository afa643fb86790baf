//! Indicators of compromise: what they are, how they are read from the feeds people publish,
//! and how they are matched against what a capture shows.
//!
//! An [`Ioc`] is a typed value (a domain, an address, a network, a certificate hash, a TLS
//! fingerprint...) with its tag (`stalkerware`, `tracker`...), the app or campaign it belongs
//! to and its source. [`IocSet`] indexes them so that a name costs a few hash look-ups whatever
//! the number of indicators: a domain is looked up with each of its parent domains (a domain
//! IOC covers its subdomains, on label boundaries only), an address with each network length
//! present. A [`Whitelist`] is indexed the same way; it silences heuristics, never an IOC.
//!
//! The importers in [`import`] read the feed formats (TinyCheck, Echap, STIX 2.1, MISP, plain
//! text); a malformed file is an error naming the line or position, never a partial import.

pub mod export;
pub mod import;
mod index;

use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;
use serde::Serialize;

pub use index::{IocSet, Whitelist};

/// What an indicator's value is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IocKind {
    /// A domain name: matches the name and its subdomains.
    Domain,
    /// An IPv4 or IPv6 address.
    Ip,
    /// An IPv4 or IPv6 network.
    Cidr,
    /// SHA-1 of a certificate's DER (lower-case hex).
    CertSha1,
    /// SHA-256 of a certificate's DER (lower-case hex).
    CertSha256,
    /// A name server: matches the NS records seen.
    Nameserver,
    /// A dynamic-DNS zone (TinyCheck's `freedns`): matches names under it.
    DynDns,
    /// A top-level domain (without the dot).
    Tld,
    /// A JA3 hash.
    Ja3,
    /// A JA4 fingerprint.
    Ja4,
}

impl IocKind {
    /// The name used in files and reports.
    pub fn name(self) -> &'static str {
        match self {
            IocKind::Domain => "domain",
            IocKind::Ip => "ip",
            IocKind::Cidr => "cidr",
            IocKind::CertSha1 => "cert_sha1",
            IocKind::CertSha256 => "cert_sha256",
            IocKind::Nameserver => "nameserver",
            IocKind::DynDns => "dyndns",
            IocKind::Tld => "tld",
            IocKind::Ja3 => "ja3",
            IocKind::Ja4 => "ja4",
        }
    }

    /// Parses a kind by its name (the names of [`IocKind::name`] and TinyCheck's: `ip4addr`,
    /// `ip6addr`, `sha1cert`, `ns`, `freedns`).
    pub fn parse(name: &str) -> Option<IocKind> {
        Some(match name.trim().to_ascii_lowercase().as_str() {
            "domain" | "domain-name" | "hostname" | "fqdn" => IocKind::Domain,
            "ip" | "ip4addr" | "ip6addr" | "ipv4" | "ipv6" | "ipv4-addr" | "ipv6-addr" => {
                IocKind::Ip
            }
            "cidr" | "net" | "network" => IocKind::Cidr,
            "sha1cert" | "cert_sha1" | "x509-fingerprint-sha1" => IocKind::CertSha1,
            "sha256cert" | "cert_sha256" | "x509-fingerprint-sha256" => IocKind::CertSha256,
            "ns" | "nameserver" => IocKind::Nameserver,
            "freedns" | "dyndns" => IocKind::DynDns,
            "tld" => IocKind::Tld,
            "ja3" | "ja3-fingerprint-md5" => IocKind::Ja3,
            "ja4" => IocKind::Ja4,
            _ => return None,
        })
    }
}

impl fmt::Display for IocKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An indicator of compromise.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Ioc {
    /// What the value is.
    pub kind: IocKind,
    /// The value, normalised (see [`normalise`]).
    pub value: String,
    /// What it indicates (`stalkerware`, `spyware`, `tracker`...), lower case; empty if the
    /// source says nothing.
    pub tag: String,
    /// The app, malware family or campaign it belongs to, when the source names one.
    pub app: Option<String>,
    /// Traffic Light Protocol level (`white`, `green`, `amber`, `red`), when given.
    pub tlp: Option<String>,
    /// Where it comes from (a feed name or file).
    pub source: String,
}

/// Why a value is not a valid indicator of its kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidValue(pub String);

impl fmt::Display for InvalidValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Undoes the usual defanging: `[.]`, `(.)`, `{.}`, `[dot]`, `hxxp`.
pub fn refang(value: &str) -> String {
    let value = value.trim();
    // Every defanged form has a bracket or `hxxp`; most values have neither.
    if !value.contains(['[', '(', '{']) && !value.contains("hxxp") {
        return value.to_string();
    }
    value
        .replace("[.]", ".")
        .replace("(.)", ".")
        .replace("{.}", ".")
        .replace("[dot]", ".")
        .replace("[:]", ":")
        .replace("hxxp", "http")
}

/// A domain as matched: lower case, without a trailing dot or a leading `*.`.
pub fn normalise_domain(name: &str) -> String {
    normalised_domain(name).into_owned()
}

/// [`normalise_domain`], borrowing `name`'s text when it needs no change (the common case:
/// names from the wire are mostly lower case already).
pub fn normalised_domain(name: &str) -> std::borrow::Cow<'_, str> {
    let n = trimmed_domain(name);
    if n.bytes().any(|b| b.is_ascii_uppercase()) {
        std::borrow::Cow::Owned(n.to_ascii_lowercase())
    } else {
        std::borrow::Cow::Borrowed(n)
    }
}

/// [`normalised_domain`], lower-casing into `scratch` (its text replaced) rather than into a
/// new string: for a caller that normalises many names and keeps few, such as names from
/// resolvers that randomise the case of queries (DNS 0x20).
pub fn normalised_domain_in<'a>(name: &'a str, scratch: &'a mut String) -> &'a str {
    crate::text::ascii_lowercase_in(trimmed_domain(name), scratch)
}

/// `name` without surrounding white space, trailing dots or a leading `*.`.
fn trimmed_domain(name: &str) -> &str {
    let bytes = name.as_bytes();
    let plain_end = |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_graphic() && *b != b'.');
    // A name that starts and ends with a visible ASCII character other than a dot has
    // nothing to trim (the common case); others go through the full Unicode trim.
    let n = if plain_end(bytes.first()) && plain_end(bytes.last()) {
        name
    } else {
        name.trim().trim_end_matches('.')
    };
    n.strip_prefix("*.").unwrap_or(n)
}

fn valid_domain(d: &str) -> bool {
    !d.is_empty()
        && d.len() <= 253
        && d.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// Checks and normalises `value` as an indicator of `kind`: domains lower-cased, addresses
/// and networks in their canonical form, hashes in lower-case hex.
pub fn normalise(kind: IocKind, value: &str) -> Result<String, InvalidValue> {
    let v = refang(value);
    let bad = |what: &str| InvalidValue(format!("`{value}` is not {what}"));
    match kind {
        IocKind::Domain | IocKind::Nameserver | IocKind::DynDns => {
            let d = normalise_domain(&v);
            if valid_domain(&d) {
                Ok(d)
            } else {
                Err(bad("a domain name"))
            }
        }
        IocKind::Tld => {
            let t = normalise_domain(v.trim_start_matches('.'));
            if valid_domain(&t) && !t.contains('.') {
                Ok(t)
            } else {
                Err(bad("a top-level domain"))
            }
        }
        IocKind::Ip => v
            .parse::<IpAddr>()
            .map(|ip| ip.to_string())
            .map_err(|_| bad("an IP address")),
        IocKind::Cidr => match v.parse::<IpNet>() {
            Ok(net) => Ok(net.trunc().to_string()),
            Err(_) => v
                .parse::<IpAddr>()
                .map(|ip| IpNet::from(ip).to_string())
                .map_err(|_| bad("a network (address/length)")),
        },
        IocKind::CertSha1 | IocKind::CertSha256 | IocKind::Ja3 => {
            let hex: String = v
                .chars()
                .filter(|c| *c != ':')
                .collect::<String>()
                .to_ascii_lowercase();
            let want = match kind {
                IocKind::CertSha1 => 40,
                IocKind::CertSha256 => 64,
                _ => 32,
            };
            if hex.len() == want && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                Ok(hex)
            } else {
                Err(bad(&format!("{want} hexadecimal digits")))
            }
        }
        IocKind::Ja4 => {
            let j = v.to_ascii_lowercase();
            let parts: Vec<&str> = j.split('_').collect();
            if parts.len() == 3 && parts.iter().all(|p| !p.is_empty() && p.is_ascii()) {
                Ok(j)
            } else {
                Err(bad("a JA4 fingerprint (a_b_c)"))
            }
        }
    }
}

/// Guesses the kind of a bare indicator (plain-text lists): an address, a network, a hash by
/// its length (40: certificate SHA-1, 64: SHA-256, 32: JA3), a JA4, else a domain.
pub fn guess_kind(value: &str) -> Option<IocKind> {
    let v = refang(value);
    let v = v.trim();
    let v = v
        .strip_prefix("http://")
        .or_else(|| v.strip_prefix("https://"))
        .unwrap_or(v);
    if v.parse::<IpAddr>().is_ok() {
        return Some(IocKind::Ip);
    }
    if v.parse::<IpNet>().is_ok() {
        return Some(IocKind::Cidr);
    }
    let hex = v.bytes().all(|b| b.is_ascii_hexdigit() || b == b':');
    let digits = v.bytes().filter(u8::is_ascii_hexdigit).count();
    if hex && !v.contains('.') {
        return match digits {
            40 => Some(IocKind::CertSha1),
            64 => Some(IocKind::CertSha256),
            32 => Some(IocKind::Ja3),
            _ => None,
        };
    }
    if normalise(IocKind::Ja4, v).is_ok() && !v.contains('.') && v.len() == 36 {
        return Some(IocKind::Ja4);
    }
    let host = v.split(['/', '?', '#']).next().unwrap_or(v);
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    let host = match host.rsplit_once(':') {
        Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    };
    valid_domain(&normalise_domain(host))
        .then_some(IocKind::Domain)
        .filter(|_| host.contains('.'))
}

/// The host part of a URL or a bare value: `https://a.b/x` → `a.b`.
pub fn host_of(value: &str) -> String {
    let v = refang(value);
    let v = v.trim();
    let v = v.split_once("://").map_or(v, |(_, rest)| rest);
    let host = v.split(['/', '?', '#']).next().unwrap_or(v);
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    let host = match host.rsplit_once(':') {
        Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) && !h.contains(':') => h,
        _ => host,
    };
    host.to_string()
}

/// The host of a URL that names nothing but its host (`https://evil.example/` →
/// `evil.example`); `None` when it has a path or query, since the host alone may be a
/// shared service (`https://github.com/someone/spyware` must not make github.com an IOC).
pub fn url_host(value: &str) -> Option<String> {
    let v = refang(value);
    let v = v.trim();
    let rest = v.split_once("://").map_or(v, |(_, rest)| rest);
    let cut = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let tail = rest.get(cut..).unwrap_or("");
    (tail.is_empty() || tail == "/").then(|| host_of(v))
}

/// Tags that mean "this is what the box looks for": an IOC with one of these (or with no
/// tag at all) is reported at the high level.
pub fn is_high_tag(tag: &str) -> bool {
    const HIGH: [&str; 10] = [
        "stalkerware",
        "spyware",
        "apt",
        "malicious",
        "malware",
        "pegasus",
        "predator",
        "malicious-activity",
        "compromised",
        "attribution",
    ];
    let t = tag.trim().to_ascii_lowercase();
    t.is_empty() || HIGH.iter().any(|h| t == *h || t.contains(h))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defanged_values_are_refanged() {
        assert_eq!(refang(" evil[.]com "), "evil.com");
        assert_eq!(
            refang("hxxps://a(.)b{.}c[dot]d[:]8080/"),
            "https://a.b.c.d:8080/"
        );
        assert_eq!(refang("plain.example "), "plain.example");
        assert_eq!(refang("[2001:db8::1]"), "[2001:db8::1]");
    }

    #[test]
    fn domains_are_normalised_and_borrowed_when_unchanged() {
        assert!(matches!(
            normalised_domain("a.example"),
            std::borrow::Cow::Borrowed("a.example")
        ));
        assert_eq!(normalised_domain(" *.A.Example. "), "a.example");
        assert_eq!(normalised_domain("a.example."), "a.example");
        assert_eq!(normalised_domain(".a.example"), ".a.example");
        assert_eq!(normalised_domain("\u{a0}a.example"), "a.example");
        assert_eq!(normalised_domain("..."), "");
    }

    #[test]
    fn domains_normalised_in_a_buffer_agree_with_the_others() {
        let mut scratch = String::from("left over");
        for name in [
            "a.example",
            " *.A.Example. ",
            "wWw.ExAmPlE.cOm",
            ".a.example",
            "\u{a0}a.example",
            "...",
            "É.Example",
        ] {
            assert_eq!(
                normalised_domain_in(name, &mut scratch),
                normalised_domain(name),
                "{name}"
            );
        }
    }

    #[test]
    fn values_are_normalised_or_refused() {
        assert_eq!(
            normalise(IocKind::Domain, "Spy[.]COM."),
            Ok("spy.com".into())
        );
        assert_eq!(
            normalise(IocKind::Domain, "*.spy.com"),
            Ok("spy.com".into())
        );
        assert!(normalise(IocKind::Domain, "spy..com").is_err());
        assert!(normalise(IocKind::Domain, "a b.com").is_err());
        assert_eq!(
            normalise(IocKind::Cidr, "10.1.2.3/8"),
            Ok("10.0.0.0/8".into())
        );
        assert_eq!(normalise(IocKind::Cidr, "::1"), Ok("::1/128".into()));
        assert_eq!(
            normalise(IocKind::Ip, "2001:DB8::1"),
            Ok("2001:db8::1".into())
        );
        assert!(normalise(IocKind::Ip, "300.1.1.1").is_err());
        assert_eq!(
            normalise(
                IocKind::CertSha1,
                "AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD"
            ),
            Ok("aabbccddeeff00112233445566778899aabbccdd".into())
        );
        assert!(normalise(IocKind::CertSha1, "abc").is_err());
        assert_eq!(normalise(IocKind::Tld, ".XYZ"), Ok("xyz".into()));
    }

    #[test]
    fn kinds_are_guessed_from_bare_values() {
        assert_eq!(guess_kind("1.2.3.4"), Some(IocKind::Ip));
        assert_eq!(guess_kind("10.0.0.0/8"), Some(IocKind::Cidr));
        assert_eq!(guess_kind("evil[.]example"), Some(IocKind::Domain));
        assert_eq!(
            guess_kind("hxxps://evil.example/path"),
            Some(IocKind::Domain)
        );
        assert_eq!(
            guess_kind("aabbccddeeff00112233445566778899aabbccdd"),
            Some(IocKind::CertSha1)
        );
        assert_eq!(guess_kind("not an indicator"), None);
        assert_eq!(host_of("https://user@a.b.c:8443/x?y"), "a.b.c");
        assert_eq!(
            url_host("hxxps://evil[.]example/"),
            Some("evil.example".into())
        );
        assert_eq!(url_host("https://github.com/someone/spyware"), None);
    }
}
