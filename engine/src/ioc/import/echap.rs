//! Echap's `network.csv` (`type,indicator,app`).

use super::{make, Import, ImportError};
use crate::ioc::IocKind;

/// Every row an indicator of the app it names, tagged `tag`.
pub(super) fn network_csv(source: &str, text: &str, tag: &str) -> Result<Import, ImportError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(text.as_bytes());
    let err = |line: u64, what: String| ImportError {
        source: source.to_string(),
        at: format!("line {line}"),
        what,
    };
    let headers = reader
        .headers()
        .map_err(|e| err(1, format!("bad header: {e}")))?
        .clone();
    let col = |name: &str| headers.iter().position(|h| h.trim() == name);
    let (Some(kind_col), Some(value_col)) = (col("type"), col("indicator")) else {
        return Err(err(1, "expected the columns type,indicator[,app]".into()));
    };
    let app_col = col("app");
    let mut out = Import::default();
    for row in reader.records() {
        let row = row.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            err(line, format!("bad row: {e}"))
        })?;
        let line = row.position().map_or(0, |p| p.line());
        let kind = row.get(kind_col).unwrap_or("");
        let value = row.get(value_col).unwrap_or("");
        let Some(k) = IocKind::parse(kind) else {
            out.skip(kind);
            continue;
        };
        let app = app_col.and_then(|c| row.get(c));
        let Some(value) = out.domain_of(k, value) else {
            continue;
        };
        out.iocs
            .push(make(k, &value, tag, app, None, source).map_err(|what| err(line, what))?);
    }
    Ok(out)
}
