//! The header fields of an HTTP message, in order, names as sent. The text of all the
//! fields is kept in one buffer: a head of twelve fields costs two allocations instead of
//! twenty-five.

/// Header fields, in the order they came.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Headers {
    /// Each field's name, then its value, one after the other.
    text: Vec<u8>,
    /// Where each field's name and value end in `text` (a value starts where its name
    /// ends, a name where the previous value ends).
    ends: Vec<(u32, u32)>,
}

impl Headers {
    /// No fields, with room for `fields` fields of `bytes` bytes of text in all.
    pub fn with_capacity(fields: usize, bytes: usize) -> Self {
        Headers {
            text: Vec::with_capacity(bytes),
            ends: Vec::with_capacity(fields),
        }
    }

    /// Appends a field. A field that would take the text past 4 GiB is not kept (a head
    /// is bounded far below that).
    pub fn push(&mut self, name: &[u8], value: &[u8]) {
        let name_end = self.text.len() + name.len();
        let (Ok(end), Ok(name_end)) = (
            u32::try_from(name_end + value.len()),
            u32::try_from(name_end),
        ) else {
            return;
        };
        self.text.extend_from_slice(name);
        self.text.extend_from_slice(value);
        self.ends.push((name_end, end));
    }

    /// How many fields.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The fields, in order, as name and value.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            text: &self.text,
            ends: self.ends.iter(),
            start: 0,
        }
    }

    /// The value of the first field named `name` (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| v)
    }
}

impl std::fmt::Debug for Headers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.iter().map(|(n, v)| {
                (
                    String::from_utf8_lossy(n).into_owned(),
                    String::from_utf8_lossy(v).into_owned(),
                )
            }))
            .finish()
    }
}

impl<'a> FromIterator<(&'a [u8], &'a [u8])> for Headers {
    fn from_iter<I: IntoIterator<Item = (&'a [u8], &'a [u8])>>(fields: I) -> Self {
        let mut headers = Headers::default();
        for (name, value) in fields {
            headers.push(name, value);
        }
        headers
    }
}

impl<'a> IntoIterator for &'a Headers {
    type Item = (&'a [u8], &'a [u8]);
    type IntoIter = Iter<'a>;
    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

/// The fields of [`Headers`], in order.
#[derive(Clone, Debug)]
pub struct Iter<'a> {
    text: &'a [u8],
    ends: std::slice::Iter<'a, (u32, u32)>,
    /// Where the next field's name starts.
    start: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let &(name_end, end) = self.ends.next()?;
        let (name_end, end) = (name_end as usize, end as usize);
        let name = self.text.get(self.start..name_end).unwrap_or_default();
        let value = self.text.get(name_end..end).unwrap_or_default();
        self.start = end;
        Some((name, value))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.ends.size_hint()
    }
}

impl ExactSizeIterator for Iter<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_come_back_in_order_with_empty_names_and_values() {
        let fields: [(&[u8], &[u8]); 4] = [
            (b"Host", b"example.com"),
            (b"X-Empty", b""),
            (b"", b"no name"),
            (b"host", b"second"),
        ];
        let headers: Headers = fields.iter().copied().collect();
        assert_eq!(headers.len(), 4);
        assert_eq!(headers.iter().collect::<Vec<_>>(), fields.to_vec());
        assert_eq!(headers.get("HOST"), Some(&b"example.com"[..]));
        assert_eq!(headers.get("x-empty"), Some(&b""[..]));
        assert_eq!(headers.get("missing"), None);
        assert_eq!(
            format!("{headers:?}"),
            r#"[("Host", "example.com"), ("X-Empty", ""), ("", "no name"), ("host", "second")]"#
        );
    }

    #[test]
    fn no_fields() {
        let headers = Headers::with_capacity(4, 64);
        assert!(headers.is_empty());
        assert_eq!(headers.iter().next(), None);
        assert_eq!(headers, Headers::default());
    }
}
