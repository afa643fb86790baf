//! Application-layer dissectors and the dispatcher that picks one per flow.
//!
//! Each protocol has its own folder: `parser.rs` (the stateless, bounded parser over byte
//! slices), `state.rs` (per-flow state: transactions, buffers) and `log.rs` (Zeek-log and EVE
//! renderings).
//!
//! Protocols are recognised by content first (an HTTP request line, a TLS record, a QUIC
//! long header) and by port where content cannot tell (DNS, DHCP), so that HTTP on port 22
//! or TLS on 8443 are still seen for what they are. After `CONNECT` or an upgrade, the
//! tunnel's content is recognised afresh (HTTP then TLS: service `http,ssl`).

pub mod byte_strings;
pub mod cache;
pub mod dhcp;
pub mod dns;
pub mod http;
pub mod quic;
pub mod tls;
pub mod xmpp;

use crate::event::{Event, EventKind, EventOrder, FlowId};
use crate::tcp::Chunk;
use crate::time::Timestamp;

/// What a parser may do while handling a packet or a piece of stream: emit events.
pub(crate) struct Ctx<'a> {
    pub flow: &'a FlowId,
    /// Time of the packet being processed.
    pub ts: Timestamp,
    /// Number of the packet being processed (or the order key at the end of a flow).
    pub pkt: u64,
    pub events: &'a mut Vec<Event>,
    pub seq: &'a mut u64,
    /// Work shared by the shard's flows.
    pub cache: &'a mut cache::Cache,
    /// The flow's detection, when rules are loaded.
    pub detect: Option<crate::detect::FlowDetect<'a>>,
}

impl Ctx<'_> {
    /// Whether rules inspect transactions of application protocol `app`: parsers gather
    /// the buffers only then.
    pub fn inspects(&self, app: &str) -> bool {
        self.detect
            .as_ref()
            .is_some_and(|d| d.detection.wants_app(app))
    }

    /// Runs the rules over transaction `tx` of `app` (buffers `bufs`, the side `from_orig`
    /// just spoke, in a message whose bytes are `payload` when rules may also look at them);
    /// `snapshot` gives the transaction's object for alerts.
    #[allow(clippy::too_many_arguments)]
    pub fn inspect_tx(
        &mut self,
        app: &'static str,
        tx: u64,
        from_orig: bool,
        payload: &[u8],
        bufs: &tcheck_rules::TxBuffers<'_>,
        snapshot: &mut dyn FnMut() -> Option<crate::event::AlertApp>,
    ) {
        let Some(d) = self.detect.as_mut() else {
            return;
        };
        let alerts = d.tx(app, tx, from_orig, payload, bufs, snapshot);
        self.alerts(alerts);
    }

    /// Runs the payload rules over reassembled stream data sent in direction `from_orig`.
    pub fn inspect_stream(&mut self, from_orig: bool, data: &[u8], app: Option<&'static str>) {
        let Some(d) = self.detect.as_mut() else {
            return;
        };
        let alerts = d.stream(from_orig, data, app);
        self.alerts(alerts);
    }

    /// Runs the packet rules over the current packet's payload.
    pub fn inspect_packet(&mut self, payload: &[u8], app: Option<&'static str>) {
        let Some(d) = self.detect.as_mut() else {
            return;
        };
        let alerts = d.packet(payload, app);
        self.alerts(alerts);
    }

    /// A `pass` rule matched among the packet rules, which run after the stream and the
    /// transactions of the packet: Suricata evaluates all of a packet's rules together, pass
    /// rules first, so the alerts this packet raised since event `mark` are withdrawn.
    pub fn pass_overrides(&mut self, mark: usize) {
        let Some(d) = self.detect.as_mut() else {
            return;
        };
        if d.passed_before || !d.state.passed {
            return;
        }
        let mut i = mark;
        while i < self.events.len() {
            if matches!(
                self.events.get(i).map(|e| &e.kind),
                Some(EventKind::Alert(_))
            ) {
                self.events.remove(i);
            } else {
                i += 1;
            }
        }
        d.state.alerted = d.alerted_before;
        d.state.dropped = d.dropped_before;
    }

    fn alerts(&mut self, alerts: Vec<crate::event::AlertRecord>) {
        for a in alerts {
            self.emit(self.ts, EventKind::Alert(Box::new(a)));
        }
    }

    /// Reports an oddity of this flow's traffic (`layer`: the protocol; `kind`: what).
    pub fn anomaly(&mut self, layer: &'static str, kind: &'static str) {
        let record = crate::event::AnomalyRecord {
            flow: Some(self.flow.clone()),
            layer,
            kind,
            addrs: None,
        };
        self.emit(self.ts, EventKind::Anomaly(Box::new(record)));
    }

    /// Emits an event of this flow, timestamped `ts`.
    pub fn emit(&mut self, ts: Timestamp, kind: EventKind) {
        self.events.push(Event::new(
            EventOrder {
                packet: self.pkt,
                swept: false,
                flow: self.flow.id,
                seq: *self.seq,
            },
            ts,
            self.pkt,
            kind,
        ));
        *self.seq += 1;
    }
}

/// Bytes of each direction kept to recognise a TCP protocol.
const PROBE_BYTES: usize = 512;
/// Bytes kept, both directions together, to hand to the parser once the protocol is known.
/// A stream not recognised within them is not dissected.
const PROBE_REPLAY_BYTES: usize = 16 * 1024;

/// HTTP methods recognised at the start of a stream.
const METHODS: [&[u8]; 16] = [
    b"GET ",
    b"POST ",
    b"HEAD ",
    b"PUT ",
    b"DELETE ",
    b"OPTIONS ",
    b"CONNECT ",
    b"TRACE ",
    b"PATCH ",
    b"PROPFIND ",
    b"PROPPATCH ",
    b"MKCOL ",
    b"COPY ",
    b"MOVE ",
    b"LOCK ",
    b"UNLOCK ",
];

/// What a stream's first bytes reveal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Guess {
    Http,
    Tls,
    Xmpp,
    Ssh,
    NeedMore,
    Unknown,
}

fn guess_side(orig: bool, h: &[u8]) -> Guess {
    if h.is_empty() {
        return Guess::NeedMore;
    }
    if h.starts_with(b"SSH-") {
        return Guess::Ssh;
    }
    // A TLS handshake record header, `16 03 00..03`: Suricata's TLS patterns. Zeek wants a
    // parsed hello before it names the service, which the TLS parser confirms later.
    if tls::parser::looks_like_hello(h, if orig { 1 } else { 2 }) || matches!(h, [22, 3, 0..=3, ..])
    {
        return Guess::Tls;
    }
    if h.len() < 6 && h.first() == Some(&22) {
        return Guess::NeedMore;
    }
    if xmpp::looks_like_xmpp(h) {
        return Guess::Xmpp;
    }
    if orig {
        if METHODS.iter().any(|m| h.starts_with(m)) {
            return Guess::Http;
        }
        // Any other method: TOKEN SP target SP HTTP/1.x
        let line_end = h.iter().position(|b| *b == b'\n');
        let line = &h[..line_end.unwrap_or(h.len())];
        let token = line.iter().take_while(|b| b.is_ascii_uppercase()).count();
        if token >= 3 && line.get(token) == Some(&b' ') {
            if line_end.is_some() {
                let l = line.strip_suffix(b"\r").unwrap_or(line);
                if l.len() > 9 && l[l.len() - 9..].starts_with(b" HTTP/1.") {
                    return Guess::Http;
                }
                return Guess::Unknown;
            }
            return if h.len() < PROBE_BYTES {
                Guess::NeedMore
            } else {
                Guess::Unknown
            };
        }
        if h.len() < 4 && h.iter().all(u8::is_ascii_uppercase) {
            return Guess::NeedMore;
        }
    } else {
        if h.starts_with(b"HTTP/") {
            return Guess::Http;
        }
        if h.len() < 5 && b"HTTP/".starts_with(h) {
            return Guess::NeedMore;
        }
    }
    if h.len() < 4 && b"SSH-".starts_with(h) {
        return Guess::NeedMore;
    }
    Guess::Unknown
}

/// Recognition of a TCP stream's protocol from its first bytes.
#[derive(Debug, Default)]
struct Probe {
    /// First bytes of each direction.
    head: [Vec<u8>; 2],
    /// Pieces seen, in order, kept until a parser takes them.
    replay: Vec<(bool, Vec<u8>)>,
    /// Bytes held in `replay`.
    replay_bytes: usize,
    /// Memory held beyond the free allowance.
    charge: cache::Charge,
    /// A direction was given up on.
    done: [bool; 2],
}

/// The parser a flow settled on.
#[derive(Debug)]
enum Parser {
    /// Not yet decided (TCP).
    Probing(Box<Probe>),
    /// SSH: recognised, not parsed (the service name is what matters).
    Ssh,
    /// DNS (UDP or TCP).
    Dns(Box<dns::DnsState>),
    /// HTTP/1.x.
    Http(Box<http::HttpState>),
    /// TLS.
    Tls(Box<tls::TlsState>),
    /// QUIC (UDP), decided on the first datagram.
    Quic(Box<quic::QuicState>),
    /// Not decided yet (UDP): the first datagram tells.
    UdpFirst,
    /// DHCP (ports 67/68).
    Dhcp,
    /// XMPP, until STARTTLS.
    Xmpp(Box<xmpp::XmppState>),
    /// Nothing this engine parses.
    Nothing,
}

/// The application layer of one flow.
#[derive(Debug)]
pub(crate) struct AppLayer {
    services: Vec<&'static str>,
    /// The protocols as Suricata detects them, in order: the confirmed services, and TLS
    /// from its record header alone (Zeek's service needs a parsed handshake).
    detected: Vec<&'static str>,
    /// The TLS handshake completed: the rest is ciphertext, which payload rules do not
    /// inspect (Suricata's default `encryption-handling`).
    encrypted: bool,
    parser: Parser,
    orig_port: u16,
    resp_port: u16,
}

impl AppLayer {
    /// The application layer of a new flow of protocol `proto` between these ports.
    pub fn new(proto: u8, orig_port: u16, resp_port: u16) -> Self {
        let dns_port = |p: u16| matches!(p, 53 | 5353 | 5355 | 137);
        let parser = match proto {
            6 if resp_port == 53 || orig_port == 53 => Parser::Dns(Box::new(dns::DnsState::new())),
            6 => Parser::Probing(Box::default()),
            17 if dns_port(resp_port) || dns_port(orig_port) => {
                Parser::Dns(Box::new(dns::DnsState::new()))
            }
            17 if matches!((orig_port, resp_port), (67 | 68, 67 | 68)) => Parser::Dhcp,
            17 => Parser::UdpFirst,
            _ => Parser::Nothing,
        };
        AppLayer {
            services: Vec::new(),
            detected: Vec::new(),
            encrypted: false,
            parser,
            orig_port,
            resp_port,
        }
    }

    /// An application layer that analyses nothing (midstream TCP pick-ups).
    pub fn disabled() -> Self {
        AppLayer {
            services: Vec::new(),
            detected: Vec::new(),
            encrypted: false,
            parser: Parser::Nothing,
            orig_port: 0,
            resp_port: 0,
        }
    }

    /// Whether payload rules still inspect this flow's data (not once TLS is encrypted).
    pub fn payload_inspection(&self) -> bool {
        !self.encrypted
    }

    /// The services recognised (Zeek's names), in order, moved out for the connection
    /// record of a flow that ends.
    pub(crate) fn take_services(&mut self) -> Vec<&'static str> {
        std::mem::take(&mut self.services)
    }

    /// The protocols as Suricata detects them (Zeek's names), in order, moved out for the
    /// connection record of a flow that ends.
    pub(crate) fn take_detected(&mut self) -> Vec<&'static str> {
        std::mem::take(&mut self.detected)
    }

    /// The application protocol as rules and EVE name it (`tls` for Zeek's `ssl`).
    pub fn name(&self) -> Option<&'static str> {
        crate::detect::app_name(&self.detected)
    }

    fn confirm(&mut self, name: &'static str) {
        if !self.services.contains(&name) {
            self.services.push(name);
        }
        self.detect(name);
    }

    /// Suricata recognises `name` (without Zeek's confirmation).
    fn detect(&mut self, name: &'static str) {
        if !self.detected.contains(&name) {
            self.detected.push(name);
        }
    }

    /// Whether this datagram shows the flow's roles reversed (checked before it is
    /// processed; only the first message of a flow can say so).
    pub fn wants_flip(&mut self, flow: &FlowId, from_orig: bool, payload: &[u8]) -> bool {
        match &mut self.parser {
            Parser::Dns(d) if d.parsed == 0 && d.failed == 0 && from_orig => {
                dns::state::reply_first(flow, payload)
            }
            _ => false,
        }
    }

    /// The flow's roles were swapped.
    pub fn flip(&mut self) {
        std::mem::swap(&mut self.orig_port, &mut self.resp_port);
    }

    /// A UDP datagram.
    pub fn datagram(&mut self, ctx: &mut Ctx<'_>, from_orig: bool, payload: &[u8]) {
        if let Parser::UdpFirst = self.parser {
            self.parser = if from_orig && quic::state::looks_like_initial(payload) {
                Parser::Quic(Box::new(quic::QuicState::new(ctx)))
            } else {
                Parser::Nothing
            };
        }
        match &mut self.parser {
            Parser::Dns(d) => {
                let parsed = d.datagram(ctx, from_orig, payload);
                if parsed {
                    self.confirm("dns");
                }
            }
            Parser::Dhcp => {
                if let Some(message) = dhcp::parser::parse(payload) {
                    self.confirm("dhcp");
                    ctx.emit(
                        ctx.ts,
                        EventKind::Dhcp(Box::new(dhcp::DhcpRecord {
                            flow: ctx.flow.clone(),
                            ts: ctx.ts,
                            from_orig,
                            message,
                        })),
                    );
                }
            }
            Parser::Quic(q) => {
                q.datagram(ctx, from_orig, payload);
                let (quic, tls) = (q.confirmed, q.tls_confirmed());
                if quic {
                    self.confirm("quic");
                }
                if tls {
                    self.confirm("ssl");
                }
            }
            _ => {}
        }
    }

    /// A piece of a TCP stream.
    pub fn stream(&mut self, ctx: &mut Ctx<'_>, from_orig: bool, chunk: Chunk<'_>) {
        match &mut self.parser {
            Parser::Dns(d) => {
                d.stream(ctx, from_orig, chunk);
                if d.parsed > 0 {
                    self.confirm("dns");
                }
            }
            Parser::Http(h) => {
                let next = h.stream(ctx, from_orig, chunk);
                if h.confirmed {
                    self.confirm("http");
                }
                if let http::Next::Tunnel(rest) = next {
                    // The tunnel's content is recognised afresh.
                    self.set(ctx, Parser::Probing(Box::default()));
                    if !rest.is_empty() {
                        self.stream(ctx, from_orig, Chunk::Data(&rest));
                    }
                }
            }
            Parser::Tls(t) => {
                t.stream(ctx, from_orig, chunk);
                let (confirmed, done) = (t.confirmed, t.done);
                if confirmed {
                    self.confirm("ssl");
                }
                if done {
                    // The handshake is logged; the rest is ciphertext.
                    self.encrypted = true;
                    self.set(ctx, Parser::Nothing);
                }
            }
            Parser::Xmpp(x) => {
                if let Some(rest) = x.stream(from_orig, chunk) {
                    self.confirm("xmpp");
                    self.set(ctx, Parser::Probing(Box::default()));
                    if !rest.is_empty() {
                        self.stream(ctx, from_orig, Chunk::Data(&rest));
                    }
                } else if x.confirmed {
                    self.confirm("xmpp");
                }
            }
            Parser::Probing(p) => {
                let d = usize::from(!from_orig);
                // This chunk's bytes: kept for replay unless the parser is chosen now, when
                // they are handed to it directly.
                let mut current: Option<&[u8]> = None;
                match chunk {
                    Chunk::Data(data) => {
                        let room = PROBE_BYTES.saturating_sub(p.head[d].len());
                        p.head[d].extend_from_slice(&data[..room.min(data.len())]);
                        if p.replay_bytes + data.len() > PROBE_REPLAY_BYTES
                            || !p
                                .charge
                                .ensure(p.replay_bytes + data.len(), &mut ctx.cache.budget)
                        {
                            // Nothing recognised in the first bytes: not dissected.
                            self.set(ctx, Parser::Nothing);
                            return;
                        }
                        p.replay_bytes += data.len();
                        current = Some(data);
                    }
                    Chunk::Gap(_) => p.done[d] = true,
                }
                let g = if p.done[d] {
                    Guess::Unknown
                } else {
                    guess_side(from_orig, &p.head[d])
                };
                if !matches!(g, Guess::Http | Guess::Tls | Guess::Xmpp) {
                    if let Some(data) = current {
                        p.replay.push((from_orig, data.to_vec()));
                    }
                }
                match g {
                    Guess::NeedMore => {}
                    Guess::Unknown => {
                        p.done[d] = true;
                        if p.done[0] && p.done[1] {
                            self.set(ctx, Parser::Nothing);
                        }
                    }
                    Guess::Ssh => {
                        self.confirm("ssh");
                        self.set(ctx, Parser::Ssh);
                    }
                    Guess::Http | Guess::Tls | Guess::Xmpp => {
                        let replay = std::mem::take(&mut p.replay);
                        let next = match g {
                            Guess::Http => Parser::Http(Box::default()),
                            Guess::Tls => {
                                self.detect("ssl");
                                Parser::Tls(Box::new(tls::TlsState::new(ctx, false)))
                            }
                            _ => Parser::Xmpp(Box::default()),
                        };
                        self.set(ctx, next);
                        for (o, bytes) in replay {
                            self.stream(ctx, o, Chunk::Data(&bytes));
                        }
                        if let Some(data) = current {
                            self.stream(ctx, from_orig, Chunk::Data(data));
                        }
                    }
                }
            }
            Parser::Ssh | Parser::Nothing | Parser::Quic(_) | Parser::UdpFirst | Parser::Dhcp => {}
        }
    }

    /// Replaces the parser, giving the old one's memory back to the budget.
    fn set(&mut self, ctx: &mut Ctx<'_>, next: Parser) {
        let budget = &mut ctx.cache.budget;
        match &mut self.parser {
            Parser::Probing(p) => p.charge.release(budget),
            Parser::Dns(d) => d.charge.release(budget),
            Parser::Http(h) => h.charge.release(budget),
            Parser::Tls(t) => t.charge.release(budget),
            Parser::Quic(q) => q.charge.release(budget),
            Parser::Ssh | Parser::Xmpp(_) | Parser::Nothing | Parser::UdpFirst | Parser::Dhcp => {}
        }
        self.parser = next;
    }

    /// The flow ends: parsers log what they still hold.
    pub fn finish(&mut self, ctx: &mut Ctx<'_>) {
        match &mut self.parser {
            Parser::Dns(d) => d.finish(ctx),
            Parser::Http(h) => h.finish(ctx),
            Parser::Tls(t) => t.finish(ctx),
            Parser::Quic(q) => q.finish(ctx),
            _ => {}
        }
        self.set(ctx, Parser::Nothing);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_http_from_either_side() {
        assert_eq!(guess_side(true, b"GET / HTTP/1.1\r\n"), Guess::Http);
        assert_eq!(guess_side(true, b"GE"), Guess::NeedMore);
        assert_eq!(guess_side(true, b"FOOBAR /x HTTP/1.1\r\n"), Guess::Http);
        assert_eq!(guess_side(true, b"FOOBAR /x\r\n"), Guess::Unknown);
        assert_eq!(guess_side(false, b"HTTP/1.1 200 OK"), Guess::Http);
        assert_eq!(guess_side(false, b"HTT"), Guess::NeedMore);
        assert_eq!(guess_side(false, b"\x16\x03"), Guess::NeedMore);
        // Suricata's TLS patterns: a handshake record header is enough.
        assert_eq!(guess_side(false, b"\x16\x03\x01"), Guess::Tls);
        assert_eq!(guess_side(true, b"\x16\x03\x04"), Guess::NeedMore);
        assert_eq!(guess_side(true, b"\x16\x03\x01\x00\x05\x01"), Guess::Tls);
        assert_eq!(
            guess_side(false, b"\x17\x03\x01\x00\x05\x01"),
            Guess::Unknown
        );
        assert_eq!(guess_side(false, b"SSH-2.0-x"), Guess::Ssh);
    }
}
