//! Matching: packets and application-layer transactions against a [`RuleSet`].
//!
//! The engine calls [`RuleSet::match_packet`] for every packet of a flow and
//! [`RuleSet::match_tx`] when a transaction's buffers become available (a DNS query, a TLS
//! hello or certificate, an HTTP request or response). Per-flow state ([`FlowState`]) holds
//! flowbits and which transactions already alerted. Thresholds are applied later, in order
//! (see [`crate::threshold`]).

use std::borrow::Cow;
use std::net::IpAddr;

use crate::buffers::Buffer;
use crate::compile::{RuleSet, Transport};
use crate::content::{inspect, Subject};
use crate::header::{Action, Proto};
use crate::rule::{Flowbit, Rule};

/// Facts of the packet being inspected.
#[derive(Clone, Copy, Debug)]
pub struct PacketFacts<'a> {
    /// Source address.
    pub src: IpAddr,
    /// Source port (ICMP: 0).
    pub sport: u16,
    /// Destination address.
    pub dst: IpAddr,
    /// Destination port.
    pub dport: u16,
    /// IP protocol number.
    pub ip_proto: u8,
    /// Time to live.
    pub ttl: u8,
    /// ICMP type and code.
    pub icmp: Option<(u8, u8)>,
    /// Payload (for TCP, the packet's own payload).
    pub payload: &'a [u8],
    /// Sent by the flow's client.
    pub to_server: bool,
    /// The flow is established (TCP: handshake completed; others: both sides seen).
    pub established: bool,
    /// The flow's application protocol, once recognised (`dns`, `http`, `tls`, `quic`...).
    pub app: Option<&'static str>,
    /// First packet of this direction of the flow (IP-only rules are checked then).
    pub first_in_direction: bool,
    /// TCP flags (TCP packets).
    pub tcp_flags: Option<u8>,
    /// `payload` is reassembled TCP stream data, not a packet's payload. TCP payload rules
    /// are matched against the stream (so a retransmission does not alert twice), packet
    /// rules (`dsize`, `flags`...) against packets.
    pub stream: bool,
}

/// A transaction's buffers, by kind (a kind may have several values, e.g. DNS questions).
#[derive(Clone, Debug, Default)]
pub struct TxBuffers<'a> {
    items: Vec<(Buffer, Cow<'a, [u8]>)>,
}

impl<'a> TxBuffers<'a> {
    /// Adds a value of buffer `b`.
    pub fn push(&mut self, b: Buffer, value: impl Into<Cow<'a, [u8]>>) {
        self.items.push((b, value.into()));
    }

    /// Whether the transaction has buffer `b`.
    pub fn has(&self, b: Buffer) -> bool {
        self.items.iter().any(|(k, _)| *k == b)
    }

    fn values(&self, b: Buffer) -> impl Iterator<Item = &[u8]> {
        self.items
            .iter()
            .filter(move |(k, _)| *k == b)
            .map(|(_, v)| v.as_ref())
    }
}

/// Per-flow detection state.
#[derive(Debug, Default)]
pub struct FlowState {
    bits: Vec<u16>,
    /// Hashed with hashbrown's default hasher: std's `RandomState` reads a thread-local
    /// for every new flow.
    tx_alerted: hashbrown::HashSet<(u64, u32)>,
    /// A `pass` rule matched: nothing more is inspected in this flow.
    pub passed: bool,
    /// A `drop` rule matched.
    pub dropped: bool,
    /// An alert was reported for the flow (set by the engine when it reports one).
    pub alerted: bool,
    /// Per direction (to server, to client): the packet rules without a fast pattern whose
    /// header may match, looked up at the direction's first packet.
    header_rules: [Option<Vec<u32>>; 2],
    /// Per direction: whether the stream and the packet payload prefilters have rules that
    /// may match its addresses (looked up at the direction's first payload).
    payload_scan: [Option<[bool; 2]>; 2],
    /// Flow variables captured by `pcre`s of rules that matched, in the order first set
    /// (their names come from the rules, so the rule set bounds their number).
    vars: Vec<(String, Vec<u8>)>,
}

impl FlowState {
    /// The flow variables, in the order they were first set.
    pub fn flowvars(&self) -> &[(String, Vec<u8>)] {
        &self.vars
    }

    /// Stores what a matching rule captured; a variable set again takes the new value.
    fn store_vars(&mut self, captured: Vec<(String, Vec<u8>)>) {
        for (name, value) in captured {
            match self.vars.iter_mut().find(|(n, _)| *n == name) {
                Some(slot) => slot.1 = value,
                None => self.vars.push((name, value)),
            }
        }
    }
}

/// A rule that matched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hit {
    /// Its position in [`RuleSet::rules`].
    pub rule: u32,
    /// The transaction, for application-layer matches.
    pub tx: Option<u64>,
}

/// Moves the flow variables an inspection of `s` captured to `into`; true, for chaining.
fn keep_captures(s: &mut Subject<'_>, into: &mut Vec<(String, Vec<u8>)>) -> bool {
    into.append(&mut s.captured);
    true
}

/// Transactions remembered per flow as having alerted, at most.
const MAX_ALERTED: usize = 4096;

impl RuleSet {
    /// The names of the flowbits set in `st`, in the order they were set.
    pub fn flowbits_set<'s>(&'s self, st: &FlowState) -> Vec<&'s str> {
        st.bits
            .iter()
            .filter_map(|b| {
                self.flowbit_ids
                    .iter()
                    .find(|(_, id)| *id == b)
                    .map(|(n, _)| n.as_str())
            })
            .collect()
    }

    fn bit(&self, name: &str) -> Option<u16> {
        self.flowbit_ids.get(name).copied()
    }

    fn flowbits_ok(&self, r: &Rule, st: &FlowState) -> bool {
        r.flowbits.iter().all(|f| match f {
            Flowbit::IsSet(names) => names
                .iter()
                .any(|n| self.bit(n).is_some_and(|b| st.bits.contains(&b))),
            Flowbit::IsNotSet(names) => !names
                .iter()
                .any(|n| self.bit(n).is_some_and(|b| st.bits.contains(&b))),
            _ => true,
        })
    }

    fn apply_flowbits(&self, r: &Rule, st: &mut FlowState) {
        for f in &r.flowbits {
            match f {
                Flowbit::Set(n) => {
                    if let Some(b) = self.bit(n) {
                        if !st.bits.contains(&b) {
                            st.bits.push(b);
                        }
                    }
                }
                Flowbit::Unset(n) => {
                    if let Some(b) = self.bit(n) {
                        st.bits.retain(|x| *x != b);
                    }
                }
                Flowbit::Toggle(n) => {
                    if let Some(b) = self.bit(n) {
                        if st.bits.contains(&b) {
                            st.bits.retain(|x| *x != b);
                        } else {
                            st.bits.push(b);
                        }
                    }
                }
                _ => {}
            }
        }
    }

    /// Whether the rule's header (protocol, addresses, ports) fits the packet: what stays
    /// the same for a direction of a flow.
    fn header_fits(r: &Rule, p: &PacketFacts<'_>) -> bool {
        let h = &r.header;
        let proto_ok = match h.proto {
            Proto::Ip => true,
            Proto::Tcp => p.ip_proto == 6,
            Proto::Udp => p.ip_proto == 17,
            Proto::Icmp => matches!(p.ip_proto, 1 | 58),
            // Application protocols are known later: checked with each packet.
            _ => true,
        };
        proto_ok && h.matches(p.src, p.sport, p.dst, p.dport)
    }

    /// Header, flow and packet conditions.
    fn preconditions(r: &Rule, p: &PacketFacts<'_>) -> bool {
        let h = &r.header;
        let proto_ok = match h.proto {
            Proto::Ip => true,
            Proto::Tcp => p.ip_proto == 6,
            Proto::Udp => p.ip_proto == 17,
            Proto::Icmp => matches!(p.ip_proto, 1 | 58),
            app => p.app == app.app(),
        };
        if !proto_ok || !h.matches(p.src, p.sport, p.dst, p.dport) {
            return false;
        }
        let f = &r.flow;
        if f.established.is_some_and(|e| e != p.established) {
            return false;
        }
        if f.to_server.is_some_and(|t| t != p.to_server) {
            return false;
        }
        let c = &r.packet;
        if let Some(cmp) = &c.dsize {
            // Suricata: `dsize:!N` is for packets that carry a payload.
            let empty_negated = matches!(cmp, crate::content::Cmp::Ne(_)) && p.payload.is_empty();
            if empty_negated || !cmp.test(p.payload.len() as u64) {
                return false;
            }
        }
        if let Some((neg, proto)) = c.ip_proto {
            if (p.ip_proto == proto) == neg {
                return false;
            }
        }
        if let Some(cmp) = &c.ttl {
            if !cmp.test(u64::from(p.ttl)) {
                return false;
            }
        }
        if let Some(cmp) = &c.itype {
            if !p.icmp.is_some_and(|(t, _)| cmp.test(u64::from(t))) {
                return false;
            }
        }
        if let Some(f) = &c.tcp_flags {
            if !p.tcp_flags.is_some_and(|x| f.test(x)) {
                return false;
            }
        }
        if let Some(cmp) = &c.icode {
            if !p.icmp.is_some_and(|(_, code)| cmp.test(u64::from(code))) {
                return false;
            }
        }
        true
    }

    /// Rules matching a packet (payload and header rules). Hits go to `out` in evaluation
    /// order; flowbits are updated.
    pub fn match_packet(&self, p: &PacketFacts<'_>, st: &mut FlowState, out: &mut Vec<Hit>) {
        if st.passed {
            return;
        }
        let Some(group) = self.packet_groups.get(&Transport::of(p.ip_proto)) else {
            return;
        };
        // The rules without a fast pattern whose header may match this direction of the
        // flow: looked up once per direction, then kept.
        let dir = usize::from(!p.to_server);
        let mut cands: Vec<u32> = match st.header_rules.get_mut(dir) {
            Some(slot) => slot
                .get_or_insert_with(|| {
                    group
                        .headers
                        .candidates(p.src, p.sport, p.dst, p.dport, |i| {
                            self.rules
                                .get(i as usize)
                                .is_some_and(|r| Self::header_fits(r, p))
                        })
                })
                .clone(),
            None => Vec::new(),
        };
        if !p.payload.is_empty() {
            let packet_rules = p.ip_proto == 6 && !p.stream;
            let prefilters = if packet_rules {
                &group.packet_payload
            } else {
                &group.payload
            };
            let scan = st
                .payload_scan
                .get_mut(dir)
                .map(|slot| {
                    *slot.get_or_insert_with(|| {
                        let (src, dst) = ((p.src, p.sport), (p.dst, p.dport));
                        [
                            group.payload.may_apply(src, dst, p.to_server),
                            group.packet_payload.may_apply(src, dst, p.to_server),
                        ]
                    })
                })
                .unwrap_or([true, true]);
            if scan[usize::from(packet_rules)] {
                prefilters.candidates(p.sport, p.dport, p.payload, &mut cands);
            }
        }
        cands.sort_unstable();
        cands.dedup();
        let mut subject = Subject::new(p.payload);
        for idx in cands {
            let Some(r) = self.rules.get(idx as usize) else {
                continue;
            };
            let _timer = self.profile.as_ref().and_then(|p| p.check(idx));
            if p.ip_proto == 6 {
                let packet_only = r.packet_only();
                if packet_only == p.stream || (p.stream && r.flow.stream == Some(false)) {
                    continue;
                }
            } else if p.stream {
                continue;
            }
            let header_only = r.buffers.is_empty() && !r.packet.any();
            if header_only && r.flow.established.is_none() && !p.first_in_direction {
                // IP-only rules: checked on the first packet of each direction.
                continue;
            }
            if !Self::preconditions(r, p) || !self.flowbits_ok(r, st) {
                continue;
            }
            let mut captured = Vec::new();
            let payload_ok = r.buffers.iter().all(|m| {
                m.buffer == Buffer::Payload && {
                    if m.elements.is_empty() {
                        true
                    } else if m.transforms.is_empty() {
                        inspect(&m.elements, &mut subject)
                            && keep_captures(&mut subject, &mut captured)
                    } else {
                        let mut data = p.payload.to_vec();
                        for t in &m.transforms {
                            data = t.apply(&data);
                        }
                        let mut s = Subject::new(&data);
                        inspect(&m.elements, &mut s) && keep_captures(&mut s, &mut captured)
                    }
                }
            });
            if !payload_ok {
                continue;
            }
            st.store_vars(captured);
            if let Some(p) = &self.profile {
                p.matched(idx);
            }
            self.apply_flowbits(r, st);
            if r.header.action == Action::Pass {
                st.passed = true;
                out.push(Hit {
                    rule: idx,
                    tx: None,
                });
                return;
            }
            if r.header.action == Action::Drop {
                st.dropped = true;
            }
            out.push(Hit {
                rule: idx,
                tx: None,
            });
        }
    }

    /// Application rules matching a transaction whose buffers are `bufs` (those available so
    /// far). A rule alerts at most once per transaction.
    pub fn match_tx(
        &self,
        p: &PacketFacts<'_>,
        tx: u64,
        bufs: &TxBuffers<'_>,
        st: &mut FlowState,
        out: &mut Vec<Hit>,
    ) {
        if st.passed {
            return;
        }
        let Some(app) = p.app else {
            return;
        };
        let Some(group) = self.app_groups.get(app) else {
            return;
        };
        let mut cands: Vec<u32> = group.always.clone();
        for (b, pf) in &group.prefilters {
            for v in bufs.values(*b) {
                pf.candidates(v, &mut cands);
            }
        }
        cands.sort_unstable();
        cands.dedup();
        for idx in cands {
            let Some(r) = self.rules.get(idx as usize) else {
                continue;
            };
            let _timer = self.profile.as_ref().and_then(|p| p.check(idx));
            if st.tx_alerted.contains(&(tx, idx)) {
                continue;
            }
            // Every buffer the rule inspects must be there (the transaction is far enough).
            if !r
                .buffers
                .iter()
                .all(|m| m.buffer == Buffer::Payload || bufs.has(m.buffer))
            {
                continue;
            }
            // Rules on the server's buffers are checked when the server speaks, and the
            // others when the client does.
            if r.inspects_response() == p.to_server {
                continue;
            }
            if !Self::preconditions(r, p) || !self.flowbits_ok(r, st) {
                continue;
            }
            let mut captured = Vec::new();
            let all = r.buffers.iter().all(|m| {
                if m.buffer == Buffer::Payload {
                    let mut s = Subject::new(p.payload);
                    return m.elements.is_empty()
                        || (inspect(&m.elements, &mut s) && keep_captures(&mut s, &mut captured));
                }
                // Any value of a multi-valued buffer may match.
                bufs.values(m.buffer).any(|v| {
                    let data;
                    let mut s = if m.transforms.is_empty() {
                        Subject::new(v)
                    } else {
                        let mut d = v.to_vec();
                        for t in &m.transforms {
                            d = t.apply(&d);
                        }
                        data = d;
                        Subject::new(&data)
                    };
                    inspect(&m.elements, &mut s) && keep_captures(&mut s, &mut captured)
                })
            });
            if !all {
                continue;
            }
            st.store_vars(captured);
            if st.tx_alerted.len() < MAX_ALERTED {
                st.tx_alerted.insert((tx, idx));
            }
            if let Some(p) = &self.profile {
                p.matched(idx);
            }
            self.apply_flowbits(r, st);
            out.push(Hit {
                rule: idx,
                tx: Some(tx),
            });
            if r.header.action == Action::Pass {
                st.passed = true;
                return;
            }
            if r.header.action == Action::Drop {
                st.dropped = true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vars::Vars;

    fn set(text: &str) -> RuleSet {
        let (s, report) = RuleSet::load(&[("t".into(), text.into())], &Vars::default());
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        s
    }

    fn facts(payload: &[u8]) -> PacketFacts<'_> {
        PacketFacts {
            src: "192.168.1.2".parse().expect("ip"),
            sport: 40000,
            dst: "8.8.8.8".parse().expect("ip"),
            dport: 53,
            ip_proto: 17,
            ttl: 64,
            icmp: None,
            payload,
            to_server: true,
            established: false,
            app: Some("dns"),
            first_in_direction: true,
            tcp_flags: None,
            stream: false,
        }
    }

    #[test]
    fn dns_query_rules_match_on_label_boundaries_they_write() {
        let s = set(concat!(
            "alert dns $HOME_NET any -> any any (dns.query; content:\"copy9.com\"; nocase; endswith; fast_pattern; sid:1;)\n",
            "alert dns any any -> any any (dns.query; dotprefix; content:\".spy.net\"; endswith; sid:2;)\n",
        ));
        let mut st = FlowState::default();
        let mut hits = Vec::new();
        let mut bufs = TxBuffers::default();
        bufs.push(Buffer::DnsQuery, &b"www.COPY9.com"[..]);
        s.match_tx(&facts(b""), 0, &bufs, &mut st, &mut hits);
        assert_eq!(hits.len(), 1);
        // The same transaction does not alert twice.
        s.match_tx(&facts(b""), 0, &bufs, &mut st, &mut hits);
        assert_eq!(hits.len(), 1);
        let mut bufs = TxBuffers::default();
        bufs.push(Buffer::DnsQuery, &b"notspy.net"[..]);
        s.match_tx(&facts(b""), 1, &bufs, &mut st, &mut hits);
        assert_eq!(hits.len(), 1, "dotprefix keeps label boundaries");
        let mut bufs = TxBuffers::default();
        bufs.push(Buffer::DnsQuery, &b"a.spy.net"[..]);
        s.match_tx(&facts(b""), 2, &bufs, &mut st, &mut hits);
        assert_eq!(hits.len(), 2);
    }

    #[test]
    fn payload_rules_flowbits_and_pass() {
        let s = set(concat!(
            "alert udp any any -> any any (content:\"abc\"; flowbits:set,seen; flowbits:noalert; sid:1;)\n",
            "alert udp any any -> any any (content:\"def\"; flowbits:isset,seen; sid:2;)\n",
        ));
        let mut st = FlowState::default();
        let mut hits = Vec::new();
        s.match_packet(&facts(b"xxdefxx"), &mut st, &mut hits);
        assert!(hits.is_empty());
        s.match_packet(&facts(b"xxabcxx"), &mut st, &mut hits);
        s.match_packet(&facts(b"xxdefxx"), &mut st, &mut hits);
        let sids: Vec<u32> = hits.iter().map(|h| s.rules[h.rule as usize].sid).collect();
        assert_eq!(sids, vec![1, 2]);
        let p = set("pass udp any any -> any any (sid:1;)\nalert udp any any -> any any (content:\"x\"; sid:2;)\n");
        let mut st = FlowState::default();
        let mut hits = Vec::new();
        p.match_packet(&facts(b"x"), &mut st, &mut hits);
        assert!(st.passed);
        assert_eq!(hits.len(), 1);
    }
}
