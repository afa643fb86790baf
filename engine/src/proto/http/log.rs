//! HTTP renderings: Zeek's `http.log` and Suricata's EVE `http`.

use std::net::IpAddr;

use serde::Serialize;

use super::HttpRecord;
use crate::text::escape_bytes;

/// A row of Zeek's `http.log`.
#[derive(Serialize)]
pub(crate) struct ZeekHttp<'a> {
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
    trans_depth: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    method: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    host: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    uri: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    referrer: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_agent: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    origin: Option<&'a str>,
    request_body_len: u64,
    response_body_len: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    status_code: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status_msg: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    info_code: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    info_msg: Option<&'a str>,
    tags: [&'static str; 0],
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    proxied: &'a Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    orig_mime_types: Option<[&'static str; 1]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resp_mime_types: Option<[&'static str; 1]>,
}

impl<'a> ZeekHttp<'a> {
    pub(crate) fn new(r: &'a HttpRecord) -> Self {
        ZeekHttp {
            ts: r.ts.as_secs_f64(),
            uid: r.flow.uid(),
            orig_h: r.flow.orig.addr,
            orig_p: r.flow.orig.port,
            resp_h: r.flow.resp.addr,
            resp_p: r.flow.resp.port,
            trans_depth: r.trans_depth,
            method: r.method.as_deref(),
            host: r.host.as_deref(),
            uri: r.uri.as_deref(),
            referrer: r.referrer.as_deref(),
            version: r.version.as_deref(),
            user_agent: r.user_agent.as_deref(),
            origin: r.origin.as_deref(),
            request_body_len: r.request_body_len,
            response_body_len: r.response_body_len,
            status_code: r.status_code,
            status_msg: r.status_msg.as_deref(),
            info_code: r.info_code,
            info_msg: r.info_msg.as_deref(),
            tags: [],
            username: r.username.as_deref(),
            proxied: &r.proxied,
            orig_mime_types: r.orig_mime.map(|m| [m]),
            resp_mime_types: r.resp_mime.map(|m| [m]),
        }
    }
}

/// The `http` object of a Suricata EVE event.
#[derive(Serialize)]
pub(crate) struct EveHttp<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    hostname: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    http_port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    http_user_agent: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    http_content_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    http_refer: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    http_method: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    protocol: Option<super::parser::Version>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status_string: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    redirect: Option<&'a str>,
    length: u64,
}

impl<'a> EveHttp<'a> {
    pub(crate) fn new(r: &'a HttpRecord) -> Self {
        // Suricata splits host:port.
        let (hostname, port) = match r.host.as_deref() {
            Some(h) => match h.rsplit_once(':') {
                Some((name, p)) if !name.contains(':') && p.parse::<u16>().is_ok() => {
                    (Some(name), p.parse().ok())
                }
                _ => (Some(h), None),
            },
            None => (None, None),
        };
        let content_type = r.response_header("content-type").map(|v| {
            let main = v.split(|b| *b == b';').next().unwrap_or(v);
            escape_bytes(main.trim_ascii())
        });
        EveHttp {
            hostname,
            http_port: port,
            url: r.uri.as_deref(),
            http_user_agent: r.user_agent.as_deref(),
            http_content_type: content_type,
            http_refer: r.referrer.as_deref(),
            http_method: r.method.as_deref(),
            protocol: r
                .request_version
                .as_deref()
                .map(super::parser::protocol_text),
            status: r.status_code,
            status_string: r.status_string.as_deref(),
            redirect: r.location.as_deref(),
            length: r.response_message_len,
        }
    }
}
