//! DNS-only evidence: the query logs of the DNS services helpers point phones at when they
//! cannot build an access point — AdGuard Home's `querylog.json` (JSON lines; the answer is
//! the DNS response in base64, read with this engine's DNS parser) and NextDNS's CSV export.
//! (Pi-hole's `pihole-FTL.db` is SQLite: the `tcheck` binary reads it and hands the rows
//! over as [`DnsLogEntry`]s.) The entries feed [`Observations`] as DNS queries and answers.

use std::net::IpAddr;

use super::observe::{NameSource, Observations};
use crate::ioc::import::ImportError;
use crate::time::Timestamp;

/// Entries read at most from one log (the rest are counted as dropped).
pub const MAX_ENTRIES: usize = 5_000_000;

/// One query of a DNS log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnsLogEntry {
    /// When.
    pub ts: Timestamp,
    /// The name asked.
    pub name: String,
    /// The client that asked.
    pub client: Option<IpAddr>,
    /// Addresses answered, when the log has them.
    pub answers: Vec<IpAddr>,
}

/// The log formats read from bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DnsLogFormat {
    /// AdGuard Home `querylog.json`.
    AdGuard,
    /// NextDNS CSV export.
    NextDns,
}

impl DnsLogFormat {
    /// Recognises a log from its first bytes.
    pub fn detect(data: &[u8]) -> Option<DnsLogFormat> {
        let head = String::from_utf8_lossy(&data[..data.len().min(2048)]);
        let first = head.lines().next().unwrap_or("").trim();
        if first.starts_with('{') && first.contains("\"QH\"") {
            return Some(DnsLogFormat::AdGuard);
        }
        let lower = first.to_ascii_lowercase();
        if lower.starts_with("timestamp,") && lower.contains("domain") {
            return Some(DnsLogFormat::NextDns);
        }
        None
    }
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parses an RFC 3339 / ISO 8601 time (`2024-03-01T10:20:30.123456+01:00`, `...Z`, or a
/// space for `T`).
pub fn parse_rfc3339(s: &str) -> Option<Timestamp> {
    let s = s.trim();
    let num = |a: usize, b: usize| s.get(a..b)?.parse::<i64>().ok();
    let (y, mo, d) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    if !matches!(s.get(10..11), Some("T" | "t" | " ")) {
        return None;
    }
    let (h, mi, sec) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let rest = s.get(19..)?;
    let (frac, zone) = match rest.strip_prefix('.') {
        Some(r) => {
            let n = r.bytes().take_while(u8::is_ascii_digit).count();
            (r.get(..n)?, r.get(n..)?)
        }
        None => ("", rest),
    };
    let mut nanos: u32 = 0;
    for (i, c) in frac.bytes().take(9).enumerate() {
        nanos += u32::from(c - b'0') * 10u32.pow(8 - u32::try_from(i).ok()?);
    }
    let offset = match zone {
        "" | "Z" | "z" => 0,
        z => {
            let sign = match z.get(..1)? {
                "+" => 1,
                "-" => -1,
                _ => return None,
            };
            let zh = z.get(1..3)?.parse::<i64>().ok()?;
            let zm = z.get(z.len().checked_sub(2)?..)?.parse::<i64>().ok()?;
            sign * (zh * 3600 + zm * 60)
        }
    };
    let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + sec - offset;
    Some(Timestamp::from_parts(secs, nanos))
}

fn error(source: &str, at: String, what: impl Into<String>) -> ImportError {
    ImportError {
        source: source.to_string(),
        at,
        what: what.into(),
    }
}

/// Reads an AdGuard Home `querylog.json`: one JSON object per line with `T` (time), `QH`
/// (name), `IP` (client) and `Answer` (the DNS response, base64).
pub fn read_adguard(source: &str, data: &[u8]) -> Result<Vec<DnsLogEntry>, ImportError> {
    use base64::Engine as _;
    let text = std::str::from_utf8(data).map_err(|_| error(source, "file".into(), "not UTF-8"))?;
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if out.len() >= MAX_ENTRIES {
            break;
        }
        let at = || format!("line {}", n + 1);
        let v: serde_json::Value = serde_json::from_str(line)
            .map_err(|e| error(source, at(), format!("invalid JSON: {e}")))?;
        let name = v["QH"]
            .as_str()
            .ok_or_else(|| error(source, at(), "no `QH` (the name asked)"))?;
        let ts = v["T"]
            .as_str()
            .and_then(parse_rfc3339)
            .ok_or_else(|| error(source, at(), "no valid `T` (the time)"))?;
        let client = v["IP"].as_str().and_then(|s| s.parse().ok());
        let mut answers = Vec::new();
        if let Some(b64) = v["Answer"].as_str() {
            if let Ok(wire) = base64::engine::general_purpose::STANDARD.decode(b64) {
                if let Ok(msg) = crate::proto::dns::parser::parse(&wire) {
                    for r in &msg.records {
                        match r.rdata {
                            crate::proto::dns::parser::RData::A(a) => answers.push(IpAddr::V4(a)),
                            crate::proto::dns::parser::RData::Aaaa(a) => {
                                answers.push(IpAddr::V6(a))
                            }
                            _ => {}
                        }
                    }
                }
            }
        }
        out.push(DnsLogEntry {
            ts,
            name: name.to_string(),
            client,
            answers,
        });
    }
    Ok(out)
}

/// Reads a NextDNS CSV export (`timestamp,domain,query_type,...,client_ip,...`).
pub fn read_nextdns(source: &str, data: &[u8]) -> Result<Vec<DnsLogEntry>, ImportError> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(data);
    let headers = reader
        .headers()
        .map_err(|e| error(source, "line 1".into(), format!("bad header: {e}")))?
        .clone();
    let col = |name: &str| headers.iter().position(|h| h.trim() == name);
    let (Some(ts_col), Some(name_col)) = (col("timestamp"), col("domain")) else {
        return Err(error(
            source,
            "line 1".into(),
            "expected the columns timestamp and domain",
        ));
    };
    let client_col = col("client_ip");
    let mut out = Vec::new();
    for row in reader.records() {
        if out.len() >= MAX_ENTRIES {
            break;
        }
        let row = row.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            error(source, format!("line {line}"), format!("bad row: {e}"))
        })?;
        let line = row.position().map_or(0, |p| p.line());
        let ts = row
            .get(ts_col)
            .and_then(parse_rfc3339)
            .ok_or_else(|| error(source, format!("line {line}"), "bad timestamp"))?;
        let name = row.get(name_col).unwrap_or("").trim();
        if name.is_empty() {
            return Err(error(source, format!("line {line}"), "empty domain"));
        }
        out.push(DnsLogEntry {
            ts,
            name: name.to_string(),
            client: client_col
                .and_then(|c| row.get(c))
                .and_then(|s| s.trim().parse().ok()),
            answers: Vec::new(),
        });
    }
    Ok(out)
}

impl Observations {
    /// Adds the queries of a DNS log (of `client` only, when given) as DNS queries and
    /// answers.
    pub fn add_dns_log(&mut self, entries: &[DnsLogEntry], client: Option<IpAddr>) {
        for e in entries {
            if client.is_some_and(|c| e.client != Some(c)) {
                continue;
            }
            self.add_query(&e.name, e.ts, &e.answers);
            self.span = Some(match self.span {
                None => (e.ts, e.ts),
                Some((a, b)) => (a.min(e.ts), b.max(e.ts)),
            });
        }
    }

    fn add_query(&mut self, name: &str, ts: Timestamp, answers: &[IpAddr]) {
        self.name_seen(name, NameSource::DnsQuery, ts, None);
        for a in answers {
            self.resolve_name(name, *a);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_read() {
        let t = parse_rfc3339("2024-03-01T10:20:30.5+01:00").unwrap_or_default();
        assert_eq!(t.secs(), 1_709_284_830);
        assert_eq!(t.subsec_nanos(), 500_000_000);
        assert_eq!(
            parse_rfc3339("1970-01-01T00:00:00Z").map(|t| t.secs()),
            Some(0)
        );
        assert!(parse_rfc3339("2024-13-01T00:00:00Z").is_none());
        assert!(parse_rfc3339("yesterday").is_none());
    }
}
