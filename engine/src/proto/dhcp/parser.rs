//! DHCP (BOOTP with options, RFC 2131/2132): the fields that name a device and its lease.

use std::net::Ipv4Addr;

/// The magic cookie before the options.
const COOKIE: [u8; 4] = [99, 130, 83, 99];
/// Options read at most.
const MAX_OPTIONS: usize = 255;

/// A DHCP message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// 1: request (from a client), 2: reply.
    pub op: u8,
    /// Transaction id.
    pub xid: u32,
    /// Client address (ciaddr).
    pub ciaddr: Ipv4Addr,
    /// Address offered or assigned (yiaddr).
    pub yiaddr: Ipv4Addr,
    /// Next server (siaddr).
    pub siaddr: Ipv4Addr,
    /// Relay agent (giaddr).
    pub giaddr: Ipv4Addr,
    /// Client hardware address (chaddr), when it is a 6-byte MAC.
    pub mac: Option<[u8; 6]>,
    /// Message type (option 53): 1 DISCOVER ... 8 INFORM.
    pub msg_type: Option<u8>,
    /// Host name (option 12).
    pub host_name: Option<Vec<u8>>,
    /// Client FQDN (option 81), the name part.
    pub client_fqdn: Option<Vec<u8>>,
    /// Domain name (option 15).
    pub domain: Option<Vec<u8>>,
    /// Requested address (option 50).
    pub requested_addr: Option<Ipv4Addr>,
    /// Lease time in seconds (option 51).
    pub lease_time: Option<u32>,
    /// Server identifier (option 54).
    pub server_id: Option<Ipv4Addr>,
    /// Parameter request list (option 55).
    pub params: Vec<u8>,
    /// Vendor class identifier (option 60), e.g. `android-dhcp-13`.
    pub vendor_class: Option<Vec<u8>>,
    /// Client identifier (option 61).
    pub client_id: Option<Vec<u8>>,
    /// Message (option 56).
    pub message: Option<Vec<u8>>,
    /// Router (option 3), first address.
    pub router: Option<Ipv4Addr>,
    /// DNS servers (option 6).
    pub dns_servers: Vec<Ipv4Addr>,
    /// Subnet mask (option 1).
    pub subnet_mask: Option<Ipv4Addr>,
    /// The options ended without an END option or ran past the packet.
    pub truncated: bool,
}

/// The name of a DHCP message type, as Zeek and Suricata print them.
pub fn msg_type_name(t: u8) -> &'static str {
    match t {
        1 => "DISCOVER",
        2 => "OFFER",
        3 => "REQUEST",
        4 => "DECLINE",
        5 => "ACK",
        6 => "NAK",
        7 => "RELEASE",
        8 => "INFORM",
        9 => "FORCERENEW",
        10 => "LEASEQUERY",
        11 => "LEASEUNASSIGNED",
        12 => "LEASEUNKNOWN",
        13 => "LEASEACTIVE",
        _ => "UNKNOWN",
    }
}

fn addr(b: &[u8], at: usize) -> Option<Ipv4Addr> {
    let s = b.get(at..at + 4)?;
    Some(Ipv4Addr::new(s[0], s[1], s[2], s[3]))
}

/// Parses a DHCP message; `None` if it is not one (too short, no magic cookie).
pub fn parse(b: &[u8]) -> Option<Message> {
    let op = *b.first()?;
    if op != 1 && op != 2 {
        return None;
    }
    if b.get(236..240)? != COOKIE {
        return None;
    }
    let hlen = *b.get(2)?;
    let mut m = Message {
        op,
        xid: u32::from_be_bytes(b.get(4..8)?.try_into().ok()?),
        ciaddr: addr(b, 12)?,
        yiaddr: addr(b, 16)?,
        siaddr: addr(b, 20)?,
        giaddr: addr(b, 24)?,
        mac: None,
        msg_type: None,
        host_name: None,
        client_fqdn: None,
        domain: None,
        requested_addr: None,
        lease_time: None,
        server_id: None,
        params: Vec::new(),
        vendor_class: None,
        client_id: None,
        message: None,
        router: None,
        dns_servers: Vec::new(),
        subnet_mask: None,
        truncated: false,
    };
    if hlen == 6 {
        let mut mac = [0u8; 6];
        mac.copy_from_slice(b.get(28..34)?);
        m.mac = Some(mac);
    }
    let mut at = 240;
    let mut ended = false;
    for _ in 0..MAX_OPTIONS {
        let Some(&code) = b.get(at) else {
            break;
        };
        match code {
            0 => {
                at += 1;
                continue;
            }
            255 => {
                ended = true;
                break;
            }
            _ => {}
        }
        let Some(&len) = b.get(at + 1) else {
            break;
        };
        let Some(v) = b.get(at + 2..at + 2 + usize::from(len)) else {
            break;
        };
        match code {
            1 => m.subnet_mask = addr(v, 0),
            3 => m.router = addr(v, 0),
            6 => {
                m.dns_servers = v
                    .chunks_exact(4)
                    .take(16)
                    .filter_map(|c| addr(c, 0))
                    .collect()
            }
            12 => m.host_name = Some(v.to_vec()),
            15 => m.domain = Some(v.to_vec()),
            50 => m.requested_addr = addr(v, 0),
            51 => {
                m.lease_time = v
                    .get(..4)
                    .and_then(|x| x.try_into().ok())
                    .map(u32::from_be_bytes)
            }
            53 => m.msg_type = v.first().copied(),
            54 => m.server_id = addr(v, 0),
            55 => m.params = v.to_vec(),
            56 => m.message = Some(v.to_vec()),
            60 => m.vendor_class = Some(v.to_vec()),
            61 => m.client_id = Some(v.to_vec()),
            81 => m.client_fqdn = v.get(3..).map(<[u8]>::to_vec),
            _ => {}
        }
        at += 2 + usize::from(len);
    }
    m.truncated = !ended;
    Some(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn discover() -> Vec<u8> {
        let mut b = vec![0u8; 240];
        b[0] = 1;
        b[1] = 1;
        b[2] = 6;
        b[4..8].copy_from_slice(&0xdead_beefu32.to_be_bytes());
        b[28..34].copy_from_slice(&[0xaa, 0xbb, 0xcc, 1, 2, 3]);
        b[236..240].copy_from_slice(&COOKIE);
        b.extend_from_slice(&[53, 1, 1]);
        b.extend_from_slice(&[12, 7]);
        b.extend_from_slice(b"Pixel-7");
        b.extend_from_slice(&[60, 15]);
        b.extend_from_slice(b"android-dhcp-14");
        b.extend_from_slice(&[50, 4, 192, 168, 1, 50]);
        b.extend_from_slice(&[55, 3, 1, 3, 6, 255]);
        b
    }

    #[test]
    fn parses_a_discover() {
        let m = parse(&discover()).expect("dhcp");
        assert_eq!(m.xid, 0xdead_beef);
        assert_eq!(m.mac, Some([0xaa, 0xbb, 0xcc, 1, 2, 3]));
        assert_eq!(m.msg_type, Some(1));
        assert_eq!(m.host_name.as_deref(), Some(&b"Pixel-7"[..]));
        assert_eq!(m.vendor_class.as_deref(), Some(&b"android-dhcp-14"[..]));
        assert_eq!(m.requested_addr, Some(Ipv4Addr::new(192, 168, 1, 50)));
        assert_eq!(m.params, vec![1, 3, 6]);
        assert!(!m.truncated);
    }

    #[test]
    fn truncation_and_garbage() {
        let d = discover();
        for n in 0..d.len() {
            let _ = parse(&d[..n]);
        }
        assert!(parse(&[0u8; 300]).is_none());
        let mut long_opt = d[..240].to_vec();
        long_opt.extend_from_slice(&[12, 200, b'x']);
        assert!(parse(&long_opt).expect("header ok").truncated);
    }
}
