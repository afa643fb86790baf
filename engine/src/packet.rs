//! The reader stage: from a captured frame to a [`PacketRecord`], the compact description a
//! flow shard needs. Link layer, IP, fragment reassembly and tunnels are handled here, in
//! capture order, because fragments and tunnels must be resolved before the flow (and so the
//! shard) of a packet is known.

use std::collections::BTreeMap;

use crate::decode::ip::{parse_ip, parse_transport, proto, Transport};
use crate::decode::tunnel::{inner, Inner, MAX_TUNNEL_DEPTH};
use crate::decode::{
    decode_link, DefragConfig, DefragOutcome, DefragStats, Defragmenter, LinkOutcome,
};
use crate::flow::key::{Endpoint, FlowKey};
use crate::source::PacketMeta;
use crate::time::Timestamp;

/// Transport facts of a packet.
#[derive(Clone, Copy, Debug)]
pub(crate) enum L4Meta {
    Tcp {
        seq: u32,
        ack: u32,
        flags: u8,
        window: u16,
    },
    Udp,
    Icmp {
        kind: u8,
        code: u8,
    },
    Other,
}

/// A decoded packet, its bytes left in the chunk's arena.
#[derive(Clone, Debug)]
pub(crate) struct PacketRecord {
    /// 1-based packet number in the capture.
    pub index: u64,
    pub ts: Timestamp,
    pub key: FlowKey,
    /// The sender is the key's `lo` endpoint.
    pub from_lo: bool,
    pub proto: u8,
    pub ip_len: u32,
    /// Time to live / hop limit.
    pub ttl: u8,
    pub wire_len: u32,
    pub l4: L4Meta,
    /// Transport payload in the arena.
    pub payload_start: usize,
    pub payload_len: usize,
    /// Transport payload length on the wire (the snap length may have cut `payload_len`).
    pub payload_claimed: u32,
    /// Source and destination MAC addresses.
    pub macs: Option<[[u8; 6]; 2]>,
    /// VLAN ids, outermost first (0: none).
    pub vlan: [u16; 3],
    /// The packet as captured (or, for a reassembled datagram, as reassembled) in the
    /// arena: start and length.
    pub frame: (usize, usize),
    /// The link type of `frame` (raw IPv4 or IPv6 for a reassembled datagram).
    pub link: u32,
    /// The transport header could not be decoded: the packet belongs to no flow (its ports
    /// are 0, its payload empty) and is seen only by the rules on addresses and protocol, as
    /// Suricata's IP-only rules see it.
    pub transport_invalid: bool,
}

impl PacketRecord {
    /// The sender and receiver.
    pub fn endpoints(&self) -> (Endpoint, Endpoint) {
        if self.from_lo {
            (self.key.lo, self.key.hi)
        } else {
            (self.key.hi, self.key.lo)
        }
    }

    /// The transport payload.
    pub fn payload<'a>(&self, arena: &'a [u8]) -> &'a [u8] {
        arena
            .get(self.payload_start..self.payload_start.saturating_add(self.payload_len))
            .unwrap_or(&[])
    }
}

/// Counters of the reader stage.
#[derive(Clone, Debug, Default)]
pub struct DecodeStats {
    /// Packets read.
    pub packets: u64,
    /// Bytes captured.
    pub bytes: u64,
    /// Packets that carried IP.
    pub ip_packets: u64,
    /// Packets of other network protocols (ARP...).
    pub non_ip: u64,
    /// Packets that could not be decoded, by reason.
    pub malformed: BTreeMap<&'static str, u64>,
    /// Fragment reassembly.
    pub defrag: DefragStats,
    /// Packets inside IP-in-IP or GRE tunnels.
    pub tunnelled: u64,
    /// First and last packet times.
    pub first_ts: Option<Timestamp>,
    /// Last packet time.
    pub last_ts: Option<Timestamp>,
}

impl DecodeStats {
    fn malformed(&mut self, what: &'static str) {
        *self.malformed.entry(what).or_insert(0) += 1;
    }
}

/// The reader-stage decoder.
#[derive(Debug)]
pub(crate) struct Decoder {
    defrag: Defragmenter,
    pub stats: DecodeStats,
}

/// ICMP types that have a counterpart (request/reply), as Zeek pairs them.
fn icmp_counterpart(v6: bool, kind: u8) -> Option<u8> {
    let pairs: &[(u8, u8)] = if v6 {
        &[(128, 129), (133, 134), (135, 136), (130, 131)]
    } else {
        &[(8, 0), (13, 14), (15, 16), (17, 18), (10, 9)]
    };
    pairs.iter().find_map(|&(a, b)| {
        if a == kind {
            Some(b)
        } else if b == kind {
            Some(a)
        } else {
            None
        }
    })
}

fn offset_in(base: &[u8], sub: &[u8]) -> usize {
    (sub.as_ptr() as usize).saturating_sub(base.as_ptr() as usize)
}

impl Decoder {
    pub fn new(defrag: DefragConfig) -> Self {
        Decoder {
            defrag: Defragmenter::new(defrag),
            stats: DecodeStats::default(),
        }
    }

    /// Decodes the frame at `arena[frame_start..]`. A reassembled datagram is appended to the
    /// arena. Returns `None` for packets that produce no flow record.
    pub fn decode(
        &mut self,
        meta: &PacketMeta,
        index: u64,
        arena: &mut Vec<u8>,
        frame_start: usize,
    ) -> Option<PacketRecord> {
        let st = &mut self.stats;
        st.packets += 1;
        st.bytes += u64::from(meta.caplen);
        st.first_ts.get_or_insert(meta.ts);
        st.last_ts = Some(meta.ts);
        let frame = arena.get(frame_start..)?;
        let (mut ip_start, l2) = match decode_link(meta.link, frame) {
            LinkOutcome::Ip { offset, l2 } => (frame_start + offset, l2),
            LinkOutcome::NotIp { .. } => {
                st.non_ip += 1;
                return None;
            }
            LinkOutcome::Malformed(what) => {
                st.malformed(what);
                return None;
            }
            LinkOutcome::Unsupported(_) => {
                st.malformed("unsupported link type");
                return None;
            }
        };
        st.ip_packets += 1;
        let macs = match (l2.src_mac, l2.dst_mac) {
            (Some(s), Some(d)) => Some([s, d]),
            _ => None,
        };
        let mut depth = 0;
        let mut frame = (frame_start, arena.len().saturating_sub(frame_start));
        let mut link = meta.link.0;
        loop {
            let data = arena.get(ip_start..)?;
            let ip = match parse_ip(data) {
                Ok(ip) => ip,
                Err(what) => {
                    self.stats.malformed(what);
                    return None;
                }
            };
            if ip.fragment.is_some() {
                let outcome = self.defrag.add(meta.ts, data, &ip);
                self.stats.defrag = self.defrag.stats();
                match outcome {
                    DefragOutcome::Complete(whole) => {
                        ip_start = arena.len();
                        frame = (ip_start, whole.len());
                        link = if ip.version == 4 { 228 } else { 229 };
                        arena.extend_from_slice(&whole);
                        continue;
                    }
                    DefragOutcome::Pending => return None,
                    DefragOutcome::Dropped(what) => {
                        self.stats.malformed(what);
                        return None;
                    }
                }
            }
            match inner(&ip) {
                Inner::Ip(off) if depth < MAX_TUNNEL_DEPTH => {
                    depth += 1;
                    self.stats.tunnelled += 1;
                    ip_start += offset_in(data, ip.payload) + off;
                    continue;
                }
                Inner::Ip(_) => {
                    self.stats.malformed("tunnels nested too deep");
                    return None;
                }
                Inner::Opaque(_) | Inner::None => {}
            }
            let transport = match parse_transport(ip.proto, ip.payload) {
                Ok(t) => t,
                Err(what) => {
                    self.stats.malformed(what);
                    let (key, from_lo) = FlowKey::of(
                        Endpoint {
                            addr: ip.src,
                            port: 0,
                        },
                        Endpoint {
                            addr: ip.dst,
                            port: 0,
                        },
                        ip.proto,
                    );
                    let key = key.in_vlans(l2.vlan, u8::try_from(depth).unwrap_or(u8::MAX));
                    return Some(PacketRecord {
                        index,
                        ts: meta.ts,
                        key,
                        from_lo,
                        proto: ip.proto,
                        ip_len: ip.ip_len,
                        ttl: ip.ttl,
                        wire_len: meta.orig_len.max(meta.caplen),
                        l4: L4Meta::Other,
                        payload_start: 0,
                        payload_len: 0,
                        payload_claimed: 0,
                        macs,
                        vlan: l2.vlan,
                        frame,
                        link,
                        transport_invalid: true,
                    });
                }
            };
            let l4_header = offset_in(
                ip.payload,
                match &transport {
                    Transport::Tcp(t) => t.payload,
                    Transport::Udp { payload, .. }
                    | Transport::Icmp { payload, .. }
                    | Transport::Other { payload } => payload,
                },
            );
            let (sport, dport, l4, payload) = match transport {
                Transport::Tcp(t) => (
                    t.sport,
                    t.dport,
                    L4Meta::Tcp {
                        seq: t.seq,
                        ack: t.ack,
                        flags: t.flags,
                        window: t.window,
                    },
                    t.payload,
                ),
                Transport::Udp {
                    sport,
                    dport,
                    payload,
                } => (sport, dport, L4Meta::Udp, payload),
                Transport::Icmp {
                    v6,
                    kind,
                    code,
                    payload,
                } => {
                    let other = icmp_counterpart(v6, kind).unwrap_or(code);
                    (
                        u16::from(kind),
                        u16::from(other),
                        L4Meta::Icmp { kind, code },
                        payload,
                    )
                }
                Transport::Other { payload } => (0, 0, L4Meta::Other, payload),
            };
            let proto = if ip.proto == proto::ICMPV6 {
                proto::ICMPV6
            } else {
                ip.proto
            };
            let (key, from_lo) = FlowKey::of(
                Endpoint {
                    addr: ip.src,
                    port: sport,
                },
                Endpoint {
                    addr: ip.dst,
                    port: dport,
                },
                proto,
            );
            let key = key.in_vlans(l2.vlan, u8::try_from(depth).unwrap_or(u8::MAX));
            return Some(PacketRecord {
                index,
                ts: meta.ts,
                key,
                from_lo,
                proto,
                ip_len: ip.ip_len,
                ttl: ip.ttl,
                wire_len: meta.orig_len.max(meta.caplen),
                l4,
                payload_start: offset_in(arena, payload),
                payload_len: payload.len(),
                payload_claimed: u32::try_from(
                    ip.payload_claimed
                        .saturating_sub(l4_header)
                        .max(payload.len()),
                )
                .unwrap_or(u32::MAX),
                macs,
                vlan: l2.vlan,
                frame,
                link,
                transport_invalid: false,
            });
        }
    }
}
