//! STIX 2.1 bundles as MVT and Echap publish them: `indicator` objects whose STIX pattern
//! compares `domain-name:value`, `ipv4-addr:value`, `ipv6-addr:value` or `url:value` (several
//! comparisons joined by OR or AND each give an indicator), linked by `indicates`
//! relationships to the `malware` they reveal, whose name becomes the indicators' app.

use std::collections::HashMap;

use super::{json, make, Import, ImportError};
use crate::ioc::IocKind;

/// The comparisons `object:property = 'value'` of a STIX pattern.
fn comparisons(pattern: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = pattern;
    while let Some(eq) = rest.find('=') {
        let before = rest[..eq].trim_end();
        // What follows the last bracket or space (a space may be several bytes long: no
        // byte arithmetic on its position).
        let path = before
            .rsplit(|c: char| c == '[' || c == '(' || c.is_whitespace())
            .next()
            .unwrap_or(before)
            .to_string();
        let after = rest[eq + 1..].trim_start();
        let Some(quoted) = after.strip_prefix('\'') else {
            rest = &rest[eq + 1..];
            continue;
        };
        // STIX escapes a quote as \' and a backslash as \\.
        let mut value = String::new();
        let mut chars = quoted.char_indices();
        let mut end = quoted.len();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => {
                    if let Some((_, n)) = chars.next() {
                        value.push(n);
                    }
                }
                '\'' => {
                    end = i + 1;
                    break;
                }
                _ => value.push(c),
            }
        }
        out.push((path, value));
        rest = &quoted[end.min(quoted.len())..];
    }
    out
}

pub(super) fn bundle(source: &str, text: &str) -> Result<Import, ImportError> {
    let doc = json(source, text)?;
    let err = |at: String, what: String| ImportError {
        source: source.to_string(),
        at,
        what,
    };
    let objects = doc
        .get("objects")
        .and_then(serde_json::Value::as_array)
        .ok_or_else(|| {
            err(
                "top level".into(),
                "no `objects` array (not a STIX bundle)".into(),
            )
        })?;
    let str_of = |o: &serde_json::Value, k: &str| {
        o.get(k)
            .and_then(serde_json::Value::as_str)
            .map(str::to_string)
    };
    // malware (and intrusion-set, campaign, tool) names by id, then indicator → name.
    let mut names: HashMap<String, String> = HashMap::new();
    for o in objects {
        if let (Some(t), Some(id), Some(name)) =
            (str_of(o, "type"), str_of(o, "id"), str_of(o, "name"))
        {
            if matches!(
                t.as_str(),
                "malware" | "intrusion-set" | "campaign" | "tool" | "threat-actor"
            ) {
                names.insert(id, name);
            }
        }
    }
    let mut app_of: HashMap<String, String> = HashMap::new();
    for o in objects {
        if str_of(o, "type").as_deref() == Some("relationship")
            && str_of(o, "relationship_type").as_deref() == Some("indicates")
        {
            if let (Some(src), Some(dst)) = (str_of(o, "source_ref"), str_of(o, "target_ref")) {
                if let Some(name) = names.get(&dst) {
                    app_of.insert(src, name.clone());
                }
            }
        }
    }
    let mut out = Import::default();
    for (i, o) in objects.iter().enumerate() {
        if str_of(o, "type").as_deref() != Some("indicator") {
            continue;
        }
        let at = || format!("objects[{i}]");
        if str_of(o, "pattern_type").is_some_and(|t| t != "stix") {
            out.skip(format!(
                "{} pattern",
                str_of(o, "pattern_type").unwrap_or_default()
            ));
            continue;
        }
        let pattern = str_of(o, "pattern").ok_or_else(|| err(at(), "no `pattern`".into()))?;
        let id = str_of(o, "id").unwrap_or_default();
        let tag = o
            .get("indicator_types")
            .or_else(|| o.get("labels"))
            .and_then(serde_json::Value::as_array)
            .and_then(|a| a.first())
            .and_then(serde_json::Value::as_str)
            .unwrap_or("")
            .to_string();
        let app = app_of.get(&id).cloned().or_else(|| str_of(o, "name"));
        let comps = comparisons(&pattern);
        if comps.is_empty() {
            return Err(err(at(), format!("cannot read the pattern `{pattern}`")));
        }
        for (path, value) in comps {
            let (kind, value) = match path.as_str() {
                "domain-name:value" => (IocKind::Domain, value),
                "ipv4-addr:value" | "ipv6-addr:value" => {
                    if value.contains('/') {
                        (IocKind::Cidr, value)
                    } else {
                        (IocKind::Ip, value)
                    }
                }
                "url:value" => match out.domain_of(IocKind::Domain, &value) {
                    Some(v) => (IocKind::Domain, crate::ioc::host_of(&v)),
                    None => continue,
                },
                "x509-certificate:hashes.'SHA-1'" | "x509-certificate:hashes.SHA-1" => {
                    (IocKind::CertSha1, value)
                }
                "x509-certificate:hashes.'SHA-256'" | "x509-certificate:hashes.SHA-256" => {
                    (IocKind::CertSha256, value)
                }
                other => {
                    out.skip(other.split(':').next().unwrap_or(other).to_string());
                    continue;
                }
            };
            let ioc = make(kind, &value, &tag, app.as_deref(), None, source)
                .map_err(|what| err(at(), what))?;
            out.iocs.push(ioc);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_are_read() {
        assert_eq!(
            comparisons("[domain-name:value='a.com']"),
            vec![("domain-name:value".into(), "a.com".into())]
        );
        assert_eq!(
            comparisons("[url:value = 'http://x.y/a\\'b'] OR [ipv4-addr:value = '1.2.3.4']"),
            vec![
                ("url:value".into(), "http://x.y/a'b".into()),
                ("ipv4-addr:value".into(), "1.2.3.4".into())
            ]
        );
    }

    /// Found by the `iocs` fuzz target: a space of several bytes (U+00A0, U+2028, U+3000)
    /// before the path made the reader slice inside it and panic.
    #[test]
    fn multibyte_spaces_before_a_path_are_spaces() {
        for space in ['\u{a0}', '\u{85}', '\u{2028}', '\u{3000}'] {
            let pattern = format!("[{space}domain-name:value='a.example']");
            assert_eq!(
                comparisons(&pattern),
                vec![("domain-name:value".into(), "a.example".into())],
                "{space:?}"
            );
        }
        let bundle = r#"{"objects":[{"type":"indicator","pattern":"[\u00a0domain-name:value='a.example']"}]}"#;
        let import = super::bundle("t.stix2", bundle).expect("reads");
        assert_eq!(import.iocs.len(), 1);
    }
}
