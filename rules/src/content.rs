//! Payload keywords: `content` with its modifiers, and the inspection of a buffer against a
//! rule's list of elements (contents, regular expressions, size checks), relative matches
//! included, with backtracking as Suricata does.

use crate::error::Problem;
use crate::pcre::Pcre;

/// A comparison of a number (`bsize`, `dsize`, `urilen`, `ttl`...).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cmp {
    /// `N`
    Eq(u64),
    /// `!N`
    Ne(u64),
    /// `<N`
    Lt(u64),
    /// `<=N`
    Le(u64),
    /// `>N`
    Gt(u64),
    /// `>=N`
    Ge(u64),
    /// `A<>B` (exclusive).
    Between(u64, u64),
}

impl Cmp {
    /// Parses `N`, `<N`, `<=N`, `>N`, `>=N`, `!N`, `A<>B` or `A-B`.
    pub fn parse(keyword: &str, v: &str) -> Result<Cmp, Problem> {
        let v = v.trim();
        let num = |s: &str| {
            s.trim()
                .parse::<u64>()
                .map_err(|_| Problem::value(keyword, format!("not a number: `{s}`")))
        };
        if let Some((a, b)) = v
            .split_once("<>")
            .or_else(|| v.split_once('-').filter(|(a, _)| !a.is_empty()))
        {
            let (a, b) = (num(a)?, num(b)?);
            if a >= b {
                return Err(Problem::value(keyword, "empty range"));
            }
            return Ok(Cmp::Between(a, b));
        }
        Ok(if let Some(r) = v.strip_prefix("<=") {
            Cmp::Le(num(r)?)
        } else if let Some(r) = v.strip_prefix(">=") {
            Cmp::Ge(num(r)?)
        } else if let Some(r) = v.strip_prefix('<') {
            Cmp::Lt(num(r)?)
        } else if let Some(r) = v.strip_prefix('>') {
            Cmp::Gt(num(r)?)
        } else if let Some(r) = v.strip_prefix('!') {
            Cmp::Ne(num(r)?)
        } else if let Some(r) = v.strip_prefix('=') {
            Cmp::Eq(num(r)?)
        } else {
            Cmp::Eq(num(v)?)
        })
    }

    /// Whether `x` satisfies the comparison.
    pub fn test(&self, x: u64) -> bool {
        match *self {
            Cmp::Eq(n) => x == n,
            Cmp::Ne(n) => x != n,
            Cmp::Lt(n) => x < n,
            Cmp::Le(n) => x <= n,
            Cmp::Gt(n) => x > n,
            Cmp::Ge(n) => x >= n,
            Cmp::Between(a, b) => a < x && x < b,
        }
    }
}

/// A `content` and its modifiers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Content {
    /// The bytes to find (lower-cased when `nocase`).
    pub pattern: Vec<u8>,
    /// Case-insensitive.
    pub nocase: bool,
    /// `content:!"..."`: must not be found.
    pub negated: bool,
    /// Start of the search (absolute).
    pub offset: Option<u32>,
    /// How far from the offset the search goes (absolute).
    pub depth: Option<u32>,
    /// Start relative to the previous match's end.
    pub distance: Option<i32>,
    /// End relative to the previous match's end.
    pub within: Option<u32>,
    /// Must be at the start of the buffer.
    pub startswith: bool,
    /// Must end at the end of the buffer.
    pub endswith: bool,
    /// Chosen as the rule's prefilter pattern.
    pub fast_pattern: bool,
}

impl Content {
    /// Whether its position depends on the previous match.
    pub fn is_relative(&self) -> bool {
        self.distance.is_some() || self.within.is_some()
    }
}

/// Parses a content value: optional `!`, a quoted string with `|hex|` runs and `\` escapes.
pub fn parse_pattern(raw: &str) -> Result<(Vec<u8>, bool), Problem> {
    let raw = raw.trim();
    let (negated, rest) = match raw.strip_prefix('!') {
        Some(r) => (true, r.trim()),
        None => (false, raw),
    };
    let inner = rest
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(rest);
    let mut out = Vec::new();
    let mut in_hex = false;
    let mut hex = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if in_hex {
            match c {
                '|' => {
                    let digits: String = hex.chars().filter(|c| !c.is_whitespace()).collect();
                    if digits.len() % 2 != 0 {
                        return Err(Problem::value("content", "odd number of hex digits"));
                    }
                    for i in (0..digits.len()).step_by(2) {
                        let b = u8::from_str_radix(&digits[i..i + 2], 16).map_err(|_| {
                            Problem::value("content", format!("bad hex `{}`", &digits[i..i + 2]))
                        })?;
                        out.push(b);
                    }
                    hex.clear();
                    in_hex = false;
                }
                c if c.is_ascii_hexdigit() || c.is_whitespace() => hex.push(c),
                c => {
                    return Err(Problem::value(
                        "content",
                        format!("`{c}` inside a |hex| run"),
                    ))
                }
            }
            continue;
        }
        match c {
            '|' => in_hex = true,
            '\\' => match chars.next() {
                Some(n) => {
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(n.encode_utf8(&mut buf).as_bytes());
                }
                None => return Err(Problem::value("content", "trailing backslash")),
            },
            '"' => return Err(Problem::value("content", "unescaped `\"` in the pattern")),
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    if in_hex {
        return Err(Problem::value("content", "unterminated |hex| run"));
    }
    if out.is_empty() {
        return Err(Problem::value("content", "empty pattern"));
    }
    Ok((out, negated))
}

/// A `byte_test`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ByteTest {
    /// Bytes to read (1-10 as a string, 1, 2, 4 or 8 as a number).
    pub bytes: usize,
    /// Negated operator.
    pub negated: bool,
    /// The operator: `<`, `>`, `=`, `<=`, `>=`, `&`, `^`.
    pub op: String,
    /// The value compared with.
    pub value: u64,
    /// Where to read.
    pub offset: i64,
    /// Relative to the previous match.
    pub relative: bool,
    /// Little-endian numbers.
    pub little: bool,
    /// The bytes are text in this base (10, 16, 8), not a binary number.
    pub string_base: Option<u32>,
}

impl ByteTest {
    /// Parses `bytes, [!]op, value, offset [, relative] [, big|little] [, string, dec|hex|oct]`.
    pub fn parse(v: &str) -> Result<Self, Problem> {
        let parts: Vec<&str> = v.split(',').map(str::trim).collect();
        if parts.len() < 4 {
            return Err(Problem::value(
                "byte_test",
                "needs bytes, operator, value and offset",
            ));
        }
        let bytes: usize = parts[0]
            .parse()
            .map_err(|_| Problem::value("byte_test", "bad byte count"))?;
        let (negated, op) = match parts[1].strip_prefix('!') {
            Some(o) => (true, o.to_string()),
            None => (false, parts[1].to_string()),
        };
        if !matches!(op.as_str(), "<" | ">" | "=" | "<=" | ">=" | "&" | "^") {
            return Err(Problem::value(
                "byte_test",
                format!("unknown operator `{op}`"),
            ));
        }
        let value =
            parse_number(parts[2]).ok_or_else(|| Problem::value("byte_test", "bad value"))?;
        let offset: i64 = parts[3]
            .parse()
            .map_err(|_| Problem::value("byte_test", "bad offset"))?;
        let mut t = ByteTest {
            bytes,
            negated,
            op,
            value,
            offset,
            relative: false,
            little: false,
            string_base: None,
        };
        let mut i = 4;
        while i < parts.len() {
            match parts[i] {
                "relative" => t.relative = true,
                "little" => t.little = true,
                "big" => t.little = false,
                "string" => t.string_base = Some(10),
                "dec" => t.string_base = Some(10),
                "hex" => t.string_base = Some(16),
                "oct" => t.string_base = Some(8),
                "dce" => return Err(Problem::Unsupported("byte_test dce".into())),
                other if other.starts_with("bitmask") => {
                    return Err(Problem::Unsupported("byte_test bitmask".into()))
                }
                other => {
                    return Err(Problem::value(
                        "byte_test",
                        format!("unknown option `{other}`"),
                    ))
                }
            }
            i += 1;
        }
        let max = if t.string_base.is_some() { 10 } else { 8 };
        if bytes == 0
            || bytes > max
            || (t.string_base.is_none() && ![1, 2, 3, 4, 8].contains(&bytes))
        {
            return Err(Problem::value(
                "byte_test",
                format!("cannot read {bytes} bytes"),
            ));
        }
        Ok(t)
    }

    fn test(&self, buf: &[u8], prev_end: usize) -> Option<bool> {
        let base = if self.relative { prev_end as i64 } else { 0 };
        let at = usize::try_from(base + self.offset).ok()?;
        let raw = buf.get(at..at.checked_add(self.bytes)?)?;
        let n = match self.string_base {
            Some(b) => u64::from_str_radix(std::str::from_utf8(raw).ok()?.trim(), b).ok()?,
            None => {
                let mut v = 0u64;
                if self.little {
                    for (i, x) in raw.iter().enumerate() {
                        v |= u64::from(*x) << (8 * i);
                    }
                } else {
                    for x in raw {
                        v = (v << 8) | u64::from(*x);
                    }
                }
                v
            }
        };
        let r = match self.op.as_str() {
            "<" => n < self.value,
            ">" => n > self.value,
            "=" => n == self.value,
            "<=" => n <= self.value,
            ">=" => n >= self.value,
            "&" => n & self.value != 0,
            "^" => n ^ self.value != 0,
            _ => false,
        };
        Some(r != self.negated)
    }
}

fn parse_number(s: &str) -> Option<u64> {
    let s = s.trim();
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

/// A `byte_jump`: reads a number and moves the inspection cursor by it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ByteJump {
    /// Bytes to read.
    pub bytes: usize,
    /// Where to read, from the cursor (relative) or the start.
    pub offset: i64,
    /// Relative to the previous match.
    pub relative: bool,
    /// Jump from the start of the buffer instead of the read position.
    pub from_beginning: bool,
    /// Jump from the end of the buffer.
    pub from_end: bool,
    /// Multiply the value read.
    pub multiplier: u64,
    /// Added after the jump.
    pub post_offset: i64,
    /// Round the landing position up to a multiple of 4.
    pub align: bool,
    /// Little-endian numbers.
    pub little: bool,
    /// The bytes are text in this base.
    pub string_base: Option<u32>,
}

impl ByteJump {
    /// Parses `bytes, offset [, relative] [, multiplier N] [, big|little] [, string, dec|hex|oct]
    /// [, align] [, from_beginning|from_end] [, post_offset N]`.
    pub fn parse(v: &str) -> Result<Self, Problem> {
        let parts: Vec<&str> = v.split(',').map(str::trim).collect();
        if parts.len() < 2 {
            return Err(Problem::value("byte_jump", "needs bytes and offset"));
        }
        let bytes: usize = parts[0]
            .parse()
            .map_err(|_| Problem::value("byte_jump", "bad byte count"))?;
        let offset: i64 = parts[1]
            .parse()
            .map_err(|_| Problem::value("byte_jump", "bad offset"))?;
        let mut j = ByteJump {
            bytes,
            offset,
            relative: false,
            from_beginning: false,
            from_end: false,
            multiplier: 1,
            post_offset: 0,
            align: false,
            little: false,
            string_base: None,
        };
        for p in &parts[2..] {
            let mut w = p.split_whitespace();
            match (w.next().unwrap_or(""), w.next()) {
                ("relative", None) => j.relative = true,
                ("little", None) => j.little = true,
                ("big", None) => j.little = false,
                ("string", None) | ("dec", None) => j.string_base = Some(10),
                ("hex", None) => j.string_base = Some(16),
                ("oct", None) => j.string_base = Some(8),
                ("align", None) => j.align = true,
                ("from_beginning", None) => j.from_beginning = true,
                ("from_end", None) => j.from_end = true,
                ("multiplier", Some(n)) => {
                    j.multiplier = n
                        .parse()
                        .map_err(|_| Problem::value("byte_jump", "bad multiplier"))?
                }
                ("post_offset", Some(n)) => {
                    j.post_offset = n
                        .parse()
                        .map_err(|_| Problem::value("byte_jump", "bad post_offset"))?
                }
                ("dce", None) => return Err(Problem::Unsupported("byte_jump dce".into())),
                (other, _) if other.starts_with("bitmask") => {
                    return Err(Problem::Unsupported("byte_jump bitmask".into()))
                }
                (other, _) => {
                    return Err(Problem::value(
                        "byte_jump",
                        format!("unknown option `{other}`"),
                    ))
                }
            }
        }
        let max = if j.string_base.is_some() { 10 } else { 8 };
        if bytes == 0
            || bytes > max
            || (j.string_base.is_none() && ![1, 2, 3, 4, 8].contains(&bytes))
        {
            return Err(Problem::value(
                "byte_jump",
                format!("cannot read {bytes} bytes"),
            ));
        }
        Ok(j)
    }

    /// The cursor after the jump, if the bytes are there and the landing is inside.
    fn jump(&self, buf: &[u8], prev_end: usize) -> Option<usize> {
        let base = if self.relative { prev_end as i64 } else { 0 };
        let at = usize::try_from(base + self.offset).ok()?;
        let raw = buf.get(at..at.checked_add(self.bytes)?)?;
        let n = read_number(raw, self.little, self.string_base)?;
        let jump = i64::try_from(n.checked_mul(self.multiplier)?).ok()?;
        let from = if self.from_beginning {
            0
        } else if self.from_end {
            buf.len() as i64
        } else {
            (at + self.bytes) as i64
        };
        let mut pos = from.checked_add(jump)?;
        if self.align && pos % 4 != 0 {
            pos += 4 - pos % 4;
        }
        pos = pos.checked_add(self.post_offset)?;
        let pos = usize::try_from(pos).ok()?;
        (pos <= buf.len()).then_some(pos)
    }
}

fn read_number(raw: &[u8], little: bool, base: Option<u32>) -> Option<u64> {
    match base {
        Some(b) => u64::from_str_radix(std::str::from_utf8(raw).ok()?.trim(), b).ok(),
        None => {
            let mut v = 0u64;
            if little {
                for (i, x) in raw.iter().enumerate() {
                    v |= u64::from(*x) << (8 * i);
                }
            } else {
                for x in raw {
                    v = (v << 8) | u64::from(*x);
                }
            }
            Some(v)
        }
    }
}

/// One element of a buffer's inspection list.
#[derive(Clone, Debug)]
pub enum Element {
    /// `content`.
    Content(Content),
    /// `pcre`.
    Pcre(Pcre),
    /// `bsize`: the buffer's length.
    Bsize(Cmp),
    /// `isdataat`.
    IsDataAt {
        /// Position.
        at: u64,
        /// Relative to the previous match.
        relative: bool,
        /// `!isdataat`.
        negated: bool,
    },
    /// `byte_test`.
    ByteTest(ByteTest),
    /// `byte_jump`.
    ByteJump(ByteJump),
}

impl Element {
    fn is_relative(&self) -> bool {
        match self {
            Element::Content(c) => c.is_relative(),
            Element::Pcre(p) => p.relative,
            Element::IsDataAt { relative, .. } => *relative,
            Element::ByteTest(b) => b.relative,
            Element::ByteJump(_) => true,
            Element::Bsize(_) => false,
        }
    }
}

/// A buffer under inspection, with its lower-cased copy made on demand.
#[derive(Debug)]
pub struct Subject<'a> {
    raw: &'a [u8],
    lower: Option<Vec<u8>>,
    /// Flow variables captured by the `pcre`s of the last successful inspection.
    pub captured: Vec<(String, Vec<u8>)>,
}

impl<'a> Subject<'a> {
    /// Inspects `raw`.
    pub fn new(raw: &'a [u8]) -> Self {
        Subject {
            raw,
            lower: None,
            captured: Vec::new(),
        }
    }

    fn lower(&mut self) -> &[u8] {
        let raw = self.raw;
        self.lower.get_or_insert_with(|| raw.to_ascii_lowercase())
    }
}

/// Depth of relative-match backtracking allowed per inspection (bounds hostile rules on
/// hostile data).
const MAX_STEPS: u32 = 10_000;

/// Whether `subject` satisfies every element of `elements`.
/// The flow variables its `pcre`s captured are left in `subject.captured`.
pub fn inspect(elements: &[Element], subject: &mut Subject<'_>) -> bool {
    let mut steps = 0;
    subject.captured.clear();
    walk(elements, 0, subject, 0, &mut steps)
}

fn window(c: &Content, len: usize, prev_end: usize) -> Option<(usize, usize)> {
    let plen = c.pattern.len();
    if c.startswith {
        return Some((0, plen.min(len)));
    }
    let (start, mut end) = if c.is_relative() {
        let d = i64::from(c.distance.unwrap_or(0));
        let start = (prev_end as i64 + d).max(0) as usize;
        let end = match c.within {
            Some(w) => (prev_end as i64 + d.max(0) + i64::from(w)).max(0) as usize,
            None => len,
        };
        (start, end)
    } else {
        let start = c.offset.unwrap_or(0) as usize;
        let end = match c.depth {
            Some(d) => start.saturating_add(d as usize),
            None => len,
        };
        (start, end)
    };
    end = end.min(len);
    if start > end {
        return None;
    }
    Some((start, end))
}

fn walk(
    elements: &[Element],
    i: usize,
    s: &mut Subject<'_>,
    prev_end: usize,
    steps: &mut u32,
) -> bool {
    *steps += 1;
    if *steps > MAX_STEPS {
        return false;
    }
    let Some(e) = elements.get(i) else {
        return true;
    };
    let len = s.raw.len();
    match e {
        Element::Content(c) => {
            let Some((start, end)) = window(c, len, prev_end) else {
                return c.negated && walk(elements, i + 1, s, prev_end, steps);
            };
            let plen = c.pattern.len();
            let hay: &[u8] = if c.nocase { s.lower() } else { s.raw };
            let Some(region) = hay.get(start..end) else {
                return c.negated && walk(elements, i + 1, s, prev_end, steps);
            };
            let mut positions: Vec<usize> = Vec::new();
            if c.endswith {
                if region.len() >= plen && end == len && region.ends_with(&c.pattern) {
                    positions.push(end - plen);
                }
            } else {
                let later_relative = elements[i + 1..].iter().any(Element::is_relative);
                for p in memchr::memmem::find_iter(region, &c.pattern) {
                    positions.push(start + p);
                    if !later_relative || positions.len() >= 256 {
                        break;
                    }
                }
            }
            if c.negated {
                return positions.is_empty() && walk(elements, i + 1, s, prev_end, steps);
            }
            positions
                .into_iter()
                .any(|p| walk(elements, i + 1, s, p + plen, steps))
        }
        Element::Pcre(p) if !p.captures.is_empty() && !p.negated => {
            let start = if p.relative { prev_end.min(len) } else { 0 };
            let Some((end, vars)) = p.find_captures(&s.raw[start..]) else {
                return false;
            };
            let mark = s.captured.len();
            s.captured.extend(vars);
            let ok = walk(elements, i + 1, s, start + end, steps);
            if !ok {
                s.captured.truncate(mark);
            }
            ok
        }
        Element::Pcre(p) => {
            let start = if p.relative { prev_end.min(len) } else { 0 };
            let found = p.find(&s.raw[start..]);
            match (found, p.negated) {
                (Some(_), true) | (None, false) => false,
                (None, true) => walk(elements, i + 1, s, prev_end, steps),
                (Some(end), false) => walk(elements, i + 1, s, start + end, steps),
            }
        }
        Element::Bsize(cmp) => cmp.test(len as u64) && walk(elements, i + 1, s, prev_end, steps),
        Element::IsDataAt {
            at,
            relative,
            negated,
        } => {
            let base = if *relative { prev_end as u64 } else { 0 };
            let present = base.saturating_add(*at) < len as u64;
            present != *negated && walk(elements, i + 1, s, prev_end, steps)
        }
        Element::ByteTest(b) => {
            b.test(s.raw, prev_end) == Some(true) && walk(elements, i + 1, s, prev_end, steps)
        }
        Element::ByteJump(j) => match j.jump(s.raw, prev_end) {
            Some(pos) => walk(elements, i + 1, s, pos, steps),
            None => false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content(p: &str) -> Content {
        Content {
            pattern: p.as_bytes().to_vec(),
            nocase: false,
            negated: false,
            offset: None,
            depth: None,
            distance: None,
            within: None,
            startswith: false,
            endswith: false,
            fast_pattern: false,
        }
    }

    fn check(elements: Vec<Element>, buf: &[u8]) -> bool {
        inspect(&elements, &mut Subject::new(buf))
    }

    #[test]
    fn patterns() {
        assert_eq!(
            parse_pattern("\"a|00 FF|b\"").expect("ok"),
            (vec![b'a', 0, 255, b'b'], false)
        );
        assert_eq!(
            parse_pattern("!\"x\\;y\"").expect("ok"),
            (b"x;y".to_vec(), true)
        );
        assert!(parse_pattern("\"|0|\"").is_err());
        assert!(parse_pattern("\"|zz|\"").is_err());
        assert!(parse_pattern("\"\"").is_err());
    }

    #[test]
    fn distance_and_within_backtrack() {
        let a = content("AllWorkAndNoPlayMakesWill");
        let mut b = content("DullBoy");
        b.distance = Some(1);
        b.within = Some(7);
        let hit = b"xxAllWorkAndNoPlayMakesWill A DullBoy";
        assert!(!check(
            vec![Element::Content(a.clone()), Element::Content(b.clone())],
            hit
        ));
        let hit = b"AllWorkAndNoPlayMakesWill zzz AllWorkAndNoPlayMakesWill DullBoy";
        assert!(check(vec![Element::Content(a), Element::Content(b)], hit));
    }

    #[test]
    fn offsets_depths_and_anchors() {
        let mut c = content("01");
        c.offset = Some(2);
        c.depth = Some(2);
        assert!(check(vec![Element::Content(c.clone())], b"xx01yy"));
        assert!(!check(vec![Element::Content(c)], b"x01yyy"));
        let mut e = content(".com");
        e.endswith = true;
        assert!(check(vec![Element::Content(e.clone())], b"google.com"));
        assert!(!check(vec![Element::Content(e)], b"google.com.evil"));
        let mut s = content("GET");
        s.startswith = true;
        assert!(check(vec![Element::Content(s.clone())], b"GET /"));
        assert!(!check(vec![Element::Content(s)], b" GET /"));
    }

    #[test]
    fn nocase_negation_and_sizes() {
        let mut c = content("mozilla");
        c.nocase = true;
        assert!(check(vec![Element::Content(c.clone())], b"Mozilla/5.0"));
        c.negated = true;
        assert!(!check(vec![Element::Content(c)], b"Mozilla/5.0"));
        assert!(check(
            vec![Element::Bsize(Cmp::parse("bsize", "<3").expect("ok"))],
            b"ab"
        ));
        assert!(!check(
            vec![Element::Bsize(Cmp::parse("bsize", "8<>20").expect("ok"))],
            b"abc"
        ));
        assert!(check(
            vec![Element::IsDataAt {
                at: 2,
                relative: false,
                negated: false
            }],
            b"abc"
        ));
    }

    #[test]
    fn byte_jumps_move_the_cursor() {
        let j = ByteJump::parse("1,0").expect("ok");
        let mut c = content("X");
        c.distance = Some(0);
        c.within = Some(1);
        let elems = vec![Element::ByteJump(j), Element::Content(c)];
        assert!(check(elems.clone(), &[2, b'a', b'b', b'X']));
        assert!(!check(elems, &[1, b'a', b'b', b'X']));
        assert!(ByteJump::parse("4,0,relative,multiplier 2,align,post_offset -1").is_ok());
        assert!(ByteJump::parse("4,0,dce").is_err());
    }

    #[test]
    fn byte_tests() {
        let t = ByteTest::parse("2,>,256,0").expect("ok");
        assert!(check(vec![Element::ByteTest(t.clone())], &[0x02, 0x00]));
        assert!(!check(vec![Element::ByteTest(t)], &[0x00, 0x02]));
        let t = ByteTest::parse("3,=,123,1,string,dec").expect("ok");
        assert!(check(vec![Element::ByteTest(t)], b"x123"));
        assert!(ByteTest::parse("5,=,1,0").is_err());
    }
}
