//! `tcheck ap`: the ephemeral access point from the command line.

use std::io::{BufRead, Write};
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::analyze::sanitize;
use clap::{Args, Subcommand};
use tcheck_apctl::uplink::{self, WifiManager};
use tcheck_apctl::{AccessPoint, ApConfig, Client, Mode};

/// `tcheck ap` subcommands.
#[derive(Debug, Subcommand)]
pub enum ApCommand {
    /// Start the access point and supervise it until Ctrl-C, SIGTERM or `tcheck ap stop`.
    Start(ApOpts),
    /// Stop a running access point (or clean up after one that crashed).
    Stop(ApOpts),
    /// Say whether an access point runs, and which devices joined it.
    Status {
        /// The access point's settings.
        #[command(flatten)]
        opts: ApOpts,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// List the Wi-Fi networks the uplink sees (through wpa_supplicant or NetworkManager).
    Networks(ApOpts),
    /// Join a Wi-Fi network with the uplink; the password is read from standard input.
    Join {
        /// The network's name.
        ssid: String,
        /// The network is open (no password is read).
        #[arg(long)]
        open: bool,
        /// The access point's settings.
        #[command(flatten)]
        opts: ApOpts,
    },
    /// Check the internet through the one configured address.
    Internet(ApOpts),
}

/// Settings of the access point: the configuration file's `[ap]` table, then these options.
#[derive(Debug, Args)]
pub struct ApOpts {
    /// A configuration file (TOML) with an `[ap]` table (see docs/tcheck.example.toml).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// `wifi` (hostapd) or `ethernet` (a wired interface for the phone).
    #[arg(long, value_name = "wifi|ethernet")]
    mode: Option<String>,
    /// The phone's interface.
    #[arg(long, value_name = "IF")]
    interface: Option<String>,
    /// The interface towards the internet.
    #[arg(long, value_name = "IF")]
    uplink: Option<String>,
    /// No internet for the phone: every name answered with the box's address.
    #[arg(long)]
    offline: bool,
    /// DNS servers to forward to (repeatable; default: the box's resolv.conf).
    #[arg(long = "upstream-dns", value_name = "ADDR")]
    upstream_dns: Vec<IpAddr>,
    /// Where the generated files and the state live.
    #[arg(long, value_name = "DIR")]
    runtime_dir: Option<PathBuf>,
}

impl ApOpts {
    fn config(&self) -> Result<ApConfig> {
        let mut c = match &self.config {
            Some(path) => {
                let text =
                    std::fs::read_to_string(path).with_context(|| path.display().to_string())?;
                ApConfig::from_toml(&path.display().to_string(), &text)
                    .map_err(anyhow::Error::msg)?
            }
            None => ApConfig::default(),
        };
        if let Some(m) = &self.mode {
            c.mode = match m.as_str() {
                "wifi" => Mode::Wifi,
                "ethernet" => Mode::Ethernet,
                other => anyhow::bail!("--mode: `{other}` is neither wifi nor ethernet"),
            };
        }
        if let Some(i) = &self.interface {
            c.interface = i.clone();
        }
        if let Some(u) = &self.uplink {
            c.uplink = Some(u.clone());
        }
        if self.offline {
            c.offline = true;
        }
        if !self.upstream_dns.is_empty() {
            c.upstream_dns = self.upstream_dns.clone();
        }
        if let Some(d) = &self.runtime_dir {
            c.runtime_dir = d.clone();
        }
        c.validate()
            .map_err(|e| anyhow::anyhow!("access point settings: {e}"))?;
        Ok(c)
    }
}

/// Runs a `tcheck ap` subcommand.
pub fn run(cmd: &ApCommand) -> Result<ExitCode> {
    match cmd {
        ApCommand::Start(opts) => start(&opts.config()?),
        ApCommand::Stop(opts) => {
            let c = opts.config()?;
            let stopped = tcheck_apctl::stop_from_state(&c, Duration::from_secs(10))?;
            println!(
                "{}",
                if stopped {
                    "access point stopped; everything it added was removed"
                } else {
                    "no access point was running"
                }
            );
            Ok(ExitCode::SUCCESS)
        }
        ApCommand::Status { opts, json } => status(&opts.config()?, *json),
        ApCommand::Networks(opts) => {
            let c = opts.config()?;
            let wifi = WifiManager::open(&c)?;
            wifi.scan()?;
            std::thread::sleep(Duration::from_secs(3));
            for n in wifi.networks()? {
                println!(
                    "{:>3} %  {:>5} MHz  {}  {}",
                    n.strength,
                    n.frequency,
                    if n.secured { "secured" } else { "open   " },
                    sanitize(&n.ssid)
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        ApCommand::Join { ssid, open, opts } => {
            let c = opts.config()?;
            let wifi = WifiManager::open(&c)?;
            let pass = if *open {
                None
            } else {
                eprint!("password for {}: ", sanitize(ssid));
                let mut line = String::new();
                std::io::stdin().lock().read_line(&mut line)?;
                Some(line.trim_end_matches(['\r', '\n']).to_string())
            };
            wifi.join(ssid, pass.as_deref())?;
            println!("joining {}", sanitize(ssid));
            Ok(ExitCode::SUCCESS)
        }
        ApCommand::Internet(opts) => {
            let c = opts.config()?;
            let status = uplink::internet_check(&c.internet_check_url, Duration::from_secs(10))?;
            println!("internet: {} answered {status}", c.internet_check_url);
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn start(config: &ApConfig) -> Result<ExitCode> {
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, stop.clone())
            .with_context(|| format!("cannot handle signal {signal}"))?;
    }
    let mut ap = AccessPoint::start(config.clone())?;
    let mut out = std::io::stdout().lock();
    match (config.mode, ap.credentials()) {
        (Mode::Wifi, Some(c)) => {
            writeln!(out, "access point up on {}", config.interface)?;
            writeln!(out, "  network:  {}", c.ssid)?;
            writeln!(out, "  password: {}", c.password)?;
            writeln!(out, "  QR code:  {}", c.qr_payload())?;
        }
        _ => writeln!(
            out,
            "phone network up on {} (wired), the box is {}",
            config.interface,
            config.gateway()
        )?,
    }
    writeln!(
        out,
        "  {}",
        if config.offline {
            "offline: every name the phone looks up is answered with the box's address".into()
        } else {
            format!(
                "internet through {}",
                config.uplink.as_deref().unwrap_or("-")
            )
        }
    )?;
    out.flush()?;
    let mut known: Vec<Client> = Vec::new();
    while !stop.load(Ordering::SeqCst) {
        if let Err(e) = ap.check() {
            ap.stop();
            return Err(anyhow::Error::from(e).context("the access point stopped"));
        }
        for c in ap.clients() {
            // The neighbour table may show a device before DHCP has written its name: a
            // device is announced again once its name is known.
            if !known.contains(&c) {
                writeln!(
                    out,
                    "device joined: {} ({}, {})",
                    sanitize(c.hostname.as_deref().unwrap_or("no name")),
                    c.mac,
                    c.ip
                )?;
                out.flush()?;
                known.retain(|k| k.mac != c.mac);
                known.push(c);
            }
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    ap.stop();
    writeln!(out, "access point stopped; everything it added was removed")?;
    Ok(ExitCode::SUCCESS)
}

fn status(config: &ApConfig, json: bool) -> Result<ExitCode> {
    let state = tcheck_apctl::state::State::load(&config.runtime_dir)?;
    let clients = tcheck_apctl::clients(config);
    let running = state.as_ref().is_some_and(|s| {
        s.processes
            .iter()
            .all(|p| tcheck_apctl::process::is_running(p.pid, &p.program))
    });
    let mut out = std::io::stdout().lock();
    if json {
        let v = serde_json::json!({
            "running": running,
            "state": state,
            "clients": clients,
        });
        serde_json::to_writer_pretty(&mut out, &v)?;
        writeln!(out)?;
        return Ok(ExitCode::SUCCESS);
    }
    match &state {
        None => writeln!(out, "no access point")?,
        Some(s) => {
            writeln!(
                out,
                "access point {} on {} ({:?}{}), started by process {}",
                if running {
                    "running"
                } else {
                    "NOT running (crashed?)"
                },
                s.interface,
                s.mode,
                s.ssid
                    .as_ref()
                    .map(|n| format!(", network {}", sanitize(n)))
                    .unwrap_or_default(),
                s.supervisor_pid
            )?;
            for c in &clients {
                writeln!(
                    out,
                    "  device {} ({}, {})",
                    sanitize(c.hostname.as_deref().unwrap_or("no name")),
                    c.mac,
                    c.ip
                )?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
