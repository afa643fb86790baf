//! Suricata's EVE JSON: one event per line, the common header (`timestamp`, `flow_id`,
//! `pcap_cnt`, `event_type`, addresses, `proto`, `app_proto`) then the event's own object.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::conn::{EveFlow, EveTcp};
use super::EventSink;
use crate::error::{Error, Result};
use crate::event::{Event, EventKind, FlowId};
use crate::proto::dns::log::eve as dns_eve;
pub use crate::proto::dns::log::eve::DnsEveOptions;
use crate::time::Timestamp;

/// Suricata's name of a transport protocol in EVE.
fn eve_proto(proto: u8) -> &'static str {
    match proto {
        6 => "TCP",
        17 => "UDP",
        1 => "ICMP",
        58 => "IPv6-ICMP",
        _ => "unknown",
    }
}

/// Appends `"key":value` (JSON) to `out`, with a leading comma.
fn field<T: Serialize + ?Sized>(out: &mut Vec<u8>, key: &str, value: &T) {
    out.push(b',');
    out.push(b'"');
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(b"\":");
    // Serializing plain data into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, value);
}

/// Appends `"key":n`, with a leading comma. Always inlined, so that the key's length is
/// known where it is copied (a call per field cost ~120 instructions).
#[inline(always)]
fn num_field(out: &mut Vec<u8>, key: &str, n: u64) {
    out.extend_from_slice(b",\"");
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(b"\":");
    super::json::push_u64(out, n);
}

/// Appends `"key":"value"` (escaped), with a leading comma (inlined as [`num_field`]).
#[inline(always)]
fn str_field(out: &mut Vec<u8>, key: &str, value: &str) {
    out.extend_from_slice(b",\"");
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(b"\":");
    super::json::string(out, value);
}

/// Appends `"key":"address"`; IPv4 is formatted by hand (the common case on a hot path).
#[inline(always)]
fn addr_field(out: &mut Vec<u8>, key: &str, addr: std::net::IpAddr) {
    out.extend_from_slice(b",\"");
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(b"\":\"");
    super::push_ip(out, addr);
    out.push(b'"');
}

/// The common header of an event. `reverse` prints the responder as the source.
pub(crate) struct Header<'a> {
    pub ts: Timestamp,
    pub flow: &'a FlowId,
    pub pcap_cnt: Option<u64>,
    pub event_type: &'static str,
    pub reverse: bool,
    pub app_proto: Option<&'a str>,
    /// The protocol before a change (HTTP `CONNECT` then TLS: `http`).
    pub app_proto_orig: Option<&'a str>,
    /// Every MAC address of the originator's and responder's sides (flow events).
    pub macs: Option<&'a crate::flow::macs::MacSet>,
    /// Print `flow_id` (not for a packet that belongs to no flow).
    pub flow_id: bool,
}

impl Header<'_> {
    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"timestamp\":\"");
        out.extend_from_slice(&self.ts.eve_text());
        out.push(b'"');
        if self.flow_id {
            num_field(out, "flow_id", self.flow.id);
        }
        if let Some(n) = self.pcap_cnt {
            num_field(out, "pcap_cnt", n);
        }
        str_field(out, "event_type", self.event_type);
        let (src, dst) = if self.reverse {
            (self.flow.resp, self.flow.orig)
        } else {
            (self.flow.orig, self.flow.resp)
        };
        if self.flow.vlan[0] != 0 {
            let n = self.flow.vlan.iter().take_while(|v| **v != 0).count();
            field(out, "vlan", &self.flow.vlan.get(..n).unwrap_or(&[]));
        }
        addr_field(out, "src_ip", src.addr);
        let icmp = matches!(self.flow.proto, 1 | 58);
        if !icmp {
            num_field(out, "src_port", u64::from(src.port));
        }
        addr_field(out, "dest_ip", dst.addr);
        if !icmp {
            num_field(out, "dest_port", u64::from(dst.port));
        }
        num_field(
            out,
            "ip_v",
            if self.flow.orig.addr.is_ipv4() { 4 } else { 6 },
        );
        str_field(out, "proto", eve_proto(self.flow.proto));
        if icmp {
            num_field(out, "icmp_type", u64::from(src.port));
            num_field(out, "icmp_code", u64::from(dst.port));
        }
        if let Some(a) = self.app_proto {
            str_field(out, "app_proto", a);
        }
        if let Some(o) = self.app_proto_orig {
            str_field(out, "app_proto_orig", o);
        }
    }

    /// Suricata's `ether` object: the MAC addresses of both sides (all of them for a flow,
    /// the first otherwise), in the event's direction.
    fn write_ether(&self, out: &mut Vec<u8>) {
        let mac = |m: &[u8; 6]| super::mac(m);
        match self.macs {
            Some(macs) => {
                let (orig, resp) = (macs.all(0), macs.all(1));
                if orig.is_empty() && resp.is_empty() {
                    return;
                }
                let (src, dst) = if self.reverse {
                    (resp, orig)
                } else {
                    (orig, resp)
                };
                let src: Vec<String> = src.iter().map(mac).collect();
                let dst: Vec<String> = dst.iter().map(mac).collect();
                out.extend_from_slice(b",\"ether\":");
                let mut o = super::json::Json::object(out);
                o.raw("src_macs", |w| {
                    let _ = serde_json::to_writer(w, &src);
                })
                .raw("dest_macs", |w| {
                    let _ = serde_json::to_writer(w, &dst);
                });
                o.close();
            }
            None => {
                let [o, r] = self.flow.macs;
                let (src, dst) = if self.reverse { (r, o) } else { (o, r) };
                if let (Some(src), Some(dst)) = (src, dst) {
                    out.extend_from_slice(b",\"ether\":");
                    let mut o = super::json::Json::object(out);
                    o.str("src_mac", &mac(&src)).str("dest_mac", &mac(&dst));
                    o.close();
                }
            }
        }
    }
}

/// What goes into EVE.
#[derive(Clone, Debug, Default)]
pub struct EveOptions {
    /// Event types written (`alert`, `dns`, `flow`...); `None` writes all.
    pub types: Option<std::collections::BTreeSet<String>>,
    /// What `dns` events hold: format version, requests and responses, record types, answer
    /// formats (Suricata's `eve-log.types.dns` options).
    pub dns: DnsEveOptions,
    /// Suricata's `tls.custom`: the TLS fields to print (`subject`, `issuer`, `serial`,
    /// `fingerprint`, `sni`, `version`, `not_before`, `not_after`, `ja3`, `ja3s`, `ja4`,
    /// `client_alpns`, `server_alpns`, `session_resumed`, `client_handshake`,
    /// `server_handshake`); `None` prints the default set.
    pub tls_custom: Option<Vec<String>>,
    /// Print the MAC addresses (`ether`), as Suricata's `ethernet: yes`.
    pub ethernet: bool,
    /// Print each flow's Community ID with this seed (Suricata's `community-id: yes`).
    pub community_id: Option<u16>,
}

/// Renders events as EVE lines, one event at a time (some events give several lines).
#[derive(Clone, Debug, Default)]
pub struct EveRenderer {
    line: Vec<u8>,
    options: EveOptions,
}

/// The EVE writer: an [`EveRenderer`] into a file.
///
/// The lines are rendered straight into the writer's buffer (not into the renderer's line
/// and then copied into a `BufWriter`'s), and the buffer goes to the file when it passes
/// 256 KiB.
#[derive(Debug)]
pub struct EveWriter {
    path: PathBuf,
    file: File,
    pending: Vec<u8>,
    renderer: EveRenderer,
}

impl EveWriter {
    /// Bytes of rendered lines held before they are written.
    const FLUSH_AT: usize = 256 * 1024;

    /// Writes EVE to `path` (created or truncated).
    pub fn create(path: &Path) -> Result<Self> {
        Self::create_with(path, EveOptions::default())
    }

    /// Writes EVE to `path` with these options.
    pub fn create_with(path: &Path, options: EveOptions) -> Result<Self> {
        let file = File::create(path).map_err(|source| Error::Output {
            path: path.to_path_buf(),
            cause: source,
        })?;
        Ok(EveWriter {
            path: path.to_path_buf(),
            file,
            // Room for a full buffer and 64 KiB more for the line that takes it past the
            // threshold, so that the buffer rarely grows.
            pending: Vec::with_capacity(Self::FLUSH_AT + 64 * 1024),
            renderer: EveRenderer {
                line: Vec::new(),
                options,
            },
        })
    }

    /// Writes `bytes` to the file.
    fn write_out(file: &mut File, path: &Path, bytes: &[u8]) -> Result<()> {
        file.write_all(bytes).map_err(|source| Error::Output {
            path: path.to_path_buf(),
            cause: source,
        })
    }

    /// Writes the buffered lines to the file.
    fn write_pending(&mut self) -> Result<()> {
        let written = Self::write_out(&mut self.file, &self.path, &self.pending);
        self.pending.clear();
        written
    }
}

impl Drop for EveWriter {
    /// Writes what is buffered when the writer is dropped without [`EventSink::finish`] (a
    /// run that stopped on an error keeps the lines rendered before it).
    fn drop(&mut self) {
        if !self.pending.is_empty() {
            let _ = self.write_pending();
        }
    }
}

/// The EVE lines of a batch of events, rendered by the workers: the batch cut into runs of
/// consecutive events, each run's lines in one buffer, in order.
#[derive(Debug, Default)]
pub struct RenderedEve {
    /// The runs' lines.
    pub runs: Vec<Vec<u8>>,
}

impl RenderedEve {
    /// Renders `events` with copies of `renderer`, runs of [`Self::RUN`] events in parallel
    /// on the current rayon pool, into buffers taken from `spare` (emptied) when it has
    /// some: a new buffer of half a MiB is fresh memory that the kernel must map and clear,
    /// and that is freed by another thread than the one that filled it.
    pub fn render(renderer: &EveRenderer, events: &[Event], spare: &mut Vec<Vec<u8>>) -> Self {
        use rayon::prelude::*;
        let mut runs: Vec<Vec<u8>> = (0..events.len().div_ceil(Self::RUN))
            .map(|_| spare.pop().unwrap_or_default())
            .collect();
        events
            .par_chunks(Self::RUN)
            .zip(runs.par_iter_mut())
            .for_each(|(run, out)| {
                let mut r = renderer.clone();
                out.clear();
                // Lines average about 640 bytes on the benchmark capture: room for 1 KiB
                // each spares growing (and copying) the run's buffer at its end.
                out.reserve(run.len() * 1024);
                for e in run {
                    r.render_onto(e, out);
                }
            });
        RenderedEve { runs }
    }

    /// Gives back the buffers of the lines once written, into `spare`, for the next
    /// chunks: at most [`Self::SPARE_RUNS`] of them, none larger than
    /// [`Self::SPARE_RUN_BYTES`], so that what is kept stays bounded.
    pub fn recycle(self, spare: &mut Vec<Vec<u8>>) {
        for run in self.runs {
            if spare.len() < Self::SPARE_RUNS && run.capacity() <= Self::SPARE_RUN_BYTES {
                spare.push(run);
            }
        }
    }

    /// Buffers kept for reuse at most (the benchmark capture writes 195,680 EVE lines over
    /// 317 chunks of 2,048 packets: about 620 a chunk, a few runs of [`Self::RUN`] events;
    /// two chunks hold runs at once, one being rendered and one being written; the bound
    /// leaves room for chunks with many more events).
    pub const SPARE_RUNS: usize = 48;

    /// The largest buffer kept for reuse.
    pub const SPARE_RUN_BYTES: usize = 2 << 20;

    /// Events per run.
    pub const RUN: usize = 512;
}

impl EveRenderer {
    /// The lines last rendered (each with its newline).
    pub fn line(&self) -> &[u8] {
        &self.line
    }

    fn enabled(&self, event_type: &str) -> bool {
        self.options
            .types
            .as_ref()
            .is_none_or(|t| t.contains(event_type))
    }

    /// Writes the common header (and `ether`, `community_id` when asked for).
    fn header(&mut self, header: &Header<'_>) {
        write_header(&mut self.line, &self.options, header);
    }

    /// Builds one line: the header, then `key` and what `body` writes; returns true.
    fn emit_with(
        &mut self,
        header: &Header<'_>,
        key: &str,
        body: impl FnOnce(&mut Vec<u8>),
    ) -> bool {
        emit_line(&mut self.line, &self.options, header, key, body)
    }

    /// Builds one line: the header, then `key: body` objects; returns true.
    fn emit(&mut self, header: &Header<'_>, parts: &[(&str, &dyn erased::Json)]) -> bool {
        self.header(header);
        for (k, v) in parts {
            self.line.push(b',');
            self.line.push(b'"');
            self.line.extend_from_slice(k.as_bytes());
            self.line.extend_from_slice(b"\":");
            v.write_json(&mut self.line);
        }
        self.line.extend_from_slice(b"}\n");
        true
    }
}

/// Appends one line to `line`: the header, then `key` and what `body` writes; returns true.
fn emit_line(
    line: &mut Vec<u8>,
    options: &EveOptions,
    header: &Header<'_>,
    key: &str,
    body: impl FnOnce(&mut Vec<u8>),
) -> bool {
    write_header(line, options, header);
    line.extend_from_slice(b",\"");
    line.extend_from_slice(key.as_bytes());
    line.extend_from_slice(b"\":");
    body(line);
    line.extend_from_slice(b"}\n");
    true
}

/// Writes the common header of an event, with `ether` and `community_id` when `options`
/// ask for them.
fn write_header(line: &mut Vec<u8>, options: &EveOptions, header: &Header<'_>) {
    header.write(line);
    if options.ethernet {
        header.write_ether(line);
    }
    if let Some(seed) = options.community_id {
        let id = super::community_id::community_id(header.flow, seed);
        field(line, "community_id", &id);
    }
}

/// Suricata's `metadata` (`flowbits`, the flowbits set on the flow; `flowvars`, its
/// variables as `{name: value}` objects, unprintable bytes but CR and LF as `.`, as
/// Suricata prints them), and `traffic` for the
/// bits named `traffic/id/NAME` and `traffic/label/NAME`.
fn write_traffic(line: &mut Vec<u8>, flowbits: &[String], flowvars: &[(String, Vec<u8>)]) {
    if flowbits.is_empty() && flowvars.is_empty() {
        return;
    }
    let pick = |prefix: &str| -> Vec<&str> {
        flowbits
            .iter()
            .filter_map(|b| b.strip_prefix(prefix))
            .collect()
    };
    let (ids, labels) = (pick("traffic/id/"), pick("traffic/label/"));
    let mut metadata = serde_json::Map::new();
    if !flowbits.is_empty() {
        metadata.insert("flowbits".into(), serde_json::json!(flowbits));
    }
    if !flowvars.is_empty() {
        let vars: Vec<serde_json::Value> = flowvars
            .iter()
            .map(|(name, value)| {
                let printable: String = value
                    .iter()
                    .map(|&b| {
                        if b.is_ascii_graphic() || matches!(b, b' ' | b'\n' | b'\r') {
                            char::from(b)
                        } else {
                            '.'
                        }
                    })
                    .collect();
                serde_json::json!({ name.as_str(): printable })
            })
            .collect();
        metadata.insert("flowvars".into(), serde_json::Value::Array(vars));
    }
    field(line, "metadata", &metadata);
    if !ids.is_empty() || !labels.is_empty() {
        let mut t = serde_json::Map::new();
        if !ids.is_empty() {
            t.insert("id".into(), serde_json::json!(ids));
        }
        if !labels.is_empty() {
            t.insert("label".into(), serde_json::json!(labels));
        }
        field(line, "traffic", &t);
    }
}

/// The name Suricata prints for a link type (`packet_info.linktype_name`).
fn linktype_name(linktype: u32) -> &'static str {
    match linktype {
        0 => "NULL",
        1 => "EN10MB",
        12 | 101 => "RAW",
        108 => "LOOP",
        113 => "LINUX_SLL",
        228 => "IPv4",
        229 => "IPv6",
        276 => "LINUX_SLL2",
        _ => "UNKNOWN",
    }
}

/// Object-safe JSON serialization, so one line can mix body types.
pub(crate) mod erased {
    /// A value that writes itself as JSON.
    pub trait Json {
        /// Appends the JSON of `self`.
        fn write_json(&self, out: &mut Vec<u8>);
    }

    impl<T: serde::Serialize> Json for T {
        fn write_json(&self, out: &mut Vec<u8>) {
            let _ = serde_json::to_writer(&mut *out, self);
        }
    }
}

fn app_proto_of(c: &crate::event::ConnRecord) -> Option<&'static str> {
    // Suricata names: http, tls, dns, quic, dhcp, ssh; the last protocol recognised wins
    // (HTTP CONNECT then TLS is "tls"). Suricata has no parser for NetBIOS name service,
    // which Zeek (and so this engine) reads as DNS: its detection fails there.
    c.detected.last().map(|s| match *s {
        "ssl" => "tls",
        "dns" if crate::proto::dns::is_netbios(&c.flow) => "failed",
        other => other,
    })
}

/// The protocol a flow started with, when it changed (Suricata's `app_proto_orig`).
fn app_proto_orig_of(c: &crate::event::ConnRecord) -> Option<&'static str> {
    match c.detected.as_slice() {
        [first, .., _] => Some(match *first {
            "ssl" => "tls",
            other => other,
        }),
        _ => None,
    }
}

/// Renders an event as EVE into `out` (the fuzzing entry points use it).
pub(crate) fn render_for_fuzzing(event: &Event, out: &mut Vec<u8>) {
    let mut r = EveRenderer::default();
    if r.render(event) {
        out.extend_from_slice(r.line());
    }
}

impl EventSink for EveWriter {
    fn eve_renderer(&self) -> Option<&EveRenderer> {
        Some(&self.renderer)
    }

    fn batch(&mut self, events: &[Event], eve: Option<&RenderedEve>) -> Result<()> {
        let Some(rendered) = eve else {
            for e in events {
                self.event(e)?;
            }
            return Ok(());
        };
        // The lines buffered before go first.
        if !self.pending.is_empty() {
            self.write_pending()?;
        }
        for run in &rendered.runs {
            Self::write_out(&mut self.file, &self.path, run)?;
        }
        Ok(())
    }

    fn event(&mut self, event: &Event) -> Result<()> {
        if self.renderer.render_onto(event, &mut self.pending)
            && self.pending.len() >= Self::FLUSH_AT
        {
            self.write_pending()?;
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        self.write_pending()?;
        self.file.flush().map_err(|source| Error::Output {
            path: self.path.clone(),
            cause: source,
        })
    }
}

impl EveRenderer {
    /// Renders `event`; false if it has no EVE form.
    pub fn render(&mut self, event: &Event) -> bool {
        self.line.clear();
        self.append(event)
    }

    /// Renders `event` at the end of `out`, which keeps what it held; false (and `out` as
    /// it was) if the event has no EVE form. Spares copying the lines out of the renderer.
    pub fn render_onto(&mut self, event: &Event, out: &mut Vec<u8>) -> bool {
        std::mem::swap(&mut self.line, out);
        let start = self.line.len();
        let rendered = self.append(event);
        if !rendered {
            self.line.truncate(start);
        }
        std::mem::swap(&mut self.line, out);
        rendered
    }

    /// Renders `event` after what the line holds; false if it has no EVE form.
    fn append(&mut self, event: &Event) -> bool {
        let event_type = match &event.kind {
            EventKind::Conn(_) => "flow",
            EventKind::DnsMessage(_) => "dns",
            EventKind::Http(_) => "http",
            EventKind::Tls(_) => "tls",
            EventKind::Quic(_) => "quic",
            EventKind::Dhcp(_) => "dhcp",
            EventKind::Anomaly(_) => "anomaly",
            EventKind::Alert(_) => "alert",
            EventKind::Dns(_) | EventKind::X509(_) => return false,
        };
        if !self.enabled(event_type) {
            return false;
        }
        match &event.kind {
            EventKind::Conn(c) => {
                let header = Header {
                    ts: c.start,
                    flow: &c.flow,
                    pcap_cnt: None,
                    event_type: "flow",
                    reverse: false,
                    app_proto: app_proto_of(c),
                    app_proto_orig: app_proto_orig_of(c),
                    macs: Some(&c.macs),
                    flow_id: true,
                };
                let flow = EveFlow::new(c);
                let tcp = EveTcp::new(c);
                self.emit_with(&header, "flow", |out| {
                    flow.write(out);
                    if let Some(tcp) = &tcp {
                        out.extend_from_slice(b",\"tcp\":");
                        tcp.write(out);
                    }
                    write_traffic(out, &c.flowbits, &c.flowvars);
                })
            }
            EventKind::DnsMessage(m) => {
                let opts = &self.options.dns;
                let mut any = false;
                for line in dns_eve::lines(m, opts) {
                    let header = Header {
                        ts: event.ts,
                        flow: &m.flow,
                        pcap_cnt: Some(event.pcap_cnt),
                        event_type: "dns",
                        reverse: line.packet_direction() && !m.from_orig,
                        app_proto: None,
                        app_proto_orig: None,
                        macs: None,
                        flow_id: true,
                    };
                    any |= emit_line(&mut self.line, &self.options, &header, "dns", |out| {
                        dns_eve::write(m, line, opts, out)
                    });
                }
                any
            }
            EventKind::Http(h) => {
                let header = Header {
                    ts: event.ts,
                    flow: &h.flow,
                    pcap_cnt: Some(event.pcap_cnt),
                    event_type: "http",
                    reverse: false,
                    app_proto: None,
                    app_proto_orig: None,
                    macs: None,
                    flow_id: true,
                };
                let tx = u64::from(h.trans_depth.saturating_sub(1));
                self.emit(
                    &header,
                    &[
                        ("tx_id", &tx),
                        ("http", &crate::proto::http::log::EveHttp::new(h)),
                    ],
                )
            }
            EventKind::Tls(t) => {
                let header = Header {
                    ts: event.ts,
                    flow: &t.flow,
                    pcap_cnt: Some(event.pcap_cnt),
                    event_type: "tls",
                    reverse: false,
                    app_proto: None,
                    app_proto_orig: None,
                    macs: None,
                    flow_id: true,
                };
                match &self.options.tls_custom {
                    Some(custom) => {
                        let v = crate::proto::tls::log::eve_tls_custom(t, custom);
                        self.emit(&header, &[("tls", &v)])
                    }
                    None => {
                        let tls = crate::proto::tls::log::EveTls::new(t);
                        self.emit_with(&header, "tls", |out| tls.write(out))
                    }
                }
            }
            EventKind::Quic(q) => {
                let header = Header {
                    ts: event.ts,
                    flow: &q.flow,
                    pcap_cnt: Some(event.pcap_cnt),
                    event_type: "quic",
                    reverse: false,
                    app_proto: None,
                    app_proto_orig: None,
                    macs: None,
                    flow_id: true,
                };
                self.emit(
                    &header,
                    &[("quic", &crate::proto::quic::log::EveQuic::new(q))],
                )
            }
            EventKind::Dhcp(d) => {
                let header = Header {
                    ts: event.ts,
                    flow: &d.flow,
                    pcap_cnt: Some(event.pcap_cnt),
                    event_type: "dhcp",
                    reverse: !d.from_orig,
                    app_proto: None,
                    app_proto_orig: None,
                    macs: None,
                    flow_id: true,
                };
                self.emit(
                    &header,
                    &[("dhcp", &crate::proto::dhcp::log::EveDhcp::new(d))],
                )
            }
            EventKind::Anomaly(a) => {
                let Some(flow) = &a.flow else {
                    return false;
                };
                let header = Header {
                    ts: event.ts,
                    flow,
                    pcap_cnt: Some(event.pcap_cnt),
                    event_type: "anomaly",
                    reverse: false,
                    app_proto: None,
                    app_proto_orig: None,
                    macs: None,
                    flow_id: true,
                };
                let name = a.kind.to_ascii_uppercase();
                self.emit_with(&header, "anomaly", |out| {
                    let mut o = super::json::Json::object(out);
                    o.str("app_proto", a.layer)
                        .str("type", "applayer")
                        .str("event", &name)
                        .str("layer", "proto_parser");
                    o.close();
                })
            }
            EventKind::Alert(a) => {
                let header = Header {
                    ts: event.ts,
                    flow: &a.flow,
                    pcap_cnt: Some(event.pcap_cnt),
                    event_type: "alert",
                    reverse: !a.to_server,
                    app_proto: a.app_proto,
                    app_proto_orig: None,
                    macs: None,
                    flow_id: !a.flowless,
                };
                self.render_alert(&header, a);
                true
            }
            EventKind::Dns(_) | EventKind::X509(_) => false,
        }
    }

    fn render_alert(&mut self, header: &Header<'_>, a: &crate::event::AlertRecord) {
        use crate::event::AlertApp;
        self.header(header);
        if let Some(tx) = a.tx_id {
            field(&mut self.line, "tx_id", &tx);
        }
        let sig = &a.signature;
        self.line.extend_from_slice(b",\"alert\":");
        {
            let mut o = super::json::Json::object(&mut self.line);
            o.str("action", if a.blocked { "blocked" } else { "allowed" })
                .num("gid", u64::from(sig.gid))
                .num("signature_id", u64::from(sig.sid))
                .num("rev", u64::from(sig.rev))
                .str("signature", &sig.msg)
                .str("category", sig.category.as_deref().unwrap_or(""))
                .num("severity", u64::from(sig.severity));
            if !sig.metadata.is_empty() {
                o.raw("metadata", |out| {
                    let _ = serde_json::to_writer(out, &sig.metadata);
                });
            }
            o.close();
        }
        field(
            &mut self.line,
            "direction",
            if a.to_server {
                "to_server"
            } else {
                "to_client"
            },
        );
        if let Some((linktype, bytes)) = a.packet.as_deref() {
            use base64::Engine as _;
            let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
            field(&mut self.line, "packet", &b64);
            field(
                &mut self.line,
                "packet_info",
                &serde_json::json!({
                    "linktype": linktype,
                    "linktype_name": linktype_name(*linktype),
                }),
            );
        }
        if let Some((payload, stream)) = &a.payload {
            use base64::Engine as _;
            let b64 = base64::engine::general_purpose::STANDARD.encode(payload);
            field(&mut self.line, "payload", &b64);
            field(&mut self.line, "stream", &u8::from(*stream));
        }
        write_traffic(&mut self.line, &a.flowbits, &a.flowvars);
        match &a.app {
            Some(AlertApp::Http(h)) => {
                field(
                    &mut self.line,
                    "http",
                    &crate::proto::http::log::EveHttp::new(h),
                );
            }
            Some(AlertApp::Tls(t)) => {
                self.line.extend_from_slice(b",\"tls\":");
                crate::proto::tls::log::EveTls::new(t).write(&mut self.line);
            }
            Some(AlertApp::Dns(m)) => {
                self.line.extend_from_slice(b",\"dns\":");
                dns_eve::write(
                    m,
                    dns_eve::Line::Message,
                    &DnsEveOptions::default(),
                    &mut self.line,
                );
            }
            None => {}
        }
        self.line.extend_from_slice(b"}\n");
    }
}
