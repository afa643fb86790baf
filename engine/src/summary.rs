//! A summary of a run, built from its events: flows by protocol and service, the names the
//! traffic contacted, and what looked wrong. It is data only; the `tcheck` binary renders it.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::analysis::RunStats;
use crate::event::{Event, EventKind};
use crate::output::EventSink;

/// How many distinct names the summary keeps (the most contacted first).
const MAX_NAMES: usize = 10_000;

/// What a run saw.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Summary {
    /// Packets read.
    pub packets: u64,
    /// Bytes captured.
    pub bytes: u64,
    /// First packet (EVE format), if any.
    pub start: Option<String>,
    /// Last packet (EVE format), if any.
    pub end: Option<String>,
    /// Flows by transport protocol.
    pub flows_by_proto: BTreeMap<&'static str, u64>,
    /// Flows by recognised service (`-` for none).
    pub flows_by_service: BTreeMap<String, u64>,
    /// Names contacted (DNS queries, TLS/QUIC server names, HTTP hosts) and how often. A
    /// hash map (a name is counted for every query); written sorted by name.
    #[serde(serialize_with = "sorted")]
    pub names: HashMap<String, u64, ahash::RandomState>,
    /// Anomalies: malformed packets by reason, reader warnings, limits hit.
    pub anomalies: BTreeMap<String, u64>,
    /// Warnings of the capture reader, with their byte offsets.
    pub warnings: Vec<String>,
    /// Rules that alerted, by signature id.
    pub alerts: BTreeMap<u32, AlertSummary>,
    /// A name being counted, lower-cased when it had capitals (kept for its capacity:
    /// resolvers that randomise the case of queries make most names so).
    #[serde(skip)]
    lower: String,
}

/// Writes a map of counts as an object sorted by key.
fn sorted<S: serde::Serializer>(
    map: &HashMap<String, u64, ahash::RandomState>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_map(crate::sorted_by_key(map))
}

/// How often a rule alerted, and against what.
#[derive(Clone, Debug, Default, Serialize)]
pub struct AlertSummary {
    /// The rule's message.
    pub msg: String,
    /// Its class type's description.
    pub category: Option<String>,
    /// Severity (1 is the most severe).
    pub severity: u8,
    /// Alerts.
    pub count: u64,
    /// First alert (EVE format).
    pub first: String,
    /// Remote ends of the traffic that matched (receivers of the data), at most 16.
    pub peers: Vec<String>,
}

/// Peers listed per alerting rule at most.
const MAX_PEERS: usize = 16;

impl Summary {
    /// Records a name contacted.
    pub fn name(&mut self, name: &str) {
        if name.is_empty() {
            return;
        }
        let key = crate::text::ascii_lowercase_in(name, &mut self.lower);
        if let Some(n) = self.names.get_mut(key) {
            *n += 1;
        } else if self.names.len() < MAX_NAMES {
            self.names.insert(key.to_string(), 1);
        } else {
            *self
                .anomalies
                .entry("names not listed (too many)".into())
                .or_insert(0) += 1;
        }
    }

    /// Adds the run's counters once it is over.
    pub fn add_run(&mut self, stats: &RunStats) {
        let d = &stats.decode;
        self.packets = d.packets;
        self.bytes = d.bytes;
        self.start = d.first_ts.map(|t| t.eve());
        self.end = d.last_ts.map(|t| t.eve());
        for (what, n) in &d.malformed {
            *self
                .anomalies
                .entry(format!("malformed packet: {what}"))
                .or_insert(0) += n;
        }
        if d.non_ip > 0 {
            self.anomalies
                .insert("non-IP packets (ignored)".into(), d.non_ip);
        }
        let f = &stats.flows;
        for (what, n) in [
            ("flows evicted (flow table full)", f.evicted),
            (
                "TCP segments not buffered (stream memory limit)",
                f.stream_refused,
            ),
            (
                "flows not dissected further (parser memory limit)",
                f.app_refused,
            ),
            ("IP fragments dropped", d.defrag.dropped),
        ] {
            if n > 0 {
                self.anomalies.insert(what.into(), n);
            }
        }
        for w in &stats.warnings {
            self.warnings
                .push(format!("byte {}: {}", w.offset, w.message));
        }
    }
}

impl EventSink for Summary {
    fn event(&mut self, event: &Event) -> crate::Result<()> {
        match &event.kind {
            EventKind::Conn(c) => {
                *self.flows_by_proto.entry(c.flow.proto_name()).or_insert(0) += 1;
                let service: std::borrow::Cow<'_, str> = match c.services.as_slice() {
                    [] => "-".into(),
                    [one] => (*one).into(),
                    several => several.join(",").into(),
                };
                // Counted in place: a key is allocated only the first time.
                if let Some(n) = self.flows_by_service.get_mut(service.as_ref()) {
                    *n += 1;
                } else {
                    self.flows_by_service.insert(service.into_owned(), 1);
                }
            }
            EventKind::DnsMessage(m) => {
                for q in &m.message.questions {
                    if !m.message.header.qr() {
                        self.name(&q.name);
                    }
                }
            }
            EventKind::Http(h) => {
                if let Some(host) = &h.host {
                    // Without a port: `example.com:8080` is the name `example.com`.
                    let name = match host.rsplit_once(':') {
                        Some((n, p)) if p.parse::<u16>().is_ok() && !n.contains(':') => n,
                        _ => host.as_str(),
                    };
                    self.name(name);
                }
            }
            EventKind::Tls(t) => {
                if let Some(sni) = &t.server_name {
                    self.name(sni);
                }
            }
            EventKind::Alert(a) => {
                let sig = &a.signature;
                let entry = self.alerts.entry(sig.sid).or_insert_with(|| AlertSummary {
                    msg: sig.msg.clone(),
                    category: sig.category.clone(),
                    severity: sig.severity,
                    first: event.ts.eve(),
                    ..AlertSummary::default()
                });
                entry.count += 1;
                // The flow's responder is the remote end for the client-side traffic of a
                // phone; for server-to-client data it is the sender.
                let peer = a.flow.resp.addr.to_string();
                if entry.peers.len() < MAX_PEERS && !entry.peers.contains(&peer) {
                    entry.peers.push(peer);
                }
            }
            EventKind::Dns(_) | EventKind::X509(_) | EventKind::Quic(_) | EventKind::Dhcp(_) => {}
            EventKind::Anomaly(a) => {
                *self
                    .anomalies
                    .entry(format!("{}: {}", a.layer, a.kind))
                    .or_insert(0) += 1;
            }
        }
        Ok(())
    }
}
