//! A parsed rule: its header, metadata, flow conditions and, per buffer, the list of elements
//! to inspect.

use crate::buffers::{Buffer, Transform};
use crate::content::{parse_pattern, ByteTest, Cmp, Content, Element};
use crate::error::Problem;
use crate::header::Header;
use crate::lexer::{split_rule, unquote, RawOption};
use crate::pcre;
use crate::vars::Vars;

/// Flow conditions (`flow:`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FlowCond {
    /// `established` (true) or `not_established` (false).
    pub established: Option<bool>,
    /// `to_server`/`from_client` (true) or `to_client`/`from_server` (false).
    pub to_server: Option<bool>,
    /// `only_stream` (true) or `no_stream` (false).
    pub stream: Option<bool>,
    /// `stateless`.
    pub stateless: bool,
}

/// A `flowbits` operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Flowbit {
    /// Set the bit.
    Set(String),
    /// Clear it.
    Unset(String),
    /// Flip it.
    Toggle(String),
    /// Match only if one of these is set.
    IsSet(Vec<String>),
    /// Match only if none of these is set.
    IsNotSet(Vec<String>),
}

/// How a threshold counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Track {
    /// Per source address.
    BySrc,
    /// Per destination address.
    ByDst,
    /// Per address pair.
    ByBoth,
    /// Once for the rule.
    ByRule,
    /// Per flow.
    ByFlow,
}

/// The kind of a `threshold`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ThresholdKind {
    /// Alert on the first `count` matches of each period.
    Limit,
    /// Alert on every `count`-th match.
    Threshold,
    /// Alert once per period after `count` matches.
    Both,
    /// `detection_filter`: alert on every match after the first `count` of a period.
    DetectionFilter,
}

/// A `threshold` or `detection_filter`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Threshold {
    /// Kind.
    pub kind: ThresholdKind,
    /// Counting key.
    pub track: Track,
    /// Count.
    pub count: u64,
    /// Period in seconds.
    pub seconds: u64,
}

/// What a rule inspects in one buffer.
#[derive(Clone, Debug)]
pub struct BufferMatch {
    /// The buffer.
    pub buffer: Buffer,
    /// Transformations applied first.
    pub transforms: Vec<Transform>,
    /// Elements, in order.
    pub elements: Vec<Element>,
}

/// Checks on the packet itself.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PacketChecks {
    /// Payload size.
    pub dsize: Option<Cmp>,
    /// IP protocol number.
    pub ip_proto: Option<(bool, u8)>,
    /// ICMP type.
    pub itype: Option<Cmp>,
    /// ICMP code.
    pub icode: Option<Cmp>,
    /// Time to live.
    pub ttl: Option<Cmp>,
    /// TCP flags.
    pub tcp_flags: Option<TcpFlags>,
}

/// The `flags` keyword: which TCP flags must be set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpFlags {
    /// The flags named.
    pub flags: u8,
    /// `+`: these and maybe others; `*`: any of these; `!`: not these; none: exactly these.
    pub modifier: Option<char>,
    /// Flags ignored in the comparison.
    pub mask: u8,
}

fn flag_bits(s: &str) -> Result<u8, Problem> {
    let mut bits = 0u8;
    for c in s.chars() {
        bits |= match c.to_ascii_uppercase() {
            'F' => 0x01,
            'S' => 0x02,
            'R' => 0x04,
            'P' => 0x08,
            'A' => 0x10,
            'U' => 0x20,
            'E' | '2' => 0x40,
            'C' | '1' => 0x80,
            '0' => 0,
            other => return Err(Problem::value("flags", format!("unknown flag `{other}`"))),
        };
    }
    Ok(bits)
}

impl TcpFlags {
    /// Parses `[!+*]FLAGS[,MASK]`.
    pub fn parse(v: &str) -> Result<Self, Problem> {
        let (spec, mask) = match v.split_once(',') {
            Some((a, b)) => (a.trim(), flag_bits(b.trim())?),
            None => (v.trim(), 0),
        };
        let (modifier, letters) = match spec.chars().next() {
            Some(m @ ('!' | '+' | '*')) => (Some(m), &spec[1..]),
            _ => (None, spec),
        };
        Ok(TcpFlags {
            flags: flag_bits(letters)?,
            modifier,
            mask,
        })
    }

    /// Whether a packet's flags satisfy the condition.
    pub fn test(&self, packet: u8) -> bool {
        let p = packet & !self.mask;
        match self.modifier {
            None => p == self.flags,
            Some('+') => p & self.flags == self.flags,
            Some('*') => p & self.flags != 0,
            Some('!') => p & self.flags == 0,
            _ => false,
        }
    }
}

impl PacketChecks {
    /// Whether any check is present.
    pub fn any(&self) -> bool {
        self.dsize.is_some()
            || self.ip_proto.is_some()
            || self.itype.is_some()
            || self.icode.is_some()
            || self.ttl.is_some()
            || self.tcp_flags.is_some()
    }
}

/// A rule.
#[derive(Clone, Debug)]
pub struct Rule {
    /// Header.
    pub header: Header,
    /// Signature id.
    pub sid: u32,
    /// Generator id (1 unless given).
    pub gid: u32,
    /// Revision.
    pub rev: u32,
    /// Message.
    pub msg: String,
    /// Class type.
    pub classtype: Option<String>,
    /// Explicit priority.
    pub priority: Option<u8>,
    /// `metadata` entries as `key value`.
    pub metadata: Vec<(String, String)>,
    /// `flow` conditions.
    pub flow: FlowCond,
    /// `flowbits` operations, in order.
    pub flowbits: Vec<Flowbit>,
    /// `noalert`: never reported.
    pub noalert: bool,
    /// Packet checks.
    pub packet: PacketChecks,
    /// Per-buffer inspections.
    pub buffers: Vec<BufferMatch>,
    /// `threshold` or `detection_filter`.
    pub threshold: Option<Threshold>,
}

impl Rule {
    /// Whether the rule is matched against application-layer transactions: it looks at an
    /// application-layer buffer, or names an application protocol and inspects nothing of the
    /// packet (`alert tls any any -> any any (sid:1;)` alerts once per transaction).
    pub fn is_app(&self) -> bool {
        self.buffers.iter().any(|b| b.buffer != Buffer::Payload)
            || (self.header.proto.app().is_some() && self.buffers.is_empty() && !self.packet.any())
    }

    /// Whether the rule inspects the server's side of a transaction: one of its buffers
    /// comes from the server, or it says `flow:to_client`.
    pub fn inspects_response(&self) -> bool {
        self.buffers.iter().any(|m| m.buffer.to_client()) || self.flow.to_server == Some(false)
    }

    /// Whether the rule must see packets as they are, not reassembled stream data: it
    /// checks packet fields (`dsize`, `flags`, `ttl`...), says `flow:no_stream`, or has no
    /// payload content at all.
    pub fn packet_only(&self) -> bool {
        self.packet.any()
            || self.flow.stream == Some(false)
            || !self
                .buffers
                .iter()
                .any(|m| m.buffer == Buffer::Payload && !m.elements.is_empty())
    }

    /// The application protocol the rule needs, from its protocol or buffers.
    pub fn app(&self) -> Option<&'static str> {
        self.header
            .proto
            .app()
            .or_else(|| self.buffers.iter().find_map(|b| b.buffer.app()))
    }
}

/// Keywords accepted and ignored: they do not change what matches.
const IGNORED: &[&str] = &["reference", "rawbytes", "target", "tag", "noalert_flow_log"];

struct Builder {
    rule: Rule,
    current: Buffer,
    sid: Option<u32>,
    /// The buffer of the most recent content (older modifiers apply to it).
    last_content: Option<Buffer>,
}

impl Builder {
    fn list(&mut self, b: Buffer) -> &mut BufferMatch {
        if let Some(i) = self.rule.buffers.iter().position(|m| m.buffer == b) {
            return &mut self.rule.buffers[i];
        }
        self.rule.buffers.push(BufferMatch {
            buffer: b,
            transforms: Vec::new(),
            elements: Vec::new(),
        });
        let last = self.rule.buffers.len() - 1;
        &mut self.rule.buffers[last]
    }

    fn last_content(&mut self, keyword: &str) -> Result<&mut Content, Problem> {
        let cur = self.last_content.unwrap_or(self.current);
        let list = self.list(cur);
        match list.elements.iter_mut().rev().find_map(|e| match e {
            Element::Content(c) => Some(c),
            _ => None,
        }) {
            Some(c) => Ok(c),
            None => Err(Problem::value(keyword, "needs a preceding content")),
        }
    }

    /// The most recent content (legacy modifiers apply to it), removed from its list.
    fn take_last_content(&mut self) -> Option<Content> {
        let b = self.last_content?;
        let m = self.rule.buffers.iter_mut().find(|m| m.buffer == b)?;
        let i = m
            .elements
            .iter()
            .rposition(|e| matches!(e, Element::Content(_)))?;
        match m.elements.remove(i) {
            Element::Content(c) => Some(c),
            _ => None,
        }
    }
}

fn number<T: std::str::FromStr>(keyword: &str, v: Option<&str>) -> Result<T, Problem> {
    let v = v.ok_or_else(|| Problem::value(keyword, "needs a value"))?;
    v.trim()
        .parse()
        .map_err(|_| Problem::value(keyword, format!("not a number: `{}`", v.trim())))
}

fn parse_threshold(keyword: &str, v: &str, detection_filter: bool) -> Result<Threshold, Problem> {
    let mut kind = if detection_filter {
        Some(ThresholdKind::DetectionFilter)
    } else {
        None
    };
    let mut track = None;
    let mut count = None;
    let mut seconds = None;
    for part in v.split(',') {
        let mut words = part.split_whitespace();
        let (Some(k), Some(val)) = (words.next(), words.next()) else {
            return Err(Problem::value(
                keyword,
                format!("bad part `{}`", part.trim()),
            ));
        };
        match k {
            "type" => {
                kind = Some(match val {
                    "limit" => ThresholdKind::Limit,
                    "threshold" => ThresholdKind::Threshold,
                    "both" => ThresholdKind::Both,
                    other => {
                        return Err(Problem::value(keyword, format!("unknown type `{other}`")))
                    }
                })
            }
            "track" => {
                track = Some(match val {
                    "by_src" => Track::BySrc,
                    "by_dst" => Track::ByDst,
                    "by_both" => Track::ByBoth,
                    "by_rule" => Track::ByRule,
                    "by_flow" => Track::ByFlow,
                    other => {
                        return Err(Problem::value(keyword, format!("unknown track `{other}`")))
                    }
                })
            }
            "count" => count = val.parse().ok(),
            "seconds" => seconds = val.parse().ok(),
            other => return Err(Problem::value(keyword, format!("unknown part `{other}`"))),
        }
    }
    match (kind, track, count, seconds) {
        (Some(kind), Some(track), Some(count), Some(seconds)) => Ok(Threshold {
            kind,
            track,
            count,
            seconds,
        }),
        _ => Err(Problem::value(
            keyword,
            "needs type, track, count and seconds",
        )),
    }
}

fn flowbit_names(v: &str) -> Vec<String> {
    v.split(['|', '&'])
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

impl Rule {
    /// Parses one rule's text.
    pub fn parse(text: &str, vars: &Vars) -> Result<Rule, (Option<u32>, Problem)> {
        let (header_text, options) = split_rule(text).map_err(|p| (None, p))?;
        // The sid first, so that every later error can name it.
        let sid = options
            .iter()
            .find(|o| o.name == "sid")
            .and_then(|o| o.value.as_deref())
            .and_then(|v| v.trim().parse::<u32>().ok());
        let header = Header::parse(header_text, vars).map_err(|p| (sid, p))?;
        let mut b = Builder {
            rule: Rule {
                header,
                sid: 0,
                gid: 1,
                rev: 0,
                msg: String::new(),
                classtype: None,
                priority: None,
                metadata: Vec::new(),
                flow: FlowCond::default(),
                flowbits: Vec::new(),
                noalert: false,
                packet: PacketChecks::default(),
                buffers: Vec::new(),
                threshold: None,
            },
            current: Buffer::Payload,
            sid,
            last_content: None,
        };
        for o in &options {
            apply(&mut b, o).map_err(|p| (sid, p))?;
        }
        let rule = b.rule;
        let Some(sid) = b.sid else {
            return Err((None, Problem::syntax("no sid")));
        };
        let mut rule = rule;
        rule.sid = sid;
        // An empty sticky-buffer list (the keyword without anything after it) still requires
        // the buffer to exist; keep it.
        Ok(rule)
    }
}

fn apply(b: &mut Builder, o: &RawOption) -> Result<(), Problem> {
    let v = o.value.as_deref();
    let name = o.name.as_str();
    if let Some(buf) = Buffer::sticky(name) {
        b.current = buf;
        b.list(buf);
        return Ok(());
    }
    if let Some(buf) = Buffer::modifier(name) {
        let c = b
            .take_last_content()
            .ok_or_else(|| Problem::value(name, "needs a preceding content"))?;
        b.list(buf).elements.push(Element::Content(c));
        b.last_content = Some(buf);
        return Ok(());
    }
    if let Some(t) = Transform::named(name) {
        let cur = b.current;
        b.list(cur).transforms.push(t);
        return Ok(());
    }
    match name {
        "msg" => b.rule.msg = unquote(v.unwrap_or("")),
        "sid" => b.sid = Some(number(name, v)?),
        "rev" => b.rule.rev = number(name, v)?,
        "gid" => b.rule.gid = number(name, v)?,
        "classtype" => b.rule.classtype = v.map(|s| s.trim().to_string()),
        "priority" => b.rule.priority = Some(number(name, v)?),
        "metadata" => {
            for item in v.unwrap_or("").split(',') {
                let item = item.trim();
                if item.is_empty() {
                    continue;
                }
                let (k, val) = item.split_once(char::is_whitespace).unwrap_or((item, ""));
                b.rule
                    .metadata
                    .push((k.trim().to_string(), val.trim().to_string()));
            }
        }
        "content" => {
            let (pattern, negated) =
                parse_pattern(v.ok_or_else(|| Problem::value(name, "needs a value"))?)?;
            let cur = b.current;
            b.last_content = Some(cur);
            b.list(cur).elements.push(Element::Content(Content {
                pattern,
                nocase: false,
                negated,
                offset: None,
                depth: None,
                distance: None,
                within: None,
                startswith: false,
                endswith: false,
                fast_pattern: false,
            }));
        }
        "nocase" => {
            let c = b.last_content(name)?;
            c.nocase = true;
            c.pattern.make_ascii_lowercase();
        }
        "depth" | "offset" => {
            let n: u32 = number(name, v)?;
            let c = b.last_content(name)?;
            if c.is_relative() {
                return Err(Problem::value(
                    name,
                    "cannot be mixed with distance/within on one content",
                ));
            }
            if name == "depth" {
                c.depth = Some(n);
            } else {
                c.offset = Some(n);
            }
        }
        "distance" | "within" => {
            let c = b.last_content(name)?;
            if c.offset.is_some() || c.depth.is_some() {
                return Err(Problem::value(
                    name,
                    "cannot be mixed with depth/offset on one content",
                ));
            }
            if name == "distance" {
                c.distance = Some(number(name, v)?);
            } else {
                let w: u32 = number(name, v)?;
                if (w as usize) < c.pattern.len() {
                    return Err(Problem::value(name, "shorter than the content"));
                }
                c.within = Some(w);
            }
        }
        "startswith" => b.last_content(name)?.startswith = true,
        "endswith" => b.last_content(name)?.endswith = true,
        "fast_pattern" => {
            // `fast_pattern:only` and `fast_pattern:offset,length` choose the same content
            // (the prefilter then looks for all of it, which changes nothing of what matches).
            let c = b.last_content(name)?;
            if c.negated {
                return Err(Problem::value(name, "cannot be a negated content"));
            }
            c.fast_pattern = true;
        }
        "isdataat" => {
            let raw = v.ok_or_else(|| Problem::value(name, "needs a value"))?;
            let (negated, raw) = match raw.trim().strip_prefix('!') {
                Some(r) => (true, r),
                None => (false, raw.trim()),
            };
            let mut parts = raw.split(',').map(str::trim);
            let at: u64 = number(name, parts.next())?;
            let relative = parts.any(|p| p == "relative");
            let cur = b.current;
            b.list(cur).elements.push(Element::IsDataAt {
                at,
                relative,
                negated,
            });
        }
        "pcre" => {
            let p = pcre::parse(v.ok_or_else(|| Problem::value(name, "needs a value"))?)?;
            let buf = p.buffer.unwrap_or(b.current);
            b.list(buf).elements.push(Element::Pcre(p));
        }
        "bsize" => {
            let cmp = Cmp::parse(
                name,
                v.ok_or_else(|| Problem::value(name, "needs a value"))?,
            )?;
            if b.current == Buffer::Payload {
                return Err(Problem::value(name, "needs a sticky buffer"));
            }
            let cur = b.current;
            b.list(cur).elements.push(Element::Bsize(cmp));
        }
        "urilen" => {
            let raw = v.ok_or_else(|| Problem::value(name, "needs a value"))?;
            let num = raw.split(',').next().unwrap_or(raw);
            let cmp = Cmp::parse(name, num)?;
            b.list(Buffer::HttpUri).elements.push(Element::Bsize(cmp));
        }
        "byte_jump" => {
            let j = crate::content::ByteJump::parse(
                v.ok_or_else(|| Problem::value(name, "needs a value"))?,
            )?;
            let cur = b.current;
            b.list(cur).elements.push(Element::ByteJump(j));
        }
        "flags" => b.rule.packet.tcp_flags = Some(TcpFlags::parse(v.unwrap_or(""))?),
        "byte_test" => {
            let t = ByteTest::parse(v.ok_or_else(|| Problem::value(name, "needs a value"))?)?;
            let cur = b.current;
            b.list(cur).elements.push(Element::ByteTest(t));
        }
        "dsize" => b.rule.packet.dsize = Some(Cmp::parse(name, v.unwrap_or(""))?),
        "itype" => b.rule.packet.itype = Some(Cmp::parse(name, v.unwrap_or(""))?),
        "icode" => b.rule.packet.icode = Some(Cmp::parse(name, v.unwrap_or(""))?),
        "ttl" => b.rule.packet.ttl = Some(Cmp::parse(name, v.unwrap_or(""))?),
        "ip_proto" => {
            let raw = v
                .ok_or_else(|| Problem::value(name, "needs a value"))?
                .trim();
            let (neg, p) = match raw.strip_prefix('!') {
                Some(r) => (true, r.trim()),
                None => (false, raw),
            };
            let num = match p.to_ascii_lowercase().as_str() {
                "tcp" => 6,
                "udp" => 17,
                "icmp" => 1,
                "ipv6-icmp" | "icmpv6" => 58,
                "gre" => 47,
                "esp" => 50,
                "ah" => 51,
                other => other
                    .parse()
                    .map_err(|_| Problem::value(name, format!("unknown protocol `{other}`")))?,
            };
            b.rule.packet.ip_proto = Some((neg, num));
        }
        "flow" => {
            for part in v.unwrap_or("").split(',') {
                match part.trim() {
                    "established" => b.rule.flow.established = Some(true),
                    "not_established" => b.rule.flow.established = Some(false),
                    "to_server" | "from_client" => b.rule.flow.to_server = Some(true),
                    "to_client" | "from_server" => b.rule.flow.to_server = Some(false),
                    "only_stream" => b.rule.flow.stream = Some(true),
                    "no_stream" => b.rule.flow.stream = Some(false),
                    "stateless" => b.rule.flow.stateless = true,
                    "" => {}
                    other => return Err(Problem::Unsupported(format!("flow:{other}"))),
                }
            }
        }
        "flowbits" => {
            let raw = v.ok_or_else(|| Problem::value(name, "needs a value"))?;
            let (op, arg) = match raw.split_once(',') {
                Some((o, a)) => (o.trim(), a.trim()),
                None => (raw.trim(), ""),
            };
            let fb = match op {
                "noalert" => {
                    b.rule.noalert = true;
                    return Ok(());
                }
                "set" => Flowbit::Set(arg.to_string()),
                "unset" => Flowbit::Unset(arg.to_string()),
                "toggle" => Flowbit::Toggle(arg.to_string()),
                "isset" => Flowbit::IsSet(flowbit_names(arg)),
                "isnotset" => Flowbit::IsNotSet(flowbit_names(arg)),
                other => return Err(Problem::value(name, format!("unknown operation `{other}`"))),
            };
            if arg.is_empty() {
                return Err(Problem::value(name, "needs a name"));
            }
            b.rule.flowbits.push(fb);
        }
        "noalert" => b.rule.noalert = true,
        "threshold" => b.rule.threshold = Some(parse_threshold(name, v.unwrap_or(""), false)?),
        "detection_filter" => {
            b.rule.threshold = Some(parse_threshold(name, v.unwrap_or(""), true)?)
        }
        n if IGNORED.contains(&n) => {}
        other => return Err(Problem::Unsupported(other.to_string())),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(text: &str) -> Rule {
        Rule::parse(text, &Vars::default()).unwrap_or_else(|e| panic!("{text}: {e:?}"))
    }

    #[test]
    fn echap_style_rule() {
        let r = rule(
            r#"alert dns $HOME_NET any -> any any (msg:"PTS STALKERWARE TheTruthSpy (copy9[.]com)"; metadata: type stalkerware; dns.query; content:"copy9.com"; depth:9; nocase; endswith; fast_pattern; reference:url,github.com/AssoEchap/stalkerware-indicators; classtype:targeted-activity; sid:1000001; rev:1;)"#,
        );
        assert_eq!(r.sid, 1_000_001);
        assert_eq!(r.app(), Some("dns"));
        assert_eq!(r.metadata, vec![("type".into(), "stalkerware".into())]);
        let m = &r.buffers[0];
        assert_eq!(m.buffer, Buffer::DnsQuery);
        match &m.elements[0] {
            Element::Content(c) => {
                assert!(c.nocase && c.endswith && c.fast_pattern);
                assert_eq!(c.depth, Some(9));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn legacy_modifiers_move_contents() {
        let r = rule(
            r#"alert tcp any any -> any any (content:"POST"; http_method; content:"/"; http_uri; content:"dummy"; http_cookie; sid:1;)"#,
        );
        let bufs: Vec<Buffer> = r
            .buffers
            .iter()
            .filter(|m| !m.elements.is_empty())
            .map(|m| m.buffer)
            .collect();
        assert_eq!(
            bufs,
            vec![Buffer::HttpMethod, Buffer::HttpUri, Buffer::HttpCookie]
        );
        assert_eq!(r.app(), Some("http"));
    }

    #[test]
    fn errors_name_the_problem() {
        let v = Vars::default();
        let e = Rule::parse(
            "alert tcp any any -> any any (content:\"x\"; lua:foo; sid:7;)",
            &v,
        )
        .expect_err("unsupported");
        assert_eq!(e, (Some(7), Problem::Unsupported("lua".into())));
        let e =
            Rule::parse("alert tcp any any -> any any (msg:\"no sid\";)", &v).expect_err("no sid");
        assert_eq!(e.0, None);
        assert!(Rule::parse("alert tcp any any -> any any (nocase; sid:1;)", &v).is_err());
        assert!(Rule::parse(
            "alert tcp any any -> any any (content:\"abc\"; within:2; sid:1;)",
            &v
        )
        .is_err());
        assert!(Rule::parse(
            "alert tcp any any -> any any (content:\"a\"; depth:2; distance:1; sid:1;)",
            &v
        )
        .is_err());
    }

    #[test]
    fn thresholds_and_flowbits() {
        let r = rule("alert icmp any any -> any any (itype:8; detection_filter:track by_src, count 2, seconds 60; flowbits:set,a; flowbits:noalert; sid:3;)");
        assert_eq!(r.threshold.map(|t| t.count), Some(2));
        assert!(r.noalert);
        assert_eq!(r.flowbits, vec![Flowbit::Set("a".into())]);
    }
}
