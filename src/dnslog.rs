//! `tcheck analyze` on a DNS service's query log instead of a capture: AdGuard Home's
//! `querylog.json`, NextDNS's CSV export (read by the engine) and Pi-hole's `pihole-FTL.db`
//! (SQLite, read here, read-only).

use std::net::IpAddr;
use std::path::Path;

use anyhow::{bail, Context, Result};
use tcheck_engine::verdict::dnslog::{read_adguard, read_nextdns, DnsLogEntry, DnsLogFormat};
use tcheck_engine::Timestamp;

/// A query log tcheck reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogKind {
    /// AdGuard Home or NextDNS (read by the engine).
    Text(DnsLogFormat),
    /// Pi-hole's FTL database.
    PiHole,
}

/// What the file at `path` is, if it is a DNS query log (captures are not).
pub fn detect(path: &Path) -> Result<Option<LogKind>> {
    use std::io::Read;
    let mut head = vec![0u8; 2048];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .with_context(|| path.display().to_string())?;
    let head = head.get(..n).unwrap_or(&[]);
    if head.starts_with(b"SQLite format 3\0") {
        return Ok(Some(LogKind::PiHole));
    }
    Ok(DnsLogFormat::detect(head).map(LogKind::Text))
}

/// Reads the log's queries.
pub fn read(path: &Path, kind: LogKind) -> Result<Vec<DnsLogEntry>> {
    let name = path.display().to_string();
    match kind {
        LogKind::Text(format) => {
            let data = std::fs::read(path).with_context(|| name.clone())?;
            Ok(match format {
                DnsLogFormat::AdGuard => read_adguard(&name, &data)?,
                DnsLogFormat::NextDns => read_nextdns(&name, &data)?,
            })
        }
        LogKind::PiHole => read_pihole(path),
    }
}

/// Pi-hole's `queries` table (a view over `query_storage` since FTL v5): time, name, client.
fn read_pihole(path: &Path) -> Result<Vec<DnsLogEntry>> {
    use rusqlite::{Connection, OpenFlags};
    let name = path.display().to_string();
    let db = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .with_context(|| format!("{name}: cannot open as SQLite"))?;
    let mut stmt = match db.prepare("SELECT timestamp, domain, client FROM queries ORDER BY id") {
        Ok(s) => s,
        Err(e) => bail!("{name}: not a Pi-hole FTL database (no readable `queries` table: {e})"),
    };
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, f64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
            ))
        })
        .with_context(|| format!("{name}: queries"))?;
    let mut out = Vec::new();
    for (i, row) in rows.enumerate() {
        if out.len() >= tcheck_engine::verdict::dnslog::MAX_ENTRIES {
            break;
        }
        let (ts, domain, client) = row.with_context(|| format!("{name}: queries row {}", i + 1))?;
        let secs = ts.floor();
        out.push(DnsLogEntry {
            #[allow(clippy::cast_possible_truncation)]
            ts: Timestamp::from_parts(secs as i64, ((ts - secs) * 1e9) as u32),
            name: domain,
            client: client.and_then(|c| c.parse::<IpAddr>().ok()),
            answers: Vec::new(),
        });
    }
    Ok(out)
}
