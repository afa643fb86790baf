//! The access point: start, supervise, stop, and clean up after a crash.

use std::ffi::OsString;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::config::{ApConfig, Mode};
use crate::credentials::Credentials;
use crate::dnsmasq::{self, Lease};
use crate::error::ApError;
use crate::process::{self, Supervised};
use crate::state::{ProcessEntry, State};
use crate::{hostapd, nft};

/// IPv4 forwarding's switch (per network namespace).
const IP_FORWARD: &str = "/proc/sys/net/ipv4/ip_forward";
/// How long a program gets to exit after SIGTERM.
const GRACE: Duration = Duration::from_secs(3);

/// A device on the phone network.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Client {
    /// Its MAC address.
    pub mac: String,
    /// Its address.
    pub ip: IpAddr,
    /// The name it gave DHCP, if any.
    pub hostname: Option<String>,
    /// Whether it holds a DHCP lease (otherwise only the neighbour table knows it).
    pub leased: bool,
}

/// A running access point. Dropping it stops it and removes what it added.
#[derive(Debug)]
pub struct AccessPoint {
    config: ApConfig,
    creds: Option<Credentials>,
    state: State,
    processes: Vec<Supervised>,
    stopped: bool,
}

impl AccessPoint {
    /// Starts the access point: the phone interface's address, the nftables table,
    /// forwarding, dnsmasq, and in Wi-Fi mode hostapd (waiting for `AP-ENABLED`). Whatever
    /// an earlier, crashed run left behind is removed first; if a step fails, everything
    /// added before it is removed and the error names the step and what the program said.
    pub fn start(config: ApConfig) -> Result<AccessPoint, ApError> {
        config.validate().map_err(ApError::Config)?;
        let dir = config.runtime_dir.clone();
        create_private_dir(&dir)?;
        if let Some(old) = State::load(&dir)? {
            if old.supervisor_pid != std::process::id()
                && process::is_same_process(old.supervisor_pid, old.supervisor_started)
                && old
                    .processes
                    .iter()
                    .any(|p| process::is_running(p.pid, &p.program))
            {
                return Err(ApError::Config(format!(
                    "an access point is already running on {} (process {}); stop it first",
                    old.interface, old.supervisor_pid
                )));
            }
            cleanup(&config, &old);
        }
        // Even without a state file: a table of ours is never left in place.
        delete_table(&config);
        let creds = match config.mode {
            Mode::Wifi => Some(Credentials::generate(&config.ssids).map_err(ApError::Config)?),
            Mode::Ethernet => None,
        };
        let mut ap = AccessPoint {
            state: State {
                supervisor_pid: std::process::id(),
                supervisor_started: process::start_time(std::process::id()),
                mode: config.mode,
                interface: config.interface.clone(),
                uplink: (!config.offline).then(|| config.uplink.clone()).flatten(),
                ssid: creds.as_ref().map(|c| c.ssid.clone()),
                gateway: config.gateway(),
                prefix: config.subnet.prefix_len(),
                address_added: false,
                nft_table: false,
                ip_forward_before: None,
                processes: Vec::new(),
                started: SystemTime::now()
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs()),
            },
            config,
            creds,
            processes: Vec::new(),
            stopped: false,
        };
        if let Err(e) = ap.bring_up() {
            ap.stop();
            return Err(e);
        }
        Ok(ap)
    }

    fn bring_up(&mut self) -> Result<(), ApError> {
        let dir = self.config.runtime_dir.clone();
        let tools = self.config.tools.clone();
        self.state.save(&dir)?;
        let iface = self.config.interface.clone();
        let cidr = format!("{}/{}", self.state.gateway, self.state.prefix);

        process::run(&tools.ip, &["link", "set", "dev", &iface, "up"])?;
        self.state.address_added = true;
        self.state.save(&dir)?;
        process::run(&tools.ip, &["addr", "replace", &cidr, "dev", &iface])?;

        let rules = dir.join("tcheck.nft");
        write_private(&rules, &nft::render(&self.config))?;
        self.state.nft_table = true;
        self.state.save(&dir)?;
        let path = path_arg(&rules)?;
        process::run(&tools.nft, &["-f", &path])?;

        if self.state.uplink.is_some() {
            let before = std::fs::read_to_string(IP_FORWARD)
                .map_err(|e| ApError::io(Path::new(IP_FORWARD), e))?;
            if before.trim() != "1" {
                self.state.ip_forward_before = Some(before.trim().to_string());
                self.state.save(&dir)?;
                std::fs::write(IP_FORWARD, "1\n")
                    .map_err(|e| ApError::io(Path::new(IP_FORWARD), e))?;
            }
        }

        let upstream = if self.config.offline {
            Vec::new()
        } else if self.config.upstream_dns.is_empty() {
            let text = std::fs::read_to_string("/etc/resolv.conf")
                .map_err(|e| ApError::io(Path::new("/etc/resolv.conf"), e))?;
            dnsmasq::resolv_conf_servers(&text)
        } else {
            self.config.upstream_dns.clone()
        };
        let conf = dir.join("dnsmasq.conf");
        write_private(
            &conf,
            &dnsmasq::render(&self.config, &upstream, &dir.join("dnsmasq.leases"))
                .map_err(ApError::Config)?,
        )?;
        let args: Vec<OsString> = vec![
            "--keep-in-foreground".into(),
            format!("--conf-file={}", path_arg(&conf)?).into(),
            format!("--pid-file={}", path_arg(&dir.join("dnsmasq.pid"))?).into(),
        ];
        self.launch(
            "dnsmasq",
            &tools.dnsmasq,
            &args,
            &dir.join("dnsmasq.log"),
            dnsmasq::READY,
            &[],
        )?;

        if let (Mode::Wifi, Some(creds)) = (self.config.mode, self.creds.clone()) {
            let uplink_channel = self
                .state
                .uplink
                .as_deref()
                .and_then(|u| process::run(&tools.iw, &["dev", u, "info"]).ok())
                .and_then(|info| hostapd::parse_iw_channel(&info));
            let channel = hostapd::choose_channel(&self.config, uplink_channel);
            let conf = dir.join("hostapd.conf");
            write_private(
                &conf,
                &hostapd::render(&self.config, &creds, channel, &dir.join("hostapd"))
                    .map_err(ApError::Config)?,
            )?;
            self.launch(
                "hostapd",
                &tools.hostapd,
                &[conf.into_os_string()],
                &dir.join("hostapd.log"),
                "AP-ENABLED",
                &["AP-DISABLED", "errors found in configuration file"],
            )?;
        }
        Ok(())
    }

    fn launch(
        &mut self,
        name: &str,
        program: &Path,
        args: &[OsString],
        log: &Path,
        ready: &str,
        failures: &[&str],
    ) -> Result<(), ApError> {
        let mut p = Supervised::spawn(name, program, args, Some(log))?;
        self.state.processes.push(ProcessEntry {
            name: name.to_string(),
            pid: p.pid(),
            program: program.to_path_buf(),
        });
        self.state.save(&self.config.runtime_dir)?;
        let timeout = Duration::from_secs(self.config.start_timeout_secs);
        let ready = p.wait_ready(ready, failures, timeout);
        self.processes.push(p);
        ready
    }

    /// The network's name and password (Wi-Fi mode).
    pub fn credentials(&self) -> Option<&Credentials> {
        self.creds.as_ref()
    }

    /// What the access point changed, as written to its state file.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// The settings it runs with.
    pub fn config(&self) -> &ApConfig {
        &self.config
    }

    /// An error if one of its programs stopped, quoting what it said last.
    pub fn check(&mut self) -> Result<(), ApError> {
        for p in &mut self.processes {
            p.check_alive()?;
        }
        Ok(())
    }

    /// The devices on the phone network: DHCP leases, and the neighbour table for devices
    /// with a static address.
    pub fn clients(&self) -> Vec<Client> {
        clients(&self.config)
    }

    /// Stops the programs and removes everything the access point added. Safe to call twice.
    pub fn stop(&mut self) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        for p in self.processes.iter_mut().rev() {
            p.stop(GRACE);
        }
        self.processes.clear();
        cleanup(&self.config, &self.state);
    }
}

impl Drop for AccessPoint {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Removes what `state` says was added: programs (only if their process id still runs the
/// same program), the nftables table, the interface address, the forwarding switch, the
/// generated files and the state file. Every step is attempted whatever the others did.
pub fn cleanup(config: &ApConfig, state: &State) {
    for p in state.processes.iter().rev() {
        if process::is_running(p.pid, &p.program) {
            process::terminate(p.pid, GRACE);
        }
    }
    if state.nft_table {
        delete_table(config);
    }
    if state.address_added {
        let cidr = format!("{}/{}", state.gateway, state.prefix);
        let _ = process::run(
            &config.tools.ip,
            &["addr", "del", &cidr, "dev", &state.interface],
        );
    }
    if let Some(before) = &state.ip_forward_before {
        let _ = std::fs::write(IP_FORWARD, format!("{before}\n"));
    }
    let dir = &config.runtime_dir;
    for f in [
        "tcheck.nft",
        "dnsmasq.conf",
        "dnsmasq.leases",
        "dnsmasq.pid",
        "dnsmasq.log",
        "hostapd.conf",
        "hostapd.log",
    ] {
        let _ = std::fs::remove_file(dir.join(f));
    }
    let _ = std::fs::remove_dir_all(dir.join("hostapd"));
    let _ = State::remove(dir);
}

/// Stops an access point from another process: signals its supervisor and waits for it to
/// clean up; if the supervisor is gone (a crash), cleans up from the state file. Returns
/// whether there was anything to stop.
pub fn stop_from_state(config: &ApConfig, wait: Duration) -> Result<bool, ApError> {
    let dir = &config.runtime_dir;
    let Some(state) = State::load(dir)? else {
        delete_table(config);
        return Ok(false);
    };
    let supervisor = state.supervisor_pid;
    // Signalled only if it is still the process that wrote the state: after a crash and a
    // reboot or a long uptime, its pid may belong to anything.
    if supervisor != std::process::id()
        && process::is_same_process(supervisor, state.supervisor_started)
    {
        process::terminate(supervisor, wait);
        let deadline = std::time::Instant::now() + wait;
        while std::time::Instant::now() < deadline && State::load(dir)?.is_some() {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    if let Some(left) = State::load(dir)? {
        cleanup(config, &left);
    }
    Ok(true)
}

/// The devices on the phone network of `config` (see [`AccessPoint::clients`]).
pub fn clients(config: &ApConfig) -> Vec<Client> {
    let leases: Vec<Lease> = std::fs::read_to_string(config.runtime_dir.join("dnsmasq.leases"))
        .map(|t| dnsmasq::parse_leases(&t))
        .unwrap_or_default();
    let mut out: Vec<Client> = leases
        .into_iter()
        .map(|l| Client {
            mac: l.mac,
            ip: l.ip,
            hostname: l.hostname,
            leased: true,
        })
        .collect();
    let arp = std::fs::read_to_string("/proc/net/arp").unwrap_or_default();
    for (ip, mac) in parse_arp(&arp, &config.interface) {
        if !out.iter().any(|c| c.mac == mac) {
            out.push(Client {
                mac,
                ip: IpAddr::V4(ip),
                hostname: None,
                leased: false,
            });
        }
    }
    out
}

/// The complete entries of `/proc/net/arp` on `iface`: (address, MAC).
pub fn parse_arp(text: &str, iface: &str) -> Vec<(Ipv4Addr, String)> {
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let (ip, flags, mac, dev) = (f.first()?, f.get(2)?, f.get(3)?, f.get(5)?);
            let complete = u32::from_str_radix(flags.trim_start_matches("0x"), 16).ok()? & 2 != 0;
            (complete && *dev == iface && *mac != "00:00:00:00:00:00")
                .then(|| Some((ip.parse().ok()?, mac.to_ascii_lowercase())))
                .flatten()
        })
        .collect()
}

fn delete_table(config: &ApConfig) {
    let listed = process::run(&config.tools.nft, &["list", "tables"]).unwrap_or_default();
    let ours = format!("table inet {}", nft::TABLE);
    if listed.lines().any(|l| l.trim() == ours) {
        let _ = process::run(&config.tools.nft, &["delete", "table", "inet", nft::TABLE]);
    }
}

fn create_private_dir(dir: &Path) -> Result<(), ApError> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| ApError::io(dir, e))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .map_err(|e| ApError::io(dir, e))
}

/// Writes a file only its owner can read (hostapd's holds the Wi-Fi password).
fn write_private(path: &Path, text: &str) -> Result<(), ApError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let _ = std::fs::remove_file(path);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| ApError::io(path, e))?;
    f.write_all(text.as_bytes())
        .map_err(|e| ApError::io(path, e))
}

fn path_arg(path: &Path) -> Result<String, ApError> {
    path.to_str()
        .map(str::to_string)
        .ok_or_else(|| ApError::Config(format!("{}: not a UTF-8 path", path.display())))
}

/// The runtime directory's files that hold a running access point's logs.
pub fn log_files(config: &ApConfig) -> [PathBuf; 2] {
    [
        config.runtime_dir.join("dnsmasq.log"),
        config.runtime_dir.join("hostapd.log"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arp_entries_of_the_interface() {
        let t = "IP address       HW type     Flags       HW address            Mask     Device\n\
                 10.42.0.12       0x1         0x2         aa:BB:cc:dd:ee:ff     *        eth1\n\
                 10.42.0.13       0x1         0x0         00:00:00:00:00:00     *        eth1\n\
                 192.168.1.1      0x1         0x2         11:22:33:44:55:66     *        eth0\n";
        assert_eq!(
            parse_arp(t, "eth1"),
            vec![(
                Ipv4Addr::new(10, 42, 0, 12),
                "aa:bb:cc:dd:ee:ff".to_string()
            )]
        );
    }
}
