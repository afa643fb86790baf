//! Plain lists: one indicator per line, its kind guessed; `#` starts a comment, also after
//! an indicator; defanged values (`evil[.]com`, `hxxp://`) are accepted; a hosts-file line
//! (`0.0.0.0 name`) gives its name.

use super::{make, Import, ImportError};
use crate::ioc::{guess_kind, IocKind};

pub(super) fn lines(source: &str, text: &str, tag: &str) -> Result<Import, ImportError> {
    let mut out = Import::default();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let mut words = line.split_whitespace();
        let first = words.next().unwrap_or("");
        // hosts files: "0.0.0.0 name" or "127.0.0.1 name"
        let value = match (first, words.next()) {
            ("0.0.0.0" | "127.0.0.1" | "::" | "::1", Some(name)) => name,
            (v, None) => v,
            _ => {
                return Err(ImportError {
                    source: source.to_string(),
                    at: format!("line {}", n + 1),
                    what: format!("expected one indicator, found `{line}`"),
                })
            }
        };
        let Some(kind) = guess_kind(value) else {
            return Err(ImportError {
                source: source.to_string(),
                at: format!("line {}", n + 1),
                what: format!("`{value}` is not a domain, address, network or hash"),
            });
        };
        let Some(value) = out.domain_of(kind, value) else {
            continue;
        };
        // A bare `https://host/` names its host.
        let value = if kind == IocKind::Domain {
            crate::ioc::host_of(&value)
        } else {
            value
        };
        out.iocs.push(
            make(kind, &value, tag, None, None, source).map_err(|what| ImportError {
                source: source.to_string(),
                at: format!("line {}", n + 1),
                what,
            })?,
        );
    }
    Ok(out)
}
