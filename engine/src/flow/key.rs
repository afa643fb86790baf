//! Flow keys: the bidirectional 5-tuple, canonicalised so both directions of a flow map to
//! one key, and the symmetric hash that shards flows across workers.

use std::hash::{BuildHasher, Hash, Hasher};
use std::net::IpAddr;

/// One side of a flow: an address and a port (ICMP: type or code, as Zeek does).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Endpoint {
    /// Address.
    pub addr: IpAddr,
    /// Port.
    pub port: u16,
}

/// A bidirectional flow key: the lower endpoint first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FlowKey {
    /// The lower of the two endpoints.
    pub lo: Endpoint,
    /// The higher of the two endpoints.
    pub hi: Endpoint,
    /// IP protocol.
    pub proto: u8,
    /// VLAN ids, outermost first (0: none): the same 5-tuple in another VLAN is another
    /// flow, as Suricata's `vlan.use-for-tracking` has it.
    pub vlan: [u16; 3],
    /// Tunnel depth of the packets (0: not tunnelled): the same 5-tuple inside a tunnel is
    /// another flow, as Suricata's `decoder.recursion-level.use-for-tracking` has it.
    pub depth: u8,
}

impl FlowKey {
    /// The key of a packet from `src` to `dst`, and whether `src` is the key's `lo` side.
    pub fn of(src: Endpoint, dst: Endpoint, proto: u8) -> (FlowKey, bool) {
        if src <= dst {
            (
                FlowKey {
                    lo: src,
                    hi: dst,
                    proto,
                    vlan: [0; 3],
                    depth: 0,
                },
                true,
            )
        } else {
            (
                FlowKey {
                    lo: dst,
                    hi: src,
                    proto,
                    vlan: [0; 3],
                    depth: 0,
                },
                false,
            )
        }
    }

    /// The same key in VLANs `vlan`, at tunnel depth `depth`.
    pub fn in_vlans(self, vlan: [u16; 3], depth: u8) -> FlowKey {
        FlowKey {
            vlan,
            depth,
            ..self
        }
    }

    /// A hash that is the same for both directions (the key is canonical) and for every run:
    /// it decides the shard, so it must not depend on a random seed.
    pub fn stable_hash(&self) -> u64 {
        let mut h = StableHasher::default();
        self.hash(&mut h);
        h.finish()
    }
}

/// FNV-1a with a final avalanche: stable across runs and platforms, good enough to spread
/// flows over shards (the flow tables themselves use a seeded hasher).
#[derive(Debug)]
struct StableHasher(u64);

impl Default for StableHasher {
    fn default() -> Self {
        StableHasher(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for StableHasher {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        mix64(self.0)
    }
}

/// The SplitMix64 finaliser: spreads every input bit over the output.
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The hasher of the flow tables: seeded per process, so that traffic cannot aim at
/// collisions. Nothing observable depends on its order.
pub type TableHasher = ahash::RandomState;

/// A fresh table hasher.
pub fn table_hasher() -> TableHasher {
    let k = std::collections::hash_map::RandomState::new().hash_one(0u8);
    ahash::RandomState::with_seeds(k, k.rotate_left(17), mix64(k), mix64(k ^ 0x5555))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn ep(a: u8, port: u16) -> Endpoint {
        Endpoint {
            addr: IpAddr::V4(Ipv4Addr::new(10, 0, 0, a)),
            port,
        }
    }

    #[test]
    fn both_directions_share_a_key_and_hash() {
        let (k1, fwd) = FlowKey::of(ep(1, 5000), ep(2, 80), 6);
        let (k2, rev) = FlowKey::of(ep(2, 80), ep(1, 5000), 6);
        assert_eq!(k1, k2);
        assert_ne!(fwd, rev);
        assert_eq!(k1.stable_hash(), k2.stable_hash());
    }

    #[test]
    fn same_address_different_ports() {
        let (k, lo_is_src) = FlowKey::of(ep(1, 80), ep(1, 5000), 6);
        assert!(lo_is_src);
        assert_eq!(k.lo.port, 80);
    }
}
