//! Detections while the capture runs.
//!
//! The report is assessed once the capture ends ([`super::assess`]); a person watching the
//! screen wants to see an indicator the moment the phone looks it up. [`LiveWatch`] is an
//! event sink that matches the names and addresses of each event against the indicators as
//! it arrives, and reports each (indicator, value) pair the first time it is seen.

use std::collections::HashSet;
use std::net::IpAddr;
use std::sync::Arc;

use crate::event::{Event, EventKind};
use crate::ioc::{Ioc, IocKind, IocSet};
use crate::output::EventSink;
use crate::proto::dns::parser::RData;
use crate::time::Timestamp;

/// (Indicator, value) pairs remembered at most, so that a hostile capture cannot grow the watch without bound
/// (beyond it, detections are still reported, possibly more than once).
const MAX_SEEN: usize = 65_536;

/// Where a live detection's value was seen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Seen {
    /// A name the device asked its resolver for.
    DnsQuery,
    /// A name or address in a DNS answer.
    DnsAnswer,
    /// A TLS or QUIC server name (SNI).
    ServerName,
    /// An HTTP `Host` header.
    HttpHost,
    /// The remote address of a connection.
    Connection,
    /// A certificate's fingerprint.
    Certificate,
}

impl Seen {
    /// A short English label, for logs and the command line.
    pub fn label(self) -> &'static str {
        match self {
            Seen::DnsQuery => "DNS query",
            Seen::DnsAnswer => "DNS answer",
            Seen::ServerName => "TLS server name",
            Seen::HttpHost => "HTTP host",
            Seen::Connection => "connection",
            Seen::Certificate => "certificate",
        }
    }
}

/// An indicator that matched while capturing.
#[derive(Clone, Debug)]
pub struct LiveDetection {
    /// When the packet that revealed it was captured.
    pub ts: Timestamp,
    /// The indicator.
    pub ioc: Ioc,
    /// What the traffic showed (the name, address or fingerprint).
    pub value: String,
    /// Where it was seen.
    pub seen: Seen,
}

/// An event sink that reports indicators as soon as they appear.
pub struct LiveWatch {
    iocs: Arc<IocSet>,
    seen: HashSet<(IocKind, String, String)>,
    on_detect: Box<dyn FnMut(&LiveDetection) + Send>,
    count: u64,
}

impl std::fmt::Debug for LiveWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveWatch")
            .field("indicators", &self.iocs.len())
            .field("detections", &self.count)
            .finish()
    }
}

impl LiveWatch {
    /// A watch over `iocs` that calls `on_detect` for each new detection.
    pub fn new(iocs: Arc<IocSet>, on_detect: Box<dyn FnMut(&LiveDetection) + Send>) -> Self {
        LiveWatch {
            iocs,
            seen: HashSet::new(),
            on_detect,
            count: 0,
        }
    }

    /// Detections reported so far.
    pub fn count(&self) -> u64 {
        self.count
    }

    fn report(&mut self, ts: Timestamp, value: &str, seen: Seen, matched: Vec<Ioc>) {
        for ioc in matched {
            let key = (ioc.kind, ioc.value.clone(), value.to_string());
            if self.seen.contains(&key) {
                continue;
            }
            if self.seen.len() < MAX_SEEN {
                self.seen.insert(key);
            }
            self.count += 1;
            let d = LiveDetection {
                ts,
                ioc,
                value: value.to_string(),
                seen,
            };
            (self.on_detect)(&d);
        }
    }

    fn name(&mut self, ts: Timestamp, name: &str, seen: Seen) {
        let matched = owned(self.iocs.match_domain(name));
        if !matched.is_empty() {
            self.report(ts, &crate::ioc::normalise_domain(name), seen, matched);
        }
    }

    fn address(&mut self, ts: Timestamp, ip: IpAddr, seen: Seen) {
        let matched = owned(self.iocs.match_ip(ip));
        if !matched.is_empty() {
            self.report(ts, &ip.to_string(), seen, matched);
        }
    }
}

fn owned(matched: Vec<&Ioc>) -> Vec<Ioc> {
    matched.into_iter().cloned().collect()
}

impl EventSink for LiveWatch {
    fn event(&mut self, event: &Event) -> crate::Result<()> {
        let ts = event.ts;
        match &event.kind {
            EventKind::DnsMessage(m) => {
                for q in &m.message.questions {
                    self.name(ts, &q.name, Seen::DnsQuery);
                }
                for r in &m.message.records {
                    match &r.rdata {
                        RData::A(a) => self.address(ts, IpAddr::V4(*a), Seen::DnsAnswer),
                        RData::Aaaa(a) => self.address(ts, IpAddr::V6(*a), Seen::DnsAnswer),
                        RData::Name(target) if r.rtype == 5 => {
                            self.name(ts, target, Seen::DnsAnswer);
                        }
                        _ => {}
                    }
                }
            }
            EventKind::Tls(t) => {
                if let Some(sni) = &t.server_name {
                    self.name(ts, sni, Seen::ServerName);
                }
            }
            EventKind::Quic(q) => {
                if let Some(sni) = &q.server_name {
                    self.name(ts, sni, Seen::ServerName);
                }
            }
            EventKind::Http(h) => {
                if let Some(host) = &h.host {
                    self.name(ts, &crate::ioc::host_of(host), Seen::HttpHost);
                }
            }
            EventKind::Conn(c) => {
                self.address(ts, c.flow.resp.addr, Seen::Connection);
                self.address(ts, c.flow.orig.addr, Seen::Connection);
            }
            EventKind::X509(x) => {
                let matched = owned(self.iocs.match_cert(&x.cert.sha1, &x.cert.sha256));
                if !matched.is_empty() {
                    self.report(ts, &x.cert.sha256, Seen::Certificate, matched);
                }
            }
            _ => {}
        }
        Ok(())
    }
}
