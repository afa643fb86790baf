//! From rule files to rule texts, and from a rule text to its header and options.

use crate::error::Problem;

/// A rule's text and the line it starts on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleText {
    /// First line (1-based).
    pub line: usize,
    /// The text, continuation lines joined.
    pub text: String,
}

/// Longest rule accepted, in bytes.
const MAX_RULE: usize = 64 * 1024;

/// The rules of a file: comments and blank lines skipped, lines ending in `\` joined.
pub fn rule_texts(source: &str) -> Vec<RuleText> {
    let mut out = Vec::new();
    let mut cur: Option<RuleText> = None;
    for (i, raw) in source.lines().enumerate() {
        let line = raw.trim_end_matches('\r');
        let trimmed = line.trim();
        if cur.is_none() && (trimmed.is_empty() || trimmed.starts_with('#')) {
            continue;
        }
        let (body, continues) = match trimmed.strip_suffix('\\') {
            Some(b) => (b.trim_end(), true),
            None => (trimmed, false),
        };
        let entry = cur.get_or_insert_with(|| RuleText {
            line: i + 1,
            text: String::new(),
        });
        if entry.text.len() + body.len() <= MAX_RULE {
            if !entry.text.is_empty() {
                entry.text.push(' ');
            }
            entry.text.push_str(body);
        }
        if !continues {
            if let Some(done) = cur.take() {
                out.push(done);
            }
        }
    }
    if let Some(done) = cur.take() {
        out.push(done);
    }
    out
}

/// One option: its keyword and raw value (quotes and escapes still in).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawOption {
    /// Keyword, lower-cased.
    pub name: String,
    /// Value after the colon, trimmed.
    pub value: Option<String>,
}

/// Splits `header (options)`.
pub fn split_rule(text: &str) -> Result<(&str, Vec<RawOption>), Problem> {
    let open = text
        .find('(')
        .ok_or_else(|| Problem::syntax("no `(` before the options"))?;
    let close = text
        .rfind(')')
        .filter(|c| *c > open)
        .ok_or_else(|| Problem::syntax("no `)` after the options"))?;
    if !text[close + 1..].trim().is_empty() {
        return Err(Problem::syntax("text after the options' `)`"));
    }
    let header = text[..open].trim();
    let body = &text[open + 1..close];
    Ok((header, split_options(body)?))
}

fn split_options(body: &str) -> Result<Vec<RawOption>, Problem> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_quotes = false;
    let mut escaped = false;
    for c in body.chars() {
        if escaped {
            cur.push('\\');
            cur.push(c);
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '"' => {
                in_quotes = !in_quotes;
                cur.push(c);
            }
            ';' if !in_quotes => {
                push_option(&mut out, &cur)?;
                cur.clear();
            }
            c => cur.push(c),
        }
    }
    if in_quotes {
        return Err(Problem::syntax("unterminated quoted value"));
    }
    if !cur.trim().is_empty() {
        return Err(Problem::syntax(format!(
            "the last option `{}` is not followed by `;`",
            cur.trim()
        )));
    }
    Ok(out)
}

fn push_option(out: &mut Vec<RawOption>, text: &str) -> Result<(), Problem> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(());
    }
    let (name, value) = match t.split_once(':') {
        Some((n, v)) => (n.trim(), Some(v.trim().to_string())),
        None => (t, None),
    };
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
    {
        return Err(Problem::syntax(format!("bad option name `{name}`")));
    }
    out.push(RawOption {
        name: name.to_ascii_lowercase(),
        value,
    });
    Ok(())
}

/// Removes surrounding quotes and resolves `\x` escapes (`\"`, `\;`, `\\`, `\:`).
pub fn unquote(v: &str) -> String {
    let v = v.trim();
    let inner = v
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(v);
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_with_comments_and_continuations() {
        let src = "# comment\n\nalert dns any any -> any 53 ( \\\nmsg:\"x\"; \\\nsid:1;)\n  # another\nalert ip any any -> any any (sid:2;)\n";
        let rules = rule_texts(src);
        assert_eq!(rules.len(), 2);
        assert_eq!(rules[0].line, 3);
        assert_eq!(
            rules[0].text,
            "alert dns any any -> any 53 ( msg:\"x\"; sid:1;)"
        );
        assert_eq!(rules[1].line, 7);
    }

    #[test]
    fn options_with_quotes_and_escapes() {
        let (h, opts) = split_rule(
            r#"alert tcp any any -> any any (msg:"a; b \"c\""; content:"x\;y"; nocase; sid:1;)"#,
        )
        .expect("splits");
        assert_eq!(h, "alert tcp any any -> any any");
        assert_eq!(opts.len(), 4);
        assert_eq!(unquote(opts[0].value.as_deref().expect("v")), "a; b \"c\"");
        assert_eq!(unquote(opts[1].value.as_deref().expect("v")), "x;y");
        assert_eq!(opts[2].name, "nocase");
        assert!(opts[2].value.is_none());
    }

    #[test]
    fn malformed_rules() {
        assert!(split_rule("alert tcp any any -> any any sid:1;").is_err());
        assert!(split_rule("alert tcp any any -> any any (sid:1").is_err());
        assert!(split_rule("alert tcp any any -> any any (msg:\"open; sid:1;)").is_err());
        assert!(split_rule("alert tcp any any -> any any (sid:1)").is_err());
    }
}
