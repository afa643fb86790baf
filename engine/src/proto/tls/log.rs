//! TLS renderings: Zeek's `ssl.log`, `x509.log` and `files.log` (certificates), and
//! Suricata's EVE `tls`.

use std::net::IpAddr;

use base64::Engine as _;
use serde::Serialize;

use super::{names, CertInfo, TlsRecord, X509Record};
use crate::output::json::{self, Json};
use crate::time::Timestamp;

/// A row of Zeek's `ssl.log`.
#[derive(Serialize)]
pub(crate) struct ZeekSsl<'a> {
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
    cipher: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    curve: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    server_name: Option<&'a str>,
    resumed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_alert: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_protocol: Option<&'a str>,
    established: bool,
    ssl_history: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    cert_chain_fps: Option<Vec<&'a str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_cert_chain_fps: Option<Vec<&'a str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sni_matches_cert: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ja3: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ja3s: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ja4: Option<&'a str>,
}

impl<'a> ZeekSsl<'a> {
    pub(crate) fn new(r: &'a TlsRecord) -> Self {
        // Zeek sets the chain fields once a Certificate message was seen.
        let saw_certs = !r.certs.is_empty() || !r.client_certs.is_empty();
        ZeekSsl {
            ts: r.ts.as_secs_f64(),
            uid: r.flow.uid(),
            orig_h: r.flow.orig.addr,
            orig_p: r.flow.orig.port,
            resp_h: r.flow.resp.addr,
            resp_p: r.flow.resp.port,
            version: r.version.map(names::zeek_version),
            cipher: r.cipher.map(names::cipher),
            curve: r.curve.map(names::curve),
            server_name: r.server_name.as_deref(),
            resumed: r.resumed,
            last_alert: r.last_alert.map(names::alert),
            next_protocol: r.next_protocol.as_deref(),
            established: r.established,
            ssl_history: &r.history,
            cert_chain_fps: saw_certs.then(|| r.certs.iter().map(|c| c.sha256.as_str()).collect()),
            client_cert_chain_fps: saw_certs
                .then(|| r.client_certs.iter().map(|c| c.sha256.as_str()).collect()),
            sni_matches_cert: r.sni_matches_cert,
            ja3: r.ja3.as_deref(),
            ja3s: r.ja3s.as_deref(),
            ja4: r.ja4.as_deref(),
        }
    }
}

/// A row of Zeek's `x509.log`.
#[derive(Serialize)]
pub(crate) struct ZeekX509<'a> {
    ts: f64,
    fingerprint: &'a str,
    #[serde(rename = "certificate.version")]
    version: u32,
    #[serde(rename = "certificate.serial")]
    serial: &'a str,
    #[serde(rename = "certificate.subject")]
    subject: &'a str,
    #[serde(rename = "certificate.issuer")]
    issuer: &'a str,
    #[serde(rename = "certificate.not_valid_before")]
    not_before: i64,
    #[serde(rename = "certificate.not_valid_after")]
    not_after: i64,
    #[serde(rename = "certificate.key_alg")]
    key_alg: &'a str,
    #[serde(rename = "certificate.sig_alg")]
    sig_alg: &'a str,
    #[serde(rename = "certificate.tbs_sig_alg")]
    tbs_sig_alg: &'a str,
    #[serde(
        rename = "certificate.key_type",
        skip_serializing_if = "Option::is_none"
    )]
    key_type: Option<&'static str>,
    #[serde(
        rename = "certificate.key_length",
        skip_serializing_if = "Option::is_none"
    )]
    key_length: Option<u32>,
    #[serde(
        rename = "certificate.exponent",
        skip_serializing_if = "Option::is_none"
    )]
    exponent: Option<&'a str>,
    #[serde(rename = "certificate.curve", skip_serializing_if = "Option::is_none")]
    curve: Option<&'a str>,
    #[serde(rename = "san.dns", skip_serializing_if = "Vec::is_empty")]
    san_dns: &'a Vec<String>,
    #[serde(rename = "san.uri", skip_serializing_if = "Vec::is_empty")]
    san_uri: &'a Vec<String>,
    #[serde(rename = "san.email", skip_serializing_if = "Vec::is_empty")]
    san_email: &'a Vec<String>,
    #[serde(rename = "san.ip", skip_serializing_if = "Vec::is_empty")]
    san_ip: &'a Vec<String>,
    #[serde(
        rename = "basic_constraints.ca",
        skip_serializing_if = "Option::is_none"
    )]
    ca: Option<bool>,
    #[serde(
        rename = "basic_constraints.path_len",
        skip_serializing_if = "Option::is_none"
    )]
    path_len: Option<u32>,
    host_cert: bool,
    client_cert: bool,
    /// The DER in base64 (Zeek's `log-certs-base64` policy), to re-derive anything.
    cert: String,
}

impl<'a> ZeekX509<'a> {
    pub(crate) fn new(r: &'a X509Record) -> Self {
        let c = &r.cert;
        ZeekX509 {
            ts: r.ts.as_secs_f64(),
            fingerprint: &c.sha256,
            version: c.version,
            serial: &c.serial,
            subject: &c.subject,
            issuer: &c.issuer,
            not_before: c.not_before,
            not_after: c.not_after,
            key_alg: &c.key_alg,
            sig_alg: &c.sig_alg,
            tbs_sig_alg: &c.tbs_sig_alg,
            key_type: c.key_type,
            key_length: c.key_length,
            exponent: c.exponent.as_deref(),
            curve: c.curve.as_deref(),
            san_dns: &c.san_dns,
            san_uri: &c.san_uri,
            san_email: &c.san_email,
            san_ip: &c.san_ip,
            ca: c.ca,
            path_len: c.path_len,
            host_cert: r.host_cert,
            client_cert: r.client_cert,
            cert: base64::engine::general_purpose::STANDARD.encode(&r.der),
        }
    }
}

/// A row of Zeek's `files.log` for a certificate.
#[derive(Serialize)]
pub(crate) struct ZeekCertFile<'a> {
    ts: f64,
    fuid: String,
    uid: String,
    #[serde(rename = "id.orig_h")]
    orig_h: IpAddr,
    #[serde(rename = "id.orig_p")]
    orig_p: u16,
    #[serde(rename = "id.resp_h")]
    resp_h: IpAddr,
    #[serde(rename = "id.resp_p")]
    resp_p: u16,
    source: &'static str,
    depth: u32,
    analyzers: [&'static str; 4],
    mime_type: &'static str,
    duration: f64,
    local_orig: bool,
    is_orig: bool,
    seen_bytes: usize,
    missing_bytes: u64,
    overflow_bytes: u64,
    timedout: bool,
    md5: &'a str,
    sha1: &'a str,
    sha256: &'a str,
}

impl<'a> ZeekCertFile<'a> {
    pub(crate) fn new(r: &'a X509Record, sender_local: bool) -> Self {
        let c = &r.cert;
        ZeekCertFile {
            ts: r.ts.as_secs_f64(),
            fuid: format!("F{}", c.sha1.get(..16).unwrap_or("")),
            uid: r.flow.uid(),
            orig_h: r.flow.orig.addr,
            orig_p: r.flow.orig.port,
            resp_h: r.flow.resp.addr,
            resp_p: r.flow.resp.port,
            source: "SSL",
            depth: 0,
            analyzers: ["MD5", "SHA1", "SHA256", "X509"],
            mime_type: if r.depth == 0 {
                "application/x-x509-user-cert"
            } else {
                "application/x-x509-ca-cert"
            },
            duration: 0.0,
            local_orig: sender_local,
            is_orig: r.client_cert,
            seen_bytes: c.der_len,
            missing_bytes: 0,
            overflow_bytes: 0,
            timedout: false,
            md5: &c.md5,
            sha1: &c.sha1,
            sha256: &c.sha256,
        }
    }
}

/// `abcd...` as `ab:cd:...` (upper-case when `upper`), as Suricata prints serials and
/// fingerprints.
pub(crate) fn colon_hex(h: &str, upper: bool) -> String {
    let mut out = String::with_capacity(h.len() + h.len() / 2);
    for (i, c) in h.chars().enumerate() {
        if i > 0 && i % 2 == 0 {
            out.push(':');
        }
        out.push(if upper { c.to_ascii_uppercase() } else { c });
    }
    out
}

fn eve_time(secs: i64) -> String {
    String::from_utf8_lossy(&Timestamp::from_parts(secs, 0).date_time()).into_owned()
}

#[derive(Serialize)]
struct EveJa<'a> {
    hash: &'a str,
    string: &'a str,
}

/// The `tls` object of a Suricata EVE event.
#[derive(Serialize)]
pub(crate) struct EveTls<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    subject: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    issuerdn: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    serial: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fingerprint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sni: Option<&'a str>,
    version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    notbefore: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    notafter: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ja3: Option<EveJa<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ja3s: Option<EveJa<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ja4: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    client_alpns: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    server_alpns: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    session_resumed: Option<bool>,
}

/// Suricata's `client_handshake` object (a custom TLS field).
#[derive(Serialize)]
struct ClientHandshake<'a> {
    version: String,
    ciphers: &'a [u16],
    exts: &'a [u16],
    sig_algs: &'a [u16],
}

/// Suricata's `server_handshake` object (a custom TLS field).
#[derive(Serialize)]
struct ServerHandshake<'a> {
    version: String,
    cipher: u16,
    exts: &'a [u16],
}

/// The `tls` object restricted to Suricata's `custom` field list (`subject`, `issuer`,
/// `serial`, `client_handshake`...), in Suricata's field names.
pub(crate) fn eve_tls_custom(r: &TlsRecord, custom: &[String]) -> serde_json::Value {
    let full = serde_json::to_value(EveTls::new(r)).unwrap_or_default();
    let mut out = serde_json::Map::new();
    for name in custom {
        let key = match name.as_str() {
            "issuer" => "issuerdn",
            "not_before" => "notbefore",
            "not_after" => "notafter",
            other => other,
        };
        let value = match key {
            "client_handshake" => r.client_hello.as_ref().and_then(|c| {
                serde_json::to_value(ClientHandshake {
                    version: names::eve_version(c.version),
                    ciphers: c.ciphers(),
                    exts: c.extension_types(),
                    sig_algs: c.signature_algorithms(),
                })
                .ok()
            }),
            "server_handshake" => r.server_hello.as_ref().and_then(|h| {
                serde_json::to_value(ServerHandshake {
                    version: names::eve_version(h.selected_version.unwrap_or(h.version)),
                    cipher: h.cipher,
                    exts: &h.extension_types,
                })
                .ok()
            }),
            k => full.get(k).cloned(),
        };
        if let Some(v) = value {
            out.insert(key.to_string(), v);
        }
    }
    serde_json::Value::Object(out)
}

impl<'a> EveTls<'a> {
    pub(crate) fn new(r: &'a TlsRecord) -> Self {
        let host: Option<&CertInfo> = r.certs.first().map(|c| &**c).filter(|c| c.parsed);
        let version = r
            .version
            .or_else(|| r.client_hello.as_ref().map(|c| c.version))
            .map_or_else(|| "UNDETERMINED".to_string(), names::eve_version);
        EveTls {
            subject: host.map(|c| c.subject_eve.as_str()),
            issuerdn: host.map(|c| c.issuer_eve.as_str()),
            serial: host.map(|c| colon_hex(&c.serial_der, true)),
            fingerprint: r.certs.first().map(|c| colon_hex(&c.sha1, false)),
            sni: r.server_name.as_deref(),
            version,
            notbefore: host.map(|c| eve_time(c.not_before)),
            notafter: host.map(|c| eve_time(c.not_after)),
            ja3: r
                .ja3
                .as_deref()
                .zip(r.ja3_string.as_deref())
                .map(|(hash, string)| EveJa { hash, string }),
            ja3s: r
                .ja3s
                .as_deref()
                .zip(r.ja3s_string.as_deref())
                .map(|(hash, string)| EveJa { hash, string }),
            ja4: r.ja4.as_deref(),
            client_alpns: r
                .client_hello
                .iter()
                .flat_map(|c| c.alpn())
                .map(crate::text::escape_bytes)
                .collect(),
            server_alpns: r.next_protocol.iter().cloned().collect(),
            session_resumed: r.resumed.then_some(true),
        }
    }

    /// Writes the object as serde would (same fields, order and escapes), straight into
    /// the line.
    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        let mut o = Json::object(out);
        let opt = |o: &mut Json<'_>, k: &str, v: Option<&str>| {
            if let Some(v) = v {
                o.str(k, v);
            }
        };
        opt(&mut o, "subject", self.subject);
        opt(&mut o, "issuerdn", self.issuerdn);
        opt(&mut o, "serial", self.serial.as_deref());
        opt(&mut o, "fingerprint", self.fingerprint.as_deref());
        opt(&mut o, "sni", self.sni);
        o.str("version", &self.version);
        opt(&mut o, "notbefore", self.notbefore.as_deref());
        opt(&mut o, "notafter", self.notafter.as_deref());
        for (k, ja) in [("ja3", &self.ja3), ("ja3s", &self.ja3s)] {
            if let Some(ja) = ja {
                o.raw(k, |out| {
                    let mut j = Json::object(out);
                    j.str("hash", ja.hash).str("string", ja.string);
                    j.close();
                });
            }
        }
        opt(&mut o, "ja4", self.ja4);
        for (k, alpns) in [
            ("client_alpns", &self.client_alpns),
            ("server_alpns", &self.server_alpns),
        ] {
            if !alpns.is_empty() {
                o.raw(k, |out| {
                    json::array(out, alpns, |out, a| json::string(out, a))
                });
            }
        }
        if let Some(resumed) = self.session_resumed {
            o.bool("session_resumed", resumed);
        }
        o.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hand-written `tls` object is byte for byte what serde writes, with every field
    /// present or absent and strings that need escapes.
    #[test]
    fn the_tls_object_is_what_serde_writes() {
        let flow = crate::event::FlowId {
            id: 1,
            orig: crate::flow::key::Endpoint {
                addr: IpAddr::from([10, 0, 0, 1]),
                port: 40_000,
            },
            resp: crate::flow::key::Endpoint {
                addr: IpAddr::from([10, 0, 0, 2]),
                port: 443,
            },
            proto: 6,
            vlan: [0; 3],
            macs: [None, None],
        };
        let bare = TlsRecord::empty(flow, Timestamp::from_parts(1_700_000_000, 0), false);
        let cert = CertInfo {
            parsed: true,
            subject_eve: "CN=a \"quoted\" \\ name\u{1}, O=Ünïcode".into(),
            issuer_eve: "CN=issuer".into(),
            serial_der: "00ff10".into(),
            sha1: "0a1b2c3d".into(),
            not_before: 1_600_000_000,
            not_after: 1_800_000_000,
            ..CertInfo::default()
        };
        let mut full = bare.clone();
        full.version = Some(0x0303);
        full.server_name = Some("sni.example\ttab".into());
        full.ja3 = Some("abc".into());
        full.ja3_string = Some("771,4865-4866,0-23,29,0".into());
        full.ja3s = Some("def".into());
        full.ja3s_string = Some("771,4865,43".into());
        full.ja4 = Some("t13d1516h2_8daaf6152771_02713d6af862".into());
        full.next_protocol = Some("h2".into());
        full.resumed = true;
        full.certs = vec![std::sync::Arc::new(cert)];
        for r in [&bare, &full] {
            let eve = EveTls::new(r);
            let mut written = Vec::new();
            eve.write(&mut written);
            let serde = serde_json::to_vec(&eve).unwrap_or_default();
            assert_eq!(
                String::from_utf8_lossy(&written),
                String::from_utf8_lossy(&serde)
            );
        }
    }

    #[test]
    fn hex_is_split_by_colons() {
        assert_eq!(colon_hex("0a1b2c", true), "0A:1B:2C");
        assert_eq!(colon_hex("0a1b2c", false), "0a:1b:2c");
        assert_eq!(colon_hex("abc", false), "ab:c");
        assert_eq!(colon_hex("", true), "");
    }
}
