//! The engine's settings, with the defaults of Zeek and Suricata where they have one.

use ipnet::IpNet;

use crate::decode::DefragConfig;
use crate::tcp::StreamLimits;

/// Nanoseconds in a second.
pub(crate) const SEC: i64 = 1_000_000_000;

/// Flow table settings.
#[derive(Clone, Debug)]
pub struct FlowConfig {
    /// Live flows at most; beyond, the least recently active are evicted (and logged).
    pub max_flows: usize,
    /// TCP inactivity timeout (Zeek: 5 min).
    pub tcp_timeout_secs: u32,
    /// UDP inactivity timeout (Zeek: 1 min).
    pub udp_timeout_secs: u32,
    /// ICMP and other protocols' inactivity timeout (Zeek: 1 min).
    pub other_timeout_secs: u32,
    /// How long a TCP connection closed by both sides (or reset) lingers (Zeek: 5 s).
    pub tcp_close_delay_secs: u32,
}

impl Default for FlowConfig {
    fn default() -> Self {
        FlowConfig {
            max_flows: 65_536,
            tcp_timeout_secs: 300,
            udp_timeout_secs: 60,
            other_timeout_secs: 60,
            tcp_close_delay_secs: 5,
        }
    }
}

/// TCP stream settings.
#[derive(Clone, Copy, Debug)]
pub struct StreamConfig {
    /// Per-direction limits (depth 1 MiB like Suricata's `stream.reassembly.depth`).
    pub limits: StreamLimits,
    /// Out-of-order bytes buffered across all streams at most.
    pub memcap: usize,
    /// Analyse the application layer of TCP connections picked up without their SYN or
    /// SYN-ACK (Suricata's `stream.midstream`; Zeek does not either by default). Their
    /// connection records are kept in any case.
    pub midstream: bool,
}

impl Default for StreamConfig {
    fn default() -> Self {
        StreamConfig {
            limits: StreamLimits {
                depth: 1 << 20,
                max_buffered: 1 << 20,
            },
            memcap: 256 << 20,
            midstream: false,
        }
    }
}

/// Everything the engine can be told.
#[derive(Clone, Debug)]
pub struct Config {
    /// Worker threads; 0 means one per core.
    pub threads: usize,
    /// Flow table.
    pub flow: FlowConfig,
    /// TCP reassembly.
    pub stream: StreamConfig,
    /// IP fragment reassembly.
    pub defrag: DefragConfig,
    /// Bytes the application-layer parsers may buffer beyond a few kilobytes per flow, all
    /// flows together (message heads, TLS records, certificate chains, DNS over TCP...).
    pub app_memcap: usize,
    /// Rules to run, if any.
    pub detection: Option<std::sync::Arc<crate::detect::Detection>>,
    /// Networks counted as local (`local_orig`/`local_resp`); Zeek's private address space
    /// by default.
    pub local_nets: crate::networks::Networks,
    /// Build Zeek's DNS transactions (a query paired with its reply: the records of
    /// `dns.log`, [`crate::event::EventKind::Dns`]). True by default; a caller whose sinks
    /// never read them turns this off and saves their cost (about a fifth of the packets of
    /// a phone's capture are DNS). The per-message events, which EVE, the rules and the
    /// report use, are built either way.
    pub dns_transactions: bool,
    /// Undo the content coding (gzip, deflate) of HTTP response bodies. Zeek's
    /// `response_body_len` and `resp_mime_types` are those of the decoded body; rules on
    /// response bodies see it decoded, and turn decoding on whatever this says. True by
    /// default; a caller whose sinks read neither turns this off and saves the
    /// decompression: a response's `response_body_len`, `resp_mime` and `response_body` are
    /// then those of the body as sent. EVE's `length` is that of the body as sent either
    /// way, and request bodies are always decoded (the report looks into them).
    pub http_response_decoding: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            threads: 0,
            flow: FlowConfig::default(),
            stream: StreamConfig::default(),
            defrag: DefragConfig::default(),
            app_memcap: 256 << 20,
            detection: None,
            local_nets: private_address_space().into(),
            dns_transactions: true,
            http_response_decoding: true,
        }
    }
}

/// Zeek's `Site::private_address_space`.
pub fn private_address_space() -> Vec<IpNet> {
    [
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.88.99.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "255.255.255.255/32",
        "::/128",
        "::1/128",
        "64:ff9b:1::/48",
        "100::/64",
        "2001:2::/48",
        "2001:db8::/32",
        "fc00::/7",
        "fe80::/10",
    ]
    .iter()
    .filter_map(|s| s.parse().ok())
    .collect()
}
