//! The report's languages: one file per language in `engine/lang/` (TOML, `"key" = "text"`,
//! placeholders in braces), built into the binary. English is the reference; a key missing
//! from another language falls back to English (the tests make sure none is missing).

use std::sync::{Arc, OnceLock};

// Looked up for every line of a report, several times for each alert: hashbrown's hasher
// (foldhash) rather than SipHash.
use hashbrown::HashMap;

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

/// The texts of `FILES[i]`, parsed once per process: a run asks for its language several
/// times (the options, the heuristics' settings, the report), and English besides, and
/// each parse of a file cost about a million instructions.
fn parsed(i: usize) -> Arc<HashMap<String, String>> {
    static PARSED: [OnceLock<Arc<HashMap<String, String>>>; FILES.len()] =
        [const { OnceLock::new() }; FILES.len()];
    match (PARSED.get(i), FILES.get(i)) {
        (Some(cell), Some((_, text))) => Arc::clone(cell.get_or_init(|| Arc::new(parse(text)))),
        _ => Arc::default(),
    }
}

/// One language's texts.
#[derive(Clone, Debug)]
pub struct Lang {
    code: &'static str,
    texts: Arc<HashMap<String, String>>,
    english: Arc<HashMap<String, String>>,
}

impl Default for Lang {
    fn default() -> Self {
        Lang::get("en").unwrap_or(Lang {
            code: "en",
            texts: Arc::default(),
            english: Arc::default(),
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
        let (i, (code, _)) = FILES.iter().enumerate().find(|(_, (c, _))| *c == base)?;
        Some(Lang {
            code,
            texts: parsed(i),
            english: parsed(0),
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

    /// The text of `key` with its placeholders filled: `{name}` by the value of `name`. The
    /// text is read once, so a value (a name seen in the traffic) is never read as a
    /// placeholder itself; a placeholder with no value is kept as it is.
    pub fn f(&self, key: &str, args: &[(&str, &str)]) -> String {
        let text = self.t(key);
        let mut out =
            String::with_capacity(text.len() + args.iter().map(|(_, v)| v.len()).sum::<usize>());
        let mut rest = text;
        while let Some((before, after)) = rest.split_once('{') {
            out.push_str(before);
            let filled = after.split_once('}').and_then(|(name, tail)| {
                args.iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| (*v, tail))
            });
            match filled {
                Some((value, tail)) => {
                    out.push_str(value);
                    rest = tail;
                }
                None => {
                    out.push('{');
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        out
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
    fn placeholders_are_filled_once_and_values_are_not_read_as_placeholders() {
        let mut l = Lang::default();
        Arc::make_mut(&mut l.texts).insert(
            "k".to_string(),
            "{name} at {ip}: {unknown} {ip}{".to_string(),
        );
        assert_eq!(
            l.f("k", &[("name", "{ip}"), ("ip", "192.0.2.1")]),
            "{ip} at 192.0.2.1: {unknown} 192.0.2.1{"
        );
        assert_eq!(l.f("k", &[]), "{name} at {ip}: {unknown} {ip}{");
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
