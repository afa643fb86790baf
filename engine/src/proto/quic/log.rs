//! QUIC renderings: Zeek's `quic.log` and Suricata's EVE `quic`.

use std::net::IpAddr;

use serde::Serialize;

use super::parser::V2;
use super::QuicRecord;
use crate::output::hex;

/// Zeek's name of a QUIC version.
pub fn version_name(v: u32) -> String {
    match v {
        1 => "1".into(),
        V2 => "quicv2".into(),
        v if v >> 8 == 0xff_0000 => format!("draft-{}", v & 0xff),
        v => format!("unknown-{v:x}"),
    }
}

/// A row of Zeek's `quic.log`.
#[derive(Serialize)]
pub(crate) struct ZeekQuic<'a> {
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
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_initial_dcid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_scid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    server_scid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    server_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_protocol: Option<&'a str>,
    history: &'a str,
}

impl<'a> ZeekQuic<'a> {
    pub(crate) fn new(r: &'a QuicRecord) -> Self {
        ZeekQuic {
            ts: r.ts.as_secs_f64(),
            uid: r.flow.uid(),
            orig_h: r.flow.orig.addr,
            orig_p: r.flow.orig.port,
            resp_h: r.flow.resp.addr,
            resp_p: r.flow.resp.port,
            version: r.version.map(version_name),
            client_initial_dcid: r.client_initial_dcid.as_deref().map(hex),
            client_scid: r.client_scid.as_deref().map(hex),
            server_scid: r.server_scid.as_deref().map(hex),
            server_name: r.server_name.as_deref(),
            client_protocol: r.client_protocol.as_deref(),
            history: &r.history,
        }
    }
}

#[derive(Serialize)]
struct EveJa<'a> {
    hash: &'a str,
    string: &'a str,
}

/// The `quic` object of a Suricata EVE event.
#[derive(Serialize)]
pub(crate) struct EveQuic<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sni: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    alpn: Vec<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ja3: Option<EveJa<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ja4: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ja3s: Option<EveJa<'a>>,
}

impl<'a> EveQuic<'a> {
    pub(crate) fn new(r: &'a QuicRecord) -> Self {
        EveQuic {
            version: r.version.map(version_name),
            sni: r.server_name.as_deref(),
            alpn: r.client_protocol.iter().map(String::as_str).collect(),
            ja3: r
                .ja3
                .as_deref()
                .zip(r.ja3_string.as_deref())
                .map(|(hash, string)| EveJa { hash, string }),
            ja4: r.ja4.as_deref(),
            ja3s: r
                .ja3s
                .as_deref()
                .zip(r.ja3s_string.as_deref())
                .map(|(hash, string)| EveJa { hash, string }),
        }
    }
}
