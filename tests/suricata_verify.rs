//! tcheck against 109 of Suricata's own regression tests (`../shared/suricata-verify`), run
//! through `sv_eval.py`, which applies suricata-verify's check semantics to tcheck's EVE output.
//! Every failure must be named in `tests/suricata-verify/expected-failures.tsv` with its reason,
//! and a listed test that now passes must leave the list.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::process::Command;

use common::shared;

/// The expected failures: test name to reason.
fn expected_failures() -> BTreeMap<String, String> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/suricata-verify/expected-failures.tsv"
    );
    let text = std::fs::read_to_string(path).expect("expected failures list");
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (name, reason) = l.split_once('\t').expect("name TAB reason");
            assert!(reason.len() > 20, "a reason is required: {l}");
            (name.to_string(), reason.to_string())
        })
        .collect()
}

#[test]
fn suricata_verify_checks_pass() {
    let sh = shared();
    let sv = sh.join("suricata-verify");
    let adapter = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/suricata-verify/adapter");
    let results = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("sv-results.json");
    let out = Command::new("python3")
        .arg(sv.join("sv_eval.py"))
        .arg(sv.join("manifest.json"))
        .arg("--repo")
        .arg(&sv)
        .arg("--cmd")
        .arg(format!("{adapter} {{pcap}} {{rules}} {{eve}} {{opts}}"))
        .args(["-j", "2", "-v", "--json-out"])
        .arg(&results)
        .env("TCHECK", env!("CARGO_BIN_EXE_tcheck"))
        .output()
        .expect("python3 runs sv_eval.py");
    let text = String::from_utf8_lossy(&out.stdout);
    let summary = text.lines().last().unwrap_or_default();
    println!("suricata-verify: {summary}");
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&results).expect("sv_eval.py wrote its results"))
            .expect("results are JSON");
    let expected = expected_failures();
    let mut unexpected = Vec::new();
    let mut fixed = Vec::new();
    let mut seen = 0;
    for r in report["results"].as_array().expect("results array") {
        let name = r["name"].as_str().unwrap_or_default();
        let status = r["status"].as_str().unwrap_or_default();
        seen += 1;
        match (status, expected.contains_key(name)) {
            ("FAIL" | "ERROR", false) => unexpected.push(format!("{name}: {}", r["messages"])),
            ("PASS", true) => fixed.push(name.to_string()),
            _ => {}
        }
    }
    assert!(seen >= 100, "sv_eval.py ran {seen} tests: {text}");
    assert!(
        unexpected.is_empty(),
        "suricata-verify failures not in expected-failures.tsv:\n{}",
        unexpected.join("\n")
    );
    assert!(
        fixed.is_empty(),
        "these now pass; take them off expected-failures.tsv: {fixed:?}"
    );
}
