//! Loading rule files into a [`RuleSet`]: rules sorted in evaluation order and grouped by
//! what they inspect, each group with a multi-pattern prefilter (Aho-Corasick over the
//! rules' fast patterns), so that thousands of rules cost little more than a few.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};

use crate::buffers::Buffer;
use crate::content::Element;
use crate::error::{Problem, RuleError};
use crate::header::{Action, AddrSet, Proto};
use crate::lexer::rule_texts;
use crate::rule::{Flowbit, Rule};
use crate::vars::Vars;

/// A prefilter over one buffer: which rules may match, from their fast patterns.
///
/// One case-insensitive automaton over the distinct patterns: a case-sensitive pattern found
/// in another case only adds a candidate, which the rule's own check then refuses, and one
/// pass over the data is cheaper than two. A DFA when it stays small, else the automaton
/// the library picks.
#[derive(Debug)]
pub(crate) struct Prefilter {
    ac: Option<AhoCorasick>,
    /// The rules of each distinct pattern.
    rules: Vec<Vec<u32>>,
    /// The distinct address pairs of its rules' headers (source, destination, either
    /// direction), when they are few: a flow direction that fits none of them need not be
    /// searched at all (`None`: too many to tell, always search).
    addrs: Option<Vec<(AddrSet, AddrSet, bool)>>,
}

/// Distinct address pairs a prefilter keeps to skip flows; more, and it is always searched.
const MAX_ADDR_PAIRS: usize = 16;

/// A rule's fast pattern, as fed to a prefilter.
struct FastPattern {
    bytes: Vec<u8>,
    rule: u32,
}

/// Distinct patterns above which the prefilter is not compiled to a DFA (memory).
const MAX_DFA_PATTERNS: usize = 20_000;

impl Prefilter {
    fn build(patterns: Vec<FastPattern>) -> Self {
        let mut ids: HashMap<Vec<u8>, usize> = HashMap::new();
        let mut distinct: Vec<Vec<u8>> = Vec::new();
        let mut rules: Vec<Vec<u32>> = Vec::new();
        for p in patterns {
            let key = p.bytes.to_ascii_lowercase();
            let id = *ids.entry(key.clone()).or_insert_with(|| {
                distinct.push(key);
                rules.push(Vec::new());
                distinct.len() - 1
            });
            if let Some(r) = rules.get_mut(id) {
                r.push(p.rule);
            }
        }
        if distinct.is_empty() {
            return Prefilter {
                ac: None,
                rules,
                addrs: None,
            };
        }
        let mut builder = AhoCorasickBuilder::new();
        builder
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard);
        if distinct.len() <= MAX_DFA_PATTERNS {
            builder.kind(Some(AhoCorasickKind::DFA));
        }
        let ac = builder
            .build(&distinct)
            .or_else(|_| {
                AhoCorasickBuilder::new()
                    .ascii_case_insensitive(true)
                    .match_kind(MatchKind::Standard)
                    .build(&distinct)
            })
            .ok();
        Prefilter {
            ac,
            rules,
            addrs: None,
        }
    }

    /// Notes the address pairs of its rules (see `addrs`).
    fn index_addresses(&mut self, all: &[Rule]) {
        let mut pairs: Vec<(AddrSet, AddrSet, bool)> = Vec::new();
        for id in self.rules.iter().flatten() {
            let Some(r) = all.get(*id as usize) else {
                continue;
            };
            let h = &r.header;
            let pair = (h.src.clone(), h.dst.clone(), h.bidirectional);
            if !pairs.contains(&pair) {
                if pairs.len() >= MAX_ADDR_PAIRS {
                    self.addrs = None;
                    return;
                }
                pairs.push(pair);
            }
        }
        self.addrs = Some(pairs);
    }

    /// Whether some rule of this prefilter may match traffic from `src` to `dst`.
    fn may_apply(&self, src: IpAddr, dst: IpAddr) -> bool {
        if self.ac.is_none() {
            return false;
        }
        match &self.addrs {
            None => true,
            Some(pairs) => pairs.iter().any(|(s, d, both)| {
                (s.contains(src) && d.contains(dst))
                    || (*both && s.contains(dst) && d.contains(src))
            }),
        }
    }

    /// Adds the rules whose fast pattern occurs in `hay` to `out`, each pattern's once.
    pub(crate) fn candidates(&self, hay: &[u8], out: &mut Vec<u32>) {
        let Some(ac) = &self.ac else {
            return;
        };
        SEEN.with(|seen| {
            let mut seen = seen.borrow_mut();
            let words = self.rules.len().div_ceil(64);
            if seen.len() < words {
                seen.resize(words, 0);
            }
            let mut touched: Vec<usize> = Vec::new();
            for m in ac.find_overlapping_iter(hay) {
                let id = m.pattern().as_usize();
                let (word, bit) = (id / 64, 1u64 << (id % 64));
                let Some(w) = seen.get_mut(word) else {
                    continue;
                };
                if *w & bit != 0 {
                    continue;
                }
                if *w == 0 {
                    touched.push(word);
                }
                *w |= bit;
                if let Some(r) = self.rules.get(id) {
                    out.extend_from_slice(r);
                }
            }
            for word in touched {
                if let Some(w) = seen.get_mut(word) {
                    *w = 0;
                }
            }
        });
    }
}

thread_local! {
    /// Which patterns a search already reported (bits), kept per thread between searches
    /// and cleared word by word after each.
    static SEEN: std::cell::RefCell<Vec<u64>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Payload prefilters split by the ports rules name, as Suricata groups rules by port: a
/// packet to port 445 is searched for the patterns of port-445 rules and of rules on any
/// port, not for those of port-80 rules.
#[derive(Debug, Default)]
pub(crate) struct PortPrefilters {
    any: Option<Prefilter>,
    by_port: HashMap<u16, Prefilter>,
}

/// A fast pattern and the ports its rule is filed under (`None`: any).
type PortPattern = (Option<Vec<u16>>, FastPattern);

/// Ports of one rule that get it a port prefilter at most; more, and it is on any port.
const MAX_RULE_PORTS: usize = 64;

impl PortPrefilters {
    fn build(patterns: Vec<PortPattern>) -> Self {
        let mut any = Vec::new();
        let mut by_port: HashMap<u16, Vec<FastPattern>> = HashMap::new();
        for (ports, p) in patterns {
            match ports {
                Some(ports) => {
                    for port in ports {
                        by_port.entry(port).or_default().push(FastPattern {
                            bytes: p.bytes.clone(),
                            rule: p.rule,
                        });
                    }
                }
                None => any.push(p),
            }
        }
        PortPrefilters {
            any: (!any.is_empty()).then(|| Prefilter::build(any)),
            by_port: by_port
                .into_iter()
                .map(|(port, v)| (port, Prefilter::build(v)))
                .collect(),
        }
    }

    /// The ports a rule is filed under: its destination ports, else its source ports, when
    /// they are few.
    fn ports_of(r: &Rule) -> Option<Vec<u16>> {
        r.header
            .dport
            .finite_ports(MAX_RULE_PORTS)
            .or_else(|| r.header.sport.finite_ports(MAX_RULE_PORTS))
    }

    fn index_addresses(&mut self, all: &[Rule]) {
        if let Some(pf) = self.any.as_mut() {
            pf.index_addresses(all);
        }
        for pf in self.by_port.values_mut() {
            pf.index_addresses(all);
        }
    }

    /// Whether some rule searched for traffic between these endpoints may match it: if not,
    /// the payloads of this flow direction need not be searched.
    pub(crate) fn may_apply(&self, src: IpAddr, sport: u16, dst: IpAddr, dport: u16) -> bool {
        self.any.as_ref().is_some_and(|pf| pf.may_apply(src, dst))
            || self
                .by_port
                .get(&dport)
                .is_some_and(|pf| pf.may_apply(src, dst))
            || self
                .by_port
                .get(&sport)
                .is_some_and(|pf| pf.may_apply(src, dst))
    }

    /// Adds the candidates for a payload between these ports to `out`.
    pub(crate) fn candidates(&self, sport: u16, dport: u16, hay: &[u8], out: &mut Vec<u32>) {
        if let Some(pf) = &self.any {
            pf.candidates(hay, out);
        }
        if let Some(pf) = self.by_port.get(&dport) {
            pf.candidates(hay, out);
        }
        if sport != dport {
            if let Some(pf) = self.by_port.get(&sport) {
                pf.candidates(hay, out);
            }
        }
    }
}

/// Rules inspected together, with their prefilter.
#[derive(Debug, Default)]
pub(crate) struct Group {
    /// Rules always evaluated (no fast pattern in this group's buffers).
    pub always: Vec<u32>,
    /// Packet rules without a fast pattern, by the addresses and ports of their header.
    pub headers: crate::index::HeaderIndex,
    /// Payload rules with a fast pattern, by port (TCP: those that see the stream).
    pub payload: PortPrefilters,
    /// TCP: the payload rules that see packets rather than the stream (`dsize`...).
    pub packet_payload: PortPrefilters,
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
/// Fast patterns shorter than this are not worth a prefilter: they occur everywhere, and
/// every occurrence costs the search. Their rules are found by their header instead.
const MIN_FAST_PATTERN: usize = 3;

fn fast_pattern(rule: &Rule) -> Option<(Buffer, Vec<u8>, bool)> {
    let chosen = chosen_fast_pattern(rule)?;
    (chosen.1.len() >= MIN_FAST_PATTERN).then_some(chosen)
}

fn chosen_fast_pattern(rule: &Rule) -> Option<(Buffer, Vec<u8>, bool)> {
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
                if c.fast_pattern && c.pattern.len() >= MIN_FAST_PATTERN {
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
        let mut packet_patterns: HashMap<(Transport, bool), Vec<PortPattern>> = HashMap::new();
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
                    Some((b, bytes, _)) => app_patterns
                        .entry((app, b))
                        .or_default()
                        .push(FastPattern { bytes, rule: idx }),
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
            for t in transports {
                let group = set.packet_groups.entry(*t).or_default();
                match &fp {
                    Some((Buffer::Payload, bytes, _)) => {
                        // TCP: rules that need packets (`dsize`...) see packets, the others
                        // the reassembled stream; each has its own prefilter.
                        let packets = *t == Transport::Tcp && r.packet_only();
                        packet_patterns.entry((*t, packets)).or_default().push((
                            PortPrefilters::ports_of(r),
                            FastPattern {
                                bytes: bytes.clone(),
                                rule: idx,
                            },
                        ))
                    }
                    _ => group.headers.add(&r.header, idx),
                }
            }
        }
        for ((t, packets), pats) in packet_patterns {
            let g = set.packet_groups.entry(t).or_default();
            let mut pf = PortPrefilters::build(pats);
            pf.index_addresses(&set.rules);
            if packets {
                g.packet_payload = pf;
            } else {
                g.payload = pf;
            }
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
