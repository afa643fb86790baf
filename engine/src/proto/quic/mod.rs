//! QUIC: Initial packets decrypted to read the TLS handshake they carry.

pub mod log;
pub mod parser;
pub(crate) mod state;

use std::sync::Arc;

use crate::event::FlowId;
use crate::time::Timestamp;

pub(crate) use state::QuicState;

/// A QUIC connection as Zeek's `quic.log` and Suricata's EVE `quic` have it.
#[derive(Clone, Debug)]
pub struct QuicRecord {
    /// The flow.
    pub flow: FlowId,
    /// When the first packet was seen.
    pub ts: Timestamp,
    /// Version of the client's first Initial.
    pub version: Option<u32>,
    /// The client's first Destination Connection ID.
    pub client_initial_dcid: Option<Vec<u8>>,
    /// The client's Source Connection ID.
    pub client_scid: Option<Vec<u8>>,
    /// The server's Source Connection ID.
    pub server_scid: Option<Vec<u8>>,
    /// Server name (SNI) of the ClientHello.
    pub server_name: Option<String>,
    /// First application protocol the client offered (ALPN).
    pub client_protocol: Option<String>,
    /// Zeek's QUIC history letters.
    pub history: String,
    /// JA3 of the ClientHello.
    pub ja3: Option<Arc<str>>,
    /// JA3 string.
    pub ja3_string: Option<Arc<str>>,
    /// JA4 of the ClientHello.
    pub ja4: Option<Arc<str>>,
    /// JA3S of the ServerHello.
    pub ja3s: Option<String>,
    /// JA3S string.
    pub ja3s_string: Option<String>,
}

impl QuicRecord {
    fn empty(flow: FlowId, ts: Timestamp) -> Self {
        QuicRecord {
            flow,
            ts,
            version: None,
            client_initial_dcid: None,
            client_scid: None,
            server_scid: None,
            server_name: None,
            client_protocol: None,
            history: String::new(),
            ja3: None,
            ja3_string: None,
            ja4: None,
            ja3s: None,
            ja3s_string: None,
        }
    }
}
