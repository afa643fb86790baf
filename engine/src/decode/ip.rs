//! IPv4 and IPv6 (with options and extension headers) and the transport headers, parsed with
//! `etherparse`'s lax slices (IPv6 by hand, walking the extension chain with checked reads): a
//! packet cut short by the snap length still yields what it has.

use std::net::IpAddr;

use etherparse::{LaxIpv4Slice, TcpSlice, UdpSlice};

/// IP protocol numbers the engine treats specially.
pub mod proto {
    /// ICMP for IPv4.
    pub const ICMP: u8 = 1;
    /// IPv4 encapsulated in IP.
    pub const IPIP: u8 = 4;
    /// TCP.
    pub const TCP: u8 = 6;
    /// UDP.
    pub const UDP: u8 = 17;
    /// IPv6 encapsulated in IP.
    pub const IPV6: u8 = 41;
    /// Generic Routing Encapsulation.
    pub const GRE: u8 = 47;
    /// ICMP for IPv6.
    pub const ICMPV6: u8 = 58;
}

/// Where a fragment belongs in its datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fragment {
    /// Identification (16 bits for IPv4, 32 for IPv6).
    pub id: u32,
    /// Offset of this fragment's payload in the datagram, in bytes.
    pub offset: u16,
    /// Whether more fragments follow.
    pub more: bool,
}

/// An IP packet's header facts and its payload.
#[derive(Clone, Debug)]
pub struct IpPacket<'a> {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// 4 or 6.
    pub version: u8,
    /// Transport protocol (after IPv6 extension headers).
    pub proto: u8,
    /// Time to live / hop limit.
    pub ttl: u8,
    /// Length of the datagram according to its header (Zeek's `ip_bytes`).
    pub ip_len: u32,
    /// The transport payload (or this fragment's part of it), as captured.
    pub payload: &'a [u8],
    /// The payload's length according to the header (more than `payload` when the snap
    /// length cut the packet).
    pub payload_claimed: usize,
    /// Set when this packet is a fragment.
    pub fragment: Option<Fragment>,
    /// The header claims more bytes than were captured.
    pub truncated: bool,
}

/// Parses the IP header at the start of `data`.
pub fn parse_ip(data: &[u8]) -> Result<IpPacket<'_>, &'static str> {
    match data.first().map(|b| b >> 4) {
        Some(4) => parse_v4(data),
        Some(6) => parse_v6(data),
        Some(_) => Err("unknown IP version"),
        None => Err("empty IP packet"),
    }
}

/// The payload length the IP header claims, given where the payload starts in `data`.
fn claimed(data: &[u8], payload: &[u8], ip_len: u32) -> usize {
    let header = (payload.as_ptr() as usize).saturating_sub(data.as_ptr() as usize);
    let claimed = usize::try_from(ip_len)
        .unwrap_or(usize::MAX)
        .saturating_sub(header);
    claimed.max(payload.len())
}

fn parse_v4(data: &[u8]) -> Result<IpPacket<'_>, &'static str> {
    let (slice, _) = LaxIpv4Slice::from_slice(data).map_err(|_| "malformed IPv4 header")?;
    let h = slice.header();
    let payload = slice.payload();
    let fragment = h.is_fragmenting_payload().then(|| Fragment {
        id: u32::from(h.identification()),
        offset: h.fragments_offset().byte_offset(),
        more: h.more_fragments(),
    });
    Ok(IpPacket {
        src: IpAddr::from(h.source()),
        dst: IpAddr::from(h.destination()),
        version: 4,
        proto: h.protocol().0,
        ttl: h.ttl(),
        ip_len: u32::from(h.total_len()),
        payload_claimed: claimed(data, payload.payload, u32::from(h.total_len())),
        payload: payload.payload,
        fragment,
        truncated: payload.incomplete,
    })
}

/// IPv6 extension headers followed at most (a longer chain is treated as payload).
const MAX_V6_EXTENSIONS: usize = 16;

/// Parses an IPv6 header and walks its extension headers with checked reads.
///
/// Not etherparse's `LaxIpv6Slice` here: when its lax parse stops inside an extension chain
/// (a truncated header, Hop-by-Hop not first, a bad AH length), iterating the extensions it
/// returns reads out of bounds (etherparse 0.21; found by the `packet` fuzz target, see
/// `fuzz/regressions/packet/ipv6-*`).
fn parse_v6(data: &[u8]) -> Result<IpPacket<'_>, &'static str> {
    let h = data.get(..40).ok_or("malformed IPv6 header")?;
    let payload_length = u16::from_be_bytes([h[4], h[5]]);
    let mut next = h[6];
    let hop_limit = h[7];
    let mut src = [0u8; 16];
    src.copy_from_slice(&h[8..24]);
    let mut dst = [0u8; 16];
    dst.copy_from_slice(&h[24..40]);
    let claimed_end = 40 + usize::from(payload_length);
    let end = claimed_end.min(data.len());
    let mut at = 40usize;
    let mut fragment = None;
    for _ in 0..MAX_V6_EXTENSIONS {
        let header_len = match next {
            // Hop-by-Hop, Routing, Destination Options, Mobility, HIP, Shim6: 8-octet units
            // after the first eight.
            0 | 43 | 60 | 135 | 139 | 140 => match data.get(at + 1) {
                Some(len) => (usize::from(*len) + 1) * 8,
                None => break,
            },
            44 => {
                let Some(f) = data.get(at..at + 8) else {
                    break;
                };
                let bits = u16::from_be_bytes([f[2], f[3]]);
                let offset = bits & 0xfff8;
                let more = bits & 1 == 1;
                if offset != 0 || more {
                    fragment = Some(Fragment {
                        id: u32::from_be_bytes([f[4], f[5], f[6], f[7]]),
                        offset,
                        more,
                    });
                }
                8
            }
            // Authentication Header: 4-octet units after the first eight.
            51 => match data.get(at + 1) {
                Some(len) => (usize::from(*len) + 2) * 4,
                None => break,
            },
            _ => break,
        };
        if at + header_len > end {
            break;
        }
        let Some(n) = data.get(at) else {
            break;
        };
        next = *n;
        at += header_len;
        if fragment.is_some_and(|f: Fragment| f.offset != 0) {
            // A later fragment: what follows is the datagram's payload, not headers.
            break;
        }
    }
    let payload = data.get(at..end.max(at)).unwrap_or(&[]);
    Ok(IpPacket {
        src: IpAddr::from(src),
        dst: IpAddr::from(dst),
        version: 6,
        proto: next,
        ttl: hop_limit,
        ip_len: 40 + u32::from(payload_length),
        payload_claimed: claimed_end.saturating_sub(at).max(payload.len()),
        payload,
        fragment,
        truncated: data.len() < claimed_end,
    })
}

/// TCP flag bits.
pub mod tcp_flags {
    /// FIN.
    pub const FIN: u8 = 0x01;
    /// SYN.
    pub const SYN: u8 = 0x02;
    /// RST.
    pub const RST: u8 = 0x04;
    /// PSH.
    pub const PSH: u8 = 0x08;
    /// ACK.
    pub const ACK: u8 = 0x10;
    /// URG.
    pub const URG: u8 = 0x20;
}

/// A TCP segment.
#[derive(Clone, Copy, Debug)]
pub struct TcpSegment<'a> {
    /// Source port.
    pub sport: u16,
    /// Destination port.
    pub dport: u16,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgement number.
    pub ack: u32,
    /// Flags (see [`tcp_flags`]).
    pub flags: u8,
    /// Advertised window (unscaled).
    pub window: u16,
    /// Payload, as captured.
    pub payload: &'a [u8],
    /// Payload length on the wire (more than `payload.len()` when the capture cut it).
    pub len: u32,
}

impl TcpSegment<'_> {
    /// Whether all of `flag` is set.
    pub fn has(&self, flag: u8) -> bool {
        self.flags & flag == flag
    }
}

/// The transport layer of a packet.
#[derive(Clone, Copy, Debug)]
pub enum Transport<'a> {
    /// TCP.
    Tcp(TcpSegment<'a>),
    /// UDP.
    Udp {
        /// Source port.
        sport: u16,
        /// Destination port.
        dport: u16,
        /// Payload.
        payload: &'a [u8],
    },
    /// ICMP or ICMPv6.
    Icmp {
        /// ICMPv6 rather than ICMP.
        v6: bool,
        /// Type.
        kind: u8,
        /// Code.
        code: u8,
        /// Everything after type, code and checksum.
        payload: &'a [u8],
    },
    /// Any other protocol.
    Other {
        /// The IP payload.
        payload: &'a [u8],
    },
}

/// Parses the transport header of protocol `proto` at the start of `payload`.
pub fn parse_transport(proto: u8, payload: &[u8]) -> Result<Transport<'_>, &'static str> {
    match proto {
        proto::TCP => {
            let t = TcpSlice::from_slice(payload).map_err(|_| "malformed TCP header")?;
            let mut flags = 0u8;
            for (set, bit) in [
                (t.fin(), tcp_flags::FIN),
                (t.syn(), tcp_flags::SYN),
                (t.rst(), tcp_flags::RST),
                (t.psh(), tcp_flags::PSH),
                (t.ack(), tcp_flags::ACK),
                (t.urg(), tcp_flags::URG),
            ] {
                if set {
                    flags |= bit;
                }
            }
            Ok(Transport::Tcp(TcpSegment {
                sport: t.source_port(),
                dport: t.destination_port(),
                seq: t.sequence_number(),
                ack: t.acknowledgment_number(),
                flags,
                window: t.window_size(),
                payload: t.payload(),
                len: u32::try_from(t.payload().len()).unwrap_or(u32::MAX),
            }))
        }
        proto::UDP => {
            let u = UdpSlice::from_slice_lax(payload).map_err(|_| "malformed UDP header")?;
            Ok(Transport::Udp {
                sport: u.source_port(),
                dport: u.destination_port(),
                payload: u.payload(),
            })
        }
        proto::ICMP | proto::ICMPV6 => match payload {
            [kind, code, _, _, rest @ ..] => Ok(Transport::Icmp {
                v6: proto == proto::ICMPV6,
                kind: *kind,
                code: *code,
                payload: rest,
            }),
            _ => Err("truncated ICMP header"),
        },
        _ => Ok(Transport::Other { payload }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4_udp(total_len: u16, frag: u16) -> Vec<u8> {
        let mut p = vec![
            0x45, 0, 0, 0, 0x12, 0x34, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ];
        p[2..4].copy_from_slice(&total_len.to_be_bytes());
        p[6..8].copy_from_slice(&frag.to_be_bytes());
        p.extend_from_slice(&[
            0x30, 0x39, 0x00, 0x35, 0x00, 0x0c, 0, 0, b'a', b'b', b'c', b'd',
        ]);
        p
    }

    #[test]
    fn ipv4_udp() {
        let p = v4_udp(32, 0);
        let ip = parse_ip(&p).expect("parses");
        assert_eq!(ip.ip_len, 32);
        assert_eq!(ip.proto, proto::UDP);
        assert!(ip.fragment.is_none());
        match parse_transport(ip.proto, ip.payload).expect("udp") {
            Transport::Udp {
                sport,
                dport,
                payload,
            } => {
                assert_eq!((sport, dport), (12345, 53));
                assert_eq!(payload, b"abcd");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn ethernet_padding_is_trimmed_by_total_length() {
        let mut p = v4_udp(32, 0);
        p.extend_from_slice(&[0; 6]);
        let ip = parse_ip(&p).expect("parses");
        assert_eq!(ip.payload.len(), 12);
    }

    #[test]
    fn fragments_are_recognised() {
        let p = v4_udp(32, 0x2000 | 3);
        let ip = parse_ip(&p).expect("parses");
        assert_eq!(
            ip.fragment,
            Some(Fragment {
                id: 0x1234,
                offset: 24,
                more: true
            })
        );
    }

    /// The fuzzers' IPv6 crash (etherparse read past chains that end in an error): a
    /// Fragment header followed by a Hop-by-Hop header, truncated chains, a bad AH length.
    #[test]
    fn ipv6_extension_chains_cut_short_are_read_safely() {
        let v6 = |next: u8, ext: &[u8]| {
            let mut p = vec![0x60, 0, 0, 0, 0, 0, next, 64];
            p[4..6].copy_from_slice(&u16::try_from(ext.len()).expect("small").to_be_bytes());
            p.extend_from_slice(&[0; 32]);
            p.extend_from_slice(ext);
            p
        };
        // Fragment (first, more follow) then Hop-by-Hop, which must come first: stops there.
        let p = v6(44, &[0, 0, 0, 1, 0, 0, 0, 7, 17, 0]);
        let ip = parse_ip(&p).expect("parses");
        assert_eq!(ip.fragment.map(|f| f.id), Some(7));
        assert_eq!(ip.proto, 0);
        // A Hop-by-Hop header claiming more than the packet holds.
        let p = v6(0, &[17, 200, 0, 0]);
        let ip = parse_ip(&p).expect("parses");
        assert_eq!((ip.proto, ip.payload.len()), (0, 4));
        // An AH header with a length beyond the end, and a chain of nothing.
        for ext in [&[6u8, 255][..], &[][..], &[43][..]] {
            let p = v6(51, ext);
            assert!(parse_ip(&p).is_ok());
        }
        // A later fragment: its payload is data, not headers.
        let p = v6(44, &[0, 0, 0, 8, 0, 0, 0, 7, 0, 0, 0, 0]);
        let ip = parse_ip(&p).expect("parses");
        assert_eq!((ip.proto, ip.payload.len()), (0, 4));
    }

    #[test]
    fn truncated_and_bogus_headers_are_errors() {
        let p = v4_udp(32, 0);
        for n in 0..20 {
            assert!(parse_ip(&p[..n]).is_err(), "{n}");
        }
        assert!(parse_ip(&[0x75; 40]).is_err());
        assert!(parse_transport(proto::TCP, &[0; 10]).is_err());
        assert!(parse_transport(proto::ICMP, &[8]).is_err());
    }
}
