//! Certificates: what Zeek's `x509.log` and Suricata's EVE `tls` report, from the DER with
//! `x509-parser`. Names are rendered the way OpenSSL prints them (RFC 2253, as Zeek logs
//! them) and the way Suricata does (`C=US, O=...`).

use md5::{Digest as _, Md5};
use sha1::Sha1;
use sha2::Sha256;
use x509_parser::extensions::GeneralName;
use x509_parser::objects::{oid2sn, oid_registry};
use x509_parser::prelude::{FromDer, X509Certificate, X509Name};
use x509_parser::public_key::PublicKey;

use crate::output::hex;

/// A certificate's facts. Hashes are always there; the rest when the DER parses.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CertInfo {
    /// Length of the DER.
    pub der_len: usize,
    /// SHA-1 of the DER, lower-case hex.
    pub sha1: String,
    /// SHA-256 of the DER, lower-case hex.
    pub sha256: String,
    /// MD5 of the DER, lower-case hex.
    pub md5: String,
    /// The DER parsed.
    pub parsed: bool,
    /// X.509 version (1-3).
    pub version: u32,
    /// Serial number, upper-case hex without leading zero bytes (Zeek's form).
    pub serial: String,
    /// Serial number as encoded (DER content bytes, a leading zero kept), upper-case hex
    /// (Suricata's form).
    pub serial_der: String,
    /// Subject as OpenSSL prints it with RFC 2253 flags (`CN=a,O=b,C=US`).
    pub subject: String,
    /// Issuer, likewise.
    pub issuer: String,
    /// Subject as Suricata prints it (`C=US, O=b, CN=a`).
    pub subject_eve: String,
    /// Issuer as Suricata prints it.
    pub issuer_eve: String,
    /// The subject's common name.
    pub common_name: Option<String>,
    /// Start of validity, seconds since the epoch.
    pub not_before: i64,
    /// End of validity, seconds since the epoch.
    pub not_after: i64,
    /// Public key algorithm (`rsaEncryption`, `id-ecPublicKey`...).
    pub key_alg: String,
    /// Signature algorithm.
    pub sig_alg: String,
    /// Signature algorithm inside the signed part.
    pub tbs_sig_alg: String,
    /// `rsa`, `dsa` or `ecdsa`.
    pub key_type: Option<&'static str>,
    /// Key size in bits.
    pub key_length: Option<u32>,
    /// RSA public exponent, decimal.
    pub exponent: Option<String>,
    /// Named curve of an EC key.
    pub curve: Option<String>,
    /// DNS names of the subject alternative name.
    pub san_dns: Vec<String>,
    /// URIs.
    pub san_uri: Vec<String>,
    /// E-mail addresses.
    pub san_email: Vec<String>,
    /// IP addresses.
    pub san_ip: Vec<String>,
    /// Basic constraints: CA flag, when the extension is present.
    pub ca: Option<bool>,
    /// Basic constraints: path length.
    pub path_len: Option<u32>,
    /// Subject and issuer are the same name (self-issued; signature not verified).
    pub self_signed: bool,
}

/// OpenSSL's short name of a name attribute.
fn attr_name(oid: &str) -> Option<&'static str> {
    Some(match oid {
        "2.5.4.3" => "CN",
        "2.5.4.4" => "SN",
        "2.5.4.5" => "serialNumber",
        "2.5.4.6" => "C",
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.9" => "street",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "2.5.4.12" => "title",
        "2.5.4.13" => "description",
        "2.5.4.15" => "businessCategory",
        "2.5.4.17" => "postalCode",
        "2.5.4.42" => "GN",
        "2.5.4.43" => "initials",
        "2.5.4.44" => "generationQualifier",
        "2.5.4.46" => "dnQualifier",
        "2.5.4.65" => "pseudonym",
        "2.5.4.97" => "organizationIdentifier",
        "1.2.840.113549.1.9.1" => "emailAddress",
        "0.9.2342.19200300.100.1.25" => "DC",
        "0.9.2342.19200300.100.1.1" => "UID",
        "1.3.6.1.4.1.311.60.2.1.1" => "jurisdictionL",
        "1.3.6.1.4.1.311.60.2.1.2" => "jurisdictionST",
        "1.3.6.1.4.1.311.60.2.1.3" => "jurisdictionC",
        _ => return None,
    })
}

/// A value escaped as OpenSSL's RFC 2253 printing does.
fn rfc2253(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let n = v.len();
    for (i, c) in v.char_indices() {
        match c {
            ',' | '+' | '"' | '\\' | '<' | '>' | ';' => {
                out.push('\\');
                out.push(c);
            }
            '#' if i == 0 => out.push_str("\\#"),
            ' ' if i == 0 || i + 1 == n => out.push_str("\\ "),
            c if c.is_ascii_control() => out.push_str(&format!("\\{:02X}", c as u32)),
            c if !c.is_ascii() => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    out.push_str(&format!("\\{b:02X}"));
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// (attribute name, value) pairs of a name, in DER order; multi-valued RDNs flattened with
/// their grouping kept by the `bool` (true: continues the previous RDN).
fn attributes(name: &X509Name<'_>) -> Vec<(String, String, bool)> {
    let mut out = Vec::new();
    for rdn in name.iter_rdn() {
        for (i, atv) in rdn.iter().enumerate() {
            let oid = atv.attr_type().to_id_string();
            let key = attr_name(&oid).map_or(oid.clone(), str::to_string);
            let value = match atv.as_str() {
                Ok(s) => s.to_string(),
                Err(_) => String::from_utf8_lossy(atv.attr_value().data).into_owned(),
            };
            out.push((key, value, i > 0));
            if out.len() >= 64 {
                return out;
            }
        }
    }
    out
}

fn openssl_name(attrs: &[(String, String, bool)]) -> String {
    // RFC 2253 prints RDNs last first; within a multi-valued RDN the order is kept.
    let mut groups: Vec<Vec<String>> = Vec::new();
    for (k, v, cont) in attrs {
        let item = format!("{k}={}", rfc2253(v));
        match groups.last_mut() {
            Some(g) if *cont => g.push(item),
            _ => groups.push(vec![item]),
        }
    }
    groups.reverse();
    groups
        .into_iter()
        .map(|g| g.join("+"))
        .collect::<Vec<_>>()
        .join(",")
}

fn suricata_name(attrs: &[(String, String, bool)]) -> String {
    attrs
        .iter()
        .map(|(k, v, _)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Algorithms newer than the OID registry: the post-quantum signature schemes.
fn pq_name(oid: &str) -> Option<&'static str> {
    Some(match oid {
        "2.16.840.1.101.3.4.3.17" => "ML-DSA-44",
        "2.16.840.1.101.3.4.3.18" => "ML-DSA-65",
        "2.16.840.1.101.3.4.3.19" => "ML-DSA-87",
        "2.16.840.1.101.3.4.3.20" => "SLH-DSA-SHA2-128s",
        "2.16.840.1.101.3.4.3.21" => "SLH-DSA-SHA2-128f",
        _ => return None,
    })
}

fn sn(oid: &x509_parser::der_parser::oid::Oid<'_>) -> String {
    let id = oid.to_id_string();
    if let Some(n) = pq_name(&id) {
        return n.to_string();
    }
    oid2sn(oid, oid_registry()).map_or(id, str::to_string)
}

/// Upper-case hex of an unsigned big-endian integer without leading zero bytes.
fn serial_hex(raw: &[u8]) -> String {
    let start = raw
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(raw.len().saturating_sub(1));
    hex(raw.get(start..).unwrap_or(raw)).to_ascii_uppercase()
}

fn decimal(be: &[u8]) -> String {
    // Exponents are small (65537) but may be any length: long division on base-10^9 limbs.
    let digits: Vec<u8> = be.iter().copied().skip_while(|b| *b == 0).collect();
    if digits.is_empty() {
        return "0".into();
    }
    if digits.len() <= 16 {
        let v = digits
            .iter()
            .fold(0u128, |acc, b| (acc << 8) | u128::from(*b));
        return v.to_string();
    }
    hex(&digits)
}

/// The facts of the certificate `der`.
pub fn cert_info(der: &[u8]) -> CertInfo {
    let mut info = CertInfo {
        der_len: der.len(),
        sha1: hex(&Sha1::digest(der)),
        sha256: hex(&Sha256::digest(der)),
        md5: hex(&Md5::digest(der)),
        ..CertInfo::default()
    };
    let Ok((_, cert)) = X509Certificate::from_der(der) else {
        return info;
    };
    info.parsed = true;
    let tbs = &cert.tbs_certificate;
    info.version = tbs.version().0 + 1;
    info.serial = serial_hex(tbs.raw_serial());
    info.serial_der = hex(tbs.raw_serial()).to_ascii_uppercase();
    let subject = attributes(tbs.subject());
    let issuer = attributes(tbs.issuer());
    info.subject = openssl_name(&subject);
    info.issuer = openssl_name(&issuer);
    info.subject_eve = suricata_name(&subject);
    info.issuer_eve = suricata_name(&issuer);
    info.common_name = subject
        .iter()
        .rev()
        .find(|(k, _, _)| k == "CN")
        .map(|(_, v, _)| v.clone());
    info.self_signed = tbs.subject().as_raw() == tbs.issuer().as_raw();
    info.not_before = tbs.validity().not_before.timestamp();
    info.not_after = tbs.validity().not_after.timestamp();
    info.sig_alg = sn(&cert.signature_algorithm.algorithm);
    info.tbs_sig_alg = sn(&tbs.signature.algorithm);
    let spki = tbs.public_key();
    info.key_alg = sn(&spki.algorithm.algorithm);
    match spki.parsed() {
        Ok(PublicKey::RSA(rsa)) => {
            info.key_type = Some("rsa");
            info.key_length = u32::try_from(rsa.key_size()).ok();
            info.exponent = Some(decimal(rsa.exponent));
        }
        Ok(PublicKey::EC(ec)) => {
            info.key_type = Some("ecdsa");
            info.key_length = u32::try_from(ec.key_size()).ok();
            if let Some(params) = &spki.algorithm.parameters {
                if let Ok(oid) = params.as_oid() {
                    info.curve = Some(sn(&oid));
                }
            }
        }
        Ok(PublicKey::DSA(_)) => {
            info.key_type = Some("dsa");
        }
        _ => {
            if let Some(n) = pq_name(&spki.algorithm.algorithm.to_id_string()) {
                // Zeek (OpenSSL 3.5) names the key type after the scheme and counts the bits
                // of the encoded key.
                info.key_type = Some(n);
                info.key_length = u32::try_from(spki.subject_public_key.data.len() * 8).ok();
            }
        }
    }
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            match name {
                GeneralName::DNSName(d) => info.san_dns.push((*d).to_string()),
                GeneralName::URI(u) => info.san_uri.push((*u).to_string()),
                GeneralName::RFC822Name(e) => info.san_email.push((*e).to_string()),
                GeneralName::IPAddress(ip) => {
                    let addr = match ip.len() {
                        4 => Some(std::net::IpAddr::from([ip[0], ip[1], ip[2], ip[3]])),
                        16 => {
                            let mut a = [0u8; 16];
                            a.copy_from_slice(ip);
                            Some(std::net::IpAddr::from(a))
                        }
                        _ => None,
                    };
                    if let Some(a) = addr {
                        info.san_ip.push(a.to_string());
                    }
                }
                _ => {}
            }
            let names =
                info.san_dns.len() + info.san_uri.len() + info.san_email.len() + info.san_ip.len();
            if names > 1024 {
                break;
            }
        }
    }
    if let Ok(Some(bc)) = cert.basic_constraints() {
        info.ca = Some(bc.value.ca);
        info.path_len = bc.value.path_len_constraint;
    }
    info
}

/// Whether `host` matches the certificate's names (SAN DNS names, else its common name),
/// with a leftmost-label wildcard as RFC 6125 allows.
pub fn matches_host(info: &CertInfo, host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let names: Vec<&str> = if info.san_dns.is_empty() {
        info.common_name.iter().map(String::as_str).collect()
    } else {
        info.san_dns.iter().map(String::as_str).collect()
    };
    names.iter().any(|pattern| {
        let p = pattern.trim_end_matches('.').to_ascii_lowercase();
        match p.strip_prefix("*.") {
            Some(rest) => host
                .split_once('.')
                .is_some_and(|(first, tail)| !first.is_empty() && tail == rest),
            None => p == host,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc2253_escaping() {
        assert_eq!(rfc2253("a,b"), "a\\,b");
        assert_eq!(rfc2253(" x "), "\\ x\\ ");
        assert_eq!(rfc2253("#1"), "\\#1");
        assert_eq!(rfc2253("é"), "\\C3\\A9");
    }

    #[test]
    fn serials_and_exponents() {
        assert_eq!(serial_hex(&[0x00, 0x8f, 0x01]), "8F01");
        assert_eq!(serial_hex(&[0x0b, 0x67, 0x71]), "0B6771");
        assert_eq!(serial_hex(&[0]), "00");
        assert_eq!(decimal(&[1, 0, 1]), "65537");
    }

    #[test]
    fn wildcard_host_matching() {
        let info = CertInfo {
            san_dns: vec!["*.gstatic.com".into(), "gstatic.com".into()],
            ..CertInfo::default()
        };
        assert!(matches_host(&info, "ssl.gstatic.com"));
        assert!(matches_host(&info, "GSTATIC.com"));
        assert!(!matches_host(&info, "a.b.gstatic.com"));
        assert!(!matches_host(&info, "evilgstatic.com"));
    }

    #[test]
    fn garbage_is_hashed_not_parsed() {
        let i = cert_info(b"not a certificate");
        assert!(!i.parsed);
        assert_eq!(i.der_len, 17);
        assert_eq!(i.sha1.len(), 40);
    }
}
