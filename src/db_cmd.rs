//! `tcheck iocs ...`, `tcheck whitelist ...` and `tcheck feeds ...`: the indicator database.
//!
//! The database is `--db PATH`, else `$TCHECK_DB`, else `$XDG_DATA_HOME/tcheck/tcheck.db`
//! (`~/.local/share/tcheck/tcheck.db`). A new database starts with the bundled feeds.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use tcheck_engine::ioc::import::{read, Format};
use tcheck_engine::ioc::{IocKind, IocSet};
use tcheck_store::Store;

/// Where the database is.
#[derive(Debug, Args, Clone)]
pub struct DbArg {
    /// The indicator database (default: $TCHECK_DB, else
    /// $XDG_DATA_HOME/tcheck/tcheck.db).
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,
}

/// The default database path.
pub fn default_db() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("TCHECK_DB") {
        return Some(PathBuf::from(p));
    }
    let data = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))?;
    Some(data.join("tcheck/tcheck.db"))
}

impl DbArg {
    /// The database path: `--db`, else the default.
    pub fn path(&self) -> Result<PathBuf> {
        match self.db.clone().or_else(default_db) {
            Some(p) => Ok(p),
            None => bail!("no database path: give --db PATH (or set TCHECK_DB)"),
        }
    }

    /// Opens the database, seeding a new one with the bundled feeds.
    pub fn open(&self) -> Result<Store> {
        let path = self.path()?;
        let mut store = Store::open(&path)?;
        if store.is_empty()? {
            crate::indicators::seed(&mut store)?;
        }
        Ok(store)
    }
}

fn parse_kind(s: &str) -> Result<IocKind, String> {
    IocKind::parse(s).ok_or_else(|| {
        format!("unknown kind `{s}` (domain, ip, cidr, cert_sha1, cert_sha256, nameserver, dyndns, tld, ja3, ja4)")
    })
}

/// Export formats.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ExportFormat {
    /// TinyCheck's feed JSON.
    Tinycheck,
    /// A STIX 2.1 bundle.
    Stix,
}

/// `tcheck iocs`.
#[derive(Debug, Subcommand)]
pub enum IocsCommand {
    /// Import indicator files (TinyCheck, Echap CSV, STIX 2.1, MISP, plain list, rules),
    /// each in one transaction.
    Import {
        /// The files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Tag for indicators whose file gives none (e.g. stalkerware).
        #[arg(long, default_value = "")]
        tag: String,
        /// Source name (default: the file name).
        #[arg(long)]
        source: Option<String>,
        #[command(flatten)]
        db: DbArg,
    },
    /// Export the indicators.
    Export {
        /// Format.
        #[arg(long, value_enum)]
        format: ExportFormat,
        /// Output file (default: standard output).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        #[command(flatten)]
        db: DbArg,
    },
    /// List indicators (counts by source and kind without --kind/--source).
    List {
        /// Only this kind.
        #[arg(long, value_parser = parse_kind)]
        kind: Option<IocKind>,
        /// Only this source.
        #[arg(long)]
        source: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: usize,
        #[command(flatten)]
        db: DbArg,
    },
    /// The indicators a name, address or hash would match (as an analysis matches them).
    Search {
        /// A domain, an address or a certificate hash.
        value: String,
        #[command(flatten)]
        db: DbArg,
    },
    /// Add one indicator.
    Add {
        /// Kind.
        #[arg(value_parser = parse_kind)]
        kind: IocKind,
        /// Value.
        value: String,
        /// Tag.
        #[arg(long, default_value = "")]
        tag: String,
        /// The app or campaign.
        #[arg(long)]
        app: Option<String>,
        #[command(flatten)]
        db: DbArg,
    },
    /// Remove an indicator (from every source).
    Remove {
        /// Kind.
        #[arg(value_parser = parse_kind)]
        kind: IocKind,
        /// Value.
        value: String,
        #[command(flatten)]
        db: DbArg,
    },
}

/// `tcheck whitelist`.
#[derive(Debug, Subcommand)]
pub enum WhitelistCommand {
    /// Import whitelist files (TinyCheck whitelist JSON or a plain list).
    Import {
        /// The files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[command(flatten)]
        db: DbArg,
    },
    /// List the entries.
    List {
        #[command(flatten)]
        db: DbArg,
    },
    /// Add an entry (a domain, an address or a network; the kind is guessed).
    Add {
        /// The entry.
        value: String,
        #[command(flatten)]
        db: DbArg,
    },
    /// Remove an entry.
    Remove {
        /// The entry.
        value: String,
        #[command(flatten)]
        db: DbArg,
    },
}

fn whitelist_kind(value: &str) -> Result<IocKind> {
    match tcheck_engine::ioc::guess_kind(value) {
        Some(k @ (IocKind::Domain | IocKind::Ip | IocKind::Cidr)) => Ok(k),
        _ => bail!("`{value}` is not a domain, an address or a network"),
    }
}

/// Runs `tcheck iocs`.
pub fn run_iocs(cmd: &IocsCommand) -> Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    match cmd {
        IocsCommand::Import {
            files,
            tag,
            source,
            db,
        } => {
            let mut store = db.open()?;
            for f in files {
                let data = std::fs::read(f).with_context(|| f.display().to_string())?;
                let name = f.display().to_string();
                let started = std::time::Instant::now();
                let import = read(Format::detect(&name, &data), &name, &data, tag)?;
                let src = source.clone().unwrap_or_else(|| {
                    f.file_name()
                        .map_or(name.clone(), |n| n.to_string_lossy().into_owned())
                });
                let st = store.import(&src, &import, false)?;
                writeln!(
                    out,
                    "{name}: {} added, {} already there, {} deleted, {} rules, {} skipped ({:.0} ms)",
                    st.added,
                    st.updated,
                    st.deleted,
                    st.rules,
                    import.skipped.values().sum::<usize>(),
                    started.elapsed().as_secs_f64() * 1000.0
                )?;
            }
        }
        IocsCommand::Export {
            format,
            out: path,
            db,
        } => {
            let store = db.open()?;
            let iocs = store.iocs(None, None, None)?;
            let doc = match format {
                ExportFormat::Tinycheck => tcheck_engine::ioc::export::tinycheck(&iocs),
                ExportFormat::Stix => {
                    let now = tcheck_engine::Timestamp::from_parts(
                        std::time::SystemTime::now()
                            .duration_since(std::time::UNIX_EPOCH)
                            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0)),
                        0,
                    );
                    tcheck_engine::ioc::export::stix2(&iocs, &now.iso_seconds())
                }
            };
            let text = serde_json::to_string_pretty(&doc)?;
            match path {
                Some(p) => {
                    std::fs::write(p, text + "\n").with_context(|| p.display().to_string())?
                }
                None => writeln!(out, "{text}")?,
            }
        }
        IocsCommand::List {
            kind,
            source,
            limit,
            db,
        } => {
            let store = db.open()?;
            if kind.is_none() && source.is_none() {
                for (src, k, n) in store.counts()? {
                    writeln!(out, "{n:>8}  {k:<12} {src}")?;
                }
            } else {
                for i in store.iocs(*kind, source.as_deref(), Some(*limit))? {
                    writeln!(
                        out,
                        "{:<12} {:<40} {:<12} {:<20} {}",
                        i.kind,
                        i.value,
                        i.tag,
                        i.app.unwrap_or_default(),
                        i.source
                    )?;
                }
            }
        }
        IocsCommand::Search { value, db } => {
            let store = db.open()?;
            let set = IocSet::new(store.iocs(None, None, None)?);
            let v = value.trim();
            let hits = if let Ok(ip) = v.parse() {
                set.match_ip(ip)
            } else if v.len() >= 32 && v.bytes().all(|b| b.is_ascii_hexdigit() || b == b':') {
                let mut h = set.match_cert(v, v);
                h.extend(set.match_ja3(v));
                h
            } else {
                set.match_domain(v)
            };
            if hits.is_empty() {
                writeln!(out, "{v}: no indicator matches")?;
                return Ok(ExitCode::from(1));
            }
            for i in hits {
                writeln!(
                    out,
                    "{v}: {} {} ({}{}), from {}",
                    i.kind,
                    i.value,
                    if i.tag.is_empty() { "untagged" } else { &i.tag },
                    i.app.as_ref().map(|a| format!(", {a}")).unwrap_or_default(),
                    i.source
                )?;
            }
        }
        IocsCommand::Add {
            kind,
            value,
            tag,
            app,
            db,
        } => {
            let mut store = db.open()?;
            let i = store.add(*kind, value, tag, app.as_deref())?;
            writeln!(out, "added {} {}", i.kind, i.value)?;
        }
        IocsCommand::Remove { kind, value, db } => {
            let mut store = db.open()?;
            let n = store.remove(*kind, value)?;
            writeln!(out, "removed {n}")?;
            if n == 0 {
                return Ok(ExitCode::from(1));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `tcheck whitelist`.
pub fn run_whitelist(cmd: &WhitelistCommand) -> Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    match cmd {
        WhitelistCommand::Import { files, db } => {
            let mut store = db.open()?;
            for f in files {
                let data = std::fs::read(f).with_context(|| f.display().to_string())?;
                let name = f.display().to_string();
                let import = read(Format::detect(&name, &data), &name, &data, "whitelist")?;
                let st = store.import(&name, &import, true)?;
                writeln!(out, "{name}: {} added, {} deleted", st.added, st.deleted)?;
            }
        }
        WhitelistCommand::List { db } => {
            for i in db.open()?.whitelist()? {
                writeln!(out, "{:<8} {:<40} {}", i.kind, i.value, i.source)?;
            }
        }
        WhitelistCommand::Add { value, db } => {
            let v = db.open()?.whitelist_add(whitelist_kind(value)?, value)?;
            writeln!(out, "whitelisted {v}")?;
        }
        WhitelistCommand::Remove { value, db } => {
            let n = db.open()?.whitelist_remove(whitelist_kind(value)?, value)?;
            writeln!(out, "removed {n}")?;
            if n == 0 {
                return Ok(ExitCode::from(1));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
