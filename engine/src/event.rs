//! Events: what the engine reports, in the order it reports them.
//!
//! Every record carries the [`FlowId`] of its flow. Events are ordered by the packet that
//! produced them (then flow id, then a per-flow sequence), which does not depend on how many
//! threads ran: see [`EventOrder`].

use std::net::IpAddr;

use crate::flow::key::Endpoint;
pub use crate::proto::dhcp::DhcpRecord;
pub use crate::proto::dns::{DnsMessageRecord, DnsRecord};
pub use crate::proto::http::HttpRecord;
pub use crate::proto::quic::QuicRecord;
pub use crate::proto::tls::{CertInfo, TlsRecord, X509Record};
use crate::time::Timestamp;

/// The identity of a flow, as logs print it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlowId {
    /// The flow's id: stable within a run, the same whatever the thread count.
    pub id: u64,
    /// The originator (Zeek's notion: who started it).
    pub orig: Endpoint,
    /// The responder.
    pub resp: Endpoint,
    /// IP protocol number.
    pub proto: u8,
    /// VLAN ids, outermost first (0: none).
    pub vlan: [u16; 3],
    /// MAC addresses of the originator and responder, first seen (Ethernet captures).
    pub macs: [Option<[u8; 6]>; 2],
}

/// Letters of Zeek-style uids.
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

impl FlowId {
    /// A Zeek-style connection uid (`C` and base-62 digits of the flow id).
    pub fn uid(&self) -> String {
        let mut s = Vec::with_capacity(12);
        let mut v = self.id;
        loop {
            s.push(BASE62[(v % 62) as usize]);
            v /= 62;
            if v == 0 {
                break;
            }
        }
        s.push(b'C');
        s.reverse();
        String::from_utf8(s).unwrap_or_default()
    }

    /// The transport name Zeek and Suricata print (`tcp`, `udp`, `icmp`...).
    pub fn proto_name(&self) -> &'static str {
        proto_name(self.proto)
    }
}

/// The transport name of an IP protocol number.
pub fn proto_name(proto: u8) -> &'static str {
    match proto {
        6 => "tcp",
        17 => "udp",
        1 | 58 => "icmp",
        _ => "unknown_transport",
    }
}

/// Why a flow ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndReason {
    /// No packet for longer than the protocol's inactivity timeout.
    Timeout,
    /// Evicted because the flow table was full.
    Evicted,
    /// A new connection reused its 5-tuple.
    Reused,
    /// The capture ended.
    Shutdown,
}

impl EndReason {
    /// Suricata's word for it in EVE `flow.reason`.
    pub fn eve(self) -> &'static str {
        match self {
            EndReason::Timeout | EndReason::Reused => "timeout",
            EndReason::Evicted => "forced",
            EndReason::Shutdown => "shutdown",
        }
    }
}

/// A connection summary: Zeek's `conn.log` row and Suricata's `flow` event.
#[derive(Clone, Debug)]
pub struct ConnRecord {
    /// The flow.
    pub flow: FlowId,
    /// First packet.
    pub start: Timestamp,
    /// End of the connection for its duration: the last packet before both sides closed.
    pub end: Timestamp,
    /// Last packet seen.
    pub last_seen: Timestamp,
    /// Application protocols recognised, in order of recognition (`http`, `ssl`, `dns`...).
    pub services: Vec<&'static str>,
    /// The protocols as Suricata detects them, in order (Zeek's names): the services, and
    /// TLS recognised from its record header alone.
    pub detected: Vec<&'static str>,
    /// Payload bytes from the originator (sequence-based for TCP).
    pub orig_bytes: u64,
    /// Payload bytes from the responder.
    pub resp_bytes: u64,
    /// Zeek's `conn_state`.
    pub conn_state: &'static str,
    /// Whether the originator is in the local networks.
    pub local_orig: bool,
    /// Whether the responder is in the local networks.
    pub local_resp: bool,
    /// Bytes missed in content gaps.
    pub missed_bytes: u64,
    /// Zeek's history string.
    pub history: String,
    /// Packets from the originator.
    pub orig_pkts: u64,
    /// IP bytes from the originator (sum of IP total lengths).
    pub orig_ip_bytes: u64,
    /// Packets from the responder.
    pub resp_pkts: u64,
    /// IP bytes from the responder.
    pub resp_ip_bytes: u64,
    /// Whole-packet bytes from the originator (Suricata's `bytes_toserver`).
    pub orig_wire_bytes: u64,
    /// Whole-packet bytes from the responder.
    pub resp_wire_bytes: u64,
    /// MAC address of the originator, when captured on Ethernet.
    pub orig_l2: Option<[u8; 6]>,
    /// MAC address of the responder.
    pub resp_l2: Option<[u8; 6]>,
    /// Every MAC address of each side, in order of appearance (taken from the ending flow,
    /// so that a connection costs no list of them unless EVE prints them).
    pub macs: crate::flow::macs::MacSet,
    /// TCP flags seen from the originator and responder (OR of all packets).
    pub tcp_flags: [u8; 2],
    /// Why the flow ended.
    pub reason: EndReason,
    /// The TCP stream depth was reached in some direction.
    pub depth_reached: bool,
    /// A rule alerted on the flow.
    pub alerted: bool,
    /// The flowbits set on the flow at its end.
    pub flowbits: Vec<String>,
    /// The flow variables rules captured, in the order first set (name, value).
    pub flowvars: Vec<(String, Vec<u8>)>,
    /// What rules decided for the flow: `pass` (a pass rule matched) or `drop` (a drop
    /// rule, in IPS simulation).
    pub action: Option<&'static str>,
}

/// An oddity in traffic, reported rather than dropped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnomalyRecord {
    /// The flow, when the oddity belongs to one.
    pub flow: Option<FlowId>,
    /// The layer (`decode`, `stream`, `dns`, `tls`...).
    pub layer: &'static str,
    /// A short name (`truncated_ipv4`, `dns_name_loop`...).
    pub kind: &'static str,
    /// Source and destination, when known but no flow exists.
    pub addrs: Option<(IpAddr, IpAddr)>,
}

/// A rule matched.
#[derive(Clone, Debug)]
pub struct AlertRecord {
    /// The flow (for a packet that belongs to none, see `flowless`, its addresses only).
    pub flow: FlowId,
    /// The packet that matched belongs to no flow (its transport header was malformed):
    /// `flow.id` orders the event but is not printed.
    pub flowless: bool,
    /// The rule, as alerts print it.
    pub signature: std::sync::Arc<crate::detect::Signature>,
    /// Sender of the data that matched (address, port).
    pub src: (IpAddr, u16),
    /// Its receiver.
    pub dst: (IpAddr, u16),
    /// The data went from the flow's originator to its responder.
    pub to_server: bool,
    /// The application-layer transaction that matched, if any.
    pub tx_id: Option<u64>,
    /// That transaction's state when it matched.
    pub app: Option<AlertApp>,
    /// The flow's application protocol then (`http`, `tls`, `dns`...).
    pub app_proto: Option<&'static str>,
    /// IPS simulation: the packet would have been dropped.
    pub blocked: bool,
    /// The flowbits set on the flow when it alerted.
    pub flowbits: Vec<String>,
    /// The flow variables set then (name, value).
    pub flowvars: Vec<(String, Vec<u8>)>,
    /// The packet (link type, bytes as captured or reassembled), when asked for.
    pub packet: Option<Box<(u32, Vec<u8>)>>,
    /// The payload that matched and whether it was reassembled stream data, when asked for
    /// (packet and stream matches).
    pub payload: Option<(Vec<u8>, bool)>,
}

/// The application-layer object printed with an alert.
#[derive(Clone, Debug)]
pub enum AlertApp {
    /// A DNS message.
    Dns(Box<DnsMessageRecord>),
    /// An HTTP transaction so far.
    Http(Box<HttpRecord>),
    /// A TLS session so far.
    Tls(Box<TlsRecord>),
}

/// The body of an event.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum EventKind {
    /// A connection ended.
    Conn(Box<ConnRecord>),
    /// A DNS transaction (Zeek's view: query and reply together).
    Dns(Box<DnsRecord>),
    /// A DNS message (Suricata's view: each request and response).
    DnsMessage(Box<DnsMessageRecord>),
    /// An HTTP request and its response.
    Http(Box<HttpRecord>),
    /// A TLS session's handshake.
    Tls(Box<TlsRecord>),
    /// A certificate seen in a TLS session.
    X509(Box<X509Record>),
    /// A QUIC connection's handshake.
    Quic(Box<QuicRecord>),
    /// A DHCP message.
    Dhcp(Box<DhcpRecord>),
    /// An oddity in the traffic.
    Anomaly(Box<AnomalyRecord>),
    /// A rule matched.
    Alert(Box<AlertRecord>),
}

/// Where an event sorts in the output: by the packet that produced it, then the flow, then
/// the order within the flow. The sweep of idle flows at the end of a batch carries the
/// number of the batch's last packet, and its events sort after everything that packet
/// produced; end-of-capture events carry the number of the last packet read plus one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventOrder {
    /// Packet number (1-based) that produced the event.
    pub packet: u64,
    /// Whether the sweep at the end of a batch produced it. A sweep's events are sorted
    /// together with its packet's own when that packet is in the chunk that ends the batch,
    /// and handed out after them when that chunk is empty (the input ended right after a
    /// full chunk, which depends on the chunk size, so on the thread count): sorting them
    /// after the packet's own gives one order in both cases.
    pub swept: bool,
    /// Flow id (0 for events of no flow).
    pub flow: u64,
    /// Sequence within the flow.
    pub seq: u64,
}

/// One event.
#[derive(Clone, Debug)]
pub struct Event {
    /// Its place in the output.
    pub order: EventOrder,
    /// When it happened (the record's own timestamp: a connection's start, a query's time).
    pub ts: Timestamp,
    /// The packet number Suricata would print as `pcap_cnt` (the packet that produced it).
    pub pcap_cnt: u64,
    /// What happened.
    pub kind: EventKind,
    /// The worker thread that made it (its index in the pool; [`Event::NO_WORKER`] outside
    /// one, or past the 255th worker): with several threads, a batch's events go back to
    /// the workers that made them to be freed, since a free from another thread costs the
    /// allocator more.
    pub(crate) worker: u8,
}

impl Event {
    /// An event made outside a pool of workers.
    const NO_WORKER: u8 = u8::MAX;

    /// An event of `kind`, at `ts`, produced by packet `pcap_cnt`, in place `order`.
    pub fn new(order: EventOrder, ts: Timestamp, pcap_cnt: u64, kind: EventKind) -> Self {
        Event {
            order,
            ts,
            pcap_cnt,
            kind,
            worker: rayon::current_thread_index()
                .and_then(|i| u8::try_from(i).ok())
                .filter(|&w| w != Self::NO_WORKER)
                .unwrap_or(Self::NO_WORKER),
        }
    }

    /// The worker thread that made it, if one did.
    pub(crate) fn worker(&self) -> Option<usize> {
        (self.worker != Self::NO_WORKER).then_some(usize::from(self.worker))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    /// An event made on a worker of a pool knows which; one made elsewhere knows none.
    #[test]
    fn an_event_knows_the_worker_that_made_it() {
        let make = || {
            Event::new(
                EventOrder {
                    packet: 1,
                    swept: false,
                    flow: 0,
                    seq: 0,
                },
                Timestamp::ZERO,
                1,
                EventKind::Anomaly(Box::new(AnomalyRecord {
                    flow: None,
                    layer: "decode",
                    kind: "test",
                    addrs: None,
                })),
            )
        };
        assert_eq!(make().worker(), None);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        let made = pool.broadcast(|ctx| (ctx.index(), make().worker()));
        assert_eq!(made, [(0, Some(0)), (1, Some(1)), (2, Some(2))]);
    }

    #[test]
    fn uids_are_distinct_and_prefixed() {
        let ep = Endpoint {
            addr: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 1,
        };
        let f = |id| FlowId {
            id,
            orig: ep,
            resp: ep,
            proto: 6,
            vlan: [0; 3],
            macs: [None, None],
        };
        assert_eq!(f(0).uid(), "C0");
        assert_eq!(f(61).uid(), "Cz");
        assert_eq!(f(62).uid(), "C10");
        assert_ne!(f(1 << 40).uid(), f((1 << 40) + 1).uid());
    }
}
