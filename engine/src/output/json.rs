//! A minimal JSON writer for the hot renderers: objects written straight into a byte buffer,
//! without intermediate structures. Strings are escaped by `serde_json`.

/// Writes into a buffer, tracking whether a comma is due.
#[derive(Debug)]
pub(crate) struct Json<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl<'a> Json<'a> {
    /// Opens an object.
    pub fn object(out: &'a mut Vec<u8>) -> Self {
        out.push(b'{');
        Json { out, first: true }
    }

    #[inline(always)]
    fn key(&mut self, k: &str) {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        self.out.push(b'"');
        self.out.extend_from_slice(k.as_bytes());
        self.out.extend_from_slice(b"\":");
    }

    /// `"name":true` for each flag of `flags` set in `bits`, in the table's order.
    pub fn flags(&mut self, bits: u64, flags: &[(&str, u64)]) -> &mut Self {
        for &(name, bit) in flags {
            if bits & bit != 0 {
                self.bool(name, true);
            }
        }
        self
    }

    /// `"k":"v"` with `v` escaped.
    #[inline(always)]
    pub fn str(&mut self, k: &str, v: &str) -> &mut Self {
        self.key(k);
        string(self.out, v);
        self
    }

    /// `"k":n`.
    #[inline(always)]
    pub fn num(&mut self, k: &str, v: u64) -> &mut Self {
        self.key(k);
        push_u64(self.out, v);
        self
    }

    /// `"k":true|false`.
    #[inline(always)]
    pub fn bool(&mut self, k: &str, v: bool) -> &mut Self {
        self.key(k);
        self.out
            .extend_from_slice(if v { b"true" } else { b"false" });
        self
    }

    /// `"k":` followed by whatever `f` writes (an array or object).
    pub fn raw(&mut self, k: &str, f: impl FnOnce(&mut Vec<u8>)) -> &mut Self {
        self.key(k);
        f(self.out);
        self
    }

    /// Closes the object.
    pub fn close(&mut self) {
        self.out.push(b'}');
    }
}

/// Appends the decimal digits of `v` (itoa: numbers are written for every event, and the
/// formatting machinery costs ~300 instructions a number).
pub(crate) fn push_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

/// A JSON string of the lowercase hexadecimal digits of `v`, without leading zeros (what
/// `format!("{v:x}")` prints, with no allocation).
pub(crate) fn hex_string(out: &mut Vec<u8>, v: u64) {
    let digits = (64 - v.leading_zeros()).div_ceil(4).max(1);
    out.push(b'"');
    for i in (0..digits).rev() {
        out.push(super::HEX_DIGITS[((v >> (4 * i)) & 15) as usize]);
    }
    out.push(b'"');
}

/// Whether `b` is a byte JSON writes as it is (not a control character, quote or
/// backslash: what serde_json escapes).
fn plain_byte(b: u8) -> bool {
    b >= 0x20 && b != b'"' && b != b'\\'
}

/// Whether no byte of `s` needs an escape. Eight bytes at a time: a string is checked for
/// every value of every event, and a byte-by-byte loop cost more than the copy.
#[inline(always)]
fn plain(s: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // Whether some byte of `x` is below `n` (n <= 128; exact for the question "some").
    let below = |x: u64, n: u64| x.wrapping_sub(n * ONES) & !x & HIGH;
    let mut chunks = s.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word);
        let control = below(x, 0x20);
        let quote = below(x ^ (u64::from(b'"') * ONES), 1);
        let backslash = below(x ^ (u64::from(b'\\') * ONES), 1);
        if control | quote | backslash != 0 {
            return false;
        }
    }
    chunks.remainder().iter().all(|&b| plain_byte(b))
}

/// A JSON string. Always inlined, with the rare escape path out of line: as a call it cost
/// about 117 instructions per string of the EVE header, most of them short constants.
#[inline(always)]
pub(crate) fn string(out: &mut Vec<u8>, s: &str) {
    // A string with nothing to escape (most names and values) is copied as it is.
    if plain(s.as_bytes()) {
        out.reserve(s.len() + 2);
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        escaped(out, s);
    }
}

/// A JSON string with characters to escape (kept out of line: it is rare).
#[cold]
#[inline(never)]
fn escaped(out: &mut Vec<u8>, s: &str) {
    let _ = serde_json::to_writer(&mut *out, s);
}

/// A JSON array of the items, each written by `f`.
pub(crate) fn array<T>(
    out: &mut Vec<u8>,
    items: impl IntoIterator<Item = T>,
    mut f: impl FnMut(&mut Vec<u8>, T),
) {
    out.push(b'[');
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        f(out, item);
    }
    out.push(b']');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_strings_are_what_format_prints() {
        for v in [0, 1, 0xf, 0x10, 0x100, 0x8180, 0xffff, u64::MAX, 1 << 63] {
            let mut out = Vec::new();
            hex_string(&mut out, v);
            assert_eq!(out, format!("\"{v:x}\"").into_bytes());
        }
    }

    #[test]
    fn writes_valid_json() {
        let mut out = Vec::new();
        let mut o = Json::object(&mut out);
        o.str("a", "x\"y\n").num("n", 7).bool("t", true);
        o.raw("l", |out| {
            array(out, [1u8, 2], |out, v| string(out, &v.to_string()))
        });
        o.close();
        let v: serde_json::Value = serde_json::from_slice(&out).expect("valid");
        assert_eq!(v["a"], "x\"y\n");
        assert_eq!(v["l"][1], "2");
    }

    #[test]
    fn numbers_are_written_as_display_does() {
        for v in [0, 7, 10, 99, 100, 65_535, 1_234_567_890, u64::MAX] {
            let mut out = Vec::new();
            push_u64(&mut out, v);
            assert_eq!(out, v.to_string().into_bytes());
        }
    }

    #[test]
    fn the_word_check_agrees_with_the_byte_check() {
        // Every byte value at every position of a word, and across the word boundary.
        for len in [1usize, 7, 8, 9, 16, 17] {
            for at in 0..len {
                for b in 0..=255u8 {
                    let mut s = vec![b'a'; len];
                    s[at] = b;
                    assert_eq!(
                        plain(&s),
                        s.iter().all(|&c| plain_byte(c)),
                        "{b:#x} at {at}"
                    );
                }
            }
        }
        // Words mixing the bytes next to the limits, where a borrow from one byte could
        // hide or fake another (xorshift, fixed seed).
        let edges = [
            0x00, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x5b, 0x5c, 0x5d, 0x7f, 0x80, 0xff,
        ];
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..100_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let s: Vec<u8> = (0..8)
                .map(|i| edges[((state >> (i * 5)) % 12) as usize])
                .collect();
            assert_eq!(plain(&s), s.iter().all(|&c| plain_byte(c)), "{s:x?}");
        }
        // UTF-8 (bytes above 0x7f) next to the bytes that need escapes.
        assert!(plain("naïve ünïcödé".as_bytes()));
        assert!(!plain("ünïcödé\u{1f}xxxxxxxx".as_bytes()));
        assert!(!plain("ünïcödé\"xxxxxxxx".as_bytes()));
    }

    #[test]
    fn strings_are_escaped_as_serde_json_does() {
        for s in [
            "",
            "plain",
            "a\"b",
            "back\\slash",
            "tab\t",
            "\u{1}",
            "é ü \u{7f}",
            "x\ny",
        ] {
            let mut out = Vec::new();
            string(&mut out, s);
            assert_eq!(out, serde_json::to_vec(s).expect("a string"), "{s:?}");
        }
    }
}
