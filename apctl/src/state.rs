//! What a running access point added to the system, written down as it is added, so that
//! a later start (after a crash or a power cut) or `tcheck ap stop` can remove it all.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::Mode;
use crate::error::ApError;

/// The state file's name in the runtime directory.
pub const FILE: &str = "state.json";

/// A program started for the access point.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessEntry {
    /// hostapd or dnsmasq.
    pub name: String,
    /// Its process id.
    pub pid: u32,
    /// The program, to check that the id still belongs to it.
    pub program: PathBuf,
}

/// Everything a running access point changed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// The process that supervises the access point (`tcheck ap start`, the web server).
    pub supervisor_pid: u32,
    /// When that process started (clock ticks since boot, `/proc/PID/stat`): a pid reused
    /// by another process after a crash is then never taken for the supervisor.
    #[serde(default)]
    pub supervisor_started: Option<u64>,
    /// Wi-Fi or Ethernet.
    pub mode: Mode,
    /// The phone's interface.
    pub interface: String,
    /// The uplink, when online.
    pub uplink: Option<String>,
    /// The network's name (Wi-Fi mode).
    pub ssid: Option<String>,
    /// The box's address on the phone network.
    pub gateway: Ipv4Addr,
    /// Its prefix length.
    pub prefix: u8,
    /// The address was added to the interface.
    pub address_added: bool,
    /// The nftables table was added.
    pub nft_table: bool,
    /// IPv4 forwarding's value before the start, when it was changed.
    pub ip_forward_before: Option<String>,
    /// The programs started.
    pub processes: Vec<ProcessEntry>,
    /// When it started (Unix seconds).
    pub started: u64,
}

impl State {
    /// Writes the state to `dir` atomically (a temporary file renamed over the old one).
    pub fn save(&self, dir: &Path) -> Result<(), ApError> {
        let path = dir.join(FILE);
        let tmp = dir.join(format!("{FILE}.tmp"));
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| ApError::Config(format!("cannot write the state: {e}")))?;
        std::fs::write(&tmp, text).map_err(|e| ApError::io(&tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| ApError::io(&path, e))
    }

    /// Reads the state in `dir`: `None` when there is none; a damaged file is reported.
    pub fn load(dir: &Path) -> Result<Option<State>, ApError> {
        let path = dir.join(FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(ApError::io(&path, e)),
        };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| ApError::Config(format!("{}: damaged state file: {e}", path.display())))
    }

    /// Removes the state file.
    pub fn remove(dir: &Path) -> Result<(), ApError> {
        let path = dir.join(FILE);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(ApError::io(&path, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips_and_damage_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(State::load(dir.path()).unwrap(), None);
        let s = State {
            supervisor_pid: 42,
            supervisor_started: Some(7),
            mode: Mode::Ethernet,
            interface: "eth1".into(),
            uplink: Some("eth0".into()),
            ssid: None,
            gateway: Ipv4Addr::new(10, 42, 0, 1),
            prefix: 24,
            address_added: true,
            nft_table: true,
            ip_forward_before: Some("0".into()),
            processes: vec![ProcessEntry {
                name: "dnsmasq".into(),
                pid: 7,
                program: "dnsmasq".into(),
            }],
            started: 1,
        };
        s.save(dir.path()).unwrap();
        assert_eq!(State::load(dir.path()).unwrap(), Some(s));
        std::fs::write(dir.path().join(FILE), "{").unwrap();
        let e = State::load(dir.path()).unwrap_err().to_string();
        assert!(e.contains("damaged state file"), "{e}");
        State::remove(dir.path()).unwrap();
        State::remove(dir.path()).unwrap();
    }
}
