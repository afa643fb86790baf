//! The rule header: action, protocol, addresses, ports and direction.

use std::net::IpAddr;

use crate::error::Problem;
use crate::vars::Vars;

/// What to do on a match.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Report.
    Alert,
    /// Stop inspecting the flow (matched rules of lower precedence do not fire).
    Pass,
    /// Block (in IPS simulation) and report.
    Drop,
    /// Block with a reset and report.
    Reject,
}

/// The protocol a rule applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Proto {
    /// Any IP packet.
    Ip,
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
    /// ICMP (v4 and v6).
    Icmp,
    /// DNS flows.
    Dns,
    /// TLS flows.
    Tls,
    /// HTTP flows.
    Http,
    /// QUIC flows.
    Quic,
    /// DHCP flows.
    Dhcp,
}

impl Proto {
    /// The application protocol a rule of this protocol requires, if any.
    pub fn app(self) -> Option<&'static str> {
        match self {
            Proto::Dns => Some("dns"),
            Proto::Tls => Some("tls"),
            Proto::Http => Some("http"),
            Proto::Quic => Some("quic"),
            Proto::Dhcp => Some("dhcp"),
            _ => None,
        }
    }
}

/// An inclusive range of addresses of one family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct AddrRange {
    v6: bool,
    lo: u128,
    hi: u128,
}

fn addr_key(a: IpAddr) -> (bool, u128) {
    match a {
        IpAddr::V4(v) => (false, u128::from(u32::from(v))),
        IpAddr::V6(v) => (true, u128::from(v)),
    }
}

/// A set of addresses: included ranges minus excluded ranges (no inclusion means any).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AddrSet {
    include: Vec<AddrRange>,
    exclude: Vec<AddrRange>,
}

impl AddrSet {
    /// Whether `a` is in the set.
    pub fn contains(&self, a: IpAddr) -> bool {
        let (v6, k) = addr_key(a);
        let hit = |r: &AddrRange| r.v6 == v6 && r.lo <= k && k <= r.hi;
        (self.include.is_empty() || self.include.iter().any(hit)) && !self.exclude.iter().any(hit)
    }

    /// The included ranges (is IPv6, first, last as integers), or `None` for a set that is
    /// `any` or only a negation. Exclusions are left out: a superset.
    pub(crate) fn include_ranges(&self) -> Option<Vec<(bool, u128, u128)>> {
        if self.include.is_empty() {
            return None;
        }
        Some(self.include.iter().map(|r| (r.v6, r.lo, r.hi)).collect())
    }

    /// Whether the set is `any`.
    pub fn is_any(&self) -> bool {
        self.include.is_empty() && self.exclude.is_empty()
    }

    /// Parses an address specification, resolving variables.
    pub fn parse(spec: &str, vars: &Vars) -> Result<Self, Problem> {
        let mut set = AddrSet::default();
        add_addr(&mut set, spec, false, vars, 0)?;
        Ok(set)
    }
}

/// Splits a bracketed list at its top-level commas.
fn split_list(inner: &str) -> Result<Vec<&str>, Problem> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, c) in inner.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => {
                depth -= 1;
                if depth < 0 {
                    return Err(Problem::syntax("unbalanced `]` in a list"));
                }
            }
            ',' if depth == 0 => {
                out.push(inner[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err(Problem::syntax("unbalanced `[` in a list"));
    }
    out.push(inner[start..].trim());
    Ok(out.into_iter().filter(|s| !s.is_empty()).collect())
}

const MAX_VAR_DEPTH: usize = 16;

fn add_addr(
    set: &mut AddrSet,
    spec: &str,
    negated: bool,
    vars: &Vars,
    depth: usize,
) -> Result<(), Problem> {
    if depth > MAX_VAR_DEPTH {
        return Err(Problem::syntax(
            "address variables nested too deep (a loop?)",
        ));
    }
    let spec = spec.trim();
    if let Some(rest) = spec.strip_prefix('!') {
        return add_addr(set, rest, !negated, vars, depth + 1);
    }
    if let Some(inner) = spec.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
        for item in split_list(inner)? {
            add_addr(set, item, negated, vars, depth + 1)?;
        }
        return Ok(());
    }
    if let Some(name) = spec.strip_prefix('$') {
        let value = vars
            .addresses
            .get(name)
            .ok_or_else(|| Problem::syntax(format!("undefined address variable ${name}")))?;
        return add_addr(set, value, negated, vars, depth + 1);
    }
    if spec.eq_ignore_ascii_case("any") {
        if negated {
            return Err(Problem::syntax("`!any` matches nothing"));
        }
        return Ok(());
    }
    let range = parse_range(spec)?;
    if negated {
        set.exclude.push(range);
    } else {
        set.include.push(range);
    }
    Ok(())
}

fn parse_ip(s: &str) -> Result<IpAddr, Problem> {
    s.trim()
        .parse::<IpAddr>()
        .map_err(|_| Problem::syntax(format!("not an address: `{s}`")))
}

fn parse_range(spec: &str) -> Result<AddrRange, Problem> {
    if let Some((a, b)) = spec.split_once('-') {
        let (va, ka) = addr_key(parse_ip(a)?);
        let (vb, kb) = addr_key(parse_ip(b)?);
        if va != vb || ka > kb {
            return Err(Problem::syntax(format!("bad address range `{spec}`")));
        }
        return Ok(AddrRange {
            v6: va,
            lo: ka,
            hi: kb,
        });
    }
    if let Some((a, len)) = spec.split_once('/') {
        let ip = parse_ip(a)?;
        let (v6, k) = addr_key(ip);
        let bits: u32 = if v6 { 128 } else { 32 };
        let len: u32 = match len.trim().parse::<u32>() {
            Ok(l) if l <= bits => l,
            _ => {
                // A dotted netmask (255.255.0.0).
                let mask = parse_ip(len)?;
                match mask {
                    IpAddr::V4(m) if !v6 => u32::from(m).leading_ones(),
                    _ => return Err(Problem::syntax(format!("bad prefix length in `{spec}`"))),
                }
            }
        };
        let host_bits = bits - len;
        let span: u128 = if host_bits >= 128 {
            u128::MAX
        } else {
            (1u128 << host_bits) - 1
        };
        let lo = k & !span;
        return Ok(AddrRange {
            v6,
            lo,
            hi: lo | span,
        });
    }
    let (v6, k) = addr_key(parse_ip(spec)?);
    Ok(AddrRange { v6, lo: k, hi: k })
}

/// A set of ports: included ranges minus excluded ranges (no inclusion means any).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PortSet {
    include: Vec<(u16, u16)>,
    exclude: Vec<(u16, u16)>,
}

impl PortSet {
    /// Whether `p` is in the set.
    pub fn contains(&self, p: u16) -> bool {
        let hit = |r: &(u16, u16)| r.0 <= p && p <= r.1;
        (self.include.is_empty() || self.include.iter().any(hit)) && !self.exclude.iter().any(hit)
    }

    /// Whether the set is `any`.
    pub fn is_any(&self) -> bool {
        self.include.is_empty() && self.exclude.is_empty()
    }

    /// The included ports when there are at most `max` of them (exclusions left out: a
    /// superset); `None` for `any`, a negation or a long list.
    pub fn finite_ports(&self, max: usize) -> Option<Vec<u16>> {
        if self.include.is_empty() {
            return None;
        }
        let count: usize = self
            .include
            .iter()
            .map(|(a, b)| usize::from(b.saturating_sub(*a)) + 1)
            .sum();
        if count > max {
            return None;
        }
        Some(self.include.iter().flat_map(|(a, b)| *a..=*b).collect())
    }

    /// The single port of a set of exactly one port, if so (for grouping rules).
    pub fn single(&self) -> Option<u16> {
        match (self.include.as_slice(), self.exclude.is_empty()) {
            ([(a, b)], true) if a == b => Some(*a),
            _ => None,
        }
    }

    /// Parses a port specification, resolving variables.
    pub fn parse(spec: &str, vars: &Vars) -> Result<Self, Problem> {
        let mut set = PortSet::default();
        add_port(&mut set, spec, false, vars, 0)?;
        Ok(set)
    }
}

fn add_port(
    set: &mut PortSet,
    spec: &str,
    negated: bool,
    vars: &Vars,
    depth: usize,
) -> Result<(), Problem> {
    if depth > MAX_VAR_DEPTH {
        return Err(Problem::syntax("port variables nested too deep (a loop?)"));
    }
    let spec = spec.trim();
    if let Some(rest) = spec.strip_prefix('!') {
        return add_port(set, rest, !negated, vars, depth + 1);
    }
    if let Some(inner) = spec.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
        for item in split_list(inner)? {
            add_port(set, item, negated, vars, depth + 1)?;
        }
        return Ok(());
    }
    if let Some(name) = spec.strip_prefix('$') {
        let value = vars
            .ports
            .get(name)
            .ok_or_else(|| Problem::syntax(format!("undefined port variable ${name}")))?;
        return add_port(set, value, negated, vars, depth + 1);
    }
    if spec.eq_ignore_ascii_case("any") {
        if negated {
            return Err(Problem::syntax("`!any` matches nothing"));
        }
        return Ok(());
    }
    let num = |s: &str| -> Result<u16, Problem> {
        s.trim()
            .parse::<u16>()
            .map_err(|_| Problem::syntax(format!("not a port: `{s}`")))
    };
    let range = match spec.split_once(':') {
        Some((a, b)) => {
            let lo = if a.trim().is_empty() { 0 } else { num(a)? };
            let hi = if b.trim().is_empty() {
                u16::MAX
            } else {
                num(b)?
            };
            if lo > hi {
                return Err(Problem::syntax(format!("bad port range `{spec}`")));
            }
            (lo, hi)
        }
        None => {
            let p = num(spec)?;
            (p, p)
        }
    };
    if negated {
        set.exclude.push(range);
    } else {
        set.include.push(range);
    }
    Ok(())
}

/// The rule header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// Action.
    pub action: Action,
    /// Protocol.
    pub proto: Proto,
    /// Source addresses.
    pub src: AddrSet,
    /// Source ports.
    pub sport: PortSet,
    /// `<>`: either direction.
    pub bidirectional: bool,
    /// Destination addresses.
    pub dst: AddrSet,
    /// Destination ports.
    pub dport: PortSet,
}

/// Splits a header into its seven fields (lists in brackets may hold spaces).
fn header_fields(text: &str) -> Result<Vec<String>, Problem> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut depth = 0i32;
    for c in text.chars() {
        match c {
            '[' => {
                depth += 1;
                cur.push(c);
            }
            ']' => {
                depth -= 1;
                cur.push(c);
            }
            c if c.is_whitespace() && depth == 0 => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    if out.len() != 7 {
        return Err(Problem::syntax(format!(
            "a rule header has 7 fields (action proto src sport -> dst dport), found {}",
            out.len()
        )));
    }
    Ok(out)
}

impl Header {
    /// Parses the text before the options' parenthesis.
    pub fn parse(text: &str, vars: &Vars) -> Result<Self, Problem> {
        let f = header_fields(text)?;
        let action = match f[0].to_ascii_lowercase().as_str() {
            "alert" => Action::Alert,
            "pass" => Action::Pass,
            "drop" => Action::Drop,
            "reject" | "rejectsrc" | "rejectdst" | "rejectboth" => Action::Reject,
            other => return Err(Problem::syntax(format!("unknown action `{other}`"))),
        };
        let proto = match f[1].to_ascii_lowercase().as_str() {
            "ip" | "pkthdr" => Proto::Ip,
            "tcp" | "tcp-pkt" | "tcp-stream" => Proto::Tcp,
            "udp" => Proto::Udp,
            "icmp" | "icmpv4" | "icmpv6" => Proto::Icmp,
            "dns" => Proto::Dns,
            "tls" | "ssl" => Proto::Tls,
            "http" | "http1" => Proto::Http,
            "quic" => Proto::Quic,
            "dhcp" => Proto::Dhcp,
            other => return Err(Problem::Unsupported(format!("protocol {other}"))),
        };
        let bidirectional = match f[4].as_str() {
            "->" => false,
            "<>" => true,
            "<-" => {
                return Err(Problem::syntax(
                    "direction `<-` is not valid; write `->` the other way",
                ))
            }
            other => return Err(Problem::syntax(format!("unknown direction `{other}`"))),
        };
        Ok(Header {
            action,
            proto,
            src: AddrSet::parse(&f[2], vars)?,
            sport: PortSet::parse(&f[3], vars)?,
            bidirectional,
            dst: AddrSet::parse(&f[5], vars)?,
            dport: PortSet::parse(&f[6], vars)?,
        })
    }

    /// Whether a packet from `src:sport` to `dst:dport` matches the header's addresses and
    /// ports (either way round for `<>`).
    pub fn matches(&self, src: IpAddr, sport: u16, dst: IpAddr, dport: u16) -> bool {
        let fwd = self.src.contains(src)
            && self.sport.contains(sport)
            && self.dst.contains(dst)
            && self.dport.contains(dport);
        fwd || (self.bidirectional
            && self.src.contains(dst)
            && self.sport.contains(dport)
            && self.dst.contains(src)
            && self.dport.contains(sport))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn home_net_and_its_negation() {
        let v = Vars::default();
        let home = AddrSet::parse("$HOME_NET", &v).expect("parses");
        let ext = AddrSet::parse("$EXTERNAL_NET", &v).expect("parses");
        assert!(home.contains(ip("192.168.1.1")));
        assert!(!home.contains(ip("8.8.8.8")));
        assert!(ext.contains(ip("8.8.8.8")));
        assert!(!ext.contains(ip("10.1.2.3")));
        let double = AddrSet::parse("!$EXTERNAL_NET", &v).expect("parses");
        assert!(double.contains(ip("10.1.2.3")));
    }

    #[test]
    fn lists_ranges_and_ipv6() {
        let v = Vars::default();
        let s = AddrSet::parse("[10.0.0.1,2001:db8::1-2001:db8::ff]", &v).expect("parses");
        assert!(s.contains(ip("10.0.0.1")));
        assert!(s.contains(ip("2001:db8::80")));
        assert!(!s.contains(ip("2001:db8::100")));
        let s = AddrSet::parse("[10.0.0.0/8, !10.1.0.0/16]", &v).expect("parses");
        assert!(s.contains(ip("10.2.0.1")));
        assert!(!s.contains(ip("10.1.0.1")));
        assert!(AddrSet::parse("[1.2.3.4", &v).is_err());
        assert!(AddrSet::parse("$NOPE", &v).is_err());
    }

    #[test]
    fn ports() {
        let v = Vars::default();
        let p = PortSet::parse("[1:1024,!80]", &v).expect("parses");
        assert!(p.contains(22));
        assert!(!p.contains(80));
        assert!(!p.contains(2000));
        assert!(PortSet::parse(":1024", &v).expect("parses").contains(0));
        assert!(PortSet::parse("1024:", &v).expect("parses").contains(65535));
        assert!(!PortSet::parse("$SHELLCODE_PORTS", &v)
            .expect("parses")
            .contains(80));
        assert_eq!(
            PortSet::parse("$HTTP_PORTS", &v).expect("parses").single(),
            Some(80)
        );
    }

    #[test]
    fn variable_loops_are_refused() {
        let mut v = Vars::default();
        v.set_address("A", "$B");
        v.set_address("B", "$A");
        assert!(AddrSet::parse("$A", &v).is_err());
    }

    #[test]
    fn headers() {
        let v = Vars::default();
        let h = Header::parse("alert udp $EXTERNAL_NET :1024 <> $HOME_NET 0", &v).expect("parses");
        assert!(h.bidirectional);
        assert!(h.matches(ip("10.0.0.1"), 0, ip("8.8.8.8"), 53));
        assert!(Header::parse("alert tcp any any any any", &v).is_err());
        assert!(matches!(
            Header::parse("alert smb any any -> any any", &v),
            Err(Problem::Unsupported(_))
        ));
    }
}
