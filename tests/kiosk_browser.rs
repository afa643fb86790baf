//! The kiosk in a real browser: Debian's Chromium driven through chromedriver (WebDriver,
//! with fantoccini), against `tcheck serve` replaying the bundled sample capture. The whole
//! flow from "Check a phone" to the report naming the detections, the confirmation before
//! a new check, another language, and a cross-origin form that tries to start a check.
//! Each screen is saved at 800×480 in `target/tmp/kiosk-screens/`.
//!
//! Skipped, saying so, without chromium and chromedriver, unless `TCHECK_REQUIRE_SYSTEM=1`.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use common::browser::{available, browser, chromedriver, click, screenshot, text, visible, Killed};

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::Locator;

fn repo(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
}

/// `tcheck serve` replaying the sample capture; returns it and its address.
fn serve(dir: &Path) -> (Killed, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tcheck"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--replay-speed",
            "20",
            "--no-default-iocs",
        ])
        .arg("--replay")
        .arg(repo("fixtures/sample/sample.pcap"))
        .arg("--iocs")
        .arg(repo("fixtures/sample/indicators.txt"))
        .arg("--data")
        .arg(dir.join("checks"))
        .arg("--spool")
        .arg(dir.join("spool"))
        .env("XDG_DATA_HOME", dir.join("xdg"))
        .env_remove("TCHECK_DB")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .rsplit(' ')
        .next()
        .unwrap()
        .trim_end_matches('/')
        .to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{line}");
    (Killed(child), url)
}

fn phase(url: &str) -> String {
    let body = Command::new("curl")
        .args(["-s", &format!("{url}/api/v1/check")])
        .output()
        .unwrap()
        .stdout;
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    v["phase"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kiosk_flow_in_chromium_from_start_to_report() {
    if !available() {
        return;
    }
    let dir = common::tempdir("kiosk-browser");
    let (_server, url) = serve(&dir);
    let (_driver, port) = chromedriver();
    let c = browser(port, &dir.join("profile"), 800, 480, &[]).await;

    // 1. Home: one button.
    c.goto(&format!("{url}/")).await.unwrap();
    visible(&c, "#start").await;
    assert_eq!(text(&c, "#start").await, "Check a phone");
    screenshot(&c, "1-home").await;

    // 2. Join: the network's name and password, large, and the QR code.
    click(&c, "#start").await;
    visible(&c, "#screen-joining").await;
    let ssid = text(&c, "#ssid").await;
    let password = text(&c, "#password").await;
    assert!(
        ssid.starts_with("Wi-Fi-") && password.len() >= 12,
        "{ssid} {password}"
    );
    visible(&c, "#qr").await;
    screenshot(&c, "2-join").await;

    // 3. Capture: the detections appear while it runs, with the names contacted.
    visible(&c, "#screen-capturing").await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let found = c
            .find_all(Locator::Css("#detections li"))
            .await
            .unwrap()
            .len();
        if found >= 2 {
            break;
        }
        assert!(Instant::now() < deadline, "no live detection");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let live = text(&c, "#detections").await;
    assert!(
        live.contains("drivres-update.info") && live.contains("softupdates.info"),
        "{live}"
    );
    assert!(!text(&c, "#names").await.is_empty());
    assert_ne!(text(&c, "#packets").await, "0");
    screenshot(&c, "3-capture").await;

    // 4. Report: the verdict in one sentence, the alerts naming the detections.
    click(&c, "#stop").await;
    visible(&c, "#screen-report").await;
    let verdict = text(&c, "#verdict").await;
    assert!(verdict.contains("stalkerware"), "{verdict}");
    let alerts = text(&c, "#alerts").await;
    assert!(
        alerts.contains("drivres-update.info") && alerts.contains("softupdates.info"),
        "{alerts}"
    );
    let save = c.find(Locator::Css("#save")).await.unwrap();
    assert_eq!(
        save.attr("href").await.unwrap().as_deref(),
        Some("/api/v1/check/report.html")
    );
    screenshot(&c, "4-report").await;
    // The check's logs (Zeek-style, EVE) are on the box, for the saved archive.
    let logs_dirs = |dir: &Path| -> Vec<std::path::PathBuf> {
        std::fs::read_dir(dir.join("checks"))
            .map(|r| {
                r.flatten()
                    .map(|e| e.path())
                    .filter(|p| {
                        p.file_name()
                            .is_some_and(|n| n.to_string_lossy().starts_with("logs-"))
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let logs = logs_dirs(&dir);
    assert_eq!(logs.len(), 1, "{logs:?}");
    for name in ["conn.log", "dns.log", "eve.json"] {
        assert!(
            logs[0].join(name).is_file(),
            "no {name} in {}",
            logs[0].display()
        );
    }

    // The spool holds the check's EVE and its report, complete, for a shipper.
    let spool = dir.join("spool");
    let files: Vec<String> = std::fs::read_dir(&spool)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    let eve = files
        .iter()
        .find(|f| f.ends_with(".eve.json"))
        .expect("EVE in the spool");
    let rep = files
        .iter()
        .find(|f| f.ends_with(".report.json"))
        .expect("report in the spool");
    assert!(!files.iter().any(|f| f.ends_with(".part")), "{files:?}");
    let eve = std::fs::read_to_string(spool.join(eve)).unwrap();
    assert!(
        eve.lines().any(|l| l.contains("\"event_type\":\"dns\"")),
        "{eve}"
    );
    let rep = std::fs::read_to_string(spool.join(rep)).unwrap();
    assert_eq!(rep.lines().count(), 1);
    assert!(rep.contains("drivres-update.info"));

    // Saving to a USB key asks for an optional passphrase; with no key plugged in (no
    // removable disk here) it says to plug one in.
    click(&c, "#save-usb").await;
    visible(&c, "#usb").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while !text(&c, "#usb-result")
        .await
        .contains("Plug in a USB key first")
    {
        assert!(
            Instant::now() < deadline,
            "{}",
            text(&c, "#usb-result").await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    screenshot(&c, "4b-save-usb").await;
    click(&c, "#usb-cancel").await;

    // 5. New check: confirmed first, then back home.
    click(&c, "#new").await;
    visible(&c, "#confirm").await;
    screenshot(&c, "5-confirm-new").await;
    click(&c, "#confirm-yes").await;
    visible(&c, "#screen-idle").await;
    assert_eq!(phase(&url), "idle");
    assert!(logs_dirs(&dir).is_empty(), "a new check left the logs");

    // Another language.
    c.goto(&format!("{url}/?lang=fr")).await.unwrap();
    visible(&c, "#start").await;
    assert_eq!(text(&c, "#start").await, "Vérifier un téléphone");
    screenshot(&c, "6-home-fr").await;

    // A page of another origin posts a form to start a check: refused.
    let form = format!(
        "data:text/html,<form method=post action='{url}/api/v1/capture/start'></form><script>document.forms[0].submit()</script>"
    );
    c.goto(&form).await.unwrap();
    tokio::time::sleep(Duration::from_millis(800)).await;
    let body = c.source().await.unwrap();
    assert!(
        body.contains("missing or wrong page token") || body.contains("cross-site"),
        "{body}"
    );
    assert_eq!(phase(&url), "idle", "a cross-origin form started a check");
    c.close().await.unwrap();

    // DNS rebinding: a site's name made to resolve to the box is not answered, so its
    // scripts cannot read the page (and its token) as "same origin".
    let rebound = browser(
        port,
        &dir.join("profile-rebind"),
        800,
        480,
        &["--host-resolver-rules=MAP rebind.example 127.0.0.1"],
    )
    .await;
    let rebound_url = url.replace("127.0.0.1", "rebind.example");
    rebound.goto(&format!("{rebound_url}/")).await.unwrap();
    let body = rebound.source().await.unwrap();
    assert!(body.contains("unknown host name"), "{body}");
    assert!(!body.contains("tcheck-token") && !body.contains("Check a phone"));
    rebound.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kiosk_shows_what_to_do_when_the_access_point_fails() {
    if !available() {
        return;
    }
    let dir = common::tempdir("kiosk-error");
    // An interface that does not exist: the access point cannot start.
    let config = dir.join("tcheck.toml");
    std::fs::write(
        &config,
        format!(
            "[ap]\nmode = \"ethernet\"\ninterface = \"tcheck-none0\"\nuplink = \"tcheck-none1\"\nupstream_dns = [\"192.0.2.53\"]\nruntime_dir = \"{}\"\n",
            dir.join("run").display()
        ),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tcheck"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--no-default-iocs",
            "--config",
        ])
        .arg(&config)
        .arg("--data")
        .arg(dir.join("checks"))
        .env("XDG_DATA_HOME", dir.join("xdg"))
        .env_remove("TCHECK_DB")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let _server = Killed(child);
    let url = line
        .trim()
        .rsplit(' ')
        .next()
        .unwrap()
        .trim_end_matches('/')
        .to_string();
    let (_driver, port) = chromedriver();
    let c = browser(port, &dir.join("profile"), 800, 480, &[]).await;
    c.goto(&format!("{url}/")).await.unwrap();
    visible(&c, "#start").await;
    click(&c, "#start").await;
    visible(&c, "#screen-error").await;
    assert_eq!(
        text(&c, "#error-what").await,
        "The Wi-Fi network for the phone could not be started."
    );
    assert!(text(&c, "#error-advice").await.contains("try again"));
    screenshot(&c, "7-error").await;
    click(&c, "#back").await;
    visible(&c, "#screen-idle").await;
    c.close().await.unwrap();
}

/// A stand-in wpa_supplicant: answers its control protocol on a socket and records the
/// commands.
fn stand_in_wpa(socket: &Path) -> std::sync::Arc<std::sync::Mutex<Vec<String>>> {
    let server = std::os::unix::net::UnixDatagram::bind(socket).unwrap();
    let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let seen = log.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok((n, from)) = server.recv_from(&mut buf) {
            let cmd = String::from_utf8_lossy(&buf[..n]).into_owned();
            let reply = match cmd.as_str() {
                "SCAN_RESULTS" => "bssid / frequency / signal level / flags / ssid\n\
                    aa:bb:cc:dd:ee:01\t2437\t-55\t[WPA2-PSK-CCMP][ESS]\tShelter Office\n\
                    aa:bb:cc:dd:ee:02\t2412\t-80\t[ESS]\tCafé libre\n"
                    .to_string(),
                "ADD_NETWORK" => "0\n".to_string(),
                _ => "OK\n".to_string(),
            };
            seen.lock().unwrap().push(cmd);
            if let Some(p) = from.as_pathname() {
                let _ = server.send_to(reply.as_bytes(), p);
            }
        }
    });
    log
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kiosk_joins_the_boxs_wifi_with_the_on_screen_keyboard() {
    if !available() {
        return;
    }
    let dir = common::tempdir("kiosk-wifi");
    let socket = dir.join("wpa-wlan0");
    let commands = stand_in_wpa(&socket);
    let config = dir.join("tcheck.toml");
    std::fs::write(
        &config,
        format!(
            "[ap]\ninterface = \"wlan1\"\nuplink = \"wlan0\"\nwpa_ctrl = \"{}\"\nruntime_dir = \"{}\"\n",
            socket.display(),
            dir.join("run").display()
        ),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tcheck"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--no-default-iocs",
            "--config",
        ])
        .arg(&config)
        .arg("--replay")
        .arg(repo("fixtures/sample/sample.pcap"))
        .arg("--data")
        .arg(dir.join("checks"))
        .env("XDG_DATA_HOME", dir.join("xdg"))
        .env_remove("TCHECK_DB")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let _server = Killed(child);
    let url = line
        .trim()
        .rsplit(' ')
        .next()
        .unwrap()
        .trim_end_matches('/')
        .to_string();
    let (_driver, port) = chromedriver();
    let c = browser(port, &dir.join("profile"), 800, 480, &[]).await;
    c.goto(&format!("{url}/")).await.unwrap();
    visible(&c, "#wifi").await;
    click(&c, "#wifi").await;
    visible(&c, "#screen-wifi").await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let t = text(&c, "#wifi-list").await;
        if t.contains("Shelter Office") {
            assert!(t.contains("Café libre"), "{t}");
            break;
        }
        assert!(Instant::now() < deadline, "no network listed: {t:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    screenshot(&c, "8-wifi-list").await;
    // A scan makes the radio work: not a GET, and not without the page's token.
    let status = |args: &[&str]| {
        let o = Command::new("curl")
            .args(["-s", "-o", "/dev/null", "-w", "%{http_code}"])
            .args(args)
            .arg(format!("{url}/api/v1/uplink/scan"))
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    assert_eq!(status(&[]), "405");
    assert_eq!(status(&["-X", "POST"]), "403");
    c.find(Locator::XPath(
        "//ul[@id='wifi-list']//button[span[text()='Shelter Office']]",
    ))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
    visible(&c, "#keyboard").await;
    // "Pa55 w0rd!": shift, P, back to lower case, a, digits, space, symbols.
    let press = |label: &'static str| {
        let c = c.clone();
        async move {
            c.find(Locator::XPath(&format!(
                "//div[@id='keyboard']//button[text()='{label}']"
            )))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        }
    };
    press("ABC").await;
    press("P").await;
    press("abc").await;
    for k in ["a", "5", "5"] {
        press(k).await;
    }
    let space = text(&c, "#keyboard .space").await;
    c.find(Locator::Css("#keyboard .space"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert_eq!(space, "space");
    for k in ["w", "0", "r", "d"] {
        press(k).await;
    }
    press("#+=").await;
    press("!").await;
    click(&c, "#wifi-show").await;
    let typed = c
        .find(Locator::Css("#wifi-password"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default();
    assert_eq!(typed, "Pa55 w0rd!");
    screenshot(&c, "9-wifi-keyboard").await;
    click(&c, "#wifi-connect").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if text(&c, "#wifi-result")
            .await
            .contains("joining the network")
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{}",
            text(&c, "#wifi-result").await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let sent = commands.lock().unwrap().clone();
    let ssid_hex: String = "Shelter Office"
        .bytes()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert!(
        sent.contains(&format!("SET_NETWORK 0 ssid {ssid_hex}")),
        "{sent:?}"
    );
    assert!(
        sent.iter()
            .any(|s| s.starts_with("SET_NETWORK 0 psk ")
                && s.len() == "SET_NETWORK 0 psk ".len() + 64),
        "{sent:?}"
    );
    assert!(sent.contains(&"SELECT_NETWORK 0".to_string()), "{sent:?}");
    assert!(
        sent.iter().all(|s| !s.contains("w0rd")),
        "the password left as typed: {sent:?}"
    );
    c.close().await.unwrap();
}
