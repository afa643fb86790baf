//! The connection record as Zeek's `conn.log` and Suricata's EVE `flow` event.

use std::net::IpAddr;

use serde::Serialize;

use super::json::Json;
use super::{mac, secs};
use crate::event::ConnRecord;
use crate::time::Timestamp;

/// A row of Zeek's `conn.log`.
#[derive(Serialize)]
pub(crate) struct ZeekConn<'a> {
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
    #[serde(skip_serializing_if = "Option::is_none")]
    service: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    duration: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    orig_bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resp_bytes: Option<u64>,
    conn_state: &'static str,
    local_orig: bool,
    local_resp: bool,
    missed_bytes: u64,
    #[serde(skip_serializing_if = "str::is_empty")]
    history: &'a str,
    orig_pkts: u64,
    orig_ip_bytes: u64,
    resp_pkts: u64,
    resp_ip_bytes: u64,
    ip_proto: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    orig_l2_addr: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resp_l2_addr: Option<String>,
}

impl<'a> ZeekConn<'a> {
    pub(crate) fn new(c: &'a ConnRecord) -> Self {
        let duration = c.end.nanos_since(c.start);
        // Zeek reports duration and byte counts only when time has passed.
        let timed = duration > 0;
        ZeekConn {
            ts: c.start.as_secs_f64(),
            uid: c.flow.uid(),
            orig_h: c.flow.orig.addr,
            orig_p: c.flow.orig.port,
            resp_h: c.flow.resp.addr,
            resp_p: c.flow.resp.port,
            proto: c.flow.proto_name(),
            service: (!c.services.is_empty()).then(|| c.services.join(",")),
            duration: timed.then(|| secs(duration)),
            orig_bytes: timed.then_some(c.orig_bytes),
            resp_bytes: timed.then_some(c.resp_bytes),
            conn_state: c.conn_state,
            local_orig: c.local_orig,
            local_resp: c.local_resp,
            missed_bytes: c.missed_bytes,
            history: &c.history,
            orig_pkts: c.orig_pkts,
            orig_ip_bytes: c.orig_ip_bytes,
            resp_pkts: c.resp_pkts,
            resp_ip_bytes: c.resp_ip_bytes,
            ip_proto: c.flow.proto,
            orig_l2_addr: c.orig_l2.as_ref().map(mac),
            resp_l2_addr: c.resp_l2.as_ref().map(mac),
        }
    }
}

/// The `flow` object of an EVE flow event.
pub(crate) struct EveFlow<'a> {
    c: &'a ConnRecord,
    state: &'static str,
}

/// Whether a connection state is one Suricata calls `closed`.
fn closed(conn_state: &str) -> bool {
    matches!(
        conn_state,
        "SF" | "REJ" | "RSTO" | "RSTR" | "RSTOS0" | "RSTRH"
    )
}

impl<'a> EveFlow<'a> {
    pub(crate) fn new(c: &'a ConnRecord) -> Self {
        let state = match (c.flow.proto, closed(c.conn_state)) {
            (6, true) => "closed",
            (6, false) if c.conn_state == "S0" => "new",
            _ if c.resp_pkts > 0 => "established",
            _ => "new",
        };
        EveFlow { c, state }
    }

    /// Writes the `flow` object (the fields and order Suricata writes).
    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        let c = self.c;
        let mut o = Json::object(out);
        o.num("pkts_toserver", c.orig_pkts)
            .num("pkts_toclient", c.resp_pkts)
            .num("bytes_toserver", c.orig_wire_bytes)
            .num("bytes_toclient", c.resp_wire_bytes)
            .raw("start", |out| timestamp(out, c.start))
            .raw("end", |out| timestamp(out, c.last_seen))
            .raw("age", |out| {
                let age = c.last_seen.secs() - c.start.secs();
                out.extend_from_slice(itoa::Buffer::new().format(age).as_bytes());
            })
            .str("state", self.state)
            .str("reason", c.reason.eve())
            .bool("alerted", c.alerted);
        if let Some(action) = c.action {
            o.str("action", action);
        }
        o.close();
    }
}

/// A timestamp as an EVE JSON string.
fn timestamp(out: &mut Vec<u8>, t: Timestamp) {
    out.push(b'"');
    out.extend_from_slice(&t.eve_text());
    out.push(b'"');
}

/// A byte as two lowercase hex digits, in a JSON string.
fn hex_byte(out: &mut Vec<u8>, b: u8) {
    out.extend_from_slice(&[
        b'"',
        super::HEX_DIGITS[usize::from(b >> 4)],
        super::HEX_DIGITS[usize::from(b & 15)],
        b'"',
    ]);
}

/// Suricata's EVE `tcp` object of a flow: the flags seen each way, and the state.
pub(crate) struct EveTcp {
    to_server: u8,
    to_client: u8,
    state: &'static str,
}

impl EveTcp {
    pub(crate) fn new(c: &ConnRecord) -> Option<Self> {
        if c.flow.proto != 6 {
            return None;
        }
        let [to_server, to_client] = c.tcp_flags;
        let state = match c.conn_state {
            s if closed(s) => "closed",
            "S0" => "syn_sent",
            "S1" => "established",
            "S2" | "S3" | "SH" | "SHR" => "fin_wait1",
            _ => "none",
        };
        Some(EveTcp {
            to_server,
            to_client,
            state,
        })
    }

    /// Writes the `tcp` object: the flags as hex, each flag seen as `true`, the state.
    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        let all = self.to_server | self.to_client;
        let mut o = Json::object(out);
        o.raw("tcp_flags", |out| hex_byte(out, all))
            .raw("tcp_flags_ts", |out| hex_byte(out, self.to_server))
            .raw("tcp_flags_tc", |out| hex_byte(out, self.to_client));
        o.flags(
            u64::from(all),
            &[
                ("syn", 0x02),
                ("fin", 0x01),
                ("rst", 0x04),
                ("psh", 0x08),
                ("ack", 0x10),
                ("urg", 0x20),
            ],
        )
        .str("state", self.state);
        o.close();
    }
}
