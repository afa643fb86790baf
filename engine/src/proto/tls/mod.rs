//! TLS (and the TLS handshake inside QUIC): sessions, certificates, fingerprints.

pub mod fingerprint;
pub mod log;
pub mod names;
pub mod parser;
pub(crate) mod state;
pub mod x509;

use std::sync::Arc;

use crate::event::FlowId;
use crate::time::Timestamp;

pub(crate) use state::TlsState;
pub use x509::CertInfo;

/// A TLS session as Zeek's `ssl.log` and Suricata's EVE `tls` have it.
#[derive(Clone, Debug)]
pub struct TlsRecord {
    /// The flow.
    pub flow: FlowId,
    /// When the first TLS message was seen.
    pub ts: Timestamp,
    /// Carried by QUIC.
    pub quic: bool,
    /// Version negotiated.
    pub version: Option<u16>,
    /// Cipher suite chosen.
    pub cipher: Option<u16>,
    /// Key exchange group (curve).
    pub curve: Option<u16>,
    /// Server name the client asked for (SNI).
    pub server_name: Option<String>,
    /// The session was resumed.
    pub resumed: bool,
    /// Last alert seen (description).
    pub last_alert: Option<u8>,
    /// Application protocol the server chose (ALPN).
    pub next_protocol: Option<String>,
    /// The handshake completed and encrypted data flowed.
    pub established: bool,
    /// Zeek's `ssl_history`.
    pub history: String,
    /// The ClientHello.
    pub client_hello: Option<parser::ClientHello>,
    /// The ServerHello.
    pub server_hello: Option<parser::ServerHello>,
    /// JA3 hash of the ClientHello (shared with the fingerprint cache and the report).
    pub ja3: Option<Arc<str>>,
    /// JA3 string.
    pub ja3_string: Option<Arc<str>>,
    /// JA3S hash of the ServerHello.
    pub ja3s: Option<String>,
    /// JA3S string.
    pub ja3s_string: Option<String>,
    /// JA4 of the ClientHello.
    pub ja4: Option<Arc<str>>,
    /// The server's certificate chain (TLS ≤ 1.2; encrypted in 1.3).
    pub certs: Vec<Arc<CertInfo>>,
    /// The client's certificate chain.
    pub client_certs: Vec<Arc<CertInfo>>,
    /// Whether the server name matches the server's certificate.
    pub sni_matches_cert: Option<bool>,
}

impl TlsRecord {
    fn empty(flow: FlowId, ts: Timestamp, quic: bool) -> Self {
        TlsRecord {
            flow,
            ts,
            quic,
            version: None,
            cipher: None,
            curve: None,
            server_name: None,
            resumed: false,
            last_alert: None,
            next_protocol: None,
            established: false,
            history: String::new(),
            client_hello: None,
            server_hello: None,
            ja3: None,
            ja3_string: None,
            ja3s: None,
            ja3s_string: None,
            ja4: None,
            certs: Vec::new(),
            client_certs: Vec::new(),
            sni_matches_cert: None,
        }
    }

    fn finish(mut self) -> Self {
        if let (Some(name), Some(host)) = (&self.server_name, self.certs.first()) {
            if host.parsed {
                self.sni_matches_cert = Some(x509::matches_host(host, name));
            }
        }
        self
    }
}

/// A certificate seen in a session (Zeek's `x509.log` and `files.log` rows).
#[derive(Clone, Debug)]
pub struct X509Record {
    /// The flow.
    pub flow: FlowId,
    /// When it was seen.
    pub ts: Timestamp,
    /// The certificate.
    pub cert: Arc<CertInfo>,
    /// Position in its chain (0: the end entity).
    pub depth: usize,
    /// The server's own certificate.
    pub host_cert: bool,
    /// Sent by the client.
    pub client_cert: bool,
    /// The DER itself.
    pub der: Arc<[u8]>,
}
