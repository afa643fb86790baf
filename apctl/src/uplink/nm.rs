//! NetworkManager over D-Bus (it manages Wi-Fi on Raspberry Pi OS 12 and later, where
//! wpa_supplicant has no control socket): scan, the access points it sees, and joining one
//! with `AddAndActivateConnection`. The key is handed over as the 64-hex-digit PSK, never
//! the passphrase, so NetworkManager's stored connection does not hold it either.

use std::collections::HashMap;

use zbus::blocking::{Connection, Proxy};
use zbus::zvariant::{ObjectPath, OwnedObjectPath, Value};

use super::{psk, strongest_per_name, Network};
use crate::error::ApError;

const SERVICE: &str = "org.freedesktop.NetworkManager";
const ROOT: &str = "/org/freedesktop/NetworkManager";
const WIRELESS: &str = "org.freedesktop.NetworkManager.Device.Wireless";
const ACCESS_POINT: &str = "org.freedesktop.NetworkManager.AccessPoint";

/// A client of NetworkManager.
#[derive(Debug)]
pub struct NetworkManager {
    conn: Connection,
}

fn nm_error(e: zbus::Error) -> ApError {
    ApError::Uplink(format!("NetworkManager: {e}"))
}

impl NetworkManager {
    /// Connects to NetworkManager on the system bus.
    pub fn system() -> Result<Self, ApError> {
        Ok(NetworkManager {
            conn: Connection::system().map_err(nm_error)?,
        })
    }

    /// Connects to a NetworkManager on the bus at `address` (a D-Bus address).
    pub fn at(address: &str) -> Result<Self, ApError> {
        let conn = zbus::blocking::connection::Builder::address(address)
            .and_then(|b| b.build())
            .map_err(nm_error)?;
        Ok(NetworkManager { conn })
    }

    fn proxy<'a>(&self, path: &'a str, interface: &'a str) -> Result<Proxy<'a>, ApError> {
        Proxy::new(&self.conn, SERVICE, path, interface).map_err(nm_error)
    }

    /// The device object of interface `iface`.
    fn device(&self, iface: &str) -> Result<OwnedObjectPath, ApError> {
        self.proxy(ROOT, SERVICE)?
            .call("GetDeviceByIpIface", &(iface,))
            .map_err(|e| ApError::Uplink(format!("NetworkManager: no device {iface}: {e}")))
    }

    /// Asks `iface` to scan.
    pub fn scan(&self, iface: &str) -> Result<(), ApError> {
        let dev = self.device(iface)?;
        let options: HashMap<&str, Value> = HashMap::new();
        let wireless = self.proxy(dev.as_str(), WIRELESS)?;
        wireless
            .call::<_, _, ()>("RequestScan", &(options,))
            .map_err(nm_error)
    }

    /// The networks `iface` sees: see [`strongest_per_name`].
    pub fn networks(&self, iface: &str) -> Result<Vec<Network>, ApError> {
        let dev = self.device(iface)?;
        let aps: Vec<OwnedObjectPath> = self
            .proxy(dev.as_str(), WIRELESS)?
            .call("GetAllAccessPoints", &())
            .map_err(nm_error)?;
        let mut all = Vec::new();
        for ap in &aps {
            let p = self.proxy(ap.as_str(), ACCESS_POINT)?;
            let ssid: Vec<u8> = p.get_property("Ssid").map_err(nm_error)?;
            let flags: u32 = p.get_property("Flags").map_err(nm_error)?;
            let wpa: u32 = p.get_property("WpaFlags").map_err(nm_error)?;
            let rsn: u32 = p.get_property("RsnFlags").map_err(nm_error)?;
            all.push(Network {
                bssid: p.get_property("HwAddress").map_err(nm_error)?,
                frequency: p.get_property("Frequency").map_err(nm_error)?,
                strength: p.get_property("Strength").map_err(nm_error)?,
                ssid: String::from_utf8_lossy(&ssid).into_owned(),
                // NM_802_11_AP_FLAGS_PRIVACY, or any WPA/RSN capability.
                secured: flags & 1 != 0 || wpa != 0 || rsn != 0,
            });
        }
        Ok(strongest_per_name(all))
    }

    /// Joins `ssid` on `iface` with `passphrase` (none: an open network) as a new connection
    /// profile, and activates it.
    pub fn join(&self, iface: &str, ssid: &str, passphrase: Option<&str>) -> Result<(), ApError> {
        if ssid.is_empty() || ssid.len() > 32 {
            return Err(ApError::Uplink("a network name has 1 to 32 bytes".into()));
        }
        let dev = self.device(iface)?;
        let mut settings: HashMap<&str, HashMap<&str, Value>> = HashMap::new();
        let id = format!("tcheck {ssid}");
        settings.insert(
            "connection",
            HashMap::from([
                ("id", Value::from(id.as_str())),
                ("type", Value::from("802-11-wireless")),
                ("autoconnect", Value::from(true)),
            ]),
        );
        settings.insert(
            "802-11-wireless",
            HashMap::from([
                ("ssid", Value::from(ssid.as_bytes().to_vec())),
                ("mode", Value::from("infrastructure")),
            ]),
        );
        if let Some(p) = passphrase {
            let key = psk(ssid, p)?;
            settings.insert(
                "802-11-wireless-security",
                HashMap::from([
                    ("key-mgmt", Value::from("wpa-psk")),
                    ("psk", Value::from(key)),
                ]),
            );
        }
        let any = ObjectPath::try_from("/").map_err(|e| nm_error(e.into()))?;
        let _: (OwnedObjectPath, OwnedObjectPath) = self
            .proxy(ROOT, SERVICE)?
            .call("AddAndActivateConnection", &(settings, dev, any))
            .map_err(nm_error)?;
        Ok(())
    }
}
