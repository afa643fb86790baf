//! Community ID flow hashing (version 1), as Zeek's package and Suricata print it: a flow's
//! addresses, ports and protocol, ordered so both directions agree, hashed with a seed.
//! See <https://github.com/corelight/community-id-spec>.

use base64::Engine as _;
use sha1::{Digest, Sha1};

use crate::event::FlowId;

/// The Community ID of `flow` with `seed` (`1:` and the base-64 SHA-1).
pub fn community_id(flow: &FlowId, seed: u16) -> String {
    let (a, b) = (flow.orig, flow.resp);
    // ICMP: the ports are the type and the code or the counterpart type, as the spec maps.
    let ordered = (a.addr, a.port) <= (b.addr, b.port);
    let (src, dst) = if ordered { (a, b) } else { (b, a) };
    let mut h = Sha1::new();
    h.update(seed.to_be_bytes());
    match (src.addr, dst.addr) {
        (std::net::IpAddr::V4(s), std::net::IpAddr::V4(d)) => {
            h.update(s.octets());
            h.update(d.octets());
        }
        (s, d) => {
            h.update(v6(s));
            h.update(v6(d));
        }
    }
    h.update([flow.proto, 0]);
    if matches!(flow.proto, 6 | 17 | 132 | 1 | 58) {
        h.update(src.port.to_be_bytes());
        h.update(dst.port.to_be_bytes());
    }
    format!(
        "1:{}",
        base64::engine::general_purpose::STANDARD.encode(h.finalize())
    )
}

fn v6(a: std::net::IpAddr) -> [u8; 16] {
    match a {
        std::net::IpAddr::V4(v) => v.to_ipv6_mapped().octets(),
        std::net::IpAddr::V6(v) => v.octets(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::key::Endpoint;

    fn flow(o: (&str, u16), r: (&str, u16), proto: u8) -> FlowId {
        FlowId {
            id: 1,
            orig: Endpoint {
                addr: o.0.parse().expect("ip"),
                port: o.1,
            },
            resp: Endpoint {
                addr: r.0.parse().expect("ip"),
                port: r.1,
            },
            proto,
            vlan: [0; 3],
            macs: [None, None],
        }
    }

    #[test]
    fn matches_the_reference_vectors() {
        // From the spec's baseline (tcp.pcap, seed 0): 128.232.110.120:34855 -> 66.35.250.204:80.
        let f = flow(("128.232.110.120", 34855), ("66.35.250.204", 80), 6);
        assert_eq!(community_id(&f, 0), "1:LQU9qZlK+B5F3KDmev6m5PMibrg=");
        let back = flow(("66.35.250.204", 80), ("128.232.110.120", 34855), 6);
        assert_eq!(community_id(&back, 0), community_id(&f, 0));
    }
}
