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
