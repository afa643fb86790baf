//! tcheck's store: one SQLite database (bundled SQLite, WAL journal) holding the indicators,
//! the whitelist, the rules feeds carry, the feeds and their last fetch, and the analyses
//! with their reports.
//!
//! The schema is created and upgraded by numbered migrations (`PRAGMA user_version` says
//! which ran), each in its own transaction. Every import runs in one transaction: a file that
//! fails leaves the database exactly as it was.

#![deny(missing_docs)]

mod migrations;

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{params, Connection, OptionalExtension};
use tcheck_engine::ioc::import::Import;
use tcheck_engine::ioc::{normalise, Ioc, IocKind};

/// What can go wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// SQLite refused something.
    #[error("{path}: {source}")]
    Sqlite {
        /// The database.
        path: String,
        /// SQLite's error.
        source: rusqlite::Error,
    },
    /// A value is not a valid indicator.
    #[error("{0}")]
    Invalid(String),
    /// The database was written by a newer tcheck.
    #[error("{path}: schema version {found} is newer than this tcheck knows ({known})")]
    TooNew {
        /// The database.
        path: String,
        /// Its version.
        found: i64,
        /// The newest this build knows.
        known: i64,
    },
}

/// Result of the store.
pub type Result<T> = std::result::Result<T, Error>;

/// What a database file holds, once checked ([`Store::check_file`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileSummary {
    /// Its schema version.
    pub version: i64,
    /// Indicators.
    pub iocs: i64,
    /// Whitelist entries.
    pub whitelist: i64,
    /// Admin accounts.
    pub accounts: i64,
}

/// The counts of an import.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ImportStats {
    /// Indicators added.
    pub added: usize,
    /// Indicators already there (their tag, app and TLP refreshed).
    pub updated: usize,
    /// Indicators removed (`to_delete`).
    pub deleted: usize,
    /// Rules stored.
    pub rules: usize,
}

/// A feed to fetch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Feed {
    /// Its name (also the `source` of its indicators).
    pub name: String,
    /// Where it is fetched from.
    pub url: String,
    /// Holds whitelist entries rather than indicators.
    pub whitelist: bool,
    /// Last successful fetch (seconds since the epoch).
    pub last_fetch: Option<i64>,
    /// `ETag` of the last fetch.
    pub etag: Option<String>,
    /// `Last-Modified` of the last fetch.
    pub last_modified: Option<String>,
    /// The last fetch's error, if it failed.
    pub last_error: Option<String>,
}

/// The database.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    path: String,
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn kind_of(name: &str) -> Option<IocKind> {
    IocKind::parse(name)
}

impl Store {
    /// Opens (creating it if needed) the database at `path` and brings its schema up to
    /// date.
    pub fn open(path: &Path) -> Result<Store> {
        let name = path.display().to_string();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            let _ = std::fs::create_dir_all(dir);
        }
        let conn = Connection::open(path).map_err(|source| Error::Sqlite {
            path: name.clone(),
            source,
        })?;
        let mut store = Store { conn, path: name };
        store.setup()?;
        Ok(store)
    }

    /// An in-memory database (tests, one-off runs).
    pub fn in_memory() -> Result<Store> {
        let conn = Connection::open_in_memory().map_err(|source| Error::Sqlite {
            path: ":memory:".into(),
            source,
        })?;
        let mut store = Store {
            conn,
            path: ":memory:".into(),
        };
        store.setup()?;
        Ok(store)
    }

    fn err(&self) -> impl Fn(rusqlite::Error) -> Error + '_ {
        move |source| Error::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    fn setup(&mut self) -> Result<()> {
        let path = self.path.clone();
        let e = |source| Error::Sqlite {
            path: path.clone(),
            source,
        };
        // WAL: readers (the web UI) never wait for a writer (an import).
        let _: String = self
            .conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(e)?;
        self.conn
            .execute_batch("PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;")
            .map_err(e)?;
        migrations::run(&mut self.conn, &path)
    }

    /// The schema version.
    pub fn version(&self) -> Result<i64> {
        self.conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(self.err())
    }

    /// Whether the store holds no indicator and no whitelist entry (a new database).
    pub fn is_empty(&self) -> Result<bool> {
        let n: i64 = self
            .conn
            .query_row(
                "SELECT (SELECT count(*) FROM iocs) + (SELECT count(*) FROM whitelist)",
                [],
                |r| r.get(0),
            )
            .map_err(self.err())?;
        Ok(n == 0)
    }

    /// Applies an import in one transaction: its indicators (or whitelist entries) under
    /// `source`, its `to_delete` removals and its rules. Nothing is changed if any statement
    /// fails.
    pub fn import(
        &mut self,
        source: &str,
        import: &Import,
        whitelist: bool,
    ) -> Result<ImportStats> {
        self.apply(source, import, whitelist, false)
    }

    /// Replaces everything `source` brought (indicators or whitelist entries, and rules)
    /// with `import`, in one transaction: a feed's new version. `added` counts the entries
    /// that were not there before, `deleted` those that went.
    pub fn replace(
        &mut self,
        source: &str,
        import: &Import,
        whitelist: bool,
    ) -> Result<ImportStats> {
        self.apply(source, import, whitelist, true)
    }

    fn apply(
        &mut self,
        source: &str,
        import: &Import,
        whitelist: bool,
        replace: bool,
    ) -> Result<ImportStats> {
        let path = self.path.clone();
        let e = |source| Error::Sqlite {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(e)?;
        let mut stats = ImportStats::default();
        let t = now();
        let table = if whitelist { "whitelist" } else { "iocs" };
        if replace {
            tx.execute_batch(
                "CREATE TEMP TABLE IF NOT EXISTS previous (kind TEXT, value TEXT);
                 DELETE FROM temp.previous;",
            )
            .map_err(e)?;
            tx.execute(
                &format!(
                    "INSERT INTO temp.previous SELECT kind, value FROM {table} WHERE source = ?1"
                ),
                params![source],
            )
            .map_err(e)?;
            tx.execute(
                &format!("DELETE FROM {table} WHERE source = ?1"),
                params![source],
            )
            .map_err(e)?;
            tx.execute("DELETE FROM rules WHERE source = ?1", params![source])
                .map_err(e)?;
        }
        {
            let mut exists = if whitelist {
                tx.prepare("SELECT 1 FROM whitelist WHERE kind = ?1 AND value = ?2")
            } else {
                tx.prepare("SELECT 1 FROM iocs WHERE kind = ?1 AND value = ?2 AND source = ?3")
            }
            .map_err(e)?;
            let mut upsert = if whitelist {
                tx.prepare(
                    "INSERT INTO whitelist (kind, value, source, added) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (kind, value) DO NOTHING",
                )
            } else {
                tx.prepare(
                    "INSERT INTO iocs (kind, value, tag, tlp, app, source, added)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                     ON CONFLICT (kind, value, source)
                     DO UPDATE SET tag = excluded.tag, tlp = excluded.tlp, app = excluded.app",
                )
            }
            .map_err(e)?;
            let mut was = if replace {
                Some(
                    tx.prepare("SELECT 1 FROM temp.previous WHERE kind = ?1 AND value = ?2")
                        .map_err(e)?,
                )
            } else {
                None
            };
            for i in &import.iocs {
                let kind = i.kind.name();
                let known = if let Some(w) = was.as_mut() {
                    w.exists(params![kind, i.value]).map_err(e)?
                } else if whitelist {
                    exists.exists(params![kind, i.value]).map_err(e)?
                } else {
                    exists.exists(params![kind, i.value, source]).map_err(e)?
                };
                if whitelist {
                    upsert
                        .execute(params![kind, i.value, source, t])
                        .map_err(e)?;
                } else {
                    upsert
                        .execute(params![kind, i.value, i.tag, i.tlp, i.app, source, t])
                        .map_err(e)?;
                }
                if known {
                    stats.updated += 1;
                } else {
                    stats.added += 1;
                }
            }
            let mut delete = if whitelist {
                tx.prepare("DELETE FROM whitelist WHERE lower(value) = lower(?1)")
            } else {
                tx.prepare("DELETE FROM iocs WHERE lower(value) = lower(?1) AND source = ?2")
            }
            .map_err(e)?;
            for v in &import.to_delete {
                stats.deleted += if whitelist {
                    delete.execute(params![v.trim()]).map_err(e)?
                } else {
                    delete.execute(params![v.trim(), source]).map_err(e)?
                };
            }
            let mut rule = tx
                .prepare(
                    "INSERT INTO rules (source, text, tag, added) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (source, text) DO NOTHING",
                )
                .map_err(e)?;
            for (text, tag) in &import.rules {
                stats.rules += rule.execute(params![source, text, tag, t]).map_err(e)?;
            }
        }
        if replace {
            let gone: i64 = tx
                .query_row(
                    &format!(
                        "SELECT count(*) FROM temp.previous p WHERE NOT EXISTS
                         (SELECT 1 FROM {table} t WHERE t.kind = p.kind AND t.value = p.value
                          AND t.source = ?1)"
                    ),
                    params![source],
                    |r| r.get(0),
                )
                .map_err(e)?;
            stats.deleted += usize::try_from(gone).unwrap_or(0);
            tx.execute_batch("DELETE FROM temp.previous").map_err(e)?;
        }
        tx.commit().map_err(e)?;
        Ok(stats)
    }

    /// Adds one indicator by hand (source `manual`).
    pub fn add(&mut self, kind: IocKind, value: &str, tag: &str, app: Option<&str>) -> Result<Ioc> {
        let value = normalise(kind, value).map_err(|e| Error::Invalid(e.0))?;
        let ioc = Ioc {
            kind,
            value,
            tag: tag.to_ascii_lowercase(),
            app: app.map(str::to_string),
            tlp: None,
            source: "manual".into(),
        };
        let import = Import {
            iocs: vec![ioc.clone()],
            ..Import::default()
        };
        self.import("manual", &import, false)?;
        Ok(ioc)
    }

    /// Removes the indicators of `kind` with `value` (from every source); returns how many.
    pub fn remove(&mut self, kind: IocKind, value: &str) -> Result<usize> {
        let value = normalise(kind, value).map_err(|e| Error::Invalid(e.0))?;
        self.conn
            .execute(
                "DELETE FROM iocs WHERE kind = ?1 AND value = ?2",
                params![kind.name(), value],
            )
            .map_err(self.err())
    }

    /// Adds a whitelist entry by hand.
    pub fn whitelist_add(&mut self, kind: IocKind, value: &str) -> Result<String> {
        let value = normalise(kind, value).map_err(|e| Error::Invalid(e.0))?;
        self.conn
            .execute(
                "INSERT INTO whitelist (kind, value, source, added) VALUES (?1, ?2, 'manual', ?3)
                 ON CONFLICT (kind, value) DO NOTHING",
                params![kind.name(), value, now()],
            )
            .map_err(self.err())?;
        Ok(value)
    }

    /// Removes a whitelist entry; returns how many rows went.
    pub fn whitelist_remove(&mut self, kind: IocKind, value: &str) -> Result<usize> {
        let value = normalise(kind, value).map_err(|e| Error::Invalid(e.0))?;
        self.conn
            .execute(
                "DELETE FROM whitelist WHERE kind = ?1 AND value = ?2",
                params![kind.name(), value],
            )
            .map_err(self.err())
    }

    fn row_ioc(r: &rusqlite::Row<'_>) -> rusqlite::Result<Option<Ioc>> {
        let kind: String = r.get(0)?;
        Ok(kind_of(&kind).map(|kind| Ioc {
            kind,
            value: r.get(1).unwrap_or_default(),
            tag: r.get(2).unwrap_or_default(),
            tlp: r.get(3).unwrap_or_default(),
            app: r.get(4).unwrap_or_default(),
            source: r.get(5).unwrap_or_default(),
        }))
    }

    /// The indicators in force (not expired), optionally of one kind or source, at most
    /// `limit`.
    pub fn iocs(
        &self,
        kind: Option<IocKind>,
        source: Option<&str>,
        limit: Option<usize>,
    ) -> Result<Vec<Ioc>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT kind, value, tag, tlp, app, source FROM iocs
                 WHERE (expires IS NULL OR expires > ?1)
                   AND (?2 IS NULL OR kind = ?2) AND (?3 IS NULL OR source = ?3)
                 ORDER BY id LIMIT ?4",
            )
            .map_err(self.err())?;
        let limit = limit.map_or(-1, |l| i64::try_from(l).unwrap_or(i64::MAX));
        let rows = stmt
            .query_map(
                params![now(), kind.map(IocKind::name), source, limit],
                Self::row_ioc,
            )
            .map_err(self.err())?;
        let mut out = Vec::new();
        for r in rows {
            if let Some(i) = r.map_err(self.err())? {
                out.push(i);
            }
        }
        Ok(out)
    }

    /// The whitelist.
    pub fn whitelist(&self) -> Result<Vec<Ioc>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT kind, value, 'whitelist', NULL, NULL, source FROM whitelist ORDER BY id",
            )
            .map_err(self.err())?;
        let rows = stmt.query_map([], Self::row_ioc).map_err(self.err())?;
        let mut out = Vec::new();
        for r in rows {
            if let Some(i) = r.map_err(self.err())? {
                out.push(i);
            }
        }
        Ok(out)
    }

    /// The rules feeds carried, one text per source.
    pub fn rules(&self) -> Result<Vec<(String, String)>> {
        let mut stmt = self
            .conn
            .prepare("SELECT source, group_concat(text, char(10)) FROM rules GROUP BY source ORDER BY source")
            .map_err(self.err())?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .map_err(self.err())?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(self.err())
    }

    /// Indicators by source and kind.
    pub fn counts(&self) -> Result<Vec<(String, String, i64)>> {
        let mut stmt = self
            .conn
            .prepare("SELECT source, kind, count(*) FROM iocs GROUP BY source, kind ORDER BY source, kind")
            .map_err(self.err())?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .map_err(self.err())?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(self.err())
    }

    /// Adds or replaces a feed.
    pub fn feed_add(&mut self, name: &str, url: &str, whitelist: bool) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO feeds (name, url, whitelist) VALUES (?1, ?2, ?3)
                 ON CONFLICT (name) DO UPDATE SET url = excluded.url, whitelist = excluded.whitelist",
                params![name, url, whitelist],
            )
            .map(|_| ())
            .map_err(self.err())
    }

    /// Removes a feed (its indicators stay until removed by source).
    pub fn feed_remove(&mut self, name: &str) -> Result<bool> {
        self.conn
            .execute("DELETE FROM feeds WHERE name = ?1", params![name])
            .map(|n| n > 0)
            .map_err(self.err())
    }

    /// The feeds.
    pub fn feeds(&self) -> Result<Vec<Feed>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT name, url, whitelist, last_fetch, etag, last_modified, last_error
                 FROM feeds ORDER BY name",
            )
            .map_err(self.err())?;
        let rows = stmt
            .query_map([], |r| {
                Ok(Feed {
                    name: r.get(0)?,
                    url: r.get(1)?,
                    whitelist: r.get(2)?,
                    last_fetch: r.get(3)?,
                    etag: r.get(4)?,
                    last_modified: r.get(5)?,
                    last_error: r.get(6)?,
                })
            })
            .map_err(self.err())?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(self.err())
    }

    /// Records the outcome of fetching a feed: on success its validators, on failure the
    /// error (the indicators stay as they were).
    pub fn feed_fetched(
        &mut self,
        name: &str,
        outcome: std::result::Result<(Option<String>, Option<String>), String>,
    ) -> Result<()> {
        match outcome {
            Ok((etag, modified)) => self.conn.execute(
                "UPDATE feeds SET last_fetch = ?2, etag = ?3, last_modified = ?4, last_error = NULL
                 WHERE name = ?1",
                params![name, now(), etag, modified],
            ),
            Err(err) => self.conn.execute(
                "UPDATE feeds SET last_error = ?2 WHERE name = ?1",
                params![name, err],
            ),
        }
        .map(|_| ())
        .map_err(self.err())
    }

    /// Stores an analysis and its report (JSON); returns its id.
    pub fn save_analysis(
        &mut self,
        capture: &str,
        sha256: &str,
        verdict: &str,
        report_json: &str,
    ) -> Result<i64> {
        self.conn
            .execute(
                "INSERT INTO analyses (started, capture, sha256, verdict, report) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![now(), capture, sha256, verdict, report_json],
            )
            .map_err(self.err())?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Writes a consistent copy of the database to `dest`, which must not exist (SQLite's
    /// `VACUUM INTO`: a snapshot, whatever else writes meanwhile).
    pub fn backup_to(&self, dest: &Path) -> Result<()> {
        let d = dest
            .to_str()
            .ok_or_else(|| Error::Invalid(format!("{}: not a UTF-8 path", dest.display())))?;
        self.conn
            .execute("VACUUM INTO ?1", params![d])
            .map_err(self.err())?;
        Ok(())
    }

    /// Checks that `path` is a tcheck database this build can use: SQLite's integrity check
    /// passes, its schema version is known, and its tables hold what they should. Read-only.
    pub fn check_file(path: &Path) -> Result<FileSummary> {
        let name = path.display().to_string();
        let e = |source| Error::Sqlite {
            path: name.clone(),
            source,
        };
        let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(e)?;
        let integrity: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .map_err(e)?;
        if integrity != "ok" {
            return Err(Error::Invalid(format!(
                "{name}: damaged database: {integrity}"
            )));
        }
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(e)?;
        let known = migrations::known();
        if version > known {
            return Err(Error::TooNew {
                path: name,
                found: version,
                known,
            });
        }
        if version < 1 {
            return Err(Error::Invalid(format!("{name}: not a tcheck database")));
        }
        let count = |table: &str| -> Result<i64> {
            conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
                .map_err(|source| Error::Sqlite {
                    path: name.clone(),
                    source,
                })
        };
        Ok(FileSummary {
            version,
            iocs: count("iocs")?,
            whitelist: count("whitelist")?,
            accounts: if version >= 2 { count("accounts")? } else { 0 },
        })
    }

    /// Replaces this database's content with the database at `src`, checked first
    /// ([`Store::check_file`]); SQLite's backup API copies it in, so the database is the old
    /// or the new, never a mix, and other connections see the change at once. A backup from
    /// an older build is brought up to date.
    pub fn restore_from(&mut self, src: &Path) -> Result<FileSummary> {
        let summary = Store::check_file(src)?;
        let from = Connection::open_with_flags(src, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(|source| Error::Sqlite {
                path: src.display().to_string(),
                source,
            })?;
        let path = self.path.clone();
        let e = |source| Error::Sqlite {
            path: path.clone(),
            source,
        };
        {
            let backup = rusqlite::backup::Backup::new(&from, &mut self.conn).map_err(e)?;
            backup
                .run_to_completion(256, std::time::Duration::ZERO, None)
                .map_err(e)?;
        }
        migrations::run(&mut self.conn, &path)?;
        Ok(summary)
    }

    /// Past analyses, newest first: id, start (Unix seconds), capture, verdict level.
    pub fn analyses(&self, limit: usize) -> Result<Vec<(i64, i64, String, String)>> {
        let mut st = self
            .conn
            .prepare("SELECT id, started, capture, verdict FROM analyses ORDER BY id DESC LIMIT ?1")
            .map_err(self.err())?;
        let rows = st
            .query_map(params![i64::try_from(limit).unwrap_or(i64::MAX)], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })
            .map_err(self.err())?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(self.err())
    }

    /// Sets (adds or replaces) an admin account's password hash.
    pub fn account_set(&mut self, name: &str, hash: &str) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO accounts (name, hash, created) VALUES (?1, ?2, ?3)
                 ON CONFLICT (name) DO UPDATE SET hash = excluded.hash",
                params![name, hash, now()],
            )
            .map_err(self.err())?;
        Ok(())
    }

    /// An admin account's password hash.
    pub fn account_hash(&self, name: &str) -> Result<Option<String>> {
        self.conn
            .query_row(
                "SELECT hash FROM accounts WHERE name = ?1",
                params![name],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.err())
    }

    /// The admin accounts' names.
    pub fn accounts(&self) -> Result<Vec<String>> {
        let mut st = self
            .conn
            .prepare("SELECT name FROM accounts ORDER BY name")
            .map_err(self.err())?;
        let rows = st.query_map([], |r| r.get(0)).map_err(self.err())?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(self.err())
    }

    /// A stored report by analysis id.
    pub fn analysis(&self, id: i64) -> Result<Option<String>> {
        self.conn
            .query_row(
                "SELECT report FROM analyses WHERE id = ?1",
                params![id],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.err())
    }
}

#[cfg(test)]
mod tests;
