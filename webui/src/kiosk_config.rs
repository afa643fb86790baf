//! The `[kiosk]` table of the configuration file: the kiosk's options, editable from the
//! admin backend like the rest of the file.

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

/// The kiosk's options.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct KioskConfig {
    /// The language of the kiosk and of the reports: en, fr, es, de, it, pt, ru.
    pub language: String,
    /// Networks besides the box itself that may use the kiosk (the phone's never may).
    pub networks: Vec<IpNet>,
    /// The longest capture, in minutes.
    pub max_minutes: u64,
    /// Keep each check's capture and logs on the box after it is saved or a new check
    /// starts (for an organisation that keeps records); otherwise they are deleted.
    pub keep_captures: bool,
    /// Names the box's pages are reached under besides its addresses, `localhost`, its
    /// host name and that name under `.local`: requests for other names are refused.
    pub host_names: Vec<String>,
}

impl Default for KioskConfig {
    fn default() -> Self {
        KioskConfig {
            language: "en".into(),
            networks: Vec::new(),
            max_minutes: 30,
            keep_captures: false,
            host_names: Vec::new(),
        }
    }
}

/// The configuration file's tables; anything else is a mistake (a misspelt table would be
/// silently ignored otherwise).
const TABLES: &[&str] = &["heuristics", "ap", "kiosk"];

impl KioskConfig {
    /// Reads the `[kiosk]` table of a configuration file (other tables are checked by their
    /// own readers); `name` names the file in errors.
    pub fn from_toml(name: &str, text: &str) -> Result<Self, String> {
        let table: toml::Table = toml::from_str(text).map_err(|e| format!("{name}: {e}"))?;
        for key in table.keys() {
            if !TABLES.contains(&key.as_str()) {
                return Err(format!(
                    "{name}: unknown table [{key}] (the tables are {})",
                    TABLES.join(", ")
                ));
            }
        }
        let config = match table.get("kiosk") {
            Some(v) => {
                KioskConfig::deserialize(v.clone()).map_err(|e| format!("{name}: [kiosk]: {e}"))?
            }
            None => KioskConfig::default(),
        };
        if !crate::i18n::codes().any(|c| c == config.language) {
            return Err(format!(
                "{name}: [kiosk]: language {:?} is not one of {}",
                config.language,
                crate::i18n::codes().collect::<Vec<_>>().join(", ")
            ));
        }
        if config.max_minutes == 0 || config.max_minutes > 24 * 60 {
            return Err(format!("{name}: [kiosk]: max_minutes must be 1 to 1440"));
        }
        if let Some(bad) = config.host_names.iter().find(|n| !is_host_name(n)) {
            return Err(format!(
                "{name}: [kiosk]: host_names: {bad:?} is not a host name (letters, digits, \
                 '-' and '.')"
            ));
        }
        Ok(config)
    }
}

/// A DNS name: labels of letters, digits and `-`, separated by dots.
fn is_host_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kiosk_table_is_read_and_checked() {
        assert_eq!(
            KioskConfig::from_toml("t", "").unwrap(),
            KioskConfig::default()
        );
        let c = KioskConfig::from_toml(
            "t",
            "[kiosk]\nlanguage = \"fr\"\nnetworks = [\"192.168.1.0/24\"]\nmax_minutes = 20\n",
        )
        .unwrap();
        assert_eq!(c.language, "fr");
        assert_eq!(c.networks.len(), 1);
        for (text, needle) in [
            ("[kiosk]\nlanguage = \"xx\"\n", "language"),
            ("[kiosk]\nmax_minutes = 0\n", "max_minutes"),
            ("[kiosk]\nhost_names = [\"a b\"]\n", "host_names"),
            ("[kiosk]\nnetworks = [\"not a network\"]\n", "kiosk"),
            ("[kiosk]\ncolour = \"red\"\n", "colour"),
            ("[kioks]\nlanguage = \"fr\"\n", "unknown table [kioks]"),
        ] {
            let e = KioskConfig::from_toml("t", text).unwrap_err();
            assert!(e.contains(needle), "{text}: {e}");
        }
    }

    /// The documented example lists every key with its default.
    #[test]
    fn the_documented_example_is_the_default() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/tcheck.example.toml");
        let text = std::fs::read_to_string(path).unwrap();
        assert_eq!(
            KioskConfig::from_toml(path, &text).unwrap(),
            KioskConfig::default()
        );
        let installed = concat!(env!("CARGO_MANIFEST_DIR"), "/../install/tcheck.toml");
        crate::admin::validate_config(installed, &std::fs::read_to_string(installed).unwrap())
            .unwrap();
    }
}
