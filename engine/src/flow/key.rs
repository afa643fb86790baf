//! Flow keys: the bidirectional 5-tuple, canonicalised so both directions of a flow map to
//! one key, and the symmetric hash that shards flows across workers.

use std::hash::{BuildHasher, Hash};
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

    /// The shard of the key, among `shards`: the same for both directions (the key is
    /// canonical), for every run and on every machine (the shards' limits decide what is
    /// dropped, so outputs depend on it). It runs for every packet, so it mixes a few
    /// machine words rather than hash each byte as [`FlowKey::stable_hash`] does; it need
    /// not be the same from one version to the next.
    pub fn shard(&self, shards: usize) -> usize {
        let mut h = u64::from(self.proto)
            | (u64::from(self.depth) << 8)
            | (u64::from(self.vlan[0]) << 16)
            | (u64::from(self.vlan[1]) << 32)
            | (u64::from(self.vlan[2]) << 48);
        for end in [&self.lo, &self.hi] {
            let addr = match end.addr {
                IpAddr::V4(a) => u64::from(u32::from(a)),
                IpAddr::V6(a) => {
                    let bits = u128::from(a);
                    // Truncations on purpose: the address's two halves, mixed apart.
                    mix64(bits as u64) ^ ((bits >> 64) as u64) ^ (1 << 63)
                }
            };
            h = mix64(h ^ mix64(addr ^ (u64::from(end.port) << 32)));
        }
        // The remainder is below `shards`, so it fits in a usize.
        (h % shards.max(1) as u64) as usize
    }

    /// A hash that is the same for both directions (the key is canonical), for every run and
    /// on every machine: it decides the flow id, so it must not depend on a
    /// random seed, the pointer width or the byte order.
    ///
    /// The bytes hashed are the ones `#[derive(Hash)]` fed a hasher on 64-bit little-endian
    /// machines, where the ids were first defined: addresses as their octets, an enum's
    /// discriminant and an array's length as 8 bytes. They are written out here because a
    /// derived hash writes the last two with the width of `usize`, which gave 32-bit ARM
    /// other flow ids.
    ///
    /// A zero byte leaves FNV-1a's state as it is before the multiplication, so a run of
    /// them is one multiplication by a power of the prime (`Fnv1a::zeros`): the hash runs
    /// for every packet, and most of its 44 bytes for IPv4 are zeros.
    pub fn stable_hash(&self) -> u64 {
        let mut h = Fnv1a::default();
        for end in [&self.lo, &self.hi] {
            match end.addr {
                IpAddr::V4(a) => {
                    h.word(0);
                    h.write(&a.octets());
                }
                IpAddr::V6(a) => {
                    h.word(1);
                    h.write(&a.octets());
                }
            }
            h.write(&end.port.to_le_bytes());
        }
        h.write(&[self.proto]);
        h.word(self.vlan.len() as u8);
        if self.vlan == [0; 3] {
            h.zeros(6);
        } else {
            for id in self.vlan {
                h.write(&id.to_le_bytes());
            }
        }
        h.write(&[self.depth]);
        mix64(h.0)
    }
}

/// A key for the flow tables, hashed a few machine words at a time (the derived hash of
/// [`FlowKey`] feeds the hasher each field, and each octet array, apart). Nothing observable
/// depends on it: the tables' hasher is seeded per process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TableKey(pub FlowKey);

impl Hash for TableKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        for end in [&self.0.lo, &self.0.hi] {
            let port = u64::from(end.port) << 32;
            match end.addr {
                IpAddr::V4(a) => state.write_u64(port | u64::from(u32::from(a))),
                IpAddr::V6(a) => {
                    let bits = u128::from(a);
                    state.write_u64(bits as u64);
                    state.write_u64((bits >> 64) as u64);
                    state.write_u64(port | 1 << 48);
                }
            }
        }
        let [v0, v1, v2] = self.0.vlan.map(u64::from);
        state.write_u64(
            u64::from(self.0.proto) | u64::from(self.0.depth) << 8 | v0 << 16 | v1 << 32 | v2 << 48,
        );
    }
}

/// FNV-1a over bytes: stable across runs and platforms; with [`mix64`] after it, good enough
/// to spread flows over shards (the flow tables themselves use a seeded hasher).
#[derive(Debug)]
struct Fnv1a(u64);

impl Default for Fnv1a {
    fn default() -> Self {
        Fnv1a(0xcbf2_9ce4_8422_2325)
    }
}

/// FNV-1a's 64-bit prime.
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// `FNV_PRIME` to the powers 0 to 8.
const FNV_POWERS: [u64; 9] = {
    let mut powers = [1u64; 9];
    let mut i = 1;
    while i < powers.len() {
        powers[i] = powers[i - 1].wrapping_mul(FNV_PRIME);
        i += 1;
    }
    powers
};

impl Fnv1a {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(FNV_PRIME);
        }
    }

    /// Writes `n` (at most 8) zero bytes.
    fn zeros(&mut self, n: usize) {
        debug_assert!(n < FNV_POWERS.len(), "{n} zero bytes at once");
        self.0 = self.0.wrapping_mul(FNV_POWERS[n.min(8)]);
    }

    /// Writes the 8 little-endian bytes of a number below 256, as `write(&u64::to_le_bytes)`
    /// would.
    fn word(&mut self, low: u8) {
        self.0 ^= u64::from(low);
        self.0 = self.0.wrapping_mul(FNV_POWERS[8]);
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
    use std::hash::Hasher;
    use std::net::Ipv4Addr;

    const PINNED_V4: u64 = 5_089_976_459_980_758_024;
    const PINNED_V6: u64 = 16_905_143_303_976_624_860;
    const PINNED_SHARDS: [usize; 6] = [13, 7, 3, 27, 4, 8];

    fn ep(a: u8, port: u16) -> Endpoint {
        Endpoint {
            addr: IpAddr::V4(Ipv4Addr::new(10, 0, 0, a)),
            port,
        }
    }

    fn ep6(port: u16) -> Endpoint {
        Endpoint {
            addr: IpAddr::V6(std::net::Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)),
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

    /// The flow id of a key is pinned: it must not change with the machine
    /// (32-bit ARM computed others while the hash went through `#[derive(Hash)]`).
    #[test]
    fn the_stable_hash_is_pinned() {
        let (k4, _) = FlowKey::of(ep(1, 5000), ep(2, 80), 6);
        let (k6, _) = FlowKey::of(ep6(443), ep6(50000), 17);
        let k6 = k6.in_vlans([10, 20, 0], 1);
        assert_eq!(k4.stable_hash(), PINNED_V4);
        assert_eq!(k6.stable_hash(), PINNED_V6);
    }

    /// A key's shard is pinned (so the same on every machine), depends on every field,
    /// and spreads a port scan evenly. (Both directions share it because they share the
    /// key.)
    #[test]
    fn shards_are_pinned_and_even() {
        let (k1, _) = FlowKey::of(ep(1, 5000), ep(2, 80), 6);
        let (k6, _) = FlowKey::of(ep6(443), ep6(50000), 17);
        let pinned: Vec<usize> = [
            k1,
            k1.in_vlans([10, 20, 0], 0),
            k1.in_vlans([0, 0, 0], 1),
            FlowKey::of(ep(1, 5000), ep(2, 80), 17).0,
            k6,
            k6.in_vlans([10, 20, 0], 1),
        ]
        .iter()
        .map(|k| k.shard(32))
        .collect();
        assert_eq!(pinned, PINNED_SHARDS);
        let mut counts = [0usize; 32];
        for port in 0..=u16::MAX {
            counts[FlowKey::of(ep(1, port), ep(2, 80), 6).0.shard(32)] += 1;
        }
        let mean = 65_536 / 32;
        assert!(
            counts
                .iter()
                .all(|&n| n > mean * 9 / 10 && n < mean * 11 / 10),
            "{counts:?}"
        );
    }

    /// On 64-bit little-endian machines the hash is the one the derived `Hash` gave, so
    /// the flow ids printed before it was written out stay the same.
    #[cfg(all(target_pointer_width = "64", target_endian = "little"))]
    #[test]
    fn the_stable_hash_matches_the_derived_one_on_64_bit() {
        struct Derived(Fnv1a);
        impl Hasher for Derived {
            fn write(&mut self, bytes: &[u8]) {
                self.0.write(bytes);
            }
            fn finish(&self) -> u64 {
                mix64(self.0 .0)
            }
        }
        let v6 = Endpoint {
            addr: "fe80::1:2"
                .parse()
                .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
            port: 5353,
        };
        let keys = [
            FlowKey::of(ep(1, 5000), ep(2, 80), 6).0,
            FlowKey::of(ep(9, 53), v6, 17).0.in_vlans([1, 2, 3], 2),
            FlowKey::of(v6, v6, 58).0,
            FlowKey::of(ep(3, 443), ep(4, 1), 17)
                .0
                .in_vlans([0, 0, 0], 1),
            FlowKey::of(ep(3, 443), v6, 6).0.in_vlans([0, 0, 4095], 0),
        ];
        for key in keys {
            let mut derived = Derived(Fnv1a::default());
            key.hash(&mut derived);
            assert_eq!(key.stable_hash(), derived.finish(), "{key:?}");
        }
    }

    #[test]
    fn same_address_different_ports() {
        let (k, lo_is_src) = FlowKey::of(ep(1, 80), ep(1, 5000), 6);
        assert!(lo_is_src);
        assert_eq!(k.lo.port, 80);
    }
}
