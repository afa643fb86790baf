//! One thread and many give byte-identical outputs; so do runs with and without Zeek's logs,
//! whose work (DNS transactions, decoded HTTP bodies) the rules still get when they need it.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use std::ffi::OsStr;
use std::path::Path;

use common::{captures, run_ok, shared, tempdir};

/// What `tcheck analyze` writes on `threads` threads: EVE, the Zeek-style logs when
/// `with_logs`, and the summary, by name.
fn outputs(capture: &Path, threads: &str, dir: &Path, with_logs: bool) -> Vec<(String, Vec<u8>)> {
    let logs = dir.join(format!("logs-{threads}"));
    let eve = dir.join(format!("eve-{threads}.json"));
    let mut args = vec![
        OsStr::new("analyze"),
        capture.as_os_str(),
        OsStr::new("--eve"),
        eve.as_os_str(),
        OsStr::new("--threads"),
        OsStr::new(threads),
    ];
    if with_logs {
        args.extend([OsStr::new("--logs"), logs.as_os_str()]);
    }
    let o = run_ok(&args);
    let mut files = vec![("eve.json".to_string(), std::fs::read(&eve).expect("eve"))];
    let mut names: Vec<_> = if with_logs {
        std::fs::read_dir(&logs)
            .expect("logs dir")
            .flatten()
            .map(|e| e.path())
            .collect()
    } else {
        Vec::new()
    };
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
        let one = outputs(cap, "1", &dir, true);
        let four = outputs(cap, "4", &dir, true);
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

/// `tcheck analyze` builds Zeek's DNS transactions and decodes HTTP response bodies only when
/// it writes Zeek's logs; EVE and the summary must not depend on it.
#[test]
fn eve_and_summary_are_the_same_without_zeek_logs() {
    let sh = shared();
    let mut all = captures(&sh.join("oracle/zeek/traces"));
    all.extend(captures(&sh.join("suricata-verify/tests")));
    let dir = tempdir("without-logs");
    let mut compared = 0;
    for cap in &all {
        let with_logs: Vec<_> = outputs(cap, "1", &dir, true)
            .into_iter()
            .filter(|(name, _)| name == "eve.json" || name == "summary")
            .collect();
        let without = outputs(cap, "1", &dir, false);
        let names = |files: &[(String, Vec<u8>)]| -> Vec<String> {
            files.iter().map(|(n, _)| n.clone()).collect()
        };
        assert_eq!(names(&with_logs), names(&without), "{}", cap.display());
        for ((name, a), (_, b)) in with_logs.iter().zip(&without) {
            assert!(a == b, "{}: {name} differs without --logs", cap.display());
        }
        compared += 1;
    }
    assert!(compared > 100);
}

/// Without `--logs` nothing reads decoded HTTP response bodies but the rules, which still see
/// them decoded: a rule on the text of a gzip response of `pipelined-requests.pcap` fires.
#[test]
fn rules_see_decoded_response_bodies_without_zeek_logs() {
    let cap = shared().join("oracle/zeek/traces/http/pipelined-requests.pcap");
    let dir = tempdir("decoded-bodies");
    let rules = dir.join("body.rules");
    std::fs::write(
        &rules,
        "alert http any any -> any any (msg:\"decoded css\"; flow:to_client; file_data; \
         content:\"Enhanced Screen Styles\"; sid:9000001; rev:1;)\n",
    )
    .expect("rule file");
    let eve = dir.join("eve.json");
    run_ok(&[
        OsStr::new("analyze"),
        cap.as_os_str(),
        OsStr::new("--no-default-iocs"),
        OsStr::new("--rules"),
        rules.as_os_str(),
        OsStr::new("--eve"),
        eve.as_os_str(),
    ]);
    let alerts: Vec<serde_json::Value> = common::json_lines(&eve)
        .into_iter()
        .filter(|e| e["event_type"] == "alert")
        .collect();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0]["alert"]["signature_id"].as_u64(), Some(9_000_001));
}
