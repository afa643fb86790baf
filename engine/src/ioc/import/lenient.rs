//! TinyCheck's JSON documents read straight into the few strings the importer uses, borrowed
//! from the text where they have no escapes, instead of a `serde_json::Value` tree (a map and
//! a string allocated for every field of every entry: most of the time `tcheck analyze`
//! spent before its first packet).
//!
//! The reading is as lenient as the tree was: a value of another shape than the importer
//! expects (a number where a string was, an entry that is not an object, a list that is not
//! an array) reads as absent, and the importer reports it as before, with the entry's index.
//! A key given twice keeps its last value, as in a `Value` map.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// A string, borrowed from the document when it has no escapes.
struct Text<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(s.to_string())))
            }
            fn visit_string<E>(self, s: String) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(s)))
            }
        }
        d.deserialize_str(V)
    }
}

/// Any JSON value: its text when it is a string, nothing otherwise.
struct MaybeText<'a>(Option<Cow<'a, str>>);

impl<'de> Deserialize<'de> for MaybeText<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = MaybeText<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any value")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<MaybeText<'de>, E> {
                Ok(MaybeText(Some(Cow::Borrowed(s))))
            }
            fn visit_str<E>(self, s: &str) -> Result<MaybeText<'de>, E> {
                Ok(MaybeText(Some(Cow::Owned(s.to_string()))))
            }
            fn visit_string<E>(self, s: String) -> Result<MaybeText<'de>, E> {
                Ok(MaybeText(Some(Cow::Owned(s))))
            }
            fn visit_bool<E>(self, _: bool) -> Result<MaybeText<'de>, E> {
                Ok(MaybeText(None))
            }
            fn visit_i64<E>(self, _: i64) -> Result<MaybeText<'de>, E> {
                Ok(MaybeText(None))
            }
            fn visit_u64<E>(self, _: u64) -> Result<MaybeText<'de>, E> {
                Ok(MaybeText(None))
            }
            fn visit_f64<E>(self, _: f64) -> Result<MaybeText<'de>, E> {
                Ok(MaybeText(None))
            }
            fn visit_unit<E>(self) -> Result<MaybeText<'de>, E> {
                Ok(MaybeText(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<MaybeText<'de>, A::Error> {
                IgnoredAny.visit_seq(seq).map(|_| MaybeText(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<MaybeText<'de>, A::Error> {
                IgnoredAny.visit_map(map).map(|_| MaybeText(None))
            }
        }
        d.deserialize_any(V)
    }
}

/// One entry of a list: the string fields TinyCheck's formats have.
#[derive(Default)]
pub(super) struct Entry<'a> {
    /// `type`.
    pub kind: Option<Cow<'a, str>>,
    /// `value` (feeds).
    pub value: Option<Cow<'a, str>>,
    /// `element` (whitelists).
    pub element: Option<Cow<'a, str>>,
    /// `tag`.
    pub tag: Option<Cow<'a, str>>,
    /// `tlp`.
    pub tlp: Option<Cow<'a, str>>,
}

impl Entry<'_> {
    /// The string field `name`, if the entry has it.
    pub fn field(&self, name: &str) -> Option<&str> {
        match name {
            "type" => self.kind.as_deref(),
            "value" => self.value.as_deref(),
            "element" => self.element.as_deref(),
            "tag" => self.tag.as_deref(),
            "tlp" => self.tlp.as_deref(),
            _ => None,
        }
    }
}

impl<'de> Deserialize<'de> for Entry<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Entry<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an entry")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entry<'de>, A::Error> {
                let mut e = Entry::default();
                while let Some(Text(key)) = map.next_key::<Text<'de>>()? {
                    let slot = match key.as_ref() {
                        "type" => &mut e.kind,
                        "value" => &mut e.value,
                        "element" => &mut e.element,
                        "tag" => &mut e.tag,
                        "tlp" => &mut e.tlp,
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                            continue;
                        }
                    };
                    *slot = map.next_value::<MaybeText<'de>>()?.0;
                }
                Ok(e)
            }
            // An entry that is not an object has none of the fields.
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Entry<'de>, A::Error> {
                IgnoredAny.visit_seq(seq).map(|_| Entry::default())
            }
            fn visit_borrowed_str<E>(self, _: &'de str) -> Result<Entry<'de>, E> {
                Ok(Entry::default())
            }
            fn visit_str<E>(self, _: &str) -> Result<Entry<'de>, E> {
                Ok(Entry::default())
            }
            fn visit_bool<E>(self, _: bool) -> Result<Entry<'de>, E> {
                Ok(Entry::default())
            }
            fn visit_i64<E>(self, _: i64) -> Result<Entry<'de>, E> {
                Ok(Entry::default())
            }
            fn visit_u64<E>(self, _: u64) -> Result<Entry<'de>, E> {
                Ok(Entry::default())
            }
            fn visit_f64<E>(self, _: f64) -> Result<Entry<'de>, E> {
                Ok(Entry::default())
            }
            fn visit_unit<E>(self) -> Result<Entry<'de>, E> {
                Ok(Entry::default())
            }
        }
        d.deserialize_any(V)
    }
}

/// A list of entries, or nothing when the value is not an array.
struct MaybeList<'a>(Option<Vec<Entry<'a>>>);

impl<'de> Deserialize<'de> for MaybeList<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = MaybeList<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<MaybeList<'de>, A::Error> {
                let mut out = Vec::new();
                while let Some(e) = seq.next_element::<Entry<'de>>()? {
                    out.push(e);
                }
                Ok(MaybeList(Some(out)))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<MaybeList<'de>, A::Error> {
                IgnoredAny.visit_map(map).map(|_| MaybeList(None))
            }
            fn visit_borrowed_str<E>(self, _: &'de str) -> Result<MaybeList<'de>, E> {
                Ok(MaybeList(None))
            }
            fn visit_str<E>(self, _: &str) -> Result<MaybeList<'de>, E> {
                Ok(MaybeList(None))
            }
            fn visit_bool<E>(self, _: bool) -> Result<MaybeList<'de>, E> {
                Ok(MaybeList(None))
            }
            fn visit_i64<E>(self, _: i64) -> Result<MaybeList<'de>, E> {
                Ok(MaybeList(None))
            }
            fn visit_u64<E>(self, _: u64) -> Result<MaybeList<'de>, E> {
                Ok(MaybeList(None))
            }
            fn visit_f64<E>(self, _: f64) -> Result<MaybeList<'de>, E> {
                Ok(MaybeList(None))
            }
            fn visit_unit<E>(self) -> Result<MaybeList<'de>, E> {
                Ok(MaybeList(None))
            }
        }
        d.deserialize_any(V)
    }
}

/// A TinyCheck document: the lists named `list` (`iocs` or `elements`) and `to_delete`,
/// each absent when missing or not an array (as is everything in a document that is not an
/// object).
#[derive(Default)]
pub(super) struct Doc<'a> {
    /// The entries.
    pub list: Option<Vec<Entry<'a>>>,
    /// The entries to delete.
    pub to_delete: Option<Vec<Entry<'a>>>,
}

/// Reads `text` as a TinyCheck document whose entries are under `list`.
pub(super) fn doc<'a>(text: &'a str, list: &'static str) -> serde_json::Result<Doc<'a>> {
    let mut de = serde_json::Deserializer::from_str(text);
    let doc = de.deserialize_any(DocVisitor { list })?;
    de.end()?;
    Ok(doc)
}

struct DocVisitor {
    list: &'static str,
}

impl<'de> Visitor<'de> for DocVisitor {
    type Value = Doc<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON document")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Doc<'de>, A::Error> {
        let mut d = Doc::default();
        while let Some(Text(key)) = map.next_key::<Text<'de>>()? {
            if key == self.list {
                d.list = map.next_value::<MaybeList<'de>>()?.0;
            } else if key == "to_delete" {
                d.to_delete = map.next_value::<MaybeList<'de>>()?.0;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Doc<'de>, A::Error> {
        IgnoredAny.visit_seq(seq).map(|_| Doc::default())
    }
    fn visit_borrowed_str<E>(self, _: &'de str) -> Result<Doc<'de>, E> {
        Ok(Doc::default())
    }
    fn visit_str<E>(self, _: &str) -> Result<Doc<'de>, E> {
        Ok(Doc::default())
    }
    fn visit_bool<E>(self, _: bool) -> Result<Doc<'de>, E> {
        Ok(Doc::default())
    }
    fn visit_i64<E>(self, _: i64) -> Result<Doc<'de>, E> {
        Ok(Doc::default())
    }
    fn visit_u64<E>(self, _: u64) -> Result<Doc<'de>, E> {
        Ok(Doc::default())
    }
    fn visit_f64<E>(self, _: f64) -> Result<Doc<'de>, E> {
        Ok(Doc::default())
    }
    fn visit_unit<E>(self) -> Result<Doc<'de>, E> {
        Ok(Doc::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the `Value` tree gave for a field: its string, or nothing.
    fn tree_field<'v>(e: &'v serde_json::Value, name: &str) -> Option<&'v str> {
        e.get(name).and_then(serde_json::Value::as_str)
    }

    #[test]
    fn reads_what_the_value_tree_read() {
        let docs = [
            r#"{"iocs": [{"type": "domain", "value": "a.example", "tag": "t", "tlp": "white", "id": 3}], "to_delete": [{"value": "b.example"}]}"#,
            r#"{"iocs": [{"type": 5, "value": ["x"], "tag": null}, 7, "s", [1], {"value": "esc\"aped\u00e9"}]}"#,
            r#"{"iocs": {"type": "domain"}, "to_delete": "no"}"#,
            r#"{"iocs": [{"type": "a", "type": "b", "value": {"deep": [1, {"x": 2}]}}], "other": {"iocs": 1}}"#,
            r#"[{"iocs": []}]"#,
            r#""just a string""#,
            r#"{}"#,
            r#"{"elements": [{"type": "ip", "element": "1.2.3.4"}], "to_delete": [{"element": "5.6.7.8"}, 1]}"#,
        ];
        for text in docs {
            let tree: serde_json::Value = serde_json::from_str(text).expect("valid JSON");
            for list in ["iocs", "elements"] {
                let d = doc(text, list).expect("reads");
                for (mine, name) in [(&d.list, list), (&d.to_delete, "to_delete")] {
                    let theirs = tree.get(name).and_then(serde_json::Value::as_array);
                    assert_eq!(mine.is_some(), theirs.is_some(), "{text}: {name}");
                    for (m, t) in mine.iter().flatten().zip(theirs.into_iter().flatten()) {
                        for f in ["type", "value", "element", "tag", "tlp"] {
                            assert_eq!(m.field(f), tree_field(t, f), "{text}: {name}.{f}");
                        }
                    }
                    assert_eq!(
                        mine.as_ref().map(Vec::len),
                        theirs.map(Vec::len),
                        "{text}: {name}"
                    );
                }
            }
        }
    }

    #[test]
    fn invalid_json_is_an_error_where_the_tree_saw_one() {
        for text in ["", "{", r#"{"iocs": [}"#, r#"{"iocs": []} x"#, "nul"] {
            let mine = doc(text, "iocs").err().map(|e| (e.line(), e.column()));
            let theirs = serde_json::from_str::<serde_json::Value>(text)
                .err()
                .map(|e| (e.line(), e.column()));
            assert!(mine.is_some(), "{text:?}");
            assert_eq!(mine, theirs, "{text:?}");
        }
    }
}
