//! The report's languages: one file per language in `engine/lang/` (TOML, `"key" = "text"`,
//! placeholders in braces), built into the binary. English is the reference; a key missing
//! from another language falls back to English (the tests make sure none is missing).

use std::collections::HashMap;

/// The languages, by code, with their files.
const FILES: [(&str, &str); 7] = [
    ("en", include_str!("../../lang/en.toml")),
    ("fr", include_str!("../../lang/fr.toml")),
    ("es", include_str!("../../lang/es.toml")),
    ("de", include_str!("../../lang/de.toml")),
    ("it", include_str!("../../lang/it.toml")),
    ("pt", include_str!("../../lang/pt.toml")),
    ("ru", include_str!("../../lang/ru.toml")),
];

/// The language codes available.
pub fn codes() -> impl Iterator<Item = &'static str> {
    FILES.iter().map(|(c, _)| *c)
}

fn parse(text: &str) -> HashMap<String, String> {
    toml::from_str::<HashMap<String, String>>(text).unwrap_or_default()
}

/// One language's texts.
#[derive(Clone, Debug)]
pub struct Lang {
    code: &'static str,
    texts: HashMap<String, String>,
    english: HashMap<String, String>,
}

impl Default for Lang {
    fn default() -> Self {
        Lang::get("en").unwrap_or(Lang {
            code: "en",
            texts: HashMap::new(),
            english: HashMap::new(),
        })
    }
}

impl Lang {
    /// The language `code` (`en`, `fr`, `es`, `de`, `it`, `pt`, `ru`; a region such as
    /// `fr_CH.UTF-8` picks its language).
    pub fn get(code: &str) -> Option<Lang> {
        let base = code
            .split(['_', '-', '.'])
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        let (c, text) = FILES.iter().find(|(c, _)| *c == base)?;
        Some(Lang {
            code: c,
            texts: parse(text),
            english: parse(FILES[0].1),
        })
    }

    /// Its code.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The text of `key` (English if this language lacks it; the key itself if English
    /// does too).
    pub fn t<'a>(&'a self, key: &'a str) -> &'a str {
        self.texts
            .get(key)
            .or_else(|| self.english.get(key))
            .map_or(key, String::as_str)
    }

    /// The text of `key` with its placeholders filled: `{name}` by the value of `name`.
    pub fn f(&self, key: &str, args: &[(&str, &str)]) -> String {
        let mut s = self.t(key).to_string();
        for (k, v) in args {
            s = s.replace(&format!("{{{k}}}"), v);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn placeholders(s: &str) -> Vec<String> {
        let mut v: Vec<String> = s
            .split('{')
            .skip(1)
            .filter_map(|p| p.split_once('}').map(|(k, _)| k.to_string()))
            .collect();
        v.sort();
        v
    }

    #[test]
    fn every_language_has_every_key_with_the_same_placeholders() {
        let en = parse(FILES[0].1);
        assert!(en.len() >= 100, "{}", en.len());
        for (code, text) in FILES {
            let t = parse(text);
            assert!(!t.is_empty(), "{code}: the file does not parse");
            for (k, v) in &en {
                let Some(tv) = t.get(k) else {
                    panic!("{code}: `{k}` is missing");
                };
                assert_eq!(placeholders(v), placeholders(tv), "{code}: `{k}`");
            }
            for k in t.keys() {
                assert!(en.contains_key(k), "{code}: `{k}` is not an English key");
            }
        }
    }

    #[test]
    fn languages_are_found_by_locale() {
        assert_eq!(Lang::get("fr_CH.UTF-8").map(|l| l.code()), Some("fr"));
        assert!(Lang::get("xx").is_none());
        let en = Lang::default();
        assert_eq!(
            en.f("limit.dropped", &[("count", "3")]).get(..2),
            Some("3 ")
        );
    }
}
