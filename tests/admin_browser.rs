//! The admin backend in a real browser (Chromium through chromedriver, as in
//! `kiosk_browser.rs`), over HTTPS with a certificate made by `tcheck admin cert`: a wrong
//! password, the login, an indicator file imported by upload, a whitelist entry added and
//! removed, a configuration change refused for an invalid value (the file untouched), and a
//! page of another origin posting to the API (refused).
//!
//! Skipped, saying so, without chromium and chromedriver, unless `TCHECK_REQUIRE_SYSTEM=1`.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use common::browser::{available, browser, chromedriver, click, screenshot, visible, Killed};

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};

fn tcheck(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tcheck"));
    c.env("TCHECK_DB", dir.join("tcheck.db"))
        .env("XDG_DATA_HOME", dir.join("xdg"));
    c
}

/// Sets the admin account's password with `tcheck admin passwd` (as the installer does).
fn set_password(dir: &Path, password: &str) {
    let mut passwd = tcheck(dir)
        .args(["admin", "passwd", "admin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    passwd
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{password}\n").as_bytes())
        .unwrap();
    assert!(passwd.wait().unwrap().success());
}

async fn text_becomes(c: &Client, css: &str, want: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let t = c
            .find(Locator::Css(css))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if t.contains(want) {
            return t;
        }
        assert!(
            Instant::now() < deadline,
            "{css}: {t:?} never contained {want:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn fill(c: &Client, css: &str, value: &str) {
    let e = c.find(Locator::Css(css)).await.unwrap();
    e.clear().await.unwrap();
    e.send_keys(value).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_login_import_whitelist_config_and_csrf_in_chromium() {
    if !available() {
        return;
    }
    let dir = common::tempdir("admin-browser");
    // The installer's steps: an account (no default password) and a certificate.
    set_password(&dir, "correct horse battery");
    let (cert, key) = (dir.join("admin.pem"), dir.join("admin.key"));
    let o = tcheck(&dir)
        .args(["admin", "cert", "--cert"])
        .arg(&cert)
        .arg("--key")
        .arg(&key)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let config = dir.join("tcheck.toml");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/tcheck.example.toml"),
        &config,
    )
    .unwrap();
    let config_before = std::fs::read_to_string(&config).unwrap();

    let mut server = tcheck(&dir)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--admin-listen",
            "127.0.0.1:0",
            "--tls-cert",
        ])
        .arg(&cert)
        .arg("--tls-key")
        .arg(&key)
        .arg("--config")
        .arg(&config)
        .arg("--data")
        .arg(dir.join("checks"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(server.stdout.take().unwrap());
    let mut lines = String::new();
    out.read_line(&mut lines).unwrap();
    out.read_line(&mut lines).unwrap();
    let _server = Killed(server);
    let admin = lines
        .lines()
        .find(|l| l.contains("admin backend"))
        .and_then(|l| l.rsplit(' ').next())
        .unwrap()
        .trim_end_matches("/admin")
        .to_string();
    assert!(admin.starts_with("https://127.0.0.1:"), "{lines}");

    let (_driver, port) = chromedriver();
    // The certificate is self-signed, as on the box.
    let c = browser(
        port,
        &dir.join("profile"),
        1000,
        700,
        &["--ignore-certificate-errors"],
    )
    .await;

    // A wrong password, then the right one.
    c.goto(&format!("{admin}/admin")).await.unwrap();
    visible(&c, "#login-form").await;
    fill(&c, "#login-user", "admin").await;
    fill(&c, "#login-password", "not the password").await;
    click(&c, "#login-submit").await;
    text_becomes(&c, "#login-error", "wrong name or password").await;
    fill(&c, "#login-password", "correct horse battery").await;
    click(&c, "#login-submit").await;
    visible(&c, "#main-view").await;
    text_becomes(&c, "#who", "admin").await;
    text_becomes(&c, "#ioc-count", " of ").await;
    screenshot(&c, "admin-1-indicators").await;

    // An indicator file imported by upload (Echap's CSV format).
    let upload = dir.join("stalkers.csv");
    std::fs::write(
        &upload,
        "type,indicator,app\ndomain,uploaded-stalker.example,TestSpy\n",
    )
    .unwrap();
    let file_input = c.find(Locator::Css("#import-file")).await.unwrap();
    file_input
        .send_keys(upload.to_str().unwrap())
        .await
        .unwrap();
    fill(&c, "#import-tag", "stalkerware").await;
    click(&c, "#import-submit").await;
    text_becomes(&c, "#message", "stalkers.csv: 1 added").await;
    fill(&c, "#ioc-q", "uploaded-stalker").await;
    click(&c, "#ioc-search button").await;
    let rows = text_becomes(&c, "#ioc-rows", "uploaded-stalker.example").await;
    assert!(
        rows.contains("TestSpy") && rows.contains("stalkerware"),
        "{rows}"
    );

    // A whitelist entry added, then removed.
    click(&c, "button.tab[data-tab=whitelist]").await;
    visible(&c, "#white-add").await;
    fill(&c, "#white-value", "allowed.example").await;
    click(&c, "#white-submit").await;
    text_becomes(&c, "#white-rows", "allowed.example").await;
    screenshot(&c, "admin-2-whitelist").await;
    let row = c
        .find(Locator::XPath(
            "//tbody[@id='white-rows']/tr[td[text()='allowed.example']]//button",
        ))
        .await
        .unwrap();
    row.click().await.unwrap();
    text_becomes(&c, "#message", "Removed allowed.example").await;
    // The list reloads after the message: wait for the row to go.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let rows = c
            .find(Locator::Css("#white-rows"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if !rows.contains("allowed.example") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the whitelist entry stayed: {rows}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A configuration change with an invalid value: refused with the reason, file untouched.
    click(&c, "button.tab[data-tab=config]").await;
    visible(&c, "#config-text").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while c
        .find(Locator::Css("#config-text"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default()
        .is_empty()
    {
        assert!(Instant::now() < deadline, "the configuration never loaded");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    fill(
        &c,
        "#config-text",
        "[heuristics]\nbeacon_min_connections = -3\n",
    )
    .await;
    click(&c, "#config-save").await;
    let msg = text_becomes(&c, "#message", "Not saved").await;
    assert!(
        msg.contains("beacon_min_connections") || msg.contains("invalid value"),
        "{msg}"
    );
    screenshot(&c, "admin-3-config-refused").await;
    assert_eq!(std::fs::read_to_string(&config).unwrap(), config_before);
    // A valid change goes through.
    fill(
        &c,
        "#config-text",
        "[heuristics]\nbeacon_min_connections = 12\n",
    )
    .await;
    click(&c, "#config-save").await;
    text_becomes(&c, "#message", "Configuration saved").await;
    assert!(std::fs::read_to_string(&config)
        .unwrap()
        .contains("beacon_min_connections = 12"));

    // A page of another origin, in the same browser (the admin is logged in), posts to the
    // API: refused, and nothing is added.
    let form = format!(
        "data:text/html,<form method=post action='{admin}/api/v1/iocs'><input name=kind value=domain><input name=value value=csrf.example></form><script>document.forms[0].submit()</script>"
    );
    c.goto(&form).await.unwrap();
    tokio::time::sleep(Duration::from_millis(800)).await;
    let body = c.source().await.unwrap();
    assert!(
        body.contains("cross-site") || body.contains("log in first"),
        "{body}"
    );
    c.goto(&format!("{admin}/admin")).await.unwrap();
    visible(&c, "#main-view").await;
    fill(&c, "#ioc-q", "csrf.example").await;
    click(&c, "#ioc-search button").await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let count = c
            .find(Locator::Css("#ioc-count"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if count.starts_with("0 of ") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the cross-origin post added something: {count}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A feed, served from this machine, added and fetched now.
    let feed_dir = dir.join("feed");
    std::fs::create_dir_all(&feed_dir).unwrap();
    std::fs::write(feed_dir.join("list.txt"), "feed-domain.example\n").unwrap();
    let feed_port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let _feed_server = Killed(
        Command::new("python3")
            .args([
                "-m",
                "http.server",
                "--bind",
                "127.0.0.1",
                &feed_port.to_string(),
                "--directory",
            ])
            .arg(&feed_dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", feed_port)).is_err() {
        assert!(Instant::now() < deadline, "the feed server did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    click(&c, "button.tab[data-tab=feeds]").await;
    visible(&c, "#feed-add").await;
    fill(&c, "#feed-name", "local").await;
    fill(
        &c,
        "#feed-url",
        &format!("http://127.0.0.1:{feed_port}/list.txt"),
    )
    .await;
    click(&c, "#feed-submit").await;
    text_becomes(&c, "#feed-rows", "local").await;
    click(&c, "#feed-update").await;
    text_becomes(&c, "#message", "local: 1 entries").await;
    screenshot(&c, "admin-4-feeds").await;
    click(&c, "button.tab[data-tab=iocs]").await;
    fill(&c, "#ioc-q", "feed-domain").await;
    click(&c, "#ioc-search button").await;
    text_becomes(&c, "#ioc-rows", "feed-domain.example").await;

    // A restore from a file that is not a backup: refused, nothing lost.
    let junk = dir.join("junk.db");
    std::fs::write(&junk, b"SQLite format 3\0 but not really").unwrap();
    click(&c, "button.tab[data-tab=database]").await;
    visible(&c, "#restore-form").await;
    c.find(Locator::Css("#restore-file"))
        .await
        .unwrap()
        .send_keys(junk.to_str().unwrap())
        .await
        .unwrap();
    click(&c, "#restore-submit").await;
    text_becomes(&c, "#message", "not restored").await;
    click(&c, "button.tab[data-tab=iocs]").await;
    fill(&c, "#ioc-q", "uploaded-stalker").await;
    click(&c, "#ioc-search button").await;
    text_becomes(&c, "#ioc-rows", "uploaded-stalker.example").await;

    // A past analysis (stored by `tcheck analyze` in the same database) with its report:
    // verdict, device, alerts, connections, and the JSON to download.
    let o = tcheck(&dir)
        .arg("analyze")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/sample/sample.pcap"))
        .arg("--iocs")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/sample/indicators.txt"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    click(&c, "button.tab[data-tab=analyses]").await;
    text_becomes(&c, "#analysis-rows", "sample.pcap").await;
    c.find(Locator::Css("#analysis-rows tr"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    visible(&c, "#analysis-report").await;
    text_becomes(&c, "#analysis-alerts", "drivres-update.info").await;
    text_becomes(&c, "#analysis-connections", "bro.org").await;
    text_becomes(&c, "#analysis-device", "public-ea8367e7").await;
    let href = c
        .find(Locator::Css("#analysis-json"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap()
        .unwrap_or_default();
    assert!(href.starts_with("/api/v1/analyses/"), "{href}");
    screenshot(&c, "admin-analysis").await;

    // Logging out ends the session.
    click(&c, "#logout").await;
    visible(&c, "#login-form").await;
    c.close().await.unwrap();
}

/// Backup and restore through the API (curl, as a script would): the backup is a SQLite
/// database that restores; a backup without an account is refused; a password changed from
/// the command line logs the open session out.
#[test]
fn admin_backup_downloads_and_restores() {
    if !Path::new("/usr/bin/curl").is_file() {
        eprintln!("skipped: no curl");
        return;
    }
    let dir = common::tempdir("admin-backup");
    set_password(&dir, "correct horse battery");
    let (cert, key) = (dir.join("a.pem"), dir.join("a.key"));
    assert!(tcheck(&dir)
        .args(["admin", "cert", "--cert"])
        .arg(&cert)
        .arg("--key")
        .arg(&key)
        .status()
        .unwrap()
        .success());
    let config = dir.join("tcheck.toml");
    std::fs::write(&config, "[kiosk]\nmax_minutes = 30\n").unwrap();
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o640)).unwrap();
    let mut server = tcheck(&dir)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--admin-listen",
            "127.0.0.1:0",
            "--tls-cert",
        ])
        .arg(&cert)
        .arg("--tls-key")
        .arg(&key)
        .arg("--data")
        .arg(dir.join("checks"))
        .arg("--config")
        .arg(&config)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(server.stdout.take().unwrap());
    let mut lines = String::new();
    out.read_line(&mut lines).unwrap();
    out.read_line(&mut lines).unwrap();
    let _server = Killed(server);
    let base = lines
        .lines()
        .find(|l| l.contains("admin backend"))
        .and_then(|l| l.rsplit(' ').next())
        .unwrap()
        .trim_end_matches("/admin")
        .to_string();
    let jar = dir.join("jar");
    // `save`: write the cookies back to the jar. Requests running at once must not: each curl
    // rewrites the jar as it exits, and another one starting meanwhile reads it half written.
    let curl_jar = |save: bool, args: &[&str]| -> (String, String) {
        let jar = jar.to_str().unwrap();
        let mut cmd = Command::new("curl");
        cmd.args(["-sk", "-b", jar, "-w", "\n%{http_code}"]);
        if save {
            cmd.args(["-c", jar]);
        }
        let o = cmd.args(args).output().unwrap();
        let text = String::from_utf8_lossy(&o.stdout).into_owned();
        let (body, code) = text.rsplit_once('\n').unwrap();
        (body.to_string(), code.to_string())
    };
    let curl = |args: &[&str]| curl_jar(true, args);
    let (body, code) = curl(&[
        "-H",
        "Content-Type: application/json",
        "-d",
        r#"{"user":"admin","password":"correct horse battery"}"#,
        &format!("{base}/api/v1/login"),
    ]);
    assert_eq!(code, "200", "{body}");
    let csrf = serde_json::from_str::<serde_json::Value>(&body).unwrap()["csrf"]
        .as_str()
        .unwrap()
        .to_string();
    let backup = dir.join("backup.db");
    let (_, code) = curl(&[
        "-o",
        backup.to_str().unwrap(),
        &format!("{base}/api/v1/backup"),
    ]);
    assert_eq!(code, "200");
    assert!(std::fs::read(&backup)
        .unwrap()
        .starts_with(b"SQLite format 3\0"));
    let (body, code) = curl(&[
        "-H",
        &format!("X-CSRF-Token: {csrf}"),
        "--data-binary",
        &format!("@{}", backup.display()),
        &format!("{base}/api/v1/restore"),
    ]);
    assert_eq!(code, "200", "{body}");
    assert!(body.contains("\"accounts\":1"), "{body}");
    // Without the CSRF token: refused.
    let (_, code) = curl(&[
        "--data-binary",
        &format!("@{}", backup.display()),
        &format!("{base}/api/v1/restore"),
    ]);
    assert_eq!(code, "403");
    // A backup without an admin account would lock everyone out: refused.
    let empty = dir.join("empty.db");
    tcheck_store_like_empty(&empty);
    let (body, code) = curl(&[
        "-H",
        &format!("X-CSRF-Token: {csrf}"),
        "--data-binary",
        &format!("@{}", empty.display()),
        &format!("{base}/api/v1/restore"),
    ]);
    assert_eq!(code, "400", "{body}");
    assert!(body.contains("lock you out"), "{body}");

    // The password changed from the command line ends the sessions opened with the old one.
    let (_, code) = curl(&[&format!("{base}/api/v1/analyses")]);
    assert_eq!(code, "200");
    set_password(&dir, "a new and longer passphrase");
    let (body, code) = curl(&[&format!("{base}/api/v1/analyses")]);
    assert_eq!(code, "401", "{body}");
    assert!(body.contains("password has changed"), "{body}");
    let (body, code) = curl(&[
        "-H",
        "Content-Type: application/json",
        "-d",
        r#"{"user":"admin","password":"a new and longer passphrase"}"#,
        &format!("{base}/api/v1/login"),
    ]);
    assert_eq!(code, "200", "{body}");
    let (_, code) = curl(&[&format!("{base}/api/v1/analyses")]);
    assert_eq!(code, "200");

    // Eight configuration changes at once: the file ends as one of them, whole, with its
    // permissions, and no temporary file is left.
    let csrf = serde_json::from_str::<serde_json::Value>(&body).unwrap()["csrf"]
        .as_str()
        .unwrap()
        .to_string();
    let texts: Vec<String> = (1..=8)
        .map(|m| format!("[kiosk]\nmax_minutes = {m}\n"))
        .collect();
    std::thread::scope(|scope| {
        for text in &texts {
            let (curl_jar, csrf, base) = (&curl_jar, &csrf, &base);
            scope.spawn(move || {
                let (body, code) = curl_jar(
                    false,
                    &[
                        "-X",
                        "PUT",
                        "-H",
                        "Content-Type: application/json",
                        "-H",
                        &format!("X-CSRF-Token: {csrf}"),
                        "-d",
                        &serde_json::json!({ "text": text }).to_string(),
                        &format!("{base}/api/v1/config"),
                    ],
                );
                assert_eq!(code, "200", "{body}");
            });
        }
    });
    let now = std::fs::read_to_string(&config).unwrap();
    assert!(texts.contains(&now), "{now:?}");
    let mode = std::fs::metadata(&config).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640);
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// A valid tcheck database without accounts, made by the binary itself.
fn tcheck_store_like_empty(path: &Path) {
    let o = Command::new(env!("CARGO_BIN_EXE_tcheck"))
        .args(["iocs", "add", "domain", "x.example", "--db"])
        .arg(path)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}
