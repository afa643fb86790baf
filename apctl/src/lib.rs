//! The ephemeral access point of tcheck.
//!
//! [`AccessPoint::start`] gives the phone a network of its own: an address on the phone's
//! interface, an nftables table ([`nft`]) that lets the phone reach the internet and the
//! box's DNS and DHCP only, [`dnsmasq`] for DHCP and DNS (every query logged), and in Wi-Fi
//! mode [`hostapd`] with a fresh name and password ([`credentials`]). The programs run as
//! real processes with generated configuration files, started directly (never through a
//! shell) and supervised ([`process`]); what was added is written to a state file
//! ([`state`]) as it is added, so that stopping, or starting again after a crash, removes
//! it all. [`uplink`] joins a Wi-Fi network for the box (wpa_supplicant or NetworkManager)
//! and checks the internet.

mod ap;
pub mod config;
pub mod credentials;
pub mod dnsmasq;
mod error;
pub mod hostapd;
pub mod nft;
pub mod process;
pub mod state;
pub mod uplink;

pub use ap::{cleanup, clients, log_files, parse_arp, stop_from_state, AccessPoint, Client};
pub use config::{ApConfig, Band, Mode};
pub use credentials::Credentials;
pub use error::ApError;
