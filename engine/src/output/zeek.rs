//! Zeek-style logs: one JSON-lines file per log type in a directory (`conn.log`, `dns.log`,
//! ...), with Zeek's field names and meanings. A file is created when its first row comes.

use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::conn::ZeekConn;
use super::EventSink;
use crate::error::{Error, Result};
use crate::event::{Event, EventKind};

/// The Zeek-log writer.
#[derive(Debug)]
pub struct ZeekLogs {
    dir: PathBuf,
    files: BTreeMap<&'static str, BufWriter<File>>,
    local_nets: crate::networks::Networks,
    /// Certificates already in `x509.log` (Zeek logs each once), bounded.
    logged_certs: HashSet<(String, bool, bool)>,
    /// DHCP messages joined into transactions.
    dhcp: crate::proto::dhcp::log::DhcpJoiner,
}

/// Certificates remembered for `x509.log` de-duplication at most.
const MAX_LOGGED_CERTS: usize = 1_000_000;

impl ZeekLogs {
    /// Logs into `dir`, which is created if missing; `local_nets` decide `local_orig` where
    /// a log needs it outside the connection record.
    pub fn create(dir: &Path, local_nets: &crate::networks::Networks) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|source| Error::Output {
            path: dir.to_path_buf(),
            cause: source,
        })?;
        Ok(ZeekLogs {
            dir: dir.to_path_buf(),
            files: BTreeMap::new(),
            local_nets: local_nets.clone(),
            logged_certs: HashSet::new(),
            dhcp: crate::proto::dhcp::log::DhcpJoiner::default(),
        })
    }

    fn write<T: Serialize>(&mut self, log: &'static str, row: &T) -> Result<()> {
        let path = || self.dir.join(format!("{log}.log"));
        let fail = |source| Error::Output {
            path: path(),
            cause: source,
        };
        if !self.files.contains_key(log) {
            let f = File::create(path()).map_err(fail)?;
            self.files
                .insert(log, BufWriter::with_capacity(256 * 1024, f));
        }
        let Some(w) = self.files.get_mut(log) else {
            return Ok(());
        };
        serde_json::to_writer(&mut *w, row)
            .map_err(std::io::Error::from)
            .and_then(|()| w.write_all(b"\n"))
            .map_err(|source| Error::Output {
                path: self.dir.join(format!("{log}.log")),
                cause: source,
            })
    }
}

impl EventSink for ZeekLogs {
    fn event(&mut self, event: &Event) -> Result<()> {
        match &event.kind {
            EventKind::Conn(c) => self.write("conn", &ZeekConn::new(c)),
            EventKind::Dns(d) => self.write("dns", &crate::proto::dns::log::ZeekDns::new(d)),
            EventKind::Http(h) => self.write("http", &crate::proto::http::log::ZeekHttp::new(h)),
            EventKind::Tls(t) => self.write("ssl", &crate::proto::tls::log::ZeekSsl::new(t)),
            EventKind::X509(x) => {
                let sender = if x.client_cert {
                    x.flow.orig.addr
                } else {
                    x.flow.resp.addr
                };
                let local = self.local_nets.contains(&sender);
                self.write(
                    "files",
                    &crate::proto::tls::log::ZeekCertFile::new(x, local),
                )?;
                let key = (x.cert.sha256.clone(), x.host_cert, x.client_cert);
                if self.logged_certs.contains(&key) {
                    return Ok(());
                }
                if self.logged_certs.len() < MAX_LOGGED_CERTS {
                    self.logged_certs.insert(key);
                }
                self.write("x509", &crate::proto::tls::log::ZeekX509::new(x))
            }
            EventKind::Quic(q) => self.write("quic", &crate::proto::quic::log::ZeekQuic::new(q)),
            EventKind::Dhcp(d) => {
                for row in self.dhcp.add(d) {
                    self.write("dhcp", &row)?;
                }
                Ok(())
            }
            EventKind::Anomaly(a) => match &a.flow {
                Some(flow) => self.write("weird", &Weird::new(event.ts, flow, a)),
                None => Ok(()),
            },
            EventKind::Alert(a) => self.write("signatures", &SignatureRow::new(event.ts, a)),
            EventKind::DnsMessage(_) => Ok(()),
        }
    }

    fn finish(&mut self) -> Result<()> {
        for row in self.dhcp.drain() {
            self.write("dhcp", &row)?;
        }
        for (log, w) in &mut self.files {
            w.flush().map_err(|source| Error::Output {
                path: self.dir.join(format!("{log}.log")),
                cause: source,
            })?;
        }
        Ok(())
    }
}

/// A row of Zeek's `signatures.log` (the signature framework's log): a rule matched.
#[derive(Serialize)]
struct SignatureRow<'a> {
    ts: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    uid: Option<String>,
    src_addr: std::net::IpAddr,
    src_port: u16,
    dst_addr: std::net::IpAddr,
    dst_port: u16,
    note: &'static str,
    sig_id: String,
    event_msg: &'a str,
    sub_msg: Option<&'a str>,
}

impl<'a> SignatureRow<'a> {
    fn new(ts: crate::time::Timestamp, a: &'a crate::event::AlertRecord) -> Self {
        SignatureRow {
            ts: ts.as_secs_f64(),
            uid: (!a.flowless).then(|| a.flow.uid()),
            src_addr: a.src.0,
            src_port: a.src.1,
            dst_addr: a.dst.0,
            dst_port: a.dst.1,
            note: "Signatures::Sensitive_Signature",
            sig_id: format!(
                "{}:{}:{}",
                a.signature.gid, a.signature.sid, a.signature.rev
            ),
            event_msg: &a.signature.msg,
            sub_msg: a.signature.category.as_deref(),
        }
    }
}

/// A row of Zeek's `weird.log`: an oddity in a flow's traffic.
#[derive(Serialize)]
struct Weird<'a> {
    ts: f64,
    uid: String,
    #[serde(rename = "id.orig_h")]
    orig_h: std::net::IpAddr,
    #[serde(rename = "id.orig_p")]
    orig_p: u16,
    #[serde(rename = "id.resp_h")]
    resp_h: std::net::IpAddr,
    #[serde(rename = "id.resp_p")]
    resp_p: u16,
    name: String,
    notice: bool,
    peer: &'static str,
    source: &'a str,
}

impl<'a> Weird<'a> {
    fn new(
        ts: crate::time::Timestamp,
        flow: &crate::event::FlowId,
        a: &'a crate::event::AnomalyRecord,
    ) -> Self {
        Weird {
            ts: ts.as_secs_f64(),
            uid: flow.uid(),
            orig_h: flow.orig.addr,
            orig_p: flow.orig.port,
            resp_h: flow.resp.addr,
            resp_p: flow.resp.port,
            name: format!("{}_{}", a.layer, a.kind),
            notice: false,
            peer: "tcheck",
            source: a.layer,
        }
    }
}
