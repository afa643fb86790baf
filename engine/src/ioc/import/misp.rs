//! MISP events (`{"Event": {...}}`, or a list of them, or `{"response": [...]}`): their
//! network attributes, in the event and in its objects. The event's `info` becomes the
//! indicators' app, its first tag their tag.

use super::{json, make, Import, ImportError};
use crate::ioc::IocKind;

fn attribute_kinds(kind: &str) -> Option<IocKind> {
    Some(match kind {
        "domain" | "hostname" | "url" | "uri" | "link" => IocKind::Domain,
        "ip-dst" | "ip-src" | "ip" => IocKind::Ip,
        "x509-fingerprint-sha1" => IocKind::CertSha1,
        "x509-fingerprint-sha256" => IocKind::CertSha256,
        "ja3-fingerprint-md5" => IocKind::Ja3,
        _ => return None,
    })
}

pub(super) fn event(source: &str, text: &str) -> Result<Import, ImportError> {
    let doc = json(source, text)?;
    let events: Vec<&serde_json::Value> = match &doc {
        serde_json::Value::Array(a) => a.iter().collect(),
        v => match v.get("response").and_then(serde_json::Value::as_array) {
            Some(a) => a.iter().collect(),
            None => vec![v],
        },
    };
    let mut out = Import::default();
    for (n, wrapper) in events.into_iter().enumerate() {
        let ev = wrapper.get("Event").unwrap_or(wrapper);
        let at = |what: &str| format!("event {n}: {what}");
        let info = ev.get("info").and_then(serde_json::Value::as_str);
        let tag = ev
            .get("Tag")
            .and_then(serde_json::Value::as_array)
            .and_then(|t| t.first())
            .and_then(|t| t.get("name"))
            .and_then(serde_json::Value::as_str)
            .unwrap_or("");
        let mut attrs: Vec<&serde_json::Value> = ev
            .get("Attribute")
            .and_then(serde_json::Value::as_array)
            .map(|a| a.iter().collect())
            .unwrap_or_default();
        for obj in ev
            .get("Object")
            .and_then(serde_json::Value::as_array)
            .into_iter()
            .flatten()
        {
            attrs.extend(
                obj.get("Attribute")
                    .and_then(serde_json::Value::as_array)
                    .into_iter()
                    .flatten(),
            );
        }
        for (i, a) in attrs.into_iter().enumerate() {
            let kind = a
                .get("type")
                .and_then(serde_json::Value::as_str)
                .unwrap_or("");
            let Some(value) = a.get("value").and_then(serde_json::Value::as_str) else {
                return Err(ImportError {
                    source: source.to_string(),
                    at: at(&format!("attribute {i}")),
                    what: "no `value`".into(),
                });
            };
            // "domain|ip" pairs carry both.
            let pairs: Vec<(&str, &str)> = match (kind.split_once('|'), value.split_once('|')) {
                (Some((k1, k2)), Some((v1, v2))) => vec![(k1, v1), (k2, v2)],
                _ => vec![(kind, value)],
            };
            for (k, v) in pairs {
                let Some(ik) = attribute_kinds(k) else {
                    out.skip(k.to_string());
                    continue;
                };
                let Some(v) = out.domain_of(ik, v) else {
                    continue;
                };
                let v = if matches!(k, "url" | "uri" | "link") {
                    crate::ioc::host_of(&v)
                } else {
                    v
                };
                let ik = if ik == IocKind::Ip && v.contains('/') {
                    IocKind::Cidr
                } else {
                    ik
                };
                let ioc = make(ik, &v, tag, info, None, source).map_err(|what| ImportError {
                    source: source.to_string(),
                    at: at(&format!("attribute {i}")),
                    what,
                })?;
                out.iocs.push(ioc);
            }
        }
    }
    Ok(out)
}
