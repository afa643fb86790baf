//! Property tests (proptest) for the engine's parser entry points, through the public API
//! only: the fuzzing entry points never panic on arbitrary bytes; generated DNS messages,
//! pcap and pcapng files read back to what was built, whole or cut at any byte; generated
//! Ethernet frames decode to what was built; EVE lines are JSON that gives back the strings
//! they were given; whole-engine runs do not depend on the thread count; and the small pure
//! helpers (flow keys, Community ID, text escaping, timestamps) keep their stated
//! invariants.
//!
//! Failures are not persisted to a `proptest-regressions` file: a failing case is printed
//! (shrunk), and the regression test it deserves is written by hand, named after the bug.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use std::io::Cursor;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

use common::Collect;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::Config as ProptestConfig;

use tcheck_engine::decode::{decode_link, parse_ip, parse_transport, LinkOutcome, Transport};
use tcheck_engine::event::{DnsMessageRecord, EventOrder, FlowId};
use tcheck_engine::flow::key::{Endpoint, FlowKey};
use tcheck_engine::output::community_id::community_id;
use tcheck_engine::output::eve::EveRenderer;
use tcheck_engine::proto::dns::parser::{
    self, anomaly, rtype, Header, Message, Question, RData, Record, Section,
};
use tcheck_engine::source::SourceWarning;
use tcheck_engine::{Event, EventKind, FileSource, LinkType, PacketMeta, PacketSource, Timestamp};

/// A proptest configuration with `cases` cases and no regression file written next to
/// this one.
fn cases(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------------------------------
// Frames and capture files built in memory.
// ---------------------------------------------------------------------------------------

/// The Internet checksum of `data`.
fn ip_checksum(data: &[u8]) -> u16 {
    let mut sum = 0u32;
    for pair in data.chunks(2) {
        let hi = u32::from(pair[0]) << 8;
        let lo = pair.get(1).map_or(0, |b| u32::from(*b));
        sum += hi | lo;
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// A UDP header and `payload` (checksum 0: none).
fn udp(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut u = Vec::with_capacity(8 + payload.len());
    u.extend_from_slice(&sport.to_be_bytes());
    u.extend_from_slice(&dport.to_be_bytes());
    u.extend_from_slice(&u16::try_from(8 + payload.len()).unwrap().to_be_bytes());
    u.extend_from_slice(&[0, 0]);
    u.extend_from_slice(payload);
    u
}

/// A TCP segment without options.
fn tcp(seg: &TcpSpec) -> Vec<u8> {
    let mut t = Vec::with_capacity(20 + seg.payload.len());
    t.extend_from_slice(&seg.sport.to_be_bytes());
    t.extend_from_slice(&seg.dport.to_be_bytes());
    t.extend_from_slice(&seg.seq.to_be_bytes());
    t.extend_from_slice(&seg.ack.to_be_bytes());
    t.extend_from_slice(&[5 << 4, seg.flags]);
    t.extend_from_slice(&seg.window.to_be_bytes());
    t.extend_from_slice(&[0, 0, 0, 0]);
    t.extend_from_slice(&seg.payload);
    t
}

/// An IPv4 (with a correct header checksum) or IPv6 packet from `src` to `dst` carrying
/// `l4` of protocol `proto`. Both addresses must be of the same family.
fn ip_packet(src: IpAddr, dst: IpAddr, ttl: u8, proto: u8, l4: &[u8]) -> Vec<u8> {
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let total = u16::try_from(20 + l4.len()).unwrap();
            let mut h = vec![0x45, 0];
            h.extend_from_slice(&total.to_be_bytes());
            h.extend_from_slice(&[0x12, 0x34, 0x40, 0x00, ttl, proto, 0, 0]);
            h.extend_from_slice(&s.octets());
            h.extend_from_slice(&d.octets());
            let sum = ip_checksum(&h);
            h[10..12].copy_from_slice(&sum.to_be_bytes());
            h.extend_from_slice(l4);
            h
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            let mut h = vec![0x60, 0, 0, 0];
            h.extend_from_slice(&u16::try_from(l4.len()).unwrap().to_be_bytes());
            h.extend_from_slice(&[proto, ttl]);
            h.extend_from_slice(&s.octets());
            h.extend_from_slice(&d.octets());
            h.extend_from_slice(l4);
            h
        }
        _ => panic!("mixed address families"),
    }
}

/// An Ethernet frame (with an optional 802.1Q tag) around the IP packet `ip`.
fn ethernet(dst: [u8; 6], src: [u8; 6], vlan: Option<u16>, ip: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(18 + ip.len());
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    if let Some(vid) = vlan {
        f.extend_from_slice(&[0x81, 0x00]);
        f.extend_from_slice(&vid.to_be_bytes());
    }
    let ethertype: u16 = if ip.first().map(|b| b >> 4) == Some(6) {
        0x86dd
    } else {
        0x0800
    };
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(ip);
    f
}

/// The four classic pcap flavours: micro- or nanosecond stamps, little- or big-endian.
#[derive(Clone, Copy, Debug)]
struct PcapFlavour {
    nanos: bool,
    big_endian: bool,
}

fn put16(out: &mut Vec<u8>, big: bool, v: u16) {
    out.extend_from_slice(&if big {
        v.to_be_bytes()
    } else {
        v.to_le_bytes()
    });
}

fn put32(out: &mut Vec<u8>, big: bool, v: u32) {
    out.extend_from_slice(&if big {
        v.to_be_bytes()
    } else {
        v.to_le_bytes()
    });
}

/// One packet to write to a capture file.
#[derive(Clone, Debug)]
struct PcapPacket {
    secs: u32,
    /// Fraction of the second in the file's unit (micro- or nanoseconds).
    frac: u32,
    data: Vec<u8>,
    /// How many bytes the packet had beyond those captured.
    cut_off: u16,
}

/// A classic pcap file of `packets` on Ethernet; also the offset where each record ends.
fn pcap_file(flavour: PcapFlavour, packets: &[PcapPacket]) -> (Vec<u8>, Vec<usize>) {
    let big = flavour.big_endian;
    let mut out = Vec::new();
    put32(
        &mut out,
        big,
        if flavour.nanos {
            0xa1b2_3c4d
        } else {
            0xa1b2_c3d4
        },
    );
    put16(&mut out, big, 2);
    put16(&mut out, big, 4);
    put32(&mut out, big, 0);
    put32(&mut out, big, 0);
    put32(&mut out, big, 65_535);
    put32(&mut out, big, 1);
    let mut ends = Vec::with_capacity(packets.len());
    for p in packets {
        let caplen = u32::try_from(p.data.len()).unwrap();
        put32(&mut out, big, p.secs);
        put32(&mut out, big, p.frac);
        put32(&mut out, big, caplen);
        put32(&mut out, big, caplen + u32::from(p.cut_off));
        out.extend_from_slice(&p.data);
        ends.push(out.len());
    }
    (out, ends)
}

/// A pcapng time resolution: absent (microseconds), or an `if_tsresol` byte.
#[derive(Clone, Copy, Debug)]
enum TsResol {
    Default,
    Byte(u8),
}

impl TsResol {
    fn units_per_sec(self) -> u64 {
        match self {
            TsResol::Default => 1_000_000,
            TsResol::Byte(r) if r & 0x80 != 0 => 1 << (r & 0x7f),
            TsResol::Byte(r) => 10u64.pow(u32::from(r)),
        }
    }
}

/// One pcapng block of type `kind` with `body`, in the section's byte order.
fn ng_block(out: &mut Vec<u8>, big: bool, kind: u32, body: &[u8]) {
    let total = u32::try_from(12 + body.len()).unwrap();
    put32(out, big, kind);
    put32(out, big, total);
    out.extend_from_slice(body);
    put32(out, big, total);
}

/// A pcapng file of one section and one Ethernet interface holding `packets` as Enhanced
/// Packet Blocks; `frac` is in the interface's units. Also the offset where each packet's
/// block ends.
fn pcapng_file(big: bool, resol: TsResol, packets: &[PcapPacket]) -> (Vec<u8>, Vec<usize>) {
    let mut out = Vec::new();
    let mut shb = Vec::new();
    put32(&mut shb, big, 0x1a2b_3c4d);
    put16(&mut shb, big, 1);
    put16(&mut shb, big, 0);
    shb.extend_from_slice(&[0xff; 8]);
    ng_block(&mut out, big, 0x0a0d_0d0a, &shb);
    let mut idb = Vec::new();
    put16(&mut idb, big, 1);
    put16(&mut idb, big, 0);
    put32(&mut idb, big, 65_535);
    if let TsResol::Byte(r) = resol {
        put16(&mut idb, big, 9);
        put16(&mut idb, big, 1);
        idb.extend_from_slice(&[r, 0, 0, 0]);
        put16(&mut idb, big, 0);
        put16(&mut idb, big, 0);
    }
    ng_block(&mut out, big, 1, &idb);
    let per_sec = resol.units_per_sec();
    let mut ends = Vec::with_capacity(packets.len());
    for p in packets {
        let units = u64::from(p.secs) * per_sec + u64::from(p.frac);
        let caplen = u32::try_from(p.data.len()).unwrap();
        let mut epb = Vec::new();
        put32(&mut epb, big, 0);
        put32(&mut epb, big, (units >> 32) as u32);
        put32(&mut epb, big, units as u32);
        put32(&mut epb, big, caplen);
        put32(&mut epb, big, caplen + u32::from(p.cut_off));
        epb.extend_from_slice(&p.data);
        epb.resize(epb.len().next_multiple_of(4), 0);
        ng_block(&mut out, big, 6, &epb);
        ends.push(out.len());
    }
    (out, ends)
}

/// Everything a file source gives for `bytes`: the packets with their bytes, and the
/// warnings. `Err` when the source cannot be opened.
type ReadBack = (Vec<(PacketMeta, Vec<u8>)>, Vec<SourceWarning>);

fn read_back(bytes: &[u8]) -> tcheck_engine::Result<ReadBack> {
    let mut src = FileSource::from_reader(
        Path::new("property.pcap"),
        Cursor::new(bytes.to_vec()),
        None,
    )?;
    let mut buf = Vec::new();
    let mut packets = Vec::new();
    // A bound well above what any input here holds, so a source that never ends fails.
    for _ in 0..10_000 {
        let start = buf.len();
        match src.read_packet(&mut buf)? {
            Some(meta) => {
                let data = buf[start..].to_vec();
                assert_eq!(
                    data.len(),
                    usize::try_from(meta.caplen).unwrap(),
                    "caplen is what was appended"
                );
                packets.push((meta, data));
            }
            None => return Ok((packets, src.take_warnings())),
        }
    }
    panic!("the source did not end");
}

fn pcap_packets(frac_limit: u32) -> impl Strategy<Value = Vec<PcapPacket>> {
    proptest::collection::vec(
        (
            any::<u32>(),
            0..frac_limit,
            proptest::collection::vec(any::<u8>(), 0..300),
            prop_oneof![Just(0u16), any::<u16>()],
        )
            .prop_map(|(secs, frac, data, cut_off)| PcapPacket {
                secs,
                frac,
                data,
                cut_off,
            }),
        0..12,
    )
}

/// Checks that `got` are the first packets of `want`, with `ts` the timestamp of a packet.
fn same_packets(
    got: &[(PacketMeta, Vec<u8>)],
    want: &[PcapPacket],
    ts: impl Fn(&PcapPacket) -> Timestamp,
) -> Result<(), TestCaseError> {
    prop_assert!(got.len() <= want.len());
    for (i, ((meta, data), p)) in got.iter().zip(want).enumerate() {
        prop_assert_eq!(data, &p.data, "packet {} bytes", i);
        prop_assert_eq!(meta.ts, ts(p), "packet {} timestamp", i);
        prop_assert_eq!(meta.link, LinkType::ETHERNET);
        prop_assert_eq!(meta.interface, 0);
        prop_assert_eq!(
            meta.orig_len,
            u32::try_from(p.data.len()).unwrap() + u32::from(p.cut_off)
        );
    }
    Ok(())
}

/// Where to cut a capture of `len` bytes whose records end at `ends`: any byte, or (when
/// `at_end`) the end of a record, so that clean cuts are tried as often as ragged ones.
fn cut_point((pick, at_end): (Index, bool), ends: &[usize], len: usize) -> usize {
    if at_end && !ends.is_empty() {
        *pick.get(ends)
    } else {
        pick.index(len + 1)
    }
}

/// Checks a capture cut at `cut` (past its headers, at `header_end` bytes): the packets whose
/// records are whole come back, and a warning is given iff the cut falls inside a record.
fn check_truncated(
    file: &[u8],
    ends: &[usize],
    header_end: usize,
    cut: usize,
    want: &[PcapPacket],
    ts: impl Fn(&PcapPacket) -> Timestamp,
) -> Result<(), TestCaseError> {
    let (got, warnings) = read_back(&file[..cut])
        .map_err(|e| TestCaseError::fail(format!("a capture cut at {cut} fails to read: {e}")))?;
    let whole = ends.iter().filter(|&&e| e <= cut).count();
    prop_assert_eq!(got.len(), whole, "cut at {}", cut);
    same_packets(&got, want, ts)?;
    let at_boundary = cut == header_end || ends.contains(&cut);
    prop_assert_eq!(
        warnings.is_empty(),
        at_boundary,
        "cut at {}: warnings {:?}",
        cut,
        warnings
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------
// DNS messages built from generated names, with compression.
// ---------------------------------------------------------------------------------------

/// How to write a name: its labels, and whether to end it with a compression pointer to
/// a name (or a suffix of one) written earlier in the message, after the first few of its
/// own labels (none: the name is only a pointer).
#[derive(Clone, Debug)]
struct NameSpec {
    labels: Vec<String>,
    compress: Option<(Index, Index)>,
}

fn name_spec() -> impl Strategy<Value = NameSpec> {
    (
        proptest::collection::vec("[a-z0-9-]{1,20}", 1..=5),
        proptest::option::weighted(0.6, (any::<Index>(), any::<Index>())),
    )
        .prop_map(|(labels, compress)| NameSpec { labels, compress })
}

#[derive(Clone, Debug)]
enum AnswerData {
    A([u8; 4]),
    Aaaa([u8; 16]),
    Cname(NameSpec),
}

#[derive(Clone, Debug)]
struct AnswerSpec {
    owner: NameSpec,
    ttl: u32,
    data: AnswerData,
}

#[derive(Clone, Debug)]
struct MessageSpec {
    id: u16,
    questions: Vec<(NameSpec, u16)>,
    answers: Vec<AnswerSpec>,
}

fn message_spec() -> impl Strategy<Value = MessageSpec> {
    let answer = (
        name_spec(),
        any::<u32>(),
        prop_oneof![
            any::<[u8; 4]>().prop_map(AnswerData::A),
            any::<[u8; 16]>().prop_map(AnswerData::Aaaa),
            name_spec().prop_map(AnswerData::Cname),
        ],
    )
        .prop_map(|(owner, ttl, data)| AnswerSpec { owner, ttl, data });
    (
        any::<u16>(),
        proptest::collection::vec((name_spec(), any::<u16>()), 1..=4),
        proptest::collection::vec(answer, 0..=8),
    )
        .prop_map(|(id, questions, answers)| MessageSpec {
            id,
            questions,
            answers,
        })
}

/// A DNS message being written, with the names a pointer may target.
struct DnsWriter {
    buf: Vec<u8>,
    /// Offsets where a name (or the rest of one) starts, and its labels from there.
    suffixes: Vec<(usize, Vec<String>)>,
}

impl DnsWriter {
    /// Writes a name as `spec` says; returns its text.
    fn name(&mut self, spec: &NameSpec) -> String {
        let mut prefix = spec.labels.clone();
        let mut tail: Option<(usize, Vec<String>)> = None;
        if let (Some((pick, keep)), false) = (&spec.compress, self.suffixes.is_empty()) {
            let (offset, labels) = self.suffixes[pick.index(self.suffixes.len())].clone();
            let keep = keep.index(spec.labels.len() + 1);
            let own = &spec.labels[..keep];
            let text_len: usize = own.iter().chain(&labels).map(|l| l.len() + 1).sum();
            // Real names are at most 255 bytes; keep chains of pointers within that.
            if text_len <= 250 {
                prefix = own.to_vec();
                tail = Some((offset, labels));
            }
        }
        let mut starts = Vec::with_capacity(prefix.len());
        for label in &prefix {
            starts.push(self.buf.len());
            self.buf.push(u8::try_from(label.len()).unwrap());
            self.buf.extend_from_slice(label.as_bytes());
        }
        let mut full = prefix;
        match tail {
            Some((offset, labels)) => {
                let pointer = 0xc000 | u16::try_from(offset).unwrap();
                self.buf.extend_from_slice(&pointer.to_be_bytes());
                full.extend(labels);
            }
            None => self.buf.push(0),
        }
        for (i, start) in starts.into_iter().enumerate() {
            if start < 0x3fff {
                self.suffixes.push((start, full[i..].to_vec()));
            }
        }
        full.join(".")
    }
}

/// A message built from a spec: its bytes, what the parser must give back, and the
/// offsets where each question and each record ends.
struct BuiltMessage {
    bytes: Vec<u8>,
    header: Header,
    questions: Vec<Question>,
    records: Vec<Record>,
    question_ends: Vec<usize>,
    record_ends: Vec<usize>,
}

fn build_message(spec: &MessageSpec) -> BuiltMessage {
    let header = Header {
        id: spec.id,
        flags: 0x8180,
        qdcount: u16::try_from(spec.questions.len()).unwrap(),
        ancount: u16::try_from(spec.answers.len()).unwrap(),
        nscount: 0,
        arcount: 0,
    };
    let mut w = DnsWriter {
        buf: Vec::new(),
        suffixes: Vec::new(),
    };
    for v in [
        header.id,
        header.flags,
        header.qdcount,
        header.ancount,
        header.nscount,
        header.arcount,
    ] {
        w.buf.extend_from_slice(&v.to_be_bytes());
    }
    let mut questions = Vec::new();
    let mut question_ends = Vec::new();
    for (name, qtype) in &spec.questions {
        let name = w.name(name);
        w.buf.extend_from_slice(&qtype.to_be_bytes());
        w.buf.extend_from_slice(&1u16.to_be_bytes());
        questions.push(Question {
            name: name.into(),
            qtype: *qtype,
            qclass: 1,
        });
        question_ends.push(w.buf.len());
    }
    let mut records = Vec::new();
    let mut record_ends = Vec::new();
    for a in &spec.answers {
        let name = w.name(&a.owner);
        let rt = match a.data {
            AnswerData::A(_) => rtype::A,
            AnswerData::Aaaa(_) => rtype::AAAA,
            AnswerData::Cname(_) => rtype::CNAME,
        };
        w.buf.extend_from_slice(&rt.to_be_bytes());
        w.buf.extend_from_slice(&1u16.to_be_bytes());
        w.buf.extend_from_slice(&a.ttl.to_be_bytes());
        let len_at = w.buf.len();
        w.buf.extend_from_slice(&[0, 0]);
        let rdata = match &a.data {
            AnswerData::A(o) => {
                w.buf.extend_from_slice(o);
                RData::A(Ipv4Addr::from(*o))
            }
            AnswerData::Aaaa(o) => {
                w.buf.extend_from_slice(o);
                RData::Aaaa(Ipv6Addr::from(*o))
            }
            AnswerData::Cname(target) => RData::Name(w.name(target).into()),
        };
        let rdlen = u16::try_from(w.buf.len() - len_at - 2).unwrap();
        w.buf[len_at..len_at + 2].copy_from_slice(&rdlen.to_be_bytes());
        records.push(Record {
            name: name.into(),
            rtype: rt,
            class: 1,
            ttl: a.ttl,
            rdata,
            section: Section::Answer,
        });
        record_ends.push(w.buf.len());
    }
    assert!(w.buf.len() < 0x3fff, "pointers reach every offset");
    BuiltMessage {
        bytes: w.buf,
        header,
        questions,
        records,
        question_ends,
        record_ends,
    }
}

// ---------------------------------------------------------------------------------------
// Sinks and helpers for whole-engine runs.
// ---------------------------------------------------------------------------------------

/// A classic pcap (microseconds, little-endian) of the IP packets, each in an Ethernet frame,
/// one second apart.
fn capture_of(ip_packets: impl Iterator<Item = Vec<u8>>) -> Vec<u8> {
    let frames: Vec<PcapPacket> = ip_packets
        .enumerate()
        .map(|(i, ip)| PcapPacket {
            secs: 1_700_000_000 + u32::try_from(i).unwrap(),
            frac: 0,
            data: ethernet([2, 0, 0, 0, 0, 2], [2, 0, 0, 0, 0, 1], None, &ip),
            cut_off: 0,
        })
        .collect();
    pcap_file(
        PcapFlavour {
            nanos: false,
            big_endian: false,
        },
        &frames,
    )
    .0
}

/// Runs the engine on a capture held in memory, with `threads` workers.
fn run_engine(file: &[u8], threads: usize) -> Collect {
    common::try_run_engine(file, threads).expect("a capture the engine runs")
}

/// Every line of `eve` parsed as a JSON object.
fn eve_objects(eve: &[u8]) -> Result<Vec<serde_json::Value>, TestCaseError> {
    let mut out = Vec::new();
    for line in eve.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        let v: serde_json::Value = serde_json::from_slice(line).map_err(|e| {
            TestCaseError::fail(format!(
                "EVE line is not JSON ({e}): {}",
                String::from_utf8_lossy(line)
            ))
        })?;
        prop_assert!(v.is_object(), "EVE line is not an object: {}", v);
        out.push(v);
    }
    Ok(out)
}

/// A packet of generated traffic: TCP or UDP between two hosts, to a port where the engine
/// has a dissector (or any other).
#[derive(Clone, Debug)]
struct TcpSpec {
    sport: u16,
    dport: u16,
    seq: u32,
    ack: u32,
    flags: u8,
    window: u16,
    payload: Vec<u8>,
}

#[derive(Clone, Debug)]
enum L4Spec {
    Udp {
        sport: u16,
        dport: u16,
        payload: Vec<u8>,
    },
    Tcp(TcpSpec),
}

impl L4Spec {
    fn proto(&self) -> u8 {
        match self {
            L4Spec::Udp { .. } => 17,
            L4Spec::Tcp(_) => 6,
        }
    }

    fn bytes(&self) -> Vec<u8> {
        match self {
            L4Spec::Udp {
                sport,
                dport,
                payload,
            } => udp(*sport, *dport, payload),
            L4Spec::Tcp(seg) => tcp(seg),
        }
    }
}

fn l4_spec(port: BoxedStrategy<u16>, payload_len: usize) -> impl Strategy<Value = L4Spec> {
    let payload = proptest::collection::vec(any::<u8>(), 0..payload_len);
    prop_oneof![
        (port.clone(), port.clone(), payload.clone()).prop_map(|(sport, dport, payload)| {
            L4Spec::Udp {
                sport,
                dport,
                payload,
            }
        }),
        (
            port.clone(),
            port,
            any::<u32>(),
            any::<u32>(),
            any::<u8>(),
            any::<u16>(),
            payload
        )
            .prop_map(|(sport, dport, seq, ack, flags, window, payload)| {
                L4Spec::Tcp(TcpSpec {
                    sport,
                    dport,
                    seq,
                    ack,
                    flags,
                    window,
                    payload,
                })
            }),
    ]
}

/// Ports where the engine has a dissector, and some other.
fn service_port() -> BoxedStrategy<u16> {
    prop_oneof![
        prop::sample::select(vec![53u16, 67, 68, 80, 443, 137, 5353, 8080, 40_000]),
        any::<u16>(),
    ]
    .boxed()
}

/// Two addresses of one family.
fn address_pair() -> impl Strategy<Value = (IpAddr, IpAddr)> {
    prop_oneof![
        (any::<[u8; 4]>(), any::<[u8; 4]>()).prop_map(|(a, b)| (IpAddr::from(a), IpAddr::from(b))),
        (any::<[u8; 16]>(), any::<[u8; 16]>())
            .prop_map(|(a, b)| (IpAddr::from(a), IpAddr::from(b))),
    ]
}

/// Any endpoint, IPv4 or IPv6.
fn endpoint() -> impl Strategy<Value = Endpoint> {
    (
        prop_oneof![
            any::<[u8; 4]>().prop_map(IpAddr::from),
            any::<[u8; 16]>().prop_map(IpAddr::from),
        ],
        any::<u16>(),
    )
        .prop_map(|(addr, port)| Endpoint { addr, port })
}

/// Text with the characters JSON writers get wrong: quotes, backslashes, controls, line
/// separators, non-ASCII, astral planes.
fn tricky_string() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            any::<char>().prop_map(String::from),
            prop::sample::select(vec![
                '"',
                '\\',
                '/',
                '\n',
                '\r',
                '\t',
                '\0',
                '\u{1f}',
                '\u{7f}',
                '\u{2028}',
                'é',
                '\u{1F600}',
            ])
            .prop_map(String::from),
            "[a-z.]{1,8}",
        ],
        0..40,
    )
    .prop_map(|parts| parts.concat())
}

/// What `escape_bytes` must give, written independently: valid UTF-8 kept except control
/// characters, which become `\xNN` per byte, as does every byte of invalid UTF-8.
fn escape_reference(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c.is_control() {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    out.push_str(&format!("\\x{b:02x}"));
                }
            } else {
                out.push(c);
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// The properties.
// ---------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(cases(256))]

    /// Every fuzzing entry point (`capture`, `packet`, `dns`, `tls`, `http`, `quic`, `dhcp`)
    /// returns without panicking on arbitrary bytes.
    #[test]
    fn fuzzing_entry_points_never_panic(data in proptest::collection::vec(any::<u8>(), 0..2048)) {
        tcheck_engine::fuzzing::capture(&data);
        tcheck_engine::fuzzing::packet(&data);
        tcheck_engine::fuzzing::dns(&data);
        tcheck_engine::fuzzing::tls(&data);
        tcheck_engine::fuzzing::http(&data);
        tcheck_engine::fuzzing::quic(&data);
        tcheck_engine::fuzzing::dhcp(&data);
    }

    /// The `capture` entry point returns without panicking on arbitrary bytes after a valid
    /// capture header (pcap of every link type the engine decodes, or pcapng), so that the
    /// record reader, not only the magic check, meets the bytes.
    #[test]
    fn capture_entry_point_never_panics_after_a_valid_header(
        link in prop::sample::select(vec![0u32, 1, 101, 108, 113, 228, 229, 276, 12, 14, 147]),
        ng in any::<bool>(),
        tail in proptest::collection::vec(any::<u8>(), 0..2048),
    ) {
        let mut file = Vec::new();
        if ng {
            let mut shb = Vec::new();
            put32(&mut shb, false, 0x1a2b_3c4d);
            put16(&mut shb, false, 1);
            put16(&mut shb, false, 0);
            shb.extend_from_slice(&[0xff; 8]);
            ng_block(&mut file, false, 0x0a0d_0d0a, &shb);
            let mut idb = Vec::new();
            put16(&mut idb, false, u16::try_from(link).unwrap());
            put16(&mut idb, false, 0);
            put32(&mut idb, false, 65_535);
            ng_block(&mut file, false, 1, &idb);
        } else {
            for v in [0xa1b2_c3d4, 0x0004_0002, 0, 0, 65_535, link] {
                put32(&mut file, false, v);
            }
        }
        file.extend_from_slice(&tail);
        tcheck_engine::fuzzing::capture(&file);
    }

    /// A DNS message built from generated questions (1-5 labels of `[a-z0-9-]{1,20}`, any
    /// qtype) and A, AAAA and CNAME answers, whose names are written whole or with
    /// compression pointers (a whole earlier name, or labels followed by a pointer to the
    /// rest of one), parses back to exactly the header, names, types, classes, TTLs and
    /// addresses written, with no anomaly.
    #[test]
    fn dns_message_round_trips(spec in message_spec()) {
        let built = build_message(&spec);
        let m = parser::parse(&built.bytes).expect("a whole header");
        prop_assert_eq!(m.header, built.header);
        prop_assert_eq!(&m.questions[..], built.questions.as_slice());
        prop_assert_eq!(&m.records, &built.records);
        prop_assert_eq!(m.edns, None);
        prop_assert_eq!(m.anomalies, 0, "anomalies {:#x}", m.anomalies);
        let mut framed = u16::try_from(built.bytes.len()).unwrap().to_be_bytes().to_vec();
        framed.extend_from_slice(&built.bytes);
        prop_assert!(parser::probe_tcp(&framed), "a whole message starts a TCP stream");
    }

    /// The same message cut at every length never panics: shorter than its 12-byte header it
    /// is an error; otherwise exactly the questions and records wholly present come back, in
    /// order and unchanged, and the cut is flagged as the only anomaly.
    #[test]
    fn truncated_dns_message_keeps_the_whole_records(spec in message_spec()) {
        let built = build_message(&spec);
        for cut in 0..built.bytes.len() {
            let Ok(m) = parser::parse(&built.bytes[..cut]) else {
                prop_assert!(cut < 12, "a whole header is parsed (cut at {})", cut);
                continue;
            };
            prop_assert!(cut >= 12, "a message shorter than a header parses (cut at {})", cut);
            let questions = built.question_ends.iter().filter(|&&e| e <= cut).count();
            let records = built.record_ends.iter().filter(|&&e| e <= cut).count();
            prop_assert_eq!(&m.questions[..], &built.questions[..questions], "cut at {}", cut);
            prop_assert_eq!(&m.records[..], &built.records[..records], "cut at {}", cut);
            prop_assert_eq!(m.anomalies, anomaly::TRUNCATED, "cut at {}", cut);
        }
    }

    /// A classic pcap file on Ethernet (micro- or nanosecond magic, either byte order) with
    /// generated packets reads back, through `FileSource`, to the same packets: bytes,
    /// timestamps, lengths on the wire, link type; with no warning.
    #[test]
    fn pcap_file_round_trips(
        nanos in any::<bool>(),
        big_endian in any::<bool>(),
        packets in pcap_packets(1_000_000),
        scale in any::<bool>(),
    ) {
        // Microsecond fractions are drawn below 10^6; for nanosecond files, spread them.
        let packets: Vec<PcapPacket> = packets
            .into_iter()
            .map(|p| PcapPacket {
                frac: if nanos && scale { p.frac * 999 } else { p.frac },
                ..p
            })
            .collect();
        let flavour = PcapFlavour { nanos, big_endian };
        let (file, _) = pcap_file(flavour, &packets);
        let (got, warnings) = read_back(&file).expect("a capture");
        prop_assert_eq!(got.len(), packets.len());
        same_packets(&got, &packets, |p| {
            Timestamp::from_parts(i64::from(p.secs), if nanos { p.frac } else { p.frac * 1000 })
        })?;
        prop_assert!(warnings.is_empty(), "{:?}", warnings);
    }

    /// The same pcap file cut at any byte reads back, without error or panic, the packets
    /// whose records are whole, and a warning exactly when the cut falls inside a record;
    /// cut inside the file header it gives no packet.
    #[test]
    fn truncated_pcap_file_reads_back_a_prefix(
        nanos in any::<bool>(),
        big_endian in any::<bool>(),
        packets in pcap_packets(1_000_000),
        cut in (any::<Index>(), any::<bool>()),
    ) {
        let flavour = PcapFlavour { nanos, big_endian };
        let (file, ends) = pcap_file(flavour, &packets);
        let cut = cut_point(cut, &ends, file.len());
        let ts = |p: &PcapPacket| {
            Timestamp::from_parts(i64::from(p.secs), if nanos { p.frac } else { p.frac * 1000 })
        };
        if cut < 24 {
            if let Ok((got, _)) = read_back(&file[..cut]) {
                prop_assert!(got.is_empty());
            }
        } else {
            check_truncated(&file, &ends, 24, cut, &packets, ts)?;
        }
    }

    /// A pcapng file (either byte order; time resolution absent, microseconds, nanoseconds
    /// or 2^-20 s) with one Ethernet interface and generated Enhanced Packet Blocks reads
    /// back to the same packets and timestamps, with no warning; cut at any byte, it reads
    /// back the packets whose blocks are whole, and a warning exactly when the cut falls
    /// inside a block.
    #[test]
    fn pcapng_file_round_trips_and_truncates_to_a_prefix(
        big_endian in any::<bool>(),
        resol in prop_oneof![
            Just(TsResol::Default),
            Just(TsResol::Byte(6)),
            Just(TsResol::Byte(9)),
            Just(TsResol::Byte(0x80 | 20)),
        ],
        packets in pcap_packets(u32::MAX),
        cut in (any::<Index>(), any::<bool>()),
    ) {
        let per_sec = resol.units_per_sec();
        let packets: Vec<PcapPacket> = packets
            .into_iter()
            .map(|p| PcapPacket {
                frac: u32::try_from(u64::from(p.frac) % per_sec).unwrap(),
                ..p
            })
            .collect();
        let (file, ends) = pcapng_file(big_endian, resol, &packets);
        let ts = |p: &PcapPacket| {
            let nanos = u128::from(p.frac) * 1_000_000_000 / u128::from(per_sec);
            Timestamp::from_parts(i64::from(p.secs), u32::try_from(nanos).unwrap())
        };
        let (got, warnings) = read_back(&file).expect("a capture");
        prop_assert_eq!(got.len(), packets.len());
        same_packets(&got, &packets, ts)?;
        prop_assert!(warnings.is_empty(), "{:?}", warnings);

        let headers = 28 + if matches!(resol, TsResol::Default) { 20 } else { 32 };
        let cut = cut_point(cut, &ends, file.len());
        if cut < headers {
            if let Ok((got, _)) = read_back(&file[..cut]) {
                prop_assert!(got.is_empty());
            }
        } else {
            check_truncated(&file, &ends, headers, cut, &packets, ts)?;
        }
    }

    /// An Ethernet frame (with or without an 802.1Q tag) holding IPv4 or IPv6 and UDP or
    /// TCP decodes back, through `decode_link`, `parse_ip` and `parse_transport`, to the
    /// MACs, VLAN id, addresses, TTL, protocol, ports, sequence numbers, flags, window and
    /// payload written.
    #[test]
    fn ethernet_ip_transport_round_trip(
        (src, dst) in address_pair(),
        macs in any::<([u8; 6], [u8; 6])>(),
        vlan in proptest::option::of(0u16..4096),
        ttl in any::<u8>(),
        l4 in l4_spec(any::<u16>().boxed(), 512),
    ) {
        let l4_bytes = l4.bytes();
        let ip = ip_packet(src, dst, ttl, l4.proto(), &l4_bytes);
        let frame = ethernet(macs.0, macs.1, vlan, &ip);
        let LinkOutcome::Ip { offset, l2 } = decode_link(LinkType::ETHERNET, &frame) else {
            return Err(TestCaseError::fail("not decoded as IP"));
        };
        prop_assert_eq!(offset, if vlan.is_some() { 18 } else { 14 });
        prop_assert_eq!(l2.dst_mac, Some(macs.0));
        prop_assert_eq!(l2.src_mac, Some(macs.1));
        prop_assert_eq!(l2.vlan, [vlan.unwrap_or(0), 0, 0]);
        let packet = parse_ip(&frame[offset..]).expect("an IP packet");
        prop_assert_eq!(packet.src, src);
        prop_assert_eq!(packet.dst, dst);
        prop_assert_eq!(packet.version, if src.is_ipv4() { 4 } else { 6 });
        prop_assert_eq!(packet.ttl, ttl);
        prop_assert_eq!(packet.proto, l4.proto());
        prop_assert_eq!(packet.payload, &l4_bytes[..]);
        prop_assert!(packet.fragment.is_none());
        prop_assert!(!packet.truncated);
        match (parse_transport(packet.proto, packet.payload).expect("a transport header"), &l4) {
            (Transport::Udp { sport, dport, payload }, L4Spec::Udp { sport: s, dport: d, payload: p }) => {
                prop_assert_eq!((sport, dport), (*s, *d));
                prop_assert_eq!(payload, &p[..]);
            }
            (Transport::Tcp(seg), L4Spec::Tcp(want)) => {
                prop_assert_eq!((seg.sport, seg.dport), (want.sport, want.dport));
                prop_assert_eq!((seg.seq, seg.ack), (want.seq, want.ack));
                prop_assert_eq!(seg.flags, want.flags & 0x3f);
                prop_assert_eq!(seg.window, want.window);
                prop_assert_eq!(seg.payload, &want.payload[..]);
                prop_assert_eq!(seg.len, u32::try_from(want.payload.len()).unwrap());
            }
            (got, _) => return Err(TestCaseError::fail(format!("wrong transport {got:?}"))),
        }
    }

    /// A DNS event holding arbitrary strings (quotes, backslashes, control characters, line
    /// separators, non-ASCII) as question and answer names renders, with the default EVE
    /// renderer, to one line of JSON that gives back, parsed with serde_json, the same
    /// names, TTLs, addresses and timestamp.
    #[test]
    fn eve_dns_line_is_json_holding_the_same_strings(
        ts in any::<i64>(),
        questions in proptest::collection::vec(tricky_string(), 1..4),
        answers in proptest::collection::vec(
            (
                tricky_string(),
                any::<u32>(),
                prop_oneof![
                    any::<[u8; 4]>().prop_map(|a| RData::A(Ipv4Addr::from(a))),
                    any::<[u8; 16]>().prop_map(|a| RData::Aaaa(Ipv6Addr::from(a))),
                    tricky_string().prop_map(|n| RData::Name(n.into())),
                ],
            ),
            0..4,
        ),
    ) {
        let ep = |last, port| Endpoint { addr: IpAddr::from([10, 0, 0, last]), port };
        let records: Vec<Record> = answers
            .iter()
            .map(|(name, ttl, rdata)| Record {
                name: name.as_str().into(),
                rtype: match rdata {
                    RData::A(_) => rtype::A,
                    RData::Aaaa(_) => rtype::AAAA,
                    _ => rtype::CNAME,
                },
                class: 1,
                ttl: *ttl,
                rdata: rdata.clone(),
                section: Section::Answer,
            })
            .collect();
        let message = Message {
            header: Header {
                id: 7,
                flags: 0x8180,
                qdcount: u16::try_from(questions.len()).unwrap(),
                ancount: u16::try_from(records.len()).unwrap(),
                nscount: 0,
                arcount: 0,
            },
            questions: questions
                .iter()
                .map(|n| Question { name: n.as_str().into(), qtype: rtype::A, qclass: 1 })
                .collect(),
            records,
            edns: None,
            anomalies: 0,
        };
        let event = Event::new(
            EventOrder {
                packet: 1,
                swept: false,
                flow: 1,
                seq: 0,
            },
            Timestamp::from_nanos(ts),
            1,
            EventKind::DnsMessage(Box::new(DnsMessageRecord {
                flow: FlowId {
                    id: 1,
                    orig: ep(1, 40_000),
                    resp: ep(2, 53),
                    proto: 17,
                    vlan: [0; 3],
                    macs: [None, None],
                },
                from_orig: false,
                tx_id: 0,
                message,
            })),
        );
        let mut renderer = EveRenderer::default();
        prop_assert!(renderer.render(&event), "a DNS message has an EVE form");
        let objects = eve_objects(renderer.line())?;
        prop_assert_eq!(objects.len(), 1);
        let v = &objects[0];
        prop_assert_eq!(&v["event_type"], "dns");
        let eve_ts = Timestamp::from_nanos(ts).eve();
        prop_assert_eq!(v["timestamp"].as_str(), Some(eve_ts.as_str()));
        let dns = &v["dns"];
        prop_assert_eq!(&dns["type"], "response");
        let queries = dns["queries"].as_array().expect("queries");
        prop_assert_eq!(queries.len(), questions.len());
        for (q, name) in queries.iter().zip(&questions) {
            prop_assert_eq!(q["rrname"].as_str(), Some(name.as_str()));
        }
        let empty = Vec::new();
        let got = dns["answers"].as_array().unwrap_or(&empty);
        prop_assert_eq!(got.len(), answers.len());
        for (g, (name, ttl, rdata)) in got.iter().zip(&answers) {
            prop_assert_eq!(g["rrname"].as_str(), Some(name.as_str()));
            prop_assert_eq!(g["ttl"].as_u64(), Some(u64::from(*ttl)));
            let text = g["rdata"].as_str().expect("rdata");
            match rdata {
                RData::A(a) => prop_assert_eq!(text.parse::<Ipv4Addr>().ok(), Some(*a)),
                RData::Aaaa(a) => prop_assert_eq!(text.parse::<Ipv6Addr>().ok(), Some(*a)),
                RData::Name(n) => prop_assert_eq!(text, &**n),
                other => return Err(TestCaseError::fail(format!("unexpected {other:?}"))),
            }
        }
    }

    /// `text::escape_bytes` leaves no control character in its output, keeps text free of
    /// control characters as it is, and otherwise writes `\xNN` for each byte of a control
    /// character or of invalid UTF-8 (checked against an independent rendering).
    #[test]
    fn escape_bytes_escapes_exactly_controls_and_invalid_utf8(
        bytes in proptest::collection::vec(any::<u8>(), 0..256),
        text in tricky_string(),
    ) {
        for input in [&bytes[..], text.as_bytes()] {
            let out = tcheck_engine::text::escape_bytes(input);
            prop_assert!(!out.chars().any(char::is_control), "{:?}", out);
            prop_assert_eq!(&out, &escape_reference(input));
        }
        let plain: String = text.chars().filter(|c| !c.is_control()).collect();
        prop_assert_eq!(tcheck_engine::text::escape_bytes(plain.as_bytes()), plain);
    }

    /// A timestamp from seconds and nanoseconds gives them back, and its EVE text is
    /// `YYYY-MM-DDTHH:MM:SS.uuuuuu+0000` with the microseconds of the timestamp and the same
    /// date and time as its ISO text.
    #[test]
    fn timestamp_parts_and_eve_text(
        secs in -9_000_000_000i64..9_000_000_000,
        nanos in 0u32..1_000_000_000,
    ) {
        let t = Timestamp::from_parts(secs, nanos);
        prop_assert_eq!(t.secs(), secs);
        prop_assert_eq!(t.subsec_nanos(), nanos);
        let eve = t.eve();
        let iso = t.iso_seconds();
        prop_assert_eq!(eve.len(), 31);
        prop_assert_eq!(&eve[..19], &iso[..19]);
        prop_assert_eq!(&eve[19..20], ".");
        prop_assert_eq!(&eve[20..26], format!("{:06}", nanos / 1000));
        prop_assert_eq!(&eve[26..], "+0000");
        prop_assert_eq!(&iso[19..], "Z");
        let shape = eve.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            10 => b == b'T',
            13 | 16 => b == b':',
            19 => b == b'.',
            26 => b == b'+',
            _ => b.is_ascii_digit(),
        });
        prop_assert!(shape, "{}", eve);
    }

    /// EVE timestamps sort as text the way the instants they print (to the microsecond)
    /// sort, over the whole range a timestamp holds (years 1677 to 2262).
    #[test]
    fn eve_timestamps_sort_like_time(a in any::<i64>(), b in any::<i64>()) {
        let (ta, tb) = (Timestamp::from_nanos(a), Timestamp::from_nanos(b));
        prop_assert_eq!(
            ta.eve().cmp(&tb.eve()),
            a.div_euclid(1000).cmp(&b.div_euclid(1000))
        );
    }

    /// A flow's key, stable hash and Community ID are the same from both directions; the
    /// key says which side is `lo`; the Community ID is `1:` and the base-64 of 20 bytes.
    #[test]
    fn flow_identity_is_symmetric(a in endpoint(), b in endpoint(), proto in any::<u8>()) {
        let (k1, a_lo) = FlowKey::of(a, b, proto);
        let (k2, b_lo) = FlowKey::of(b, a, proto);
        prop_assert_eq!(k1, k2);
        prop_assert_eq!(k1.stable_hash(), k2.stable_hash());
        prop_assert_eq!(a_lo, a <= b);
        prop_assert_eq!(b_lo, b <= a);
        prop_assert_eq!(k1.lo, a.min(b));
        let flow = |orig, resp| FlowId {
            id: 1,
            orig,
            resp,
            proto,
            vlan: [0; 3],
            macs: [None, None],
        };
        let id = community_id(&flow(a, b), 0);
        prop_assert_eq!(&id, &community_id(&flow(b, a), 0));
        use base64::Engine as _;
        let digest = id
            .strip_prefix("1:")
            .and_then(|s| base64::engine::general_purpose::STANDARD.decode(s).ok());
        prop_assert_eq!(digest.map(|d| d.len()), Some(20), "{}", id);
    }
}

/// Records larger than what the file source reads at a time (64 KiB), up to 1 MiB, and
/// small ones between them, in classic pcap and pcapng, read back whole and in order, with
/// no warning; the same file cut inside the large record gives the packets before it and a
/// warning.
#[test]
fn records_larger_than_one_read_come_back_whole() {
    let sizes = [
        60,
        (64 << 10) - 16,
        64 << 10,
        (64 << 10) + 1,
        20,
        200_000,
        262_144,
        40,
        (1 << 20) - 4096,
        1,
    ];
    let packets: Vec<PcapPacket> = sizes
        .iter()
        .enumerate()
        .map(|(i, &n)| PcapPacket {
            secs: 1_700_000_000 + u32::try_from(i).unwrap(),
            frac: 7,
            data: (0..n).map(|b| (b * 7 + i) as u8).collect(),
            cut_off: 0,
        })
        .collect();
    let flavour = PcapFlavour {
        nanos: false,
        big_endian: false,
    };
    let (pcap, ends) = pcap_file(flavour, &packets);
    let (ng, _) = pcapng_file(false, TsResol::Default, &packets);
    for file in [&pcap, &ng] {
        let (got, warnings) = read_back(file).expect("a capture");
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(got.len(), packets.len());
        for ((_, data), p) in got.iter().zip(&packets) {
            assert!(
                data == &p.data,
                "a record of {} bytes changed",
                p.data.len()
            );
        }
    }
    // Cut in the middle of the 200,000-byte record (the sixth).
    let cut = ends[4] + 100_000;
    let (got, warnings) = read_back(&pcap[..cut]).expect("a capture");
    assert_eq!(got.len(), 5);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
}

/// `packets` packets one second apart between two hosts, two of three a DNS query over UDP
/// and one a TCP SYN; a source port comes back every 700 packets, after the UDP timeout, so
/// its flow ends (in a sweep, or when the port comes back) and starts afresh.
fn timing_out_traffic(packets: u32) -> Vec<u8> {
    let query = |id: u16| {
        let mut q = id.to_be_bytes().to_vec();
        q.extend_from_slice(&[1, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
        q.extend_from_slice(b"\x07example\x03com\x00\x00\x01\x00\x01");
        q
    };
    let (client, server) = (IpAddr::from([10, 0, 0, 1]), IpAddr::from([10, 0, 0, 2]));
    capture_of((0..packets).map(|i| {
        let sport = 10_000 + u16::try_from(i % 700).unwrap();
        let id = u16::try_from(i % 65_536).unwrap();
        if i % 3 == 0 {
            let seg = TcpSpec {
                sport,
                dport: 443,
                seq: i,
                ack: 0,
                flags: 0x02,
                window: 1024,
                payload: Vec::new(),
            };
            ip_packet(client, server, 64, 6, &tcp(&seg))
        } else {
            ip_packet(client, server, 64, 17, &udp(sport, 53, &query(id)))
        }
    }))
}

/// Fails unless one thread's run and two threads' give the same events in the same order
/// and byte-identical EVE.
fn assert_same_on_one_and_two_threads(one: &Collect, two: &Collect) {
    let order = |c: &Collect| c.events.iter().map(|e| (e.order, e.ts)).collect::<Vec<_>>();
    let (a, b) = (order(one), order(two));
    let first = a.iter().zip(&b).position(|(x, y)| x != y);
    assert!(
        a.len() == b.len() && first.is_none(),
        "events differ between 1 and 2 threads: {} and {} events, first difference at {first:?}",
        a.len(),
        b.len()
    );
    assert!(one.eve == two.eve, "EVE differs between 1 and 2 threads");
}

/// A run longer than a batch (16,384 packets), where flows time out and start again while
/// it goes: one thread reads each batch in chunks of 256 packets and runs them as they come,
/// several threads read chunks of 2,048 a chunk ahead; the events and the EVE must not
/// differ, nor the flows that the sweep at the end of each batch ends.
#[test]
fn a_run_of_several_batches_is_independent_of_threads() {
    let file = timing_out_traffic(40_000);
    let one = run_engine(&file, 1);
    let two = run_engine(&file, 2);
    let flows = one
        .eve
        .split(|b| *b == b'\n')
        .filter(|l| l.windows(19).any(|w| w == b"\"event_type\":\"flow\""))
        .count();
    assert!(
        flows > 2 * 700,
        "flows did not time out and start again: {flows} flow lines"
    );
    assert_same_on_one_and_two_threads(&one, &two);
}

/// A capture whose last batch ends right after a full chunk of one thread (256 packets)
/// and inside a chunk of two threads' (2,048): one thread hands out the last packet's
/// events, then the last sweep's in a chunk of their own; two threads sort both together.
/// The sweep carries the last packet's number, and both its events (flows that timed out)
/// and the last packet's (a DNS query, a flow that ended when its port came back) must come
/// out in one order. Before the sweep's events sorted after the packet's own, two threads
/// interleaved them by flow id.
#[test]
fn a_capture_ending_after_a_full_chunk_is_independent_of_threads() {
    for packets in [9 * 256, 16_384 + 9 * 256] {
        let file = timing_out_traffic(packets);
        assert_same_on_one_and_two_threads(&run_engine(&file, 1), &run_engine(&file, 2));
    }
}

proptest! {
    #![proptest_config(cases(64))]

    /// Whole-engine runs over generated traffic (UDP and TCP on dissector ports, random
    /// payloads, IPv4 and IPv6, in a pcap) succeed; every EVE line is a JSON object with an
    /// `event_type`; and one thread and three give the same events in the same order and
    /// byte-identical EVE.
    #[test]
    fn engine_output_is_json_and_independent_of_threads(
        packets in proptest::collection::vec(
            (address_pair(), any::<bool>(), l4_spec(service_port(), 400)),
            1..24,
        ),
    ) {
        let file = capture_of(packets.iter().map(|((a, b), reply, l4)| {
            let (src, dst) = if *reply { (*b, *a) } else { (*a, *b) };
            ip_packet(src, dst, 64, l4.proto(), &l4.bytes())
        }));
        let one = run_engine(&file, 1);
        let three = run_engine(&file, 3);
        for v in eve_objects(&one.eve)? {
            prop_assert!(v["event_type"].is_string(), "{}", v);
        }
        prop_assert_eq!(
            one.events.iter().map(|e| (e.order, e.ts)).collect::<Vec<_>>(),
            three.events.iter().map(|e| (e.order, e.ts)).collect::<Vec<_>>()
        );
        prop_assert!(one.eve == three.eve, "EVE differs between 1 and 3 threads");
    }

    /// DNS queries built from generated messages, sent over UDP to port 53 in a pcap,
    /// reach the engine's DNS dissector whole: one `DnsMessage` event per datagram, in
    /// order, holding the questions and answers written.
    #[test]
    fn dns_over_udp_reaches_the_engine_whole(
        messages in proptest::collection::vec((message_spec(), 1024u16..5000), 1..8),
    ) {
        let built: Vec<BuiltMessage> = messages.iter().map(|(m, _)| build_message(m)).collect();
        let file = capture_of(built.iter().zip(&messages).map(|(b, (_, sport))| {
            ip_packet(
                IpAddr::from([10, 0, 0, 1]),
                IpAddr::from([10, 0, 0, 2]),
                64,
                17,
                &udp(*sport, 53, &b.bytes),
            )
        }));
        let out = run_engine(&file, 1);
        let got: Vec<&Message> = out
            .events
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::DnsMessage(m) => Some(&m.message),
                _ => None,
            })
            .collect();
        prop_assert_eq!(got.len(), built.len());
        for (m, b) in got.iter().zip(&built) {
            prop_assert_eq!(&m.questions[..], b.questions.as_slice());
            prop_assert_eq!(&m.records, &b.records);
            prop_assert_eq!(m.anomalies, 0);
        }
    }
}
