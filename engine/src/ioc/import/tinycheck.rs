//! TinyCheck's feed and whitelist formats (its watchers' JSON).

use super::{json, make, Import, ImportError};
use crate::ioc::IocKind;

fn field<'a>(v: &'a serde_json::Value, name: &str) -> Option<&'a str> {
    v.get(name).and_then(serde_json::Value::as_str)
}

/// The feed's `to_delete` list: the `key` of each entry.
fn to_delete(
    doc: &serde_json::Value,
    key: &str,
    out: &mut Import,
    err: &dyn Fn(String, String) -> ImportError,
) -> Result<(), ImportError> {
    let list = doc.get("to_delete").and_then(serde_json::Value::as_array);
    for (i, e) in list.into_iter().flatten().enumerate() {
        let v =
            field(e, key).ok_or_else(|| err(format!("to_delete[{i}]"), format!("no `{key}`")))?;
        out.to_delete.push(v.to_string());
    }
    Ok(())
}

/// `{"iocs": [{"type", "tag", "tlp", "value"}], "to_delete": [{"value"}]}`.
pub(super) fn iocs(source: &str, text: &str) -> Result<Import, ImportError> {
    let doc = json(source, text)?;
    let err = |at: String, what: String| ImportError {
        source: source.to_string(),
        at,
        what,
    };
    let list = doc
        .get("iocs")
        .and_then(serde_json::Value::as_array)
        .ok_or_else(|| err("top level".into(), "no `iocs` array".into()))?;
    let mut out = Import::default();
    for (i, e) in list.iter().enumerate() {
        let at = || format!("iocs[{i}]");
        let kind = field(e, "type").ok_or_else(|| err(at(), "no `type`".into()))?;
        let value = field(e, "value").ok_or_else(|| err(at(), "no `value`".into()))?;
        let tag = field(e, "tag").unwrap_or("");
        if kind.eq_ignore_ascii_case("snort") || kind.eq_ignore_ascii_case("suricata") {
            out.rules.push((value.to_string(), tag.to_string()));
            continue;
        }
        let Some(k) = IocKind::parse(kind) else {
            out.skip(kind);
            continue;
        };
        let Some(value) = out.domain_of(k, value) else {
            continue;
        };
        let ioc =
            make(k, &value, tag, None, field(e, "tlp"), source).map_err(|what| err(at(), what))?;
        out.iocs.push(ioc);
    }
    to_delete(&doc, "value", &mut out, &err)?;
    Ok(out)
}

/// `{"elements": [{"type", "element"}], "to_delete": [{"element"}]}`.
pub(super) fn whitelist(source: &str, text: &str) -> Result<Import, ImportError> {
    let doc = json(source, text)?;
    let err = |at: String, what: String| ImportError {
        source: source.to_string(),
        at,
        what,
    };
    let list = doc
        .get("elements")
        .and_then(serde_json::Value::as_array)
        .ok_or_else(|| err("top level".into(), "no `elements` array".into()))?;
    let mut out = Import::default();
    for (i, e) in list.iter().enumerate() {
        let at = || format!("elements[{i}]");
        let kind = field(e, "type").ok_or_else(|| err(at(), "no `type`".into()))?;
        let value = field(e, "element").ok_or_else(|| err(at(), "no `element`".into()))?;
        let Some(k) = IocKind::parse(kind) else {
            out.skip(kind);
            continue;
        };
        out.iocs
            .push(make(k, value, "whitelist", None, None, source).map_err(|what| err(at(), what))?);
    }
    to_delete(&doc, "element", &mut out, &err)?;
    Ok(out)
}
