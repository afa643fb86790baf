//! wpa_supplicant's control socket: scan, scan results, join.

use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{hex, psk, strongest_per_name, Network};
use crate::error::ApError;

/// The longest reply read from wpa_supplicant (scan results of a crowded place).
const REPLY_MAX: usize = 64 << 10;

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

/// Reads `SCAN_RESULTS` (`bssid<TAB>frequency<TAB>signal<TAB>flags<TAB>ssid` after a header):
/// see [`strongest_per_name`].
pub fn parse_scan_results(text: &str) -> Vec<Network> {
    let mut all = Vec::new();
    for line in text.lines().skip(1) {
        let mut f = line.splitn(5, '\t');
        let (Some(bssid), Some(freq), Some(signal), Some(flags), Some(ssid)) =
            (f.next(), f.next(), f.next(), f.next(), f.next())
        else {
            continue;
        };
        let (Ok(frequency), Ok(dbm)) = (freq.parse(), signal.parse::<i32>()) else {
            continue;
        };
        all.push(Network {
            bssid: bssid.to_string(),
            frequency,
            strength: strength_of_dbm(dbm),
            secured: flags.contains("WPA")
                || flags.contains("RSN")
                || flags.contains("WEP")
                || flags.contains("SAE"),
            ssid: unescape(ssid),
        });
    }
    strongest_per_name(all)
}

/// dBm to NetworkManager's 0–100 scale (its own conversion: -100 dBm is 0, -50 is 100).
fn strength_of_dbm(dbm: i32) -> u8 {
    u8::try_from((2 * (dbm + 100)).clamp(0, 100)).unwrap_or(0)
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

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(n[0].strength, 100);
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
    }
}
