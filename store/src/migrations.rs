//! The schema, as numbered migrations. `PRAGMA user_version` holds the number of the last
//! one applied; each runs in its own transaction with the version bump, so a database is
//! always at one version or the next, never in between.

use rusqlite::Connection;

use crate::{Error, Result};

/// The migrations, in order: migration `i` brings the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: indicators, whitelist, rules, feeds, analyses.
    "CREATE TABLE iocs (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        value TEXT NOT NULL,
        tag TEXT NOT NULL DEFAULT '',
        tlp TEXT,
        app TEXT,
        source TEXT NOT NULL,
        added INTEGER NOT NULL,
        expires INTEGER,
        UNIQUE (kind, value, source)
    );
    CREATE INDEX iocs_value ON iocs (value);
    CREATE TABLE whitelist (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        value TEXT NOT NULL,
        source TEXT NOT NULL,
        added INTEGER NOT NULL,
        UNIQUE (kind, value)
    );
    CREATE TABLE rules (
        id INTEGER PRIMARY KEY,
        source TEXT NOT NULL,
        text TEXT NOT NULL,
        tag TEXT NOT NULL DEFAULT '',
        added INTEGER NOT NULL,
        UNIQUE (source, text)
    );
    CREATE TABLE feeds (
        name TEXT PRIMARY KEY,
        url TEXT NOT NULL,
        whitelist INTEGER NOT NULL DEFAULT 0,
        last_fetch INTEGER,
        etag TEXT,
        last_modified TEXT,
        last_error TEXT
    );
    CREATE TABLE analyses (
        id INTEGER PRIMARY KEY,
        started INTEGER NOT NULL,
        capture TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        verdict TEXT NOT NULL,
        report TEXT NOT NULL
    );",
    // 2: admin accounts (argon2id hashes in PHC format; never a password).
    "CREATE TABLE accounts (
        name TEXT PRIMARY KEY,
        hash TEXT NOT NULL,
        created INTEGER NOT NULL
    );",
];

/// The schema version this build brings databases to.
pub(crate) fn known() -> i64 {
    i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX)
}

/// Applies the migrations the database has not had yet.
pub(crate) fn run(conn: &mut Connection, path: &str) -> Result<()> {
    let e = |source| Error::Sqlite {
        path: path.to_string(),
        source,
    };
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(e)?;
    let known = i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX);
    if version > known {
        return Err(Error::TooNew {
            path: path.to_string(),
            found: version,
            known,
        });
    }
    for (i, sql) in MIGRATIONS
        .iter()
        .enumerate()
        .skip(usize::try_from(version).unwrap_or(0))
    {
        let tx = conn.transaction().map_err(e)?;
        tx.execute_batch(sql).map_err(e)?;
        tx.execute_batch(&format!("PRAGMA user_version = {}", i + 1))
            .map_err(e)?;
        tx.commit().map_err(e)?;
    }
    Ok(())
}
