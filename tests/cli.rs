//! The command line: bad inputs get exit status 2 and one clear line; damaged captures are
//! read as far as they go.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use std::ffi::OsStr;
use std::io::Write;

use common::{run, shared, tempdir};

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn missing_file_is_exit_2_with_one_line() {
    let o = run(&[
        OsStr::new("analyze"),
        OsStr::new("/nonexistent/capture.pcap"),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(e.starts_with("tcheck: /nonexistent/capture.pcap: "), "{e}");
}

#[test]
fn empty_and_foreign_files_are_refused() {
    let dir = tempdir("refused");
    let empty = dir.join("empty.pcap");
    std::fs::write(&empty, b"").expect("write");
    let o = run(&[OsStr::new("analyze"), empty.as_os_str()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("empty file"), "{}", stderr(&o));

    let text = dir.join("notes.txt");
    std::fs::write(&text, b"this is not a capture\n").expect("write");
    let o = run(&[OsStr::new("analyze"), text.as_os_str()]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains("not a pcap or pcapng capture"), "{e}");
    assert_eq!(e.lines().count(), 1);

    let o = run(&[OsStr::new("analyze"), dir.as_os_str()]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn truncated_capture_reports_what_it_read() {
    let src = shared().join("oracle/zeek/traces/wikipedia.pcap");
    let bytes = std::fs::read(&src).expect("read");
    let dir = tempdir("truncated");
    let cut = dir.join("cut.pcap");
    // Cut in the middle of a record.
    std::fs::write(&cut, &bytes[..bytes.len() / 2 + 7]).expect("write");
    let o = run(&[OsStr::new("analyze"), cut.as_os_str(), OsStr::new("--json")]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json summary");
    let packets = v["packets"].as_u64().expect("packets");
    assert!(packets > 10 && packets < 136, "{packets}");
    let warnings = v["warnings"].as_array().expect("warnings");
    assert!(
        warnings
            .iter()
            .any(|w| w.as_str().is_some_and(|s| s.contains("truncated"))),
        "{warnings:?}"
    );
}

#[test]
fn lying_record_length_stops_cleanly() {
    let src = shared().join("oracle/zeek/traces/wikipedia.pcap");
    let mut bytes = std::fs::read(&src).expect("read");
    // The third record's captured length claims 3 GB.
    let mut at = 24;
    for _ in 0..2 {
        let caplen = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().expect("4 bytes"));
        at += 16 + caplen as usize;
    }
    bytes[at + 8..at + 12].copy_from_slice(&0xc000_0000u32.to_le_bytes());
    let dir = tempdir("lying");
    let p = dir.join("lying.pcap");
    std::fs::File::create(&p)
        .and_then(|mut f| f.write_all(&bytes))
        .expect("write");
    let o = run(&[OsStr::new("analyze"), p.as_os_str(), OsStr::new("--json")]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json summary");
    assert_eq!(v["packets"].as_u64(), Some(2));
    assert!(!v["warnings"].as_array().expect("warnings").is_empty());
}

#[test]
fn summary_counts_and_names() {
    let src = shared().join("oracle/zeek/traces/wikipedia.pcap");
    let o = run(&[OsStr::new("analyze"), src.as_os_str(), OsStr::new("--json")]);
    assert_eq!(o.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    // tshark counts 136 frames in this trace.
    assert_eq!(v["packets"].as_u64(), Some(136));
    let names = v["names"].as_object().expect("names");
    assert!(names.contains_key("upload.wikimedia.org"));
    assert!(names.contains_key("bits.wikimedia.org"));
    let text = run(&[OsStr::new("analyze"), src.as_os_str()]);
    let out = String::from_utf8_lossy(&text.stdout);
    assert!(out.contains("136 packets"), "{out}");
}

#[test]
fn doctor_names_what_is_wrong_with_the_fix() {
    let dir = tempdir("doctor");
    let db = dir.join("t.db");
    let o = run(&[
        OsStr::new("iocs"),
        OsStr::new("add"),
        OsStr::new("domain"),
        OsStr::new("spy.example"),
        OsStr::new("--db"),
        db.as_os_str(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let config = dir.join("tcheck.toml");
    std::fs::write(
        &config,
        "[ap]\ninterface = \"wlan1\"\ncountry = \"France\"\n",
    )
    .expect("write");
    let o = run(&[
        OsStr::new("doctor"),
        OsStr::new("--json"),
        OsStr::new("--db"),
        db.as_os_str(),
        OsStr::new("--config"),
        config.as_os_str(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let findings = v["findings"].as_array().expect("findings");
    let fix_of = |what: &str| {
        findings
            .iter()
            .find(|f| f["what"].as_str().is_some_and(|w| w.contains(what)))
            .and_then(|f| f["fix"].as_str())
            .map(str::to_string)
    };
    let accounts = fix_of("admin accounts").expect("no admin account is a problem");
    assert!(accounts.contains("tcheck admin passwd"), "{accounts}");
    let cfg = findings
        .iter()
        .find(|f| f["section"] == "configuration" && f["fix"].is_string())
        .expect("the invalid country is a problem");
    assert!(
        cfg["found"].as_str().unwrap_or("").contains("country"),
        "{cfg}"
    );
    assert!(findings.iter().any(|f| f["what"] == "tcheck"));
}
