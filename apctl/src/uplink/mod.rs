//! The box's own way to the internet: nearby Wi-Fi networks and joining one, through
//! wpa_supplicant's control socket ([`wpa`]) or NetworkManager over D-Bus ([`nm`], Raspberry
//! Pi OS 12 and later), and an internet check against one configured address.
//!
//! The passphrase never reaches a configuration file: the pre-shared key is derived here
//! (PBKDF2-HMAC-SHA1 over the SSID, 4096 rounds, as IEEE 802.11i defines it) and handed over
//! as 64 hex digits, and to wpa_supplicant the SSID as hex too, so that no character of either
//! can be misread by a parser. An Ethernet uplink is used as the system configured it.

pub mod nm;
pub mod wpa;

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use crate::error::ApError;

/// A nearby Wi-Fi network.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Network {
    /// The access point's BSSID.
    pub bssid: String,
    /// Frequency in MHz.
    pub frequency: u32,
    /// Signal strength, 0 to 100 (NetworkManager's scale; from dBm for wpa_supplicant).
    pub strength: u8,
    /// Its name.
    pub ssid: String,
    /// Whether it asks for a password (WPA/WPA2/WPA3/WEP).
    pub secured: bool,
}

/// The uplink's Wi-Fi manager: wpa_supplicant where its control socket exists, else
/// NetworkManager (Raspberry Pi OS 12 and later).
#[derive(Debug)]
pub enum WifiManager {
    /// wpa_supplicant's control socket.
    Wpa(wpa::WpaControl),
    /// NetworkManager, and the uplink's interface.
    Nm(nm::NetworkManager, String),
}

impl WifiManager {
    /// The manager of `config`'s uplink: its `wpa_ctrl` socket, else
    /// `/run/wpa_supplicant/UPLINK` if it exists, else NetworkManager on the system bus.
    pub fn open(config: &crate::ApConfig) -> Result<WifiManager, ApError> {
        let Some(uplink) = config.uplink.clone() else {
            return Err(ApError::Uplink("no uplink: set uplink in [ap]".into()));
        };
        let ctrl = config
            .wpa_ctrl
            .clone()
            .unwrap_or_else(|| PathBuf::from("/run/wpa_supplicant").join(&uplink));
        if ctrl.exists() {
            std::fs::create_dir_all(&config.runtime_dir)
                .map_err(|e| ApError::io(&config.runtime_dir, e))?;
            return Ok(WifiManager::Wpa(wpa::WpaControl::connect(
                &ctrl,
                &config.runtime_dir,
            )?));
        }
        let nm = nm::NetworkManager::system().map_err(|e| {
            ApError::Uplink(format!(
                "neither wpa_supplicant ({}) nor NetworkManager manages {uplink}: {e}",
                ctrl.display()
            ))
        })?;
        Ok(WifiManager::Nm(nm, uplink))
    }

    /// Asks for a scan.
    pub fn scan(&self) -> Result<(), ApError> {
        match self {
            WifiManager::Wpa(w) => w.scan(),
            WifiManager::Nm(nm, iface) => nm.scan(iface),
        }
    }

    /// The networks seen: see [`strongest_per_name`].
    pub fn networks(&self) -> Result<Vec<Network>, ApError> {
        match self {
            WifiManager::Wpa(w) => w.networks(),
            WifiManager::Nm(nm, iface) => nm.networks(iface),
        }
    }

    /// Joins `ssid` with `passphrase` (none: open).
    pub fn join(&self, ssid: &str, passphrase: Option<&str>) -> Result<(), ApError> {
        match self {
            WifiManager::Wpa(w) => w.join(ssid, passphrase).map(|_| ()),
            WifiManager::Nm(nm, iface) => nm.join(iface, ssid, passphrase),
        }
    }
}

/// One entry per name (its strongest access point), strongest first; hidden networks
/// (empty names) left out.
pub fn strongest_per_name(all: Vec<Network>) -> Vec<Network> {
    let mut out: Vec<Network> = Vec::new();
    for n in all {
        if n.ssid.is_empty() || n.ssid.starts_with('\0') {
            continue;
        }
        match out.iter_mut().find(|o| o.ssid == n.ssid) {
            Some(o) if o.strength < n.strength => *o = n,
            Some(_) => {}
            None => out.push(n),
        }
    }
    out.sort_by(|a, b| b.strength.cmp(&a.strength).then(a.ssid.cmp(&b.ssid)));
    out
}

/// The WPA pre-shared key of `passphrase` on `ssid`, as 64 hex digits.
pub fn psk(ssid: &str, passphrase: &str) -> Result<String, ApError> {
    if passphrase.len() < 8 || passphrase.len() > 63 || !passphrase.is_ascii() {
        return Err(ApError::Uplink(
            "a Wi-Fi password has 8 to 63 characters (letters, digits, symbols)".into(),
        ));
    }
    let mut key = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<sha1::Sha1>(passphrase.as_bytes(), ssid.as_bytes(), 4096, &mut key);
    Ok(hex(&key))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Fetches the one configured address and says whether the internet answered (any
/// response below 400), within `timeout`. Nothing else ever leaves the box on its own.
pub fn internet_check(url: &str, timeout: Duration) -> Result<u16, ApError> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .user_agent(concat!("tcheck/", env!("CARGO_PKG_VERSION")))
        .build()
        .into();
    let resp = agent
        .get(url)
        .call()
        .map_err(|e| ApError::Uplink(format!("no internet: {url}: {e}")))?;
    let status = resp.status().as_u16();
    if status < 400 {
        Ok(status)
    } else {
        Err(ApError::Uplink(format!(
            "no internet: {url} answered {status}"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn psk_matches_the_ieee_test_vector() {
        // IEEE 802.11i-2004, annex H.4.
        assert_eq!(
            psk("IEEE", "password").unwrap(),
            "f42c6fc52df0ebef9ebb4b90b38a5f902e83fe1b135a70e23aed762e9710a12e"
        );
        assert!(psk("x", "short").is_err());
    }
}
