//! `pcre`: Perl-compatible regular expressions, run with the `regex` crate where the pattern
//! means the same there. A pattern using what `regex` does not have (back-references,
//! look-around, atomic groups, possessive quantifiers...) is refused with the reason, never
//! approximated.

use regex::bytes::{Regex, RegexBuilder};

use crate::buffers::Buffer;
use crate::error::Problem;

/// A flow variable: its name and the bytes captured.
pub type FlowVar = (String, Vec<u8>);

/// A compiled `pcre`.
#[derive(Clone, Debug)]
pub struct Pcre {
    regex: Regex,
    /// `pcre:!"..."`: must not match.
    pub negated: bool,
    /// `/R`: starts at the end of the previous match.
    pub relative: bool,
    /// The buffer named by a flag (`U`, `H`, `M`...), if any.
    pub buffer: Option<Buffer>,
    /// The pattern as written, for messages.
    pub source: String,
    /// Capture groups stored into flow variables when the rule matches: (group number,
    /// variable name), from `, flow:NAME,...` after the flags or groups named `flow_NAME`.
    pub captures: Vec<(usize, String)>,
}

impl PartialEq for Pcre {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source && self.negated == other.negated
    }
}

impl Pcre {
    /// Where the first match ends, if it matches.
    pub fn find(&self, hay: &[u8]) -> Option<usize> {
        self.regex.find(hay).map(|m| m.end())
    }

    /// Where the first match ends and the flow variables it captures (a group that did not
    /// take part captures nothing), if it matches.
    pub fn find_captures(&self, hay: &[u8]) -> Option<(usize, Vec<FlowVar>)> {
        let caps = self.regex.captures(hay)?;
        let end = caps.get(0).map_or(0, |m| m.end());
        let vars = self
            .captures
            .iter()
            .filter_map(|(group, name)| {
                caps.get(*group)
                    .map(|m| (name.clone(), m.as_bytes().to_vec()))
            })
            .collect();
        Some((end, vars))
    }
}

/// Splits `/pattern/flags, flow:a,flow:b` into the pattern with its flags and the variable
/// names captures go to.
fn split_capture_spec(v: &str) -> Result<(&str, Vec<String>), Problem> {
    let Some(last_slash) = v.rfind('/') else {
        return Ok((v, Vec::new()));
    };
    let Some(comma) = v[last_slash..].find(',').map(|c| c + last_slash) else {
        return Ok((v, Vec::new()));
    };
    let mut names = Vec::new();
    for spec in v[comma + 1..].split(',') {
        let spec = spec.trim();
        let (scope, name) = spec.split_once(':').ok_or_else(|| {
            Problem::value("pcre", format!("capture `{spec}`: expected flow:NAME"))
        })?;
        let valid = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.');
        if !valid {
            return Err(Problem::value(
                "pcre",
                format!("capture `{spec}`: bad variable name"),
            ));
        }
        match scope.trim() {
            "flow" => names.push(name.to_string()),
            "pkt" | "alert" => {
                return Err(Problem::value(
                    "pcre",
                    format!("capture `{spec}`: only flow variables are supported"),
                ))
            }
            other => {
                return Err(Problem::value(
                    "pcre",
                    format!("capture `{spec}`: unknown variable kind `{other}`"),
                ))
            }
        }
    }
    Ok((v[..comma].trim_end(), names))
}

/// The flow variables of `regex`: groups named `flow_NAME`, then the groups numbered by
/// `spec` in order.
fn capture_vars(regex: &Regex, spec: Vec<String>) -> Result<Vec<(usize, String)>, Problem> {
    let mut vars = Vec::new();
    for (group, name) in regex.capture_names().enumerate() {
        let Some(name) = name else { continue };
        if let Some(var) = name.strip_prefix("flow_") {
            vars.push((group, var.to_string()));
        } else if name.starts_with("pkt_") || name.starts_with("alert_") {
            return Err(Problem::value(
                "pcre",
                format!("capture group `{name}`: only flow variables are supported"),
            ));
        }
    }
    let groups = regex.captures_len().saturating_sub(1);
    if spec.len() > groups {
        return Err(Problem::value(
            "pcre",
            format!(
                "{} capture variables but {groups} capture groups",
                spec.len()
            ),
        ));
    }
    vars.extend(spec.into_iter().enumerate().map(|(i, n)| (i + 1, n)));
    Ok(vars)
}

/// Constructs of PCRE that `regex` cannot express, and why.
const UNSUPPORTED: &[(&str, &str)] = &[
    ("(?=", "look-ahead"),
    ("(?!", "negative look-ahead"),
    ("(?<=", "look-behind"),
    ("(?<!", "negative look-behind"),
    ("(?>", "atomic group"),
    ("(?|", "branch reset group"),
    ("(?R", "recursion"),
    ("(?(", "conditional group"),
    ("(?C", "callout"),
    ("\\G", "\\G anchor"),
    ("\\K", "\\K match reset"),
    ("\\Q", "\\Q quoting"),
    ("\\C", "\\C single byte"),
    ("\\X", "\\X extended grapheme"),
    ("\\R", "\\R newline sequence"),
    ("\\h", "\\h horizontal space (PCRE meaning)"),
    ("\\H", "\\H (PCRE meaning)"),
    ("\\v", "\\v vertical space (PCRE meaning)"),
    ("\\V", "\\V (PCRE meaning)"),
    ("\\N", "\\N"),
    ("\\g", "\\g back-reference"),
    ("\\k", "\\k named back-reference"),
    ("*+", "possessive quantifier"),
    ("++", "possessive quantifier"),
    ("?+", "possessive quantifier"),
    ("}+", "possessive quantifier"),
];

/// Characters that are special to the `regex` crate and stay escaped.
const REGEX_META: &str = "\\.+*?()|[]{}^$#&-~";

/// Whether `rest` (after a `{`) is a valid quantifier `n}`, `n,}` or `n,m}`.
fn quantifier_len(rest: &str) -> Option<usize> {
    let close = rest.find('}')?;
    let body = &rest[..close];
    let (a, b) = match body.split_once(',') {
        Some((a, b)) => (a, Some(b)),
        None => (body, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    let ok = digits(a) && b.is_none_or(|b| b.is_empty() || digits(b));
    ok.then_some(close + 1)
}

/// Rewrites what differs between PCRE and `regex` syntax, or says why it cannot.
fn translate(pattern: &str, dollar_endonly: bool, multiline: bool) -> Result<String, String> {
    let bytes = pattern.as_bytes();
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut i = 0;
    let mut in_class = false;
    while i < bytes.len() {
        let c = bytes[i] as char;
        if c == '\\' {
            let Some(&n) = bytes.get(i + 1) else {
                return Err("trailing backslash".into());
            };
            let n = n as char;
            for (needle, why) in UNSUPPORTED {
                if needle.starts_with('\\') && pattern[i..].starts_with(needle) {
                    return Err(format!("{why} is not supported"));
                }
            }
            match n {
                '1'..='9' if !in_class => return Err("back-references are not supported".into()),
                '0'..='7' => {
                    // PCRE octal (\0NN, or \NNN in a class).
                    let digits: String = pattern[i + 1..]
                        .chars()
                        .take(3)
                        .take_while(|c| c.is_digit(8))
                        .collect();
                    let v = u32::from_str_radix(&digits, 8).unwrap_or(0);
                    out.push_str(&format!("\\x{:02X}", v.min(0xff)));
                    i += 1 + digits.len();
                    continue;
                }
                'x' => {
                    if bytes.get(i + 2) == Some(&b'{') {
                        out.push_str("\\x");
                        i += 2;
                        continue;
                    }
                    let digits: String = pattern[i + 2..]
                        .chars()
                        .take(2)
                        .take_while(|c| c.is_ascii_hexdigit())
                        .collect();
                    let v = u32::from_str_radix(if digits.is_empty() { "0" } else { &digits }, 16)
                        .unwrap_or(0);
                    out.push_str(&format!("\\x{:02X}", v.min(0xff)));
                    i += 2 + digits.len();
                    continue;
                }
                'c' => {
                    let Some(&x) = bytes.get(i + 2) else {
                        return Err("\\c without a character".into());
                    };
                    out.push_str(&format!("\\x{:02X}", x.to_ascii_uppercase() ^ 0x40));
                    i += 3;
                    continue;
                }
                'e' => out.push_str("\\x1B"),
                'Z' if !in_class => out.push_str("(?:\\n?\\z)"),
                'a' | 'f' | 'n' | 'r' | 't' | 'd' | 'D' | 'w' | 'W' | 's' | 'S' => {
                    out.push('\\');
                    out.push(n);
                }
                'b' | 'B' | 'A' | 'z' if !in_class => {
                    out.push('\\');
                    out.push(n);
                }
                'b' => out.push_str("\\x08"),
                n if n.is_ascii_alphanumeric() => {
                    return Err(format!("the escape \\{n} is not supported"));
                }
                n if REGEX_META.contains(n) => {
                    out.push('\\');
                    out.push(n);
                }
                n => out.push(n),
            }
            i += 2;
            continue;
        }
        if in_class {
            match c {
                ']' => in_class = false,
                '[' if pattern[i..].starts_with("[:") => {
                    // POSIX classes like [:alpha:] are the same in regex.
                    if let Some(end) = pattern[i..].find(":]") {
                        out.push_str(&pattern[i..i + end + 2]);
                        i += end + 2;
                        continue;
                    }
                    out.push_str("\\[");
                    i += 1;
                    continue;
                }
                '[' | '&' | '~' | '-' if c != '-' => {
                    // Literal in PCRE classes, set operators in regex.
                    out.push('\\');
                    out.push(c);
                    i += 1;
                    continue;
                }
                _ => {}
            }
            if c == '-' && pattern[i..].starts_with("--") {
                out.push_str("\\-");
                i += 1;
                continue;
            }
            out.push(c);
            i += 1;
            continue;
        }
        match c {
            '[' => {
                in_class = true;
                out.push(c);
                // A `]` right after `[` or `[^` is a literal in PCRE.
                if bytes.get(i + 1) == Some(&b'^') {
                    out.push('^');
                    i += 1;
                }
                if bytes.get(i + 1) == Some(&b']') {
                    out.push_str("\\]");
                    i += 1;
                }
            }
            '(' if pattern[i..].starts_with("(?#") => {
                // A comment: dropped.
                match pattern[i..].find(')') {
                    Some(end) => {
                        i += end + 1;
                        continue;
                    }
                    None => return Err("unterminated comment".into()),
                }
            }
            '{' => match quantifier_len(&pattern[i + 1..]) {
                Some(len) => {
                    out.push_str(&pattern[i..i + 1 + len]);
                    i += 1 + len;
                    if bytes.get(i) == Some(&b'+') {
                        return Err("possessive quantifier is not supported".into());
                    }
                    continue;
                }
                // Not a quantifier: a literal brace in PCRE.
                None => out.push_str("\\{"),
            },
            '}' => out.push_str("\\}"),
            '$' if !dollar_endonly && !multiline => {
                // PCRE's `$` also matches before a final newline.
                out.push_str("(?:\\n?\\z)");
            }
            _ => {
                for (needle, why) in UNSUPPORTED {
                    if !needle.starts_with('\\') && pattern[i..].starts_with(needle) {
                        return Err(format!("{why} is not supported"));
                    }
                }
                out.push(c);
            }
        }
        i += 1;
    }
    Ok(out)
}

/// Parses a `pcre` value: `[!]"/pattern/flags"`.
pub fn parse(value: &str) -> Result<Pcre, Problem> {
    let v = value.trim();
    let (negated, v) = match v.strip_prefix('!') {
        Some(r) => (true, r.trim()),
        None => (false, v),
    };
    let v = v
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(v);
    let v = v.replace("\\\"", "\"").replace("\\;", ";");
    let (v, capture_spec) = split_capture_spec(&v)?;
    let (pattern, flags) = match (v.strip_prefix('/'), v.rfind('/')) {
        (Some(_), Some(end)) if end > 0 => (&v[1..end], &v[end + 1..]),
        (Some(_), _) => return Err(Problem::value("pcre", "no closing `/`")),
        (None, _) => {
            let m = v
                .strip_prefix('m')
                .ok_or_else(|| Problem::value("pcre", "expected /pattern/flags"))?;
            let delim = m
                .chars()
                .next()
                .ok_or_else(|| Problem::value("pcre", "empty"))?;
            let end = m
                .rfind(delim)
                .filter(|e| *e > 0)
                .ok_or_else(|| Problem::value("pcre", "unterminated"))?;
            (&m[delim.len_utf8()..end], &m[end + delim.len_utf8()..])
        }
    };
    let mut prefix = String::from("(?-u)");
    let mut relative = false;
    let mut buffer = None;
    let mut anchored = false;
    let mut dollar_endonly = false;
    let mut multiline = false;
    for f in flags.chars() {
        match f {
            'i' => prefix.push_str("(?i)"),
            's' => prefix.push_str("(?s)"),
            'm' => {
                multiline = true;
                prefix.push_str("(?m)");
            }
            'x' => prefix.push_str("(?x)"),
            'G' => prefix.push_str("(?U)"),
            'A' => anchored = true,
            'E' => dollar_endonly = true,
            'R' => relative = true,
            'B' | 'O' => {}
            'U' => buffer = Some(Buffer::HttpUri),
            'I' => buffer = Some(Buffer::HttpUriRaw),
            'P' => buffer = Some(Buffer::HttpRequestBody),
            'Q' => buffer = Some(Buffer::HttpResponseBody),
            'H' | 'D' => buffer = Some(Buffer::HttpHeader),
            'M' => buffer = Some(Buffer::HttpMethod),
            'C' | 'K' => buffer = Some(Buffer::HttpCookie),
            'S' => buffer = Some(Buffer::HttpStatCode),
            'V' => buffer = Some(Buffer::HttpUserAgent),
            'W' | 'Z' => buffer = Some(Buffer::HttpHost),
            'Y' => buffer = Some(Buffer::HttpStatMsg),
            other => return Err(Problem::value("pcre", format!("unknown flag `{other}`"))),
        }
    }
    let body = translate(pattern, dollar_endonly, multiline)
        .map_err(|why| Problem::value("pcre", format!("cannot be run faithfully: {why}")))?;
    let full = if anchored {
        format!("{prefix}\\A(?:{body})")
    } else {
        format!("{prefix}{body}")
    };
    let regex = RegexBuilder::new(&full)
        .size_limit(4 << 20)
        .dfa_size_limit(4 << 20)
        .build()
        .map_err(|e| {
            let first = e.to_string().lines().last().unwrap_or("").to_string();
            Problem::value("pcre", format!("cannot be compiled: {first}"))
        })?;
    let captures = capture_vars(&regex, capture_spec)?;
    Ok(Pcre {
        regex,
        negated,
        relative,
        buffer,
        source: value.to_string(),
        captures,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_and_buffers() {
        let p = parse(r#""/\/[0-9]{2,8}\.functions/Ui""#).expect("parses");
        assert_eq!(p.buffer, Some(Buffer::HttpUri));
        assert_eq!(p.find(b"/x/1234.FUNCTIONS"), Some(17));
        let p = parse("/^.{1,2}$/").expect("parses");
        assert!(p.find(b"ab").is_some());
        assert!(
            p.find(b"ab\n").is_some(),
            "PCRE $ matches before a final newline"
        );
        assert!(p.find(b"abc").is_none());
        let p = parse("!\"/foo/R\"").expect("parses");
        assert!(p.negated && p.relative);
    }

    #[test]
    fn bytes_not_unicode() {
        let p = parse(r"/\xff\x00/").expect("parses");
        assert!(p.find(&[0x41, 0xff, 0x00]).is_some());
        let p = parse("/a.b/").expect("parses");
        assert!(p.find(&[b'a', 0xe9, b'b']).is_some());
    }

    #[test]
    fn unsupported_constructs_are_refused_with_a_reason() {
        for bad in [
            r"/(a)\1/",
            "/a(?=b)/",
            "/(?<!x)y/",
            "/a++/",
            r"/\Gx/",
            "/(?>ab)/",
        ] {
            match parse(bad) {
                Err(Problem::Value { reason, .. }) => {
                    assert!(reason.contains("not supported"), "{bad}: {reason}")
                }
                other => panic!("{bad}: {other:?}"),
            }
        }
        assert!(parse("/a/q").is_err());
        assert!(parse("/abc").is_err());
    }

    #[test]
    fn captures_go_to_flow_variables() {
        let p = parse(r#""/^(.*)\/(\d+\.\d+)/VG, flow:key,flow:value""#).expect("parses");
        assert_eq!(p.buffer, Some(Buffer::HttpUserAgent));
        let (_, vars) = p.find_captures(b"Mozilla/5.0 (X11)").expect("matches");
        assert_eq!(
            vars,
            vec![
                ("key".to_string(), b"Mozilla".to_vec()),
                ("value".to_string(), b"5.0".to_vec())
            ]
        );
        let p = parse("/id=(?P<flow_session>[0-9]+)/").expect("parses");
        let (_, vars) = p.find_captures(b"a id=42;").expect("matches");
        assert_eq!(vars, vec![("session".to_string(), b"42".to_vec())]);
        for bad in [
            "\"/(a)/, pkt:x\"",
            "\"/(a)/, flow:x,flow:y\"",
            "\"/(a)/, flow:\"",
            "/(?P<pkt_x>a)/",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn comments_octal_and_classes() {
        let p = parse(r"/a(?#comment)b\011[]x]/").expect("parses");
        assert!(p.find(b"ab\t]").is_some());
    }
}
