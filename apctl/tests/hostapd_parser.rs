//! The generated hostapd configuration, read by hostapd's own parser.
//!
//! hostapd has no check-only switch; it parses the whole file before it touches a radio,
//! so on a machine without one it stops right after, and its messages tell whether the
//! file was accepted (see `hostapd::check_with_hostapd`). Skipped, saying so, where hostapd
//! is not installed, unless `TCHECK_REQUIRE_SYSTEM=1` (CI).

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::path::{Path, PathBuf};

use tcheck_apctl::hostapd::{check_with_hostapd, choose_channel, render, Verdict};
use tcheck_apctl::{ApConfig, Band, Credentials};

fn hostapd() -> Option<PathBuf> {
    let found = ["/usr/sbin/hostapd", "/sbin/hostapd", "/usr/bin/hostapd"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file());
    if found.is_none() {
        assert!(
            std::env::var("TCHECK_REQUIRE_SYSTEM").as_deref() != Ok("1"),
            "hostapd is not installed but TCHECK_REQUIRE_SYSTEM=1"
        );
        eprintln!("skipped: hostapd is not installed");
    }
    found
}

#[test]
fn hostapd_accepts_the_generated_configuration_in_both_bands() {
    let Some(hostapd) = hostapd() else { return };
    let dir = tempfile::tempdir().unwrap();
    for band in [Band::Ghz2_4, Band::Ghz5] {
        let config = ApConfig {
            interface: "tcheckwl9".into(),
            band,
            ..ApConfig::default()
        };
        let creds = Credentials::generate(&config.ssids).unwrap();
        let conf = render(
            &config,
            &creds,
            choose_channel(&config, Some(6)),
            Path::new("/run/tcheck/ap/hostapd"),
        )
        .unwrap();
        let path = dir.path().join("hostapd.conf");
        std::fs::write(&path, &conf).unwrap();
        assert_eq!(
            check_with_hostapd(&hostapd, &path).unwrap(),
            Verdict::Parsed,
            "{conf}"
        );
    }
}

#[test]
fn hostapd_refusals_are_reported_with_its_words() {
    let Some(hostapd) = hostapd() else { return };
    let dir = tempfile::tempdir().unwrap();
    let config = ApConfig::default();
    let creds = Credentials::generate(&config.ssids).unwrap();
    let mut conf = render(&config, &creds, 6, Path::new("/run/t")).unwrap();
    conf.push_str("rsn_pairwise=ROT13\n");
    let path = dir.path().join("bad.conf");
    std::fs::write(&path, conf).unwrap();
    match check_with_hostapd(&hostapd, &path).unwrap() {
        Verdict::Refused(lines) => {
            assert!(lines.iter().any(|l| l.starts_with("Line ")), "{lines:?}")
        }
        Verdict::Parsed => panic!("hostapd accepted an invalid cipher"),
    }
}
