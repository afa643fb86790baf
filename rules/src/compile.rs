//! Loading rule files into a [`RuleSet`]: rules sorted in evaluation order and grouped by
//! what they inspect, each group with a multi-pattern prefilter (Aho-Corasick over the
//! rules' fast patterns), so that thousands of rules cost little more than a few.

use std::collections::{BTreeMap, HashMap};

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

use crate::buffers::Buffer;
use crate::content::Element;
use crate::error::{Problem, RuleError};
use crate::header::{Action, Proto};
use crate::lexer::rule_texts;
use crate::rule::{Flowbit, Rule};
use crate::vars::Vars;

/// A prefilter over one buffer: which rules may match, from their fast patterns.
#[derive(Debug)]
pub(crate) struct Prefilter {
    /// Case-sensitive patterns, and the rule of each.
    exact: Option<(AhoCorasick, Vec<u32>)>,
    /// Case-insensitive patterns, and the rule of each.
    nocase: Option<(AhoCorasick, Vec<u32>)>,
}

/// A rule's fast pattern, as fed to a prefilter.
struct FastPattern {
    bytes: Vec<u8>,
    nocase: bool,
    rule: u32,
}

impl Prefilter {
    fn build(patterns: Vec<FastPattern>) -> Self {
        let (ci, cs): (Vec<_>, Vec<_>) = patterns.into_iter().partition(|p| p.nocase);
        let make = |v: Vec<FastPattern>, nocase: bool| -> Option<(AhoCorasick, Vec<u32>)> {
            if v.is_empty() {
                return None;
            }
            let rules: Vec<u32> = v.iter().map(|p| p.rule).collect();
            let pats: Vec<Vec<u8>> = v.into_iter().map(|p| p.bytes).collect();
            AhoCorasickBuilder::new()
                .ascii_case_insensitive(nocase)
                .match_kind(MatchKind::Standard)
                .build(&pats)
                .ok()
                .map(|ac| (ac, rules))
        };
        Prefilter {
            exact: make(cs, false),
            nocase: make(ci, true),
        }
    }

    /// Adds the rules whose fast pattern occurs in `hay` to `out`.
    pub(crate) fn candidates(&self, hay: &[u8], out: &mut Vec<u32>) {
        for (ac, rules) in [&self.exact, &self.nocase].into_iter().flatten() {
            for m in ac.find_overlapping_iter(hay) {
                if let Some(r) = rules.get(m.pattern().as_usize()) {
                    out.push(*r);
                }
            }
        }
    }
}

/// Rules inspected together, with their prefilter.
#[derive(Debug, Default)]
pub(crate) struct Group {
    /// Rules always evaluated (no fast pattern in this group's buffers).
    pub always: Vec<u32>,
    /// IP-only rules (addresses, ports and protocol only): evaluated on the first packet of
    /// each direction of a flow, like Suricata's IP-only engine.
    pub ip_only: Vec<u32>,
    /// IP-only rules naming single addresses, by address: found by the packet's addresses
    /// instead of being tried one by one (blocklists of thousands of addresses).
    pub ip_index: HashMap<std::net::IpAddr, Vec<u32>>,
    /// Prefilters per buffer.
    pub prefilters: BTreeMap<Buffer, Prefilter>,
}

/// The packet-rule groups, by transport.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Transport {
    Tcp,
    Udp,
    Icmp,
    Other,
}

impl Transport {
    pub(crate) fn of(ip_proto: u8) -> Self {
        match ip_proto {
            6 => Transport::Tcp,
            17 => Transport::Udp,
            1 | 58 => Transport::Icmp,
            _ => Transport::Other,
        }
    }
}

/// A loaded, compiled rule set.
#[derive(Debug, Default)]
pub struct RuleSet {
    /// The rules, in evaluation order.
    pub rules: Vec<Rule>,
    pub(crate) packet_groups: HashMap<Transport, Group>,
    pub(crate) app_groups: HashMap<&'static str, Group>,
    /// Flowbit names, interned.
    pub(crate) flowbit_ids: HashMap<String, u16>,
    /// Per-rule counters, when profiling.
    pub(crate) profile: Option<crate::profile::Profile>,
}

/// What loading produced besides the rules.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoadReport {
    /// Rules loaded.
    pub loaded: usize,
    /// Rules that failed, with why.
    pub errors: Vec<RuleError>,
    /// Unsupported keywords, with how many rules each made fail.
    pub unsupported: BTreeMap<String, usize>,
}

impl LoadReport {
    /// Records a failed rule.
    fn fail(&mut self, file: &str, line: usize, sid: Option<u32>, problem: Problem) {
        let unsupported = match &problem {
            Problem::Unsupported(k) => Some(k.clone()),
            _ => None,
        };
        if let Some(k) = &unsupported {
            *self.unsupported.entry(k.clone()).or_insert(0) += 1;
        }
        self.errors.push(RuleError {
            file: file.to_string(),
            line,
            sid,
            reason: problem.to_string(),
            unsupported,
        });
    }
}

/// Parses the rules of several files (name, text).
pub fn parse_files(files: &[(String, String)], vars: &Vars) -> (Vec<Rule>, LoadReport) {
    let mut rules = Vec::new();
    let mut report = LoadReport::default();
    let mut seen: HashMap<(u32, u32), (String, usize)> = HashMap::new();
    for (name, text) in files {
        for t in rule_texts(text) {
            match Rule::parse(&t.text, vars) {
                Ok(r) => {
                    if let Some((f, l)) = seen.get(&(r.gid, r.sid)) {
                        report.fail(
                            name,
                            t.line,
                            Some(r.sid),
                            Problem::syntax(format!("duplicate sid (first at {f}:{l})")),
                        );
                        continue;
                    }
                    seen.insert((r.gid, r.sid), (name.clone(), t.line));
                    rules.push(r);
                }
                Err((sid, p)) => report.fail(name, t.line, sid, p),
            }
        }
    }
    report.loaded = rules.len();
    (rules, report)
}

fn action_rank(a: Action) -> u8 {
    match a {
        Action::Pass => 0,
        Action::Drop => 1,
        Action::Reject => 2,
        Action::Alert => 3,
    }
}

/// The fast pattern of a rule: the content marked `fast_pattern`, else the longest positive
/// content (in the payload for packet rules, in any buffer for application rules).
fn fast_pattern(rule: &Rule) -> Option<(Buffer, Vec<u8>, bool)> {
    let mut best: Option<(Buffer, Vec<u8>, bool)> = None;
    for m in &rule.buffers {
        if !m.transforms.is_empty() {
            continue;
        }
        for e in &m.elements {
            if let Element::Content(c) = e {
                if c.negated {
                    continue;
                }
                if c.fast_pattern {
                    return Some((m.buffer, c.pattern.clone(), c.nocase));
                }
                if best.as_ref().is_none_or(|b| c.pattern.len() > b.1.len()) {
                    best = Some((m.buffer, c.pattern.clone(), c.nocase));
                }
            }
        }
    }
    best
}

/// Addresses of one rule indexed at most (a longer list is tried as a whole).
const MAX_INDEXED_ADDRESSES: usize = 4096;

impl RuleSet {
    /// Compiles parsed rules.
    pub fn compile(mut rules: Vec<Rule>) -> RuleSet {
        // Evaluation order: pass, drop, reject, alert; rules setting flowbits before rules
        // reading them; then priority and sid.
        rules.sort_by_key(|r| {
            let sets = r
                .flowbits
                .iter()
                .any(|f| matches!(f, Flowbit::Set(_) | Flowbit::Unset(_) | Flowbit::Toggle(_)));
            (
                action_rank(r.header.action),
                !sets,
                r.priority.unwrap_or(3),
                r.sid,
            )
        });
        let mut set = RuleSet {
            rules,
            ..RuleSet::default()
        };
        let mut packet_patterns: HashMap<Transport, Vec<FastPattern>> = HashMap::new();
        let mut app_patterns: HashMap<(&'static str, Buffer), Vec<FastPattern>> = HashMap::new();
        for (i, r) in set.rules.iter().enumerate() {
            let idx = u32::try_from(i).unwrap_or(u32::MAX);
            for fb in &r.flowbits {
                let names: Vec<&String> = match fb {
                    Flowbit::Set(n) | Flowbit::Unset(n) | Flowbit::Toggle(n) => vec![n],
                    Flowbit::IsSet(v) | Flowbit::IsNotSet(v) => v.iter().collect(),
                };
                for n in names {
                    let next = u16::try_from(set.flowbit_ids.len()).unwrap_or(u16::MAX);
                    set.flowbit_ids.entry(n.clone()).or_insert(next);
                }
            }
            let fp = fast_pattern(r);
            if let Some(app) = r.app().filter(|_| r.is_app()) {
                let group = set.app_groups.entry(app).or_default();
                match fp {
                    Some((b, bytes, nocase)) => {
                        app_patterns.entry((app, b)).or_default().push(FastPattern {
                            bytes,
                            nocase,
                            rule: idx,
                        })
                    }
                    None => group.always.push(idx),
                }
                continue;
            }
            let transports: &[Transport] = match r.header.proto {
                Proto::Tcp | Proto::Http | Proto::Tls => &[Transport::Tcp],
                Proto::Udp | Proto::Quic | Proto::Dhcp => &[Transport::Udp],
                Proto::Icmp => &[Transport::Icmp],
                Proto::Dns => &[Transport::Tcp, Transport::Udp],
                Proto::Ip => &[
                    Transport::Tcp,
                    Transport::Udp,
                    Transport::Icmp,
                    Transport::Other,
                ],
            };
            let ip_only = r.is_ip_only();
            let indexed = ip_only
                .then(|| {
                    r.header
                        .dst
                        .exact_addresses(MAX_INDEXED_ADDRESSES)
                        .or_else(|| r.header.src.exact_addresses(MAX_INDEXED_ADDRESSES))
                })
                .flatten();
            for t in transports {
                let group = set.packet_groups.entry(*t).or_default();
                if ip_only {
                    match &indexed {
                        Some(addrs) => {
                            for a in addrs {
                                group.ip_index.entry(*a).or_default().push(idx);
                            }
                        }
                        None => group.ip_only.push(idx),
                    }
                    continue;
                }
                match &fp {
                    Some((Buffer::Payload, bytes, nocase)) => {
                        packet_patterns.entry(*t).or_default().push(FastPattern {
                            bytes: bytes.clone(),
                            nocase: *nocase,
                            rule: idx,
                        })
                    }
                    _ => group.always.push(idx),
                }
            }
        }
        for (t, pats) in packet_patterns {
            let g = set.packet_groups.entry(t).or_default();
            g.prefilters.insert(Buffer::Payload, Prefilter::build(pats));
        }
        for ((app, b), pats) in app_patterns {
            let g = set.app_groups.entry(app).or_default();
            g.prefilters.insert(b, Prefilter::build(pats));
        }
        set
    }

    /// Loads rule files (name, text): the rules that parse are compiled, the others
    /// reported.
    pub fn load(files: &[(String, String)], vars: &Vars) -> (RuleSet, LoadReport) {
        let (rules, report) = parse_files(files, vars);
        (RuleSet::compile(rules), report)
    }

    /// Whether some rule inspects transactions of application protocol `app` (`dns`,
    /// `http`, `tls`, `quic`...): the engine gathers their buffers only then.
    pub fn has_app(&self, app: &str) -> bool {
        self.app_groups.contains_key(app)
    }

    /// Whether some rule inspects packets or stream data of transport `ip_proto`.
    pub fn has_packet_rules(&self, ip_proto: u8) -> bool {
        self.packet_groups.contains_key(&Transport::of(ip_proto))
    }

    /// Number of rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether there are no rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_reports_failures_and_keywords() {
        let text = "alert dns any any -> any any (dns.query; content:\"a.com\"; sid:1;)\n\
                    alert tcp any any -> any any (content:\"x\"; lua:y; sid:2;)\n\
                    alert tcp any any -> any any (content:\"x\"; sid:1;)\n\
                    garbage\n";
        let (set, report) = RuleSet::load(&[("t.rules".into(), text.into())], &Vars::default());
        assert_eq!(set.len(), 1);
        assert_eq!(report.loaded, 1);
        assert_eq!(report.errors.len(), 3);
        assert_eq!(
            report.errors[0].to_string(),
            "t.rules:2: sid 2: unsupported keyword `lua`"
        );
        assert_eq!(report.unsupported.get("lua"), Some(&1));
        assert!(report.errors[1]
            .to_string()
            .starts_with("t.rules:3: sid 1: duplicate sid"));
        assert!(report.errors[2].to_string().starts_with("t.rules:4: "));
    }
}
