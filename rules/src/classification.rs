//! `classification.config`: class types with their description and default priority.

use std::collections::HashMap;

/// Suricata's default classification file, shipped with tcheck.
pub const DEFAULT: &str = include_str!("../classification.config");

/// One class type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Class {
    /// Description (EVE's `alert.category`).
    pub description: String,
    /// Default priority (EVE's `alert.severity`).
    pub priority: u8,
}

/// Class types by short name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Classifications {
    classes: HashMap<String, Class>,
}

impl Classifications {
    /// Parses `config classification: name,description,priority` lines; returns the
    /// classes and the lines that could not be read (1-based numbers and why).
    pub fn parse(text: &str) -> (Self, Vec<(usize, String)>) {
        let mut classes = HashMap::new();
        let mut errors = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let l = line.trim();
            if l.is_empty() || l.starts_with('#') {
                continue;
            }
            let Some(rest) = l.strip_prefix("config classification:") else {
                errors.push((i + 1, "expected `config classification:`".into()));
                continue;
            };
            let parts: Vec<&str> = rest.splitn(3, ',').map(str::trim).collect();
            match parts.as_slice() {
                [name, desc, prio] => match prio.parse::<u8>() {
                    Ok(p) => {
                        classes.insert(
                            name.to_string(),
                            Class {
                                description: desc.to_string(),
                                priority: p,
                            },
                        );
                    }
                    Err(_) => errors.push((i + 1, format!("bad priority `{prio}`"))),
                },
                _ => errors.push((i + 1, "expected name,description,priority".into())),
            }
        }
        (Classifications { classes }, errors)
    }

    /// Suricata's defaults.
    pub fn default_set() -> Self {
        Self::parse(DEFAULT).0
    }

    /// A class type.
    pub fn get(&self, name: &str) -> Option<&Class> {
        self.classes.get(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_file_parses() {
        let (c, errors) = Classifications::parse(DEFAULT);
        assert!(errors.is_empty(), "{errors:?}");
        let t = c.get("trojan-activity").expect("class");
        assert_eq!(t.priority, 1);
        assert_eq!(t.description, "A Network Trojan was detected");
    }

    #[test]
    fn bad_lines_are_reported() {
        let (c, errors) = Classifications::parse(
            "config classification: a,b,x\njunk\nconfig classification: ok,Fine,3\n",
        );
        assert_eq!(errors.len(), 2);
        assert_eq!(c.get("ok").map(|c| c.priority), Some(3));
    }
}
