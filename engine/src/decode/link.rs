//! Link layers: Ethernet (with 802.1Q/802.1ad tags and PPPoE), Linux cooked captures (SLL and
//! SLL2), BSD null/loopback and raw IP. They are a few fixed-size headers, parsed here with
//! bounds checks; everything from the IP header on is parsed with `etherparse`.

use crate::source::LinkType;

/// Ethernet type of IPv4.
pub const ETHERTYPE_IPV4: u16 = 0x0800;
/// Ethernet type of IPv6.
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
const ETHERTYPE_VLAN: u16 = 0x8100;
const ETHERTYPE_QINQ: u16 = 0x88a8;
const ETHERTYPE_QINQ_OLD: u16 = 0x9100;
const ETHERTYPE_PPPOE_SESSION: u16 = 0x8864;

/// The most VLAN tags we unwrap before giving up on a frame.
const MAX_VLAN_TAGS: usize = 4;

/// Layer-2 facts kept for logs (DHCP needs the client's MAC).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct L2Info {
    /// Source MAC address (Ethernet only).
    pub src_mac: Option<[u8; 6]>,
    /// Destination MAC address (Ethernet only).
    pub dst_mac: Option<[u8; 6]>,
    /// Outer and inner VLAN ids, 0 when absent.
    pub vlan: [u16; 3],
}

/// What the link layer holds.
#[derive(Debug, PartialEq, Eq)]
pub enum LinkOutcome {
    /// An IP packet starts at this offset of the frame.
    Ip {
        /// Offset of the IP header in the frame.
        offset: usize,
        /// Layer-2 facts.
        l2: L2Info,
    },
    /// Not IP (ARP, LLDP, ...): counted, not analysed.
    NotIp {
        /// The Ethernet type (or the link's protocol number).
        ethertype: u16,
    },
    /// The frame cannot be decoded; the reason names what is wrong.
    Malformed(&'static str),
    /// A link type the engine does not decode.
    Unsupported(LinkType),
}

fn be16(data: &[u8], at: usize) -> Option<u16> {
    let b = data.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([b[0], b[1]]))
}

fn mac(data: &[u8], at: usize) -> Option<[u8; 6]> {
    let b = data.get(at..at.checked_add(6)?)?;
    let mut m = [0u8; 6];
    m.copy_from_slice(b);
    Some(m)
}

/// Where a packet's IP header is, given its link type and bytes.
pub fn decode_link(link: LinkType, data: &[u8]) -> LinkOutcome {
    match link {
        LinkType::ETHERNET => ethernet(data),
        LinkType::RAW
        | LinkType::RAW_ALT
        | LinkType::RAW_ALT2
        | LinkType::IPV4
        | LinkType::IPV6 => raw(data, 0, L2Info::default()),
        LinkType::NULL | LinkType::LOOP => null(data, link == LinkType::LOOP),
        LinkType::LINUX_SLL => match be16(data, 14) {
            Some(proto) => by_ethertype(data, 16, proto, L2Info::default()),
            None => LinkOutcome::Malformed("truncated Linux cooked (SLL) header"),
        },
        LinkType::LINUX_SLL2 => match (be16(data, 0), data.len() >= 20) {
            (Some(proto), true) => by_ethertype(data, 20, proto, L2Info::default()),
            _ => LinkOutcome::Malformed("truncated Linux cooked (SLL2) header"),
        },
        other => LinkOutcome::Unsupported(other),
    }
}

fn raw(data: &[u8], offset: usize, l2: L2Info) -> LinkOutcome {
    match data.get(offset).map(|b| b >> 4) {
        Some(4) | Some(6) => LinkOutcome::Ip { offset, l2 },
        Some(_) => LinkOutcome::Malformed("raw packet is neither IPv4 nor IPv6"),
        None => LinkOutcome::Malformed("empty packet"),
    }
}

fn null(data: &[u8], network_order: bool) -> LinkOutcome {
    let Some(b) = data.get(..4) else {
        return LinkOutcome::Malformed("truncated loopback header");
    };
    let raw_family = [b[0], b[1], b[2], b[3]];
    // DLT_NULL is in the capturing host's byte order, which the file does not record:
    // accept either order (families are small numbers).
    let family = if network_order {
        u32::from_be_bytes(raw_family)
    } else {
        let le = u32::from_le_bytes(raw_family);
        if le > 0xffff {
            u32::from_be_bytes(raw_family)
        } else {
            le
        }
    };
    match family {
        2 => raw(data, 4, L2Info::default()),
        // AF_INET6 is 10 (Linux), 24 (NetBSD/OpenBSD), 28 (FreeBSD), 30 (macOS)
        10 | 24 | 28 | 30 => raw(data, 4, L2Info::default()),
        other => LinkOutcome::NotIp {
            ethertype: u16::try_from(other).unwrap_or(u16::MAX),
        },
    }
}

fn ethernet(data: &[u8]) -> LinkOutcome {
    let (Some(dst), Some(src), Some(ethertype)) = (mac(data, 0), mac(data, 6), be16(data, 12))
    else {
        return LinkOutcome::Malformed("truncated Ethernet header");
    };
    let l2 = L2Info {
        src_mac: Some(src),
        dst_mac: Some(dst),
        vlan: [0, 0, 0],
    };
    by_ethertype(data, 14, ethertype, l2)
}

/// Follows VLAN tags and PPPoE from `offset`, where a payload of type `ethertype` starts.
fn by_ethertype(data: &[u8], mut offset: usize, mut ethertype: u16, mut l2: L2Info) -> LinkOutcome {
    let mut tags = 0usize;
    loop {
        match ethertype {
            ETHERTYPE_IPV4 | ETHERTYPE_IPV6 => return raw(data, offset, l2),
            ETHERTYPE_VLAN | ETHERTYPE_QINQ | ETHERTYPE_QINQ_OLD => {
                let (Some(tci), Some(next)) = (be16(data, offset), be16(data, offset + 2)) else {
                    return LinkOutcome::Malformed("truncated 802.1Q tag");
                };
                if tags >= MAX_VLAN_TAGS {
                    return LinkOutcome::Malformed("too many stacked VLAN tags");
                }
                if let Some(slot) = l2.vlan.get_mut(tags) {
                    *slot = tci & 0x0fff;
                }
                tags += 1;
                offset += 4;
                ethertype = next;
            }
            ETHERTYPE_PPPOE_SESSION => {
                // 6-byte PPPoE header, then a 2-byte PPP protocol number.
                let Some(ppp) = be16(data, offset + 6) else {
                    return LinkOutcome::Malformed("truncated PPPoE header");
                };
                offset += 8;
                ethertype = match ppp {
                    0x0021 => ETHERTYPE_IPV4,
                    0x0057 => ETHERTYPE_IPV6,
                    other => return LinkOutcome::NotIp { ethertype: other },
                };
            }
            other => return LinkOutcome::NotIp { ethertype: other },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eth(ethertype: u16, rest: &[u8]) -> Vec<u8> {
        let mut v = vec![1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
        v.extend_from_slice(&ethertype.to_be_bytes());
        v.extend_from_slice(rest);
        v
    }

    #[test]
    fn ethernet_ipv4() {
        let f = eth(ETHERTYPE_IPV4, &[0x45, 0]);
        match decode_link(LinkType::ETHERNET, &f) {
            LinkOutcome::Ip { offset, l2 } => {
                assert_eq!(offset, 14);
                assert_eq!(l2.src_mac, Some([7, 8, 9, 10, 11, 12]));
                assert_eq!(l2.dst_mac, Some([1, 2, 3, 4, 5, 6]));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn qinq_tags_are_unwrapped_and_recorded() {
        let f = eth(
            ETHERTYPE_QINQ,
            &[0x00, 0x64, 0x81, 0x00, 0x00, 0xc8, 0x86, 0xdd, 0x60],
        );
        match decode_link(LinkType::ETHERNET, &f) {
            LinkOutcome::Ip { offset, l2 } => {
                assert_eq!(offset, 22);
                assert_eq!(l2.vlan, [100, 200, 0]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn endless_vlan_tags_are_refused() {
        let mut rest = Vec::new();
        for _ in 0..10 {
            rest.extend_from_slice(&[0, 1, 0x81, 0x00]);
        }
        let f = eth(ETHERTYPE_VLAN, &rest);
        assert!(matches!(
            decode_link(LinkType::ETHERNET, &f),
            LinkOutcome::Malformed(_)
        ));
    }

    #[test]
    fn sll_and_sll2() {
        let mut sll = vec![0u8; 14];
        sll.extend_from_slice(&[0x08, 0x00, 0x45]);
        assert!(matches!(
            decode_link(LinkType::LINUX_SLL, &sll),
            LinkOutcome::Ip { offset: 16, .. }
        ));
        let mut sll2 = vec![0x86, 0xdd];
        sll2.extend_from_slice(&[0u8; 18]);
        sll2.push(0x60);
        assert!(matches!(
            decode_link(LinkType::LINUX_SLL2, &sll2),
            LinkOutcome::Ip { offset: 20, .. }
        ));
        assert!(matches!(
            decode_link(LinkType::LINUX_SLL2, &[0x86]),
            LinkOutcome::Malformed(_)
        ));
    }

    #[test]
    fn null_loopback_in_either_byte_order() {
        assert!(matches!(
            decode_link(LinkType::NULL, &[2, 0, 0, 0, 0x45]),
            LinkOutcome::Ip { offset: 4, .. }
        ));
        assert!(matches!(
            decode_link(LinkType::NULL, &[0, 0, 0, 30, 0x60]),
            LinkOutcome::Ip { offset: 4, .. }
        ));
        assert!(matches!(
            decode_link(LinkType::LOOP, &[0, 0, 0, 2, 0x45]),
            LinkOutcome::Ip { offset: 4, .. }
        ));
    }

    #[test]
    fn truncated_frames_are_malformed_not_panics() {
        for n in 0..14 {
            let f = vec![0u8; n];
            assert!(matches!(
                decode_link(LinkType::ETHERNET, &f),
                LinkOutcome::Malformed(_)
            ));
        }
        assert!(matches!(
            decode_link(LinkType(9999), &[]),
            LinkOutcome::Unsupported(_)
        ));
    }
}
