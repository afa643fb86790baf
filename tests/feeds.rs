//! `tcheck feeds`: fetched from a real HTTP server started on loopback by the test: a new
//! version, a 304, a 500, a malformed body and a server that never answers.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::{run, tempdir};

const V1: &str = r#"{"iocs": [{"type": "domain", "tag": "stalkerware", "tlp": "white", "value": "one.example"},
                             {"type": "domain", "tag": "stalkerware", "tlp": "white", "value": "two.example"}]}"#;
const V2: &str = r#"{"iocs": [{"type": "domain", "tag": "stalkerware", "tlp": "white", "value": "two.example"},
                             {"type": "domain", "tag": "stalkerware", "tlp": "white", "value": "three.example"}]}"#;

/// Serves the test's paths; `version` picks the feed's content (1 or 2).
fn serve(version: Arc<AtomicUsize>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let version = Arc::clone(&version);
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut head = Vec::new();
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    head.push(line.to_ascii_lowercase());
                }
                let path = head
                    .first()
                    .and_then(|l| l.split_whitespace().nth(1))
                    .unwrap_or("/")
                    .to_string();
                let v = version.load(Ordering::SeqCst);
                let etag = format!("\"v{v}\"");
                let reply = |status: &str, headers: &str, body: &str| {
                    format!(
                        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n{headers}\r\n{body}",
                        body.len()
                    )
                };
                let answer = match path.as_str() {
                    "/feed.json" => {
                        if head
                            .iter()
                            .any(|h| h.starts_with("if-none-match:") && h.contains(&etag))
                        {
                            reply("304 Not Modified", "", "")
                        } else {
                            reply(
                                "200 OK",
                                &format!("ETag: {etag}\r\nContent-Type: application/json\r\n"),
                                if v == 1 { V1 } else { V2 },
                            )
                        }
                    }
                    "/broken.json" => reply("500 Internal Server Error", "", "oops"),
                    "/malformed.json" => reply("200 OK", "", "{\"iocs\": [{\"type\": \"domain\","),
                    "/slow.json" => {
                        std::thread::sleep(std::time::Duration::from_secs(5));
                        return;
                    }
                    _ => reply("404 Not Found", "", ""),
                };
                let _ = stream.write_all(answer.as_bytes());
            });
        }
    });
    port
}

fn tc(db: &Path, args: &[&str]) -> (i32, String) {
    let mut a: Vec<&OsStr> = args.iter().map(OsStr::new).collect();
    a.push(OsStr::new("--db"));
    a.push(db.as_os_str());
    let o = run(&a);
    (
        o.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
    )
}

fn domains(db: &Path, source: &str) -> Vec<String> {
    let (_, out) = tc(db, &["iocs", "list", "--source", source]);
    let mut v: Vec<String> = out
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1).map(str::to_string))
        .collect();
    v.sort();
    v
}

#[test]
fn feeds_update_from_a_loopback_server() {
    let version = Arc::new(AtomicUsize::new(1));
    let port = serve(Arc::clone(&version));
    let base = format!("http://127.0.0.1:{port}");
    let dir = tempdir("feeds");
    let db = dir.join("t.db");

    let (code, out) = tc(&db, &["feeds", "add", "good", &format!("{base}/feed.json")]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = tc(&db, &["feeds", "update", "good"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("2 entries (2 new, 0 gone)"), "{out}");
    assert_eq!(domains(&db, "good"), ["one.example", "two.example"]);

    // Unchanged: the server answers 304 to the ETag.
    let (code, out) = tc(&db, &["feeds", "update", "good"]);
    assert_eq!(code, 0);
    assert!(out.contains("not modified"), "{out}");

    // A new version replaces the old one.
    version.store(2, Ordering::SeqCst);
    let (_, out) = tc(&db, &["feeds", "update", "good"]);
    assert!(out.contains("2 entries (1 new, 1 gone)"), "{out}");
    assert_eq!(domains(&db, "good"), ["three.example", "two.example"]);

    // Failures change nothing and are recorded.
    for (name, path, expect) in [
        ("broken", "/broken.json", "HTTP 500"),
        ("malformed", "/malformed.json", "line 1, column"),
        ("slow", "/slow.json", "imeout"),
    ] {
        assert_eq!(
            tc(&db, &["feeds", "add", name, &format!("{base}{path}")]).0,
            0
        );
        let (code, out) = tc(&db, &["feeds", "update", name, "--timeout", "1"]);
        assert_eq!(code, 1, "{name}: {out}");
        assert!(
            out.contains("failed, nothing changed") && out.contains(expect),
            "{name}: {out}"
        );
        assert!(domains(&db, name).is_empty());
    }
    let (_, list) = tc(&db, &["feeds", "list"]);
    assert!(list.contains("last error: HTTP 500"), "{list}");
    assert_eq!(domains(&db, "good"), ["three.example", "two.example"]);

    // Plain HTTP to another machine is refused.
    let (code, out) = tc(&db, &["feeds", "add", "x", "http://192.0.2.1/feed.json"]);
    assert_eq!(code, 2);
    assert!(out.contains("HTTPS"), "{out}");
}
