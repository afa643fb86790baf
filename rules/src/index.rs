//! Header indexes: packet rules without a fast pattern are found by the addresses or ports
//! their header names, not tried one by one. The engine asks once per direction of a flow
//! (the header does not change within it) and caches the answer in the flow's state, as
//! Suricata keeps a signature group per flow direction.

// Looked up for every new flow direction: hashbrown's hasher (foldhash) rather than SipHash.
use hashbrown::HashMap;
use std::net::IpAddr;

use crate::header::{AddrSet, Header, PortSet};

/// CIDR blocks of one rule indexed at most; a longer list goes to the unindexed rules.
const MAX_BLOCKS: usize = 8192;
/// Ports of one rule indexed at most.
const MAX_PORTS: usize = 256;

/// Rules by the address blocks one side of their header names.
#[derive(Debug, Default)]
pub(crate) struct AddrIndex {
    /// (is IPv6, prefix length) → masked address → rules.
    blocks: HashMap<(bool, u8), HashMap<u128, Vec<u32>>>,
}

/// Rules by the ports one side of their header names.
#[derive(Debug, Default)]
pub(crate) struct PortIndex {
    ports: HashMap<u16, Vec<u32>>,
}

/// The CIDR blocks covering the inclusive range `[lo, hi]` of a `bits`-bit space.
fn blocks(mut lo: u128, hi: u128, bits: u8) -> Vec<(u128, u8)> {
    let mut out = Vec::new();
    while lo <= hi {
        // The largest block starting at `lo` (aligned) that stays within `hi`.
        let mut size = if lo == 0 {
            u32::from(bits)
        } else {
            lo.trailing_zeros().min(u32::from(bits))
        };
        while size > 0 {
            let span = if size >= 128 {
                u128::MAX
            } else {
                (1u128 << size) - 1
            };
            if lo.checked_add(span).is_some_and(|end| end <= hi) {
                break;
            }
            size -= 1;
        }
        let len = bits - u8::try_from(size).unwrap_or(bits);
        out.push((lo, len));
        if out.len() > MAX_BLOCKS {
            return out;
        }
        let span = if size >= 128 {
            u128::MAX
        } else {
            (1u128 << size) - 1
        };
        match lo.checked_add(span).and_then(|e| e.checked_add(1)) {
            Some(next) => lo = next,
            None => break,
        }
    }
    out
}

fn mask(k: u128, v6: bool, len: u8) -> u128 {
    let bits = if v6 { 128 } else { 32 };
    let host = bits - u32::from(len);
    if host >= 128 {
        0
    } else {
        k & !((1u128 << host) - 1)
    }
}

fn key(a: IpAddr) -> (bool, u128) {
    match a {
        IpAddr::V4(v) => (false, u128::from(u32::from(v))),
        IpAddr::V6(v) => (true, u128::from(v)),
    }
}

/// The share of its address space `set` covers (1 for `any` or a negation).
fn addr_coverage(set: &AddrSet) -> f64 {
    let Some(ranges) = set.include_ranges() else {
        return 1.0;
    };
    ranges
        .iter()
        .map(|(v6, lo, hi)| {
            let n = (hi - lo) as f64 + 1.0;
            if *v6 {
                n / 2f64.powi(128)
            } else {
                n / 2f64.powi(32)
            }
        })
        .sum::<f64>()
        .min(1.0)
}

/// The share of ports `set` covers (1 for `any`, a negation or a long list).
fn port_coverage(set: &PortSet) -> f64 {
    set.finite_ports(MAX_PORTS)
        .map_or(1.0, |p| p.len() as f64 / 65536.0)
}

impl AddrIndex {
    /// Indexes rule `rule` under the blocks of `set`; false if the set is not a finite list
    /// of blocks (any, a negation, too many blocks).
    pub fn add(&mut self, set: &AddrSet, rule: u32) -> bool {
        let Some(ranges) = set.include_ranges() else {
            return false;
        };
        let mut all = Vec::new();
        for (v6, lo, hi) in ranges {
            for (base, len) in blocks(lo, hi, if v6 { 128 } else { 32 }) {
                all.push((v6, base, len));
            }
            if all.len() > MAX_BLOCKS {
                return false;
            }
        }
        for (v6, base, len) in all {
            let rules = self
                .blocks
                .entry((v6, len))
                .or_default()
                .entry(base)
                .or_default();
            if rules.last() != Some(&rule) {
                rules.push(rule);
            }
        }
        true
    }

    /// Adds the rules whose blocks hold `a` to `out`.
    pub fn lookup(&self, a: IpAddr, out: &mut Vec<u32>) {
        let (v6, k) = key(a);
        for ((fam, len), map) in &self.blocks {
            if *fam == v6 {
                if let Some(rules) = map.get(&mask(k, v6, *len)) {
                    out.extend_from_slice(rules);
                }
            }
        }
    }
}

impl PortIndex {
    /// Indexes rule `rule` under the ports of `set`; false if the set is not a short list.
    pub fn add(&mut self, set: &PortSet, rule: u32) -> bool {
        let Some(ports) = set.finite_ports(MAX_PORTS) else {
            return false;
        };
        for p in ports {
            self.ports.entry(p).or_default().push(rule);
        }
        true
    }

    /// Adds the rules indexed under `p` to `out`.
    pub fn lookup(&self, p: u16, out: &mut Vec<u32>) {
        if let Some(rules) = self.ports.get(&p) {
            out.extend_from_slice(rules);
        }
    }
}

/// The header indexes of a group of packet rules.
#[derive(Debug, Default)]
pub(crate) struct HeaderIndex {
    addrs: AddrIndex,
    ports: PortIndex,
    /// Rules no index holds.
    pub rest: Vec<u32>,
}

impl HeaderIndex {
    /// Indexes rule `rule` by the most selective part of its header: whichever of its
    /// destination or source addresses or ports covers the smallest share of its space
    /// (port 1433 before `$HOME_NET`, a list of relays before either). A `<>` rule is
    /// looked up with both ends of the packet, so either side may index it.
    pub fn add(&mut self, h: &Header, rule: u32) {
        let mut options = [
            (addr_coverage(&h.dst), 0),
            (addr_coverage(&h.src), 1),
            (port_coverage(&h.dport), 2),
            (port_coverage(&h.sport), 3),
        ];
        options.sort_by(|a, b| a.0.total_cmp(&b.0));
        for (coverage, which) in options {
            if coverage >= 1.0 {
                break;
            }
            let indexed = match which {
                0 => self.addrs.add(&h.dst, rule),
                1 => self.addrs.add(&h.src, rule),
                2 => self.ports.add(&h.dport, rule),
                _ => self.ports.add(&h.sport, rule),
            };
            if indexed {
                return;
            }
        }
        self.rest.push(rule);
    }

    /// The rules found for a packet between these ends that `keep` accepts (the engine
    /// checks their whole header there), sorted and without duplicates.
    pub fn candidates(
        &self,
        src: IpAddr,
        sport: u16,
        dst: IpAddr,
        dport: u16,
        keep: impl Fn(u32) -> bool,
    ) -> Vec<u32> {
        let mut out = self.rest.clone();
        for a in [src, dst] {
            self.addrs.lookup(a, &mut out);
        }
        for p in [sport, dport] {
            self.ports.lookup(p, &mut out);
        }
        out.sort_unstable();
        out.dedup();
        out.retain(|r| keep(*r));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vars::Vars;

    #[test]
    fn ranges_become_the_fewest_blocks() {
        assert_eq!(blocks(0, u128::from(u32::MAX), 32), vec![(0, 0)]);
        assert_eq!(blocks(10, 10, 32), vec![(10, 32)]);
        // 10.0.0.1 - 10.0.0.6: .1/32 .2/31 .4/31 .6/32
        let base = 0x0a00_0000u128;
        assert_eq!(
            blocks(base + 1, base + 6, 32),
            vec![
                (base + 1, 32),
                (base + 2, 31),
                (base + 4, 31),
                (base + 6, 32)
            ]
        );
    }

    #[test]
    fn rules_are_found_by_address_and_port() {
        let v = Vars::default();
        let header = |s: &str| Header::parse(s, &v).expect("header");
        let mut idx = HeaderIndex::default();
        idx.add(
            &header("alert ip any any -> [10.1.0.0/16,192.0.2.7] any"),
            0,
        );
        idx.add(&header("alert tcp any any -> any 3389"), 1);
        idx.add(&header("alert tcp any any -> any any"), 2);
        let ip = |s: &str| s.parse::<IpAddr>().expect("ip");
        assert_eq!(
            idx.candidates(ip("192.168.1.2"), 4000, ip("10.1.2.3"), 80, |_| true),
            vec![0, 2]
        );
        assert_eq!(
            idx.candidates(ip("192.168.1.2"), 4000, ip("192.0.2.7"), 3389, |_| true),
            vec![0, 1, 2]
        );
        assert_eq!(
            idx.candidates(ip("192.168.1.2"), 4000, ip("192.0.2.8"), 22, |_| true),
            vec![2]
        );
    }
}
