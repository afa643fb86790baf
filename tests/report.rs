//! The report of `tcheck analyze` (`--report OUT.json`): indicators matched against what
//! the shared captures show, the whitelist never hiding an indicator, heuristics quiet on
//! ordinary traffic, and bad indicator files refused with their place.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use common::{run, run_ok, shared, tempdir};
use serde_json::Value;

fn trace(rel: &str) -> PathBuf {
    shared().join("oracle/zeek/traces").join(rel)
}

/// Runs `tcheck analyze CAPTURE --report R.json EXTRA...` and returns the report.
fn report(dir: &Path, capture: &Path, extra: &[&OsStr]) -> Value {
    let out = dir.join("report.json");
    let mut args: Vec<&OsStr> = vec![
        OsStr::new("analyze"),
        capture.as_os_str(),
        OsStr::new("--report"),
        out.as_os_str(),
    ];
    args.extend_from_slice(extra);
    let o = run(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap()
}

fn alerts<'a>(r: &'a Value, check: &str) -> Vec<&'a Value> {
    r["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["check"] == check)
        .collect()
}

#[test]
fn a_domain_indicator_matches_subdomains_and_survives_the_whitelist() {
    let dir = tempdir("report-domain");
    let iocs = dir.join("iocs.txt");
    // `gstatic.com` covers ssl.gstatic.com (the SNI); `atic.com` must not match it.
    std::fs::write(&iocs, "gstatic[.]com # parent of the SNI\natic.com\n").unwrap();
    let white = dir.join("white.txt");
    std::fs::write(&white, "gstatic.com\n").unwrap();
    let capture = trace("tls/tls-conn-with-extensions.pcap");
    let r = report(
        &dir,
        &capture,
        &[
            OsStr::new("--no-default-iocs"),
            OsStr::new("--iocs"),
            iocs.as_os_str(),
            OsStr::new("--whitelist"),
            white.as_os_str(),
        ],
    );
    assert_eq!(r["verdict"]["level"], "high", "{r:#}");
    let hits = alerts(&r, "ioc.domain");
    assert_eq!(hits.len(), 1, "{hits:#?}");
    let a = hits[0];
    assert_eq!(a["level"], "high");
    assert_eq!(a["source"], "ioc");
    assert_eq!(a["domain"], "ssl.gstatic.com");
    assert_eq!(a["ioc"]["value"], "gstatic.com");
    assert_eq!(
        a["whitelisted"], "gstatic.com",
        "the whitelist is named, not obeyed"
    );
    assert!(!a["flow_ids"].as_array().unwrap().is_empty());
    assert!(a["first_seen"]
        .as_str()
        .unwrap()
        .starts_with("2012-04-27T14:53:12"));
    // The capture is described.
    assert_eq!(r["capture"]["packets"], 58);
    assert_eq!(r["capture"]["sha256"].as_str().unwrap().len(), 64);
    assert_eq!(r["connections"][0]["ip"], "74.125.224.79");
    assert_eq!(r["connections"][0]["bytes_down"], 18359);
}

#[test]
fn address_network_and_certificate_indicators() {
    let dir = tempdir("report-addr");
    let iocs = dir.join("iocs.json");
    std::fs::write(
        &iocs,
        r#"{"iocs": [
            {"type": "cidr", "tag": "tracker", "tlp": "white", "value": "74.125.224.0/24"},
            {"type": "ip4addr", "tag": "stalkerware", "tlp": "white", "value": "74.125.224.79"},
            {"type": "sha256cert", "tag": "spyware", "tlp": "white",
             "value": "a580247a25324adf4add5af648de4ac5798030dfd622f26a5f2280d7528ae244"}
        ]}"#,
    )
    .unwrap();
    let r = report(
        &dir,
        &trace("tls/tls-conn-with-extensions.pcap"),
        &[
            OsStr::new("--no-default-iocs"),
            OsStr::new("--iocs"),
            iocs.as_os_str(),
        ],
    );
    let net = alerts(&r, "ioc.cidr");
    assert_eq!(net.len(), 1);
    assert_eq!(net[0]["level"], "moderate");
    assert_eq!(net[0]["ip"], "74.125.224.79");
    let ip = alerts(&r, "ioc.ip");
    assert_eq!(ip[0]["level"], "high");
    assert_eq!(ip[0]["tag"], "stalkerware");
    let cert = alerts(&r, "ioc.cert");
    assert_eq!(cert.len(), 1);
    assert_eq!(cert[0]["sni"], "ssl.gstatic.com");
    assert_eq!(cert[0]["cert_sha1"].as_str().unwrap().len(), 40);
    // Three checks on one host: worth a moderate alert of its own.
    assert_eq!(alerts(&r, "several_alerts").len(), 1);
}

#[test]
fn quic_sni_and_dns_queries_are_matched() {
    let dir = tempdir("report-quic");
    let iocs = dir.join("iocs.txt");
    std::fs::write(&iocs, "cirrus-ci.com\n").unwrap();
    let r = report(
        &dir,
        &trace("quic/chromium-115.0.5790.110-api-cirrus-com.pcap"),
        &[
            OsStr::new("--no-default-iocs"),
            OsStr::new("--iocs"),
            iocs.as_os_str(),
        ],
    );
    let hits = alerts(&r, "ioc.domain");
    assert_eq!(hits.len(), 1, "{r:#}");
    assert_eq!(hits[0]["domain"], "api.cirrus-ci.com");
    assert!(hits[0]["description"].as_str().unwrap().contains("QUIC"));
}

#[test]
fn ordinary_traffic_raises_nothing_above_low_with_the_bundled_feeds() {
    let dir = tempdir("report-benign");
    for rel in [
        "tls/tls-conn-with-extensions.pcap",
        "tls/tls13-ech.pcap",
        "tls/google-duplicate.pcap",
        "tls/chrome-1250-tls-x25519-kyber.pcap",
        "quic/chromium-115.0.5790.110-api-cirrus-com.pcap",
        "dns53.pcap",
        "dns/mdns-no-assoc.pcap",
        "http/get.pcap",
        "wikipedia.pcap",
    ] {
        let r = report(&dir, &trace(rel), &[]);
        let level = r["verdict"]["level"].as_str().unwrap();
        assert!(
            level == "none" || level == "low",
            "{rel}: {level}: {:#}",
            r["alerts"]
        );
        assert!(r["indicators"]["domain"].as_u64().unwrap() > 3000);
    }
}

#[test]
fn a_bad_indicator_file_stops_the_run_with_its_place() {
    let dir = tempdir("report-bad");
    let iocs = dir.join("bad.json");
    std::fs::write(&iocs, r#"{"iocs": [{"type": "domain", "value": "ok.com"}, {"type": "ip4addr", "value": "1.2.3"}]}"#).unwrap();
    let capture = trace("dns53.pcap");
    let o = run(&[
        OsStr::new("analyze"),
        capture.as_os_str(),
        OsStr::new("--iocs"),
        iocs.as_os_str(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("bad.json") && err.contains("iocs[1]") && err.contains("1.2.3"),
        "{err}"
    );
}

/// Checks `v` against the `required` lists of `docs/report.schema.json`, recursively through
/// objects and array items: the schema and the output must not drift apart.
fn check_required(schema: &Value, v: &Value, path: &str) {
    if let Some(req) = schema["required"].as_array() {
        for k in req {
            let k = k.as_str().unwrap();
            assert!(
                v.get(k).is_some(),
                "{path}: `{k}` is required by the schema"
            );
        }
    }
    if let (Some(props), Some(obj)) = (schema["properties"].as_object(), v.as_object()) {
        for (k, sub) in props {
            if let Some(x) = obj.get(k) {
                check_required(sub, x, &format!("{path}.{k}"));
            }
        }
        for k in obj.keys() {
            assert!(
                props.contains_key(k) || schema.get("additionalProperties").is_some(),
                "{path}: `{k}` is not in the schema"
            );
        }
    }
    if let (Some(items), Some(arr)) = (schema.get("items"), v.as_array()) {
        for (i, x) in arr.iter().enumerate() {
            check_required(items, x, &format!("{path}[{i}]"));
        }
    }
}

#[test]
fn reports_follow_the_documented_schema() {
    let schema: Value = serde_json::from_slice(
        &std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/docs/report.schema.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let dir = tempdir("report-schema");
    let iocs = dir.join("iocs.txt");
    std::fs::write(&iocs, "drivres-update.info\n").unwrap();
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/sample/sample.pcap");
    let r = report(&dir, &sample, &[OsStr::new("--iocs"), iocs.as_os_str()]);
    assert_eq!(r["schema"], 1);
    check_required(&schema, &r, "report");
    assert_eq!(r["verdict"]["level"], "high");
    assert!(
        !r["device"]["names"].as_array().unwrap().is_empty(),
        "DHCP host name"
    );
}

/// A classic pcap holding one DNS query (UDP, Ethernet/IPv4) for `name`, whose labels may
/// hold any byte.
fn dns_query_pcap(name: &[&[u8]]) -> Vec<u8> {
    let mut dns = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
    for label in name {
        dns.push(u8::try_from(label.len()).unwrap());
        dns.extend_from_slice(label);
    }
    dns.extend_from_slice(&[0, 0, 1, 0, 1]);
    let udp_len = 8 + dns.len();
    let ip_len = 20 + udp_len;
    let mut ip = vec![
        0x45, 0, 0, 0, 0, 1, 0, 0, 64, 17, 0, 0, 192, 168, 1, 10, 8, 8, 8, 8,
    ];
    ip[2..4].copy_from_slice(&u16::try_from(ip_len).unwrap().to_be_bytes());
    let sum = ip
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], c[1]])))
        .sum::<u32>();
    let sum = !u16::try_from((sum & 0xffff) + (sum >> 16)).unwrap();
    ip[10..12].copy_from_slice(&sum.to_be_bytes());
    let mut frame = vec![0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x08, 0x00];
    frame.extend_from_slice(&ip);
    frame.extend_from_slice(&40000u16.to_be_bytes());
    frame.extend_from_slice(&53u16.to_be_bytes());
    frame.extend_from_slice(&u16::try_from(udp_len).unwrap().to_be_bytes());
    frame.extend_from_slice(&[0, 0]);
    frame.extend_from_slice(&dns);
    let mut pcap = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    pcap.extend_from_slice(&65535u32.to_le_bytes());
    pcap.extend_from_slice(&1u32.to_le_bytes());
    pcap.extend_from_slice(&1_700_000_000u32.to_le_bytes());
    pcap.extend_from_slice(&0u32.to_le_bytes());
    let len = u32::try_from(frame.len()).unwrap();
    pcap.extend_from_slice(&len.to_le_bytes());
    pcap.extend_from_slice(&len.to_le_bytes());
    pcap.extend_from_slice(&frame);
    pcap
}

#[test]
fn names_from_traffic_are_escaped_in_the_html_report() {
    let dir = tempdir("report-html");
    let capture = dir.join("hostile.pcap");
    std::fs::write(
        &capture,
        dns_query_pcap(&[b"<img src=x onerror=alert(1)>", b"evil", b"example"]),
    )
    .unwrap();
    let iocs = dir.join("iocs.txt");
    std::fs::write(&iocs, "evil.example\n").unwrap();
    let html = dir.join("report.html");
    run_ok(&[
        OsStr::new("analyze"),
        capture.as_os_str(),
        OsStr::new("--no-default-iocs"),
        OsStr::new("--iocs"),
        iocs.as_os_str(),
        OsStr::new("--report"),
        html.as_os_str(),
    ]);
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("evil.example"), "the alert is there");
    assert!(
        !page.contains("<img"),
        "markup from traffic must not survive"
    );
    assert!(page.contains("&lt;img"), "{page}");
    assert!(!page.contains("http://") && !page.contains("https://") && !page.contains("<script"));
    let verdict = page.find("class=\"verdict").unwrap();
    let first_card = page.find("<section").unwrap();
    assert!(verdict < first_card, "the verdict comes first");
}

/// A DNS response for `name` (one A record) in wire format, base64.
fn dns_response_b64(name: &str, addr: [u8; 4]) -> String {
    let mut m = vec![0xab, 0xcd, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0];
    for l in name.split('.') {
        m.push(u8::try_from(l.len()).unwrap());
        m.extend_from_slice(l.as_bytes());
    }
    m.extend_from_slice(&[0, 0, 1, 0, 1, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4]);
    m.extend_from_slice(&addr);
    const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in m.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(char::from(B64[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn dns_only_report(dir: &Path, log: &Path, extra: &[&OsStr]) -> Value {
    let iocs = dir.join("iocs.txt");
    std::fs::write(&iocs, "copy9.com\n203.0.113.0/24\n").unwrap();
    let mut args = vec![
        OsStr::new("--no-default-iocs"),
        OsStr::new("--iocs"),
        iocs.as_os_str(),
    ];
    args.extend_from_slice(extra);
    report(dir, log, &args)
}

#[test]
fn adguard_home_query_log() {
    let dir = tempdir("dns-adguard");
    let log = dir.join("querylog.json");
    // AdGuard Home's querylog.json: one object per line; T, QH, QT, QC, IP, Answer (base64).
    let lines = [
        format!(
            r#"{{"T":"2024-05-02T09:15:01.123456789+02:00","QH":"media-sync-a.copy9.com","QT":"A","QC":"IN","CP":"","Upstream":"https://dns10.quad9.net:443/dns-query","Answer":"{}","IP":"192.168.1.23","Result":{{}},"Elapsed":13442155}}"#,
            dns_response_b64("media-sync-a.copy9.com", [203, 0, 113, 9])
        ),
        r#"{"T":"2024-05-02T09:15:03+02:00","QH":"www.wikipedia.org","QT":"AAAA","QC":"IN","CP":"","IP":"192.168.1.30","Result":{},"Elapsed":1000}"#.to_string(),
    ];
    std::fs::write(&log, lines.join("\n") + "\n").unwrap();
    let r = dns_only_report(&dir, &log, &[]);
    assert_eq!(r["verdict"]["level"], "high");
    let hits = alerts(&r, "ioc.domain");
    assert_eq!(hits[0]["domain"], "media-sync-a.copy9.com");
    assert_eq!(
        hits[0]["ip"], "203.0.113.9",
        "the answer, read from the base64 response"
    );
    assert_eq!(hits[0]["first_seen"], "2024-05-02T07:15:01Z");
    assert!(r["limits"][0].as_str().unwrap().contains("DNS look-ups"));
    // Only the phone's queries, when asked.
    let r = dns_only_report(
        &dir,
        &log,
        &[OsStr::new("--dns-client"), OsStr::new("192.168.1.30")],
    );
    assert_eq!(r["verdict"]["level"], "none");
}

#[test]
fn nextdns_csv_export() {
    let dir = tempdir("dns-nextdns");
    let log = dir.join("nextdns.csv");
    std::fs::write(
        &log,
        "timestamp,domain,query_type,dnssec,protocol,client_ip,status,reasons,destination_country,root_domain,device_id,device_name,device_model,device_local_ip,matched_name,client_name\n\
         2024-05-02T07:15:01.123Z,api.copy9.com,A,false,DNS-over-HTTPS,198.51.100.4,default,,US,copy9.com,ABC123,Phone,,,,\n\
         2024-05-02T07:15:02.000Z,www.wikipedia.org,AAAA,false,DNS-over-HTTPS,198.51.100.4,default,,US,wikipedia.org,ABC123,Phone,,,,\n",
    )
    .unwrap();
    let r = dns_only_report(&dir, &log, &[]);
    assert_eq!(alerts(&r, "ioc.domain")[0]["domain"], "api.copy9.com");
    std::fs::write(&log, "timestamp,domain\nnot-a-time,x.com\n").unwrap();
    let o = run(&[OsStr::new("analyze"), log.as_os_str()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("line 2"));
}

#[test]
fn pihole_ftl_database() {
    let dir = tempdir("dns-pihole");
    let db = dir.join("pihole-FTL.db");
    {
        // Pi-hole FTL v5+: query_storage with ids, and the `queries` view over it.
        let c = rusqlite::Connection::open(&db).unwrap();
        c.execute_batch(
            "CREATE TABLE query_storage (id INTEGER PRIMARY KEY AUTOINCREMENT, timestamp INTEGER NOT NULL,
                 type INTEGER NOT NULL, status INTEGER NOT NULL, domain INTEGER NOT NULL,
                 client INTEGER NOT NULL, forward INTEGER, additional_info INTEGER,
                 reply_type INTEGER, reply_time REAL, dnssec INTEGER);
             CREATE TABLE domain_by_id (id INTEGER PRIMARY KEY, domain TEXT NOT NULL);
             CREATE TABLE client_by_id (id INTEGER PRIMARY KEY, ip TEXT NOT NULL, name TEXT);
             CREATE VIEW queries AS SELECT id, timestamp, type, status,
                 (SELECT domain FROM domain_by_id d WHERE d.id = q.domain) AS domain,
                 (SELECT ip FROM client_by_id c WHERE c.id = q.client) AS client
                 FROM query_storage q;
             INSERT INTO domain_by_id VALUES (1, 'cdn.copy9.com'), (2, 'example.org');
             INSERT INTO client_by_id VALUES (1, '192.168.1.23', 'phone');
             INSERT INTO query_storage (timestamp, type, status, domain, client)
                 VALUES (1714634101, 1, 2, 2, 1), (1714634102, 1, 2, 1, 1);",
        )
        .unwrap();
    }
    let r = dns_only_report(&dir, &db, &[]);
    let hits = alerts(&r, "ioc.domain");
    assert_eq!(hits[0]["domain"], "cdn.copy9.com");
    assert_eq!(hits[0]["first_seen"], "2024-05-02T07:15:02Z");
    // Any other SQLite file is refused with a reason.
    let other = dir.join("other.db");
    rusqlite::Connection::open(&other)
        .unwrap()
        .execute_batch("CREATE TABLE t (x)")
        .unwrap();
    let o = run(&[OsStr::new("analyze"), other.as_os_str()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not a Pi-hole FTL database"));
}

#[test]
fn the_device_name_or_ssid_in_clear_text_is_reported() {
    let dir = tempdir("report-identity");
    // get.pcap: `GET /download/CHANGES.bro-aux.txt` by `Wget/1.14 (darwin12.2.0)`.
    let capture = trace("http/get.pcap");
    let r = report(
        &dir,
        &capture,
        &[
            OsStr::new("--no-default-iocs"),
            OsStr::new("--device-name"),
            OsStr::new("Darwin12"),
            OsStr::new("--device-name"),
            OsStr::new("iphone"),
            OsStr::new("--ssid"),
            OsStr::new("bro-aux"),
        ],
    );
    let hits = alerts(&r, "cleartext_identity");
    assert_eq!(hits.len(), 2, "{hits:#?}");
    assert!(hits
        .iter()
        .all(|a| a["level"] == "moderate" && a["domain"] == "bro.org"));
    let text: Vec<&str> = hits
        .iter()
        .map(|a| a["description"].as_str().unwrap())
        .collect();
    assert!(text
        .iter()
        .any(|t| t.contains("device name `Darwin12`") && t.contains("header")));
    assert!(text
        .iter()
        .any(|t| t.contains("(SSID) `bro-aux`") && t.contains("URL")));
    assert!(
        !text.iter().any(|t| t.contains("iphone")),
        "generic names are not searched"
    );
}

#[test]
fn reports_speak_the_language_asked_for() {
    let dir = tempdir("report-lang");
    let iocs = dir.join("iocs.txt");
    std::fs::write(&iocs, "drivres-update.info\n").unwrap();
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/sample/sample.pcap");
    let html = dir.join("r.html");
    let r = report(
        &dir,
        &sample,
        &[
            OsStr::new("--iocs"),
            iocs.as_os_str(),
            OsStr::new("--lang"),
            OsStr::new("fr"),
            OsStr::new("--report"),
            html.as_os_str(),
        ],
    );
    assert_eq!(r["language"], "fr");
    assert!(r["verdict"]["summary"]
        .as_str()
        .unwrap()
        .starts_with("Votre téléphone"));
    let a = &alerts(&r, "ioc.domain")[0];
    assert!(a["description"]
        .as_str()
        .unwrap()
        .contains("a demandé `drivres-update.info` au DNS"));
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("<html lang=\"fr\">") && page.contains("Serveurs contactés"));
    let o = run(&[
        OsStr::new("analyze"),
        sample.as_os_str(),
        OsStr::new("--lang"),
        OsStr::new("xx"),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("available: en, fr, es, de, it, pt, ru"));
}

#[test]
fn the_example_configuration_is_valid_and_bad_keys_are_named() {
    let dir = tempdir("report-config");
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/tcheck.example.toml");
    let capture = trace("http/get.pcap");
    let r = report(
        &dir,
        &capture,
        &[
            OsStr::new("--no-default-iocs"),
            OsStr::new("--config"),
            example.as_os_str(),
        ],
    );
    assert_eq!(alerts(&r, "cleartext_http").len(), 1);
    let off = dir.join("off.toml");
    std::fs::write(&off, "[heuristics]\ndisabled = [\"cleartext_http\"]\n").unwrap();
    let r = report(
        &dir,
        &capture,
        &[
            OsStr::new("--no-default-iocs"),
            OsStr::new("--config"),
            off.as_os_str(),
        ],
    );
    assert!(alerts(&r, "cleartext_http").is_empty());
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "[heuristics]\nupload_ratio = \"high\"\n").unwrap();
    let o = run(&[
        OsStr::new("analyze"),
        capture.as_os_str(),
        OsStr::new("--config"),
        bad.as_os_str(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("bad.toml") && err.contains("upload_ratio"),
        "{err}"
    );
}
