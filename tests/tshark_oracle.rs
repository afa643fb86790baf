//! tcheck against what Wireshark's dissectors see (`*.tshark.json` beside each shared trace,
//! written by `../shared/tools/tshark_oracle.py` with tshark 4.0): per-flow packet and byte
//! counts, DNS query names, TLS ClientHello server names and JA3, ServerHello JA3S,
//! certificate fingerprints and HTTP requests must agree exactly.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::Path;

use common::{captures, json_lines, run, shared, tempdir};
use serde_json::Value;

type Bag = BTreeMap<String, i64>;

fn add(bag: &mut Bag, k: String, n: i64) {
    *bag.entry(k).or_insert(0) += n;
}

fn s(v: &Value) -> String {
    match v {
        Value::String(x) => x.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

/// The flow key with endpoints sorted, so orientation does not matter.
fn key(proto: &str, a: (String, u64), b: (String, u64)) -> String {
    let (x, y) = if a <= b { (a, b) } else { (b, a) };
    format!("{proto} {}:{} {}:{}", x.0, x.1, y.0, y.1)
}

/// Differences between two bags, as lines.
fn diff(what: &str, expected: &Bag, got: &Bag) -> Vec<String> {
    let mut out = Vec::new();
    for (k, n) in expected {
        let g = got.get(k).copied().unwrap_or(0);
        if g != *n {
            out.push(format!("{what} {k}: tshark {n}, tcheck {g}"));
        }
    }
    for (k, n) in got {
        if !expected.contains_key(k) {
            out.push(format!("{what} {k}: tshark 0, tcheck {n}"));
        }
    }
    out
}

fn compare(capture: &Path, oracle: &Value, dir: &Path) -> (usize, Vec<String>) {
    let logs = dir.join("logs");
    let eve = dir.join("eve.json");
    let _ = std::fs::remove_dir_all(&logs);
    let o = run(&[
        OsStr::new("analyze"),
        capture.as_os_str(),
        OsStr::new("--logs"),
        logs.as_os_str(),
        OsStr::new("--eve"),
        eve.as_os_str(),
        OsStr::new("--midstream"),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", capture.display());
    let events = json_lines(&eve);
    let conns = json_lines(&logs.join("conn.log"));
    let mut problems = Vec::new();
    let mut checked = 0;

    // Flows: packets and IP bytes, both directions together.
    let (mut exp, mut got) = (Bag::new(), Bag::new());
    for f in oracle["flows"].as_array().into_iter().flatten() {
        // tshark gives a fragmented datagram's flow only its last fragment's bytes; tcheck
        // counts the reassembled datagram once (Zeek's notion), so such flows are skipped.
        if capture.ends_with("ipv6-fragmented-dns.pcap") {
            continue;
        }
        let k = key(
            &s(&f["proto"]),
            (s(&f["orig_h"]), f["orig_p"].as_u64().unwrap_or(0)),
            (s(&f["resp_h"]), f["resp_p"].as_u64().unwrap_or(0)),
        );
        let pkts = f["orig_pkts"].as_i64().unwrap_or(0) + f["resp_pkts"].as_i64().unwrap_or(0);
        let bytes =
            f["orig_ip_bytes"].as_i64().unwrap_or(0) + f["resp_ip_bytes"].as_i64().unwrap_or(0);
        add(&mut exp, format!("{k} pkts"), pkts);
        add(&mut exp, format!("{k} ip_bytes"), bytes);
    }
    for c in &conns {
        let proto = s(&c["proto"]);
        if (proto != "tcp" && proto != "udp") || capture.ends_with("ipv6-fragmented-dns.pcap") {
            continue;
        }
        let k = key(
            &proto,
            (s(&c["id.orig_h"]), c["id.orig_p"].as_u64().unwrap_or(0)),
            (s(&c["id.resp_h"]), c["id.resp_p"].as_u64().unwrap_or(0)),
        );
        let pkts = c["orig_pkts"].as_i64().unwrap_or(0) + c["resp_pkts"].as_i64().unwrap_or(0);
        let bytes =
            c["orig_ip_bytes"].as_i64().unwrap_or(0) + c["resp_ip_bytes"].as_i64().unwrap_or(0);
        add(&mut got, format!("{k} pkts"), pkts);
        add(&mut got, format!("{k} ip_bytes"), bytes);
    }
    checked += exp.len();
    problems.extend(diff("flow", &exp, &got));

    // DNS: every name in a question, lower-cased (requests and responses).
    let (mut exp, mut got) = (Bag::new(), Bag::new());
    for m in oracle["dns"]["messages"].as_array().into_iter().flatten() {
        for q in m["queries"].as_array().into_iter().flatten() {
            add(&mut exp, s(&q["name"]).to_lowercase(), 1);
        }
    }
    // tshark dissects NetBIOS name service (137) and LLMNR (5355) as their own protocols,
    // not as DNS; tcheck parses them as DNS, like Zeek.
    let not_dns_for_tshark = |e: &Value| {
        [&e["src_port"], &e["dest_port"]]
            .iter()
            .any(|p| matches!(p.as_u64(), Some(137 | 5355)))
    };
    for e in events
        .iter()
        .filter(|e| e["event_type"] == "dns" && !not_dns_for_tshark(e))
    {
        for q in e["dns"]["queries"].as_array().into_iter().flatten() {
            add(&mut got, s(&q["rrname"]).to_lowercase(), 1);
        }
    }
    checked += exp.len();
    problems.extend(diff("dns question", &exp, &got));

    // TLS: (SNI, JA3) of every ClientHello, JA3S of every ServerHello.
    let (mut exp, mut got) = (Bag::new(), Bag::new());
    for ch in oracle["tls"]["client_hellos"]
        .as_array()
        .into_iter()
        .flatten()
    {
        add(
            &mut exp,
            format!("hello sni={} ja3={}", s(&ch["sni"]), s(&ch["ja3"])),
            1,
        );
    }
    for sh in oracle["tls"]["server_hellos"]
        .as_array()
        .into_iter()
        .flatten()
    {
        add(&mut exp, format!("server ja3s={}", s(&sh["ja3s"])), 1);
    }
    // A QUIC connection's hello is counted once, from its quic event.
    for e in events
        .iter()
        .filter(|e| (e["event_type"] == "tls" && e["proto"] == "TCP") || e["event_type"] == "quic")
    {
        let obj = if e["event_type"] == "tls" {
            &e["tls"]
        } else {
            &e["quic"]
        };
        if !obj["ja3"].is_null() {
            add(
                &mut got,
                format!(
                    "hello sni={} ja3={}",
                    s(&obj["sni"]),
                    s(&obj["ja3"]["hash"])
                ),
                1,
            );
        }
        if !obj["ja3s"].is_null() {
            add(
                &mut got,
                format!("server ja3s={}", s(&obj["ja3s"]["hash"])),
                1,
            );
        }
    }
    checked += exp.len();
    problems.extend(diff("tls", &exp, &got));

    // Certificates: SHA-256 of every certificate in a Certificate message.
    let (mut exp, mut got) = (Bag::new(), Bag::new());
    for c in oracle["tls"]["certificates"]
        .as_array()
        .into_iter()
        .flatten()
    {
        add(&mut exp, s(&c["sha256"]), 1);
    }
    for f in json_lines(&logs.join("files.log")) {
        add(&mut got, s(&f["sha256"]), 1);
    }
    checked += exp.len();
    problems.extend(diff("certificate", &exp, &got));

    // HTTP: method, host and target of every request.
    let (mut exp, mut got) = (Bag::new(), Bag::new());
    for r in oracle["http"]["requests"].as_array().into_iter().flatten() {
        add(
            &mut exp,
            format!("{} {} {}", s(&r["method"]), s(&r["host"]), s(&r["uri"])),
            1,
        );
    }
    for e in events.iter().filter(|e| e["event_type"] == "http") {
        let h = &e["http"];
        if h["http_method"].is_null() {
            continue;
        }
        let host = match (&h["hostname"], &h["http_port"]) {
            (Value::String(n), Value::Number(p)) => format!("{n}:{p}"),
            (n, _) => s(n),
        };
        add(
            &mut got,
            format!("{} {host} {}", s(&h["http_method"]), s(&h["url"])),
            1,
        );
    }
    checked += exp.len();
    problems.extend(diff("http request", &exp, &got));
    (checked, problems)
}

#[test]
fn dissection_agrees_with_tshark() {
    let sh = shared();
    let dir = tempdir("tshark");
    let mut total = 0;
    let mut all = Vec::new();
    for cap in captures(&sh.join("oracle/zeek/traces")) {
        let oracle_path = cap.with_file_name(format!(
            "{}.tshark.json",
            cap.file_name().and_then(|n| n.to_str()).unwrap_or("")
        ));
        let Ok(text) = std::fs::read_to_string(&oracle_path) else {
            continue;
        };
        let oracle: Value = serde_json::from_str(&text).expect("oracle json");
        let (n, problems) = compare(&cap, &oracle, &dir);
        total += n;
        for p in problems {
            all.push(format!("{}: {p}", cap.display()));
        }
    }
    println!(
        "tshark oracle: {total} values compared, {} differences",
        all.len()
    );
    assert!(
        all.is_empty(),
        "differences from tshark:\n{}",
        all.join("\n")
    );
    assert!(total > 300, "too little compared: {total}");
}
