//! `tcheck doctor`: what a support person needs to know about a box, and what is wrong with
//! it, with the fix. Reads only; changes nothing.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use anyhow::Result;
use clap::Args;
use serde::Serialize;
use tcheck_apctl::ApConfig;

/// Options of `tcheck doctor`.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// The configuration file (default: /etc/tcheck/tcheck.toml when it exists).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The indicator database (default: /var/lib/tcheck/tcheck.db when it exists, else
    /// $TCHECK_DB or the user's).
    #[arg(long, value_name = "PATH")]
    db: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// One finding.
#[derive(Debug, Serialize)]
struct Finding {
    /// The section (versions, interfaces, configuration, services, database, disk).
    section: &'static str,
    /// What was looked at.
    what: String,
    /// What was found.
    found: String,
    /// What to do, when something is wrong.
    fix: Option<String>,
}

#[derive(Debug, Default, Serialize)]
struct Report {
    findings: Vec<Finding>,
}

impl Report {
    fn ok(&mut self, section: &'static str, what: impl Into<String>, found: impl Into<String>) {
        self.findings.push(Finding {
            section,
            what: what.into(),
            found: found.into(),
            fix: None,
        });
    }

    fn problem(
        &mut self,
        section: &'static str,
        what: impl Into<String>,
        found: impl Into<String>,
        fix: impl Into<String>,
    ) {
        self.findings.push(Finding {
            section,
            what: what.into(),
            found: found.into(),
            fix: Some(fix.into()),
        });
    }
}

/// What asking a program for its version gave.
enum Version {
    /// It printed this first line and succeeded.
    Printed(String),
    /// It ran but failed, with this first line of output.
    Failed(String),
    /// It is not installed (or cannot be run).
    Missing,
}

/// Runs `program arg` and reads the first line it prints (stdout, then stderr).
fn version_of(program: &str, arg: &str) -> Version {
    let Ok(o) = Command::new(program).arg(arg).stdin(Stdio::null()).output() else {
        return Version::Missing;
    };
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let first = text
        .lines()
        .next()
        .map(|l| l.trim().to_string())
        .unwrap_or_default();
    if first.is_empty() {
        return Version::Failed("it printed nothing".to_string());
    }
    // `hostapd -v` exits 1 after printing its version ("hostapd v2.10"): a failure that
    // printed a version counts as success.
    if o.status.success() || has_version_number(&first) {
        Version::Printed(first)
    } else {
        Version::Failed(first)
    }
}

/// Whether `line` announces a version: `v2.10`, `version 2.90` (not just any dotted
/// number, which error messages hold too: `libpcap.so.0.8`, addresses, times).
fn has_version_number(line: &str) -> bool {
    let lower = line.to_ascii_lowercase();
    let dotted = |s: &str| {
        let b = s.as_bytes();
        let digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
        digits > 0
            && b.get(digits) == Some(&b'.')
            && b.get(digits + 1).is_some_and(u8::is_ascii_digit)
    };
    lower
        .split_whitespace()
        .any(|w| w.strip_prefix('v').is_some_and(dotted))
        || lower
            .split("version ")
            .skip(1)
            .any(|rest| dotted(rest.trim_start()))
}

fn read(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
}

fn versions(r: &mut Report) {
    r.ok("versions", "tcheck", env!("CARGO_PKG_VERSION"));
    let os = read("/etc/os-release")
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("PRETTY_NAME="))
                .map(|v| v.trim_matches('"').to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    r.ok("versions", "system", os);
    r.ok(
        "versions",
        "kernel",
        read("/proc/sys/kernel/osrelease").unwrap_or_default(),
    );
    for (program, arg, package) in [
        ("hostapd", "-v", "hostapd"),
        ("dnsmasq", "--version", "dnsmasq-base"),
        ("nft", "--version", "nftables"),
        ("ip", "-V", "iproute2"),
        ("chromium", "--version", "chromium"),
    ] {
        match version_of(program, arg) {
            Version::Printed(v) => r.ok("versions", program, v),
            Version::Failed(line) => r.problem(
                "versions",
                program,
                format!("`{program} {arg}` failed: {line}"),
                format!("sudo apt-get install --reinstall {package}"),
            ),
            Version::Missing => r.problem(
                "versions",
                program,
                "not installed",
                format!("sudo apt-get install {package}"),
            ),
        }
    }
}

/// The interfaces: name, kind, state, and whether a Wi-Fi one can be an access point.
fn interfaces(r: &mut Report) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir("/sys/class/net") else {
        r.problem(
            "interfaces",
            "/sys/class/net",
            "unreadable",
            "tcheck reads the network interfaces in sysfs: run it on the box itself, not in a \
             container or chroot without /sys",
        );
        return out;
    };
    let ap_phys = ap_capable_phys();
    let mut names: Vec<String> = entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for name in names {
        let base = Path::new("/sys/class/net").join(&name);
        if !base.join("device").exists() {
            continue; // loopback, bridges, veth, tunnels
        }
        let wifi = base.join("wireless").exists() || base.join("phy80211").exists();
        let state = read(&base.join("operstate").to_string_lossy()).unwrap_or_default();
        let mac = read(&base.join("address").to_string_lossy()).unwrap_or_default();
        let mut found = format!("{} {state}, {mac}", if wifi { "Wi-Fi" } else { "wired" });
        if wifi {
            let phy = read(&base.join("phy80211/name").to_string_lossy()).unwrap_or_default();
            match &ap_phys {
                Some(phys) if phys.contains(&phy) => found.push_str(", can be an access point"),
                Some(_) => found.push_str(", cannot be an access point"),
                None => found.push_str(", access-point support unknown (iw missing)"),
            }
        }
        r.ok("interfaces", name.clone(), found);
        out.push((name, wifi));
    }
    let wifi = out.iter().filter(|(_, w)| *w).count();
    let wired = out.len() - wifi;
    if !(wifi >= 2 || (wifi >= 1 && wired >= 1) || wired >= 2) {
        r.problem(
            "interfaces",
            "the phone's network and the box's internet",
            format!("{wifi} Wi-Fi and {wired} wired interfaces"),
            "plug in a USB Wi-Fi adapter that supports access-point mode (or a USB Ethernet adapter for a wired phone)",
        );
    }
    out
}

/// The wiphys whose `iw list` section lists AP among the supported interface modes.
fn ap_capable_phys() -> Option<Vec<String>> {
    let o = Command::new("iw")
        .arg("list")
        .stdin(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&o.stdout);
    let mut phys = Vec::new();
    let mut current = String::new();
    let mut in_modes = false;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("Wiphy ") {
            current = rest.trim().to_string();
            in_modes = false;
        } else if line.trim() == "Supported interface modes:" {
            in_modes = true;
        } else if in_modes {
            let l = line.trim();
            if let Some(mode) = l.strip_prefix("* ") {
                if mode == "AP" && !phys.contains(&current) {
                    phys.push(current.clone());
                }
            } else {
                in_modes = false;
            }
        }
    }
    Some(phys)
}

fn configuration(r: &mut Report, path: Option<&Path>, ifaces: &[(String, bool)]) {
    let path = path.map(Path::to_path_buf).or_else(|| {
        let p = PathBuf::from("/etc/tcheck/tcheck.toml");
        p.exists().then_some(p)
    });
    let Some(path) = path else {
        r.ok("configuration", "file", "none (defaults)");
        return;
    };
    let name = path.display().to_string();
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            r.problem(
                "configuration",
                name,
                e.to_string(),
                "check the file's permissions",
            );
            return;
        }
    };
    let checks = tcheck_engine::verdict::Settings::from_toml(&name, &text)
        .map(|_| ())
        .and_then(|()| ApConfig::from_toml(&name, &text).map(|_| ()));
    if let Err(e) = checks {
        r.problem(
            "configuration",
            name,
            e,
            "fix the value named (every key: /usr/share/doc/tcheck/tcheck.example.toml)",
        );
        return;
    }
    r.ok("configuration", name.clone(), "valid");
    let Ok(ap) = ApConfig::from_toml(&name, &text) else {
        return;
    };
    let mut need = vec![("interface", ap.interface.clone())];
    if let (Some(u), false) = (&ap.uplink, ap.offline) {
        need.push(("uplink", u.clone()));
    }
    for (key, iface) in need {
        if ifaces.iter().any(|(n, _)| *n == iface) {
            r.ok(
                "configuration",
                format!("[ap] {key}"),
                format!("{iface} is present"),
            );
        } else {
            r.problem(
                "configuration",
                format!("[ap] {key}"),
                format!("{iface} does not exist"),
                if ifaces.is_empty() {
                    "no network interface was found (see interfaces above)".to_string()
                } else {
                    format!(
                        "set [ap] {key} to one of: {}",
                        ifaces
                            .iter()
                            .map(|(n, _)| n.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                },
            );
        }
    }
    if let Ok(Some(state)) = tcheck_apctl::state::State::load(&ap.runtime_dir) {
        let running = state
            .processes
            .iter()
            .all(|p| tcheck_apctl::process::is_running(p.pid, &p.program));
        if running {
            r.ok(
                "configuration",
                "access point",
                format!("running on {}", state.interface),
            );
        } else {
            r.problem(
                "configuration",
                "access point",
                "a state file remains but its programs are gone (a crash)",
                "sudo tcheck ap stop --config FILE (or start a new check: it cleans up first)",
            );
        }
    }
}

fn services(r: &mut Report) {
    if !Path::new("/run/systemd/system").exists() {
        r.ok(
            "services",
            "systemd",
            "not running here (no services to check)",
        );
        return;
    }
    for unit in [
        "tcheck-web.service",
        "tcheck-feeds.timer",
        "tcheck-kiosk.service",
    ] {
        let state = |verb: &str| {
            Command::new("systemctl")
                .args([verb, unit])
                .stdin(Stdio::null())
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
                .unwrap_or_default()
        };
        let (active, enabled) = (state("is-active"), state("is-enabled"));
        let found = format!("{active}, {enabled}");
        if unit == "tcheck-kiosk.service" && enabled != "enabled" {
            r.ok("services", unit, format!("{found} (no touchscreen kiosk)"));
        } else if active == "active" {
            r.ok("services", unit, found);
        } else {
            r.problem(
                "services",
                unit,
                found,
                format!("sudo systemctl enable --now {unit}; then: journalctl -u {unit} -n 50"),
            );
        }
    }
}

fn database(r: &mut Report, path: Option<&Path>) {
    let path = path.map(Path::to_path_buf).or_else(|| {
        let p = PathBuf::from("/var/lib/tcheck/tcheck.db");
        if p.exists() {
            Some(p)
        } else {
            crate::db_cmd::default_db()
        }
    });
    let Some(path) = path else {
        r.ok("database", "database", "none (the bundled feeds are used)");
        return;
    };
    if !path.exists() {
        r.ok(
            "database",
            path.display().to_string(),
            "none yet (the bundled feeds are used)",
        );
        return;
    }
    let summary = match tcheck_store::Store::check_file(&path) {
        Ok(s) => s,
        Err(e) => {
            r.problem(
                "database",
                path.display().to_string(),
                e.to_string(),
                "restore a backup from the admin backend (Database), or move the file away to start from the bundled feeds",
            );
            return;
        }
    };
    r.ok(
        "database",
        path.display().to_string(),
        format!(
            "schema {}, {} indicators, {} whitelist entries",
            summary.version, summary.iocs, summary.whitelist
        ),
    );
    if summary.iocs == 0 {
        r.problem(
            "database",
            "indicators",
            "none",
            "tcheck feeds update, or import a feed from the admin backend",
        );
    }
    if summary.accounts == 0 {
        r.problem(
            "database",
            "admin accounts",
            "none: nobody can log in to the admin backend",
            format!("sudo tcheck admin passwd admin --db {}", path.display()),
        );
    } else {
        r.ok("database", "admin accounts", summary.accounts.to_string());
    }
    let Ok(store) = tcheck_store::Store::open(&path) else {
        return;
    };
    for f in store.feeds().unwrap_or_default() {
        let when = f.last_fetch.map_or("never".to_string(), |t| {
            tcheck_engine::Timestamp::from_parts(t, 0).iso_seconds()
        });
        match f.last_error {
            Some(e) => r.problem(
                "database",
                format!("feed {}", f.name),
                format!("last fetch {when}, failed: {e}"),
                "check the box's internet (tcheck ap internet) and the feed's address",
            ),
            None => r.ok(
                "database",
                format!("feed {}", f.name),
                format!("last fetch {when}"),
            ),
        }
    }
}

fn disk(r: &mut Report) {
    let dir = ["/var/lib/tcheck", "."]
        .into_iter()
        .find(|d| Path::new(d).exists())
        .unwrap_or(".");
    let Ok(free) = tcheck_webui::check::free_bytes(Path::new(dir)) else {
        return;
    };
    let mib = free >> 20;
    if mib < 500 {
        r.problem(
            "disk",
            dir,
            format!("{mib} MiB free"),
            "save and delete old checks (the kiosk's New check deletes the last one), or use a larger card",
        );
    } else {
        r.ok("disk", dir, format!("{mib} MiB free"));
    }
}

/// Runs `tcheck doctor`; exits 1 when something is wrong.
pub fn run(args: &DoctorArgs) -> Result<ExitCode> {
    let mut r = Report::default();
    versions(&mut r);
    let ifaces = interfaces(&mut r);
    configuration(&mut r, args.config.as_deref(), &ifaces);
    services(&mut r);
    database(&mut r, args.db.as_deref());
    disk(&mut r);
    let problems = r.findings.iter().filter(|f| f.fix.is_some()).count();
    let mut out = std::io::stdout().lock();
    use std::io::Write;
    if args.json {
        serde_json::to_writer_pretty(&mut out, &r)?;
        writeln!(out)?;
    } else {
        let mut section = "";
        for f in &r.findings {
            if f.section != section {
                section = f.section;
                writeln!(out, "{section}:")?;
            }
            let found: String = f
                .found
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect();
            match &f.fix {
                None => writeln!(out, "  {:<28} {found}", f.what)?,
                Some(fix) => {
                    writeln!(out, "  {:<28} PROBLEM: {found}", f.what)?;
                    writeln!(out, "  {:<28} fix: {fix}", "")?;
                }
            }
        }
        writeln!(
            out,
            "{}",
            if problems == 0 {
                "no problem found".to_string()
            } else {
                format!("{problems} problem(s) found")
            }
        )?;
    }
    Ok(if problems == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

#[cfg(test)]
mod tests {
    use super::has_version_number;

    /// First lines the programs print, as seen on Debian 12 (and under qemu-user, where
    /// `nft` cannot open its netlink socket).
    #[test]
    fn version_lines_are_told_from_errors() {
        assert!(has_version_number("hostapd v2.10"));
        assert!(has_version_number(
            "Dnsmasq version 2.90  Copyright (c) 2000-2024 Simon Kelley"
        ));
        assert!(has_version_number("nftables v1.0.6 (Lester Gooch #5)"));
        assert!(!has_version_number(
            "mnl.c:60: Unable to initialize Netlink socket: Protocol not supported"
        ));
        assert!(!has_version_number(
            "hostapd: error while loading shared libraries: libpcap.so.0.8: cannot open"
        ));
        assert!(!has_version_number(
            "[0101/120000.123456:ERROR:main.cc(12)] no display"
        ));
        assert!(!has_version_number(""));
    }
}
