//! Micro-benchmarks of the hot parsers, on inputs taken from real captures.
//!
//! The inputs are read once at start from the pcaps of the shared material (`../../shared`
//! from this crate, or `$TCHECK_SHARED`): Zeek's regression traces and suricata-verify's
//! tests, read with the engine's own reader and decoders, so every benchmark runs on bytes
//! that were on a real wire:
//!
//! - `dns/parse`: every DNS message (UDP port 53 or 5353) of the DNS traces and tests.
//! - `tls/*`: every ClientHello of the TLS traces and tests that fits one segment: parsed;
//!   JA3 and JA4 alone from a parsed hello; and parse + JA3 + JA4, as the engine does.
//! - `http/request_head`: every request head of the HTTP traces that fits one segment.
//! - `quic/initial_*`: the first client Initial packet of each QUIC connection (the ones the
//!   keys derived from their own DCID decrypt), with and without the key derivation that
//!   precedes the first decryption of a connection.
//! - `decode/link+ip+transport`: every packet of every pcap (not pcapng) of both sets through
//!   the link, IP and transport decoders.
//!
//! Throughput is in input bytes (criterion prints it as MiB/s or GiB/s).
//! Run: `cargo bench -p tcheck-engine --bench parsers`.

// A benchmark with no inputs would measure nothing: missing traces stop it with a message.
#![allow(clippy::expect_used)]

use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use tcheck_engine::decode::{decode_link, parse_ip, parse_transport, LinkOutcome, Transport};
use tcheck_engine::proto::quic::parser::{InitialKeys, PacketType};
use tcheck_engine::proto::{dns, http, quic, tls};
use tcheck_engine::source::{FileSource, LinkType, PacketSource};

/// One captured frame.
struct Frame {
    link: LinkType,
    data: Vec<u8>,
}

/// The transport payload of a frame, with its protocol and ports.
struct Payload {
    tcp: bool,
    sport: u16,
    dport: u16,
    data: Vec<u8>,
}

fn shared() -> PathBuf {
    std::env::var_os("TCHECK_SHARED").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared"),
        PathBuf::from,
    )
}

/// Zeek's traces.
const ZEEK: &str = "oracle/zeek/traces";
/// Suricata-verify's tests.
const SV: &str = "suricata-verify/tests";

/// Every `.pcap` under `rel` (a folder or a file, relative to the shared folder), sorted.
fn captures(rel: &str) -> Vec<PathBuf> {
    let root = shared().join(rel);
    let mut out = Vec::new();
    let mut todo = vec![root.clone()];
    while let Some(p) = todo.pop() {
        if p.is_file() {
            if p.extension().is_some_and(|x| x == "pcap") {
                out.push(p);
            }
            continue;
        }
        match std::fs::read_dir(&p) {
            Ok(rd) => todo.extend(rd.filter_map(|e| e.ok().map(|e| e.path()))),
            Err(e) => eprintln!(
                "{}: {e} (set TCHECK_SHARED to the shared folder)",
                p.display()
            ),
        }
    }
    out.sort();
    out
}

/// The captures under each of `rels`, joined.
fn all(rels: &[&str]) -> Vec<PathBuf> {
    rels.iter().flat_map(|r| captures(r)).collect()
}

fn frames(paths: &[PathBuf]) -> Vec<Frame> {
    let mut out = Vec::new();
    for path in paths {
        let mut src = FileSource::open(path).expect("a capture of the shared traces opens");
        let mut buf = Vec::new();
        while let Ok(Some(meta)) = src.read_packet(&mut buf) {
            out.push(Frame {
                link: meta.link,
                data: std::mem::take(&mut buf),
            });
        }
    }
    out
}

/// The decoders under test, as the reader stage chains them.
fn decode(f: &Frame) -> Option<Transport<'_>> {
    let LinkOutcome::Ip { offset, .. } = decode_link(f.link, &f.data) else {
        return None;
    };
    let ip = parse_ip(f.data.get(offset..)?).ok()?;
    if ip.fragment.is_some() {
        return None;
    }
    parse_transport(ip.proto, ip.payload).ok()
}

fn payloads(frames: &[Frame]) -> Vec<Payload> {
    frames
        .iter()
        .filter_map(|f| match decode(f)? {
            Transport::Tcp(t) if !t.payload.is_empty() => Some(Payload {
                tcp: true,
                sport: t.sport,
                dport: t.dport,
                data: t.payload.to_vec(),
            }),
            Transport::Udp {
                sport,
                dport,
                payload,
            } if !payload.is_empty() => Some(Payload {
                tcp: false,
                sport,
                dport,
                data: payload.to_vec(),
            }),
            _ => None,
        })
        .collect()
}

fn total(inputs: &[Vec<u8>]) -> u64 {
    inputs.iter().map(|b| b.len() as u64).sum()
}

fn bench_dns(c: &mut Criterion) {
    let paths = all(&[
        "oracle/zeek/traces/dns",
        "oracle/zeek/traces/dnssec",
        "oracle/zeek/traces/dns53.pcap",
        "oracle/zeek/traces/dns-txt-multiple.pcap",
        "oracle/zeek/traces/dns-two-responses.pcap",
        "oracle/zeek/traces/dns-edns-cookie.pcap",
        "suricata-verify/tests/dns",
    ]);
    let msgs: Vec<Vec<u8>> = payloads(&frames(&paths))
        .into_iter()
        .filter(|p| {
            !p.tcp
                && [53, 5353]
                    .iter()
                    .any(|port| *port == p.sport || *port == p.dport)
        })
        .map(|p| p.data)
        .filter(|m| dns::parser::parse(m).is_ok())
        .collect();
    assert!(!msgs.is_empty(), "no DNS message in the DNS traces");
    let mut g = c.benchmark_group("dns");
    g.throughput(Throughput::Bytes(total(&msgs)));
    g.bench_function(format!("parse/{}msgs", msgs.len()), |b| {
        b.iter(|| {
            for m in &msgs {
                let _ = black_box(dns::parser::parse(black_box(m)));
            }
        });
    });
    g.finish();
}

/// The handshake message of a TLS record holding a whole ClientHello.
fn client_hello_message(seg: &[u8]) -> Option<Vec<u8>> {
    if seg.first() != Some(&22) || seg.get(5) != Some(&1) {
        return None;
    }
    let len = usize::from(u16::from_be_bytes([*seg.get(3)?, *seg.get(4)?]));
    let msg = seg.get(5..5 + len)?;
    let hs_len = usize::try_from(u32::from_be_bytes([
        0,
        *msg.get(1)?,
        *msg.get(2)?,
        *msg.get(3)?,
    ]))
    .ok()?;
    msg.get(..4 + hs_len).map(<[u8]>::to_vec)
}

fn bench_tls(c: &mut Criterion) {
    let paths = all(&[
        "oracle/zeek/traces/tls",
        "suricata-verify/tests/tls",
        "suricata-verify/tests/ja4-tls",
    ]);
    let hellos: Vec<Vec<u8>> = payloads(&frames(&paths))
        .into_iter()
        .filter(|p| p.tcp)
        .filter_map(|p| client_hello_message(&p.data))
        .filter(|m| tls::parser::parse_client_hello(m).is_some())
        .collect();
    assert!(!hellos.is_empty(), "no whole ClientHello in the TLS traces");
    let mut g = c.benchmark_group("tls");
    g.throughput(Throughput::Bytes(total(&hellos)));
    g.bench_function(format!("client_hello/{}hellos", hellos.len()), |b| {
        b.iter(|| {
            for m in &hellos {
                black_box(tls::parser::parse_client_hello(black_box(m)));
            }
        });
    });
    let parsed: Vec<tls::parser::ClientHello> = hellos
        .iter()
        .filter_map(|m| tls::parser::parse_client_hello(m))
        .collect();
    g.bench_function(format!("ja3_only/{}hellos", hellos.len()), |b| {
        b.iter(|| {
            for ch in &parsed {
                black_box(tls::parser::ja3(black_box(ch)));
            }
        });
    });
    g.bench_function(format!("ja4_only/{}hellos", hellos.len()), |b| {
        b.iter(|| {
            for ch in &parsed {
                black_box(tls::parser::ja4(black_box(ch), false));
            }
        });
    });
    g.bench_function(
        format!("client_hello+ja3+ja4/{}hellos", hellos.len()),
        |b| {
            b.iter(|| {
                for m in &hellos {
                    if let Some(ch) = tls::parser::parse_client_hello(black_box(m)) {
                        black_box(tls::parser::ja3(&ch));
                        black_box(tls::parser::ja4(&ch, false));
                    }
                }
            });
        },
    );
    g.finish();
}

fn bench_http(c: &mut Criterion) {
    let paths = all(&[
        "oracle/zeek/traces/http",
        "oracle/zeek/traces/wikipedia.pcap",
    ]);
    let heads: Vec<Vec<u8>> = payloads(&frames(&paths))
        .into_iter()
        .filter(|p| p.tcp)
        .filter_map(|p| {
            let end = http::parser::head_end(&p.data)?;
            let head = p.data.get(..end)?.to_vec();
            http::parser::parse_request(&head)
                .filter(|h| !h.lenient)
                .map(|_| head)
        })
        .collect();
    assert!(!heads.is_empty(), "no request head in the HTTP traces");
    let mut g = c.benchmark_group("http");
    g.throughput(Throughput::Bytes(total(&heads)));
    g.bench_function(format!("request_head/{}heads", heads.len()), |b| {
        b.iter(|| {
            for h in &heads {
                black_box(http::parser::parse_request(black_box(h)));
            }
        });
    });
    g.finish();
}

fn bench_quic(c: &mut Criterion) {
    // The client's Initial packets (the first packet of each datagram sent to port 443).
    let paths = all(&[
        "oracle/zeek/traces/quic",
        "suricata-verify/tests/ja4-tls-quic",
    ]);
    let initials: Vec<Vec<u8>> = payloads(&frames(&paths))
        .into_iter()
        .filter(|p| !p.tcp && p.dport == 443)
        .filter(|p| {
            quic::parser::long_header(&p.data).is_some_and(|(h, _)| {
                h.kind == PacketType::Initial
                    && InitialKeys::derive(h.version, h.dcid, true)
                        .and_then(|k| k.open(&h))
                        .is_some()
            })
        })
        .map(|p| p.data)
        .collect();
    assert!(
        !initials.is_empty(),
        "no decryptable client Initial in the QUIC trace"
    );
    let keys: Vec<InitialKeys> = initials
        .iter()
        .filter_map(|d| {
            let (h, _) = quic::parser::long_header(d)?;
            InitialKeys::derive(h.version, h.dcid, true)
        })
        .collect();
    let mut g = c.benchmark_group("quic");
    g.throughput(Throughput::Bytes(total(&initials)));
    g.bench_function(format!("initial_derive+open/{}pkts", initials.len()), |b| {
        b.iter(|| {
            for d in &initials {
                if let Some((h, _)) = quic::parser::long_header(black_box(d)) {
                    let k = InitialKeys::derive(h.version, h.dcid, true);
                    black_box(k.and_then(|k| k.open(&h)));
                }
            }
        });
    });
    g.bench_function(format!("initial_open/{}pkts", initials.len()), |b| {
        b.iter(|| {
            for (d, k) in initials.iter().zip(&keys) {
                if let Some((h, _)) = quic::parser::long_header(black_box(d)) {
                    black_box(k.open(&h));
                }
            }
        });
    });
    g.finish();
}

fn bench_decode(c: &mut Criterion) {
    let frames = frames(&all(&[ZEEK, SV]));
    let bytes: u64 = frames.iter().map(|f| f.data.len() as u64).sum();
    let mut g = c.benchmark_group("decode");
    g.throughput(Throughput::Bytes(bytes));
    g.bench_function(format!("link+ip+transport/{}pkts", frames.len()), |b| {
        b.iter(|| {
            for f in &frames {
                black_box(decode(black_box(f)));
            }
        });
    });
    g.finish();
}

criterion_group!(
    parsers,
    bench_dns,
    bench_tls,
    bench_http,
    bench_quic,
    bench_decode
);
criterion_main!(parsers);
