//! The indexes behind [`IocSet`] and [`Whitelist`]: hash maps keyed by the normalised value,
//! looked up with each parent of a domain and with each network length present for an
//! address. A look-up costs at most one probe per label of the name (or per distinct prefix
//! length), whatever the number of indicators.

use std::net::IpAddr;

// Looked up for every name, address and fingerprint the traffic shows: hashbrown's hasher
// (foldhash) rather than SipHash.
use hashbrown::HashMap;
use ipnet::IpNet;

use super::{normalised_domain, Ioc, IocKind};

/// Networks by prefix length: each length present has a map from the masked address (and,
/// for IPv4, the first octets its networks cover, so that most lengths are passed over
/// without a probe: a whitelist has networks of a dozen lengths or more).
#[derive(Debug, Default)]
struct NetIndex {
    v4: Vec<(u8, FirstOctets, HashMap<u32, Vec<u32>>)>,
    v6: Vec<(u8, HashMap<u128, Vec<u32>>)>,
}

/// A set of first octets of IPv4 addresses, one bit each.
#[derive(Debug, Default, Clone, Copy)]
struct FirstOctets([u64; 4]);

impl FirstOctets {
    /// Adds the first octets of the addresses of the network `start`/`len`.
    fn add_network(&mut self, start: u32, len: u8) {
        let first = start >> 24;
        let last = (start | !mask4(u32::MAX, len)) >> 24;
        for octet in first..=last {
            self.0[(octet >> 6) as usize & 3] |= 1 << (octet & 63);
        }
    }

    /// Whether the first octet of `a` is in the set.
    fn has(&self, a: u32) -> bool {
        let octet = a >> 24;
        self.0[(octet >> 6) as usize & 3] & (1 << (octet & 63)) != 0
    }
}

fn mask4(a: u32, len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        a & (u32::MAX << (32 - u32::from(len.min(32))))
    }
}

fn mask6(a: u128, len: u8) -> u128 {
    if len == 0 {
        0
    } else {
        a & (u128::MAX << (128 - u32::from(len.min(128))))
    }
}

impl NetIndex {
    fn insert(&mut self, net: IpNet, id: u32) {
        let len = net.prefix_len();
        match net.network() {
            IpAddr::V4(a) => {
                let pos = match self.v4.iter().position(|(l, _, _)| *l == len) {
                    Some(p) => p,
                    None => {
                        self.v4.push((len, FirstOctets::default(), HashMap::new()));
                        self.v4.sort_by_key(|e| std::cmp::Reverse(e.0));
                        self.v4.iter().position(|(l, _, _)| *l == len).unwrap_or(0)
                    }
                };
                if let Some((_, octets, m)) = self.v4.get_mut(pos) {
                    let start = mask4(u32::from(a), len);
                    octets.add_network(start, len);
                    m.entry(start).or_default().push(id);
                }
            }
            IpAddr::V6(a) => {
                let pos = match self.v6.iter().position(|(l, _)| *l == len) {
                    Some(p) => p,
                    None => {
                        self.v6.push((len, HashMap::new()));
                        self.v6.sort_by_key(|e| std::cmp::Reverse(e.0));
                        self.v6.iter().position(|(l, _)| *l == len).unwrap_or(0)
                    }
                };
                if let Some((_, m)) = self.v6.get_mut(pos) {
                    m.entry(mask6(u128::from(a), len)).or_default().push(id);
                }
            }
        }
    }

    /// The indicators of every network containing `ip`, the most specific network first.
    fn containing(&self, ip: IpAddr) -> impl Iterator<Item = &[u32]> + '_ {
        let (v4, v6) = match ip {
            IpAddr::V4(a) => (Some(u32::from(a)), None),
            IpAddr::V6(a) => (None, Some(u128::from(a))),
        };
        let in_v4 = v4.into_iter().flat_map(move |a| {
            self.v4
                .iter()
                .filter(move |(_, octets, _)| octets.has(a))
                .filter_map(move |(len, _, m)| m.get(&mask4(a, *len)))
        });
        let in_v6 = v6.into_iter().flat_map(move |a| {
            self.v6
                .iter()
                .filter_map(move |(len, m)| m.get(&mask6(a, *len)))
        });
        in_v4.chain(in_v6).map(Vec::as_slice)
    }

    /// Every network containing `ip`, the most specific first.
    fn find(&self, ip: IpAddr, out: &mut Vec<u32>) {
        for ids in self.containing(ip) {
            out.extend_from_slice(ids);
        }
    }
}

/// The suffixes of a normalised domain on label boundaries, the name itself first:
/// `a.b.c` → `a.b.c`, `b.c`, `c`.
fn suffixes(name: &str) -> impl Iterator<Item = &str> {
    std::iter::once(name).chain(
        name.match_indices('.')
            .filter_map(move |(i, _)| name.get(i + 1..)),
    )
}

/// Indicators, indexed for matching.
#[derive(Debug, Default)]
pub struct IocSet {
    iocs: Vec<Ioc>,
    domains: HashMap<String, Vec<u32>>,
    dyndns: HashMap<String, Vec<u32>>,
    nameservers: HashMap<String, Vec<u32>>,
    tlds: HashMap<String, Vec<u32>>,
    ips: HashMap<IpAddr, Vec<u32>>,
    nets: NetIndex,
    certs: HashMap<String, Vec<u32>>,
    ja3: HashMap<String, Vec<u32>>,
    ja4: HashMap<String, Vec<u32>>,
}

impl IocSet {
    /// Indexes `iocs` (their values normalised, as the importers give them). An indicator
    /// given twice with the same kind, value, tag and source is kept once.
    pub fn new(iocs: impl IntoIterator<Item = Ioc>) -> Self {
        let mut set = IocSet::default();
        let mut seen = hashbrown::HashSet::new();
        for ioc in iocs {
            let key = (
                ioc.kind,
                ioc.value.clone(),
                ioc.tag.clone(),
                ioc.source.clone(),
            );
            if seen.insert(key) {
                set.add(ioc);
            }
        }
        set
    }

    fn add(&mut self, ioc: Ioc) {
        let Ok(id) = u32::try_from(self.iocs.len()) else {
            return;
        };
        let key = ioc.value.clone();
        match ioc.kind {
            IocKind::Domain => self.domains.entry(key).or_default().push(id),
            IocKind::DynDns => self.dyndns.entry(key).or_default().push(id),
            IocKind::Nameserver => self.nameservers.entry(key).or_default().push(id),
            IocKind::Tld => self.tlds.entry(key).or_default().push(id),
            IocKind::Ip => match key.parse::<IpAddr>() {
                Ok(ip) => self.ips.entry(ip).or_default().push(id),
                Err(_) => return,
            },
            IocKind::Cidr => match key.parse::<IpNet>() {
                Ok(net) => self.nets.insert(net, id),
                Err(_) => return,
            },
            IocKind::CertSha1 | IocKind::CertSha256 => self.certs.entry(key).or_default().push(id),
            IocKind::Ja3 => self.ja3.entry(key).or_default().push(id),
            IocKind::Ja4 => self.ja4.entry(key).or_default().push(id),
        }
        self.iocs.push(ioc);
    }

    /// All indicators, in the order given.
    pub fn iocs(&self) -> &[Ioc] {
        &self.iocs
    }

    /// Number of indicators.
    pub fn len(&self) -> usize {
        self.iocs.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.iocs.is_empty()
    }

    /// Number of indicators of each kind.
    pub fn counts(&self) -> std::collections::BTreeMap<IocKind, usize> {
        let mut c = std::collections::BTreeMap::new();
        for i in &self.iocs {
            *c.entry(i.kind).or_insert(0) += 1;
        }
        c
    }

    fn resolve(&self, ids: Vec<u32>) -> Vec<&Ioc> {
        ids.into_iter()
            .filter_map(|i| self.iocs.get(i as usize))
            .collect()
    }

    /// The indicators a domain name matches: domain and dynamic-DNS indicators equal to it or
    /// to one of its parents (on label boundaries, any case), and its top-level domain.
    pub fn match_domain(&self, name: &str) -> Vec<&Ioc> {
        let n = normalised_domain(name);
        let mut ids = Vec::new();
        for s in suffixes(&n) {
            if let Some(v) = self.domains.get(s) {
                ids.extend_from_slice(v);
            }
            if let Some(v) = self.dyndns.get(s) {
                ids.extend_from_slice(v);
            }
        }
        if let Some(v) = n.rsplit('.').next().and_then(|tld| self.tlds.get(tld)) {
            ids.extend_from_slice(v);
        }
        self.resolve(ids)
    }

    /// The name-server indicators an NS record's target matches (the name or a parent).
    pub fn match_nameserver(&self, name: &str) -> Vec<&Ioc> {
        let n = normalised_domain(name);
        let mut ids = Vec::new();
        for s in suffixes(&n) {
            if let Some(v) = self.nameservers.get(s) {
                ids.extend_from_slice(v);
            }
        }
        self.resolve(ids)
    }

    /// The address and network indicators `ip` matches.
    pub fn match_ip(&self, ip: IpAddr) -> Vec<&Ioc> {
        let mut ids = self.ips.get(&ip).cloned().unwrap_or_default();
        self.nets.find(ip, &mut ids);
        self.resolve(ids)
    }

    /// The first indicator [`Self::match_ip`] gives, without collecting the others: one
    /// for the address itself, else one of the most specific network.
    fn first_ip(&self, ip: IpAddr) -> Option<&Ioc> {
        let id = match self.ips.get(&ip).and_then(|ids| ids.first()) {
            Some(&id) => Some(id),
            None => self
                .nets
                .containing(ip)
                .find_map(|ids| ids.first().copied()),
        };
        self.iocs.get(id? as usize)
    }

    /// The first domain indicator (of kind [`IocKind::Domain`]) covering `name`, as
    /// [`Self::match_domain`] orders them, without collecting the others: one for the name
    /// itself, else for its nearest parent.
    fn first_domain(&self, name: &str) -> Option<&Ioc> {
        let n = normalised_domain(name);
        let id = suffixes(&n).find_map(|s| self.domains.get(s)?.first().copied())?;
        self.iocs.get(id as usize)
    }

    /// The certificate indicators a certificate's SHA-1 or SHA-256 (hex) matches.
    pub fn match_cert(&self, sha1: &str, sha256: &str) -> Vec<&Ioc> {
        let mut ids = Vec::new();
        for h in [sha1, sha256] {
            if let Some(v) = self.certs.get(&h.to_ascii_lowercase()) {
                ids.extend_from_slice(v);
            }
        }
        self.resolve(ids)
    }

    /// The JA3 indicators a JA3 hash matches.
    pub fn match_ja3(&self, ja3: &str) -> Vec<&Ioc> {
        self.resolve(
            self.ja3
                .get(&ja3.to_ascii_lowercase())
                .cloned()
                .unwrap_or_default(),
        )
    }

    /// The JA4 indicators a JA4 fingerprint matches.
    pub fn match_ja4(&self, ja4: &str) -> Vec<&Ioc> {
        self.resolve(
            self.ja4
                .get(&ja4.to_ascii_lowercase())
                .cloned()
                .unwrap_or_default(),
        )
    }
}

/// Hosts known to be benign: they silence heuristics, never an indicator.
#[derive(Debug, Default)]
pub struct Whitelist {
    set: IocSet,
}

impl Whitelist {
    /// A whitelist of domain, address and network entries (other kinds are ignored).
    pub fn new(entries: impl IntoIterator<Item = Ioc>) -> Self {
        Whitelist {
            set: IocSet::new(
                entries
                    .into_iter()
                    .filter(|e| matches!(e.kind, IocKind::Domain | IocKind::Ip | IocKind::Cidr)),
            ),
        }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.set.len()
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
    }

    /// The entry that covers `name` (the name or a parent), if any.
    pub fn domain(&self, name: &str) -> Option<&str> {
        self.set.first_domain(name).map(|e| e.value.as_str())
    }

    /// The entry that covers `ip` (the address, else the most specific network), if any.
    pub fn ip(&self, ip: IpAddr) -> Option<&str> {
        self.set.first_ip(ip).map(|e| e.value.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ioc(kind: IocKind, value: &str, tag: &str) -> Ioc {
        Ioc {
            kind,
            value: super::super::normalise(kind, value).unwrap_or_else(|e| panic!("{e}")),
            tag: tag.into(),
            app: None,
            tlp: None,
            source: "test".into(),
        }
    }

    #[test]
    fn domains_match_on_label_boundaries_only() {
        let set = IocSet::new([
            ioc(IocKind::Domain, "spy.com", "stalkerware"),
            ioc(IocKind::Domain, "copy9.com", "stalkerware"),
            ioc(IocKind::Tld, "zip", "suspicious"),
            ioc(IocKind::DynDns, "duckdns.org", "freedns"),
        ]);
        assert_eq!(set.match_domain("spy.com").len(), 1);
        assert_eq!(set.match_domain("A.B.SPY.COM.").len(), 1);
        assert!(set.match_domain("notspy.com").is_empty());
        assert!(set.match_domain("xcopy9.com").is_empty());
        assert!(set.match_domain("spy.com.evil.net").is_empty());
        assert_eq!(set.match_domain("x.zip")[0].kind, IocKind::Tld);
        assert_eq!(set.match_domain("me.duckdns.org")[0].kind, IocKind::DynDns);
    }

    #[test]
    fn addresses_match_addresses_and_networks() {
        let set = IocSet::new([
            ioc(IocKind::Ip, "192.0.2.7", "stalkerware"),
            ioc(IocKind::Cidr, "198.51.100.0/24", "tracker"),
            ioc(IocKind::Cidr, "198.51.0.0/16", "tracker"),
            ioc(IocKind::Cidr, "2001:db8::/32", "spyware"),
        ]);
        let ip = |s: &str| s.parse::<IpAddr>().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(set.match_ip(ip("192.0.2.7")).len(), 1);
        assert!(set.match_ip(ip("192.0.2.8")).is_empty());
        let m = set.match_ip(ip("198.51.100.9"));
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].value, "198.51.100.0/24", "most specific first");
        assert_eq!(set.match_ip(ip("2001:db8:1::5")).len(), 1);
        assert!(set.match_ip(ip("2001:db9::5")).is_empty());
    }

    #[test]
    fn the_first_match_is_the_first_of_all_matches() {
        // Networks of every IPv4 length (those under /8 cover several first octets), nested
        // and disjoint, addresses, IPv6 networks, domains and their parents; addresses and
        // names drawn near them.
        let mut x = 0x2545_f491u32;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x
        };
        let mut entries = Vec::new();
        for len in 0..=32u32 {
            for _ in 0..3 {
                let a = std::net::Ipv4Addr::from(next());
                entries.push(ioc(IocKind::Cidr, &format!("{a}/{len}"), ""));
            }
        }
        for _ in 0..20 {
            entries.push(ioc(
                IocKind::Ip,
                &std::net::Ipv4Addr::from(next()).to_string(),
                "",
            ));
        }
        for len in [16u32, 32, 48, 64] {
            entries.push(ioc(
                IocKind::Cidr,
                &format!("2001:db8:{:x}::/{len}", next() & 0xff),
                "",
            ));
        }
        for d in [
            "example.com",
            "a.example.com",
            "b.a.example.com",
            "example.net",
        ] {
            entries.push(ioc(IocKind::Domain, d, ""));
        }
        let set = IocSet::new(entries.clone());
        let w = Whitelist::new(entries);
        let mut hits = 0;
        for i in 0..20_000u32 {
            // Half the addresses share their first bits with an indicator.
            let near = set.iocs()[next() as usize % set.len()].value.clone();
            let ip: IpAddr = match (i % 3, near.split('/').next().map(str::parse::<IpAddr>)) {
                (0, Some(Ok(IpAddr::V4(a)))) => {
                    IpAddr::V4((u32::from(a) ^ (next() >> (next() % 32))).into())
                }
                (1, Some(Ok(IpAddr::V6(a)))) => {
                    IpAddr::V6((u128::from(a) ^ u128::from(next())).into())
                }
                _ => IpAddr::V4(next().into()),
            };
            let all = set.match_ip(ip);
            // Against every indicator, one by one: the address itself, then the networks
            // containing it, the longest prefix first, in the order given within one.
            let mut expected: Vec<(u8, usize, &str)> = set
                .iocs()
                .iter()
                .enumerate()
                .filter_map(|(at, e)| match e.kind {
                    IocKind::Ip => (e.value.parse::<IpAddr>().ok()? == ip).then_some((
                        u8::MAX,
                        at,
                        e.value.as_str(),
                    )),
                    IocKind::Cidr => {
                        let net: IpNet = e.value.parse().ok()?;
                        net.contains(&ip)
                            .then_some((net.prefix_len(), at, e.value.as_str()))
                    }
                    _ => None,
                })
                .collect();
            expected.sort_by_key(|&(len, at, _)| (std::cmp::Reverse(len), at));
            let values: Vec<&str> = all.iter().map(|e| e.value.as_str()).collect();
            let want: Vec<&str> = expected.iter().map(|e| e.2).collect();
            assert_eq!(values, want, "{ip}");
            assert_eq!(
                set.first_ip(ip).map(|e| &e.value),
                all.first().map(|e| &e.value),
                "{ip}"
            );
            assert_eq!(w.ip(ip), all.first().map(|e| e.value.as_str()), "{ip}");
            hits += usize::from(!all.is_empty());
        }
        assert!(hits > 1_000, "only {hits} addresses matched");
        for name in [
            "example.com",
            "x.example.com",
            "A.Example.Com.",
            "x.a.example.com",
            "b.a.example.com",
            "c.b.a.example.com",
            "example.org",
            "notexample.com",
            "net",
        ] {
            let first = set
                .match_domain(name)
                .into_iter()
                .find(|e| e.kind == IocKind::Domain)
                .map(|e| e.value.as_str());
            assert_eq!(w.domain(name), first, "{name}");
            assert_eq!(
                set.first_domain(name).map(|e| e.value.as_str()),
                first,
                "{name}"
            );
        }
    }

    #[test]
    fn whitelist_covers_subdomains() {
        let w = Whitelist::new([
            ioc(IocKind::Domain, "amazonaws.com", ""),
            ioc(IocKind::Cidr, "10.0.0.0/8", ""),
        ]);
        assert_eq!(
            w.domain("celular007.s3.amazonaws.com"),
            Some("amazonaws.com")
        );
        assert_eq!(w.domain("amazonaws.com.evil"), None);
        assert!(w
            .ip("10.2.3.4".parse().unwrap_or_else(|e| panic!("{e}")))
            .is_some());
    }
}
