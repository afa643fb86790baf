//! Per-flow DNS state: messages over UDP or TCP (length-prefixed, several per segment),
//! matched into transactions the way Zeek's DNS scripts do, and one event per message the
//! way Suricata logs them.
//!
//! Zeek semantics: queries wait in a FIFO per transaction id; a reply takes the oldest query
//! with its id (its `rtt` is the time since that query); a reply with no query is logged on
//! its own (its `query` from the reply's question, no `qtype`); queries never answered are
//! logged when the flow ends. mDNS is not associated at all (replies are not responses to
//! one query). `rtt`, `AA` and `RA` are set by the first record of the answer section.
//!
//! Suricata semantics: every message is a transaction of its own (`tx_id` counts the
//! messages of the flow). Over TCP, a gap loses the message boundaries of its direction;
//! they are found again at the first piece of the stream that starts like a message
//! ([`parser::probe_tcp`]), as Suricata does, and the pieces before it are skipped.

use std::collections::VecDeque;

use super::parser::{self, Message, Section};
use super::{DnsMessageRecord, DnsRecord, ZeekAnswer};
use crate::event::EventKind;
use crate::proto::Ctx;
use crate::tcp::Chunk;
use crate::time::Timestamp;

/// Transactions waiting for a reply (or a query), at most.
const MAX_PENDING: usize = 256;
/// Anomalies reported per flow at most.
const MAX_ANOMALIES: u64 = 8;
/// Bytes buffered per direction for a TCP message at most (a message is ≤ 65,535 bytes).
const MAX_TCP_BUFFER: usize = 65_537;

/// The port of multicast DNS.
const MDNS_PORT: u16 = 5353;

/// A Zeek transaction being built.
#[derive(Debug)]
struct Pending {
    rec: DnsRecord,
}

/// DNS state of one flow.
#[derive(Debug, Default)]
pub(crate) struct DnsState {
    queries: VecDeque<Pending>,
    replies: VecDeque<Pending>,
    /// Messages parsed so far (the next message's Suricata transaction number).
    next_tx: u64,
    /// TCP: bytes of an incomplete message, per direction; `None` once the stream is lost.
    tcp: [Option<Vec<u8>>; 2],
    /// TCP: the direction had a gap and its next message start is not found yet.
    resync: [bool; 2],
    /// Messages that parsed (confirms the protocol).
    pub parsed: u64,
    /// Datagrams or TCP messages that did not parse.
    pub failed: u64,
    /// Memory held beyond the free allowance.
    pub charge: crate::proto::cache::Charge,
    /// Anomalies reported (a malformed flow reports a few, not one per message).
    anomalies: u64,
}

/// Decodes a NetBIOS first-level encoded name (32 letters `A`-`P`) into its text, without the
/// type suffix and trailing spaces (Zeek's `decode_netbios_name`).
pub fn decode_netbios_name(name: &str) -> String {
    let b = name.as_bytes();
    if b.len() != 32 {
        return name.to_string();
    }
    let mut out = String::new();
    for pair in b.chunks(2).take(15) {
        let hi = pair
            .first()
            .map_or(0, |c| c.to_ascii_uppercase().wrapping_sub(b'A'));
        let lo = pair
            .get(1)
            .map_or(0, |c| c.to_ascii_uppercase().wrapping_sub(b'A'));
        let c = (hi << 4) | (lo & 0x0f);
        if !(c.is_ascii_graphic() || c == b' ') {
            break;
        }
        out.push(char::from(c));
    }
    out.trim_end().to_string()
}

impl DnsState {
    pub fn new() -> Self {
        DnsState {
            tcp: [Some(Vec::new()), Some(Vec::new())],
            ..DnsState::default()
        }
    }

    /// A UDP datagram.
    pub fn datagram(&mut self, ctx: &mut Ctx<'_>, from_orig: bool, payload: &[u8]) -> bool {
        self.message(ctx, from_orig, payload)
    }

    /// A piece of a TCP stream: 2-byte length prefix, then the message.
    pub fn stream(&mut self, ctx: &mut Ctx<'_>, from_orig: bool, chunk: Chunk<'_>) {
        let d = usize::from(!from_orig);
        let data = match chunk {
            Chunk::Data(d) => d,
            Chunk::Gap(_) => {
                // The message in progress is lost; the next one is looked for.
                if let Some(buf) = self.tcp[d].as_mut() {
                    buf.clear();
                    self.resync[d] = true;
                }
                return;
            }
        };
        if self.resync[d] {
            if !parser::probe_tcp(data) {
                return;
            }
            self.resync[d] = false;
        }
        let Some(mut buf) = self.tcp[d].take() else {
            return;
        };
        let other = self.tcp[1 - d].as_ref().map_or(0, Vec::len);
        if !self
            .charge
            .ensure(buf.len() + data.len() + other, &mut ctx.cache.budget)
        {
            return;
        }
        buf.extend_from_slice(data);
        let mut at = 0;
        while let Some(len) = buf
            .get(at..at + 2)
            .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
        {
            let Some(msg) = buf.get(at + 2..at + 2 + len) else {
                break;
            };
            let msg = msg.to_vec();
            self.message(ctx, from_orig, &msg);
            at += 2 + len;
        }
        buf.drain(..at.min(buf.len()));
        if buf.len() <= MAX_TCP_BUFFER {
            self.tcp[d] = Some(buf);
        }
    }

    fn message(&mut self, ctx: &mut Ctx<'_>, from_orig: bool, payload: &[u8]) -> bool {
        let Ok(msg) = parser::parse(payload) else {
            self.failed += 1;
            if self.failed <= MAX_ANOMALIES {
                ctx.anomaly("dns", "message_too_short");
            }
            return false;
        };
        self.parsed += 1;
        if msg.anomalies != 0 && self.anomalies < MAX_ANOMALIES {
            self.anomalies += 1;
            ctx.anomaly("dns", parser::anomaly::name(msg.anomalies));
        }
        let netbios = super::is_netbios(ctx.flow);
        let mdns = ctx.flow.resp.port == MDNS_PORT || ctx.flow.orig.port == MDNS_PORT;
        let is_query = !msg.header.qr();

        // Suricata's transaction: this message.
        let tx_id = self.next_tx;
        self.next_tx += 1;

        let record = DnsMessageRecord {
            flow: ctx.flow.clone(),
            from_orig,
            tx_id,
            message: msg,
        };
        if ctx.inspects("dns") {
            let mut bufs = tcheck_rules::TxBuffers::default();
            if is_query {
                for q in &record.message.questions {
                    bufs.push(tcheck_rules::Buffer::DnsQuery, q.name.as_bytes());
                }
            }
            ctx.inspect_tx("dns", tx_id, from_orig, payload, &bufs, &mut || {
                Some(crate::detect::dns_app(&record))
            });
        }
        if ctx.cache.no_dns_transactions {
            ctx.emit(ctx.ts, EventKind::DnsMessage(Box::new(record)));
            return true;
        }
        let msg = &record.message;

        // Zeek's transaction.
        let queue = if is_query {
            &mut self.replies
        } else {
            &mut self.queries
        };
        let matched = if mdns {
            None
        } else {
            queue
                .iter()
                .position(|p| p.rec.trans_id == msg.header.id)
                .and_then(|i| queue.remove(i))
        };
        let mut pending = matched.unwrap_or_else(|| new_pending(ctx, msg));
        apply(&mut pending.rec, msg, is_query, netbios, ctx.ts);
        ctx.emit(ctx.ts, EventKind::DnsMessage(Box::new(record)));
        if is_query {
            pending.rec.saw_query = true;
        } else {
            pending.rec.saw_reply = true;
        }
        if mdns || (pending.rec.saw_query && pending.rec.saw_reply) {
            ctx.emit(pending.rec.ts, EventKind::Dns(Box::new(pending.rec)));
        } else {
            let queue = if is_query {
                &mut self.queries
            } else {
                &mut self.replies
            };
            if queue.len() >= MAX_PENDING {
                if let Some(old) = queue.pop_front() {
                    ctx.emit(old.rec.ts, EventKind::Dns(Box::new(old.rec)));
                }
            }
            queue.push_back(pending);
        }
        true
    }

    /// The flow ends: transactions still waiting are logged.
    pub fn finish(&mut self, ctx: &mut Ctx<'_>) {
        let mut left: Vec<Pending> = self
            .queries
            .drain(..)
            .chain(self.replies.drain(..))
            .collect();
        left.sort_by_key(|p| p.rec.ts);
        for p in left {
            ctx.emit(p.rec.ts, EventKind::Dns(Box::new(p.rec)));
        }
    }
}

/// A new Zeek transaction for `msg`.
fn new_pending(ctx: &Ctx<'_>, msg: &Message) -> Pending {
    Pending {
        rec: DnsRecord {
            flow: ctx.flow.clone(),
            ts: ctx.ts,
            trans_id: msg.header.id,
            rtt: None,
            query: None,
            qclass: None,
            qtype: None,
            rcode: None,
            aa: false,
            tc: false,
            rd: false,
            ra: false,
            z: 0,
            answers: Vec::new(),
            rejected: false,
            opcode: msg.header.opcode(),
            netbios: super::is_netbios(ctx.flow),
            saw_query: false,
            saw_reply: false,
        },
    }
}

/// The DNS UPDATE operation code (RFC 2136).
const UPDATE: u8 = 5;

/// Folds a message into a transaction, as Zeek's `dns_request`, `dns_query_reply`,
/// `dns_rejected` and `do_reply` handlers do.
fn apply(rec: &mut DnsRecord, msg: &Message, is_query: bool, netbios: bool, now: Timestamp) {
    let h = &msg.header;
    let _ = netbios;
    let update = h.opcode() == UPDATE;
    if is_query {
        rec.rd = h.rd();
        rec.tc = h.tc();
        rec.z = h.z();
        rec.opcode = h.opcode();
        // An update's question section is its zone, not a query.
        if let Some(q) = msg.questions.last().filter(|_| !update) {
            rec.qclass = Some(q.qclass);
            rec.qtype = Some(q.qtype);
            rec.query = Some(if rec.netbios {
                decode_netbios_name(&q.name)
            } else {
                q.name.to_string()
            });
        }
        return;
    }
    rec.rcode = Some(h.rcode());
    if !msg.questions.is_empty() && h.ancount == 0 && h.nscount == 0 && h.arcount == 0 {
        rec.rejected = true;
    }
    let sections: &[Section] = if update {
        &[Section::Answer, Section::Authority]
    } else {
        &[Section::Answer]
    };
    for r in msg.records.iter().filter(|r| sections.contains(&r.section)) {
        // Zeek's `do_reply`: records it has no text for (TKEY, TSIG) change nothing. An
        // update's prerequisites and updates are logged as what they ask for.
        let text = if update {
            Some(super::log::zeek_update(r))
        } else {
            super::log::zeek_answer(r)
        };
        let Some(text) = text else {
            continue;
        };
        rec.aa = h.aa();
        rec.ra = h.ra();
        if rec.rtt.is_none() {
            let rtt = now.nanos_since(rec.ts);
            if rtt > 0 {
                rec.rtt = Some(rtt);
            }
        }
        if rec.query.is_none() {
            rec.query = Some(r.name.to_string());
        }
        if rec.answers.len() < 256 {
            rec.answers.push(ZeekAnswer { text, ttl: r.ttl });
        }
    }
}

/// Whether a flow should swap originator and responder because its first DNS message, sent
/// by the originator, is a response (Zeek does so unless the responder is a multicast group).
pub fn reply_first(flow: &crate::event::FlowId, payload: &[u8]) -> bool {
    let is_response = payload.get(2).is_some_and(|b| b & 0x80 != 0) && payload.len() >= 12;
    is_response && !flow.resp.addr.is_multicast()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn netbios_names_decode() {
        // "WORKGROUP" padded with spaces, suffix 0x1d
        assert_eq!(
            decode_netbios_name("FHEPFCELEHFCEPFFFACACACACACACABN"),
            "WORKGROUP"
        );
        assert_eq!(decode_netbios_name("short"), "short");
    }
}
