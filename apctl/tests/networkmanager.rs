//! The NetworkManager client against a stand-in NetworkManager: a private D-Bus daemon (the
//! real `dbus-daemon`) and a service that exposes the objects, interfaces, methods and
//! properties of NetworkManager's documented D-Bus API that tcheck uses, recording what it
//! is asked. Skipped, saying so, without `dbus-daemon`, unless `TCHECK_REQUIRE_SYSTEM=1`.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use tcheck_apctl::uplink::nm::NetworkManager;
use tcheck_apctl::uplink::psk;
use zbus::zvariant::{OwnedObjectPath, OwnedValue};

struct Bus {
    daemon: Child,
    address: String,
}

impl Drop for Bus {
    fn drop(&mut self) {
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
    }
}

fn private_bus() -> Option<Bus> {
    let spawned = Command::new("dbus-daemon")
        .args(["--session", "--nofork", "--print-address=1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn();
    let mut daemon = match spawned {
        Ok(d) => d,
        Err(e) => {
            assert!(
                std::env::var("TCHECK_REQUIRE_SYSTEM").as_deref() != Ok("1"),
                "dbus-daemon: {e}, but TCHECK_REQUIRE_SYSTEM=1"
            );
            eprintln!("skipped: no dbus-daemon ({e})");
            return None;
        }
    };
    let mut line = String::new();
    BufReader::new(daemon.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    Some(Bus {
        daemon,
        address: line.trim().to_string(),
    })
}

type Log = Arc<Mutex<Vec<String>>>;

struct Nm {
    log: Log,
}

#[zbus::interface(name = "org.freedesktop.NetworkManager")]
impl Nm {
    fn get_device_by_ip_iface(&self, iface: &str) -> zbus::fdo::Result<OwnedObjectPath> {
        if iface == "wlan0" {
            Ok(OwnedObjectPath::try_from("/org/freedesktop/NetworkManager/Devices/3").unwrap())
        } else {
            Err(zbus::fdo::Error::Failed(format!(
                "No device found for the requested iface {iface}"
            )))
        }
    }

    fn add_and_activate_connection(
        &self,
        connection: HashMap<String, HashMap<String, OwnedValue>>,
        device: OwnedObjectPath,
        specific_object: OwnedObjectPath,
    ) -> (OwnedObjectPath, OwnedObjectPath) {
        let mut log = self.log.lock().unwrap();
        log.push(format!("device {}", device.as_str()));
        log.push(format!("specific {}", specific_object.as_str()));
        let mut groups: Vec<_> = connection.into_iter().collect();
        groups.sort_by(|a, b| a.0.cmp(&b.0));
        for (group, values) in groups {
            let mut keys: Vec<_> = values.into_iter().collect();
            keys.sort_by(|a, b| a.0.cmp(&b.0));
            for (k, v) in keys {
                let shown = match v.downcast_ref::<zbus::zvariant::Str>() {
                    Ok(s) => s.to_string(),
                    Err(_) => match Vec::<u8>::try_from(v.try_clone().unwrap()) {
                        Ok(bytes) => format!("bytes:{}", String::from_utf8_lossy(&bytes)),
                        Err(_) => format!("{v:?}"),
                    },
                };
                log.push(format!("{group}.{k}={shown}"));
            }
        }
        (
            OwnedObjectPath::try_from("/org/freedesktop/NetworkManager/Settings/7").unwrap(),
            OwnedObjectPath::try_from("/org/freedesktop/NetworkManager/ActiveConnection/9")
                .unwrap(),
        )
    }
}

struct Wireless {
    log: Log,
}

#[zbus::interface(name = "org.freedesktop.NetworkManager.Device.Wireless")]
impl Wireless {
    fn request_scan(&self, _options: HashMap<String, OwnedValue>) {
        self.log.lock().unwrap().push("scan".into());
    }

    fn get_all_access_points(&self) -> Vec<OwnedObjectPath> {
        (1..=3)
            .map(|i| {
                OwnedObjectPath::try_from(format!(
                    "/org/freedesktop/NetworkManager/AccessPoint/{i}"
                ))
                .unwrap()
            })
            .collect()
    }
}

struct AccessPoint {
    ssid: Vec<u8>,
    strength: u8,
    frequency: u32,
    rsn: u32,
}

#[zbus::interface(name = "org.freedesktop.NetworkManager.AccessPoint")]
impl AccessPoint {
    #[zbus(property)]
    fn ssid(&self) -> Vec<u8> {
        self.ssid.clone()
    }
    #[zbus(property)]
    fn strength(&self) -> u8 {
        self.strength
    }
    #[zbus(property)]
    fn frequency(&self) -> u32 {
        self.frequency
    }
    #[zbus(property)]
    fn hw_address(&self) -> String {
        format!("aa:bb:cc:00:00:{:02x}", self.strength)
    }
    #[zbus(property)]
    fn flags(&self) -> u32 {
        u32::from(self.rsn != 0)
    }
    #[zbus(property)]
    fn wpa_flags(&self) -> u32 {
        0
    }
    #[zbus(property)]
    fn rsn_flags(&self) -> u32 {
        self.rsn
    }
}

fn stand_in(address: &str, log: &Log) -> zbus::blocking::Connection {
    let aps = [
        ("Home", 60, 2437, 0x188),
        ("Café libre", 80, 2412, 0),
        ("Home", 90, 5180, 0x188),
    ];
    let mut b = zbus::blocking::connection::Builder::address(address)
        .unwrap()
        .name("org.freedesktop.NetworkManager")
        .unwrap()
        .serve_at("/org/freedesktop/NetworkManager", Nm { log: log.clone() })
        .unwrap()
        .serve_at(
            "/org/freedesktop/NetworkManager/Devices/3",
            Wireless { log: log.clone() },
        )
        .unwrap();
    for (i, (ssid, strength, frequency, rsn)) in aps.into_iter().enumerate() {
        b = b
            .serve_at(
                format!("/org/freedesktop/NetworkManager/AccessPoint/{}", i + 1),
                AccessPoint {
                    ssid: ssid.as_bytes().to_vec(),
                    strength,
                    frequency,
                    rsn,
                },
            )
            .unwrap();
    }
    b.build().unwrap()
}

#[test]
fn networkmanager_scan_list_and_join_with_the_psk_only() {
    let Some(bus) = private_bus() else { return };
    let log: Log = Arc::default();
    let _service = stand_in(&bus.address, &log);
    let nm = NetworkManager::at(&bus.address).unwrap();

    nm.scan("wlan0").unwrap();
    let nets = nm.networks("wlan0").unwrap();
    assert_eq!(nets.len(), 2, "{nets:?}");
    assert_eq!(
        (nets[0].ssid.as_str(), nets[0].strength, nets[0].frequency),
        ("Home", 90, 5180)
    );
    assert!(nets[0].secured);
    assert_eq!(nets[1].ssid, "Café libre");
    assert!(!nets[1].secured);

    let e = nm.networks("wlan7").unwrap_err().to_string();
    assert!(e.contains("no device wlan7"), "{e}");

    nm.join("wlan0", "Home", Some("correct horse battery"))
        .unwrap();
    let log = log.lock().unwrap().clone();
    let key = psk("Home", "correct horse battery").unwrap();
    for expected in [
        "scan".to_string(),
        "device /org/freedesktop/NetworkManager/Devices/3".into(),
        "specific /".into(),
        "802-11-wireless.ssid=bytes:Home".into(),
        "802-11-wireless-security.key-mgmt=wpa-psk".into(),
        format!("802-11-wireless-security.psk={key}"),
        "connection.type=802-11-wireless".into(),
    ] {
        assert!(log.contains(&expected), "{expected} not in {log:#?}");
    }
    assert!(log.iter().all(|l| !l.contains("horse")), "{log:#?}");
}
