//! Loading rule files into a [`RuleSet`]: rules sorted in evaluation order and grouped by
//! what they inspect, each group with a multi-pattern prefilter (Aho-Corasick over the
//! rules' fast patterns), so that thousands of rules cost little more than a few.

use std::collections::BTreeMap;
use std::net::IpAddr;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, Input, MatchKind};
// The matcher looks groups and port prefilters up for every packet: hashbrown's default
// hasher (foldhash) costs a fraction of the standard library's SipHash there.
use hashbrown::HashMap;

use crate::buffers::Buffer;
use crate::content::Element;
use crate::error::{Problem, RuleError};
use crate::header::{Action, AddrSet, Proto};
use crate::lexer::rule_texts;
use crate::rule::{Flowbit, Rule};
use crate::vars::Vars;

/// A prefilter over one buffer: which rules may match, from their fast patterns.
///
/// Up to four automata over the distinct patterns: case-sensitive ones for the patterns of
/// rules without `nocase`, which let the library skip ahead with its vectorised literal
/// search, and case-insensitive ones for the others; each split again between patterns that
/// must occur near the start of the buffer (`depth`, `startswith`), searched only that far,
/// and the others. A DFA when it stays small, else the automaton the library picks.
///
/// Every pattern occurring anywhere must be reported, but an overlapping search walks the
/// automaton over every byte. The search is leftmost-longest instead, restarted one byte
/// after each match's start: a pattern occurring at position q is then either the longest
/// match at q or a prefix of it, and each search names those prefixes.
#[derive(Debug)]
pub(crate) struct Prefilter {
    searches: Vec<PatternSearch>,
    /// The rules of each distinct pattern.
    rules: Vec<Vec<u32>>,
    /// The distinct address pairs of its rules' headers (source, destination, either
    /// direction), when they are few: a flow direction that fits none of them need not be
    /// searched at all (`None`: too many to tell, always search).
    addrs: Option<Vec<(AddrSet, AddrSet, bool)>>,
    /// Whether some rule may match data sent to the server, and to the client: most rules
    /// of stalkerware feeds say `flow:to_server`, and the responses (most of the bytes)
    /// then need no search.
    directions: [bool; 2],
}

/// Patterns longer than this get a fallback overlapping automaton (shorter ones bound the
/// restarted search's work to this many times the data).
const OVERLAP_FALLBACK_LEN: usize = 8;
/// Work, in multiples of the data's length plus a constant, after which the overlapping
/// automaton takes over.
const WALK_BUDGET_FACTOR: usize = 4;
const WALK_BUDGET_BASE: usize = 4096;

/// One automaton of a [`Prefilter`].
#[derive(Debug)]
struct PatternSearch {
    ac: AhoCorasick,
    /// The same patterns, overlapping search (see `each_occurring`).
    overlapping: Option<AhoCorasick>,
    /// The longest pattern's length.
    longest: usize,
    /// How far into the buffer its patterns may end (`None`: anywhere).
    limit: Option<usize>,
    /// For each of its patterns, the prefilter's distinct pattern (index into `rules`).
    distinct: Vec<u32>,
    /// For each of its patterns, its other patterns that are prefixes of it (indices into
    /// `distinct`).
    prefixes: Vec<Vec<u32>>,
}

impl PatternSearch {
    /// An automaton over `group`'s patterns (lowercase when `nocase`).
    fn build(group: SearchGroup, nocase: bool) -> Option<Self> {
        let SearchGroup {
            patterns,
            distinct,
            limit,
        } = group;
        let index: HashMap<&[u8], u32> = patterns
            .iter()
            .zip(0u32..)
            .map(|(p, i)| (p.as_slice(), i))
            .collect();
        let prefixes = patterns
            .iter()
            .map(|p| {
                (1..p.len())
                    .filter_map(|len| p.get(..len).and_then(|pre| index.get(pre)).copied())
                    .collect()
            })
            .collect();
        let mut builder = AhoCorasickBuilder::new();
        builder
            .ascii_case_insensitive(nocase)
            .match_kind(MatchKind::LeftmostLongest);
        if patterns.len() <= MAX_DFA_PATTERNS {
            builder.kind(Some(AhoCorasickKind::DFA));
        }
        let ac = builder
            .build(&patterns)
            .or_else(|_| {
                AhoCorasickBuilder::new()
                    .ascii_case_insensitive(nocase)
                    .match_kind(MatchKind::LeftmostLongest)
                    .build(&patterns)
            })
            .ok()?;
        // Hostile data can make the restarted search slow (a long run of bytes that keeps
        // a long pattern's prefix alive at every start): past a budget of work the search
        // goes on with an overlapping automaton, linear whatever the data.
        let longest = patterns.iter().map(Vec::len).max().unwrap_or(0);
        let overlapping = if longest > OVERLAP_FALLBACK_LEN {
            AhoCorasickBuilder::new()
                .ascii_case_insensitive(nocase)
                .match_kind(MatchKind::Standard)
                .build(&patterns)
                .ok()
        } else {
            None
        };
        Some(PatternSearch {
            ac,
            overlapping,
            longest,
            limit,
            distinct,
            prefixes,
        })
    }

    /// Calls `report` with the distinct pattern of every pattern occurring in `hay`, at
    /// least once each.
    fn each_occurring(&self, hay: &[u8], mut report: impl FnMut(usize)) {
        let hay = match self.limit {
            Some(limit) => hay.get(..limit).unwrap_or(hay),
            None => hay,
        };
        let mut at = 0;
        // Bytes the searches may have walked so far: to each match's end, and past it by
        // up to the longest pattern (looking for a longer match).
        let mut walked = 0usize;
        let budget = hay
            .len()
            .saturating_mul(WALK_BUDGET_FACTOR)
            .saturating_add(WALK_BUDGET_BASE);
        while at < hay.len() {
            if walked > budget {
                if let Some(overlapping) = &self.overlapping {
                    // Every pattern starting at `at` or later; those starting before were
                    // reported by the restarts.
                    for m in overlapping.find_overlapping_iter(Input::new(hay).span(at..hay.len()))
                    {
                        if let Some(&d) = self.distinct.get(m.pattern().as_usize()) {
                            report(d as usize);
                        }
                    }
                    return;
                }
            }
            let Some(m) = self.ac.find(Input::new(hay).span(at..hay.len())) else {
                break;
            };
            walked = walked.saturating_add(m.end() - at + self.longest);
            let id = m.pattern().as_usize();
            let prefixes = self.prefixes.get(id).map(Vec::as_slice).unwrap_or(&[]);
            for &local in std::iter::once(&(id as u32)).chain(prefixes) {
                if let Some(&d) = self.distinct.get(local as usize) {
                    report(d as usize);
                }
            }
            at = m.start() + 1;
        }
    }
}

/// Distinct address pairs a prefilter keeps to skip flows; more, and it is always searched.
const MAX_ADDR_PAIRS: usize = 16;

/// A rule's fast pattern, as fed to a prefilter.
#[derive(Clone, Debug)]
struct FastPattern {
    bytes: Vec<u8>,
    nocase: bool,
    /// The offset in the buffer by which an occurrence must end, for a pattern at an
    /// absolute position (`depth`, `startswith`): the search need go no further.
    end: Option<usize>,
    rule: u32,
}

/// Distinct patterns above which the prefilter is not compiled to a DFA (memory).
const MAX_DFA_PATTERNS: usize = 20_000;

/// The patterns of one [`PatternSearch`] being gathered.
#[derive(Default)]
struct SearchGroup {
    patterns: Vec<Vec<u8>>,
    /// The prefilter's distinct pattern of each.
    distinct: Vec<u32>,
    /// The largest `end` of its patterns, if they all have one.
    limit: Option<usize>,
}

impl Prefilter {
    fn build(patterns: Vec<FastPattern>) -> Self {
        // Distinct by (bytes, nocase, bounded), nocase patterns lowercased; searched in
        // groups by (nocase, bounded).
        let mut ids: HashMap<(Vec<u8>, bool, bool), usize> = HashMap::new();
        let mut groups: [SearchGroup; 4] = Default::default();
        let mut rules: Vec<Vec<u32>> = Vec::new();
        for p in patterns {
            let bytes = if p.nocase {
                p.bytes.to_ascii_lowercase()
            } else {
                p.bytes
            };
            let group_index = usize::from(p.nocase) * 2 + usize::from(p.end.is_some());
            let Some(group) = groups.get_mut(group_index) else {
                continue;
            };
            if let Some(end) = p.end {
                group.limit = Some(group.limit.map_or(end, |l| l.max(end)));
            }
            let key = (bytes, p.nocase, p.end.is_some());
            let id = match ids.get(&key) {
                Some(&id) => id,
                None => {
                    let id = rules.len();
                    rules.push(Vec::new());
                    group.patterns.push(key.0.clone());
                    group.distinct.push(u32::try_from(id).unwrap_or(u32::MAX));
                    ids.insert(key, id);
                    id
                }
            };
            if let Some(r) = rules.get_mut(id) {
                r.push(p.rule);
            }
        }
        let searches = groups
            .into_iter()
            .enumerate()
            .filter(|(_, g)| !g.patterns.is_empty())
            .filter_map(|(i, g)| PatternSearch::build(g, i >= 2))
            .collect();
        Prefilter {
            searches,
            rules,
            addrs: None,
            directions: [true, true],
        }
    }

    /// Notes the address pairs and directions of its rules (see `addrs`, `directions`).
    fn index_addresses(&mut self, all: &[Rule]) {
        let mut pairs: Vec<(AddrSet, AddrSet, bool)> = Vec::new();
        let mut directions = [false, false];
        let mut too_many = false;
        for id in self.rules.iter().flatten() {
            let Some(r) = all.get(*id as usize) else {
                directions = [true, true];
                continue;
            };
            match r.flow.to_server {
                Some(to_server) => directions[usize::from(!to_server)] = true,
                None => directions = [true, true],
            }
            if too_many {
                continue;
            }
            let h = &r.header;
            let pair = (h.src.clone(), h.dst.clone(), h.bidirectional);
            if !pairs.contains(&pair) {
                if pairs.len() >= MAX_ADDR_PAIRS {
                    too_many = true;
                    continue;
                }
                pairs.push(pair);
            }
        }
        self.addrs = (!too_many).then_some(pairs);
        self.directions = directions;
    }

    /// Whether some rule of this prefilter may match traffic from `src` to `dst`, sent to
    /// the server (`to_server`) or to the client.
    fn may_apply(&self, src: IpAddr, dst: IpAddr, to_server: bool) -> bool {
        if self.searches.is_empty() || !self.directions[usize::from(!to_server)] {
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
        if self.searches.is_empty() {
            return;
        }
        SEEN.with(|seen| {
            let mut seen = seen.borrow_mut();
            let words = self.rules.len().div_ceil(64);
            if seen.len() < words {
                seen.resize(words, 0);
            }
            let mut touched: Vec<usize> = Vec::new();
            for search in &self.searches {
                search.each_occurring(hay, |id| {
                    let (word, bit) = (id / 64, 1u64 << (id % 64));
                    let Some(w) = seen.get_mut(word) else {
                        return;
                    };
                    if *w & bit != 0 {
                        return;
                    }
                    if *w == 0 {
                        touched.push(word);
                    }
                    *w |= bit;
                    if let Some(r) = self.rules.get(id) {
                        out.extend_from_slice(r);
                    }
                });
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
                        by_port.entry(port).or_default().push(p.clone());
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
    pub(crate) fn may_apply(
        &self,
        (src, sport): (IpAddr, u16),
        (dst, dport): (IpAddr, u16),
        to_server: bool,
    ) -> bool {
        let fits = |pf: &Prefilter| pf.may_apply(src, dst, to_server);
        self.any.as_ref().is_some_and(fits)
            || self.by_port.get(&dport).is_some_and(fits)
            || self.by_port.get(&sport).is_some_and(fits)
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

fn fast_pattern(rule: &Rule) -> Option<(Buffer, FastPattern)> {
    let (buffer, c) = chosen_fast_pattern(rule)?;
    if c.pattern.len() < MIN_FAST_PATTERN {
        return None;
    }
    // Where the pattern must end by, when its position is absolute.
    let end = if c.is_relative() {
        None
    } else if c.startswith {
        Some(c.pattern.len())
    } else {
        c.depth
            .map(|d| (c.offset.unwrap_or(0) as usize).saturating_add(d as usize))
    };
    Some((
        buffer,
        FastPattern {
            bytes: c.pattern.clone(),
            nocase: c.nocase,
            end,
            rule: u32::MAX,
        },
    ))
}

fn chosen_fast_pattern(rule: &Rule) -> Option<(Buffer, &crate::content::Content)> {
    let mut best: Option<(Buffer, &crate::content::Content)> = None;
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
                    return Some((m.buffer, c));
                }
                if best.is_none_or(|b| c.pattern.len() > b.1.pattern.len()) {
                    best = Some((m.buffer, c));
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
            let fp = fast_pattern(r).map(|(b, f)| (b, FastPattern { rule: idx, ..f }));
            if let Some(app) = r.app().filter(|_| r.is_app()) {
                let group = set.app_groups.entry(app).or_default();
                match fp {
                    Some((b, f)) => app_patterns.entry((app, b)).or_default().push(f),
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
                    Some((Buffer::Payload, f)) => {
                        // TCP: rules that need packets (`dsize`...) see packets, the others
                        // the reassembled stream; each has its own prefilter.
                        let packets = *t == Transport::Tcp && r.packet_only();
                        packet_patterns
                            .entry((*t, packets))
                            .or_default()
                            .push((PortPrefilters::ports_of(r), f.clone()))
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

    /// A pattern for the tests: bytes, `nocase`, the offset it must end by.
    type TestPattern = (Vec<u8>, bool, Option<usize>);

    /// The rules whose pattern occurs in `hay` (ignoring case when `nocase`), by brute
    /// force; ending by its `end` if `bounded`.
    fn naive(patterns: &[TestPattern], hay: &[u8], bounded: bool) -> Vec<u32> {
        let mut ids: Vec<u32> = (0u32..)
            .zip(patterns)
            .filter(|(_, (p, nocase, end))| {
                let hay = match end.filter(|_| bounded) {
                    Some(end) => hay.get(..end).unwrap_or(hay),
                    None => hay,
                };
                !p.is_empty()
                    && hay.windows(p.len()).any(|w| {
                        if *nocase {
                            w.eq_ignore_ascii_case(p)
                        } else {
                            w == p.as_slice()
                        }
                    })
            })
            .map(|(id, _)| id)
            .collect();
        ids.sort_unstable();
        ids
    }

    fn prefilter_candidates(patterns: &[TestPattern], hay: &[u8]) -> Vec<u32> {
        let pf = Prefilter::build(
            (0u32..)
                .zip(patterns)
                .map(|(rule, (bytes, nocase, end))| FastPattern {
                    bytes: bytes.clone(),
                    nocase: *nocase,
                    end: *end,
                    rule,
                })
                .collect(),
        );
        let mut out = Vec::new();
        pf.candidates(hay, &mut out);
        out.sort_unstable();
        out
    }

    #[test]
    fn prefilter_reports_overlapping_and_prefix_patterns() {
        let patterns: Vec<TestPattern> = [
            ("abc", false, None),
            ("ab", false, None),
            ("bcd", false, None),
            ("c", false, None),
            ("ABCDE", true, None),
            ("x", false, None),
            ("aB", false, None),
            ("Ab", true, None),
            ("de", false, Some(5)),
            ("cd", false, Some(5)),
        ]
        .iter()
        .map(|(p, nocase, end)| (p.as_bytes().to_vec(), *nocase, *end))
        .collect();
        assert_eq!(
            prefilter_candidates(&patterns, b"zabcde"),
            vec![0, 1, 2, 3, 4, 7, 9]
        );
        assert_eq!(prefilter_candidates(&patterns, b"AB"), vec![7]);
        assert_eq!(prefilter_candidates(&patterns, b"yyy"), Vec::<u32>::new());
    }

    /// Zeros that keep a long pattern's prefix alive at every start: the search falls back to
    /// the overlapping automaton, and still finds what is there.
    #[test]
    fn a_hostile_run_falls_back_and_still_finds_everything() {
        let long: Vec<u8> = [vec![0u8; 200], b"END".to_vec()].concat();
        let patterns: Vec<TestPattern> = vec![
            (vec![0, 0, 0], false, None),
            (long, false, None),
            (b"tail".to_vec(), false, None),
        ];
        let hay: Vec<u8> = [vec![0u8; 100_000], b"tail".to_vec()].concat();
        assert_eq!(prefilter_candidates(&patterns, &hay), vec![0, 2]);
        let hay: Vec<u8> = [vec![0u8; 100_000], b"END tail".to_vec()].concat();
        assert_eq!(prefilter_candidates(&patterns, &hay), vec![0, 1, 2]);
    }

    proptest::proptest! {
        /// Over a small alphabet, so that patterns overlap, nest and repeat often: every
        /// pattern occurring where its rule may match is reported, and none that does not
        /// occur at all.
        #[test]
        fn prefilter_finds_every_pattern_that_occurs(
            patterns in proptest::collection::vec(
                (
                    proptest::collection::vec(proptest::sample::select(b"abcAB".to_vec()), 1..5),
                    proptest::bool::ANY,
                    proptest::option::of(0usize..40),
                ),
                1..12,
            ),
            hay in proptest::collection::vec(proptest::sample::select(b"abcABz".to_vec()), 0..40),
        ) {
            let found = prefilter_candidates(&patterns, &hay);
            for id in naive(&patterns, &hay, true) {
                proptest::prop_assert!(found.contains(&id), "{id} occurs but was not reported");
            }
            let anywhere = naive(&patterns, &hay, false);
            for id in &found {
                proptest::prop_assert!(anywhere.contains(id), "{id} reported but absent");
            }
        }
    }
}
