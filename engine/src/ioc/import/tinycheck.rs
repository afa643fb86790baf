//! TinyCheck's feed and whitelist formats (its watchers' JSON).

use super::lenient::{self, Doc};
use super::{json_error, make, Import, ImportError};
use crate::ioc::IocKind;

/// Reads a TinyCheck document, its entries under `list`.
fn read_doc<'a>(source: &str, text: &'a str, list: &'static str) -> Result<Doc<'a>, ImportError> {
    lenient::doc(text, list).map_err(|e| json_error(source, &e))
}

/// The feed's `to_delete` list: the `key` of each entry.
fn to_delete(
    doc: &Doc<'_>,
    key: &str,
    out: &mut Import,
    err: &dyn Fn(String, String) -> ImportError,
) -> Result<(), ImportError> {
    for (i, e) in doc.to_delete.iter().flatten().enumerate() {
        let v = e
            .required(key)
            .map_err(|what| err(format!("to_delete[{i}]"), what))?;
        out.to_delete.push(v.to_string());
    }
    Ok(())
}

/// `{"iocs": [{"type", "tag", "tlp", "value"}], "to_delete": [{"value"}]}`.
pub(super) fn iocs(source: &str, text: &str) -> Result<Import, ImportError> {
    let doc = read_doc(source, text, "iocs")?;
    let err = |at: String, what: String| ImportError {
        source: source.to_string(),
        at,
        what,
    };
    let list = doc
        .list
        .as_ref()
        .ok_or_else(|| err("top level".into(), "no `iocs` array".into()))?;
    let mut out = Import::default();
    for (i, e) in list.iter().enumerate() {
        let at = || format!("iocs[{i}]");
        let kind = e.required("type").map_err(|what| err(at(), what))?;
        let value = e.required("value").map_err(|what| err(at(), what))?;
        let tag = e.field("tag").unwrap_or("");
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
            make(k, &value, tag, None, e.field("tlp"), source).map_err(|what| err(at(), what))?;
        out.iocs.push(ioc);
    }
    to_delete(&doc, "value", &mut out, &err)?;
    Ok(out)
}

/// `{"elements": [{"type", "element"}], "to_delete": [{"element"}]}`.
pub(super) fn whitelist(source: &str, text: &str) -> Result<Import, ImportError> {
    let doc = read_doc(source, text, "elements")?;
    let err = |at: String, what: String| ImportError {
        source: source.to_string(),
        at,
        what,
    };
    let list = doc
        .list
        .as_ref()
        .ok_or_else(|| err("top level".into(), "no `elements` array".into()))?;
    let mut out = Import::default();
    for (i, e) in list.iter().enumerate() {
        let at = || format!("elements[{i}]");
        let kind = e.required("type").map_err(|what| err(at(), what))?;
        let value = e.required("element").map_err(|what| err(at(), what))?;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// An entry without a field it needs is an error naming the entry and the field.
    #[test]
    fn an_entry_without_a_needed_field_is_named() {
        let feed = r#"{"iocs": [{"type": "domain", "value": "a.example"}, {"type": "domain"}]}"#;
        let e = iocs("feed.json", feed).expect_err("no value");
        assert_eq!((e.at.as_str(), e.what.as_str()), ("iocs[1]", "no `value`"));
        let feed = r#"{"iocs": [{"value": "a.example"}]}"#;
        let e = iocs("feed.json", feed).expect_err("no type");
        assert_eq!((e.at.as_str(), e.what.as_str()), ("iocs[0]", "no `type`"));
        let list = r#"{"elements": [{"type": "ip", "element": "192.0.2.1"}], "to_delete": [{}]}"#;
        let e = whitelist("wl.json", list).expect_err("no element");
        assert_eq!(
            (e.source.as_str(), e.at.as_str(), e.what.as_str()),
            ("wl.json", "to_delete[0]", "no `element`")
        );
        let ok = whitelist(
            "wl.json",
            r#"{"elements": [{"type": "ip", "element": "192.0.2.1"}]}"#,
        )
        .expect("reads");
        assert_eq!(ok.iocs.len(), 1);
    }
}
