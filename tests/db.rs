//! The indicator database from the command line: a new database starts with the bundled
//! feeds; the shared feeds import; search matches as an analysis does; exports read back;
//! a bad file changes nothing; analyses are stored with their report.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use std::ffi::OsStr;
use std::path::Path;

use common::{run, shared, tempdir};

fn tc(db: &Path, args: &[&str]) -> std::process::Output {
    let mut a: Vec<&OsStr> = args.iter().map(OsStr::new).collect();
    a.push(OsStr::new("--db"));
    a.push(db.as_os_str());
    run(&a)
}

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn import_search_export_and_analyses() {
    let dir = tempdir("db");
    let db = dir.join("tcheck.db");
    // A new database holds the bundled feeds.
    let o = tc(&db, &["iocs", "list"]);
    assert!(o.status.success());
    assert!(stdout(&o).contains("tinycheck/iocs.json"), "{}", stdout(&o));
    // Every shared feed imports; the figures are printed for the log.
    let feeds = shared().join("feeds");
    for rel in [
        "tinycheck/iocs.json",
        "echap/network.csv",
        "echap/indicators-for-tinycheck.json",
        "mvt/rcs.stix2",
        "mvt/eaglemsgspy.stix2",
        "mvt/operation_triangulation.stix2",
    ] {
        let f = feeds.join(rel);
        let o = tc(
            &db,
            &[
                "iocs",
                "import",
                f.to_str().unwrap(),
                "--source",
                &format!("shared/{rel}"),
            ],
        );
        assert!(
            o.status.success(),
            "{rel}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        println!("{}", stdout(&o).trim());
    }
    let o = tc(&db, &["iocs", "search", "media-sync-a.copy9.com"]);
    assert!(
        stdout(&o).contains("copy9.com (stalkerware, TheTruthSpy)"),
        "{}",
        stdout(&o)
    );
    let o = tc(&db, &["iocs", "search", "xcopy9.com"]);
    assert_eq!(o.status.code(), Some(1), "label boundaries");
    // A bad file is refused and changes nothing.
    let before = stdout(&tc(&db, &["iocs", "list"]));
    let bad = dir.join("bad.txt");
    std::fs::write(&bad, "good.example\nnot an indicator at all\n").unwrap();
    let o = tc(&db, &["iocs", "import", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("line 2"));
    assert_eq!(stdout(&tc(&db, &["iocs", "list"])), before);
    // Exports read back.
    let stix = dir.join("out.stix2");
    assert!(tc(
        &db,
        &[
            "iocs",
            "export",
            "--format",
            "stix",
            "--out",
            stix.to_str().unwrap()
        ]
    )
    .status
    .success());
    let tcj = dir.join("out.json");
    assert!(tc(
        &db,
        &[
            "iocs",
            "export",
            "--format",
            "tinycheck",
            "--out",
            tcj.to_str().unwrap()
        ]
    )
    .status
    .success());
    let other = dir.join("other.db");
    let o = run(&[
        OsStr::new("iocs"),
        OsStr::new("import"),
        tcj.as_os_str(),
        OsStr::new("--db"),
        other.as_os_str(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // Whitelist by hand, then an analysis with the database: stored with its report.
    assert!(tc(&db, &["whitelist", "add", "gstatic.com"])
        .status
        .success());
    assert!(stdout(&tc(&db, &["whitelist", "list"])).contains("gstatic.com"));
    let capture = shared().join("oracle/zeek/traces/tls/tls-conn-with-extensions.pcap");
    assert!(tc(&db, &["analyze", capture.to_str().unwrap()])
        .status
        .success());
    let conn = rusqlite::Connection::open(&db).unwrap();
    let (n, verdict): (i64, String) = conn
        .query_row("SELECT count(*), max(verdict) FROM analyses", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!((n, verdict.as_str()), (1, "none"));
}
