//! What a capture showed about the device under test, gathered from the engine's events:
//! the remote hosts it talked to (with their names, ports, protocols and bytes), every name
//! it looked up or addressed (DNS queries answered or not, CNAME targets, TLS and QUIC SNI,
//! HTTP Host), certificates, TLS fingerprints, name servers, clear-text HTTP, DHCP identity
//! and rule alerts. Bounded: past the caps, new entries are counted, not kept.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;
use std::sync::Arc;

use crate::event::{Event, EventKind, FlowId};
use crate::output::EventSink;
use crate::proto::dns::parser::RData;
use crate::time::Timestamp;

/// Remote hosts kept at most.
pub const MAX_HOSTS: usize = 65_536;
/// Names kept at most.
pub const MAX_NAMES: usize = 100_000;
/// Flow ids kept per host or name.
const MAX_FLOW_IDS: usize = 32;
/// Connection start times kept per host (for beaconing).
const MAX_STARTS: usize = 4096;

/// How a name was seen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NameSource {
    /// Asked in a DNS query.
    DnsQuery,
    /// The target of a CNAME in an answer.
    DnsCname,
    /// TLS server name.
    TlsSni,
    /// QUIC server name.
    QuicSni,
    /// HTTP Host header.
    HttpHost,
}

/// A name and where it was seen.
#[derive(Clone, Debug, Default)]
pub struct NameObs {
    /// How it was seen.
    pub sources: BTreeSet<NameSource>,
    /// First time.
    pub first_seen: Option<Timestamp>,
    /// Flows (EVE `flow_id`s) that carried it, the first few.
    pub flow_ids: Vec<u64>,
    /// Addresses the DNS answered for it.
    pub addresses: BTreeSet<IpAddr>,
}

/// A remote host the device talked to.
#[derive(Clone, Debug, Default)]
pub struct HostObs {
    /// Names it was reached by (SNI, Host, DNS answers).
    pub names: BTreeSet<String>,
    /// Its ports the device connected to, with the IP protocol.
    pub ports: BTreeSet<(u8, u16)>,
    /// Application protocols (Zeek's service names).
    pub protocols: BTreeSet<&'static str>,
    /// Payload bytes the device sent.
    pub bytes_up: u64,
    /// Payload bytes it received.
    pub bytes_down: u64,
    /// Connections.
    pub connections: u64,
    /// First connection.
    pub first_seen: Option<Timestamp>,
    /// Flow ids, the first few.
    pub flow_ids: Vec<u64>,
    /// Connection start times (seconds), for periodicity.
    pub starts: Vec<f64>,
}

/// A certificate a server presented.
#[derive(Clone, Debug)]
pub struct CertObs {
    /// SHA-1 of the DER, hex.
    pub sha1: String,
    /// SHA-256 of the DER, hex.
    pub sha256: String,
    /// Subject.
    pub subject: String,
    /// Issuer.
    pub issuer: String,
    /// Subject and issuer are the same.
    pub self_signed: bool,
    /// The server's own certificate (not a CA of its chain).
    pub host_cert: bool,
    /// Server address and port.
    pub server: (IpAddr, u16),
    /// The name the client asked for, if the session had one.
    pub sni: Option<String>,
    /// First seen.
    pub first_seen: Timestamp,
    /// Flows that carried it.
    pub flow_ids: Vec<u64>,
}

/// A clear-text HTTP request.
#[derive(Clone, Debug)]
pub struct HttpObs {
    /// Host header.
    pub host: Option<String>,
    /// Server address and port.
    pub server: (IpAddr, u16),
    /// When.
    pub ts: Timestamp,
    /// Flow.
    pub flow_id: u64,
}

/// A TLS handshake: where, with which fingerprints.
#[derive(Clone, Debug)]
pub struct TlsObs {
    /// Server address and port.
    pub server: (IpAddr, u16),
    /// SNI.
    pub sni: Option<String>,
    /// JA3 of the client (shared with the TLS record).
    pub ja3: Option<Arc<str>>,
    /// JA4 of the client (shared with the TLS record).
    pub ja4: Option<Arc<str>>,
    /// Over QUIC.
    pub quic: bool,
    /// When.
    pub ts: Timestamp,
    /// Flow.
    pub flow_id: u64,
}

/// The device's name or the access point's SSID, seen in a clear-text request to a remote
/// host.
#[derive(Clone, Debug)]
pub struct IdentityObs {
    /// What was found (the name as given).
    pub needle: String,
    /// `device name` or `SSID`.
    pub what: &'static str,
    /// Where in the request: `URL`, `header`, `body`.
    pub place: &'static str,
    /// The request's Host.
    pub host: Option<String>,
    /// Server address and port.
    pub server: (IpAddr, u16),
    /// When.
    pub ts: Timestamp,
    /// Flow.
    pub flow_id: u64,
}

/// Names too common to identify anyone (`android`, `iphone`...): never searched for.
fn generic_name(n: &str) -> bool {
    const GENERIC: [&str; 10] = [
        "android",
        "iphone",
        "ipad",
        "localhost",
        "galaxy",
        "phone",
        "unknown",
        "mobile",
        "samsung",
        "xiaomi",
    ];
    let l = n.to_ascii_lowercase();
    l.len() < 4
        || GENERIC.contains(&l.as_str())
        || (l.starts_with("android-") && l[8..].bytes().all(|b| b.is_ascii_hexdigit()))
}

/// `%XX` and `+` decoded (for URLs and form bodies), lower-cased.
fn decoded_lower(b: &[u8]) -> String {
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hex = b
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok());
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(v) => {
                        out.push(v);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).to_lowercase()
}

/// A rule that alerted.
#[derive(Clone, Debug)]
pub struct RuleAlertObs {
    /// Signature id.
    pub sid: u32,
    /// Message.
    pub msg: String,
    /// Severity (priority): 1 is the most severe.
    pub severity: u8,
    /// The rule had a classtype or a priority (rules of IOC feeds carry neither).
    pub classified: bool,
    /// Remote address and port.
    pub remote: (IpAddr, u16),
    /// First time.
    pub first_seen: Timestamp,
    /// Times it alerted.
    pub count: u64,
    /// Flows.
    pub flow_ids: Vec<u64>,
}

/// The device under test, as DHCP describes it.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct DeviceObs {
    /// Host names it gave (option 12, client FQDN).
    pub names: BTreeSet<String>,
    /// Vendor classes (option 60, `android-dhcp-13`).
    pub vendor_classes: BTreeSet<String>,
    /// MAC addresses.
    pub macs: BTreeSet<String>,
    /// Addresses requested or assigned.
    pub addresses: BTreeSet<IpAddr>,
}

/// Everything gathered.
#[derive(Clone, Debug, Default)]
pub struct Observations {
    /// Remote hosts by address. A hash map: a host is looked up for every connection;
    /// [`Observations::hosts_in_order`] lists them sorted.
    pub hosts: HashMap<IpAddr, HostObs, ahash::RandomState>,
    /// Names by name (lower case, no trailing dot). A hash map: a name is looked up for
    /// every question and answer; [`Observations::names_in_order`] lists them sorted.
    pub names: HashMap<String, NameObs, ahash::RandomState>,
    /// Name servers seen in NS records.
    pub nameservers: BTreeMap<String, NameObs>,
    /// Server certificates by SHA-1.
    pub certs: BTreeMap<String, CertObs>,
    /// TLS handshakes (the first few hundred thousand).
    pub tls: Vec<TlsObs>,
    /// Clear-text HTTP requests.
    pub http: Vec<HttpObs>,
    /// The device's names and the SSID seen in clear-text requests.
    pub identity: Vec<IdentityObs>,
    /// Names and SSID searched for in clear-text requests (lower case, with what they are).
    needles: Vec<(String, String, &'static str)>,
    /// Rule alerts by sid and remote address.
    pub alerts: BTreeMap<(u32, IpAddr), RuleAlertObs>,
    /// The device, from DHCP.
    pub device: DeviceObs,
    /// Addresses DNS answers gave, with the names asked.
    pub resolved: HashMap<IpAddr, BTreeSet<String>, ahash::RandomState>,
    /// Entries not kept because a cap was reached.
    pub dropped: u64,
    /// Connections seen.
    pub connections: u64,
    /// First and last packet times of the connections.
    pub span: Option<(Timestamp, Timestamp)>,
    /// A name being normalised, when it had capitals (kept for its capacity: resolvers
    /// that randomise the case of queries make most names so).
    lower: String,
}

/// Whether an address is the device's side of things: private, link-local, loopback,
/// multicast or broadcast (never a "remote host" of the report).
pub fn is_local(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => {
            a.is_private()
                || a.is_loopback()
                || a.is_link_local()
                || a.is_multicast()
                || a.is_broadcast()
                || a.is_unspecified()
                || a.octets()[0] == 100 && (a.octets()[1] & 0xc0) == 64
        }
        IpAddr::V6(a) => {
            let s = a.segments();
            a.is_loopback()
                || a.is_multicast()
                || a.is_unspecified()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
        }
    }
}

fn push_id(ids: &mut Vec<u64>, id: u64) {
    if ids.len() < MAX_FLOW_IDS && !ids.contains(&id) {
        ids.push(id);
    }
}

/// The flow's remote side: the responder, unless only the originator is outside.
fn remote_of(flow: &FlowId) -> (IpAddr, u16, bool) {
    if is_local(flow.resp.addr) && !is_local(flow.orig.addr) {
        (flow.orig.addr, flow.orig.port, false)
    } else {
        (flow.resp.addr, flow.resp.port, true)
    }
}

impl Observations {
    /// Observations that also look for the device's names and the access point's SSID in
    /// clear-text requests (the DHCP host names seen are added as they come).
    pub fn with_identity(device_names: &[String], ssid: Option<&str>) -> Self {
        let mut o = Observations::default();
        for n in device_names {
            o.add_needle(n, "device name");
        }
        if let Some(s) = ssid {
            o.add_needle(s, "SSID");
        }
        o
    }

    fn add_needle(&mut self, n: &str, what: &'static str) {
        let n = n.trim();
        if generic_name(n) || self.needles.len() >= 16 {
            return;
        }
        let l = n.to_lowercase();
        if !self.needles.iter().any(|(x, _, _)| *x == l) {
            self.needles.push((l, n.to_string(), what));
        }
    }

    fn identity_in(
        &mut self,
        h: &crate::proto::http::HttpRecord,
        server: (IpAddr, u16),
        ts: Timestamp,
    ) {
        if self.needles.is_empty() || self.identity.len() >= 1024 || is_local(server.0) {
            return;
        }
        let mut places: Vec<(&'static str, String)> = Vec::new();
        if let Some(u) = &h.uri {
            places.push(("URL", decoded_lower(u.as_bytes())));
        }
        let headers: Vec<u8> = h
            .request_headers
            .iter()
            .flat_map(|(_, v)| v.iter().copied().chain(std::iter::once(b'\n')))
            .collect();
        places.push(("header", decoded_lower(&headers)));
        places.push(("body", decoded_lower(&h.request_body)));
        for (needle, original, what) in &self.needles {
            if let Some((place, _)) = places
                .iter()
                .find(|(_, text)| text.contains(needle.as_str()))
            {
                let host = h.host.clone();
                if !self
                    .identity
                    .iter()
                    .any(|i| i.needle == *original && i.host == host)
                {
                    self.identity.push(IdentityObs {
                        needle: original.clone(),
                        what,
                        place,
                        host,
                        server,
                        ts,
                        flow_id: h.flow.id,
                    });
                }
            }
        }
    }

    pub(super) fn name_seen(
        &mut self,
        name: &str,
        source: NameSource,
        ts: Timestamp,
        flow: Option<u64>,
    ) {
        let n = crate::ioc::normalised_domain_in(name, &mut self.lower);
        if n.is_empty() {
            return;
        }
        // Looked up by reference: the key is allocated only for a new name.
        if !self.names.contains_key(n) {
            if self.names.len() >= MAX_NAMES {
                self.dropped += 1;
                return;
            }
            self.names.insert(n.to_string(), NameObs::default());
        }
        let Some(e) = self.names.get_mut(n) else {
            return;
        };
        e.sources.insert(source);
        if e.first_seen.is_none_or(|f| ts < f) {
            e.first_seen = Some(ts);
        }
        if let Some(id) = flow {
            push_id(&mut e.flow_ids, id);
        }
    }

    /// The hosts seen, sorted by address (the report lists them, and picks among them, in
    /// this order, whatever order the map holds them in).
    pub fn hosts_in_order(&self) -> Vec<(&IpAddr, &HostObs)> {
        crate::sorted_by_key(&self.hosts)
    }

    /// The names seen, sorted (the report lists them, and picks among them, in this
    /// order, whatever order the map holds them in).
    pub fn names_in_order(&self) -> Vec<(&String, &NameObs)> {
        crate::sorted_by_key(&self.names)
    }

    fn host(&mut self, ip: IpAddr) -> Option<&mut HostObs> {
        if !self.hosts.contains_key(&ip) && self.hosts.len() >= MAX_HOSTS {
            self.dropped += 1;
            return None;
        }
        Some(self.hosts.entry(ip).or_default())
    }

    fn conn(&mut self, c: &crate::event::ConnRecord) {
        self.connections += 1;
        self.span = Some(match self.span {
            None => (c.start, c.last_seen),
            Some((a, b)) => (a.min(c.start), b.max(c.last_seen)),
        });
        let (ip, port, resp_is_remote) = remote_of(&c.flow);
        if is_local(ip) {
            return;
        }
        let (up, down) = if resp_is_remote {
            (c.orig_bytes, c.resp_bytes)
        } else {
            (c.resp_bytes, c.orig_bytes)
        };
        let proto = c.flow.proto;
        let id = c.flow.id;
        let Some(h) = self.host(ip) else { return };
        h.ports.insert((proto, port));
        h.protocols.extend(c.services.iter().copied());
        h.bytes_up += up;
        h.bytes_down += down;
        h.connections += 1;
        if h.first_seen.is_none_or(|f| c.start < f) {
            h.first_seen = Some(c.start);
        }
        push_id(&mut h.flow_ids, id);
        if h.starts.len() < MAX_STARTS {
            h.starts.push(c.start.as_secs_f64());
        }
    }

    fn dns(&mut self, m: &crate::proto::dns::DnsMessageRecord, ts: Timestamp) {
        let id = m.flow.id;
        let msg = &m.message;
        for q in &msg.questions {
            self.name_seen(&q.name, NameSource::DnsQuery, ts, Some(id));
        }
        for r in &msg.records {
            match &r.rdata {
                RData::A(a) => self.resolve_name(&r.name, IpAddr::V4(*a)),
                RData::Aaaa(a) => self.resolve_name(&r.name, IpAddr::V6(*a)),
                RData::Name(target) if r.rtype == 5 => {
                    self.name_seen(target, NameSource::DnsCname, ts, Some(id));
                }
                RData::Name(target) if r.rtype == 2 => {
                    // Looked up by reference: the key is allocated only for a new server.
                    let n = crate::ioc::normalised_domain_in(target, &mut self.lower);
                    if !self.nameservers.contains_key(n) && self.nameservers.len() < MAX_NAMES {
                        self.nameservers.insert(n.to_string(), NameObs::default());
                    }
                    if let Some(e) = self.nameservers.get_mut(n) {
                        if e.first_seen.is_none() {
                            e.first_seen = Some(ts);
                        }
                        push_id(&mut e.flow_ids, id);
                    }
                }
                _ => {}
            }
        }
    }

    pub(super) fn resolve_name(&mut self, name: &str, ip: IpAddr) {
        let n = crate::ioc::normalised_domain_in(name, &mut self.lower);
        if let Some(e) = self.names.get_mut(n) {
            e.addresses.insert(ip);
        }
        if self.resolved.contains_key(&ip) || self.resolved.len() < MAX_HOSTS {
            let names = self.resolved.entry(ip).or_default();
            if names.len() < 64 && !names.contains(n) {
                names.insert(n.to_string());
            }
        }
    }

    fn dhcp(&mut self, d: &crate::proto::dhcp::DhcpRecord) {
        let m = &d.message;
        if m.op != 1 {
            if !m.yiaddr.is_unspecified() {
                self.device.addresses.insert(IpAddr::V4(m.yiaddr));
            }
            return;
        }
        let text = |b: &Vec<u8>| {
            String::from_utf8_lossy(b)
                .trim()
                .trim_end_matches('.')
                .to_string()
        };
        for n in [&m.host_name, &m.client_fqdn].into_iter().flatten() {
            let t = text(n);
            if !t.is_empty() && self.device.names.len() < 16 {
                self.add_needle(&t, "device name");
                self.device.names.insert(t);
            }
        }
        if let Some(v) = &m.vendor_class {
            if self.device.vendor_classes.len() < 16 {
                self.device.vendor_classes.insert(text(v));
            }
        }
        if let Some(mac) = m.mac {
            if self.device.macs.len() < 16 {
                self.device.macs.insert(crate::output::mac(&mac));
            }
        }
        if let Some(a) = m.requested_addr {
            self.device.addresses.insert(IpAddr::V4(a));
        }
    }
}

/// Adds `name`, normalised, to `names`; allocates only when it is new.
fn insert_name(names: &mut BTreeSet<String>, name: &str) {
    let n = crate::ioc::normalised_domain(name);
    if !names.contains(n.as_ref()) {
        names.insert(n.into_owned());
    }
}

impl EventSink for Observations {
    fn event(&mut self, event: &Event) -> crate::Result<()> {
        let ts = event.ts;
        match &event.kind {
            EventKind::Conn(c) => self.conn(c),
            EventKind::DnsMessage(m) => self.dns(m, ts),
            EventKind::Tls(t) => {
                let id = t.flow.id;
                if let Some(sni) = &t.server_name {
                    let src = if t.quic {
                        NameSource::QuicSni
                    } else {
                        NameSource::TlsSni
                    };
                    self.name_seen(sni, src, ts, Some(id));
                    let (ip, _, _) = remote_of(&t.flow);
                    if let Some(h) = self.host(ip) {
                        if h.names.len() < 64 {
                            insert_name(&mut h.names, sni);
                        }
                    }
                }
                if self.tls.len() < MAX_NAMES {
                    let (ip, port, _) = remote_of(&t.flow);
                    self.tls.push(TlsObs {
                        server: (ip, port),
                        sni: t.server_name.clone(),
                        ja3: t.ja3.clone(),
                        ja4: t.ja4.clone(),
                        quic: t.quic,
                        ts,
                        flow_id: id,
                    });
                }
            }
            EventKind::Quic(q) => {
                if let Some(sni) = &q.server_name {
                    self.name_seen(sni, NameSource::QuicSni, ts, Some(q.flow.id));
                }
            }
            EventKind::Http(h) => {
                let (ip, port, _) = remote_of(&h.flow);
                if let Some(host) = &h.host {
                    let host = crate::ioc::host_of(host);
                    self.name_seen(&host, NameSource::HttpHost, ts, Some(h.flow.id));
                    if let Some(o) = self.host(ip) {
                        if o.names.len() < 64 {
                            insert_name(&mut o.names, &host);
                        }
                    }
                }
                self.identity_in(h, (ip, port), ts);
                if self.http.len() < MAX_NAMES {
                    self.http.push(HttpObs {
                        host: h.host.clone(),
                        server: (ip, port),
                        ts,
                        flow_id: h.flow.id,
                    });
                } else {
                    self.dropped += 1;
                }
            }
            EventKind::X509(x) if !x.client_cert => {
                let (ip, port, _) = remote_of(&x.flow);
                let c = &x.cert;
                let e = self.certs.entry(c.sha1.clone());
                let obs = e.or_insert_with(|| CertObs {
                    sha1: c.sha1.clone(),
                    sha256: c.sha256.clone(),
                    subject: c.subject.clone(),
                    issuer: c.issuer.clone(),
                    self_signed: c.self_signed,
                    host_cert: x.host_cert,
                    server: (ip, port),
                    sni: None,
                    first_seen: ts,
                    flow_ids: Vec::new(),
                });
                obs.host_cert |= x.host_cert;
                push_id(&mut obs.flow_ids, x.flow.id);
            }
            EventKind::Dhcp(d) => self.dhcp(d),
            EventKind::Alert(a) => {
                let remote = if a.to_server { a.dst } else { a.src };
                let sig = &a.signature;
                let classified = sig.classified;
                let e = self
                    .alerts
                    .entry((sig.sid, remote.0))
                    .or_insert_with(|| RuleAlertObs {
                        sid: sig.sid,
                        msg: sig.msg.clone(),
                        severity: sig.severity,
                        classified,
                        remote,
                        first_seen: ts,
                        count: 0,
                        flow_ids: Vec::new(),
                    });
                e.count += 1;
                push_id(&mut e.flow_ids, a.flow.id);
            }
            _ => {}
        }
        Ok(())
    }

    fn finish(&mut self) -> crate::Result<()> {
        // The SNI each certificate came with: from the TLS handshakes on its server.
        let sni_by_server: hashbrown::HashMap<(IpAddr, u16), String> = self
            .tls
            .iter()
            .filter_map(|t| t.sni.clone().map(|s| (t.server, s)))
            .collect();
        for c in self.certs.values_mut() {
            c.sni = sni_by_server.get(&c.server).cloned();
        }
        // Names a host was resolved from.
        for (ip, names) in &self.resolved {
            if let Some(h) = self.hosts.get_mut(ip) {
                for n in names {
                    if h.names.len() < 64 {
                        h.names.insert(n.clone());
                    }
                }
            }
        }
        Ok(())
    }
}
