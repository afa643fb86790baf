//! The kiosk's texts, one TOML file per language in `webui/lang/`, with the report's
//! languages (en, fr, es, de, it, pt, ru).

use std::collections::BTreeMap;

/// Language code and file content, built into the binary.
const FILES: &[(&str, &str)] = &[
    ("en", include_str!("../lang/en.toml")),
    ("fr", include_str!("../lang/fr.toml")),
    ("es", include_str!("../lang/es.toml")),
    ("de", include_str!("../lang/de.toml")),
    ("it", include_str!("../lang/it.toml")),
    ("pt", include_str!("../lang/pt.toml")),
    ("ru", include_str!("../lang/ru.toml")),
];

/// The kiosk's texts in `code` (English where the code is unknown).
pub fn texts(code: &str) -> BTreeMap<String, String> {
    let text = FILES
        .iter()
        .find(|(c, _)| *c == code)
        .or_else(|| FILES.first())
        .map_or("", |(_, t)| t);
    toml::from_str(text).unwrap_or_default()
}

/// The language codes available.
pub fn codes() -> impl Iterator<Item = &'static str> {
    FILES.iter().map(|(c, _)| *c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_has_every_key_and_nothing_else() {
        let en = texts("en");
        assert!(en.len() > 40);
        for code in codes() {
            let t: BTreeMap<String, String> =
                toml::from_str(FILES.iter().find(|(c, _)| *c == code).unwrap().1).unwrap();
            let missing: Vec<_> = en.keys().filter(|k| !t.contains_key(*k)).collect();
            let extra: Vec<_> = t.keys().filter(|k| !en.contains_key(*k)).collect();
            assert!(
                missing.is_empty() && extra.is_empty(),
                "{code}: missing {missing:?}, extra {extra:?}"
            );
            assert!(
                t.values().all(|v| !v.trim().is_empty()),
                "{code}: an empty text"
            );
        }
        assert_eq!(texts("xx"), en);
    }
}
