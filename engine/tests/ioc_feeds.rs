//! The importers and matchers on the real feeds of `../shared/feeds` (TinyCheck, Echap, MVT).

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use tcheck_engine::ioc::import::{read, Format, Import};
use tcheck_engine::ioc::{IocKind, IocSet, Whitelist};

fn feeds() -> PathBuf {
    let shared = std::env::var("TCHECK_SHARED").map_or_else(
        |_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"),
        PathBuf::from,
    );
    shared.join("feeds")
}

fn import(rel: &str, tag: &str) -> Import {
    let path = feeds().join(rel);
    let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let format = Format::detect(rel, &data);
    read(format, rel, &data, tag).unwrap_or_else(|e| panic!("{e}"))
}

fn by_kind(i: &Import) -> BTreeMap<IocKind, usize> {
    let mut m = BTreeMap::new();
    for ioc in &i.iocs {
        *m.entry(ioc.kind).or_insert(0) += 1;
    }
    m
}

#[test]
fn tinycheck_feed_and_whitelist() {
    let iocs = import("tinycheck/iocs.json", "");
    let k = by_kind(&iocs);
    assert_eq!(k[&IocKind::Domain], 2110);
    assert_eq!(k[&IocKind::DynDns], 669);
    assert_eq!(k[&IocKind::Cidr], 349);
    assert_eq!(k[&IocKind::CertSha1], 132);
    assert_eq!(k[&IocKind::Ip], 36);
    assert_eq!(k[&IocKind::Tld], 23);
    assert_eq!(k[&IocKind::Nameserver], 20);
    assert_eq!(iocs.rules.len(), 81, "snort entries are kept as rules");
    let wl = import("tinycheck/whitelist.json", "");
    assert_eq!(wl.iocs.len(), 842 + 685 + 3 + 1);

    // The trap of TinyCheck's own data: its whitelist holds parents of its IOCs.
    let set = IocSet::new(iocs.iocs);
    let whitelist = Whitelist::new(wl.iocs);
    let shadowed: Vec<&str> = set
        .iocs()
        .iter()
        .filter(|i| i.kind == IocKind::Domain && whitelist.domain(&i.value).is_some())
        .map(|i| i.value.as_str())
        .collect();
    assert!(
        shadowed.contains(&"celular007.s3.amazonaws.com"),
        "{shadowed:?}"
    );
    for name in &shadowed {
        assert!(
            !set.match_domain(name).is_empty(),
            "{name}: the IOC still matches"
        );
    }
}

#[test]
fn echap_network_csv_and_its_tinycheck_export() {
    let csv = import("echap/network.csv", "stalkerware");
    let k = by_kind(&csv);
    assert_eq!(k[&IocKind::Domain], 967);
    assert_eq!(k[&IocKind::Ip], 65);
    assert_eq!(
        csv.skipped["url with a path"], 2,
        "GitHub repositories, not github.com"
    );
    let copy9 = csv.iocs.iter().find(|i| i.value == "copy9.com").unwrap();
    assert_eq!(copy9.app.as_deref(), Some("TheTruthSpy"));
    assert_eq!(copy9.tag, "stalkerware");
    let set = IocSet::new(csv.iocs);
    assert!(!set.match_domain("media-sync-a.copy9.com").is_empty());
    assert!(
        set.match_domain("xcopy9.com").is_empty(),
        "TinyCheck's plain suffix match was wrong"
    );
    let json = import("echap/indicators-for-tinycheck.json", "");
    assert!(json.iocs.len() > 1000, "{}", json.iocs.len());
    assert!(json.iocs.iter().all(|i| i.tag == "stalkerware"));
    let hosts = import("echap/hosts", "stalkerware");
    assert!(hosts.iocs.len() > 900, "{}", hosts.iocs.len());
}

#[test]
fn mvt_stix_bundles() {
    let mut total = BTreeMap::new();
    let mut skipped: BTreeMap<String, usize> = BTreeMap::new();
    for f in ["rcs", "eaglemsgspy", "operation_triangulation"] {
        let i = import(&format!("mvt/{f}.stix2"), "");
        for (k, v) in by_kind(&i) {
            *total.entry(k).or_insert(0) += v;
        }
        for (k, v) in i.skipped {
            *skipped.entry(k).or_insert(0) += v;
        }
        if f == "rcs" {
            assert!(i.iocs.iter().all(|i| i.app.as_deref() == Some("RCSLab")));
            assert!(i.iocs.iter().all(|i| i.tag == "malicious-activity"));
        }
    }
    assert_eq!(total[&IocKind::Domain], 114);
    assert_eq!(total[&IocKind::Ip], 13);
    assert_eq!(skipped["email-addr"], 36);
    assert_eq!(skipped["file"], 34);
}

#[test]
fn malformed_files_are_refused_with_the_place() {
    let e = read(
        Format::TinyCheck,
        "f.json",
        b"{\"iocs\": [{\"type\": \"domain\"",
        "",
    )
    .unwrap_err();
    assert!(e.at.starts_with("line 1, column"), "{e}");
    let e = read(
        Format::TinyCheck,
        "f.json",
        br#"{"iocs": [{"type": "domain", "value": "ok.com"}, {"type": "ip4addr", "value": "1.2.3"}]}"#,
        "",
    )
    .unwrap_err();
    assert_eq!(e.at, "iocs[1]");
    let e = read(
        Format::EchapCsv,
        "n.csv",
        b"type,indicator,app\ndomain,a.com,X\ndomain,b c,Y\n",
        "",
    )
    .unwrap_err();
    assert_eq!(e.at, "line 3", "{e}");
    let e = read(
        Format::Text,
        "t.txt",
        b"# list\nevil[.]com # c2\n\nnot a thing\n",
        "",
    )
    .unwrap_err();
    assert_eq!(e.at, "line 4", "{e}");
    let ok = read(
        Format::Text,
        "t.txt",
        b"# list\nevil[.]com # c2\n10.0.0.0/8\n",
        "",
    )
    .unwrap();
    assert_eq!(ok.iocs.len(), 2);
    assert_eq!(ok.iocs[0].value, "evil.com");
}

#[test]
fn misp_event_network_attributes() {
    let ev = br#"{"Event": {"info": "Campaign X", "Tag": [{"name": "spyware"}],
        "Attribute": [{"type": "domain", "value": "c2.example"},
                      {"type": "ip-dst", "value": "192.0.2.1"},
                      {"type": "md5", "value": "d41d8cd98f00b204e9800998ecf8427e"},
                      {"type": "domain|ip", "value": "x.example|192.0.2.2"}],
        "Object": [{"Attribute": [{"type": "url", "value": "https://y.example/"},
                                  {"type": "url", "value": "https://github.com/a/b"}]}]}}"#;
    let i = read(Format::detect("e.json", ev), "e.json", ev, "").unwrap();
    let values: Vec<&str> = i.iocs.iter().map(|i| i.value.as_str()).collect();
    assert_eq!(
        values,
        [
            "c2.example",
            "192.0.2.1",
            "x.example",
            "192.0.2.2",
            "y.example"
        ]
    );
    assert!(i
        .iocs
        .iter()
        .all(|i| i.app.as_deref() == Some("Campaign X") && i.tag == "spyware"));
    assert_eq!(i.skipped["md5"], 1);
    assert_eq!(i.skipped["url with a path"], 1, "never github.com itself");
}
