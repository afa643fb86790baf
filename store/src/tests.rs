#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use super::*;
use tcheck_engine::ioc::import::{read, Format};

fn feed(json: &str) -> Import {
    read(Format::TinyCheck, "feed.json", json.as_bytes(), "").unwrap()
}

#[test]
fn a_new_database_is_migrated_and_reopens() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    {
        let mut s = Store::open(&path).unwrap();
        assert_eq!(s.version().unwrap(), 2);
        assert!(s.is_empty().unwrap());
        s.add(IocKind::Domain, "Spy.example", "stalkerware", Some("X"))
            .unwrap();
    }
    let s = Store::open(&path).unwrap();
    let all = s.iocs(None, None, None).unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].value, "spy.example");
    assert_eq!(all[0].app.as_deref(), Some("X"));
    // A database from a newer tcheck is refused, not damaged.
    s.conn.execute_batch("PRAGMA user_version = 99").unwrap();
    drop(s);
    assert!(matches!(
        Store::open(&path),
        Err(Error::TooNew { found: 99, .. })
    ));
}

#[test]
fn imports_add_update_and_delete_in_one_transaction() {
    let mut s = Store::in_memory().unwrap();
    let first = feed(
        r#"{"iocs": [{"type": "domain", "tag": "tracker", "tlp": "white", "value": "a.example"},
                     {"type": "ip4addr", "tag": "stalkerware", "tlp": "white", "value": "192.0.2.1"},
                     {"type": "snort", "tag": "spyware", "value": "alert ip any any -> 192.0.2.1 any (sid:1;)"}]}"#,
    );
    let st = s.import("feed", &first, false).unwrap();
    assert_eq!((st.added, st.updated, st.deleted, st.rules), (2, 0, 0, 1));
    let second = feed(
        r#"{"iocs": [{"type": "domain", "tag": "stalkerware", "tlp": "white", "value": "a.example"}],
            "to_delete": [{"value": "192.0.2.1"}]}"#,
    );
    let st = s.import("feed", &second, false).unwrap();
    assert_eq!((st.added, st.updated, st.deleted), (0, 1, 1));
    let all = s.iocs(None, None, None).unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].tag, "stalkerware", "the tag is refreshed");
    assert_eq!(s.rules().unwrap().len(), 1);
}

#[test]
fn a_failing_import_changes_nothing() {
    let mut s = Store::in_memory().unwrap();
    s.add(IocKind::Domain, "keep.example", "", None).unwrap();
    // Make every insert of `late.example` fail midway through the transaction.
    s.conn
        .execute_batch(
            "CREATE TRIGGER refuse BEFORE INSERT ON iocs WHEN NEW.value = 'late.example'
             BEGIN SELECT RAISE(ABORT, 'refused'); END;",
        )
        .unwrap();
    let import = feed(
        r#"{"iocs": [{"type": "domain", "tag": "", "value": "early.example"},
                     {"type": "domain", "tag": "", "value": "late.example"}],
            "to_delete": [{"value": "keep.example"}]}"#,
    );
    assert!(s.import("manual", &import, false).is_err());
    let values: Vec<String> = s
        .iocs(None, None, None)
        .unwrap()
        .into_iter()
        .map(|i| i.value)
        .collect();
    assert_eq!(values, ["keep.example"]);
}

#[test]
fn whitelist_feeds_and_analyses() {
    let mut s = Store::in_memory().unwrap();
    s.whitelist_add(IocKind::Domain, "Example.org").unwrap();
    s.whitelist_add(IocKind::Cidr, "10.1.2.3/8").unwrap();
    let w: Vec<String> = s
        .whitelist()
        .unwrap()
        .into_iter()
        .map(|i| i.value)
        .collect();
    assert_eq!(w, ["example.org", "10.0.0.0/8"]);
    assert_eq!(
        s.whitelist_remove(IocKind::Domain, "example.org").unwrap(),
        1
    );
    s.feed_add("echap", "https://example.invalid/network.csv", false)
        .unwrap();
    s.feed_fetched("echap", Err("HTTP 500".into())).unwrap();
    let f = &s.feeds().unwrap()[0];
    assert_eq!(f.last_error.as_deref(), Some("HTTP 500"));
    s.feed_fetched("echap", Ok((Some("\"v1\"".into()), None)))
        .unwrap();
    let f = &s.feeds().unwrap()[0];
    assert!(f.last_error.is_none() && f.last_fetch.is_some());
    let id = s
        .save_analysis("c.pcap", "00", "high", "{\"a\":1}")
        .unwrap();
    assert_eq!(s.analysis(id).unwrap().as_deref(), Some("{\"a\":1}"));
    assert!(s.add(IocKind::Ip, "not an ip", "", None).is_err());
}

#[test]
fn accounts_keep_hashes_and_analyses_list_newest_first() {
    let mut s = Store::in_memory().unwrap();
    assert!(s.accounts().unwrap().is_empty());
    s.account_set("admin", "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA")
        .unwrap();
    s.account_set("admin", "$argon2id$v=19$m=19456,t=2,p=1$c2FsdDI$aGFzaDI")
        .unwrap();
    assert_eq!(s.accounts().unwrap(), vec!["admin".to_string()]);
    assert!(s
        .account_hash("admin")
        .unwrap()
        .unwrap()
        .contains("c2FsdDI"));
    assert_eq!(s.account_hash("nobody").unwrap(), None);
    s.save_analysis("a.pcap", "00", "low", "{}").unwrap();
    let second = s.save_analysis("b.pcap", "11", "high", "{}").unwrap();
    let list = s.analyses(10).unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(
        (list[0].0, list[0].2.as_str(), list[0].3.as_str()),
        (second, "b.pcap", "high")
    );
}

#[test]
fn backup_restores_and_a_damaged_file_is_refused_without_loss() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mut live = Store::open(&dir.join("live.db")).unwrap();
    live.add(IocKind::Domain, "kept.example", "stalkerware", None)
        .unwrap();
    live.account_set("admin", "$argon2id$x").unwrap();
    let copy = dir.join("copy.db");
    live.backup_to(&copy).unwrap();
    assert!(
        live.backup_to(&copy).is_err(),
        "an existing file is not overwritten"
    );
    let summary = Store::check_file(&copy).unwrap();
    assert_eq!((summary.iocs, summary.accounts), (1, 1));

    live.add(IocKind::Domain, "later.example", "", None)
        .unwrap();
    assert_eq!(live.iocs(None, None, None).unwrap().len(), 2);
    // Not a database, a truncated one: refused, and the live database is unchanged.
    let junk = dir.join("junk.db");
    std::fs::write(&junk, b"this is not sqlite").unwrap();
    assert!(live.restore_from(&junk).is_err());
    let bytes = std::fs::read(&copy).unwrap();
    let cut = dir.join("cut.db");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    assert!(live.restore_from(&cut).is_err());
    assert_eq!(live.iocs(None, None, None).unwrap().len(), 2);

    live.restore_from(&copy).unwrap();
    let values: Vec<String> = live
        .iocs(None, None, None)
        .unwrap()
        .into_iter()
        .map(|i| i.value)
        .collect();
    assert_eq!(values, vec!["kept.example".to_string()]);
    // Another connection sees the restored content.
    let other = Store::open(&dir.join("live.db")).unwrap();
    assert_eq!(other.iocs(None, None, None).unwrap().len(), 1);
}
