//! Readers for the formats indicator feeds are published in. Each takes the file's bytes and
//! returns every indicator or an error naming the line or position of the first problem:
//! callers apply an import whole or not at all.
//!
//! Entries of a kind this engine does not match (e-mail addresses, file hashes, app ids...)
//! are not errors: they are counted in [`Import::skipped`] by kind.

mod echap;
mod lenient;
mod misp;
mod stix;
mod text;
mod tinycheck;

use std::collections::BTreeMap;
use std::fmt;

use super::{normalise, Ioc, IocKind};

/// What a file held.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Import {
    /// The indicators (or whitelist entries), normalised.
    pub iocs: Vec<Ioc>,
    /// Values the feed asks to remove (TinyCheck's `to_delete`).
    pub to_delete: Vec<String>,
    /// Suricata/Snort rules the feed carries (TinyCheck's `snort` entries, rule files), with
    /// the tag they came with.
    pub rules: Vec<(String, String)>,
    /// Entries not imported, by kind (`email-addr`, `file:hashes`...).
    pub skipped: BTreeMap<String, usize>,
}

impl Import {
    fn skip(&mut self, what: impl Into<String>) {
        *self.skipped.entry(what.into()).or_insert(0) += 1;
    }

    /// The domain a value of kind `kind` stands for: the value itself, or the host of a URL
    /// that names nothing else. A URL with a path is never widened to its host (the host may
    /// be a shared service): it is counted in `skipped` and `None` is returned.
    fn domain_of(&mut self, kind: IocKind, value: &str) -> Option<String> {
        if kind != IocKind::Domain || !value.contains('/') {
            return Some(value.to_string());
        }
        let host = super::url_host(value);
        if host.is_none() {
            self.skip("url with a path");
        }
        host
    }
}

/// A file that cannot be imported: where and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportError {
    /// The file (as named by the caller).
    pub source: String,
    /// Where: `line 12`, `line 3, column 7`, `indicator 4`...
    pub at: String,
    /// What is wrong.
    pub what: String,
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.source, self.at, self.what)
    }
}

impl std::error::Error for ImportError {}

/// The formats read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// TinyCheck's feed: `{"iocs": [{type, tag, tlp, value}], "to_delete": [{value}]}`.
    TinyCheck,
    /// TinyCheck's whitelist: `{"elements": [{type, element}], "to_delete": [{element}]}`.
    TinyCheckWhitelist,
    /// Echap's `network.csv`: `type,indicator,app`.
    EchapCsv,
    /// A STIX 2.1 bundle (MVT's and Echap's indicators).
    Stix2,
    /// A MISP event (network attributes).
    Misp,
    /// One indicator per line, kind guessed, `#` comments.
    Text,
    /// Suricata rules, kept as rules.
    SuricataRules,
}

impl Format {
    /// Recognises a format from the file's name and first bytes.
    pub fn detect(name: &str, data: &[u8]) -> Format {
        let lower = name.to_ascii_lowercase();
        let head: String = String::from_utf8_lossy(&data[..data.len().min(4096)])
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        if lower.ends_with(".rules") {
            return Format::SuricataRules;
        }
        if head.starts_with('{') || head.starts_with('[') {
            if head.contains("\"type\":\"bundle\"") || lower.ends_with(".stix2") {
                return Format::Stix2;
            }
            if head.contains("\"elements\"") {
                return Format::TinyCheckWhitelist;
            }
            if head.contains("\"Event\"") || head.contains("\"Attribute\"") {
                return Format::Misp;
            }
            return Format::TinyCheck;
        }
        if lower.ends_with(".csv") || head.starts_with("type,indicator") {
            return Format::EchapCsv;
        }
        Format::Text
    }
}

/// Reads `data` (from `source`) as `format`. `default_tag` is the tag of indicators whose
/// format carries none (Echap's stalkerware lists, plain text).
pub fn read(
    format: Format,
    source: &str,
    data: &[u8],
    default_tag: &str,
) -> Result<Import, ImportError> {
    let err = |at: String, what: String| ImportError {
        source: source.to_string(),
        at,
        what,
    };
    let text = std::str::from_utf8(data).map_err(|e| {
        let line = data[..e.valid_up_to()]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1;
        err(format!("line {line}"), "not UTF-8 text".into())
    })?;
    match format {
        Format::TinyCheck => tinycheck::iocs(source, text),
        Format::TinyCheckWhitelist => tinycheck::whitelist(source, text),
        Format::EchapCsv => echap::network_csv(source, text, default_tag),
        Format::Stix2 => stix::bundle(source, text),
        Format::Misp => misp::event(source, text),
        Format::Text => text::lines(source, text, default_tag),
        Format::SuricataRules => Ok(Import {
            rules: vec![(text.to_string(), default_tag.to_string())],
            ..Import::default()
        }),
    }
}

/// Parses JSON, with the error's line and column.
fn json(source: &str, text: &str) -> Result<serde_json::Value, ImportError> {
    serde_json::from_str(text).map_err(|e| json_error(source, &e))
}

/// A JSON error of `source`, at its line and column.
fn json_error(source: &str, e: &serde_json::Error) -> ImportError {
    ImportError {
        source: source.to_string(),
        at: format!("line {}, column {}", e.line(), e.column()),
        what: format!("invalid JSON: {e}"),
    }
}

/// Builds an indicator, normalising its value.
fn make(
    kind: IocKind,
    value: &str,
    tag: &str,
    app: Option<&str>,
    tlp: Option<&str>,
    source: &str,
) -> Result<Ioc, String> {
    Ok(Ioc {
        kind,
        value: normalise(kind, value).map_err(|e| e.0)?,
        tag: tag.trim().to_ascii_lowercase(),
        app: app
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(str::to_string),
        tlp: tlp.map(|t| t.trim().to_ascii_lowercase()),
        source: source.to_string(),
    })
}
