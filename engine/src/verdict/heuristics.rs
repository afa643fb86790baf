//! The checks: indicator matches, rule alerts, and heuristics on the traffic's shape. Each
//! heuristic has an id that [`Settings::disabled`] can switch off, and its thresholds in
//! [`Settings`].

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use super::lang::Lang;
use super::observe::{is_local, HostObs, NameObs, Observations};
use super::wording;
use super::{Alert, IocRef, Level, Source};
use crate::ioc::{is_high_tag, Ioc, IocKind, IocSet, Whitelist};
use crate::output::ip_text;
use crate::time::Timestamp;

/// Thresholds and switches of the heuristics. Read from the `[heuristics]` table of a
/// configuration file with [`Settings::from_toml`]; what the file leaves out keeps its
/// default.
#[derive(Clone, Debug, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Heuristics switched off, by id: `nonstandard_port`, `self_signed`, `unresolved_ip`,
    /// `uncommon_port`, `free_ca`, `cleartext_http`, `cleartext_identity`, `beaconing`,
    /// `upload`, `several_alerts`, `suspicious_tld`.
    pub disabled: BTreeSet<String>,
    /// Destination ports of ordinary phone traffic (`uncommon_port` ignores them).
    pub common_ports: BTreeSet<u16>,
    /// Ports where TLS is expected (`nonstandard_port`).
    pub tls_ports: BTreeSet<u16>,
    /// Ports where HTTP is expected (`nonstandard_port`).
    pub http_ports: BTreeSet<u16>,
    /// Issuer organisations of free certificate authorities (`free_ca`), matched as
    /// case-insensitive substrings of the issuer's `O=`.
    pub free_ca_orgs: Vec<String>,
    /// Connections to one host needed before periodicity is judged (`beaconing`).
    pub beacon_min_connections: usize,
    /// Largest coefficient of variation of the intervals still called periodic.
    pub beacon_max_jitter: f64,
    /// Shortest mean interval, in seconds, considered (faster is ordinary chatter).
    pub beacon_min_interval: f64,
    /// Bytes sent to one host before the upload ratio is judged (`upload`).
    pub upload_min_bytes: u64,
    /// Sent/received ratio above which the upload is reported.
    pub upload_ratio: f64,
    /// Distinct alerts on one host that raise `several_alerts`.
    pub several_alerts: usize,
    /// Top-level domains reported when a name under them is contacted (`suspicious_tld`,
    /// low), without the dot. Empty by default: the feeds carry TLD indicators too.
    pub suspicious_tlds: BTreeSet<String>,
    /// Names of the device given by the operator (`--device-name`).
    #[serde(skip)]
    pub device_names: Vec<String>,
    /// The report's language.
    #[serde(skip)]
    pub lang: Lang,
}

impl Default for Settings {
    fn default() -> Self {
        let set = |p: &[u16]| p.iter().copied().collect();
        Settings {
            disabled: BTreeSet::new(),
            common_ports: set(&[
                53, 67, 68, 80, 123, 137, 138, 443, 465, 500, 587, 853, 993, 995, 1900, 3478, 3479,
                4070, 4500, 5222, 5223, 5228, 5353, 5355, 8080, 8443, 19302, 19303, 19304, 19305,
                19306, 19307, 19308, 19309,
            ]),
            tls_ports: set(&[
                443, 465, 563, 587, 636, 853, 989, 990, 993, 995, 4070, 5222, 5223, 5228, 8443,
            ]),
            http_ports: set(&[80, 8000, 8008, 8080, 8088, 3128]),
            free_ca_orgs: vec![
                "let's encrypt".into(),
                "zerossl".into(),
                "buypass".into(),
                "cacert".into(),
            ],
            beacon_min_connections: 8,
            beacon_max_jitter: 0.1,
            beacon_min_interval: 10.0,
            upload_min_bytes: 1 << 20,
            upload_ratio: 10.0,
            several_alerts: 3,
            suspicious_tlds: BTreeSet::new(),
            device_names: Vec::new(),
            lang: Lang::default(),
        }
    }
}

impl Settings {
    fn on(&self, id: &str) -> bool {
        !self.disabled.contains(id)
    }

    /// The settings of the `[heuristics]` table of a TOML configuration (`name` is used in
    /// errors); an unknown key or a value of the wrong type is an error naming it.
    pub fn from_toml(name: &str, text: &str) -> Result<Settings, String> {
        #[derive(serde::Deserialize)]
        struct File {
            #[serde(default)]
            heuristics: Option<Settings>,
        }
        let file: File = toml::from_str(text).map_err(|e| format!("{name}: {e}"))?;
        let mut s = file.heuristics.unwrap_or_default();
        s.suspicious_tlds = s
            .suspicious_tlds
            .iter()
            .map(|t| t.trim().trim_start_matches('.').to_ascii_lowercase())
            .collect();
        Ok(s)
    }
}

fn iso(ts: Option<Timestamp>) -> Option<String> {
    ts.map(|t| t.iso_seconds())
}

/// The level of an indicator match, by its kind and tag.
fn ioc_level(ioc: &Ioc) -> Level {
    match ioc.kind {
        IocKind::DynDns | IocKind::Tld => Level::Low,
        IocKind::Cidr => Level::Moderate,
        _ if ioc.tag.contains("tracker") || ioc.tag.contains("suspect") => Level::Moderate,
        _ if is_high_tag(&ioc.tag) || ioc.tag.contains("cybercrime") => Level::High,
        _ => Level::Moderate,
    }
}

fn advice(l: &Lang, level: Level) -> &str {
    l.t(match level {
        Level::High => "advice.high",
        Level::Moderate => "advice.moderate",
        Level::Low => "advice.low",
    })
}

/// ` (`name`)` after an address, when there is a name.
fn name_suffix(l: &Lang, name: Option<&str>) -> String {
    name.map(|n| l.f("name_suffix", &[("name", n)]))
        .unwrap_or_default()
}

fn ioc_alert(l: &Lang, ioc: &Ioc, check: &'static str, seen: String) -> Alert {
    let level = ioc_level(ioc);
    let mut a = Alert::new(
        level,
        Source::Ioc,
        check,
        l.t(wording::ioc_title_key(&ioc.tag, ioc.kind)).to_string(),
    );
    let app = ioc.app.as_deref().unwrap_or("");
    let listed = match (&ioc.app, ioc.tag.is_empty()) {
        (Some(_), false) => l.f("ioc.listed.tag_app", &[("tag", &*ioc.tag), ("app", app)]),
        (Some(_), true) => l.f("ioc.listed.app", &[("app", app)]),
        (None, false) => l.f("ioc.listed.tag", &[("tag", &*ioc.tag)]),
        (None, true) => l.t("ioc.listed.none").to_string(),
    };
    a.description = l.f(
        "ioc.description",
        &[
            ("seen", &*seen),
            ("kind", ioc.kind.name()),
            ("value", &*ioc.value),
            ("listed", &*listed),
            ("source", &*ioc.source),
            ("advice", advice(l, level)),
        ],
    );
    a.app = ioc.app.clone();
    a.tag = (!ioc.tag.is_empty()).then(|| ioc.tag.clone());
    a.ioc = Some(IocRef {
        kind: ioc.kind,
        value: ioc.value.clone(),
        source: ioc.source.clone(),
    });
    a
}

/// The observations' hosts and names sorted once, for every check of a report to walk in
/// the same order.
pub(super) struct InOrder<'a> {
    /// Remote hosts by address.
    pub hosts: Vec<(&'a IpAddr, &'a HostObs)>,
    /// Names, sorted.
    pub names: Vec<(&'a String, &'a NameObs)>,
}

impl<'a> InOrder<'a> {
    /// The sorted hosts and names of `obs`.
    pub fn of(obs: &'a Observations) -> Self {
        InOrder {
            hosts: obs.hosts_in_order(),
            names: obs.names_in_order(),
        }
    }
}

/// Indicator matches: every name (DNS query, CNAME, SNI, Host) against the domain
/// indicators, every remote host against the addresses and networks, every server
/// certificate, fingerprint and name server. One alert per indicator, with the first name or
/// host that matched it.
pub(super) fn ioc_alerts(
    l: &Lang,
    obs: &Observations,
    sorted: &InOrder<'_>,
    iocs: &IocSet,
    whitelist: &Whitelist,
) -> Vec<Alert> {
    let mut out: BTreeMap<(IocKind, String, String), Alert> = BTreeMap::new();
    let mut add = |ioc: &Ioc, make: &mut dyn FnMut(&Ioc) -> Alert| {
        let key = (ioc.kind, ioc.value.clone(), ioc.source.clone());
        out.entry(key).or_insert_with(|| make(ioc));
    };
    for (name, n) in sorted.names.iter().copied() {
        for ioc in iocs.match_domain(name) {
            add(ioc, &mut |ioc| {
                let how: Vec<String> = n
                    .sources
                    .iter()
                    .map(|s| match s {
                        super::observe::NameSource::DnsQuery => {
                            l.f("ioc.how.dns_query", &[("name", name.as_str())])
                        }
                        super::observe::NameSource::DnsCname => {
                            l.f("ioc.how.dns_cname", &[("name", name.as_str())])
                        }
                        super::observe::NameSource::TlsSni => {
                            l.f("ioc.how.tls_sni", &[("name", name.as_str())])
                        }
                        super::observe::NameSource::QuicSni => {
                            l.f("ioc.how.quic_sni", &[("name", name.as_str())])
                        }
                        super::observe::NameSource::HttpHost => {
                            l.f("ioc.how.http_host", &[("name", name.as_str())])
                        }
                    })
                    .collect();
                let mut a = ioc_alert(
                    l,
                    ioc,
                    match ioc.kind {
                        IocKind::DynDns => "ioc.dyndns",
                        IocKind::Tld => "ioc.tld",
                        _ => "ioc.domain",
                    },
                    l.f("ioc.seen.name", &[("how", &*how.join(l.t("ioc.how.join")))]),
                );
                a.domain = Some(name.clone());
                a.first_seen = iso(n.first_seen);
                a.flow_ids = n.flow_ids.clone();
                a.whitelisted = whitelist.domain(name).map(str::to_string);
                a.ip = n.addresses.iter().next().copied();
                a
            });
        }
    }
    for (ip, h) in sorted.hosts.iter().copied() {
        for ioc in iocs.match_ip(*ip) {
            add(ioc, &mut |ioc| {
                let mut a = ioc_alert(
                    l,
                    ioc,
                    if ioc.kind == IocKind::Cidr {
                        "ioc.cidr"
                    } else {
                        "ioc.ip"
                    },
                    l.f(
                        "ioc.seen.ip",
                        &[
                            ("ip", &*ip_text(*ip)),
                            ("connections", &*num_text(h.connections)),
                            ("up", &*num_text(h.bytes_up)),
                            ("down", &*num_text(h.bytes_down)),
                        ],
                    ),
                );
                a.ip = Some(*ip);
                a.port = h.ports.iter().next().map(|(_, p)| *p);
                a.domain = h.names.iter().next().cloned();
                a.first_seen = iso(h.first_seen);
                a.flow_ids = h.flow_ids.clone();
                a.whitelisted = whitelist.ip(*ip).map(str::to_string);
                a
            });
        }
    }
    for c in obs.certs.values() {
        for ioc in iocs.match_cert(&c.sha1, &c.sha256) {
            add(ioc, &mut |ioc| {
                let mut a = ioc_alert(
                    l,
                    ioc,
                    "ioc.cert",
                    l.f(
                        "ioc.seen.cert",
                        &[
                            ("ip", &*ip_text(c.server.0)),
                            ("port", &*num_text(c.server.1)),
                            ("subject", &*c.subject),
                        ],
                    ),
                );
                a.ip = Some(c.server.0);
                a.port = Some(c.server.1);
                a.sni = c.sni.clone();
                a.cert_sha1 = Some(c.sha1.clone());
                a.first_seen = iso(Some(c.first_seen));
                a.flow_ids = c.flow_ids.clone();
                a
            });
        }
    }
    for t in &obs.tls {
        let matches = t
            .ja3
            .iter()
            .flat_map(|j| iocs.match_ja3(j))
            .chain(t.ja4.iter().flat_map(|j| iocs.match_ja4(j)));
        for ioc in matches {
            add(ioc, &mut |ioc| {
                let mut a = ioc_alert(
                    l,
                    ioc,
                    "ioc.fingerprint",
                    l.f(
                        "ioc.seen.fingerprint",
                        &[
                            ("ip", &*ip_text(t.server.0)),
                            ("port", &*num_text(t.server.1)),
                        ],
                    ),
                );
                a.ip = Some(t.server.0);
                a.port = Some(t.server.1);
                a.sni = t.sni.clone();
                a.first_seen = iso(Some(t.ts));
                a.flow_ids = vec![t.flow_id];
                a
            });
        }
    }
    for (ns, n) in &obs.nameservers {
        for ioc in iocs.match_nameserver(ns) {
            add(ioc, &mut |ioc| {
                let mut a = ioc_alert(
                    l,
                    ioc,
                    "ioc.nameserver",
                    l.f("ioc.seen.nameserver", &[("name", ns.as_str())]),
                );
                a.domain = Some(ns.clone());
                a.first_seen = iso(n.first_seen);
                a.flow_ids = n.flow_ids.clone();
                a
            });
        }
    }
    out.into_values().collect()
}

/// Rule alerts: by priority (1 high, 2 moderate, 3 and more low); a rule with neither a
/// classtype nor a priority is high, as the rules of indicator feeds carry none.
pub(super) fn rule_alerts(l: &Lang, obs: &Observations) -> Vec<Alert> {
    obs.alerts
        .values()
        .map(|r| {
            let level = if !r.classified || r.severity <= 1 {
                Level::High
            } else if r.severity == 2 {
                Level::Moderate
            } else {
                Level::Low
            };
            let mut a = Alert::new(
                level,
                Source::Rule,
                "rule",
                l.f("rule.title", &[("msg", &*r.msg)]),
            );
            a.description = l.f(
                "rule.description",
                &[
                    ("sid", &*num_text(r.sid)),
                    ("msg", &*r.msg),
                    ("count", &*num_text(r.count)),
                    ("ip", &*ip_text(r.remote.0)),
                    ("port", &*num_text(r.remote.1)),
                    ("advice", advice(l, level)),
                ],
            );
            a.sid = Some(r.sid);
            a.ip = Some(r.remote.0);
            a.port = Some(r.remote.1);
            a.first_seen = iso(Some(r.first_seen));
            a.flow_ids = r.flow_ids.clone();
            a
        })
        .collect()
}

/// Whether the whitelist covers the host (its address or one of its names).
fn whitelisted(obs: &Observations, whitelist: &Whitelist, ip: IpAddr, name: Option<&str>) -> bool {
    whitelist.ip(ip).is_some()
        || name.is_some_and(|n| whitelist.domain(n).is_some())
        || obs
            .hosts
            .get(&ip)
            .is_some_and(|h| h.names.iter().any(|n| whitelist.domain(n).is_some()))
}

/// The issuer's organisation (`O=`) of a distinguished name.
fn organisation(dn: &str) -> Option<&str> {
    dn.split(',')
        .map(str::trim)
        .find_map(|part| part.strip_prefix("O="))
}

/// Heuristics on the traffic's shape, on hosts outside the whitelist.
pub(super) fn traffic_alerts(
    obs: &Observations,
    sorted: &InOrder<'_>,
    whitelist: &Whitelist,
    s: &Settings,
) -> Vec<Alert> {
    let l = &s.lang;
    let mut out = Vec::new();
    let host_name = |ip: &IpAddr| {
        obs.hosts
            .get(ip)
            .and_then(|h| h.names.iter().next().cloned())
    };
    if s.on("nonstandard_port") {
        let mut seen = BTreeSet::new();
        for t in obs.tls.iter().filter(|t| !t.quic) {
            let (ip, port) = t.server;
            if is_local(ip) || s.tls_ports.contains(&port) || !seen.insert((ip, port, "TLS")) {
                continue;
            }
            if whitelisted(obs, whitelist, ip, t.sni.as_deref()) {
                continue;
            }
            let mut a = Alert::new(
                Level::Moderate,
                Source::Heuristic,
                "nonstandard_port",
                l.t("nonstandard_port.tls.title").to_string(),
            );
            a.description = l.f(
                "nonstandard_port.tls.description",
                &[
                    ("ip", &*ip_text(ip)),
                    ("port", &*num_text(port)),
                    ("name", &*name_suffix(l, t.sni.as_deref())),
                    ("advice", advice(l, Level::Moderate)),
                ],
            );
            a.ip = Some(ip);
            a.port = Some(port);
            a.sni = t.sni.clone();
            a.first_seen = iso(Some(t.ts));
            a.flow_ids = vec![t.flow_id];
            out.push(a);
        }
        for h in &obs.http {
            let (ip, port) = h.server;
            if is_local(ip) || s.http_ports.contains(&port) || !seen.insert((ip, port, "HTTP")) {
                continue;
            }
            if whitelisted(obs, whitelist, ip, h.host.as_deref()) {
                continue;
            }
            let mut a = Alert::new(
                Level::Moderate,
                Source::Heuristic,
                "nonstandard_port",
                l.t("nonstandard_port.http.title").to_string(),
            );
            a.description = l.f(
                "nonstandard_port.http.description",
                &[
                    ("ip", &*ip_text(ip)),
                    ("port", &*num_text(port)),
                    ("name", &*name_suffix(l, h.host.as_deref())),
                    ("advice", advice(l, Level::Moderate)),
                ],
            );
            a.ip = Some(ip);
            a.port = Some(port);
            a.domain = h.host.clone();
            a.first_seen = iso(Some(h.ts));
            a.flow_ids = vec![h.flow_id];
            out.push(a);
        }
    }
    for c in obs.certs.values().filter(|c| c.host_cert) {
        let (ip, port) = c.server;
        if is_local(ip) || whitelisted(obs, whitelist, ip, c.sni.as_deref()) {
            continue;
        }
        if c.self_signed && s.on("self_signed") {
            let mut a = Alert::new(
                Level::Moderate,
                Source::Heuristic,
                "self_signed",
                l.t("self_signed.title").to_string(),
            );
            a.description = l.f(
                "self_signed.description",
                &[
                    ("ip", &*ip_text(ip)),
                    ("port", &*num_text(port)),
                    ("name", &*name_suffix(l, c.sni.as_deref())),
                    ("subject", &*c.subject),
                    ("advice", advice(l, Level::Moderate)),
                ],
            );
            a.ip = Some(ip);
            a.port = Some(port);
            a.sni = c.sni.clone();
            a.cert_sha1 = Some(c.sha1.clone());
            a.first_seen = iso(Some(c.first_seen));
            a.flow_ids = c.flow_ids.clone();
            out.push(a);
        }
        if s.on("free_ca") {
            let org = organisation(&c.issuer).unwrap_or("");
            let free = s
                .free_ca_orgs
                .iter()
                .any(|f| org.to_ascii_lowercase().contains(f.as_str()));
            if free {
                let mut a = Alert::new(
                    Level::Low,
                    Source::Heuristic,
                    "free_ca",
                    l.t("free_ca.title").to_string(),
                );
                a.description = l.f(
                    "free_ca.description",
                    &[
                        ("ip", &*ip_text(ip)),
                        ("port", &*num_text(port)),
                        ("name", &*name_suffix(l, c.sni.as_deref())),
                        ("org", org),
                        ("advice", advice(l, Level::Low)),
                    ],
                );
                a.ip = Some(ip);
                a.port = Some(port);
                a.sni = c.sni.clone();
                a.cert_sha1 = Some(c.sha1.clone());
                a.first_seen = iso(Some(c.first_seen));
                a.flow_ids = c.flow_ids.clone();
                out.push(a);
            }
        }
    }
    if s.on("cleartext_identity") {
        for i in &obs.identity {
            let (ip, port) = i.server;
            let mut a = Alert::new(
                Level::Moderate,
                Source::Heuristic,
                "cleartext_identity",
                l.t(if i.what == "SSID" {
                    "cleartext_identity.title.ssid"
                } else {
                    "cleartext_identity.title.device"
                })
                .to_string(),
            );
            a.description = l.f(
                "cleartext_identity.description",
                &[
                    (
                        "what",
                        l.t(if i.what == "SSID" {
                            "identity.ssid"
                        } else {
                            "identity.device"
                        }),
                    ),
                    ("value", &*i.needle),
                    (
                        "place",
                        l.t(match i.place {
                            "URL" => "place.url",
                            "header" => "place.header",
                            _ => "place.body",
                        }),
                    ),
                    ("ip", &*ip_text(ip)),
                    ("name", &*name_suffix(l, i.host.as_deref())),
                    ("advice", advice(l, Level::Moderate)),
                ],
            );
            a.ip = Some(ip);
            a.port = Some(port);
            a.domain = i.host.clone();
            a.first_seen = iso(Some(i.ts));
            a.flow_ids = vec![i.flow_id];
            out.push(a);
        }
    }
    if s.on("suspicious_tld") && !s.suspicious_tlds.is_empty() {
        for (name, n) in sorted.names.iter().copied() {
            let tld = name.rsplit('.').next().unwrap_or("");
            if !s.suspicious_tlds.contains(tld) || whitelist.domain(name).is_some() {
                continue;
            }
            let mut a = Alert::new(
                Level::Low,
                Source::Heuristic,
                "suspicious_tld",
                l.t("ioc.title.tld").to_string(),
            );
            a.description = format!(
                "{}. {}",
                l.f(
                    "ioc.seen.name",
                    &[(
                        "how",
                        &*l.f("ioc.how.dns_query", &[("name", name.as_str())])
                    )]
                ),
                advice(l, Level::Low)
            );
            a.domain = Some(name.clone());
            a.first_seen = iso(n.first_seen);
            a.flow_ids = n.flow_ids.clone();
            out.push(a);
        }
    }
    if s.on("cleartext_http") {
        let mut by_host: BTreeMap<IpAddr, Vec<&super::observe::HttpObs>> = BTreeMap::new();
        for h in &obs.http {
            if !is_local(h.server.0) {
                by_host.entry(h.server.0).or_default().push(h);
            }
        }
        for (ip, reqs) in by_host {
            let host = reqs.iter().find_map(|r| r.host.clone());
            if whitelisted(obs, whitelist, ip, host.as_deref()) {
                continue;
            }
            let mut a = Alert::new(
                Level::Low,
                Source::Heuristic,
                "cleartext_http",
                l.t("cleartext_http.title").to_string(),
            );
            a.description = l.f(
                "cleartext_http.description",
                &[
                    ("count", &*num_text(reqs.len())),
                    ("ip", &*ip_text(ip)),
                    ("name", &*name_suffix(l, host.as_deref())),
                    ("advice", advice(l, Level::Low)),
                ],
            );
            a.ip = Some(ip);
            a.port = reqs.first().map(|r| r.server.1);
            a.domain = host;
            a.first_seen = iso(reqs.first().map(|r| r.ts));
            a.flow_ids = reqs.iter().take(32).map(|r| r.flow_id).collect();
            out.push(a);
        }
    }
    for (ip, h) in sorted.hosts.iter().copied() {
        if is_local(*ip) || whitelisted(obs, whitelist, *ip, None) {
            continue;
        }
        let infrastructure = |p: u16| matches!(p, 53 | 123 | 853 | 5353 | 67 | 68);
        if s.on("unresolved_ip")
            && !obs.resolved.contains_key(ip)
            && h.names.is_empty()
            && h.ports.iter().any(|(_, p)| !infrastructure(*p))
            && !h.protocols.contains("dns")
        {
            let mut a = Alert::new(
                Level::Low,
                Source::Heuristic,
                "unresolved_ip",
                l.t("unresolved_ip.title").to_string(),
            );
            a.description = l.f(
                "unresolved_ip.description",
                &[("ip", &*ip_text(*ip)), ("advice", advice(l, Level::Low))],
            );
            a.ip = Some(*ip);
            a.port = h.ports.iter().next().map(|(_, p)| *p);
            a.first_seen = iso(h.first_seen);
            a.flow_ids = h.flow_ids.clone();
            out.push(a);
        }
        if s.on("uncommon_port") {
            let odd: Vec<String> = h
                .ports
                .iter()
                .filter(|(proto, p)| matches!(proto, 6 | 17) && !s.common_ports.contains(p))
                .map(|(proto, p)| format!("{}/{p}", if *proto == 6 { "tcp" } else { "udp" }))
                .collect();
            if !odd.is_empty() {
                let mut a = Alert::new(
                    Level::Low,
                    Source::Heuristic,
                    "uncommon_port",
                    l.t("uncommon_port.title").to_string(),
                );
                a.description = l.f(
                    "uncommon_port.description",
                    &[
                        ("ip", &*ip_text(*ip)),
                        ("name", &*name_suffix(l, host_name(ip).as_deref())),
                        ("ports", &*odd.join(", ")),
                        ("advice", advice(l, Level::Low)),
                    ],
                );
                a.ip = Some(*ip);
                a.domain = host_name(ip);
                a.first_seen = iso(h.first_seen);
                a.flow_ids = h.flow_ids.clone();
                out.push(a);
            }
        }
        if s.on("upload")
            && h.bytes_up >= s.upload_min_bytes
            && (h.bytes_up as f64) >= s.upload_ratio * (h.bytes_down.max(1) as f64)
        {
            let mut a = Alert::new(
                Level::Low,
                Source::Heuristic,
                "upload",
                l.t("upload.title").to_string(),
            );
            a.description = l.f(
                "upload.description",
                &[
                    ("up", &*num_text(h.bytes_up)),
                    ("ip", &*ip_text(*ip)),
                    ("name", &*name_suffix(l, host_name(ip).as_deref())),
                    ("down", &*num_text(h.bytes_down)),
                    ("advice", advice(l, Level::Low)),
                ],
            );
            a.ip = Some(*ip);
            a.domain = host_name(ip);
            a.first_seen = iso(h.first_seen);
            a.flow_ids = h.flow_ids.clone();
            out.push(a);
        }
        if s.on("beaconing") && h.starts.len() >= s.beacon_min_connections {
            let mut t = h.starts.clone();
            t.sort_by(f64::total_cmp);
            let gaps: Vec<f64> = t.windows(2).map(|w| w[1] - w[0]).collect();
            let n = gaps.len() as f64;
            let mean = gaps.iter().sum::<f64>() / n;
            let var = gaps.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / n;
            let cv = var.sqrt() / mean.max(f64::MIN_POSITIVE);
            if mean >= s.beacon_min_interval && cv <= s.beacon_max_jitter {
                let mut a = Alert::new(
                    Level::Low,
                    Source::Heuristic,
                    "beaconing",
                    l.t("beaconing.title").to_string(),
                );
                a.description = l.f(
                    "beaconing.description",
                    &[
                        ("count", &*num_text(h.starts.len())),
                        ("ip", &*ip_text(*ip)),
                        ("name", &*name_suffix(l, host_name(ip).as_deref())),
                        ("interval", &*format!("{mean:.0}")),
                        ("jitter", &*format!("{:.0}", cv * 100.0)),
                        ("advice", advice(l, Level::Low)),
                    ],
                );
                a.ip = Some(*ip);
                a.domain = host_name(ip);
                a.first_seen = iso(h.first_seen);
                a.flow_ids = h.flow_ids.clone();
                out.push(a);
            }
        }
    }
    out
}

/// A host that raised several distinct alerts is itself worth a moderate alert.
pub(super) fn several_alerts(alerts: &[Alert], s: &Settings) -> Vec<Alert> {
    let l = &s.lang;
    if !s.on("several_alerts") {
        return Vec::new();
    }
    let mut by_host: BTreeMap<IpAddr, BTreeSet<&str>> = BTreeMap::new();
    for a in alerts {
        if let Some(ip) = a.ip {
            by_host.entry(ip).or_default().insert(a.check);
        }
    }
    by_host
        .into_iter()
        .filter(|(_, checks)| checks.len() >= s.several_alerts)
        .map(|(ip, checks)| {
            let mut a = Alert::new(
                Level::Moderate,
                Source::Heuristic,
                "several_alerts",
                l.t("several_alerts.title").to_string(),
            );
            a.description = l.f(
                "several_alerts.description",
                &[
                    ("count", &*num_text(checks.len())),
                    ("ip", &*ip_text(ip)),
                    (
                        "checks",
                        &*checks.iter().copied().collect::<Vec<_>>().join(", "),
                    ),
                    ("advice", advice(l, Level::Moderate)),
                ],
            );
            a.ip = Some(ip);
            a
        })
        .collect()
}

/// A number as text, without the formatting machinery.
fn num_text(n: impl itoa::Integer) -> String {
    itoa::Buffer::new().format(n).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verdict::observe::HostObs;

    fn host(starts: &[f64], up: u64, down: u64) -> HostObs {
        HostObs {
            names: ["c2.example".to_string()].into_iter().collect(),
            ports: [(6, 443)].into_iter().collect(),
            protocols: ["ssl"].into_iter().collect(),
            bytes_up: up,
            bytes_down: down,
            connections: starts.len() as u64,
            first_seen: None,
            flow_ids: vec![1],
            starts: starts.to_vec(),
        }
    }

    fn checks(obs: &Observations) -> Vec<&'static str> {
        let mut c: Vec<&'static str> = traffic_alerts(
            obs,
            &InOrder::of(obs),
            &Whitelist::default(),
            &Settings::default(),
        )
        .into_iter()
        .map(|a| a.check)
        .collect();
        c.sort_unstable();
        c
    }

    #[test]
    fn regular_connections_are_beaconing_and_jittery_ones_are_not() {
        let ip: IpAddr = "198.51.100.7".parse().unwrap_or_else(|e| panic!("{e}"));
        let mut obs = Observations::default();
        obs.resolved.insert(ip, BTreeSet::new());
        let regular: Vec<f64> = (0..10).map(|i| 1000.0 + 60.0 * f64::from(i)).collect();
        obs.hosts.insert(ip, host(&regular, 100, 100));
        assert_eq!(checks(&obs), ["beaconing"]);
        let jittery: Vec<f64> = (0..10)
            .map(|i| 1000.0 + 60.0 * f64::from(i) + if i % 2 == 0 { 25.0 } else { 0.0 })
            .collect();
        obs.hosts.insert(ip, host(&jittery, 100, 100));
        assert!(checks(&obs).is_empty());
        let fast: Vec<f64> = (0..10).map(|i| 1000.0 + f64::from(i)).collect();
        obs.hosts.insert(ip, host(&fast, 100, 100));
        assert!(
            checks(&obs).is_empty(),
            "one-second chatter is not a beacon"
        );
    }

    #[test]
    fn uploads_far_above_downloads_are_reported() {
        let ip: IpAddr = "198.51.100.8".parse().unwrap_or_else(|e| panic!("{e}"));
        let mut obs = Observations::default();
        obs.resolved.insert(ip, BTreeSet::new());
        obs.hosts.insert(ip, host(&[1.0], 5 << 20, 10_000));
        assert_eq!(checks(&obs), ["upload"]);
        obs.hosts.insert(ip, host(&[1.0], 5 << 20, 5 << 20));
        assert!(checks(&obs).is_empty());
    }

    #[test]
    fn settings_come_from_a_configuration_file() {
        let s = Settings::from_toml(
            "tcheck.toml",
            "[heuristics]\ndisabled = [\"beaconing\"]\nupload_ratio = 4.0\nsuspicious_tlds = [\".ZIP\"]\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(!s.on("beaconing"));
        assert!((s.upload_ratio - 4.0).abs() < f64::EPSILON);
        assert!(s.suspicious_tlds.contains("zip"));
        assert_eq!(s.several_alerts, 3, "defaults for what the file leaves out");
        let e = Settings::from_toml("tcheck.toml", "[heuristics]\nupload_ration = 4\n")
            .err()
            .unwrap_or_default();
        assert!(
            e.contains("tcheck.toml") && e.contains("upload_ration"),
            "{e}"
        );
        let mut obs = Observations::default();
        obs.names.insert("x.zip".into(), Default::default());
        let c: Vec<&str> = traffic_alerts(&obs, &InOrder::of(&obs), &Whitelist::default(), &s)
            .into_iter()
            .map(|a| a.check)
            .collect();
        assert_eq!(c, ["suspicious_tld"]);
    }

    #[test]
    fn whitelisted_hosts_raise_no_heuristic() {
        let ip: IpAddr = "198.51.100.9".parse().unwrap_or_else(|e| panic!("{e}"));
        let mut obs = Observations::default();
        obs.hosts.insert(ip, host(&[1.0], 5 << 20, 1));
        let w = Whitelist::new([Ioc {
            kind: IocKind::Domain,
            value: "example".into(),
            tag: String::new(),
            app: None,
            tlp: None,
            source: "test".into(),
        }]);
        assert!(traffic_alerts(&obs, &InOrder::of(&obs), &w, &Settings::default()).is_empty());
        // Without the whitelist, the upload is reported (the host has a name from its SNI,
        // so it does not count as never resolved).
        assert_eq!(checks(&obs), ["upload"]);
    }
}
