//! The box's own way to the internet: nearby Wi-Fi networks, joining one through
//! wpa_supplicant's control socket, and an internet check against one configured address.
//!
//! The passphrase never reaches a configuration file: the pre-shared key is derived here
//! (PBKDF2-HMAC-SHA1 over the SSID, 4096 rounds, as IEEE 802.11i defines it) and handed to
//! wpa_supplicant as 64 hex digits, and the SSID as hex too, so that no character of either
//! can be misread by its parser. An Ethernet uplink is used as the system configured it.

use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use crate::error::ApError;

/// The longest reply read from wpa_supplicant (scan results of a crowded place).
const REPLY_MAX: usize = 64 << 10;

/// A nearby Wi-Fi network.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Network {
    /// The access point's BSSID.
    pub bssid: String,
    /// Frequency in MHz.
    pub frequency: u32,
    /// Signal level in dBm.
    pub signal: i32,
    /// Its name (wpa_supplicant's escapes undone).
    pub ssid: String,
    /// Whether it asks for a password (WPA/WPA2/WPA3/WEP).
    pub secured: bool,
}

/// A client of one wpa_supplicant control socket.
#[derive(Debug)]
pub struct WpaControl {
    socket: UnixDatagram,
    local: PathBuf,
}

impl WpaControl {
    /// Connects to the control socket `ctrl` (e.g. `/run/wpa_supplicant/wlan0`); the reply
    /// socket is created in `local_dir`.
    pub fn connect(ctrl: &Path, local_dir: &Path) -> Result<Self, ApError> {
        let local = local_dir.join(format!("tcheck-wpa-{}", std::process::id()));
        let _ = std::fs::remove_file(&local);
        let socket = UnixDatagram::bind(&local).map_err(|e| ApError::io(&local, e))?;
        socket
            .connect(ctrl)
            .map_err(|e| ApError::Uplink(format!("wpa_supplicant at {}: {e}", ctrl.display())))?;
        socket
            .set_read_timeout(Some(Duration::from_secs(5)))
            .map_err(|e| ApError::io(&local, e))?;
        Ok(WpaControl { socket, local })
    }

    /// Sends one command and returns the reply.
    pub fn request(&self, command: &str) -> Result<String, ApError> {
        self.socket
            .send(command.as_bytes())
            .map_err(|e| ApError::Uplink(format!("wpa_supplicant: {e}")))?;
        let mut buf = vec![0u8; REPLY_MAX];
        let n = self
            .socket
            .recv(&mut buf)
            .map_err(|e| ApError::Uplink(format!("wpa_supplicant did not answer: {e}")))?;
        Ok(String::from_utf8_lossy(buf.get(..n).unwrap_or_default()).into_owned())
    }

    fn expect_ok(&self, command: &str, what: &str) -> Result<(), ApError> {
        let reply = self.request(command)?;
        if reply.trim() == "OK" {
            Ok(())
        } else {
            Err(ApError::Uplink(format!(
                "wpa_supplicant refused to {what}: {}",
                reply.trim()
            )))
        }
    }

    /// Starts a scan (a scan already running is fine).
    pub fn scan(&self) -> Result<(), ApError> {
        let reply = self.request("SCAN")?;
        match reply.trim() {
            "OK" | "FAIL-BUSY" => Ok(()),
            other => Err(ApError::Uplink(format!(
                "wpa_supplicant refused to scan: {other}"
            ))),
        }
    }

    /// The networks of the last scan, strongest first, one entry per name.
    pub fn networks(&self) -> Result<Vec<Network>, ApError> {
        Ok(parse_scan_results(&self.request("SCAN_RESULTS")?))
    }

    /// Joins `ssid` with `passphrase` (none: an open network), as the only enabled network.
    /// Returns the network id wpa_supplicant gave it.
    pub fn join(&self, ssid: &str, passphrase: Option<&str>) -> Result<u32, ApError> {
        if ssid.is_empty() || ssid.len() > 32 {
            return Err(ApError::Uplink("a network name has 1 to 32 bytes".into()));
        }
        let id: u32 = self
            .request("ADD_NETWORK")?
            .trim()
            .parse()
            .map_err(|_| ApError::Uplink("wpa_supplicant did not add a network".into()))?;
        let ssid_hex = hex(ssid.as_bytes());
        self.expect_ok(
            &format!("SET_NETWORK {id} ssid {ssid_hex}"),
            "set the network name",
        )?;
        match passphrase {
            Some(p) => {
                let psk = psk(ssid, p)?;
                self.expect_ok(&format!("SET_NETWORK {id} psk {psk}"), "set the key")?;
            }
            None => self.expect_ok(
                &format!("SET_NETWORK {id} key_mgmt NONE"),
                "join an open network",
            )?,
        }
        self.expect_ok(&format!("SELECT_NETWORK {id}"), "select the network")?;
        Ok(id)
    }

    /// `wpa_state` and `ssid` of the STATUS reply.
    pub fn status(&self) -> Result<(String, Option<String>), ApError> {
        let reply = self.request("STATUS")?;
        let field = |k: &str| {
            reply
                .lines()
                .find_map(|l| l.strip_prefix(k)?.strip_prefix('='))
                .map(str::to_string)
        };
        Ok((field("wpa_state").unwrap_or_default(), field("ssid")))
    }
}

impl Drop for WpaControl {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.local);
    }
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

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads `SCAN_RESULTS` (`bssid<TAB>frequency<TAB>signal<TAB>flags<TAB>ssid` after a header):
/// hidden networks are skipped, each name is kept once (its strongest signal), strongest
/// first.
pub fn parse_scan_results(text: &str) -> Vec<Network> {
    let mut out: Vec<Network> = Vec::new();
    for line in text.lines().skip(1) {
        let mut f = line.splitn(5, '\t');
        let (Some(bssid), Some(freq), Some(signal), Some(flags), Some(ssid)) =
            (f.next(), f.next(), f.next(), f.next(), f.next())
        else {
            continue;
        };
        let ssid = unescape(ssid);
        if ssid.is_empty() || ssid.starts_with('\0') {
            continue;
        }
        let (Ok(frequency), Ok(signal)) = (freq.parse(), signal.parse()) else {
            continue;
        };
        let n = Network {
            bssid: bssid.to_string(),
            frequency,
            signal,
            secured: flags.contains("WPA")
                || flags.contains("RSN")
                || flags.contains("WEP")
                || flags.contains("SAE"),
            ssid,
        };
        match out.iter_mut().find(|o| o.ssid == n.ssid) {
            Some(o) if o.signal < n.signal => *o = n,
            Some(_) => {}
            None => out.push(n),
        }
    }
    out.sort_by(|a, b| b.signal.cmp(&a.signal).then(a.ssid.cmp(&b.ssid)));
    out
}

/// Undoes wpa_supplicant's escaping of names (`\\`, `\"`, `\e`, `\n`, `\r`, `\t`, `\xNN`).
fn unescape(s: &str) -> String {
    let mut bytes = Vec::with_capacity(s.len());
    let mut it = s.bytes().peekable();
    while let Some(b) = it.next() {
        if b != b'\\' {
            bytes.push(b);
            continue;
        }
        match it.next() {
            Some(b'x') => {
                let h: Vec<u8> = it.by_ref().take(2).collect();
                match std::str::from_utf8(&h)
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                {
                    Some(v) => bytes.push(v),
                    None => bytes.extend_from_slice(&h),
                }
            }
            Some(b'n') => bytes.push(b'\n'),
            Some(b'r') => bytes.push(b'\r'),
            Some(b't') => bytes.push(b'\t'),
            Some(b'e') => bytes.push(0x1b),
            Some(other) => bytes.push(other),
            None => bytes.push(b'\\'),
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
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

    #[test]
    fn scan_results_are_read_and_unescaped() {
        let t = "bssid / frequency / signal level / flags / ssid\n\
                 aa:bb:cc:dd:ee:01\t2437\t-60\t[WPA2-PSK-CCMP][ESS]\tHome\n\
                 aa:bb:cc:dd:ee:02\t5180\t-50\t[WPA2-PSK-CCMP][ESS]\tHome\n\
                 aa:bb:cc:dd:ee:03\t2412\t-70\t[ESS]\tCaf\\xc3\\xa9 \\\"libre\\\"\n\
                 aa:bb:cc:dd:ee:04\t2412\t-40\t[WPA2-PSK-CCMP][ESS]\t\n\
                 garbage\n";
        let n = parse_scan_results(t);
        assert_eq!(n.len(), 2);
        assert_eq!(n[0].ssid, "Home");
        assert_eq!(n[0].signal, -50);
        assert!(n[0].secured);
        assert_eq!(n[1].ssid, "Café \"libre\"");
        assert!(!n[1].secured);
    }

    #[test]
    fn join_sends_hex_never_the_passphrase() {
        let dir = tempfile::tempdir().unwrap();
        let server_path = dir.path().join("wlan0");
        let server = UnixDatagram::bind(&server_path).unwrap();
        let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
        let seen = log.clone();
        let t = std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            for _ in 0..4 {
                let (n, from) = server.recv_from(&mut buf).unwrap();
                let cmd = String::from_utf8_lossy(&buf[..n]).into_owned();
                let reply = if cmd == "ADD_NETWORK" { "3\n" } else { "OK\n" };
                seen.lock().unwrap().push(cmd);
                server
                    .send_to(reply.as_bytes(), from.as_pathname().unwrap())
                    .unwrap();
            }
        });
        let c = WpaControl::connect(&server_path, dir.path()).unwrap();
        let pass = "p\"ss w0rd\n;x";
        assert!(c.join("My \"Net\"", Some("p\"ss w0rd;x")).is_ok());
        t.join().unwrap();
        let sent = log.lock().unwrap().clone();
        assert_eq!(sent[0], "ADD_NETWORK");
        assert_eq!(
            sent[1],
            format!("SET_NETWORK 3 ssid {}", hex(b"My \"Net\""))
        );
        assert_eq!(
            sent[2],
            format!(
                "SET_NETWORK 3 psk {}",
                psk("My \"Net\"", "p\"ss w0rd;x").unwrap()
            )
        );
        assert_eq!(sent[3], "SELECT_NETWORK 3");
        assert!(sent.iter().all(|s| !s.contains("w0rd")));
        assert!(psk("x", pass).is_ok());
    }
}
