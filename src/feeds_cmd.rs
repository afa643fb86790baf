//! `tcheck feeds add|remove|list|update`: indicator feeds fetched over HTTPS (certificates
//! verified against the Web PKI roots; plain HTTP only from this machine's loopback), with
//! a timeout, a size cap and conditional requests (`If-None-Match`, `If-Modified-Since`).
//! Each new version replaces what the feed brought before, in one transaction; a feed that
//! fails leaves the database as it was and its error is recorded and shown.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Result};
use clap::Subcommand;
use tcheck_engine::ioc::import::{read, Format};
use tcheck_store::{Feed, Store};

use crate::db_cmd::DbArg;

/// Bytes a feed may weigh at most.
const MAX_FEED_BYTES: u64 = 64 << 20;

/// `tcheck feeds`.
#[derive(Debug, Subcommand)]
pub enum FeedsCommand {
    /// Add (or change) a feed.
    Add {
        /// Its name (its indicators' source).
        name: String,
        /// Its URL (https://; http:// only on loopback).
        url: String,
        /// It holds whitelist entries.
        #[arg(long)]
        whitelist: bool,
        #[command(flatten)]
        db: DbArg,
    },
    /// Remove a feed and what it brought.
    Remove {
        /// Its name.
        name: String,
        #[command(flatten)]
        db: DbArg,
    },
    /// List the feeds, their last fetch and last error.
    List {
        #[command(flatten)]
        db: DbArg,
    },
    /// Fetch the feeds (all, or those named) and apply the new versions.
    Update {
        /// Feeds to update (default: all).
        names: Vec<String>,
        /// Seconds a fetch may take.
        #[arg(long, default_value_t = 60)]
        timeout: u64,
        /// With no feed configured, say so and succeed (for the daily timer).
        #[arg(long)]
        if_any: bool,
        #[command(flatten)]
        db: DbArg,
    },
}

/// Refuses URLs that are neither HTTPS nor plain HTTP to this machine.
fn check_url(url: &str) -> Result<()> {
    if url.starts_with("https://") {
        return Ok(());
    }
    if let Some(rest) = url.strip_prefix("http://") {
        let host = rest.split(['/', '?', '#']).next().unwrap_or("");
        let host = host.rsplit_once(':').map_or(host, |(h, _)| h);
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let loopback = host == "localhost"
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        if loopback {
            return Ok(());
        }
        bail!("{url}: feeds are fetched over HTTPS (plain HTTP only from this machine)");
    }
    bail!("{url}: not an http(s) URL");
}

/// What a fetch brought.
enum Fetched {
    /// Unchanged since the last fetch (304).
    NotModified,
    /// A new version, with its validators.
    Body {
        data: Vec<u8>,
        etag: Option<String>,
        modified: Option<String>,
    },
}

fn fetch(agent: &ureq::Agent, feed: &Feed) -> std::result::Result<Fetched, String> {
    let mut req = agent.get(&feed.url);
    if let Some(e) = &feed.etag {
        req = req.header("If-None-Match", e);
    }
    if let Some(m) = &feed.last_modified {
        req = req.header("If-Modified-Since", m);
    }
    let mut resp = req.call().map_err(|e| e.to_string())?;
    let status = resp.status().as_u16();
    if status == 304 {
        return Ok(Fetched::NotModified);
    }
    if status != 200 {
        return Err(format!("HTTP {status}"));
    }
    let header = |n: &str| {
        resp.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let (etag, modified) = (header("etag"), header("last-modified"));
    let data = resp
        .body_mut()
        .with_config()
        .limit(MAX_FEED_BYTES)
        .read_to_vec()
        .map_err(|e| e.to_string())?;
    Ok(Fetched::Body {
        data,
        etag,
        modified,
    })
}

fn update_one(
    store: &mut Store,
    agent: &ureq::Agent,
    feed: &Feed,
) -> std::result::Result<String, String> {
    check_url(&feed.url).map_err(|e| e.to_string())?;
    match fetch(agent, feed)? {
        Fetched::NotModified => Ok("not modified".into()),
        Fetched::Body {
            data,
            etag,
            modified,
        } => {
            let path = feed.url.split(['?', '#']).next().unwrap_or(&feed.url);
            let format = Format::detect(path, &data);
            let tag = if feed.whitelist { "whitelist" } else { "" };
            let import = read(format, &feed.name, &data, tag).map_err(|e| e.to_string())?;
            let st = store
                .replace(&feed.name, &import, feed.whitelist)
                .map_err(|e| e.to_string())?;
            store
                .feed_fetched(&feed.name, Ok((etag, modified)))
                .map_err(|e| e.to_string())?;
            Ok(format!(
                "{} entries ({} new, {} gone), {} rules",
                import.iocs.len(),
                st.added,
                st.deleted,
                st.rules
            ))
        }
    }
}

/// Fetches the feeds named (all when `names` is empty) and replaces what each brought; a
/// feed that fails keeps its previous entries and records the error. Returns, per feed, what
/// changed or why not.
pub fn update_feeds(
    store: &mut Store,
    names: &[String],
    timeout: Duration,
) -> Result<Vec<(String, std::result::Result<String, String>)>> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .user_agent(concat!("tcheck/", env!("CARGO_PKG_VERSION")))
        .build()
        .into();
    let feeds: Vec<Feed> = store
        .feeds()?
        .into_iter()
        .filter(|f| names.is_empty() || names.contains(&f.name))
        .collect();
    if feeds.is_empty() {
        bail!("no feed to update (tcheck feeds add NAME URL)");
    }
    let mut out = Vec::new();
    for f in &feeds {
        let r = update_one(store, &agent, f);
        if let Err(e) = &r {
            store.feed_fetched(&f.name, Err(e.clone()))?;
        }
        out.push((f.name.clone(), r));
    }
    Ok(out)
}

/// Checks `url` and adds the feed.
pub fn add_feed(store: &mut Store, name: &str, url: &str, whitelist: bool) -> Result<()> {
    check_url(url)?;
    if name.trim().is_empty() || name.len() > 100 || name.chars().any(char::is_control) {
        bail!("a feed's name has 1 to 100 characters");
    }
    store.feed_add(name, url, whitelist)?;
    Ok(())
}

/// Runs `tcheck feeds`.
pub fn run(cmd: &FeedsCommand) -> Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    match cmd {
        FeedsCommand::Add {
            name,
            url,
            whitelist,
            db,
        } => {
            add_feed(&mut db.open()?, name, url, *whitelist)?;
            writeln!(out, "feed {name}: {url}")?;
        }
        FeedsCommand::Remove { name, db } => {
            let mut store = db.open()?;
            if !store.feed_remove(name)? {
                bail!("no feed named {name}");
            }
            let st = store.replace(name, &Default::default(), false)?;
            writeln!(
                out,
                "feed {name} removed, with its {} indicators",
                st.deleted
            )?;
        }
        FeedsCommand::List { db } => {
            for f in db.open()?.feeds()? {
                let when = f.last_fetch.map_or("never".to_string(), |t| {
                    tcheck_engine::Timestamp::from_parts(t, 0).iso_seconds()
                });
                writeln!(
                    out,
                    "{:<20} {}{}  last fetch: {when}{}",
                    f.name,
                    f.url,
                    if f.whitelist { " (whitelist)" } else { "" },
                    f.last_error
                        .map(|e| format!("  last error: {e}"))
                        .unwrap_or_default()
                )?;
            }
        }
        FeedsCommand::Update {
            names,
            timeout,
            if_any,
            db,
        } => {
            let mut store = db.open()?;
            if *if_any && names.is_empty() && store.feeds()?.is_empty() {
                writeln!(out, "no feed configured; the bundled indicators are in use")?;
                return Ok(ExitCode::SUCCESS);
            }
            let results = update_feeds(&mut store, names, Duration::from_secs(*timeout))?;
            let mut failed = 0;
            for (name, r) in results {
                match r {
                    Ok(what) => writeln!(out, "{name}: {what}")?,
                    Err(e) => {
                        failed += 1;
                        writeln!(out, "{name}: failed, nothing changed: {e}")?;
                    }
                }
            }
            if failed > 0 {
                return Ok(ExitCode::from(1));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
