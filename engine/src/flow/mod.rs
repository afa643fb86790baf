//! Flows: bidirectional connections with Zeek's notion of who originated them, their
//! counters and history, and the shard tables that hold them.

pub mod history;
pub mod key;
pub mod macs;
pub(crate) mod table;

use crate::config::{Config, SEC};
use crate::decode::ip::{tcp_flags, TcpSegment};
use crate::event::{ConnRecord, EndReason, Event, EventKind, EventOrder, FlowId};
use crate::packet::{L4Meta, PacketRecord};
use crate::proto::{AppLayer, Ctx};
use crate::tcp::{Chunk, MemBudget, TcpSession};
use crate::time::Timestamp;
use history::{History, Mark};
use key::Endpoint;

/// Ports on which Zeek has an analyzer registered: a first packet *from* one of these (and
/// not to one) is taken to come from the responder, and the roles are flipped.
fn likely_server_port(proto: u8, port: u16) -> bool {
    match proto {
        6 => matches!(
            port,
            21 | 22
                | 23
                | 25
                | 53
                | 80
                | 81
                | 88
                | 102
                | 110
                | 111
                | 135
                | 139
                | 143
                | 179
                | 389
                | 443
                | 445
                | 465
                | 502
                | 563
                | 585
                | 587
                | 614
                | 631
                | 636
                | 853
                | 989
                | 990
                | 992
                | 993
                | 994
                | 995
                | 1080
                | 1433
                | 1723
                | 2049
                | 3128
                | 3306
                | 3389
                | 5222
                | 5223
                | 5228
                | 5269
                | 5432
                | 6379
                | 6666..=6669 | 8000 | 8080 | 8443 | 8888 | 20000
        ),
        17 => matches!(
            port,
            53 | 67
                | 68
                | 69
                | 88
                | 123
                | 137
                | 138
                | 161
                | 162
                | 443
                | 500
                | 514
                | 546
                | 547
                | 1812
                | 1813
                | 1900
                | 2152
                | 3478
                | 3544
                | 4500
                | 4789
                | 5060
                | 5353
                | 5355
                | 6081
        ),
        _ => false,
    }
}

/// Whether a TCP connection counts as established for `flow:established`: both sides
/// completed the handshake, or (with `midstream`) were picked up mid-stream.
fn tcp_established(tcp: &TcpSession, midstream: bool) -> bool {
    use crate::tcp::EndpointState::{Established, Partial};
    let ok = |s| s == Established || (midstream && s == Partial);
    ok(tcp.state(true)) && ok(tcp.state(false))
}

/// Per-direction counters (0: originator, 1: responder).
#[derive(Clone, Copy, Debug, Default)]
struct Counters {
    pkts: u64,
    ip_bytes: u64,
    payload: u64,
    wire: u64,
    flags: u8,
}

/// One flow.
#[derive(Debug)]
pub(crate) struct Flow {
    pub id: FlowId,
    /// The originator is the key's `lo` endpoint.
    pub orig_is_lo: bool,
    pub start: Timestamp,
    /// Last packet (for timeouts and EVE).
    pub last: Timestamp,
    /// Last packet that counts for the duration (Zeek stops after both sides closed).
    duration_end: Timestamp,
    counters: [Counters; 2],
    pub history: History,
    macs: macs::MacSet,
    pub tcp: Option<Box<TcpSession>>,
    pub app: AppLayer,
    /// Events emitted for this flow so far (orders them within the flow).
    pub seq: u64,
    /// Rule state (flowbits, transactions that alerted), when rules are loaded.
    detect: Option<Box<tcheck_rules::FlowState>>,
    /// Suricata's notion: the TCP handshake completed at some point (or the flow was picked
    /// up mid-stream with `midstream`); other protocols: both directions seen.
    established: bool,
}

fn dir(orig: bool) -> usize {
    usize::from(!orig)
}

impl Flow {
    /// A flow started by `pkt`, with Zeek's role assignment.
    pub fn new(pkt: &PacketRecord, id: u64, config: &Config) -> Self {
        let (src, dst) = pkt.endpoints();
        let mut flip = false;
        let mut analyze = true;
        match pkt.l4 {
            L4Meta::Tcp { flags, .. } => {
                let syn = flags & tcp_flags::SYN != 0;
                analyze = syn || config.stream.midstream;
                let ack = flags & tcp_flags::ACK != 0;
                // A SYN-ACK first: its receiver started the connection. No SYN at all: the
                // side on a well-known port is taken to be the server.
                flip = (syn && ack)
                    || (!syn
                        && likely_server_port(6, src.port)
                        && !likely_server_port(6, dst.port));
            }
            L4Meta::Udp => {
                flip = likely_server_port(17, src.port) && !likely_server_port(17, dst.port);
            }
            _ => {}
        }
        let (orig, resp) = if flip { (dst, src) } else { (src, dst) };
        let mut history = History::default();
        if flip {
            history.flip();
        }
        let tcp = matches!(pkt.l4, L4Meta::Tcp { .. }).then(Box::<TcpSession>::default);
        Flow {
            id: FlowId {
                id,
                orig,
                resp,
                proto: pkt.proto,
                vlan: pkt.vlan,
                macs: match pkt.macs {
                    Some([src, dst]) if flip => [Some(dst), Some(src)],
                    Some([src, dst]) => [Some(src), Some(dst)],
                    None => [None, None],
                },
            },
            orig_is_lo: orig == pkt.key.lo,
            start: pkt.ts,
            last: pkt.ts,
            duration_end: pkt.ts,
            counters: [Counters::default(); 2],
            history,
            macs: macs::MacSet::default(),
            tcp,
            app: if analyze {
                AppLayer::new(pkt.proto, orig.port, resp.port)
            } else {
                AppLayer::disabled()
            },
            seq: 0,
            detect: config.detection.as_ref().map(|_| Box::default()),
            established: false,
        }
    }

    /// Whether `pkt` comes from the originator.
    pub fn sent_by_orig(&self, pkt: &PacketRecord) -> bool {
        pkt.from_lo == self.orig_is_lo
    }

    /// The inactivity timeout that applies now, in nanoseconds.
    pub fn timeout_nanos(&self, config: &Config) -> i64 {
        let f = &config.flow;
        let secs = match (&self.tcp, self.id.proto) {
            (Some(t), _) => {
                use crate::tcp::EndpointState::{Closed, Reset};
                let o = t.state(true);
                let r = t.state(false);
                if matches!((o, r), (Closed | Reset, Closed | Reset)) || o == Reset || r == Reset {
                    f.tcp_close_delay_secs
                } else {
                    f.tcp_timeout_secs
                }
            }
            (None, 17) => f.udp_timeout_secs,
            _ => f.other_timeout_secs,
        };
        i64::from(secs) * SEC
    }

    /// Why the flow ends before `pkt` rather than taking it: it was idle past its timeout,
    /// or `pkt` starts a new connection on its 5-tuple. `None`: `pkt` is the flow's.
    pub fn ending(&self, pkt: &PacketRecord, config: &Config) -> Option<EndReason> {
        if pkt.ts.nanos_since(self.last) > self.timeout_nanos(config) {
            Some(EndReason::Timeout)
        } else if self.is_reuse(pkt) {
            Some(EndReason::Reused)
        } else {
            None
        }
    }

    /// Whether a TCP SYN in `pkt` starts a new connection on this 5-tuple.
    pub fn is_reuse(&self, pkt: &PacketRecord) -> bool {
        let (
            Some(tcp),
            L4Meta::Tcp {
                seq,
                ack,
                flags,
                window,
            },
        ) = (&self.tcp, pkt.l4)
        else {
            return false;
        };
        let seg = TcpSegment {
            sport: 0,
            dport: 0,
            seq,
            ack,
            flags,
            window,
            payload: &[],
            len: 0,
        };
        tcp.is_reuse(self.sent_by_orig(pkt), &seg)
    }

    /// Swaps originator and responder (a parser found the roles reversed).
    fn flip(&mut self) {
        std::mem::swap(&mut self.id.orig, &mut self.id.resp);
        self.orig_is_lo = !self.orig_is_lo;
        self.counters.swap(0, 1);
        self.macs.flip();
        self.id.macs.swap(0, 1);
        self.history.flip();
        if let Some(t) = self.tcp.as_deref_mut() {
            t.flip();
        }
        self.app.flip();
    }

    /// Accounts for `pkt` and runs it through TCP and the application layer.
    pub fn packet(
        &mut self,
        pkt: &PacketRecord,
        arena: &[u8],
        config: &Config,
        budget: &mut MemBudget,
        out: &mut FlowOutput<'_>,
    ) {
        if matches!(pkt.l4, L4Meta::Udp)
            && self
                .app
                .wants_flip(&self.id, self.sent_by_orig(pkt), pkt.payload(arena))
        {
            self.flip();
        }
        let orig = self.sent_by_orig(pkt);
        let d = dir(orig);
        self.last = pkt.ts;
        if !self.tcp.as_ref().is_some_and(|t| t.both_closed()) {
            self.duration_end = pkt.ts;
        }
        let payload = pkt.payload(arena);
        {
            let c = &mut self.counters[d];
            c.pkts += 1;
            c.ip_bytes += u64::from(pkt.ip_len);
            c.wire += u64::from(pkt.wire_len);
            c.payload += u64::from(pkt.payload_claimed);
        }
        if let Some([src, dst]) = pkt.macs {
            self.macs.add(d, src, dst);
        }
        let tcp_flags = match pkt.l4 {
            L4Meta::Tcp { flags, .. } => Some(flags),
            _ => None,
        };
        if tcp_flags.is_none() && self.counters[0].pkts > 0 && self.counters[1].pkts > 0 {
            self.established = true;
        }
        let detect = match (config.detection.as_deref(), self.detect.as_deref_mut()) {
            (Some(detection), Some(state)) => {
                let (src, dst) = pkt.endpoints();
                Some(crate::detect::FlowDetect {
                    detection,
                    flow: &self.id,
                    alerted_before: state.alerted,
                    passed_before: state.passed,
                    dropped_before: state.dropped,
                    state,
                    packet: crate::detect::PacketView {
                        src: (src.addr, src.port),
                        dst: (dst.addr, dst.port),
                        ip_proto: pkt.proto,
                        ttl: pkt.ttl,
                        icmp: match pkt.l4 {
                            L4Meta::Icmp { kind, code } => Some((kind, code)),
                            _ => None,
                        },
                        tcp_flags,
                        from_orig: orig,
                        established: self.established,
                        first_in_direction: self.counters[d].pkts == 1,
                    },
                    hits: Vec::new(),
                    frame: detection.log_packet.then(|| {
                        let (start, len) = pkt.frame;
                        (
                            pkt.link,
                            arena.get(start..start.saturating_add(len)).unwrap_or(&[]),
                        )
                    }),
                })
            }
            _ => None,
        };
        let mark = out.events.len();
        let mut ctx = Ctx {
            flow: &self.id,
            ts: pkt.ts,
            pkt: pkt.index,
            events: out.events,
            seq: &mut self.seq,
            cache: out.cache,
            detect,
        };
        match pkt.l4 {
            L4Meta::Tcp {
                seq,
                ack,
                flags,
                window,
            } => {
                self.counters[d].flags |= flags;
                let seg = TcpSegment {
                    sport: 0,
                    dport: 0,
                    seq,
                    ack,
                    flags,
                    window,
                    payload,
                    len: pkt.payload_claimed,
                };
                if let Some(tcp) = self.tcp.as_deref_mut() {
                    let app = &mut self.app;
                    let midstream = config.stream.midstream;
                    tcp.packet(
                        orig,
                        &seg,
                        &mut self.history,
                        &config.stream.limits,
                        budget,
                        &mut |o, chunk| {
                            let data = match (&chunk, ctx.detect.is_some()) {
                                (Chunk::Data(d), true) if app.payload_inspection() => Some(*d),
                                _ => None,
                            };
                            app.stream(&mut ctx, o, chunk);
                            if let Some(data) = data {
                                ctx.inspect_stream(o, data, app.name());
                            }
                        },
                    );
                    // Packets count as established while both sides are (a FIN ends
                    // it, as Suricata's state machine leaves ESTABLISHED); stream data
                    // once the handshake completed.
                    let now = tcp_established(tcp, midstream);
                    self.established |= now;
                    if let Some(det) = ctx.detect.as_mut() {
                        det.packet.established = now;
                    }
                }
                if ctx.detect.is_some() {
                    ctx.inspect_packet(payload, self.app.name());
                    ctx.pass_overrides(mark);
                }
            }
            L4Meta::Udp => {
                self.history.check(orig, Mark::Data);
                self.app.datagram(&mut ctx, orig, payload);
                if ctx.detect.is_some() {
                    ctx.inspect_packet(payload, self.app.name());
                }
            }
            L4Meta::Icmp { .. } | L4Meta::Other => {
                if ctx.detect.is_some() {
                    ctx.inspect_packet(payload, None);
                }
            }
        }
    }

    /// Ends the flow: flushes streams, lets the parsers log what is pending, and emits the
    /// connection record.
    pub fn finish(
        mut self,
        reason: EndReason,
        config: &Config,
        budget: &mut MemBudget,
        out: &mut FlowOutput<'_>,
    ) {
        let mut ctx = Ctx {
            flow: &self.id,
            ts: self.last,
            pkt: out.order_packet,
            events: out.events,
            seq: &mut self.seq,
            cache: out.cache,
            detect: None,
        };
        if let Some(tcp) = self.tcp.as_deref_mut() {
            let app = &mut self.app;
            tcp.finish(&config.stream.limits, budget, &mut |o, chunk| {
                app.stream(&mut ctx, o, chunk)
            });
        }
        self.app.finish(&mut ctx);
        let record = self.conn_record(reason, config);
        let order = EventOrder {
            packet: out.order_packet,
            swept: false,
            flow: self.id.id,
            seq: self.seq,
        };
        out.events.push(Event::new(
            order,
            self.start,
            out.order_packet,
            EventKind::Conn(Box::new(record)),
        ));
    }

    /// The connection record of the flow, which is ending: what the record keeps as it is
    /// (the history, the services, the MAC addresses) is moved out of the flow rather than
    /// copied.
    fn conn_record(&mut self, reason: EndReason, config: &Config) -> ConnRecord {
        let [o, r] = self.counters;
        let (orig_bytes, resp_bytes, conn_state, missed, depth) = match &self.tcp {
            Some(t) => (
                t.size(true),
                t.size(false),
                t.conn_state(&self.history),
                t.missed_bytes(),
                t.depth_reached(true) || t.depth_reached(false),
            ),
            None => {
                let state = match (o.pkts > 0, r.pkts > 0, self.id.proto) {
                    (_, _, p) if p != 17 => "OTH",
                    (true, true, _) => "SF",
                    (true, false, _) => "S0",
                    (false, true, _) => "SHR",
                    (false, false, _) => "OTH",
                };
                (o.payload, r.payload, state, 0, false)
            }
        };
        let local = |a: &std::net::IpAddr| config.local_nets.contains(a);
        ConnRecord {
            flow: self.id.clone(),
            start: self.start,
            end: self.duration_end,
            last_seen: self.last,
            services: self.app.take_services(),
            detected: self.app.take_detected(),
            orig_bytes,
            resp_bytes,
            conn_state,
            local_orig: local(&self.id.orig.addr),
            local_resp: local(&self.id.resp.addr),
            missed_bytes: missed,
            history: self.history.take_text(),
            orig_pkts: o.pkts,
            orig_ip_bytes: o.ip_bytes,
            resp_pkts: r.pkts,
            resp_ip_bytes: r.ip_bytes,
            orig_wire_bytes: o.wire,
            resp_wire_bytes: r.wire,
            orig_l2: self.macs.first(0),
            resp_l2: self.macs.first(1),
            macs: std::mem::take(&mut self.macs),
            tcp_flags: [o.flags, r.flags],
            reason,
            depth_reached: depth,
            alerted: self.detect.as_ref().is_some_and(|d| d.alerted),
            flowbits: match (config.detection.as_deref(), self.detect.as_deref()) {
                (Some(det), Some(st)) => det
                    .rules()
                    .flowbits_set(st)
                    .into_iter()
                    .map(str::to_string)
                    .collect(),
                _ => Vec::new(),
            },
            flowvars: self
                .detect
                .as_deref()
                .map(|st| st.flowvars().to_vec())
                .unwrap_or_default(),
            action: self.detect.as_ref().and_then(|d| {
                if d.passed {
                    Some("pass")
                } else if d.dropped && config.detection.as_ref().is_some_and(|x| x.ips) {
                    Some("drop")
                } else {
                    None
                }
            }),
        }
    }

    /// The originator's and responder's endpoints.
    #[allow(dead_code)]
    pub fn endpoints(&self) -> (Endpoint, Endpoint) {
        (self.id.orig, self.id.resp)
    }
}

/// Where a flow's events go, and the order key of events not tied to a packet.
pub(crate) struct FlowOutput<'a> {
    pub events: &'a mut Vec<Event>,
    /// The shard's caches.
    pub cache: &'a mut crate::proto::cache::Cache,
    /// The packet number events of `finish` sort under.
    pub order_packet: u64,
}
