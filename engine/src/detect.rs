//! Detection: runs a [`RuleSet`] over each flow's packets, reassembled stream and
//! application-layer transactions, and turns matches into alert events.
//!
//! Matching happens in the shards, in parallel, with per-flow state (flowbits, which
//! transactions alerted). `threshold` and `detection_filter` count across flows, so they are
//! applied afterwards, on events in their final order ([`AlertFilter`]); the outcome does not
//! depend on the thread count.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

use tcheck_rules::threshold::MatchKey;
use tcheck_rules::{
    Action, Classifications, FlowState, Hit, PacketFacts, RuleSet, ThresholdState, TxBuffers,
};

use crate::event::{
    AlertApp, AlertRecord, DnsMessageRecord, Event, EventKind, EventOrder, FlowId, HttpRecord,
    TlsRecord,
};
use crate::packet::PacketRecord;

/// What EVE prints of a rule when it alerts, prepared once at load.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signature {
    /// Position of the rule in its rule set.
    pub rule: u32,
    /// `sid`.
    pub sid: u32,
    /// `gid`.
    pub gid: u32,
    /// `rev`.
    pub rev: u32,
    /// `msg`.
    pub msg: String,
    /// The class type's description (`alert.category`), when the class is known.
    pub category: Option<String>,
    /// `priority`, else the class type's, else 3 (`alert.severity`).
    pub severity: u8,
    /// The rule has a `classtype` or a `priority` (the rules of IOC feeds have neither).
    pub classified: bool,
    /// `metadata` values by key, in order.
    pub metadata: BTreeMap<String, Vec<String>>,
    /// The rule's action.
    pub action: Action,
    /// The rule's `threshold` or `detection_filter`.
    pub threshold: Option<tcheck_rules::rule::Threshold>,
}

/// A rule set ready to run, with what alerts print.
#[derive(Debug)]
pub struct Detection {
    rules: RuleSet,
    signatures: Vec<Arc<Signature>>,
    /// IPS simulation: `drop` rules report `blocked`, and a flow that hit one is no longer
    /// inspected (Suricata drops its packets).
    pub ips: bool,
    /// Alerts carry the packet that matched (EVE `packet`, `packet_info`).
    pub log_packet: bool,
    /// Alerts carry the payload that matched (EVE `payload`, `stream`).
    pub log_payload: bool,
}

impl Detection {
    /// Prepares `rules`; `classes` gives categories and default severities.
    pub fn new(rules: RuleSet, classes: &Classifications, ips: bool) -> Self {
        let signatures = rules
            .rules
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let class = r.classtype.as_deref().and_then(|c| classes.get(c));
                let mut metadata: BTreeMap<String, Vec<String>> = BTreeMap::new();
                for (k, v) in &r.metadata {
                    metadata.entry(k.clone()).or_default().push(v.clone());
                }
                Arc::new(Signature {
                    rule: u32::try_from(i).unwrap_or(u32::MAX),
                    sid: r.sid,
                    gid: r.gid,
                    rev: r.rev,
                    msg: r.msg.clone(),
                    category: class.map(|c| c.description.clone()),
                    severity: r.priority.or(class.map(|c| c.priority)).unwrap_or(3),
                    classified: r.classtype.is_some() || r.priority.is_some(),
                    metadata,
                    action: r.header.action,
                    threshold: r.threshold,
                })
            })
            .collect();
        Detection {
            rules,
            signatures,
            ips,
            log_packet: false,
            log_payload: false,
        }
    }

    /// The rule set.
    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }

    /// Whether some rule inspects transactions of application protocol `app`.
    pub fn wants_app(&self, app: &str) -> bool {
        self.rules.has_app(app)
    }
}

/// The packet being processed, as the rules see it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PacketView {
    /// Sender and receiver.
    pub src: (IpAddr, u16),
    pub dst: (IpAddr, u16),
    pub ip_proto: u8,
    pub ttl: u8,
    pub icmp: Option<(u8, u8)>,
    pub tcp_flags: Option<u8>,
    /// Sent by the flow's originator.
    pub from_orig: bool,
    pub established: bool,
    pub first_in_direction: bool,
}

impl PacketView {
    fn facts<'p>(&self, payload: &'p [u8], app: Option<&'static str>) -> PacketFacts<'p> {
        PacketFacts {
            src: self.src.0,
            sport: self.src.1,
            dst: self.dst.0,
            dport: self.dst.1,
            ip_proto: self.ip_proto,
            ttl: self.ttl,
            icmp: self.icmp,
            payload,
            to_server: self.from_orig,
            established: self.established,
            app,
            first_in_direction: self.first_in_direction,
            tcp_flags: self.tcp_flags,
            stream: false,
        }
    }

    /// The same packet's facts for data sent in direction `from_orig` (stream data or a
    /// transaction's side), which may be the other direction than the packet's (data is
    /// handed on when acknowledged).
    fn facts_for<'p>(
        &self,
        from_orig: bool,
        payload: &'p [u8],
        app: Option<&'static str>,
    ) -> PacketFacts<'p> {
        let mut f = self.facts(payload, app);
        if from_orig != self.from_orig {
            std::mem::swap(&mut f.src, &mut f.dst);
            std::mem::swap(&mut f.sport, &mut f.dport);
            f.to_server = from_orig;
        }
        f
    }
}

/// A flow's detection state while one of its packets is processed.
pub(crate) struct FlowDetect<'a> {
    pub detection: &'a Detection,
    pub flow: &'a FlowId,
    pub state: &'a mut FlowState,
    pub packet: PacketView,
    /// Hits of the current call.
    pub hits: Vec<Hit>,
    /// The packet (link type, bytes), when alerts carry it.
    pub frame: Option<(u32, &'a [u8])>,
    /// The flow had alerted before this packet.
    pub alerted_before: bool,
    /// A pass rule had matched before this packet.
    pub passed_before: bool,
    /// A drop rule had matched before this packet.
    pub dropped_before: bool,
}

/// The flow's application protocol name, as rules name it.
pub(crate) fn app_name(services: &[&'static str]) -> Option<&'static str> {
    services.last().map(|s| match *s {
        "ssl" => "tls",
        other => other,
    })
}

impl FlowDetect<'_> {
    /// Whether a flow that hit a `drop` rule in IPS mode is no longer inspected.
    fn stopped(&self) -> bool {
        self.detection.ips && self.dropped_before
    }

    /// Packet rules over a packet's payload (for TCP, the rules that need packets).
    pub fn packet(&mut self, payload: &[u8], app: Option<&'static str>) -> Vec<AlertRecord> {
        if self.stopped() {
            return Vec::new();
        }
        let facts = self.packet.facts(payload, app);
        self.hits.clear();
        self.detection
            .rules
            .match_packet(&facts, self.state, &mut self.hits);
        self.alerts(&facts, None, None)
    }

    /// Payload rules over reassembled TCP data sent in direction `from_orig`.
    pub fn stream(
        &mut self,
        from_orig: bool,
        data: &[u8],
        app: Option<&'static str>,
    ) -> Vec<AlertRecord> {
        if self.stopped() {
            return Vec::new();
        }
        let mut facts = self.packet.facts_for(from_orig, data, app);
        facts.stream = true;
        self.hits.clear();
        self.detection
            .rules
            .match_packet(&facts, self.state, &mut self.hits);
        self.alerts(&facts, None, None)
    }

    /// Application rules over transaction `tx` of protocol `app` whose buffers are `bufs`;
    /// `from_orig` is the side that just spoke, `payload` the message's bytes (rules mixing
    /// payload content and buffers look at both). `snapshot` gives the transaction's object for
    /// the alerts, and is called only if something alerts.
    pub fn tx(
        &mut self,
        app: &'static str,
        tx: u64,
        from_orig: bool,
        payload: &[u8],
        bufs: &TxBuffers<'_>,
        snapshot: &mut dyn FnMut() -> Option<AlertApp>,
    ) -> Vec<AlertRecord> {
        if self.stopped() {
            return Vec::new();
        }
        let facts = self.packet.facts_for(from_orig, payload, Some(app));
        self.hits.clear();
        self.detection
            .rules
            .match_tx(&facts, tx, bufs, self.state, &mut self.hits);
        if self.hits.is_empty() {
            return Vec::new();
        }
        let snap = snapshot();
        self.alerts(&facts, Some(tx), snap)
    }

    fn alerts(
        &mut self,
        facts: &PacketFacts<'_>,
        tx: Option<u64>,
        app: Option<AlertApp>,
    ) -> Vec<AlertRecord> {
        let mut out = Vec::new();
        let mut flowbits: Option<Vec<String>> = None;
        for hit in self.hits.iter() {
            let Some(sig) = self.detection.signatures.get(hit.rule as usize) else {
                continue;
            };
            let noalert = self
                .detection
                .rules
                .rules
                .get(hit.rule as usize)
                .is_some_and(|r| r.noalert);
            if noalert || sig.action == Action::Pass {
                continue;
            }
            let blocked = self.detection.ips && matches!(sig.action, Action::Drop | Action::Reject);
            self.state.alerted = true;
            out.push(AlertRecord {
                flow: self.flow.clone(),
                flowless: false,
                signature: Arc::clone(sig),
                src: (facts.src, facts.sport),
                dst: (facts.dst, facts.dport),
                to_server: facts.to_server,
                tx_id: tx,
                app: app.clone(),
                app_proto: facts.app,
                blocked,
                packet: self
                    .frame
                    .map(|(linktype, bytes)| Box::new((linktype, bytes.to_vec()))),
                payload: (self.detection.log_payload && tx.is_none())
                    .then(|| (facts.payload.to_vec(), facts.stream)),
                flowbits: flowbits
                    .get_or_insert_with(|| {
                        self.detection
                            .rules
                            .flowbits_set(self.state)
                            .into_iter()
                            .map(str::to_string)
                            .collect()
                    })
                    .clone(),
                flowvars: self.state.flowvars().to_vec(),
            });
        }
        out
    }
}

/// Runs the rules on a packet that belongs to no flow (its transport header is malformed):
/// only rules on addresses and protocol can match, as Suricata's IP-only rules do on such a
/// packet. `id` orders the events; it is not printed.
pub(crate) fn flowless_packet(
    detection: &Detection,
    pkt: &PacketRecord,
    arena: &[u8],
    id: u64,
) -> Vec<Event> {
    let (src, dst) = pkt.endpoints();
    let flow = FlowId {
        id,
        orig: src,
        resp: dst,
        proto: pkt.proto,
        vlan: pkt.vlan,
        macs: match pkt.macs {
            Some([s, d]) => [Some(s), Some(d)],
            None => [None, None],
        },
    };
    let mut state = FlowState::default();
    let mut d = FlowDetect {
        detection,
        flow: &flow,
        state: &mut state,
        packet: PacketView {
            src: (src.addr, 0),
            dst: (dst.addr, 0),
            ip_proto: pkt.proto,
            ttl: pkt.ttl,
            icmp: None,
            tcp_flags: None,
            from_orig: true,
            established: false,
            first_in_direction: true,
        },
        hits: Vec::new(),
        frame: detection.log_packet.then(|| {
            let (start, len) = pkt.frame;
            (
                pkt.link,
                arena.get(start..start.saturating_add(len)).unwrap_or(&[]),
            )
        }),
        alerted_before: false,
        passed_before: false,
        dropped_before: false,
    };
    d.packet(&[], None)
        .into_iter()
        .zip(0u64..)
        .map(|(mut a, seq)| {
            a.flowless = true;
            Event::new(
                EventOrder {
                    packet: pkt.index,
                    swept: false,
                    flow: id,
                    seq,
                },
                pkt.ts,
                pkt.index,
                EventKind::Alert(Box::new(a)),
            )
        })
        .collect()
}

/// Applies `threshold` and `detection_filter` to alert events in their final order.
#[derive(Debug, Default)]
pub struct AlertFilter {
    state: ThresholdState,
}

impl AlertFilter {
    /// Removes the alerts that thresholds suppress from `events`.
    pub fn apply(&mut self, events: &mut Vec<Event>) {
        events.retain(|e| {
            let EventKind::Alert(a) = &e.kind else {
                return true;
            };
            let Some(t) = &a.signature.threshold else {
                return true;
            };
            let key = MatchKey {
                rule: a.signature.rule,
                src: a.src.0,
                dst: a.dst.0,
                flow: a.flow.id,
                secs: e.ts.secs(),
            };
            self.state.allow(t, key)
        });
    }
}

/// The object of a DNS message for an alert.
pub(crate) fn dns_app(m: &DnsMessageRecord) -> AlertApp {
    AlertApp::Dns(Box::new(m.clone()))
}

/// The object of an HTTP transaction for an alert.
pub(crate) fn http_app(r: &HttpRecord) -> AlertApp {
    AlertApp::Http(Box::new(r.clone()))
}

/// The object of a TLS session for an alert.
pub(crate) fn tls_app(r: &TlsRecord) -> AlertApp {
    AlertApp::Tls(Box::new(r.clone()))
}
