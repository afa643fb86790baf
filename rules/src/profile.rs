//! Rule profiling: how often each rule was checked (its fast pattern, or lack of one, made it
//! a candidate), how often it matched, and the time spent checking it. What Suricata's rule
//! profiling gives rule authors, collected only when asked for (it times every check).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use crate::compile::RuleSet;

/// Counters of one rule. Shards run in parallel, so they are atomic.
#[derive(Debug, Default)]
struct Counters {
    checks: AtomicU64,
    matches: AtomicU64,
    nanos: AtomicU64,
}

/// The counters of every rule of a set.
#[derive(Debug, Default)]
pub struct Profile {
    rules: Vec<Counters>,
}

/// Times one check of a rule; the time is added when it is dropped.
pub(crate) struct CheckTimer<'p> {
    counters: &'p Counters,
    start: Instant,
}

impl Drop for CheckTimer<'_> {
    fn drop(&mut self) {
        let nanos = u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.counters.nanos.fetch_add(nanos, Ordering::Relaxed);
    }
}

impl Profile {
    /// Starts timing a check of rule `idx`.
    pub(crate) fn check(&self, idx: u32) -> Option<CheckTimer<'_>> {
        let counters = self.rules.get(idx as usize)?;
        counters.checks.fetch_add(1, Ordering::Relaxed);
        Some(CheckTimer {
            counters,
            start: Instant::now(),
        })
    }

    /// Counts a match of rule `idx`.
    pub(crate) fn matched(&self, idx: u32) {
        if let Some(c) = self.rules.get(idx as usize) {
            c.matches.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// What the profile says of one rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleProfile {
    /// Signature id.
    pub sid: u32,
    /// Message.
    pub msg: String,
    /// Times the rule was checked.
    pub checks: u64,
    /// Times it matched (before thresholds).
    pub matches: u64,
    /// Time spent checking it, in nanoseconds.
    pub nanos: u64,
}

impl RuleSet {
    /// Starts counting checks, matches and time per rule (from zero).
    pub fn enable_profiling(&mut self) {
        self.profile = Some(Profile {
            rules: self.rules.iter().map(|_| Counters::default()).collect(),
        });
    }

    /// The profile so far, costliest rules first; empty if profiling is off.
    pub fn profile(&self) -> Vec<RuleProfile> {
        let Some(p) = &self.profile else {
            return Vec::new();
        };
        let mut out: Vec<RuleProfile> = self
            .rules
            .iter()
            .zip(&p.rules)
            .map(|(r, c)| RuleProfile {
                sid: r.sid,
                msg: r.msg.clone(),
                checks: c.checks.load(Ordering::Relaxed),
                matches: c.matches.load(Ordering::Relaxed),
                nanos: c.nanos.load(Ordering::Relaxed),
            })
            .collect();
        out.sort_by(|a, b| b.nanos.cmp(&a.nanos).then(a.sid.cmp(&b.sid)));
        out
    }
}

#[cfg(test)]
mod tests {
    use crate::detect::{FlowState, PacketFacts};
    use crate::{RuleSet, Vars};

    #[test]
    fn counts_checks_and_matches_per_rule() {
        let text = "alert udp any any -> any any (content:\"abc\"; sid:1;)\nalert udp any any -> any any (content:\"zzz\"; sid:2;)\n";
        let (mut set, _) = RuleSet::load(&[("t".into(), text.into())], &Vars::default());
        set.enable_profiling();
        let facts = PacketFacts {
            src: "10.0.0.1".parse().expect("ip"),
            sport: 1,
            dst: "10.0.0.2".parse().expect("ip"),
            dport: 2,
            ip_proto: 17,
            ttl: 64,
            icmp: None,
            payload: b"xxabcxx",
            to_server: true,
            established: false,
            app: None,
            first_in_direction: true,
            tcp_flags: None,
            stream: false,
        };
        let mut hits = Vec::new();
        set.match_packet(&facts, &mut FlowState::default(), &mut hits);
        let p = set.profile();
        let one = p.iter().find(|r| r.sid == 1).expect("sid 1");
        assert_eq!((one.checks, one.matches), (1, 1));
        let two = p.iter().find(|r| r.sid == 2).expect("sid 2");
        assert_eq!(
            (two.checks, two.matches),
            (0, 0),
            "the prefilter kept it out"
        );
    }
}
