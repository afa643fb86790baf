//! One thread and many give byte-identical outputs.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use std::ffi::OsStr;
use std::path::Path;

use common::{captures, run, shared, tempdir};

fn outputs(capture: &Path, threads: &str, dir: &Path) -> Vec<(String, Vec<u8>)> {
    let logs = dir.join(format!("logs-{threads}"));
    let eve = dir.join(format!("eve-{threads}.json"));
    let o = run(&[
        OsStr::new("analyze"),
        capture.as_os_str(),
        OsStr::new("--logs"),
        logs.as_os_str(),
        OsStr::new("--eve"),
        eve.as_os_str(),
        OsStr::new("--threads"),
        OsStr::new(threads),
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}: {}",
        capture.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    let mut files = vec![("eve.json".to_string(), std::fs::read(&eve).expect("eve"))];
    let mut names: Vec<_> = std::fs::read_dir(&logs)
        .expect("logs dir")
        .flatten()
        .map(|e| e.path())
        .collect();
    names.sort();
    for p in names {
        let name = p
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("")
            .to_string();
        files.push((name, std::fs::read(&p).expect("log")));
    }
    files.push(("summary".into(), o.stdout));
    files
}

#[test]
fn one_thread_and_four_threads_write_the_same_bytes() {
    let sh = shared();
    let mut all = captures(&sh.join("oracle/zeek/traces"));
    all.extend(captures(&sh.join("suricata-verify/tests")));
    assert!(
        all.len() > 100,
        "expected the shared captures, found {}",
        all.len()
    );
    let dir = tempdir("determinism");
    let mut compared = 0;
    for cap in &all {
        let one = outputs(cap, "1", &dir);
        let four = outputs(cap, "4", &dir);
        assert_eq!(
            one.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            four.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            "{}",
            cap.display()
        );
        for ((name, a), (_, b)) in one.iter().zip(&four) {
            assert!(
                a == b,
                "{}: {name} differs between 1 and 4 threads",
                cap.display()
            );
            compared += 1;
        }
    }
    assert!(compared > 300);
}

/// `tcheck analyze` builds Zeek's DNS transactions only when it writes Zeek's logs; EVE and the
/// summary must not depend on it.
#[test]
fn eve_and_summary_are_the_same_without_zeek_logs() {
    let sh = shared();
    let mut all = captures(&sh.join("oracle/zeek/traces"));
    all.extend(captures(&sh.join("suricata-verify/tests")));
    let dir = tempdir("without-logs");
    let eve = dir.join("eve.json");
    let mut compared = 0;
    for cap in &all {
        let with_logs = outputs(cap, "1", &dir);
        let o = run(&[
            OsStr::new("analyze"),
            cap.as_os_str(),
            OsStr::new("--eve"),
            eve.as_os_str(),
            OsStr::new("--threads"),
            OsStr::new("1"),
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", cap.display());
        let eve_bytes = std::fs::read(&eve).expect("eve");
        let find = |name: &str| {
            with_logs
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, b)| b.clone())
                .expect("written")
        };
        assert!(
            find("eve.json") == eve_bytes,
            "{}: EVE differs without --logs",
            cap.display()
        );
        assert!(
            find("summary") == o.stdout,
            "{}: the summary differs without --logs",
            cap.display()
        );
        compared += 1;
    }
    assert!(compared > 100);
}
