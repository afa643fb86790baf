//! The connection record as Zeek's `conn.log` and Suricata's EVE `flow` event.

use std::net::IpAddr;

use serde::Serialize;

use super::{mac, secs};
use crate::event::ConnRecord;

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
#[derive(Serialize)]
pub(crate) struct EveFlow {
    pkts_toserver: u64,
    pkts_toclient: u64,
    bytes_toserver: u64,
    bytes_toclient: u64,
    start: String,
    end: String,
    age: i64,
    state: &'static str,
    reason: &'static str,
    alerted: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    action: Option<&'static str>,
}

/// A byte serialized as two lowercase hexadecimal digits (`"1b"`), with no allocation.
struct HexByte(u8);

impl Serialize for HexByte {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let digits = [
            super::HEX_DIGITS[usize::from(self.0 >> 4)],
            super::HEX_DIGITS[usize::from(self.0 & 15)],
        ];
        serializer.serialize_str(std::str::from_utf8(&digits).unwrap_or("00"))
    }
}

/// The `tcp` object of an EVE flow event.
#[derive(Serialize)]
pub(crate) struct EveTcp {
    tcp_flags: HexByte,
    tcp_flags_ts: HexByte,
    tcp_flags_tc: HexByte,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    syn: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    fin: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    rst: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    psh: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    ack: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    urg: bool,
    state: &'static str,
}

impl EveFlow {
    pub(crate) fn new(c: &ConnRecord) -> Self {
        let closed = matches!(
            c.conn_state,
            "SF" | "REJ" | "RSTO" | "RSTR" | "RSTOS0" | "RSTRH"
        );
        let state = match (c.flow.proto, closed) {
            (6, true) => "closed",
            (6, false) if c.conn_state == "S0" => "new",
            _ if c.resp_pkts > 0 => "established",
            _ => "new",
        };
        EveFlow {
            pkts_toserver: c.orig_pkts,
            pkts_toclient: c.resp_pkts,
            bytes_toserver: c.orig_wire_bytes,
            bytes_toclient: c.resp_wire_bytes,
            start: c.start.eve(),
            end: c.last_seen.eve(),
            age: c.last_seen.secs() - c.start.secs(),
            state,
            reason: c.reason.eve(),
            alerted: c.alerted,
            action: c.action,
        }
    }
}

impl EveTcp {
    pub(crate) fn new(c: &ConnRecord) -> Option<Self> {
        if c.flow.proto != 6 {
            return None;
        }
        let [ts, tc] = c.tcp_flags;
        let all = ts | tc;
        let state = match c.conn_state {
            "SF" | "REJ" | "RSTO" | "RSTR" | "RSTOS0" | "RSTRH" => "closed",
            "S0" => "syn_sent",
            "S1" => "established",
            "S2" | "S3" | "SH" | "SHR" => "fin_wait1",
            _ => "none",
        };
        Some(EveTcp {
            tcp_flags: HexByte(all),
            tcp_flags_ts: HexByte(ts),
            tcp_flags_tc: HexByte(tc),
            syn: all & 0x02 != 0,
            fin: all & 0x01 != 0,
            rst: all & 0x04 != 0,
            psh: all & 0x08 != 0,
            ack: all & 0x10 != 0,
            urg: all & 0x20 != 0,
            state,
        })
    }
}
