//! A ClientHello's fingerprints (JA3 and JA4), computed once per distinct offer.
//!
//! A device opens connection after connection with the same TLS library, so with the same
//! offer; its fingerprints are decimal and hexadecimal renderings of that offer, an MD5 and
//! two SHA-256, which cost more than parsing the ClientHello. Each shard remembers the
//! fingerprints of the offers it has seen, keyed by exactly the fields they are computed
//! from: what it returns is what computing them would return, so outputs do not depend on
//! it. It holds at most [`MAX_FINGERPRINT_BYTES`], and is emptied when that would be
//! exceeded; an offer whose key would be longer than [`MAX_KEY_LEN`] is computed, not kept.

use std::sync::Arc;

use hashbrown::HashMap;

use super::parser::{ja3, ja4, ClientHello};

/// Bytes a shard's fingerprint cache holds at most (keys, fingerprints and an allowance
/// for the table's own entry).
pub const MAX_FINGERPRINT_BYTES: usize = 64 << 10;

/// The longest key kept, in 16-bit values: an offer of ~500 ciphers, extensions and
/// groups, far beyond any real client's.
pub const MAX_KEY_LEN: usize = 512;

/// What an entry costs beyond its key and strings: the table's slot and the strings'
/// headers.
const ENTRY_OVERHEAD: usize = 128;

/// The fingerprints of one ClientHello, as the TLS record carries them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientFingerprints {
    /// JA3's string: version, ciphers, extensions, groups, point formats.
    pub ja3_string: Arc<str>,
    /// JA3: the MD5 of the string, in hexadecimal.
    pub ja3: Arc<str>,
    /// JA4 (`t13d1516h2_…_…`; `q` for QUIC).
    pub ja4: Arc<str>,
}

impl ClientFingerprints {
    /// Computes the fingerprints of `ch`; `quic` when it came in a QUIC Initial.
    pub fn of(ch: &ClientHello, quic: bool) -> Self {
        let (ja3_string, ja3) = ja3(ch);
        ClientFingerprints {
            ja3_string: ja3_string.into(),
            ja3: ja3.into(),
            ja4: ja4(ch, quic).into(),
        }
    }

    fn bytes(&self) -> usize {
        self.ja3_string.len() + self.ja3.len() + self.ja4.len()
    }
}

/// The fingerprints of the offers one shard has seen.
#[derive(Debug, Default)]
pub struct FingerprintCache {
    known: HashMap<Box<[u16]>, ClientFingerprints>,
    /// Bytes held, counted as [`MAX_FINGERPRINT_BYTES`] describes.
    bytes: usize,
    /// The key of the offer being looked up, reused from one lookup to the next.
    key: Vec<u16>,
}

impl FingerprintCache {
    /// The fingerprints of `ch` (`quic` when it came in a QUIC Initial), computed only if
    /// an identical offer has not been seen since the cache was last emptied.
    pub fn fingerprints(&mut self, ch: &ClientHello, quic: bool) -> ClientFingerprints {
        if !key_of(ch, quic, &mut self.key) {
            return ClientFingerprints::of(ch, quic);
        }
        if let Some(known) = self.known.get(self.key.as_slice()) {
            return known.clone();
        }
        let computed = ClientFingerprints::of(ch, quic);
        let cost = self.key.len() * 2 + computed.bytes() + ENTRY_OVERHEAD;
        if self.bytes + cost > MAX_FINGERPRINT_BYTES {
            self.known.clear();
            self.bytes = 0;
        }
        self.bytes += cost;
        self.known
            .insert(self.key.as_slice().into(), computed.clone());
        computed
    }

    /// Offers remembered.
    pub fn len(&self) -> usize {
        self.known.len()
    }

    /// Whether it remembers none.
    pub fn is_empty(&self) -> bool {
        self.known.is_empty()
    }

    /// Bytes held, counted as [`MAX_FINGERPRINT_BYTES`] describes.
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

/// Writes into `out` every field of `ch` that JA3 or JA4 reads, each list after its
/// length, so two offers have the same key only if their fingerprints are the same.
/// False if the key would be longer than [`MAX_KEY_LEN`].
fn key_of(ch: &ClientHello, quic: bool, out: &mut Vec<u16>) -> bool {
    out.clear();
    out.extend([u16::from(quic), ch.version, u16::from(ch.sni().is_some())]);
    let lists = [
        ch.ciphers(),
        ch.extension_types(),
        ch.groups(),
        ch.supported_versions(),
        ch.signature_algorithms(),
    ];
    let alpn = ch.alpn().next();
    let len = out.len()
        + lists.iter().map(|l| 1 + l.len()).sum::<usize>()
        + 1
        + ch.point_formats().len()
        + 1
        + alpn.map_or(0, <[u8]>::len);
    if len > MAX_KEY_LEN {
        return false;
    }
    // Each length is at most MAX_KEY_LEN, so it fits in 16 bits.
    let push_len = |out: &mut Vec<u16>, n: usize| out.push(n as u16);
    for list in lists {
        push_len(out, list.len());
        out.extend_from_slice(list);
    }
    push_len(out, ch.point_formats().len());
    out.extend(ch.point_formats().iter().map(|&p| u16::from(p)));
    match alpn {
        // Longer than any length: no ALPN is told apart from an empty first protocol.
        None => out.push(u16::MAX),
        Some(p) => {
            push_len(out, p.len());
            out.extend(p.iter().map(|&b| u16::from(b)));
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::tls::parser::ClientHelloParts;
    use proptest::prelude::*;

    fn offer() -> impl Strategy<Value = (ClientHelloParts, bool)> {
        // Few distinct values, so that offers repeat and differ by one field.
        let small =
            || prop::collection::vec(prop::sample::select(vec![0x0a0a, 1, 2, 0x0303]), 0..4);
        (
            prop::sample::select(vec![0x0301u16, 0x0303]),
            small(),
            small(),
            small(),
            small(),
            small(),
            prop::collection::vec(0u8..2, 0..3),
            prop::option::of(prop::collection::vec(
                prop::sample::select(vec![b'h', b'2', 0xff]),
                0..3,
            )),
            any::<bool>(),
            any::<bool>(),
        )
            .prop_map(
                |(version, ciphers, exts, groups, versions, sigs, pf, alpn, sni, quic)| {
                    let ch = ClientHelloParts {
                        version,
                        ciphers,
                        extension_types: exts,
                        groups,
                        supported_versions: versions,
                        signature_algorithms: sigs,
                        point_formats: pf,
                        alpn: alpn.into_iter().collect(),
                        sni: sni.then(|| b"a.io".to_vec()),
                        ..ClientHelloParts::default()
                    };
                    (ch, quic)
                },
            )
    }

    /// `base` with field `field` (of the ten the key holds) taken from `other`.
    fn with_field(
        base: &(ClientHelloParts, bool),
        field: usize,
        other: &(ClientHelloParts, bool),
    ) -> (ClientHelloParts, bool) {
        let (mut ch, mut quic) = base.clone();
        let o = &other.0;
        match field {
            0 => quic = other.1,
            1 => ch.version = o.version,
            2 => ch.sni.clone_from(&o.sni),
            3 => ch.ciphers.clone_from(&o.ciphers),
            4 => ch.extension_types.clone_from(&o.extension_types),
            5 => ch.groups.clone_from(&o.groups),
            6 => ch.supported_versions.clone_from(&o.supported_versions),
            7 => ch.signature_algorithms.clone_from(&o.signature_algorithms),
            8 => ch.point_formats.clone_from(&o.point_formats),
            _ => ch.alpn.clone_from(&o.alpn),
        }
        (ch, quic)
    }

    proptest! {
        /// Offers that differ from a first one in a single field, in any order and
        /// repeated: the cache returns what computing returns. (A field left out of the
        /// key would hand a variant the first offer's fingerprints.)
        #[test]
        fn the_cache_returns_what_computing_returns(
            base in offer(),
            changes in prop::collection::vec((0usize..10, offer()), 1..30)
        ) {
            let mut parts = vec![base.clone()];
            parts.extend(changes.iter().map(|(f, other)| with_field(&base, *f, other)));
            let offers: Vec<(ClientHello, bool)> = parts
                .into_iter()
                .map(|(p, quic)| (ClientHello::from(p), quic))
                .collect();
            let mut cache = FingerprintCache::default();
            for (ch, quic) in offers.iter().chain(offers.iter().rev()) {
                prop_assert_eq!(cache.fingerprints(ch, *quic), ClientFingerprints::of(ch, *quic));
            }
        }
    }

    /// An offer seen again is not computed again; distinct offers, however many and
    /// however long, never hold more than the cap.
    #[test]
    fn the_fingerprint_cache_is_bounded() {
        let mut cache = FingerprintCache::default();
        let ch = ClientHello::from(ClientHelloParts {
            ciphers: vec![0x1301, 0x1302],
            ..ClientHelloParts::default()
        });
        let first = cache.fingerprints(&ch, false);
        let again = cache.fingerprints(&ch, false);
        assert_eq!(cache.len(), 1);
        // A hello seen before shares the cached text rather than copying it.
        assert!(Arc::ptr_eq(&first.ja3, &again.ja3));
        assert!(Arc::ptr_eq(&first.ja3_string, &again.ja3_string));
        assert!(Arc::ptr_eq(&first.ja4, &again.ja4));
        cache.fingerprints(&ch, true);
        assert_eq!(cache.len(), 2, "QUIC's JA4 differs, so its key does");
        for i in 0..10_000u16 {
            let ch = ClientHello::from(ClientHelloParts {
                ciphers: (0..200).map(|c| c ^ i).collect(),
                ..ClientHelloParts::default()
            });
            let fp = cache.fingerprints(&ch, false);
            assert_eq!(fp, ClientFingerprints::of(&ch, false));
            assert!(cache.bytes() <= MAX_FINGERPRINT_BYTES);
            assert!(cache.len() < 1000);
        }
        // Longer than any key kept: computed, not kept.
        cache.known.clear();
        cache.bytes = 0;
        let huge = ClientHello::from(ClientHelloParts {
            ciphers: vec![1; MAX_KEY_LEN],
            ..ClientHelloParts::default()
        });
        assert_eq!(
            cache.fingerprints(&huge, false),
            ClientFingerprints::of(&huge, false)
        );
        assert!(cache.is_empty());
    }
}
