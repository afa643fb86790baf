//! Writers for the formats other tools read: TinyCheck's feed JSON and STIX 2.1 bundles.

use std::collections::BTreeMap;

use super::{Ioc, IocKind};

/// TinyCheck's names for the kinds it knows (`None`: it has no such type).
fn tinycheck_type(kind: IocKind) -> Option<&'static str> {
    Some(match kind {
        IocKind::Domain => "domain",
        IocKind::Ip => "ip4addr",
        IocKind::Cidr => "cidr",
        IocKind::CertSha1 => "sha1cert",
        IocKind::Nameserver => "ns",
        IocKind::DynDns => "freedns",
        IocKind::Tld => "tld",
        IocKind::CertSha256 | IocKind::Ja3 | IocKind::Ja4 => return None,
    })
}

/// `{"iocs": [{"type", "tag", "tlp", "value"}]}`: the indicators TinyCheck can hold (IPv6
/// addresses as `ip6addr`; certificate SHA-256 and TLS fingerprints have no TinyCheck type and
/// are left out).
pub fn tinycheck(iocs: &[Ioc]) -> serde_json::Value {
    let items: Vec<serde_json::Value> = iocs
        .iter()
        .filter_map(|i| {
            let mut t = tinycheck_type(i.kind)?;
            if i.kind == IocKind::Ip && i.value.contains(':') {
                t = "ip6addr";
            }
            let value = if i.kind == IocKind::Tld {
                format!(".{}", i.value)
            } else {
                i.value.clone()
            };
            Some(serde_json::json!({
                "type": t,
                "tag": i.tag,
                "tlp": i.tlp.as_deref().unwrap_or("white"),
                "value": value,
            }))
        })
        .collect();
    serde_json::json!({ "iocs": items })
}

/// A deterministic identifier: `kind--` and a UUID-shaped hash of `seed` (STIX wants UUIDs;
/// the same indicator always gets the same one, so exports diff cleanly).
fn stix_id(kind: &str, seed: &str) -> String {
    use sha1::Digest;
    let h = sha1::Sha1::digest(seed.as_bytes());
    let hex: String = h.iter().map(|b| format!("{b:02x}")).collect();
    let g = |a: usize, b: usize| hex.get(a..b).unwrap_or("0");
    format!(
        "{kind}--{}-{}-5{}-8{}-{}",
        g(0, 8),
        g(8, 12),
        g(13, 16),
        g(17, 20),
        g(20, 32)
    )
}

/// The STIX pattern of an indicator (`None` for kinds STIX has no object for).
fn stix_pattern(i: &Ioc) -> Option<String> {
    let esc = i.value.replace('\\', "\\\\").replace('\'', "\\'");
    Some(match i.kind {
        IocKind::Domain | IocKind::DynDns => format!("[domain-name:value = '{esc}']"),
        IocKind::Ip | IocKind::Cidr if i.value.contains(':') => {
            format!("[ipv6-addr:value = '{esc}']")
        }
        IocKind::Ip | IocKind::Cidr => format!("[ipv4-addr:value = '{esc}']"),
        IocKind::CertSha1 => format!("[x509-certificate:hashes.'SHA-1' = '{esc}']"),
        IocKind::CertSha256 => format!("[x509-certificate:hashes.'SHA-256' = '{esc}']"),
        IocKind::Nameserver | IocKind::Tld | IocKind::Ja3 | IocKind::Ja4 => return None,
    })
}

/// A STIX 2.1 bundle: one `indicator` per indicator STIX can express, and one `malware` per
/// app with `indicates` relationships, as MVT reads them. `created` is the time to stamp.
pub fn stix2(iocs: &[Ioc], created: &str) -> serde_json::Value {
    let mut objects = Vec::new();
    let mut malware: BTreeMap<String, String> = BTreeMap::new();
    for i in iocs {
        let Some(pattern) = stix_pattern(i) else {
            continue;
        };
        let id = stix_id("indicator", &format!("{}:{}:{}", i.kind, i.value, i.source));
        let mut ind = serde_json::json!({
            "type": "indicator",
            "spec_version": "2.1",
            "id": id,
            "created": created,
            "modified": created,
            "pattern": pattern,
            "pattern_type": "stix",
            "pattern_version": "2.1",
            "valid_from": created,
        });
        if !i.tag.is_empty() {
            ind["indicator_types"] = serde_json::json!([i.tag]);
        }
        objects.push(ind);
        if let Some(app) = &i.app {
            let mid = malware
                .entry(app.clone())
                .or_insert_with(|| stix_id("malware", app))
                .clone();
            objects.push(serde_json::json!({
                "type": "relationship",
                "spec_version": "2.1",
                "id": stix_id("relationship", &format!("{id}>{mid}")),
                "created": created,
                "modified": created,
                "relationship_type": "indicates",
                "source_ref": id,
                "target_ref": mid,
            }));
        }
    }
    for (name, id) in malware {
        objects.push(serde_json::json!({
            "type": "malware",
            "spec_version": "2.1",
            "id": id,
            "created": created,
            "modified": created,
            "name": name,
            "is_family": true,
        }));
    }
    serde_json::json!({
        "type": "bundle",
        "id": stix_id("bundle", &format!("{}{created}", iocs.len())),
        "objects": objects,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ioc::import::{read, Format};

    #[test]
    fn exports_read_back_the_same() {
        let src = br#"{"iocs": [
            {"type": "domain", "tag": "stalkerware", "tlp": "white", "value": "a.example"},
            {"type": "ip4addr", "tag": "tracker", "tlp": "green", "value": "192.0.2.1"},
            {"type": "cidr", "tag": "suspect", "tlp": "white", "value": "198.51.100.0/24"},
            {"type": "tld", "tag": "suspect", "tlp": "white", "value": ".zip"}]}"#;
        let iocs = read(Format::TinyCheck, "f.json", src, "")
            .unwrap_or_default()
            .iocs;
        assert_eq!(iocs.len(), 4);
        let tc = serde_json::to_vec(&tinycheck(&iocs)).unwrap_or_default();
        let back = read(Format::TinyCheck, "f.json", &tc, "")
            .unwrap_or_default()
            .iocs;
        assert_eq!(back, iocs);
        let mut tagged = iocs.clone();
        tagged[0].app = Some("SpyApp".into());
        let st = serde_json::to_vec(&stix2(&tagged, "2024-01-01T00:00:00Z")).unwrap_or_default();
        let back = read(Format::detect("x.stix2", &st), "x.stix2", &st, "")
            .unwrap_or_default()
            .iocs;
        let values: Vec<&str> = back.iter().map(|i| i.value.as_str()).collect();
        assert_eq!(values, ["a.example", "192.0.2.1", "198.51.100.0/24"]);
        assert_eq!(back[0].app.as_deref(), Some("SpyApp"));
        assert_eq!(back[0].tag, "stalkerware");
    }
}
