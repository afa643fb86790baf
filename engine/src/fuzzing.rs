//! Entry points for fuzzing: each feeds arbitrary bytes to one parser (or to the whole
//! engine) the way traffic, or an indicator file, would reach it. The cargo-fuzz targets in
//! `fuzz/` call these, and a normal test replays the committed corpus through them, so a crash
//! found once stays fixed. They return nothing: the property is "no panic, bounded work".

use std::io::Cursor;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

use crate::config::Config;
use crate::decode::{
    decode_link, parse_ip, parse_transport, DefragConfig, Defragmenter, LinkOutcome,
};
use crate::event::{Event, FlowId};
use crate::flow::key::Endpoint;
use crate::ioc::import::{self, Format};
use crate::ioc::{IocKind, IocSet, Whitelist};
use crate::output::EventSink;
use crate::proto::Ctx;
use crate::source::{FileSource, LinkType};
use crate::tcp::Chunk;
use crate::time::Timestamp;

/// A sink that only counts, so that fuzzing exercises the renderers too.
struct Render(u64);

impl EventSink for Render {
    fn event(&mut self, e: &Event) -> crate::Result<()> {
        // Rendering is part of the attack surface: build the EVE and Zeek objects.
        let mut eve = Vec::new();
        crate::output::eve::render_for_fuzzing(e, &mut eve);
        self.0 += eve.len() as u64;
        Ok(())
    }
}

/// The whole engine on a capture file's bytes.
pub fn capture(data: &[u8]) {
    let Ok(mut src) = FileSource::from_reader(Path::new("fuzz"), Cursor::new(data.to_vec()), None)
    else {
        return;
    };
    let config = Config {
        threads: 1,
        ..Config::default()
    };
    let mut sink = Render(0);
    let _ = crate::analyze(&mut src, &config, &mut sink, &mut |_, _| {});
}

/// Link-layer, IP, transport and fragment decoding on one frame. The first byte picks the
/// link type.
pub fn packet(data: &[u8]) {
    let Some((&sel, frame)) = data.split_first() else {
        return;
    };
    let links = [
        LinkType::ETHERNET,
        LinkType::RAW,
        LinkType::NULL,
        LinkType::LOOP,
        LinkType::LINUX_SLL,
        LinkType::LINUX_SLL2,
        LinkType::IPV4,
        LinkType::IPV6,
    ];
    let link = links[usize::from(sel) % links.len()];
    let mut defrag = Defragmenter::new(DefragConfig::default());
    if let LinkOutcome::Ip { offset, .. } = decode_link(link, frame) {
        let Some(ip_bytes) = frame.get(offset..) else {
            return;
        };
        if let Ok(ip) = parse_ip(ip_bytes) {
            let _ = parse_transport(ip.proto, ip.payload);
            let _ = crate::decode::tunnel::inner(&ip);
            if ip.fragment.is_some() {
                let _ = defrag.add(Timestamp::ZERO, ip_bytes, &ip);
            }
        }
    }
}

/// What a parser needs when it runs outside a flow table (fuzzing, parser tests): a flow
/// from 10.0.0.1:40000 to 10.0.0.2, the events it emits, their sequence and a cache.
pub(crate) struct Detached {
    flow: FlowId,
    /// The events emitted so far.
    pub events: Vec<Event>,
    seq: u64,
    cache: crate::proto::cache::Cache,
}

impl Detached {
    /// A flow of transport `proto` to port `resp_port`.
    pub(crate) fn new(proto: u8, resp_port: u16) -> Self {
        let end = |last, port| Endpoint {
            addr: IpAddr::V4(Ipv4Addr::new(10, 0, 0, last)),
            port,
        };
        Detached {
            flow: FlowId {
                id: 1,
                orig: end(1, 40000),
                resp: end(2, resp_port),
                proto,
                vlan: [0; 3],
                macs: [None, None],
            },
            events: Vec::new(),
            seq: 0,
            cache: crate::proto::cache::Cache::default(),
        }
    }

    /// The records that `pick` takes from the events emitted so far (those of one kind).
    #[cfg(test)]
    pub(crate) fn records<'a, T>(
        &'a self,
        pick: impl Fn(&'a crate::event::EventKind) -> Option<&'a T>,
    ) -> Vec<&'a T> {
        self.events.iter().filter_map(|e| pick(&e.kind)).collect()
    }

    /// The parsers' context, at the first packet and time zero.
    pub(crate) fn ctx(&mut self) -> Ctx<'_> {
        Ctx {
            flow: &self.flow,
            ts: Timestamp::ZERO,
            pkt: 1,
            events: &mut self.events,
            seq: &mut self.seq,
            cache: &mut self.cache,
            detect: None,
        }
    }
}

/// Splits fuzz input into a two-way conversation: pieces separated by a `0xfe` byte (the
/// committed corpus is built for this), the first byte of each piece choosing the direction.
fn conversation(data: &[u8]) -> Vec<(bool, &[u8])> {
    data.split(|b| *b == 0xfe)
        .map(|p| match p.split_first() {
            Some((d, rest)) => (d & 1 == 0, rest),
            None => (true, p),
        })
        .take(256)
        .collect()
}

/// Runs a stream parser of the application layer over a TCP conversation on `port`.
fn stream(data: &[u8], port: u16) {
    let mut run = Detached::new(6, port);
    let mut ctx = run.ctx();
    let mut app = crate::proto::AppLayer::new(6, 40000, port);
    for (orig, piece) in conversation(data) {
        if piece.first() == Some(&0xfd) {
            app.stream(&mut ctx, orig, Chunk::Gap(u64::from(piece.len() as u32)));
        } else {
            app.stream(&mut ctx, orig, Chunk::Data(piece));
        }
    }
    app.finish(&mut ctx);
    render(&run.events);
}

/// Runs a datagram parser over a UDP conversation on `port`.
fn datagrams(data: &[u8], port: u16) {
    let mut run = Detached::new(17, port);
    let mut ctx = run.ctx();
    let mut app = crate::proto::AppLayer::new(17, 40000, port);
    for (orig, piece) in conversation(data) {
        app.datagram(&mut ctx, orig, piece);
    }
    app.finish(&mut ctx);
    render(&run.events);
}

/// Renders events as EVE lines (the renderers are fuzzed too).
fn render(events: &[Event]) {
    let mut out = Vec::new();
    for e in events {
        crate::output::eve::render_for_fuzzing(e, &mut out);
    }
}

/// DNS: one message parsed, then the stateful UDP and TCP paths.
pub fn dns(data: &[u8]) {
    let _ = crate::proto::dns::parser::parse(data);
    datagrams(data, 53);
    stream(data, 53);
}

/// TLS over TCP.
pub fn tls(data: &[u8]) {
    let _ = crate::proto::tls::parser::parse_client_hello(data);
    let _ = crate::proto::tls::parser::parse_server_hello(data);
    let _ = crate::proto::tls::x509::cert_info(data);
    stream(data, 443);
}

/// HTTP/1.x over TCP.
pub fn http(data: &[u8]) {
    let _ = crate::proto::http::parser::parse_request(data);
    let _ = crate::proto::http::parser::parse_response(data);
    stream(data, 80);
}

/// QUIC datagrams.
pub fn quic(data: &[u8]) {
    let _ = crate::proto::quic::parser::long_header(data);
    let _ = crate::proto::quic::parser::frames(data);
    datagrams(data, 443);
}

/// DHCP datagrams.
pub fn dhcp(data: &[u8]) {
    let _ = crate::proto::dhcp::parser::parse(data);
    datagrams(data, 67);
}

/// Indicator files: the first byte picks the format (index into TinyCheck feed, TinyCheck
/// whitelist, Echap CSV, STIX 2.1, MISP, plain text, Suricata rules), the rest is the file.
/// The format is also detected from the bytes under a few file names. What an import gives is
/// indexed as indicators and as a whitelist, and both are looked up with the first indicators'
/// own values (and a subdomain of each name) and with a few fixed names and addresses.
pub fn iocs(data: &[u8]) {
    let Some((&sel, file)) = data.split_first() else {
        return;
    };
    for name in ["fuzz", "fuzz.json", "FUZZ.CSV", "fuzz.stix2", "fuzz.rules"] {
        let _ = Format::detect(name, file);
    }
    let formats = [
        Format::TinyCheck,
        Format::TinyCheckWhitelist,
        Format::EchapCsv,
        Format::Stix2,
        Format::Misp,
        Format::Text,
        Format::SuricataRules,
    ];
    let format = formats[usize::from(sel) % formats.len()];
    let Ok(found) = import::read(format, "fuzz", file, "fuzz") else {
        return;
    };
    let set = IocSet::new(found.iocs.iter().cloned());
    let whitelist = Whitelist::new(found.iocs.iter().cloned());
    let _ = (set.len(), set.counts(), whitelist.len());
    let fixed_names = [
        "a.b.example.com",
        "EXAMPLE.COM.",
        "*.x.zip",
        "",
        ".",
        "a..b",
    ];
    let fixed_ips = [
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
        IpAddr::V4(Ipv4Addr::new(10, 1, 2, 3)),
        IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        IpAddr::V4(Ipv4Addr::BROADCAST),
        IpAddr::V6(Ipv6Addr::LOCALHOST),
        IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)),
    ];
    for name in fixed_names {
        let _ = set.match_domain(name);
        let _ = set.match_nameserver(name);
        let _ = whitelist.domain(name);
    }
    for ip in fixed_ips {
        let _ = set.match_ip(ip);
        let _ = whitelist.ip(ip);
    }
    for ioc in found.iocs.iter().take(16) {
        let v = ioc.value.as_str();
        match ioc.kind {
            IocKind::Ip | IocKind::Cidr => {
                // A network's own address, and the address of an indicator.
                let addr = v.split('/').next().unwrap_or(v);
                if let Ok(ip) = addr.parse::<IpAddr>() {
                    let _ = set.match_ip(ip);
                    let _ = whitelist.ip(ip);
                }
            }
            _ => {
                let sub = format!("x.{v}");
                for name in [v, sub.as_str()] {
                    let _ = set.match_domain(name);
                    let _ = set.match_nameserver(name);
                    let _ = whitelist.domain(name);
                }
                let _ = set.match_cert(v, v);
                let _ = set.match_ja3(v);
                let _ = set.match_ja4(v);
            }
        }
    }
}
