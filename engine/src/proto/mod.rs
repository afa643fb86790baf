//! Application-layer dissectors and the dispatcher that picks one per flow.
//!
//! Each protocol has its own folder with the same four files: `parser.rs` (the stateless,
//! bounded parser over byte slices), `state.rs` (per-flow state: transactions, buffers),
//! `detect.rs` (the buffers rules inspect) and `log.rs` (Zeek-log and EVE renderings).
//!
//! Protocols are recognised by content first (an HTTP request line, a TLS record, a QUIC
//! long header) and by port where content cannot tell (DNS, DHCP), so that HTTP on port 22
//! or TLS on 8443 are still seen for what they are.

pub mod dns;

use crate::event::{Event, EventKind, EventOrder, FlowId};
use crate::tcp::Chunk;
use crate::time::Timestamp;

/// What a parser may do while handling a packet or a piece of stream: emit events and name
/// the service it recognised.
pub(crate) struct Ctx<'a> {
    pub flow: &'a FlowId,
    /// Time of the packet being processed.
    pub ts: Timestamp,
    /// Number of the packet being processed (or the order key at the end of a flow).
    pub pkt: u64,
    pub events: &'a mut Vec<Event>,
    pub seq: &'a mut u64,
}

impl Ctx<'_> {
    /// Emits an event of this flow, timestamped `ts`.
    pub fn emit(&mut self, ts: Timestamp, kind: EventKind) {
        self.events.push(Event {
            order: EventOrder {
                packet: self.pkt,
                flow: self.flow.id,
                seq: *self.seq,
            },
            ts,
            pcap_cnt: self.pkt,
            kind,
        });
        *self.seq += 1;
    }
}

/// Bytes of each direction kept to recognise a TCP protocol.
const PROBE_BYTES: usize = 16;
/// Bytes of each direction after which an unrecognised stream is given up on.
const PROBE_GIVE_UP: usize = 4096;

/// Recognition of a TCP stream's protocol from its first bytes.
#[derive(Debug, Default)]
struct Probe {
    head: [Vec<u8>; 2],
    seen: [usize; 2],
}

/// The protocol a stream's first bytes reveal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Guess {
    Ssh,
    Unknown,
    NeedMore,
}

fn guess(orig_port: u16, resp_port: u16, head_orig: &[u8], head_resp: &[u8]) -> Guess {
    let _ = (orig_port, resp_port);
    for h in [head_orig, head_resp] {
        if h.starts_with(b"SSH-") {
            return Guess::Ssh;
        }
    }
    if head_orig.len() < 4 && head_resp.len() < 4 {
        return Guess::NeedMore;
    }
    Guess::Unknown
}

/// The parser a flow settled on.
#[derive(Debug)]
enum Parser {
    /// Not yet decided (TCP).
    Probing(Probe),
    /// SSH: recognised, not parsed (the service name is what matters).
    Ssh,
    /// DNS (UDP or TCP).
    Dns(Box<dns::DnsState>),
    /// Nothing this engine parses.
    Nothing,
}

/// The application layer of one flow.
#[derive(Debug)]
pub(crate) struct AppLayer {
    services: Vec<&'static str>,
    parser: Parser,
    orig_port: u16,
    resp_port: u16,
}

impl AppLayer {
    /// The application layer of a new flow of protocol `proto` between these ports.
    pub fn new(proto: u8, orig_port: u16, resp_port: u16) -> Self {
        let dns_port = |p: u16| matches!(p, 53 | 5353 | 5355 | 137);
        let parser = match proto {
            6 if resp_port == 53 || orig_port == 53 => {
                Parser::Dns(Box::new(dns::DnsState::new()))
            }
            6 => Parser::Probing(Probe::default()),
            17 if dns_port(resp_port) || dns_port(orig_port) => {
                Parser::Dns(Box::new(dns::DnsState::new()))
            }
            _ => Parser::Nothing,
        };
        AppLayer {
            services: Vec::new(),
            parser,
            orig_port,
            resp_port,
        }
    }

    /// Services recognised so far, in order.
    pub fn services(&self) -> &[&'static str] {
        &self.services
    }

    fn confirm(services: &mut Vec<&'static str>, name: &'static str) {
        if !services.contains(&name) {
            services.push(name);
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
        if let Parser::Dns(d) = &mut self.parser {
            if d.datagram(ctx, from_orig, payload) {
                Self::confirm(&mut self.services, "dns");
            }
        }
    }

    /// A piece of a TCP stream.
    pub fn stream(&mut self, ctx: &mut Ctx<'_>, from_orig: bool, chunk: Chunk<'_>) {
        if let Parser::Dns(d) = &mut self.parser {
            d.stream(ctx, from_orig, chunk);
            if d.parsed > 0 {
                Self::confirm(&mut self.services, "dns");
            }
            return;
        }
        if let Parser::Probing(p) = &mut self.parser {
            let d = usize::from(!from_orig);
            match chunk {
                Chunk::Data(data) => {
                    p.seen[d] += data.len();
                    let room = PROBE_BYTES.saturating_sub(p.head[d].len());
                    p.head[d].extend_from_slice(data.get(..room.min(data.len())).unwrap_or(&[]));
                }
                Chunk::Gap(_) => {
                    self.parser = Parser::Nothing;
                    return;
                }
            }
            match guess(self.orig_port, self.resp_port, &p.head[0], &p.head[1]) {
                Guess::Ssh => {
                    Self::confirm(&mut self.services, "ssh");
                    self.parser = Parser::Ssh;
                }
                Guess::Unknown => {
                    if p.seen[0] > PROBE_GIVE_UP || p.seen[1] > PROBE_GIVE_UP {
                        self.parser = Parser::Nothing;
                    }
                }
                Guess::NeedMore => {}
            }
        }
    }

    /// The flow ends: parsers log what they still hold.
    pub fn finish(&mut self, ctx: &mut Ctx<'_>) {
        if let Parser::Dns(d) = &mut self.parser {
            d.finish(ctx);
        }
    }
}
