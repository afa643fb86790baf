//! Turning bytes from traffic into text for logs: valid UTF-8 is kept, control characters and
//! invalid bytes become `\xNN` (Zeek's convention), so every log line is valid JSON text and
//! nothing from the wire can smuggle a terminal escape or a line break into a log.

use std::fmt::Write as _;

/// `s` in ASCII lower case: `s` itself when it has no capitals, else a lower-case copy
/// written into `scratch` (its text replaced). For a caller that looks up many names and
/// keeps few: no allocation once `scratch` has grown.
pub fn ascii_lowercase_in<'a>(s: &'a str, scratch: &'a mut String) -> &'a str {
    if s.bytes().any(|b| b.is_ascii_uppercase()) {
        scratch.clear();
        scratch.push_str(s);
        scratch.make_ascii_lowercase();
        scratch
    } else {
        s
    }
}

/// Text of `bytes` with control characters and invalid UTF-8 escaped as `\xNN`.
pub fn escape_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    let mut rest = bytes;
    while !rest.is_empty() {
        match std::str::from_utf8(rest) {
            Ok(s) => {
                push_str(&mut out, s);
                break;
            }
            Err(e) => {
                let (good, bad) = rest.split_at(e.valid_up_to());
                // `good` is valid by construction.
                push_str(&mut out, std::str::from_utf8(good).unwrap_or(""));
                let n = e.error_len().unwrap_or(bad.len()).max(1);
                for b in bad.iter().take(n) {
                    let _ = write!(out, "\\x{b:02x}");
                }
                rest = bad.get(n..).unwrap_or(&[]);
            }
        }
    }
    out
}

fn push_str(out: &mut String, s: &str) {
    for c in s.chars() {
        if c.is_control() {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                let _ = write!(out, "\\x{b:02x}");
            }
        } else {
            out.push(c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lower_case_borrows_or_goes_into_the_buffer() {
        let mut scratch = String::from("left over, longer than the names");
        let plain = "www.example.com";
        assert!(std::ptr::eq(ascii_lowercase_in(plain, &mut scratch), plain));
        assert_eq!(
            ascii_lowercase_in("wWw.ExAmPlE.cOm", &mut scratch),
            "www.example.com"
        );
        assert_eq!(ascii_lowercase_in("É.Example", &mut scratch), "É.example");
        assert_eq!(scratch, "É.example");
    }

    #[test]
    fn escapes_controls_and_invalid_utf8() {
        assert_eq!(escape_bytes(b"abc"), "abc");
        assert_eq!(escape_bytes(b"a\r\nb"), "a\\x0d\\x0ab");
        assert_eq!(escape_bytes(b"\xffok"), "\\xffok");
        assert_eq!(escape_bytes("héllo".as_bytes()), "héllo");
        assert_eq!(escape_bytes(b"\x1b[31m"), "\\x1b[31m");
    }
}
