//! Capture formats and link layers: the same packets written as big-endian pcap, nanosecond
//! pcap, pcapng (with several interfaces of different link types), Linux cooked captures
//! (SLL, SLL2), raw IP, BSD loopback and 802.1Q/QinQ-tagged Ethernet must give the same
//! connections as the original Ethernet pcap.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use std::ffi::OsStr;
use std::path::Path;

use common::{json_lines, run_ok, shared, tempdir};

/// (seconds, microseconds, frame) of a little-endian microsecond Ethernet pcap.
fn read_pcap(path: &Path) -> Vec<(u32, u32, Vec<u8>)> {
    let d = std::fs::read(path).expect("read");
    assert_eq!(
        &d[..4],
        &[0xd4, 0xc3, 0xb2, 0xa1],
        "fixture must be LE µs pcap"
    );
    assert_eq!(u32::from_le_bytes(d[20..24].try_into().unwrap()), 1);
    let mut out = Vec::new();
    let mut at = 24;
    while at + 16 <= d.len() {
        let f = |o: usize| u32::from_le_bytes(d[at + o..at + o + 4].try_into().unwrap());
        let (s, us, caplen) = (f(0), f(4), f(8) as usize);
        out.push((s, us, d[at + 16..at + 16 + caplen].to_vec()));
        at += 16 + caplen;
    }
    out
}

fn pcap(big_endian: bool, nanos: bool, link: u32, packets: &[(u32, u32, Vec<u8>)]) -> Vec<u8> {
    let w32 = |v: u32| {
        if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let w16 = |v: u16| {
        if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let mut out = Vec::new();
    out.extend_from_slice(&w32(if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 }));
    out.extend_from_slice(&w16(2));
    out.extend_from_slice(&w16(4));
    out.extend_from_slice(&w32(0));
    out.extend_from_slice(&w32(0));
    out.extend_from_slice(&w32(262_144));
    out.extend_from_slice(&w32(link));
    for (s, us, frame) in packets {
        out.extend_from_slice(&w32(*s));
        out.extend_from_slice(&w32(if nanos { us * 1000 } else { *us }));
        out.extend_from_slice(&w32(frame.len() as u32));
        out.extend_from_slice(&w32(frame.len() as u32));
        out.extend_from_slice(frame);
    }
    out
}

/// A pcapng with two interfaces: even packets as Ethernet on interface 0 (µs), odd packets
/// as raw IP on interface 1 (ns resolution).
fn pcapng_two_interfaces(packets: &[(u32, u32, Vec<u8>)]) -> Vec<u8> {
    fn block(out: &mut Vec<u8>, kind: u32, body: &[u8]) {
        let pad = (4 - body.len() % 4) % 4;
        let len = (12 + body.len() + pad) as u32;
        out.extend_from_slice(&kind.to_le_bytes());
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(body);
        out.extend(std::iter::repeat_n(0u8, pad));
        out.extend_from_slice(&len.to_le_bytes());
    }
    let mut out = Vec::new();
    let mut shb = Vec::new();
    shb.extend_from_slice(&0x1a2b_3c4du32.to_le_bytes());
    shb.extend_from_slice(&1u16.to_le_bytes());
    shb.extend_from_slice(&0u16.to_le_bytes());
    shb.extend_from_slice(&(-1i64).to_le_bytes());
    block(&mut out, 0x0a0d_0d0a, &shb);
    // Interface 0: Ethernet, default µs resolution.
    let mut idb = Vec::new();
    idb.extend_from_slice(&1u16.to_le_bytes());
    idb.extend_from_slice(&0u16.to_le_bytes());
    idb.extend_from_slice(&262_144u32.to_le_bytes());
    block(&mut out, 1, &idb);
    // Interface 1: raw IP, if_tsresol = 9 (ns).
    let mut idb = Vec::new();
    idb.extend_from_slice(&101u16.to_le_bytes());
    idb.extend_from_slice(&0u16.to_le_bytes());
    idb.extend_from_slice(&262_144u32.to_le_bytes());
    idb.extend_from_slice(&9u16.to_le_bytes());
    idb.extend_from_slice(&1u16.to_le_bytes());
    idb.extend_from_slice(&[9, 0, 0, 0]);
    idb.extend_from_slice(&[0, 0, 0, 0]);
    block(&mut out, 1, &idb);
    for (i, (s, us, frame)) in packets.iter().enumerate() {
        let (iface, ts, data): (u32, u64, &[u8]) = if i % 2 == 0 {
            (0, u64::from(*s) * 1_000_000 + u64::from(*us), frame)
        } else {
            (
                1,
                u64::from(*s) * 1_000_000_000 + u64::from(*us) * 1000,
                &frame[14..],
            )
        };
        let mut epb = Vec::new();
        epb.extend_from_slice(&iface.to_le_bytes());
        epb.extend_from_slice(&((ts >> 32) as u32).to_le_bytes());
        epb.extend_from_slice(&(ts as u32).to_le_bytes());
        epb.extend_from_slice(&(data.len() as u32).to_le_bytes());
        epb.extend_from_slice(&(data.len() as u32).to_le_bytes());
        epb.extend_from_slice(data);
        epb.extend(std::iter::repeat_n(0u8, (4 - data.len() % 4) % 4));
        block(&mut out, 6, &epb);
    }
    out
}

/// Rewrites every Ethernet frame with `f`.
fn relink(
    packets: &[(u32, u32, Vec<u8>)],
    f: impl Fn(&[u8]) -> Vec<u8>,
) -> Vec<(u32, u32, Vec<u8>)> {
    packets.iter().map(|(s, us, fr)| (*s, *us, f(fr))).collect()
}

fn ethertype(fr: &[u8]) -> [u8; 2] {
    [fr[12], fr[13]]
}

/// The connections of a capture: (5-tuple, packets, IP bytes), sorted.
fn conns(capture: &Path, dir: &Path) -> Vec<String> {
    let logs = dir.join(format!(
        "logs-{}",
        capture.file_name().and_then(|n| n.to_str()).unwrap()
    ));
    run_ok(&[
        OsStr::new("analyze"),
        capture.as_os_str(),
        OsStr::new("--logs"),
        logs.as_os_str(),
    ]);
    let mut rows: Vec<String> = json_lines(&logs.join("conn.log"))
        .iter()
        .map(|c| {
            format!(
                "{} {}:{} {}:{} {} {} {} {} {} {}",
                c["proto"],
                c["id.orig_h"],
                c["id.orig_p"],
                c["id.resp_h"],
                c["id.resp_p"],
                c["orig_pkts"],
                c["orig_ip_bytes"],
                c["resp_pkts"],
                c["resp_ip_bytes"],
                c["history"],
                c["service"]
            )
        })
        .collect();
    rows.sort();
    rows
}

#[test]
fn every_format_and_link_layer_gives_the_same_connections() {
    let src = shared().join("oracle/zeek/traces/wikipedia.pcap");
    let packets = read_pcap(&src);
    // Only IP frames: the other encapsulations cannot carry ARP and friends.
    let ip: Vec<_> = packets
        .into_iter()
        .filter(|(_, _, f)| matches!(ethertype(f), [0x08, 0x00] | [0x86, 0xdd]))
        .collect();
    let dir = tempdir("formats");
    let write = |name: &str, bytes: Vec<u8>| {
        let p = dir.join(name);
        std::fs::write(&p, bytes).expect("write");
        p
    };
    let reference = conns(&write("ref.pcap", pcap(false, false, 1, &ip)), &dir);
    assert!(reference.len() > 20);

    let sll = relink(&ip, |fr| {
        let mut v = vec![0, 0, 0, 1, 0, 6];
        v.extend_from_slice(&fr[6..12]);
        v.extend_from_slice(&[0, 0]);
        v.extend_from_slice(&ethertype(fr));
        v.extend_from_slice(&fr[14..]);
        v
    });
    let sll2 = relink(&ip, |fr| {
        let mut v = ethertype(fr).to_vec();
        v.extend_from_slice(&[0, 0, 0, 0, 0, 2, 0, 1, 0, 6]);
        v.extend_from_slice(&fr[6..12]);
        v.extend_from_slice(&[0, 0]);
        v.extend_from_slice(&fr[14..]);
        v
    });
    let raw = relink(&ip, |fr| fr[14..].to_vec());
    let null = relink(&ip, |fr| {
        let family: u32 = if ethertype(fr) == [0x08, 0x00] { 2 } else { 30 };
        let mut v = family.to_le_bytes().to_vec();
        v.extend_from_slice(&fr[14..]);
        v
    });
    let qinq = relink(&ip, |fr| {
        let mut v = fr[..12].to_vec();
        v.extend_from_slice(&[0x88, 0xa8, 0x00, 0x64, 0x81, 0x00, 0x00, 0xc8]);
        v.extend_from_slice(&fr[12..]);
        v
    });
    // Tunnels: every IP packet carried in GRE, or in IP-in-IP, over an outer IPv4 header.
    let outer = |proto: u8, inner: &[u8], gre: Option<[u8; 2]>| {
        let body_len = inner.len() + if gre.is_some() { 4 } else { 0 };
        let total = (20 + body_len) as u16;
        let mut v = vec![0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x08, 0x00];
        v.extend_from_slice(&[
            0x45, 0, 0, 0, 0, 0, 0, 0, 64, proto, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2,
        ]);
        v[16..18].copy_from_slice(&total.to_be_bytes());
        if let Some(t) = gre {
            v.extend_from_slice(&[0, 0, t[0], t[1]]);
        }
        v.extend_from_slice(inner);
        v
    };
    let gre = relink(&ip, |fr| outer(47, &fr[14..], Some(ethertype(fr))));
    let ipip = relink(&ip, |fr| {
        outer(
            if ethertype(fr) == [0x08, 0x00] { 4 } else { 41 },
            &fr[14..],
            None,
        )
    });
    // Fragments: IPv4 packets with more than 64 bytes of payload cut into 24-byte pieces,
    // sent last first.
    let mut fragmented = Vec::new();
    for (s, us, fr) in &ip {
        let ihl = usize::from(fr[14] & 0x0f) * 4;
        if ethertype(fr) != [0x08, 0x00] || fr.len() < 14 + ihl + 64 {
            fragmented.push((*s, *us, fr.clone()));
            continue;
        }
        let header = &fr[14..14 + 20];
        let total = usize::from(u16::from_be_bytes([fr[16], fr[17]]));
        let payload = &fr[14 + ihl..14 + total];
        let pieces: Vec<&[u8]> = payload.chunks(24).collect();
        for (i, piece) in pieces.iter().enumerate().rev() {
            let mut v = fr[..14].to_vec();
            let mut h = header.to_vec();
            h[0] = 0x45;
            h[2..4].copy_from_slice(&((20 + piece.len()) as u16).to_be_bytes());
            let more = if i + 1 < pieces.len() { 0x2000 } else { 0 };
            h[6..8].copy_from_slice(&((i * 3) as u16 | more).to_be_bytes());
            v.extend_from_slice(&h);
            v.extend_from_slice(piece);
            fragmented.push((*s, *us, v));
        }
    }
    let variants = [
        ("gre.pcap", pcap(false, false, 1, &gre)),
        ("ipip.pcap", pcap(false, false, 1, &ipip)),
        ("fragments.pcap", pcap(false, false, 1, &fragmented)),
        ("be.pcap", pcap(true, false, 1, &ip)),
        ("ns.pcap", pcap(false, true, 1, &ip)),
        ("be-ns.pcap", pcap(true, true, 1, &ip)),
        ("two-ifaces.pcapng", pcapng_two_interfaces(&ip)),
        ("sll.pcap", pcap(false, false, 113, &sll)),
        ("sll2.pcap", pcap(false, false, 276, &sll2)),
        ("raw.pcap", pcap(false, false, 101, &raw)),
        ("null.pcap", pcap(false, false, 0, &null)),
        ("qinq.pcap", pcap(false, false, 1, &qinq)),
    ];
    for (name, bytes) in variants {
        let got = conns(&write(name, bytes), &dir);
        assert_eq!(got, reference, "{name}");
    }
}
