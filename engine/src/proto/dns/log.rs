//! DNS renderings: Zeek's `dns.log` here, Suricata's EVE `dns` in [`eve`].

pub mod eve;

use std::net::IpAddr;

use std::borrow::Cow;

use serde::Serialize;

use super::parser::{rtype, RData, Record, Section};
use super::DnsRecord;
use crate::output::secs;

/// Zeek's name of a query type.
pub fn qtype_name(t: u16) -> Cow<'static, str> {
    let n = match t {
        1 => "A",
        2 => "NS",
        3 => "MD",
        4 => "MF",
        5 => "CNAME",
        6 => "SOA",
        7 => "MB",
        8 => "MG",
        9 => "MR",
        10 => "NULL",
        11 => "WKS",
        12 => "PTR",
        13 => "HINFO",
        14 => "MINFO",
        15 => "MX",
        16 => "TXT",
        17 => "RP",
        18 => "AFSDB",
        19 => "X25",
        20 => "ISDN",
        21 => "RT",
        22 => "NSAP",
        23 => "NSAP-PTR",
        24 => "SIG",
        25 => "KEY",
        26 => "PX",
        27 => "GPOS",
        28 => "AAAA",
        29 => "LOC",
        30 => "NXT",
        31 => "EID",
        32 => "NIMLOC",
        33 => "SRV",
        34 => "ATMA",
        35 => "NAPTR",
        36 => "KX",
        37 => "CERT",
        38 => "A6",
        39 => "DNAME",
        40 => "SINK",
        41 => "OPT",
        42 => "APL",
        43 => "DS",
        44 => "SSHFP",
        45 => "IPSECKEY",
        46 => "RRSIG",
        47 => "NSEC",
        48 => "DNSKEY",
        49 => "DHCID",
        50 => "NSEC3",
        51 => "NSEC3PARAM",
        52 => "TLSA",
        53 => "SMIMEA",
        55 => "HIP",
        56 => "NINFO",
        57 => "RKEY",
        58 => "TALINK",
        59 => "CDS",
        60 => "CDNSKEY",
        61 => "OPENPGPKEY",
        62 => "CSYNC",
        63 => "ZONEMD",
        64 => "SVCB",
        65 => "HTTPS",
        99 => "SPF",
        100 => "UINFO",
        101 => "UID",
        102 => "GID",
        103 => "UNSPEC",
        249 => "TKEY",
        250 => "TSIG",
        251 => "IXFR",
        252 => "AXFR",
        253 => "MAILB",
        254 => "MAILA",
        255 => "*",
        256 => "URI",
        257 => "CAA",
        32768 => "TA",
        32769 => "DLV",
        _ => return Cow::Owned(format!("query-{t}")),
    };
    Cow::Borrowed(n)
}

/// Suricata's name of a record type (its `rrtype`), e.g. `A`, `TYPE65534` when unknown.
pub fn suricata_rrtype(t: u16) -> Cow<'static, str> {
    match t {
        255 => Cow::Borrowed("ANY"),
        30
        | 31
        | 32
        | 34
        | 36
        | 40
        | 53..=58
        | 62
        | 63
        | 100..=103
        | 253
        | 254
        | 256
        | 32768
        | 32769 => Cow::Owned(format!("TYPE{t}")),
        _ => match qtype_name(t) {
            Cow::Owned(_) => Cow::Owned(format!("TYPE{t}")),
            n => n,
        },
    }
}

/// Zeek's name of a query class.
pub fn qclass_name(c: u16) -> String {
    match c {
        1 => "C_INTERNET".into(),
        2 => "C_CSNET".into(),
        3 => "C_CHAOS".into(),
        4 => "C_HESIOD".into(),
        254 => "C_NONE".into(),
        255 => "C_ANY".into(),
        _ => format!("qclass-{c}"),
    }
}

/// Zeek's name of a response code.
pub fn rcode_name(r: u8) -> Cow<'static, str> {
    let n = match r {
        0 => "NOERROR",
        1 => "FORMERR",
        2 => "SERVFAIL",
        3 => "NXDOMAIN",
        4 => "NOTIMP",
        5 => "REFUSED",
        6 => "YXDOMAIN",
        7 => "YXRRSET",
        8 => "NXRRSET",
        9 => "NOTAUTH",
        10 => "NOTZONE",
        _ => return Cow::Owned(format!("unknown-{r}")),
    };
    Cow::Borrowed(n)
}

/// Zeek's name of an operation code (NetBIOS has its own).
pub fn opcode_name(op: u8, netbios: bool) -> String {
    let n = if netbios {
        match op {
            0 => "netbios-query",
            5 => "netbios-registration",
            6 => "netbios-release",
            7 => "netbios-WACK",
            8 => "netbios-refresh",
            _ => return format!("netbios-unknown-{op}"),
        }
    } else {
        match op {
            0 => "query",
            1 => "iquery",
            2 => "status",
            4 => "notify",
            5 => "dynamic-update",
            6 => "dso",
            _ => return format!("unknown-{op}"),
        }
    };
    n.to_string()
}

fn lossy(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len());
    for &c in b {
        if c.is_ascii_graphic() || c == b' ' {
            s.push(char::from(c));
        } else {
            s.push_str(&format!("\\x{c:02x}"));
        }
    }
    s
}

/// Zeek's text for an answer record; `None` for the types Zeek does not log as answers
/// (TKEY, TSIG).
pub fn zeek_answer(r: &Record) -> Option<String> {
    if matches!(r.rtype, rtype::TKEY | rtype::TSIG) {
        return None;
    }
    Some(match &r.rdata {
        RData::A(a) => crate::output::ipv4_text(*a),
        RData::Aaaa(a) => a.to_string(),
        RData::Name(n) => n.to_string(),
        RData::Mx { exchange, .. } => exchange.to_string(),
        RData::Soa { mname, .. } => mname.to_string(),
        RData::Srv { target, .. } => target.to_string(),
        RData::Txt(strings) => {
            let kind = if r.rtype == rtype::SPF { "SPF" } else { "TXT" };
            strings
                .iter()
                .map(|s| format!("{kind} {} {}", s.len(), lossy(s)))
                .collect::<Vec<_>>()
                .join(" ")
        }
        RData::Rrsig {
            type_covered,
            signer,
            ..
        } => format!("RRSIG {type_covered} {signer}"),
        RData::Dnskey { algorithm, .. } => format!("DNSKEY {algorithm}"),
        RData::Ds {
            algorithm,
            digest_type,
            ..
        } => format!("DS {algorithm} {digest_type}"),
        RData::Nsec { next } => format!("NSEC {} {next}", r.name),
        RData::Hinfo { cpu, os } => format!("{} {}", lossy(cpu), lossy(os)),
        RData::Svcb {
            priority, target, ..
        } => {
            let kind = if r.rtype == rtype::HTTPS {
                "HTTPS"
            } else {
                "SVCB"
            };
            let target = if target.is_empty() { "." } else { target };
            format!("{kind} {priority} {target}")
        }
        RData::Caa { flags, tag, value } => {
            format!("CAA {flags} {} {}", lossy(tag), lossy(value))
        }
        RData::Raw(_) => match r.rtype {
            rtype::NSEC3 => "NSEC3".into(),
            51 => "NSEC3PARAM".into(),
            29 => "LOC".into(),
            _ => format!("<unknown type={}>", r.rtype),
        },
    })
}

/// Zeek's text for a record of a dynamic update (RFC 2136): prerequisites (answer
/// section) and updates (authority section), by their class and type.
pub fn zeek_update(r: &Record) -> String {
    const ANY_CLASS: u16 = 255;
    const NONE_CLASS: u16 = 254;
    const ANY_TYPE: u16 = 255;
    let t = qtype_name(r.rtype);
    let data = || zeek_answer(r).unwrap_or_default();
    if r.section == Section::Answer {
        match (r.class, r.rtype) {
            (ANY_CLASS, ANY_TYPE) => format!("pre: YXDomain {}", r.name),
            (ANY_CLASS, _) => format!("pre: YXRRSet {t} {}", r.name),
            (NONE_CLASS, ANY_TYPE) => format!("pre: NXDomain {}", r.name),
            (NONE_CLASS, _) => format!("pre: NoRRSet {t} {}", r.name),
            _ => format!("pre: RRSet {t} {} {}", r.name, data()),
        }
    } else {
        match (r.class, r.rtype) {
            (ANY_CLASS, ANY_TYPE) => format!("del: all {}", r.name),
            (ANY_CLASS, _) => format!("del: RRSet {t}"),
            (NONE_CLASS, _) => format!("del: RR {t} {} {}", r.name, data()),
            _ => format!("add: {t} {} {}", r.name, data()),
        }
    }
}

/// A row of Zeek's `dns.log`.
#[derive(Serialize)]
pub(crate) struct ZeekDns<'a> {
    ts: f64,
    uid: String,
    #[serde(rename = "id.orig_h")]
    orig_h: IpAddr,
    #[serde(rename = "id.orig_p")]
    orig_p: u16,
    #[serde(rename = "id.resp_h")]
    resp_h: IpAddr,
    #[serde(rename = "id.resp_p")]
    resp_p: u16,
    proto: &'static str,
    trans_id: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    rtt: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    query: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    qclass: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    qclass_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    qtype: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    qtype_name: Option<Cow<'static, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rcode: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rcode_name: Option<Cow<'static, str>>,
    #[serde(rename = "AA")]
    aa: bool,
    #[serde(rename = "TC")]
    tc: bool,
    #[serde(rename = "RD")]
    rd: bool,
    #[serde(rename = "RA")]
    ra: bool,
    #[serde(rename = "Z")]
    z: u8,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    answers: Vec<&'a str>,
    #[serde(rename = "TTLs", skip_serializing_if = "Vec::is_empty")]
    ttls: Vec<f64>,
    rejected: bool,
    opcode: u8,
    opcode_name: String,
}

impl<'a> ZeekDns<'a> {
    pub(crate) fn new(r: &'a DnsRecord) -> Self {
        let mut qtype_n = r.qtype.map(qtype_name);
        if r.netbios && r.qtype == Some(33) {
            qtype_n = Some(Cow::Borrowed("NBSTAT"));
        }
        ZeekDns {
            ts: r.ts.as_secs_f64(),
            uid: r.flow.uid(),
            orig_h: r.flow.orig.addr,
            orig_p: r.flow.orig.port,
            resp_h: r.flow.resp.addr,
            resp_p: r.flow.resp.port,
            proto: r.flow.proto_name(),
            trans_id: r.trans_id,
            rtt: r.rtt.map(secs),
            query: r.query.as_deref(),
            qclass: r.qclass,
            qclass_name: r.qclass.map(qclass_name),
            qtype: r.qtype,
            qtype_name: qtype_n,
            rcode: r.rcode,
            rcode_name: r.rcode.map(rcode_name),
            aa: r.aa,
            tc: r.tc,
            rd: r.rd,
            ra: r.ra,
            z: r.z,
            answers: r.answers.iter().map(|a| a.text.as_str()).collect(),
            ttls: r.answers.iter().map(|a| f64::from(a.ttl)).collect(),
            rejected: r.rejected,
            opcode: r.opcode,
            opcode_name: opcode_name(r.opcode, r.netbios),
        }
    }
}
