//! The access point's settings: the `[ap]` table of tcheck's configuration file.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};

/// How the phone joins the box.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// An ephemeral Wi-Fi network served by hostapd.
    Wifi,
    /// A wired interface (a USB Ethernet adapter): no hostapd, the same DHCP, DNS and rules.
    Ethernet,
}

/// The Wi-Fi band of the access point.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
pub enum Band {
    /// 2.4 GHz (every phone, every Pi).
    #[serde(rename = "2.4")]
    Ghz2_4,
    /// 5 GHz.
    #[serde(rename = "5")]
    Ghz5,
}

/// The external programs, by path or by name looked up in `PATH`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Tools {
    /// hostapd.
    pub hostapd: PathBuf,
    /// dnsmasq.
    pub dnsmasq: PathBuf,
    /// nft (nftables).
    pub nft: PathBuf,
    /// ip (iproute2).
    pub ip: PathBuf,
    /// iw, to read the uplink's channel.
    pub iw: PathBuf,
}

impl Default for Tools {
    fn default() -> Self {
        Tools {
            hostapd: "hostapd".into(),
            dnsmasq: "dnsmasq".into(),
            nft: "nft".into(),
            ip: "ip".into(),
            iw: "iw".into(),
        }
    }
}

/// The access point's settings.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApConfig {
    /// Wi-Fi or Ethernet on the phone's side.
    pub mode: Mode,
    /// The phone's side: the Wi-Fi interface that becomes the access point, or the wired one.
    pub interface: String,
    /// The interface towards the internet (Wi-Fi or Ethernet); none: offline.
    pub uplink: Option<String>,
    /// No internet for the phone: every name it looks up is answered with the box's own
    /// address, so that it still reveals the names it wants, and nothing is forwarded.
    pub offline: bool,
    /// Network names to choose from; a random suffix is added.
    pub ssids: Vec<String>,
    /// Regulatory country (ISO 3166-1 alpha-2).
    pub country: String,
    /// Wi-Fi band.
    pub band: Band,
    /// Wi-Fi channel; default: chosen away from the uplink's.
    pub channel: Option<u8>,
    /// The phone network; the box takes its first address.
    pub subnet: Ipv4Net,
    /// How many addresses DHCP hands out.
    pub dhcp_addresses: u8,
    /// DNS servers the box forwards to; empty: those of the box's `/etc/resolv.conf`.
    pub upstream_dns: Vec<IpAddr>,
    /// Where configurations, leases, logs and the state file live.
    pub runtime_dir: PathBuf,
    /// The one address the internet check fetches (nothing else leaves the box).
    pub internet_check_url: String,
    /// How long each program may take to get ready, in seconds.
    pub start_timeout_secs: u64,
    /// wpa_supplicant's control socket for the uplink (`/run/wpa_supplicant/wlan0`), when
    /// the uplink is Wi-Fi managed by wpa_supplicant.
    pub wpa_ctrl: Option<PathBuf>,
    /// The external programs.
    pub tools: Tools,
}

impl Default for ApConfig {
    fn default() -> Self {
        ApConfig {
            mode: Mode::Wifi,
            interface: "wlan1".into(),
            uplink: Some("wlan0".into()),
            offline: false,
            ssids: vec![
                "Wi-Fi".into(),
                "Free Wi-Fi".into(),
                "Guest".into(),
                "Home".into(),
                "Network".into(),
            ],
            country: "FR".into(),
            band: Band::Ghz2_4,
            channel: None,
            subnet: Ipv4Net::new(Ipv4Addr::new(10, 42, 0, 0), 24).unwrap_or_default(),
            dhcp_addresses: 8,
            upstream_dns: Vec::new(),
            runtime_dir: "/run/tcheck/ap".into(),
            internet_check_url: "http://connectivitycheck.gstatic.com/generate_204".into(),
            start_timeout_secs: 15,
            wpa_ctrl: None,
            tools: Tools::default(),
        }
    }
}

/// Longest base SSID: the suffix (`-` and 4 characters) must fit in 32 bytes.
pub const MAX_SSID_BASE: usize = 27;

impl ApConfig {
    /// Reads the `[ap]` table of a configuration file (other tables are ignored); `name`
    /// names the file in errors. Unknown keys and invalid values are refused.
    pub fn from_toml(name: &str, text: &str) -> Result<Self, String> {
        #[derive(Deserialize)]
        struct File {
            #[serde(default)]
            ap: Option<toml::Value>,
        }
        let file: File = toml::from_str(text).map_err(|e| format!("{name}: {e}"))?;
        let config = match file.ap {
            Some(v) => ApConfig::deserialize(v).map_err(|e| format!("{name}: [ap]: {e}"))?,
            None => ApConfig::default(),
        };
        config
            .validate()
            .map_err(|e| format!("{name}: [ap]: {e}"))?;
        Ok(config)
    }

    /// Checks the values that the programs would otherwise refuse later, or worse, accept.
    pub fn validate(&self) -> Result<(), String> {
        check_interface("interface", &self.interface)?;
        if let Some(u) = &self.uplink {
            check_interface("uplink", u)?;
            if *u == self.interface {
                return Err(format!("uplink: {u} is also the phone's interface"));
            }
        }
        if !self.offline && self.uplink.is_none() {
            return Err("uplink: none is set; set one, or offline = true".into());
        }
        if self.ssids.is_empty() {
            return Err("ssids: the list is empty".into());
        }
        for s in &self.ssids {
            if s.is_empty() || s.len() > MAX_SSID_BASE || s.chars().any(char::is_control) {
                return Err(format!(
                    "ssids: {s:?} must have 1 to {MAX_SSID_BASE} bytes and no control characters"
                ));
            }
        }
        if self.country.len() != 2 || !self.country.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(format!(
                "country: {:?} is not a two-letter country code (FR, DE, US…)",
                self.country
            ));
        }
        if let Some(c) = self.channel {
            let valid = match self.band {
                Band::Ghz2_4 => (1..=13).contains(&c),
                Band::Ghz5 => crate::hostapd::CHANNELS_5GHZ.contains(&c),
            };
            if !valid {
                return Err(format!("channel: {c} is not a channel of the chosen band"));
            }
        }
        if self.subnet.prefix_len() > 28 || self.subnet.prefix_len() < 16 {
            return Err(format!(
                "subnet: {} must be a /16 to /28 network",
                self.subnet
            ));
        }
        let hosts = (1u32 << (32 - self.subnet.prefix_len())) - 2;
        if self.dhcp_addresses == 0 || u32::from(self.dhcp_addresses) + 9 > hosts {
            return Err(format!(
                "dhcp_addresses: {} do not fit in {} (the box and the first nine addresses are kept)",
                self.dhcp_addresses, self.subnet
            ));
        }
        if self.start_timeout_secs == 0 || self.start_timeout_secs > 300 {
            return Err("start_timeout_secs: between 1 and 300".into());
        }
        if !self.internet_check_url.starts_with("http://")
            && !self.internet_check_url.starts_with("https://")
        {
            return Err(format!(
                "internet_check_url: {:?} is not an http(s) address",
                self.internet_check_url
            ));
        }
        Ok(())
    }

    /// The box's address on the phone network (the subnet's first).
    pub fn gateway(&self) -> Ipv4Addr {
        nth(self.subnet, 1)
    }

    /// The range DHCP hands out: after the first nine addresses.
    pub fn dhcp_range(&self) -> (Ipv4Addr, Ipv4Addr) {
        let first = 10;
        (
            nth(self.subnet, first),
            nth(self.subnet, first + u32::from(self.dhcp_addresses) - 1),
        )
    }
}

fn nth(net: Ipv4Net, n: u32) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(net.network()).saturating_add(n))
}

/// Interface names go into configuration files and command arguments: Linux's rules
/// (1 to 15 bytes, no `/`, no whitespace) and nothing a config file could misread.
pub fn check_interface(what: &str, name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 15
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'@'))
        && name != "."
        && name != "..";
    if ok {
        Ok(())
    } else {
        Err(format!("{what}: {name:?} is not an interface name"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        ApConfig::default().validate().unwrap();
        let c = ApConfig::from_toml("t.toml", "").unwrap();
        assert_eq!(c, ApConfig::default());
        assert_eq!(c.gateway(), Ipv4Addr::new(10, 42, 0, 1));
        assert_eq!(
            c.dhcp_range(),
            (Ipv4Addr::new(10, 42, 0, 10), Ipv4Addr::new(10, 42, 0, 17))
        );
    }

    #[test]
    fn the_ap_table_is_read_and_checked() {
        let c = ApConfig::from_toml(
            "t.toml",
            "[heuristics]\nx = 1\n[ap]\nmode = \"ethernet\"\ninterface = \"eth1\"\nuplink = \"eth0\"\nband = \"5\"\nchannel = 36\nupstream_dns = [\"9.9.9.9\"]\n",
        )
        .unwrap();
        assert_eq!(c.mode, Mode::Ethernet);
        assert_eq!(c.band, Band::Ghz5);
        let e = ApConfig::from_toml("t.toml", "[ap]\nmdoe = \"wifi\"\n").unwrap_err();
        assert!(e.contains("t.toml") && e.contains("mdoe"), "{e}");
        let e = ApConfig::from_toml("t.toml", "[ap]\ninterface = \"wlan1\\nx\"\n").unwrap_err();
        assert!(e.contains("interface"), "{e}");
        let e = ApConfig::from_toml("t.toml", "[ap]\ncountry = \"france\"\n").unwrap_err();
        assert!(e.contains("country"), "{e}");
        let e = ApConfig::from_toml("t.toml", "[ap]\nchannel = 14\n").unwrap_err();
        assert!(e.contains("channel"), "{e}");
        let e = ApConfig::from_toml("t.toml", "[ap]\nuplink = \"wlan1\"\n").unwrap_err();
        assert!(e.contains("uplink"), "{e}");
        let e = ApConfig::from_toml("t.toml", "[ap]\nsubnet = \"10.0.0.0/30\"\n").unwrap_err();
        assert!(e.contains("subnet"), "{e}");
        let e = ApConfig::from_toml("t.toml", "[ap]\nssids = [\"\"]\n").unwrap_err();
        assert!(e.contains("ssids"), "{e}");
    }

    /// The documented example lists every key with its default.
    #[test]
    fn the_documented_example_is_the_default() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/tcheck.example.toml");
        let text = std::fs::read_to_string(path).unwrap();
        assert_eq!(
            ApConfig::from_toml(path, &text).unwrap(),
            ApConfig::default()
        );
    }
}
