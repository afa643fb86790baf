//! DHCP renderings: Zeek's `dhcp.log` (messages of one transaction joined) and Suricata's
//! EVE `dhcp` (one event per message).

use std::collections::HashMap;
use std::net::Ipv4Addr;

use serde::Serialize;

use super::parser::{msg_type_name, Message};
use super::DhcpRecord;
use crate::output::{mac, secs};
use crate::text::escape_bytes;
use crate::time::Timestamp;

/// A row of Zeek's `dhcp.log`.
#[derive(Clone, Debug, Serialize)]
pub struct ZeekDhcp {
    ts: f64,
    uids: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_addr: Option<Ipv4Addr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    server_addr: Option<Ipv4Addr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mac: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    host_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_fqdn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    domain: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    requested_addr: Option<Ipv4Addr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    assigned_addr: Option<Ipv4Addr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lease_time: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    server_message: Option<String>,
    msg_types: Vec<&'static str>,
    duration: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_software: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    server_software: Option<String>,
    #[serde(skip)]
    first: Timestamp,
    #[serde(skip)]
    last: Timestamp,
}

/// Transactions remembered at once at most.
const MAX_PENDING: usize = 10_000;

/// Joins DHCP messages into Zeek's transaction rows, by transaction id: a row is complete
/// on an ACK, NAK, DECLINE or RELEASE, or when the run ends.
#[derive(Debug, Default)]
pub struct DhcpJoiner {
    pending: HashMap<u32, ZeekDhcp>,
    order: Vec<u32>,
}

fn nonzero(a: Ipv4Addr) -> Option<Ipv4Addr> {
    (!a.is_unspecified()).then_some(a)
}

impl DhcpJoiner {
    /// Adds a message; returns the rows it completes.
    pub fn add(&mut self, r: &DhcpRecord) -> Vec<ZeekDhcp> {
        let m: &Message = &r.message;
        let mut out = Vec::new();
        if !self.pending.contains_key(&m.xid) {
            if self.pending.len() >= MAX_PENDING {
                if let Some(oldest) = self.order.first().copied() {
                    self.order.remove(0);
                    if let Some(row) = self.pending.remove(&oldest) {
                        out.push(row);
                    }
                }
            }
            self.order.push(m.xid);
            self.pending.insert(
                m.xid,
                ZeekDhcp {
                    ts: r.ts.as_secs_f64(),
                    uids: Vec::new(),
                    client_addr: None,
                    server_addr: None,
                    mac: None,
                    host_name: None,
                    client_fqdn: None,
                    domain: None,
                    requested_addr: None,
                    assigned_addr: None,
                    lease_time: None,
                    client_message: None,
                    server_message: None,
                    msg_types: Vec::new(),
                    duration: 0.0,
                    client_software: None,
                    server_software: None,
                    first: r.ts,
                    last: r.ts,
                },
            );
        }
        let Some(row) = self.pending.get_mut(&m.xid) else {
            return out;
        };
        let uid = r.flow.uid();
        if !row.uids.contains(&uid) && row.uids.len() < 16 {
            row.uids.push(uid);
        }
        row.last = r.ts;
        row.duration = secs(r.ts.nanos_since(row.first));
        let t = m.msg_type.unwrap_or(0);
        if row.msg_types.len() < 32 {
            row.msg_types.push(msg_type_name(t));
        }
        if m.op == 1 {
            row.mac = m.mac.as_ref().map(mac).or(row.mac.take());
            if let Some(a) = nonzero(m.ciaddr) {
                row.client_addr = Some(a);
            }
            if let Some(h) = &m.host_name {
                row.host_name = Some(escape_bytes(h));
            }
            if let Some(f) = &m.client_fqdn {
                row.client_fqdn = Some(escape_bytes(f));
            }
            if let Some(a) = m.requested_addr {
                row.requested_addr = Some(a);
            }
            if let Some(v) = &m.vendor_class {
                row.client_software = Some(escape_bytes(v));
            }
            if let Some(msg) = &m.message {
                row.client_message = Some(escape_bytes(msg));
            }
        } else {
            if let Some(s) = m.server_id {
                row.server_addr = Some(s);
            }
            if let Some(d) = &m.domain {
                row.domain = Some(escape_bytes(d));
            }
            if t == 5 {
                row.assigned_addr = nonzero(m.yiaddr);
            }
            if let Some(l) = m.lease_time {
                row.lease_time = Some(f64::from(l));
            }
            if let Some(v) = &m.vendor_class {
                row.server_software = Some(escape_bytes(v));
            }
            if let Some(msg) = &m.message {
                row.server_message = Some(escape_bytes(msg));
            }
        }
        if matches!(t, 4..=7) {
            if let Some(done) = self.pending.remove(&m.xid) {
                self.order.retain(|x| *x != m.xid);
                out.push(done);
            }
        }
        out
    }

    /// The rows still open (end of the run), in order of arrival.
    pub fn drain(&mut self) -> Vec<ZeekDhcp> {
        let order = std::mem::take(&mut self.order);
        order
            .into_iter()
            .filter_map(|x| self.pending.remove(&x))
            .collect()
    }
}

/// The `dhcp` object of a Suricata EVE event.
#[derive(Serialize)]
pub(crate) struct EveDhcp {
    #[serde(rename = "type")]
    kind: &'static str,
    id: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_mac: Option<String>,
    assigned_ip: Ipv4Addr,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_ip: Option<Ipv4Addr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dhcp_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    hostname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    requested_ip: Option<Ipv4Addr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lease_time: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    vendor_class_identifier: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    subnet_mask: Option<Ipv4Addr>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    routers: Vec<Ipv4Addr>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    dns_servers: Vec<Ipv4Addr>,
}

impl EveDhcp {
    pub(crate) fn new(r: &DhcpRecord) -> Self {
        let m = &r.message;
        EveDhcp {
            kind: if m.op == 1 { "request" } else { "reply" },
            id: m.xid,
            client_mac: m.mac.as_ref().map(mac),
            assigned_ip: m.yiaddr,
            client_ip: nonzero(m.ciaddr),
            dhcp_type: m.msg_type.map(|t| msg_type_name(t).to_ascii_lowercase()),
            hostname: m.host_name.as_deref().map(escape_bytes),
            requested_ip: m.requested_addr,
            lease_time: m.lease_time,
            vendor_class_identifier: m.vendor_class.as_deref().map(escape_bytes),
            subnet_mask: m.subnet_mask,
            routers: m.router.into_iter().collect(),
            dns_servers: m.dns_servers.clone(),
        }
    }
}
