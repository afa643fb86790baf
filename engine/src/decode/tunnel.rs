//! Tunnels: IPv4/IPv6 in IP (protocols 4 and 41) and GRE (version 0, carrying IP or Ethernet).
//! The engine analyses the innermost flow, like Zeek and Suricata do.

use super::ip::{proto, IpPacket};
use super::link::{decode_link, LinkOutcome};
use crate::source::LinkType;

/// How deep tunnels may nest before a packet is given up on.
pub const MAX_TUNNEL_DEPTH: usize = 3;

/// What an IP packet's payload holds, tunnel-wise.
#[derive(Debug, PartialEq, Eq)]
pub enum Inner {
    /// Not a tunnel.
    None,
    /// An inner IP packet starts at this offset of the outer IP payload.
    Ip(usize),
    /// A tunnel, but its content cannot be analysed (the reason says why).
    Opaque(&'static str),
}

const GRE_CHECKSUM: u16 = 0x8000;
const GRE_KEY: u16 = 0x2000;
const GRE_SEQUENCE: u16 = 0x1000;
const GRE_VERSION: u16 = 0x0007;

/// Where the inner packet of a tunnel starts, if `ip` is one.
pub fn inner(ip: &IpPacket<'_>) -> Inner {
    match ip.proto {
        proto::IPIP | proto::IPV6 if ip.fragment.is_none() => Inner::Ip(0),
        proto::GRE if ip.fragment.is_none() => gre(ip.payload),
        _ => Inner::None,
    }
}

fn gre(p: &[u8]) -> Inner {
    let (Some(flags), Some(ptype)) = (be16(p, 0), be16(p, 2)) else {
        return Inner::Opaque("truncated GRE header");
    };
    if flags & GRE_VERSION != 0 {
        return Inner::Opaque("GRE version 1 (PPTP) is not decoded");
    }
    let mut offset = 4;
    for bit in [GRE_CHECKSUM, GRE_KEY, GRE_SEQUENCE] {
        if flags & bit != 0 {
            offset += 4;
        }
    }
    let Some(rest) = p.get(offset..) else {
        return Inner::Opaque("truncated GRE header");
    };
    match ptype {
        0x0800 | 0x86dd => Inner::Ip(offset),
        0x6558 => match decode_link(LinkType::ETHERNET, rest) {
            LinkOutcome::Ip { offset: eth, .. } => Inner::Ip(offset + eth),
            _ => Inner::Opaque("GRE-carried Ethernet frame without IP"),
        },
        0x880b => match ppp(rest) {
            Some(at) => Inner::Ip(offset + at),
            None => Inner::Opaque("GRE-carried PPP frame without IP"),
        },
        _ => Inner::Opaque("GRE payload is not IP"),
    }
}

/// Where IP starts in a PPP frame (as enhanced GRE carries it): an optional `FF 03`
/// address and control, then a one- or two-byte protocol number.
fn ppp(p: &[u8]) -> Option<usize> {
    let mut at = if p.starts_with(&[0xff, 0x03]) { 2 } else { 0 };
    let first = *p.get(at)?;
    let proto = if first & 1 == 1 {
        // Protocol field compression: a single odd byte.
        at += 1;
        u16::from(first)
    } else {
        let v = be16(p, at)?;
        at += 2;
        v
    };
    matches!(proto, 0x0021 | 0x0057).then_some(at)
}

fn be16(p: &[u8], at: usize) -> Option<u16> {
    let b = p.get(at..at + 2)?;
    Some(u16::from_be_bytes([b[0], b[1]]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::ip::parse_ip;

    fn outer(proto: u8, payload: &[u8]) -> Vec<u8> {
        let total = u16::try_from(20 + payload.len()).expect("small");
        let mut p = vec![
            0x45, 0, 0, 0, 0, 0, 0, 0, 64, proto, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2,
        ];
        p[2..4].copy_from_slice(&total.to_be_bytes());
        p.extend_from_slice(payload);
        p
    }

    #[test]
    fn gre_with_key_carrying_ipv4() {
        let p = outer(47, &[0x20, 0, 0x08, 0, 0, 0, 0, 1, 0x45]);
        let ip = parse_ip(&p).expect("ip");
        assert_eq!(inner(&ip), Inner::Ip(8));
    }

    #[test]
    fn gre_carrying_ppp() {
        let p = outer(47, &[0, 0, 0x88, 0x0b, 0xff, 0x03, 0x00, 0x21, 0x45]);
        assert_eq!(inner(&parse_ip(&p).expect("ip")), Inner::Ip(8));
        let p = outer(47, &[0, 0, 0x88, 0x0b, 0x21, 0x45]);
        assert_eq!(inner(&parse_ip(&p).expect("ip")), Inner::Ip(5));
        let p = outer(47, &[0, 0, 0x88, 0x0b, 0xc0, 0x21]);
        assert!(matches!(
            inner(&parse_ip(&p).expect("ip")),
            Inner::Opaque(_)
        ));
    }

    #[test]
    fn ip_in_ip_and_non_tunnels() {
        let p = outer(4, &[0x45]);
        assert_eq!(inner(&parse_ip(&p).expect("ip")), Inner::Ip(0));
        let p = outer(17, &[0; 8]);
        assert_eq!(inner(&parse_ip(&p).expect("ip")), Inner::None);
        let p = outer(47, &[0]);
        assert!(matches!(
            inner(&parse_ip(&p).expect("ip")),
            Inner::Opaque(_)
        ));
    }
}
