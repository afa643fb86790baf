//! From what a capture showed to what a person needs to know: indicator matches, rule
//! alerts and heuristics become [`Alert`]s with a [`Level`], the alerts a [`Verdict`], and all
//! of it a [`Report`] (JSON, schema in `docs/report.schema.json`).
//!
//! Indicators are matched against everything the device named or reached (see
//! [`observe`]); the whitelist silences heuristics on a host, never an indicator (the report
//! says when a host with an indicator was whitelisted). Nothing here looks anything up on the
//! network: the analysis never leaks what the phone contacted.

pub mod dnslog;
mod heuristics;
pub mod lang;
pub mod live;
pub mod observe;
mod wording;

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use serde::Serialize;

use crate::ioc::{IocSet, Whitelist};
pub use heuristics::Settings;
pub use lang::Lang;
pub use live::{LiveDetection, LiveWatch};
pub use observe::Observations;

/// How much an alert matters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Worth knowing; common in normal traffic.
    Low,
    /// Unusual; deserves a closer look.
    Moderate,
    /// Strong sign of stalkerware, spyware or a known threat.
    High,
}

/// What raised an alert.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// An indicator of compromise matched.
    Ioc,
    /// A heuristic on the traffic's shape.
    Heuristic,
    /// A detection rule matched.
    Rule,
}

/// One finding, with its evidence.
#[derive(Clone, Debug, Serialize)]
pub struct Alert {
    /// How much it matters.
    pub level: Level,
    /// What raised it.
    pub source: Source,
    /// Which check raised it (`ioc.domain`, `self_signed`, `rule`...), stable.
    pub check: &'static str,
    /// In plain words, for the person.
    pub title: String,
    /// What was seen, why it matters, what to do; the technical detail.
    pub description: String,
    /// The domain involved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// The remote address involved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<IpAddr>,
    /// The remote port involved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// The TLS server name involved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sni: Option<String>,
    /// The certificate involved (SHA-1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cert_sha1: Option<String>,
    /// The rule's signature id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<u32>,
    /// The app, malware or campaign the indicator belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app: Option<String>,
    /// The indicator's tag.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// The indicator matched (kind and value) and its source.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ioc: Option<IocRef>,
    /// The whitelist entry covering the host, when an indicator matched it anyway.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub whitelisted: Option<String>,
    /// First time seen (RFC 3339, UTC).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_seen: Option<String>,
    /// Flows involved (EVE `flow_id`), the first few.
    pub flow_ids: Vec<u64>,
}

/// The indicator behind an alert.
#[derive(Clone, Debug, Serialize)]
pub struct IocRef {
    /// Its kind.
    pub kind: crate::ioc::IocKind,
    /// Its value.
    pub value: String,
    /// Its source.
    pub source: String,
}

impl Alert {
    fn new(level: Level, source: Source, check: &'static str, title: String) -> Self {
        Alert {
            level,
            source,
            check,
            title,
            description: String::new(),
            domain: None,
            ip: None,
            port: None,
            sni: None,
            cert_sha1: None,
            sid: None,
            app: None,
            tag: None,
            ioc: None,
            whitelisted: None,
            first_seen: None,
            flow_ids: Vec::new(),
        }
    }
}

/// The conclusion, in one sentence.
#[derive(Clone, Debug, Serialize)]
pub struct Verdict {
    /// The highest alert level, or `none`.
    pub level: &'static str,
    /// One sentence for the person.
    pub summary: String,
    /// Alerts by level.
    pub counts: BTreeMap<Level, usize>,
}

/// The capture the report is about.
#[derive(Clone, Debug, Default, Serialize)]
pub struct CaptureInfo {
    /// File name.
    pub file: String,
    /// SHA-256 of the file, hex.
    pub sha256: String,
    /// Packets read.
    pub packets: u64,
    /// Bytes read.
    pub bytes: u64,
    /// First packet (RFC 3339, UTC).
    pub start: Option<String>,
    /// Last packet.
    pub end: Option<String>,
}

/// One remote host, for the connections table.
#[derive(Clone, Debug, Serialize)]
pub struct Connection {
    /// Its address.
    pub ip: IpAddr,
    /// Names it was reached by.
    pub names: Vec<String>,
    /// Ports, as `tcp/443`.
    pub ports: Vec<String>,
    /// Protocols recognised.
    pub protocols: Vec<String>,
    /// Payload bytes sent by the device.
    pub bytes_up: u64,
    /// Payload bytes received.
    pub bytes_down: u64,
    /// Connections.
    pub connections: u64,
    /// Alerts about it, by level.
    pub alerts: BTreeMap<Level, usize>,
}

/// The whole report.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// Schema version of this document.
    pub schema: u32,
    /// The language of its texts (`en`, `fr`, ...).
    pub language: String,
    /// The conclusion.
    pub verdict: Verdict,
    /// Every alert, the most serious first.
    pub alerts: Vec<Alert>,
    /// The device, as DHCP described it, and the names given on the command line.
    pub device: Device,
    /// The capture.
    pub capture: CaptureInfo,
    /// Remote hosts, the most alerted and then the busiest first.
    pub connections: Vec<Connection>,
    /// Indicators loaded, by kind, and the whitelist size.
    pub indicators: BTreeMap<String, usize>,
    /// What the analysis could not see or keep.
    pub limits: Vec<String>,
}

/// The device under test.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Device {
    /// Names given by the operator or seen in DHCP.
    pub names: Vec<String>,
    /// DHCP vendor classes.
    pub vendor_classes: Vec<String>,
    /// MAC addresses.
    pub macs: Vec<String>,
    /// Addresses.
    pub addresses: Vec<IpAddr>,
}

/// Current schema version of [`Report`].
pub const SCHEMA_VERSION: u32 = 1;

/// Builds the report: runs the indicator matching and the heuristics over `obs`.
///
/// Called on a thread of a rayon pool (`ThreadPool::install`), it makes the alerts and the
/// list of remote hosts side by side on that pool; called anywhere else, one after the other
/// on the calling thread.
pub fn assess(
    obs: &Observations,
    iocs: &IocSet,
    whitelist: &Whitelist,
    settings: &Settings,
    capture: CaptureInfo,
) -> Report {
    let l = &settings.lang;
    let (alerts, mut connections) = side_by_side(
        || {
            let sorted = heuristics::InOrder::of(obs);
            let mut alerts = heuristics::ioc_alerts(l, obs, &sorted, iocs, whitelist);
            alerts.extend(heuristics::rule_alerts(l, obs));
            alerts.extend(heuristics::traffic_alerts(
                obs, &sorted, whitelist, settings,
            ));
            alerts.extend(heuristics::several_alerts(&alerts, settings));
            in_report_order(alerts)
        },
        || remote_hosts(obs),
    );
    let mut counts = BTreeMap::new();
    for a in &alerts {
        *counts.entry(a.level).or_insert(0) += 1;
    }
    let top = alerts.iter().map(|a| a.level).max();
    let verdict = Verdict {
        level: match top {
            Some(Level::High) => "high",
            Some(Level::Moderate) => "moderate",
            Some(Level::Low) => "low",
            None => "none",
        },
        summary: l.t(wording::verdict_key(top)).to_string(),
        counts,
    };
    let mut per_host: hashbrown::HashMap<IpAddr, BTreeMap<Level, usize>> =
        hashbrown::HashMap::new();
    for a in &alerts {
        if let Some(ip) = a.ip {
            *per_host.entry(ip).or_default().entry(a.level).or_insert(0) += 1;
        }
    }
    for c in &mut connections {
        if let Some(levels) = per_host.remove(&c.ip) {
            c.alerts = levels;
        }
    }
    // The most alarming first (highest level, then most alerts), then the most traffic,
    // then by address. The key is computed once per connection, not per comparison.
    connections.sort_by_cached_key(|c| {
        (
            std::cmp::Reverse(c.alerts.keys().max().copied()),
            std::cmp::Reverse(c.alerts.values().sum::<usize>()),
            std::cmp::Reverse(c.bytes_up + c.bytes_down),
            c.ip,
        )
    });
    let mut names: BTreeSet<String> = settings.device_names.iter().cloned().collect();
    names.extend(obs.device.names.iter().cloned());
    let mut indicators: BTreeMap<String, usize> = iocs
        .counts()
        .into_iter()
        .map(|(k, v)| (k.name().to_string(), v))
        .collect();
    indicators.insert("whitelist".into(), whitelist.len());
    let mut limits = vec![l.t("limit.capture").to_string()];
    if obs.dropped > 0 {
        limits.push(l.f("limit.dropped", &[("count", &*obs.dropped.to_string())]));
    }
    Report {
        schema: SCHEMA_VERSION,
        language: l.code().to_string(),
        verdict,
        alerts,
        device: Device {
            names: names.into_iter().collect(),
            vendor_classes: obs.device.vendor_classes.iter().cloned().collect(),
            macs: obs.device.macs.iter().cloned().collect(),
            addresses: obs.device.addresses.iter().copied().collect(),
        },
        capture,
        connections,
        indicators,
        limits,
    }
}

/// `a` and `b` with `rayon::join` on a rayon pool's thread, or one after the other outside
/// any (where `join` would start rayon's global pool).
fn side_by_side<A: Send, B: Send>(
    a: impl FnOnce() -> A + Send,
    b: impl FnOnce() -> B + Send,
) -> (A, B) {
    if rayon::current_thread_index().is_some() {
        rayon::join(a, b)
    } else {
        (a(), b())
    }
}

/// The remote hosts of the report, in no order and without their alerts.
fn remote_hosts(obs: &Observations) -> Vec<Connection> {
    obs.hosts
        .iter()
        .map(|(ip, h)| Connection {
            ip: *ip,
            names: h.names.iter().take(10).cloned().collect(),
            ports: h
                .ports
                .iter()
                .map(|&(p, port)| port_text(p, port))
                .collect(),
            protocols: h.protocols.iter().map(|p| p.to_string()).collect(),
            bytes_up: h.bytes_up,
            bytes_down: h.bytes_down,
            connections: h.connections,
            alerts: BTreeMap::new(),
        })
        .collect()
}

/// Marks `report` as made from a DNS query log only, and says what that cannot see.
pub fn note_dns_only(report: &mut Report) {
    let l = Lang::get(&report.language).unwrap_or_default();
    report.limits.insert(0, l.t("limit.dns_only").to_string());
}

/// The alerts in the report's order: the highest level first, then by source, first time
/// seen and title, and in the order they were raised when all of these are equal.
///
/// `sort_by_cached_key` sorts the keys, then puts each alert in place with one swap: an
/// alert is a few hundred bytes, and the stable sort that moved them at every step cost more
/// than the two strings each key copies.
fn in_report_order(mut alerts: Vec<Alert>) -> Vec<Alert> {
    alerts.sort_by_cached_key(|a| {
        (
            std::cmp::Reverse(a.level),
            a.source,
            a.first_seen.clone(),
            a.title.clone(),
        )
    });
    alerts
}

/// A port as the report writes it, `tcp/443` (without `format!`: it runs for every port of
/// every host).
fn port_text(proto: u8, port: u16) -> String {
    let name = proto_name(proto);
    let mut text = String::with_capacity(name.len() + 6);
    text.push_str(name);
    text.push('/');
    text.push_str(itoa::Buffer::new().format(port));
    text
}

fn proto_name(p: u8) -> &'static str {
    match p {
        6 => "tcp",
        17 => "udp",
        1 => "icmp",
        58 => "icmp6",
        _ => "ip",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(level: Level, source: Source, first_seen: Option<&str>, title: &str) -> Alert {
        let mut a = Alert::new(level, source, "test", title.to_string());
        a.first_seen = first_seen.map(str::to_string);
        a
    }

    /// `alerts` in the order of the comparator the report used before
    /// [`in_report_order`]: a stable sort, so equal alerts keep the order they were raised.
    fn by_former_comparator(alerts: &[Alert]) -> Vec<Alert> {
        let mut sorted = alerts.to_vec();
        sorted.sort_by(|a, b| {
            b.level
                .cmp(&a.level)
                .then(a.source.cmp(&b.source))
                .then(a.first_seen.cmp(&b.first_seen))
                .then(a.title.cmp(&b.title))
        });
        sorted
    }

    #[test]
    fn alerts_are_ordered_by_level_source_time_title_then_as_raised() {
        let raised = vec![
            alert(Level::Low, Source::Ioc, Some("2024-01-01T00:00:00Z"), "a"),
            alert(Level::High, Source::Rule, None, "b"),
            alert(Level::High, Source::Ioc, Some("2024-01-02T00:00:00Z"), "c"),
            alert(Level::High, Source::Ioc, Some("2024-01-01T00:00:00Z"), "z"),
            alert(Level::High, Source::Ioc, None, "y"),
            alert(Level::Moderate, Source::Heuristic, None, "same"),
            alert(Level::Moderate, Source::Heuristic, None, "same"),
        ];
        // The two equal alerts are told apart by their descriptions.
        let mut raised = raised;
        raised[5].description = "first".into();
        raised[6].description = "second".into();
        let expected = by_former_comparator(&raised);
        let ordered = in_report_order(raised);
        let seen: Vec<(&str, &str)> = ordered
            .iter()
            .map(|a| (a.title.as_str(), a.description.as_str()))
            .collect();
        let want: Vec<(&str, &str)> = expected
            .iter()
            .map(|a| (a.title.as_str(), a.description.as_str()))
            .collect();
        assert_eq!(seen, want);
        assert_eq!(
            seen.iter().map(|s| s.0).collect::<Vec<_>>(),
            ["y", "z", "c", "b", "same", "same", "a"]
        );
        assert_eq!(ordered[4].description, "first");
        assert_eq!(ordered[5].description, "second");
    }

    #[test]
    fn a_large_shuffled_list_is_ordered_as_the_comparator_orders_it() {
        // Few distinct keys, so that many alerts tie and their order rests on the tie-break.
        let levels = [Level::Low, Level::Moderate, Level::High];
        let sources = [Source::Ioc, Source::Heuristic, Source::Rule];
        let times = [
            None,
            Some("2024-01-01T00:00:00Z"),
            Some("2024-01-02T00:00:00Z"),
        ];
        let mut x = 12345u32;
        let mut next = |n: usize| {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            (x >> 16) as usize % n
        };
        let raised: Vec<Alert> = (0..500)
            .map(|i| {
                let mut a = alert(
                    levels[next(3)],
                    sources[next(3)],
                    times[next(3)],
                    ["a", "b"][next(2)],
                );
                a.description = i.to_string();
                a
            })
            .collect();
        let expected = by_former_comparator(&raised);
        let ordered = in_report_order(raised);
        let ids = |v: &[Alert]| v.iter().map(|a| a.description.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&ordered), ids(&expected));
    }

    /// Many remote hosts, some raising heuristics (uploads, uncommon ports): the report
    /// made side by side on a pool is the one made in turn outside any, host alerts and
    /// order included.
    #[test]
    fn the_report_is_the_same_on_a_pool_and_in_turn() {
        let mut obs = Observations::default();
        for i in 0..2000u32 {
            let ip = IpAddr::from([198, 51, (i >> 8) as u8, i as u8]);
            let host = observe::HostObs {
                names: [format!("h{}.example", i % 7)].into_iter().collect(),
                ports: [(6, if i % 3 == 0 { 4444 } else { 443 })]
                    .into_iter()
                    .collect(),
                protocols: ["ssl"].into_iter().collect(),
                bytes_up: if i % 5 == 0 { 10 << 20 } else { 1000 },
                bytes_down: u64::from(i % 11) * 1000,
                connections: 1,
                flow_ids: vec![u64::from(i)],
                ..observe::HostObs::default()
            };
            obs.hosts.insert(ip, host);
        }
        let report = || {
            assess(
                &obs,
                &IocSet::default(),
                &Whitelist::default(),
                &Settings::default(),
                CaptureInfo::default(),
            )
        };
        let json = |r: &Report| serde_json::to_string(r).unwrap_or_else(|e| panic!("{e}"));
        let in_turn = report();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        let on_pool = pool.install(report);
        let checks: BTreeSet<&str> = in_turn.alerts.iter().map(|a| a.check).collect();
        assert!(checks.contains("upload") && checks.contains("uncommon_port"));
        // Each host carries its alerts' counts, and the most alerted come first.
        let first = &in_turn.connections[0];
        let raised = in_turn
            .alerts
            .iter()
            .filter(|a| a.ip == Some(first.ip))
            .count();
        assert!(raised >= 2);
        assert_eq!(first.alerts.values().sum::<usize>(), raised);
        assert!(
            json(&in_turn) == json(&on_pool),
            "the report depends on where it was made"
        );
    }

    #[test]
    fn ports_are_written_as_protocol_slash_number() {
        assert_eq!(port_text(6, 443), "tcp/443");
        assert_eq!(port_text(17, 0), "udp/0");
        assert_eq!(port_text(58, 65535), "icmp6/65535");
        assert_eq!(port_text(47, 7), "ip/7");
    }
}
