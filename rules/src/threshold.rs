//! `threshold` and `detection_filter`: which matches become alerts. Counting spans flows, so
//! the engine runs this where events are already in their final order (never in parallel),
//! and the outcome does not depend on the thread count.

use std::collections::HashMap;
use std::net::IpAddr;

use crate::rule::{Threshold, ThresholdKind, Track};

/// Keys remembered at most; the oldest periods are forgotten beyond.
const MAX_KEYS: usize = 65_536;

#[derive(Clone, Copy, Debug)]
struct Window {
    start_secs: i64,
    count: u64,
}

/// The counting state of all rules.
#[derive(Debug, Default)]
pub struct ThresholdState {
    windows: HashMap<(u32, KeyAddr), Window>,
}

/// What a match is counted under.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum KeyAddr {
    One(IpAddr),
    Two(IpAddr, IpAddr),
    Flow(u64),
    Rule,
}

/// A match to be filtered.
#[derive(Clone, Copy, Debug)]
pub struct MatchKey {
    /// The rule's position in its rule set.
    pub rule: u32,
    /// Source address of the packet.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// Flow id.
    pub flow: u64,
    /// Time of the match, in seconds.
    pub secs: i64,
}

impl ThresholdState {
    /// Whether a match of a rule with threshold `t` becomes an alert.
    pub fn allow(&mut self, t: &Threshold, m: MatchKey) -> bool {
        let key = match t.track {
            Track::BySrc => KeyAddr::One(m.src),
            Track::ByDst => KeyAddr::One(m.dst),
            Track::ByBoth => KeyAddr::Two(m.src, m.dst),
            Track::ByRule => KeyAddr::Rule,
            Track::ByFlow => KeyAddr::Flow(m.flow),
        };
        if self.windows.len() >= MAX_KEYS && !self.windows.contains_key(&(m.rule, key)) {
            let horizon = m.secs;
            self.windows.retain(|_, w| horizon - w.start_secs < 3600);
            if self.windows.len() >= MAX_KEYS {
                self.windows.clear();
            }
        }
        let w = self.windows.entry((m.rule, key)).or_insert(Window {
            start_secs: m.secs,
            count: 0,
        });
        let period = i64::try_from(t.seconds).unwrap_or(i64::MAX);
        if m.secs - w.start_secs >= period {
            *w = Window {
                start_secs: m.secs,
                count: 0,
            };
        }
        w.count += 1;
        let n = w.count;
        let c = t.count.max(1);
        match t.kind {
            ThresholdKind::Limit => n <= c,
            ThresholdKind::Threshold => n % c == 0,
            ThresholdKind::Both => n == c,
            ThresholdKind::DetectionFilter => n > t.count,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(secs: i64) -> MatchKey {
        MatchKey {
            rule: 0,
            src: "10.0.0.1".parse().expect("ip"),
            dst: "10.0.0.2".parse().expect("ip"),
            flow: 1,
            secs,
        }
    }

    fn run(kind: ThresholdKind, count: u64, n: usize) -> Vec<bool> {
        let t = Threshold {
            kind,
            track: Track::BySrc,
            count,
            seconds: 60,
        };
        let mut s = ThresholdState::default();
        (0..n).map(|_| s.allow(&t, key(0))).collect()
    }

    #[test]
    fn kinds() {
        assert_eq!(
            run(ThresholdKind::Limit, 2, 4),
            vec![true, true, false, false]
        );
        assert_eq!(
            run(ThresholdKind::Threshold, 2, 4),
            vec![false, true, false, true]
        );
        assert_eq!(
            run(ThresholdKind::Both, 2, 4),
            vec![false, true, false, false]
        );
        assert_eq!(
            run(ThresholdKind::DetectionFilter, 2, 4),
            vec![false, false, true, true]
        );
    }

    #[test]
    fn periods_restart() {
        let t = Threshold {
            kind: ThresholdKind::Limit,
            track: Track::BySrc,
            count: 1,
            seconds: 60,
        };
        let mut s = ThresholdState::default();
        assert!(s.allow(&t, key(0)));
        assert!(!s.allow(&t, key(30)));
        assert!(s.allow(&t, key(61)));
    }
}
