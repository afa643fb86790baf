//! tcheck's Zeek-style logs against Zeek 9.1's own regression baselines
//! (`../shared/oracle/zeek`), field by field, with `../shared/tools/zeek_compare.py`.
//! The agreement must be at least 98%, and every remaining difference must be named in
//! `tests/oracle/zeek-known-differences.tsv` with its reason.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use std::process::Command;

use common::shared;

struct Known {
    trace: String,
    baseline: String,
    row: String,
    fields: Vec<String>,
    used: bool,
}

fn known() -> Vec<Known> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/oracle/zeek-known-differences.tsv"
    );
    let text = std::fs::read_to_string(path).expect("known differences list");
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            assert_eq!(cols.len(), 5, "bad line in {path}: {l}");
            assert!(cols[4].len() > 20, "a reason is required: {l}");
            Known {
                trace: cols[0].into(),
                baseline: cols[1].into(),
                row: cols[2].into(),
                fields: cols[3].split(',').map(str::to_string).collect(),
                used: false,
            }
        })
        .collect()
}

#[test]
fn zeek_logs_agree_with_zeek_baselines() {
    let sh = shared();
    let out = Command::new("python3")
        .arg(sh.join("tools/zeek_compare.py"))
        .arg("--tcheck")
        .arg(env!("CARGO_BIN_EXE_tcheck"))
        .arg("--oracle")
        .arg(sh.join("oracle/zeek"))
        .args(["--abs-tol", "1e-6", "-v", "--min", "98"])
        .output()
        .expect("python3 runs zeek_compare.py");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let report = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("zeek-oracle-report.txt");
    std::fs::write(&report, &text).expect("report");
    // The table and the agreement line, for the test log.
    let table: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with("DIFF") && !l.starts_with("MISSING") && !l.starts_with("EXTRA"))
        .collect();
    println!("{}", table.join("\n"));
    let last = text.lines().last().unwrap_or("");
    assert!(
        last.starts_with("zeek agreement: "),
        "no agreement line:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pct: f64 = last["zeek agreement: ".len()..]
        .split('%')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("percentage");
    assert!(pct >= 98.0, "agreement {pct}% below 98%:\n{text}");

    let mut list = known();
    let mut unexplained = Vec::new();
    for line in text.lines() {
        let kind = line.split_whitespace().next().unwrap_or("");
        if !matches!(kind, "DIFF" | "MISSING" | "EXTRA") {
            continue;
        }
        let field = if kind == "DIFF" {
            line.rsplit_once(": expected")
                .map(|(a, _)| a.rsplit("  ").next().unwrap_or(""))
                .unwrap_or("")
                .to_string()
        } else {
            kind.to_string()
        };
        let hit = list.iter_mut().find(|k| {
            line.contains(&k.trace)
                && line.contains(&k.baseline)
                && (k.row == "*" || line.contains(&k.row))
                && k.fields.contains(&field)
        });
        match hit {
            Some(k) => k.used = true,
            None => unexplained.push(line.to_string()),
        }
    }
    assert!(
        unexplained.is_empty(),
        "differences not in the known list:\n{}",
        unexplained.join("\n")
    );
    let stale: Vec<String> = list
        .iter()
        .filter(|k| !k.used)
        .map(|k| format!("{} {} {:?}", k.trace, k.baseline, k.fields))
        .collect();
    assert!(
        stale.is_empty(),
        "listed differences that no longer occur (remove them):\n{}",
        stale.join("\n")
    );
}
