//! The access point and the capture, end to end, without Wi-Fi hardware: network namespaces
//! for a "phone", the "box" and the "internet", joined by veth pairs; the real dnsmasq,
//! nftables and iproute2; `tcheck ap` in Ethernet mode and `tcheck capture` on the box.
//!
//! Needs root and the programs (`ip`, `nft`, `dnsmasq`, `udhcpc`, `dig`, `curl`, `python3`,
//! `ping`). Without them the tests say so and pass, unless `TCHECK_REQUIRE_SYSTEM=1` (CI sets
//! it), where a missing piece is a failure.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{tcheck, tempdir};

const TOOLS: &[&str] = &[
    "ip", "nft", "dnsmasq", "udhcpc", "dig", "curl", "python3", "ping", "setpriv",
];

/// Whether the namespace tests can run here; panics if they must and cannot.
fn can_run(test: &str) -> bool {
    let required = std::env::var("TCHECK_REQUIRE_SYSTEM").is_ok_and(|v| v == "1");
    let root = rustix_is_root();
    let missing: Vec<&str> = TOOLS
        .iter()
        .copied()
        .filter(|t| {
            !Command::new("sh")
                .args(["-c", &format!("command -v {t}")])
                .stdout(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
        .collect();
    if root && missing.is_empty() {
        return true;
    }
    let why = if root {
        format!("missing programs: {}", missing.join(", "))
    } else {
        "not root".to_string()
    };
    assert!(
        !required,
        "{test}: cannot run ({why}) but TCHECK_REQUIRE_SYSTEM=1"
    );
    eprintln!("{test}: skipped ({why})");
    false
}

fn rustix_is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Runs a command, panicking with its output if it fails.
fn sh(args: &[&str]) -> String {
    let o = Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("{args:?}: {e}"));
    assert!(
        o.status.success(),
        "{args:?}: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Runs a command in namespace `ns`; returns (success, stdout).
fn in_ns(ns: &str, args: &[&str]) -> (bool, String) {
    let o = Command::new("ip")
        .args(["netns", "exec", ns])
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{ns} {args:?}: {e}"));
    (
        o.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
    )
}

/// A long-running helper (a server of the simulated internet), killed when dropped.
struct Background(Child);

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts a long-running command in namespace `ns`.
fn spawn_in(ns: &str, args: &[&str]) -> Background {
    Background(
        Command::new("ip")
            .args(["netns", "exec", ns])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{ns} {args:?}: {e}")),
    )
}

/// Lines of a child's stream, as they come.
fn lines_of(stream: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Waits for a line containing `needle`; returns every line read meanwhile.
fn wait_for(rx: &mpsc::Receiver<String>, needle: &str, within: Duration) -> Vec<String> {
    let deadline = Instant::now() + within;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(l) => {
                let hit = l.contains(needle);
                seen.push(l);
                if hit {
                    return seen;
                }
            }
            Err(_) => panic!("no line with {needle:?} within {within:?}; got {seen:#?}"),
        }
    }
}

/// Waits until `url` answers from namespace `ns` (a server just started).
fn wait_http(ns: &str, url: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (ok, _) = in_ns(
            ns,
            &["curl", "-s", "-o", "/dev/null", "--max-time", "1", url],
        );
        if ok {
            return;
        }
        assert!(Instant::now() < deadline, "{url} never answered in {ns}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn sigterm(child: &Child) {
    sh(&["kill", "-TERM", &child.id().to_string()]);
}

fn wait_exit(child: &mut Child, within: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + within;
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        assert!(
            Instant::now() < deadline,
            "process {} did not exit",
            child.id()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Namespaces made for one test, removed (with whatever runs in them) when dropped.
struct Namespaces {
    names: Vec<String>,
}

impl Namespaces {
    fn new(prefix: &str, names: &[&str]) -> Self {
        let ns = Namespaces {
            names: names.iter().map(|n| format!("{prefix}{n}")).collect(),
        };
        for n in &ns.names {
            let _ = Command::new("ip").args(["netns", "del", n]).output();
            sh(&["ip", "netns", "add", n]);
            sh(&["ip", "-n", n, "link", "set", "lo", "up"]);
        }
        ns
    }

    fn name(&self, i: usize) -> &str {
        &self.names[i]
    }
}

impl Drop for Namespaces {
    fn drop(&mut self) {
        for n in &self.names {
            if let Ok(o) = Command::new("ip").args(["netns", "pids", n]).output() {
                for pid in String::from_utf8_lossy(&o.stdout).split_whitespace() {
                    let _ = Command::new("kill").args(["-KILL", pid]).output();
                }
            }
            let _ = Command::new("ip").args(["netns", "del", n]).output();
        }
    }
}

/// The names of the processes running in namespace `ns`.
fn processes_in(ns: &str) -> Vec<String> {
    let o = sh(&["ip", "netns", "pids", ns]);
    o.split_whitespace()
        .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/comm")).ok())
        .map(|c| c.trim().to_string())
        .collect()
}

/// A domain of the Echap stalkerware feed (the copy bundled with tcheck, from
/// `../shared/feeds/echap/network.csv`).
fn echap_domain(feed: &Path) -> String {
    let text = std::fs::read_to_string(feed).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("domain,"))
        .and_then(|rest| rest.split(',').next())
        .map(str::to_string)
        .expect("a domain in the Echap feed")
}

fn echap_feed() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/feeds/echap/network.csv")
}

/// A udhcpc script that configures the phone's interface from the lease.
fn write_dhcp_script(dir: &Path) -> PathBuf {
    let p = dir.join("udhcpc.sh");
    std::fs::write(
        &p,
        "#!/bin/sh\ncase \"$1\" in\n  bound|renew)\n    ip addr flush dev \"$interface\"\n    ip addr add \"$ip/$mask\" dev \"$interface\"\n    ip route replace default via \"$router\" dev \"$interface\"\n    ;;\nesac\n",
    )
    .unwrap();
    sh(&["chmod", "755", p.to_str().unwrap()]);
    p
}

/// The topology: phone ─ veth ─ box ─ veth ─ internet (10.77.0.0/24, a private uplink
/// network), the internet holding a web server (203.0.113.10), a DNS server (203.0.113.53)
/// and, on the uplink network itself, a private host (10.77.0.1:8080).
struct World {
    ns: Namespaces,
    phone_if: String,
    box_phone_if: String,
    box_uplink_if: String,
}

impl World {
    fn new(tag: &str) -> World {
        let prefix = format!("tc{}{tag}", std::process::id() % 10_000);
        let ns = Namespaces::new(&prefix, &["ph", "bx", "in"]);
        let (ph, bx, inet) = (
            ns.name(0).to_string(),
            ns.name(1).to_string(),
            ns.name(2).to_string(),
        );
        let id = std::process::id() % 10_000;
        let w = World {
            phone_if: format!("p{id}{tag}"),
            box_phone_if: format!("b{id}{tag}"),
            box_uplink_if: format!("u{id}{tag}"),
            ns,
        };
        let inet_if = format!("i{id}{tag}");
        sh(&[
            "ip",
            "link",
            "add",
            &w.box_phone_if,
            "netns",
            &bx,
            "type",
            "veth",
            "peer",
            "name",
            &w.phone_if,
            "netns",
            &ph,
        ]);
        sh(&[
            "ip",
            "link",
            "add",
            &w.box_uplink_if,
            "netns",
            &bx,
            "type",
            "veth",
            "peer",
            "name",
            &inet_if,
            "netns",
            &inet,
        ]);
        sh(&[
            "ip",
            "-n",
            &bx,
            "addr",
            "add",
            "10.77.0.2/24",
            "dev",
            &w.box_uplink_if,
        ]);
        sh(&["ip", "-n", &bx, "link", "set", &w.box_uplink_if, "up"]);
        sh(&[
            "ip",
            "-n",
            &bx,
            "route",
            "add",
            "default",
            "via",
            "10.77.0.1",
        ]);
        sh(&[
            "ip",
            "-n",
            &inet,
            "addr",
            "add",
            "10.77.0.1/24",
            "dev",
            &inet_if,
        ]);
        sh(&["ip", "-n", &inet, "link", "set", &inet_if, "up"]);
        sh(&[
            "ip",
            "-n",
            &inet,
            "addr",
            "add",
            "203.0.113.10/32",
            "dev",
            "lo",
        ]);
        sh(&[
            "ip",
            "-n",
            &inet,
            "addr",
            "add",
            "203.0.113.53/32",
            "dev",
            "lo",
        ]);
        sh(&["ip", "-n", &ph, "link", "set", &w.phone_if, "up"]);
        w
    }

    fn phone(&self) -> &str {
        self.ns.name(0)
    }

    fn the_box(&self) -> &str {
        self.ns.name(1)
    }

    fn internet(&self) -> &str {
        self.ns.name(2)
    }

    fn ap_config(&self, dir: &Path) -> PathBuf {
        self.ap_config_with(dir, "")
    }

    /// An Ethernet-mode configuration for the box, plus `extra` keys of `[ap]`.
    fn ap_config_with(&self, dir: &Path, extra: &str) -> PathBuf {
        let p = dir.join("tcheck.toml");
        std::fs::write(
            &p,
            format!(
                "[ap]\nmode = \"ethernet\"\ninterface = \"{}\"\nuplink = \"{}\"\nupstream_dns = [\"203.0.113.53\"]\nruntime_dir = \"{}\"\ninternet_check_url = \"http://203.0.113.10/\"\n{extra}",
                self.box_phone_if,
                self.box_uplink_if,
                dir.join("run").display()
            ),
        )
        .unwrap();
        p
    }
}

/// Runs `tcheck ap start` in the box; returns it once the network is up.
fn start_ap(w: &World, config: &Path) -> (Child, mpsc::Receiver<String>) {
    start_ap_as(w, config, &[])
}

/// Runs `tcheck ap start` in the box behind `wrapper` (e.g. `setpriv …`); returns it once
/// the network is up.
fn start_ap_as(w: &World, config: &Path, wrapper: &[String]) -> (Child, mpsc::Receiver<String>) {
    let mut ap = Command::new("ip")
        .args(["netns", "exec", w.the_box()])
        .args(wrapper)
        .arg(env!("CARGO_BIN_EXE_tcheck"))
        .args(["ap", "start", "--config"])
        .arg(config)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = lines_of(ap.stdout.take().unwrap());
    let err = lines_of(ap.stderr.take().unwrap());
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(l) = out.recv_timeout(Duration::from_millis(100)) {
            if l.contains("phone network up") {
                return (ap, out);
            }
        }
        if let Some(s) = ap.try_wait().unwrap() {
            let e: Vec<String> = err.try_iter().collect();
            panic!("tcheck ap start exited ({s}): {e:#?}");
        }
        assert!(
            Instant::now() < deadline,
            "the access point did not come up"
        );
    }
}

#[test]
fn netns_phone_gets_a_lease_reaches_the_internet_only_and_the_echap_indicator_is_reported() {
    if !can_run("netns end to end") {
        return;
    }
    let dir = tempdir("netns-e2e");
    let w = World::new("e");
    let domain = echap_domain(&echap_feed());

    // The internet: a DNS server that knows the stalkerware domain, its web server, and a
    // private host on the uplink network. On the box, a stand-in for its web interface.
    let dns_answer = format!("--address=/{domain}/203.0.113.10");
    let _inet_dns = spawn_in(
        w.internet(),
        &[
            "dnsmasq",
            "--keep-in-foreground",
            "--conf-file=/dev/null",
            "--no-resolv",
            "--no-hosts",
            "--bind-interfaces",
            "--listen-address=203.0.113.53",
            &dns_answer,
            "--pid-file=",
        ],
    );
    let _web = spawn_in(
        w.internet(),
        &[
            "python3",
            "-m",
            "http.server",
            "--bind",
            "203.0.113.10",
            "80",
        ],
    );
    let _lan = spawn_in(
        w.internet(),
        &[
            "python3",
            "-m",
            "http.server",
            "--bind",
            "10.77.0.1",
            "8080",
        ],
    );
    let _ui = spawn_in(
        w.the_box(),
        &["python3", "-m", "http.server", "--bind", "0.0.0.0", "8443"],
    );

    let config = w.ap_config(&dir);
    let (mut ap, ap_out) = start_ap(&w, &config);
    for url in [
        "http://203.0.113.10/",
        "http://10.77.0.1:8080/",
        "http://10.42.0.1:8443/",
    ] {
        wait_http(w.the_box(), url);
    }
    // The box's internet check uses the one configured address.
    let (ok, said) = in_ns(
        w.the_box(),
        &[
            env!("CARGO_BIN_EXE_tcheck"),
            "ap",
            "internet",
            "--config",
            config.to_str().unwrap(),
        ],
    );
    assert!(ok && said.contains("answered 200"), "{said}");

    // The capture, on the box's side of the phone's link, with the Echap feed.
    let capture_file = dir.join("phone.pcapng");
    let live_report = dir.join("live-report.json");
    let mut capture = Command::new("ip")
        .args(["netns", "exec", w.the_box()])
        .arg(env!("CARGO_BIN_EXE_tcheck"))
        .args(["capture", "--interface", &w.box_phone_if, "--out"])
        .arg(&capture_file)
        .args(["--no-default-iocs", "--iocs"])
        .arg(echap_feed())
        .arg("--report")
        .arg(&live_report)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let capture_err = lines_of(capture.stderr.take().unwrap());
    let capture_out = lines_of(capture.stdout.take().unwrap());
    wait_for(&capture_err, "capturing on", Duration::from_secs(10));

    // The phone joins: DHCP, with a host name.
    let script = write_dhcp_script(&dir);
    let (ok, said) = in_ns(
        w.phone(),
        &[
            "udhcpc",
            "-i",
            &w.phone_if,
            "-n",
            "-q",
            "-f",
            "-t",
            "10",
            "-T",
            "1",
            "-s",
            script.to_str().unwrap(),
            "-x",
            "hostname:victim-phone",
        ],
    );
    assert!(ok, "no DHCP lease: {said}");
    assert!(said.contains("lease of 10.42.0."), "{said}");
    wait_for(
        &ap_out,
        "device joined: victim-phone",
        Duration::from_secs(5),
    );
    let status = tcheck()
        .args(["ap", "status", "--json", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["running"], true, "{status}");
    assert_eq!(status["clients"][0]["hostname"], "victim-phone", "{status}");

    // It resolves the stalkerware name through the box and fetches from its server.
    let (ok, answer) = in_ns(
        w.phone(),
        &[
            "dig",
            "+short",
            "+tries=2",
            "+timeout=2",
            "@10.42.0.1",
            &domain,
        ],
    );
    assert!(ok && answer.trim() == "203.0.113.10", "{answer}");
    let resolve = format!("{domain}:80:203.0.113.10");
    let url = format!("http://{domain}/");
    let (ok, code) = in_ns(
        w.phone(),
        &[
            "curl",
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--max-time",
            "5",
            "--resolve",
            &resolve,
            &url,
        ],
    );
    assert!(
        ok && code == "200",
        "the phone cannot reach the internet: {code}"
    );

    // The detection appears while the capture runs.
    wait_for(&capture_err, "detected at", Duration::from_secs(10));

    // What the phone must not reach: the box's web interface, a private host beyond the
    // box; both answer the box itself, so the refusal is the rules', not an empty port.
    for (what, url) in [
        ("the box's web interface", "http://10.42.0.1:8443/"),
        ("a private host beyond the box", "http://10.77.0.1:8080/"),
    ] {
        let (ok, code) = in_ns(
            w.the_box(),
            &[
                "curl",
                "-s",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                "--max-time",
                "3",
                url,
            ],
        );
        assert!(
            ok && code == "200",
            "{what} does not answer the box: {code}"
        );
        let (ok, code) = in_ns(
            w.phone(),
            &[
                "curl",
                "-s",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                "--max-time",
                "3",
                url,
            ],
        );
        assert!(!ok && code == "000", "the phone reached {what}: {code}");
    }

    // Stop the capture: its report names the indicator.
    sigterm(&capture);
    let s = wait_exit(&mut capture, Duration::from_secs(15));
    let out: Vec<String> = capture_out.try_iter().collect();
    assert!(s.success(), "capture: {s}: {out:#?}");
    let end = wait_for(&capture_err, "capture stopped:", Duration::from_secs(5));
    let counts = end.last().unwrap();
    assert!(counts.contains(" 0 dropped by the kernel"), "{counts}");
    assert!(!counts.contains(": 0 packets"), "{counts}");
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&live_report).unwrap()).unwrap();
    let alerts = report["alerts"].as_array().unwrap();
    assert!(
        alerts.iter().any(|a| a["domain"] == domain.as_str()),
        "no alert for {domain}: {report:#}"
    );

    // The file alone, analysed afterwards, says the same.
    let analysed = dir.join("report.json");
    let o = tcheck()
        .arg("analyze")
        .arg(&capture_file)
        .args(["--no-default-iocs", "--iocs"])
        .arg(echap_feed())
        .arg("--report")
        .arg(&analysed)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains(&domain), "{text}");
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&analysed).unwrap()).unwrap();
    let names = report["device"]["names"].as_array().unwrap();
    assert!(names.iter().any(|n| n == "victim-phone"), "{report:#}");

    // Stop leaves nothing behind: no table, no program, no address, forwarding restored.
    let o = tcheck()
        .args(["ap", "stop", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let s = wait_exit(&mut ap, Duration::from_secs(10));
    assert!(s.success(), "ap: {s}");
    assert_nothing_left(&w, &dir);
}

fn assert_nothing_left(w: &World, dir: &Path) {
    let (_, tables) = in_ns(w.the_box(), &["nft", "list", "tables"]);
    assert!(!tables.contains("tcheck"), "table left: {tables}");
    let procs = processes_in(w.the_box());
    assert!(
        !procs
            .iter()
            .any(|p| p == "dnsmasq" || p == "hostapd" || p == "tcheck"),
        "programs left: {procs:?}"
    );
    let (_, addrs) = in_ns(
        w.the_box(),
        &["ip", "-4", "addr", "show", "dev", &w.box_phone_if],
    );
    assert!(!addrs.contains("10.42.0.1"), "address left: {addrs}");
    let (_, fwd) = in_ns(w.the_box(), &["cat", "/proc/sys/net/ipv4/ip_forward"]);
    assert_eq!(fwd.trim(), "0", "forwarding left on");
    let left: Vec<_> = std::fs::read_dir(dir.join("run"))
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "files left: {left:?}");
}

#[test]
fn netns_a_crashed_access_point_is_cleaned_up() {
    if !can_run("netns crash cleanup") {
        return;
    }
    let dir = tempdir("netns-crash");
    let w = World::new("c");
    let config = w.ap_config(&dir);
    let (mut ap, _out) = start_ap(&w, &config);
    assert!(processes_in(w.the_box()).iter().any(|p| p == "dnsmasq"));
    // The supervisor dies without cleaning up: dnsmasq, the table and the address remain.
    let pid = {
        let state: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("run/state.json")).unwrap()).unwrap();
        state["supervisor_pid"].as_u64().unwrap()
    };
    sh(&["kill", "-KILL", &pid.to_string()]);
    let _ = wait_exit(&mut ap, Duration::from_secs(5));
    let (_, tables) = in_ns(w.the_box(), &["nft", "list", "tables"]);
    assert!(tables.contains("tcheck"), "{tables}");

    // A new start removes the leftovers first, then runs normally.
    let (mut again, _out2) = start_ap(&w, &config);
    let dnsmasqs = processes_in(w.the_box())
        .iter()
        .filter(|p| *p == "dnsmasq")
        .count();
    assert_eq!(dnsmasqs, 1, "the crashed run's dnsmasq was not stopped");
    // And after a second crash, `tcheck ap stop` cleans up from the state file alone.
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("run/state.json")).unwrap()).unwrap();
    sh(&[
        "kill",
        "-KILL",
        &state["supervisor_pid"].as_u64().unwrap().to_string(),
    ]);
    let _ = wait_exit(&mut again, Duration::from_secs(5));
    let (ok, said) = in_ns(
        w.the_box(),
        &[
            env!("CARGO_BIN_EXE_tcheck"),
            "ap",
            "stop",
            "--config",
            config.to_str().unwrap(),
        ],
    );
    assert!(ok, "{said}");
    assert_nothing_left(&w, &dir);
}

#[test]
fn netns_a_capture_killed_with_sigkill_leaves_a_readable_file() {
    if !can_run("netns kill -9") {
        return;
    }
    let dir = tempdir("netns-kill9");
    let ns = Namespaces::new(&format!("tc{}k", std::process::id() % 10_000), &["a", "b"]);
    let (a, b) = (ns.name(0), ns.name(1));
    let id = std::process::id() % 10_000;
    let (ia, ib) = (format!("ka{id}"), format!("kb{id}"));
    sh(&[
        "ip", "link", "add", &ia, "netns", a, "type", "veth", "peer", "name", &ib, "netns", b,
    ]);
    sh(&["ip", "-n", a, "addr", "add", "10.9.0.1/24", "dev", &ia]);
    sh(&["ip", "-n", b, "addr", "add", "10.9.0.2/24", "dev", &ib]);
    sh(&["ip", "-n", a, "link", "set", &ia, "up"]);
    sh(&["ip", "-n", b, "link", "set", &ib, "up"]);
    let file = dir.join("killed.pcapng");
    let mut capture = Command::new("ip")
        .args(["netns", "exec", a])
        .arg(env!("CARGO_BIN_EXE_tcheck"))
        .args([
            "capture",
            "--interface",
            &ia,
            "--filter",
            "icmp",
            "--no-default-iocs",
            "--out",
        ])
        .arg(&file)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let err = lines_of(capture.stderr.take().unwrap());
    wait_for(&err, "capturing on", Duration::from_secs(10));
    let (ok, said) = in_ns(b, &["ping", "-c", "20", "-i", "0.05", "10.9.0.1"]);
    assert!(ok, "{said}");
    // More than the flush interval, then no chance to finish.
    std::thread::sleep(Duration::from_millis(600));
    sh(&["kill", "-KILL", &capture.id().to_string()]);
    let _ = wait_exit(&mut capture, Duration::from_secs(5));
    let o = tcheck()
        .arg("analyze")
        .arg(&file)
        .args(["--no-default-iocs", "--json"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["packets"], 40, "20 echo requests and 20 replies: {v:#}");
    assert!(
        v["warnings"].as_array().is_none_or(|w| w.is_empty()),
        "{v:#}"
    );
}

/// A stand-in for hostapd (no radio here): it keeps the configuration it was given and
/// prints what hostapd prints, then succeeds or fails as `outcome` says.
fn hostapd_stand_in(dir: &Path, outcome: &str) -> PathBuf {
    let p = dir.join(format!("hostapd-{outcome}"));
    let body = match outcome {
        "ok" => {
            "echo \"Configuration file: $1\"\n\
                 iface=$(sed -n 's/^interface=//p' \"$1\")\n\
                 echo \"$iface: interface state UNINITIALIZED->ENABLED\"\n\
                 echo \"$iface: AP-ENABLED \"\n\
                 exec sleep 600\n"
        }
        _ => {
            "echo \"Configuration file: $1\"\n\
              echo 'nl80211: Could not configure driver mode'\n\
              iface=$(sed -n 's/^interface=//p' \"$1\")\n\
              echo \"$iface: AP-DISABLED \"\n\
              exit 1\n"
        }
    };
    std::fs::write(
        &p,
        format!(
            "#!/bin/sh\ncp \"$1\" \"{}/seen-hostapd.conf\"\n{body}",
            dir.display()
        ),
    )
    .unwrap();
    sh(&["chmod", "755", p.to_str().unwrap()]);
    p
}

fn wifi_config(w: &World, dir: &Path, hostapd: &Path) -> PathBuf {
    let p = dir.join("wifi.toml");
    std::fs::write(
        &p,
        format!(
            "[ap]\nmode = \"wifi\"\ninterface = \"{}\"\nuplink = \"{}\"\nupstream_dns = [\"203.0.113.53\"]\nruntime_dir = \"{}\"\nssids = [\"Guest\"]\n[ap.tools]\nhostapd = \"{}\"\n",
            w.box_phone_if,
            w.box_uplink_if,
            dir.join("run").display(),
            hostapd.display()
        ),
    )
    .unwrap();
    p
}

#[test]
fn netns_wifi_mode_waits_for_hostapd_and_reports_its_failure() {
    if !can_run("netns hostapd supervision") {
        return;
    }
    let dir = tempdir("netns-wifi");
    let w = World::new("w");

    // hostapd comes up: the network's name, password and QR payload are printed, and the
    // configuration it was given is one hostapd's own parser accepts.
    let config = wifi_config(&w, &dir, &hostapd_stand_in(&dir, "ok"));
    let mut ap = Command::new("ip")
        .args(["netns", "exec", w.the_box()])
        .arg(env!("CARGO_BIN_EXE_tcheck"))
        .args(["ap", "start", "--config"])
        .arg(&config)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = lines_of(ap.stdout.take().unwrap());
    let lines = wait_for(&out, "QR code:", Duration::from_secs(20));
    let ssid = lines
        .iter()
        .find_map(|l| l.trim().strip_prefix("network:"))
        .unwrap()
        .trim()
        .to_string();
    let password = lines
        .iter()
        .find_map(|l| l.trim().strip_prefix("password:"))
        .unwrap()
        .trim()
        .to_string();
    assert!(ssid.starts_with("Guest-"), "{lines:#?}");
    assert!(password.len() >= 12, "{lines:#?}");
    assert!(lines
        .iter()
        .any(|l| l.contains(&format!("WIFI:S:{ssid};T:WPA;P:{password};;"))));
    let seen = std::fs::read_to_string(dir.join("seen-hostapd.conf")).unwrap();
    assert!(seen.contains(&format!("wpa_passphrase={password}\n")));
    let mode = std::fs::metadata(dir.join("run/hostapd.conf")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        mode.permissions().mode() & 0o077,
        0,
        "hostapd.conf readable by others"
    );
    if let Some(verdict) = real_hostapd_verdict(&dir.join("seen-hostapd.conf")) {
        assert!(
            !verdict.contains("errors found"),
            "hostapd refused: {verdict}"
        );
    }
    let o = tcheck()
        .args(["ap", "stop", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(wait_exit(&mut ap, Duration::from_secs(10)).success());
    assert!(
        !processes_in(w.the_box()).iter().any(|p| p == "sleep"),
        "hostapd left"
    );
    assert_nothing_left(&w, &dir);

    // hostapd fails: the start fails with hostapd's own words, and leaves nothing.
    let config = wifi_config(&w, &dir, &hostapd_stand_in(&dir, "fail"));
    let (ok, said) = in_ns(
        w.the_box(),
        &[
            env!("CARGO_BIN_EXE_tcheck"),
            "ap",
            "start",
            "--config",
            config.to_str().unwrap(),
        ],
    );
    assert!(!ok, "{said}");
    assert!(
        said.contains("hostapd failed") && said.contains("Could not configure driver mode"),
        "{said}"
    );
    assert_nothing_left(&w, &dir);
}

/// What the real hostapd says of a configuration (None if it is not installed).
fn real_hostapd_verdict(conf: &Path) -> Option<String> {
    let o = Command::new("hostapd").arg(conf).output().ok()?;
    Some(format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    ))
}

#[test]
fn netns_offline_mode_answers_every_name_with_the_box_and_forwards_nothing() {
    if !can_run("netns offline") {
        return;
    }
    let dir = tempdir("netns-offline");
    let w = World::new("o");
    let _web = spawn_in(
        w.internet(),
        &[
            "python3",
            "-m",
            "http.server",
            "--bind",
            "203.0.113.10",
            "80",
        ],
    );
    let config = w.ap_config_with(&dir, "offline = true\n");
    let (mut ap, _out) = start_ap(&w, &config);
    wait_http(w.the_box(), "http://203.0.113.10/");
    let (_, fwd) = in_ns(w.the_box(), &["cat", "/proc/sys/net/ipv4/ip_forward"]);
    assert_eq!(fwd.trim(), "0", "offline mode turned forwarding on");
    let script = write_dhcp_script(&dir);
    let (ok, said) = in_ns(
        w.phone(),
        &[
            "udhcpc",
            "-i",
            &w.phone_if,
            "-n",
            "-q",
            "-f",
            "-t",
            "10",
            "-T",
            "1",
            "-s",
            script.to_str().unwrap(),
        ],
    );
    assert!(ok, "no DHCP lease: {said}");
    for name in ["stalker.example", "www.google.com"] {
        let (ok, answer) = in_ns(
            w.phone(),
            &[
                "dig",
                "+short",
                "+tries=2",
                "+timeout=2",
                "@10.42.0.1",
                name,
            ],
        );
        assert!(ok && answer.trim() == "10.42.0.1", "{name}: {answer}");
    }
    let (ok, code) = in_ns(
        w.phone(),
        &[
            "curl",
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--max-time",
            "3",
            "http://203.0.113.10/",
        ],
    );
    assert!(
        !ok && code == "000",
        "offline, the phone reached the internet: {code}"
    );
    let o = tcheck()
        .args(["ap", "stop", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(wait_exit(&mut ap, Duration::from_secs(10)).success());
    assert_nothing_left(&w, &dir);
}

/// The capabilities the packaged service gets (install/systemd/tcheck-web.service), as a
/// user that is not root.
const SERVICE_CAPS: &str = "+net_admin,+net_raw,+net_bind_service";
/// A user and group id with no account: nothing but the capabilities given.
const UNPRIVILEGED: &str = "64123";

/// `setpriv` arguments that drop to [`UNPRIVILEGED`] with `caps` only.
fn as_service(caps: &str) -> Vec<String> {
    vec![
        "setpriv".into(),
        format!("--reuid={UNPRIVILEGED}"),
        format!("--regid={UNPRIVILEGED}"),
        "--clear-groups".into(),
        format!("--inh-caps={caps}"),
        format!("--ambient-caps={caps}"),
        format!("--bounding-set=-all,{caps}"),
        "--no-new-privs".into(),
    ]
}

#[test]
fn netns_the_access_point_and_the_capture_run_without_root() {
    if !can_run("netns least privilege") {
        return;
    }
    let dir = tempdir("netns-unprivileged");
    sh(&[
        "chown",
        &format!("{UNPRIVILEGED}:{UNPRIVILEGED}"),
        dir.to_str().unwrap(),
    ]);
    let w = World::new("u");
    let config = w.ap_config(&dir);
    sh(&[
        "chown",
        &format!("{UNPRIVILEGED}:{UNPRIVILEGED}"),
        config.to_str().unwrap(),
    ]);

    // The access point with the service's three capabilities, as a user that is not root.
    let (mut ap, _out) = start_ap_as(&w, &config, &as_service(SERVICE_CAPS));
    // Its programs run as that user too.
    let pids = sh(&["ip", "netns", "pids", w.the_box()]);
    for pid in pids.split_whitespace() {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        if matches!(comm.trim(), "tcheck" | "dnsmasq") {
            let uid = status.lines().find(|l| l.starts_with("Uid:")).unwrap_or("");
            assert!(
                uid.contains(UNPRIVILEGED) && !uid.contains("\t0\t"),
                "{comm}: {uid}"
            );
        }
    }

    // The capture with CAP_NET_RAW alone.
    let capture_file = dir.join("phone.pcapng");
    let mut args = vec!["netns".to_string(), "exec".into(), w.the_box().into()];
    args.extend(as_service("+net_raw"));
    args.extend([
        env!("CARGO_BIN_EXE_tcheck").to_string(),
        "capture".into(),
        "--interface".into(),
        w.box_phone_if.clone(),
        "--no-default-iocs".into(),
        "--out".into(),
        capture_file.display().to_string(),
    ]);
    let mut capture = Command::new("ip")
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let capture_err = lines_of(capture.stderr.take().unwrap());
    wait_for(&capture_err, "capturing on", Duration::from_secs(10));

    let script = write_dhcp_script(&dir);
    let (ok, said) = in_ns(
        w.phone(),
        &[
            "udhcpc",
            "-i",
            &w.phone_if,
            "-n",
            "-q",
            "-f",
            "-t",
            "10",
            "-T",
            "1",
            "-s",
            script.to_str().unwrap(),
            "-x",
            "hostname:unprivileged-phone",
        ],
    );
    assert!(
        ok && said.contains("lease of 10.42.0."),
        "no DHCP lease without root: {said}"
    );
    std::thread::sleep(Duration::from_millis(500));
    sigterm(&capture);
    assert!(wait_exit(&mut capture, Duration::from_secs(10)).success());
    let o = tcheck()
        .arg("analyze")
        .arg(&capture_file)
        .args(["--no-default-iocs", "--json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let names = v["report"]["device"]["names"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(names.iter().any(|n| n == "unprivileged-phone"), "{v:#}");

    let o = tcheck()
        .args(["ap", "stop", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(wait_exit(&mut ap, Duration::from_secs(10)).success());
    assert_nothing_left(&w, &dir);
}
