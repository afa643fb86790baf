//! Suricata's EVE `dns` object, in its two formats, with the options of Suricata's
//! `eve-log.types.dns` configuration.
//!
//! - Version 3 (the default): one event per message, `type` `request` or `response`, the
//!   questions in `queries`, the answers in `answers` (detailed) and `grouped`.
//! - Version 2: a request gives one `query` event per question; a response gives one
//!   `answer` event with the first question's `rrname` and `rrtype` at the top. Both are
//!   written in the flow's direction (client to server), as Suricata does.
//!
//! As in Suricata, every DNS message is its own transaction (`tx_id` counts messages), each
//! character-string of a TXT record is an answer of its own, and a message is logged only
//! when one of its questions has a record type the configuration enables.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::fmt::Write as _;

use super::suricata_rrtype;
use crate::output::json::{self, Json};
use crate::proto::byte_strings::ByteStrings;
use crate::proto::dns::parser::{rtype, Message, RData, Record, Section};
use crate::proto::dns::DnsMessageRecord;

/// The record type NULL (raw data, logged as text by Suricata).
const NULL: u16 = 10;
/// The record type SSHFP (SSH key fingerprint).
const SSHFP: u16 = 44;

/// What Suricata's `eve-log.types.dns` configuration selects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnsEveOptions {
    /// Format version: 3 (one event per message) or 2 (`query` and `answer` events).
    pub version: u8,
    /// Log requests (`requests:`).
    pub requests: bool,
    /// Log responses (`responses:`).
    pub responses: bool,
    /// Record types logged (`types:`); `None` logs all.
    pub types: Option<BTreeSet<u16>>,
    /// Answers as a list of records (`formats: [detailed]`).
    pub detailed: bool,
    /// Answers' data grouped by record type (`formats: [grouped]`).
    pub grouped: bool,
}

impl Default for DnsEveOptions {
    fn default() -> Self {
        DnsEveOptions {
            version: 3,
            requests: true,
            responses: true,
            types: None,
            detailed: true,
            grouped: true,
        }
    }
}

/// The record types Suricata's configuration can name (its `types:` list), lower case.
const CONFIG_TYPES: &[(&str, u16)] = &[
    ("a", 1),
    ("ns", 2),
    ("md", 3),
    ("mf", 4),
    ("cname", 5),
    ("soa", 6),
    ("mb", 7),
    ("mg", 8),
    ("mr", 9),
    ("null", 10),
    ("wks", 11),
    ("ptr", 12),
    ("hinfo", 13),
    ("minfo", 14),
    ("mx", 15),
    ("txt", 16),
    ("rp", 17),
    ("afsdb", 18),
    ("x25", 19),
    ("isdn", 20),
    ("rt", 21),
    ("nsap", 22),
    ("nsapptr", 23),
    ("sig", 24),
    ("key", 25),
    ("px", 26),
    ("gpos", 27),
    ("aaaa", 28),
    ("loc", 29),
    ("nxt", 30),
    ("srv", 33),
    ("atma", 34),
    ("naptr", 35),
    ("kx", 36),
    ("cert", 37),
    ("a6", 38),
    ("dname", 39),
    ("opt", 41),
    ("apl", 42),
    ("ds", 43),
    ("sshfp", 44),
    ("ipseckey", 45),
    ("rrsig", 46),
    ("nsec", 47),
    ("dnskey", 48),
    ("dhcid", 49),
    ("nsec3", 50),
    ("nsec3param", 51),
    ("tlsa", 52),
    ("hip", 55),
    ("cds", 59),
    ("cdnskey", 60),
    ("https", 65),
    ("spf", 99),
    ("tkey", 249),
    ("tsig", 250),
    ("maila", 254),
    ("any", 255),
    ("uri", 256),
];

impl DnsEveOptions {
    /// The record type of a name of Suricata's `types:` list (`a`, `aaaa`, `mx`...; any
    /// case); `None` for a name Suricata does not know.
    pub fn rrtype_by_name(name: &str) -> Option<u16> {
        CONFIG_TYPES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.trim()))
            .map(|&(_, t)| t)
    }

    /// Everything is logged, as with no configuration at all.
    fn logs_everything(&self) -> bool {
        self.requests && self.responses && self.types.is_none() && self.detailed && self.grouped
    }

    /// Whether records of type `t` are logged. Suricata keeps one flag per type it can name:
    /// once any option narrows the logging, types it cannot name are not logged.
    pub fn rrtype_enabled(&self, t: u16) -> bool {
        if self.logs_everything() {
            return true;
        }
        CONFIG_TYPES.iter().any(|&(_, known)| known == t)
            && self.types.as_ref().is_none_or(|s| s.contains(&t))
    }

    /// Whether a message is logged: its direction is enabled and one of its questions has
    /// an enabled type (a message without questions is not logged).
    fn logs(&self, msg: &Message) -> bool {
        let direction = if msg.header.qr() {
            self.responses
        } else {
            self.requests
        };
        direction && msg.questions.iter().any(|q| self.rrtype_enabled(q.qtype))
    }
}

/// One EVE line of a DNS message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Line {
    /// Version 3: the whole message.
    Message,
    /// Version 2: the request's question at this index.
    Query(usize),
    /// Version 2: the response.
    Answer,
}

impl Line {
    /// Whether the line's addresses are the packet's (version 3: a response goes from the
    /// server) rather than the flow's (version 2: always from the client).
    pub(crate) fn packet_direction(self) -> bool {
        matches!(self, Line::Message)
    }
}

/// The EVE lines of a message under these options (none when it is not logged).
pub(crate) fn lines(m: &DnsMessageRecord, opts: &DnsEveOptions) -> impl Iterator<Item = Line> {
    // NetBIOS name service is not DNS to Suricata: it has no parser for it.
    let logged = !super::super::is_netbios(&m.flow) && opts.logs(&m.message);
    let (single, queries) = if !logged {
        (None, 0)
    } else if opts.version != 2 {
        (Some(Line::Message), 0)
    } else if m.message.header.qr() {
        (Some(Line::Answer), 0)
    } else {
        // Suricata stops at the first question whose type is not logged.
        let logged_questions = m
            .message
            .questions
            .iter()
            .take_while(|q| opts.rrtype_enabled(q.qtype))
            .count();
        (None, logged_questions)
    };
    single.into_iter().chain((0..queries).map(Line::Query))
}

/// Writes the `dns` object of one line.
pub(crate) fn write(m: &DnsMessageRecord, line: Line, opts: &DnsEveOptions, out: &mut Vec<u8>) {
    match line {
        Line::Message => write_v3(m, opts, out),
        Line::Query(i) => write_v2_query(m, i, out),
        Line::Answer => write_v2_answer(m, opts, out),
    }
}

/// Suricata's text for bytes from the wire: as they are when they are valid UTF-8, else
/// ASCII as it is and every other byte as `\xNN`.
fn wire_text(b: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(b) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => {
            let mut s = String::with_capacity(b.len() + 8);
            for &c in b {
                if c.is_ascii() {
                    s.push(char::from(c));
                } else {
                    let _ = write!(s, "\\x{c:02x}");
                }
            }
            Cow::Owned(s)
        }
    }
}

/// Suricata's name of a response code.
fn rcode_text(rcode: u8) -> Cow<'static, str> {
    match rcode {
        0..=10 => super::rcode_name(rcode),
        _ => Cow::Owned(rcode.to_string()),
    }
}

/// One entry of `answers` or `authorities`: a record, or one character-string of a TXT
/// record (Suricata lists each string as an answer of its own).
#[derive(Clone, Copy)]
struct Entry<'a> {
    rec: &'a Record,
    txt: Option<&'a [u8]>,
}

/// The entries of the records of one section, in order (an iterator, so that writing a
/// message allocates no list of them).
#[derive(Clone)]
struct Entries<'a> {
    records: std::slice::Iter<'a, Record>,
    section: Section,
    /// The TXT record being listed, and its strings not listed yet.
    txt: Option<(&'a Record, ByteStrings<'a>)>,
}

impl<'a> Iterator for Entries<'a> {
    type Item = Entry<'a>;

    fn next(&mut self) -> Option<Entry<'a>> {
        if let Some((rec, strings)) = self.txt.as_mut() {
            if let Some(s) = strings.next() {
                return Some(Entry { rec, txt: Some(s) });
            }
            self.txt = None;
        }
        let rec = self.records.find(|r| r.section == self.section)?;
        match &rec.rdata {
            RData::Txt(strings) if rec.rtype == rtype::TXT && !strings.is_empty() => {
                let mut strings = strings.iter();
                let first = strings.next();
                self.txt = Some((rec, strings));
                Some(Entry { rec, txt: first })
            }
            _ => Some(Entry { rec, txt: None }),
        }
    }
}

/// The entries of the records of a section.
fn entries(msg: &Message, section: Section) -> Entries<'_> {
    Entries {
        records: msg.records.iter(),
        section,
        txt: None,
    }
}

/// What Suricata logs of an entry's data.
enum Data<'a> {
    /// `rdata`: an IPv4 address (written straight into the line, no text allocated).
    Ipv4(std::net::Ipv4Addr),
    /// `rdata`: an IPv6 address (written straight into the line).
    Ipv6(std::net::Ipv6Addr),
    /// `rdata`: a name or text.
    Text(Cow<'a, str>),
    /// `soa`.
    Soa(&'a RData),
    /// `srv`.
    Srv(&'a RData),
    /// `sshfp`: algorithm, fingerprint type, fingerprint.
    Sshfp(u8, u8, &'a [u8]),
    /// Nothing (the types Suricata does not decode).
    Nothing,
}

impl Data<'_> {
    /// The key of an object form.
    fn key(&self) -> Option<&'static str> {
        match self {
            Data::Soa(_) => Some("soa"),
            Data::Srv(_) => Some("srv"),
            Data::Sshfp(..) => Some("sshfp"),
            Data::Ipv4(_) | Data::Ipv6(_) | Data::Text(_) | Data::Nothing => None,
        }
    }
}

fn data<'a>(e: &Entry<'a>) -> Data<'a> {
    let r = e.rec;
    if let Some(s) = e.txt {
        return Data::Text(wire_text(s));
    }
    match (&r.rdata, r.rtype) {
        (RData::A(a), _) => Data::Ipv4(*a),
        (RData::Aaaa(a), _) => Data::Ipv6(*a),
        (RData::Name(n), rtype::CNAME | rtype::NS | rtype::PTR) => Data::Text(Cow::Borrowed(n)),
        (RData::Mx { exchange, .. }, _) => Data::Text(Cow::Borrowed(exchange)),
        (RData::Txt(_), rtype::TXT) => Data::Text(Cow::Borrowed("")),
        (RData::Raw(b), NULL) => Data::Text(wire_text(b)),
        (RData::Soa { .. }, _) => Data::Soa(&r.rdata),
        (RData::Srv { .. }, _) => Data::Srv(&r.rdata),
        (RData::Raw(b), SSHFP) => match b.as_slice() {
            [algo, fp_type, fp @ ..] => Data::Sshfp(*algo, *fp_type, fp),
            _ => Data::Nothing,
        },
        _ => Data::Nothing,
    }
}

/// Writes an IPv4 address as a JSON string.
fn write_ipv4(out: &mut Vec<u8>, a: std::net::Ipv4Addr) {
    out.push(b'"');
    crate::output::push_ipv4(out, a);
    out.push(b'"');
}

/// Writes an IPv6 address as a JSON string (as `Display` prints it).
fn write_ipv6(out: &mut Vec<u8>, a: std::net::Ipv6Addr) {
    use std::io::Write as _;
    // Writing to a Vec cannot fail.
    let _ = write!(out, "\"{a}\"");
}

/// Writes the object form of `d` (SOA, SRV, SSHFP).
fn write_object(out: &mut Vec<u8>, d: &Data<'_>) {
    let mut o = Json::object(out);
    match d {
        Data::Soa(RData::Soa {
            mname,
            rname,
            serial,
            refresh,
            retry,
            expire,
            minimum,
        }) => {
            o.str("mname", mname)
                .str("rname", rname)
                .num("serial", u64::from(*serial))
                .num("refresh", u64::from(*refresh))
                .num("retry", u64::from(*retry))
                .num("expire", u64::from(*expire))
                .num("minimum", u64::from(*minimum));
        }
        Data::Srv(RData::Srv {
            priority,
            weight,
            port,
            target,
        }) => {
            o.num("priority", u64::from(*priority))
                .num("weight", u64::from(*weight))
                .num("port", u64::from(*port))
                .str("name", target);
        }
        Data::Sshfp(algo, fp_type, fp) => {
            let hex: Vec<String> = fp.iter().map(|b| format!("{b:02x}")).collect();
            o.str("fingerprint", &hex.join(":"))
                .num("algo", u64::from(*algo))
                .num("type", u64::from(*fp_type));
        }
        _ => {}
    }
    o.close();
}

/// Writes one entry of `answers` or `authorities`.
fn write_detail(out: &mut Vec<u8>, e: &Entry<'_>) {
    let r = e.rec;
    let mut o = Json::object(out);
    o.str("rrname", &r.name)
        .str("rrtype", &suricata_rrtype(r.rtype))
        .num("ttl", u64::from(r.ttl));
    let d = data(e);
    match (&d, d.key()) {
        (Data::Text(t), _) => {
            o.str("rdata", t);
        }
        (Data::Ipv4(a), _) => {
            o.raw("rdata", |out| write_ipv4(out, *a));
        }
        (Data::Ipv6(a), _) => {
            o.raw("rdata", |out| write_ipv6(out, *a));
        }
        (_, Some(key)) => {
            o.raw(key, |out| write_object(out, &d));
        }
        _ => {}
    }
    o.close();
}

/// Writes the data of the answers grouped by record type, types in order of appearance.
fn write_grouped(out: &mut Vec<u8>, answers: Entries<'_>) {
    // A response's answers are of a few types: up to four are kept on the stack.
    let mut types: smallvec::SmallVec<[u16; 4]> = smallvec::SmallVec::new();
    for e in answers.clone() {
        if !types.contains(&e.rec.rtype) {
            types.push(e.rec.rtype);
        }
    }
    let mut g = Json::object(out);
    for t in types {
        let items = answers
            .clone()
            .filter(|e| e.rec.rtype == t)
            .map(|e| data(&e))
            .filter(|d| !matches!(d, Data::Nothing));
        if items.clone().next().is_none() {
            continue;
        }
        g.raw(&suricata_rrtype(t), |out| {
            json::array(out, items, |out, d| match d {
                Data::Text(s) => json::string(out, &s),
                Data::Ipv4(a) => write_ipv4(out, a),
                Data::Ipv6(a) => write_ipv6(out, a),
                other => write_object(out, &other),
            })
        });
    }
    g.close();
}

/// Writes the header flags that are set (`qr`, `aa`, `tc`, `rd`, `ra`, `z`).
fn write_flags(o: &mut Json<'_>, flags: u16) {
    o.flags(
        u64::from(flags),
        &[
            ("qr", 0x8000),
            ("aa", 0x0400),
            ("tc", 0x0200),
            ("rd", 0x0100),
            ("ra", 0x0080),
            ("z", 0x0040),
        ],
    );
}

/// Writes `answers` and `grouped` as the formats ask, then `authorities`.
fn write_records(o: &mut Json<'_>, msg: &Message, opts: &DnsEveOptions) {
    let answers = entries(msg, Section::Answer);
    if answers.clone().next().is_some() {
        if opts.detailed {
            o.raw("answers", |out| {
                json::array(out, answers.clone(), |out, e| write_detail(out, &e))
            });
        }
        if opts.grouped {
            o.raw("grouped", |out| write_grouped(out, answers));
        }
    }
    let auth = entries(msg, Section::Authority);
    if auth.clone().next().is_some() {
        o.raw("authorities", |out| {
            json::array(out, auth, |out, e| write_detail(out, &e))
        });
    }
}

/// Writes the `dns` object of format version 3.
fn write_v3(m: &DnsMessageRecord, opts: &DnsEveOptions, out: &mut Vec<u8>) {
    let msg = &m.message;
    let h = &msg.header;
    let response = h.qr();
    let mut o = Json::object(out);
    o.num("version", 3)
        .str("type", if response { "response" } else { "request" })
        .num("tx_id", m.tx_id)
        .num("id", u64::from(h.id))
        .raw("flags", |out| json::hex_string(out, u64::from(h.flags)));
    write_flags(&mut o, h.flags);
    o.num("opcode", u64::from(h.opcode()));
    if response {
        o.str("rcode", &rcode_text(h.rcode()));
    }
    let queries = msg
        .questions
        .iter()
        .filter(|q| opts.rrtype_enabled(q.qtype));
    if queries.clone().next().is_some() {
        o.raw("queries", |out| {
            json::array(out, queries, |out, q| {
                let mut qo = Json::object(out);
                qo.str("rrname", &q.name)
                    .str("rrtype", &suricata_rrtype(q.qtype));
                qo.close();
            })
        });
    }
    write_records(&mut o, msg, opts);
    o.close();
}

/// Writes a version-2 `query` object for the request's question `i`.
fn write_v2_query(m: &DnsMessageRecord, i: usize, out: &mut Vec<u8>) {
    let h = &m.message.header;
    let mut o = Json::object(out);
    o.num("version", 2)
        .str("type", "query")
        .num("id", u64::from(h.id));
    if let Some(q) = m.message.questions.get(i) {
        o.str("rrname", &q.name)
            .str("rrtype", &suricata_rrtype(q.qtype));
    }
    o.num("tx_id", m.tx_id);
    if h.flags & 0x0040 != 0 {
        o.bool("z", true);
    }
    o.num("opcode", u64::from(h.opcode()));
    o.close();
}

/// Writes a version-2 `answer` object for a response.
fn write_v2_answer(m: &DnsMessageRecord, opts: &DnsEveOptions, out: &mut Vec<u8>) {
    let msg = &m.message;
    let h = &msg.header;
    let mut o = Json::object(out);
    o.num("version", 2)
        .str("type", "answer")
        .num("id", u64::from(h.id))
        .raw("flags", |out| json::hex_string(out, u64::from(h.flags)));
    write_flags(&mut o, h.flags);
    o.num("opcode", u64::from(h.opcode()));
    if let Some(q) = msg.questions.first() {
        o.str("rrname", &q.name)
            .str("rrtype", &suricata_rrtype(q.qtype));
    }
    o.str("rcode", &rcode_text(h.rcode()));
    write_records(&mut o, msg, opts);
    o.close();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::FlowId;
    use crate::flow::key::Endpoint;
    use crate::proto::dns::parser;

    fn record(bytes: &[u8], port: u16) -> DnsMessageRecord {
        let ep = |a: u8, port: u16| Endpoint {
            addr: std::net::IpAddr::from([10, 0, 0, a]),
            port,
        };
        DnsMessageRecord {
            flow: FlowId {
                id: 1,
                orig: ep(1, 40_000),
                resp: ep(2, port),
                proto: 17,
                vlan: [0; 3],
                macs: [None, None],
            },
            from_orig: false,
            tx_id: 1,
            message: parser::parse(bytes).expect("parses"),
        }
    }

    /// A response to `t.example TXT`: one TXT record of two strings, one NULL record.
    fn txt_and_null() -> Vec<u8> {
        let mut m = vec![0, 7, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0];
        m.extend_from_slice(b"\x01t\x07example\x00\x00\x10\x00\x01");
        m.extend_from_slice(&[0xc0, 12, 0, 16, 0, 1, 0, 0, 0, 3, 0, 4, 2, b'h', b'i', 0]);
        m.extend_from_slice(&[0xc0, 12, 0, 10, 0, 1, 0, 0, 0, 3, 0, 4, b'V', 3, 0xc5, 1]);
        m
    }

    fn render(m: &DnsMessageRecord, opts: &DnsEveOptions) -> Vec<serde_json::Value> {
        lines(m, opts)
            .map(|l| {
                let mut out = Vec::new();
                write(m, l, opts, &mut out);
                serde_json::from_slice(&out).expect("valid json")
            })
            .collect()
    }

    #[test]
    fn txt_strings_are_answers_of_their_own_and_null_is_text() {
        let m = record(&txt_and_null(), 53);
        let v = render(&m, &DnsEveOptions::default());
        assert_eq!(v.len(), 1);
        let answers = v[0]["answers"].as_array().expect("answers");
        assert_eq!(answers.len(), 3);
        assert_eq!(answers[0]["rdata"], "hi");
        assert_eq!(answers[1]["rdata"], "");
        assert_eq!(answers[2]["rrtype"], "NULL");
        assert_eq!(answers[2]["rdata"], "V\u{3}\\xc5\u{1}");
        assert_eq!(v[0]["grouped"]["TXT"][1], "");
    }

    #[test]
    fn version_2_answer_and_formats() {
        let m = record(&txt_and_null(), 53);
        let opts = DnsEveOptions {
            version: 2,
            grouped: false,
            ..DnsEveOptions::default()
        };
        assert_eq!(lines(&m, &opts).collect::<Vec<_>>(), vec![Line::Answer]);
        assert!(!Line::Answer.packet_direction());
        let v = render(&m, &opts);
        assert_eq!(v[0]["type"], "answer");
        assert_eq!(v[0]["rrname"], "t.example");
        assert_eq!(v[0]["rrtype"], "TXT");
        assert!(v[0].get("grouped").is_none());
    }

    #[test]
    fn options_select_messages() {
        let m = record(&txt_and_null(), 53);
        let no_responses = DnsEveOptions {
            responses: false,
            ..DnsEveOptions::default()
        };
        assert_eq!(lines(&m, &no_responses).count(), 0);
        let mx_only = DnsEveOptions {
            types: DnsEveOptions::rrtype_by_name("MX").map(|t| BTreeSet::from([t])),
            ..DnsEveOptions::default()
        };
        assert_eq!(lines(&m, &mx_only).count(), 0);
        let txt_only = DnsEveOptions {
            types: Some(BTreeSet::from([rtype::TXT])),
            ..DnsEveOptions::default()
        };
        assert_eq!(
            lines(&m, &txt_only).collect::<Vec<_>>(),
            vec![Line::Message]
        );
        assert_eq!(
            lines(&record(&txt_and_null(), 137), &DnsEveOptions::default()).count(),
            0
        );
    }

    #[test]
    fn unknown_types_are_logged_only_without_options() {
        let narrowed = DnsEveOptions {
            requests: false,
            ..DnsEveOptions::default()
        };
        assert!(DnsEveOptions::default().rrtype_enabled(65_000));
        assert!(!narrowed.rrtype_enabled(65_000));
        assert!(narrowed.rrtype_enabled(1));
    }
}
