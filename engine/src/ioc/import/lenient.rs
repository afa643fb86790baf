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
use std::marker::PhantomData;

use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// A value read leniently: from the JSON shape it expects (text, a list or an object), and
/// as its default from any other (a list or an object it does not expect is skipped whole).
trait Lenient<'de>: Default {
    /// From a string.
    fn text(_text: Cow<'de, str>) -> Self {
        Self::default()
    }

    /// From an array.
    fn list<A: SeqAccess<'de>>(seq: A) -> Result<Self, A::Error> {
        IgnoredAny.visit_seq(seq).map(|_| Self::default())
    }

    /// From an object.
    fn object<A: MapAccess<'de>>(map: A) -> Result<Self, A::Error> {
        IgnoredAny.visit_map(map).map(|_| Self::default())
    }
}

/// The one visitor of every [`Lenient`] value: each JSON shape goes to the method for it.
struct LenientVisitor<T>(PhantomData<T>);

impl<'de, T: Lenient<'de>> Visitor<'de> for LenientVisitor<T> {
    type Value = T;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<T, E> {
        Ok(T::text(Cow::Borrowed(s)))
    }
    fn visit_str<E>(self, s: &str) -> Result<T, E> {
        Ok(T::text(Cow::Owned(s.to_string())))
    }
    fn visit_string<E>(self, s: String) -> Result<T, E> {
        Ok(T::text(Cow::Owned(s)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<T, A::Error> {
        T::list(seq)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
        T::object(map)
    }
    fn visit_bool<E>(self, _: bool) -> Result<T, E> {
        Ok(T::default())
    }
    fn visit_i64<E>(self, _: i64) -> Result<T, E> {
        Ok(T::default())
    }
    fn visit_u64<E>(self, _: u64) -> Result<T, E> {
        Ok(T::default())
    }
    fn visit_f64<E>(self, _: f64) -> Result<T, E> {
        Ok(T::default())
    }
    fn visit_unit<E>(self) -> Result<T, E> {
        Ok(T::default())
    }
}

/// Implements `Deserialize` for a [`Lenient`] type through [`LenientVisitor`].
macro_rules! deserialize_leniently {
    ($($t:ident),*) => {$(
        impl<'de> Deserialize<'de> for $t<'de> {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                d.deserialize_any(LenientVisitor(PhantomData))
            }
        }
    )*};
}

deserialize_leniently!(MaybeText, Entry, MaybeList, Lists);

/// Any JSON value: its text when it is a string, nothing otherwise (also read for keys).
#[derive(Default)]
struct MaybeText<'a>(Option<Cow<'a, str>>);

impl<'de> Lenient<'de> for MaybeText<'de> {
    fn text(text: Cow<'de, str>) -> Self {
        MaybeText(Some(text))
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

    /// The string field `name`, or what is wrong with the entry without it.
    pub fn required(&self, name: &str) -> Result<&str, String> {
        self.field(name).ok_or_else(|| format!("no `{name}`"))
    }
}

impl<'de> Lenient<'de> for Entry<'de> {
    fn object<A: MapAccess<'de>>(map: A) -> Result<Self, A::Error> {
        let [kind, value, element, tag, tlp] =
            named::<_, MaybeText<'de>, 5>(map, ["type", "value", "element", "tag", "tlp"])?;
        Ok(Entry {
            kind: kind.0,
            value: value.0,
            element: element.0,
            tag: tag.0,
            tlp: tlp.0,
        })
    }
}

/// Reads an object's fields named in `names`, each as `V` into the slot of the same index;
/// any other field is skipped whole, and a missing one is `V`'s default. A key given twice
/// keeps its last value.
fn named<'de, A: MapAccess<'de>, V: Deserialize<'de> + Default, const N: usize>(
    mut map: A,
    names: [&str; N],
) -> Result<[V; N], A::Error> {
    let mut slots: [V; N] = std::array::from_fn(|_| V::default());
    while let Some(MaybeText(key)) = map.next_key::<MaybeText<'de>>()? {
        let at = names.iter().position(|n| key.as_deref() == Some(*n));
        match at.and_then(|i| slots.get_mut(i)) {
            Some(slot) => *slot = map.next_value()?,
            None => {
                map.next_value::<IgnoredAny>()?;
            }
        }
    }
    Ok(slots)
}

/// A list of entries, or nothing when the value is not an array.
#[derive(Default)]
struct MaybeList<'a>(Option<Vec<Entry<'a>>>);

impl<'de> Lenient<'de> for MaybeList<'de> {
    fn list<A: SeqAccess<'de>>(mut seq: A) -> Result<Self, A::Error> {
        let mut out = Vec::new();
        while let Some(e) = seq.next_element::<Entry<'de>>()? {
            out.push(e);
        }
        Ok(MaybeList(Some(out)))
    }
}

/// The lists of a TinyCheck document (feeds have `iocs`, whitelists `elements`).
#[derive(Default)]
struct Lists<'a> {
    iocs: Option<Vec<Entry<'a>>>,
    elements: Option<Vec<Entry<'a>>>,
    to_delete: Option<Vec<Entry<'a>>>,
}

impl<'de> Lenient<'de> for Lists<'de> {
    fn object<A: MapAccess<'de>>(map: A) -> Result<Self, A::Error> {
        let [iocs, elements, to_delete] =
            named::<_, MaybeList<'de>, 3>(map, ["iocs", "elements", "to_delete"])?;
        Ok(Lists {
            iocs: iocs.0,
            elements: elements.0,
            to_delete: to_delete.0,
        })
    }
}

/// A TinyCheck document: the list named `list` (`iocs` or `elements`) and `to_delete`,
/// each absent when missing or not an array (as is everything in a document that is not an
/// object).
pub(super) struct Doc<'a> {
    /// The entries.
    pub list: Option<Vec<Entry<'a>>>,
    /// The entries to delete.
    pub to_delete: Option<Vec<Entry<'a>>>,
}

/// Reads `text` as a TinyCheck document whose entries are under `list`.
pub(super) fn doc<'a>(text: &'a str, list: &'static str) -> serde_json::Result<Doc<'a>> {
    let lists: Lists<'a> = serde_json::from_str(text)?;
    Ok(Doc {
        list: if list == "elements" {
            lists.elements
        } else {
            lists.iocs
        },
        to_delete: lists.to_delete,
    })
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
