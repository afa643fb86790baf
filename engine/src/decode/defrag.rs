//! IPv4 and IPv6 fragment reassembly, bounded in datagrams, fragments and time.
//!
//! Each datagram's bytes are assembled by `etherparse`'s `IpDefragBuf`; this module keeps the
//! pool of datagrams in progress within limits, so that a flood of fragments that never
//! complete costs at most `max_datagrams × 64 KiB`. Overlap policy: a later fragment
//! overwrites the bytes of an earlier one (the "last" policy); a datagram whose fragments
//! contradict each other on its end is dropped and counted.

use std::collections::VecDeque;
use std::net::IpAddr;

use etherparse::defrag::IpDefragBuf;
use etherparse::{IpFragOffset, IpNumber};
use hashbrown::HashMap;

use super::ip::IpPacket;
use crate::time::Timestamp;

/// Limits of the reassembler.
#[derive(Clone, Copy, Debug)]
pub struct DefragConfig {
    /// Datagrams in progress at once; the oldest is dropped beyond this.
    pub max_datagrams: usize,
    /// Fragments accepted for one datagram (a 64 KiB datagram in 8-byte fragments has
    /// 8,192).
    pub max_fragments: u32,
    /// Fragments held, all datagrams together (Suricata's `defrag.max-frags`); beyond, the
    /// oldest datagrams are dropped.
    pub max_total_fragments: u64,
    /// A datagram not completed within this many nanoseconds is dropped.
    pub timeout_nanos: i64,
}

impl Default for DefragConfig {
    fn default() -> Self {
        DefragConfig {
            max_datagrams: 4096,
            max_fragments: 8192,
            max_total_fragments: 65_535,
            timeout_nanos: 30 * 1_000_000_000,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Key {
    src: IpAddr,
    dst: IpAddr,
    proto: u8,
    id: u32,
}

#[derive(Debug)]
struct Pending {
    buf: IpDefragBuf,
    /// The fixed header of the first fragment seen, patched into the reassembled datagram.
    header: Vec<u8>,
    first_seen: Timestamp,
    fragments: u32,
}

/// Counters of the reassembler, for the summary.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DefragStats {
    /// Fragments received.
    pub fragments: u64,
    /// Datagrams completed.
    pub reassembled: u64,
    /// Datagrams dropped: timed out, evicted for room, too many fragments, inconsistent.
    pub dropped: u64,
}

/// What became of a fragment.
#[derive(Debug)]
pub enum DefragOutcome {
    /// The datagram is complete: a whole IP packet (header and payload, no fragmentation).
    Complete(Vec<u8>),
    /// Kept, waiting for the other fragments.
    Pending,
    /// Dropped; the reason says why.
    Dropped(&'static str),
}

/// The fragment reassembler.
#[derive(Debug)]
pub struct Defragmenter {
    config: DefragConfig,
    pending: HashMap<Key, Pending>,
    /// Keys in order of arrival, for expiry and eviction (may hold stale keys).
    arrival: VecDeque<(Timestamp, Key)>,
    /// Fragments held by the datagrams in progress.
    held: u64,
    stats: DefragStats,
}

impl Defragmenter {
    /// A reassembler with these limits.
    pub fn new(config: DefragConfig) -> Self {
        Defragmenter {
            config,
            pending: HashMap::new(),
            arrival: VecDeque::new(),
            held: 0,
            stats: DefragStats::default(),
        }
    }

    /// Forgets a datagram in progress.
    fn remove(&mut self, key: &Key) -> Option<Pending> {
        let p = self.pending.remove(key)?;
        self.held = self.held.saturating_sub(u64::from(p.fragments));
        Some(p)
    }

    /// Counters so far.
    pub fn stats(&self) -> DefragStats {
        self.stats
    }

    fn expire(&mut self, now: Timestamp) {
        while let Some(&(ts, key)) = self.arrival.front() {
            let over_capacity = self.pending.len() >= self.config.max_datagrams.max(1)
                || self.held >= self.config.max_total_fragments.max(1);
            let expired = now.nanos_since(ts) > self.config.timeout_nanos;
            if !over_capacity && !expired {
                break;
            }
            self.arrival.pop_front();
            if let Some(p) = self.pending.get(&key) {
                if p.first_seen == ts {
                    self.remove(&key);
                    self.stats.dropped += 1;
                }
            }
        }
    }

    /// Adds the fragment `ip`, whose whole packet (from the IP header on) is `packet`.
    pub fn add(&mut self, now: Timestamp, packet: &[u8], ip: &IpPacket<'_>) -> DefragOutcome {
        let Some(frag) = ip.fragment else {
            return DefragOutcome::Dropped("not a fragment");
        };
        self.stats.fragments += 1;
        self.expire(now);
        let key = Key {
            src: ip.src,
            dst: ip.dst,
            proto: ip.proto,
            id: frag.id,
        };
        if self.arrival.len() > 2 * self.config.max_datagrams.max(1) {
            // Entries of datagrams already completed or dropped linger until their timeout;
            // keep the queue in proportion to the datagrams really pending.
            let pending = &self.pending;
            self.arrival
                .retain(|(ts, k)| pending.get(k).is_some_and(|p| p.first_seen == *ts));
        }
        let entry = self.pending.entry(key).or_insert_with(|| {
            self.arrival.push_back((now, key));
            Pending {
                buf: IpDefragBuf::new(IpNumber(ip.proto), Vec::new(), Vec::new()),
                header: base_header(packet, ip.version),
                first_seen: now,
                fragments: 0,
            }
        });
        entry.fragments += 1;
        self.held += 1;
        if entry.fragments > self.config.max_fragments {
            self.remove(&key);
            self.stats.dropped += 1;
            return DefragOutcome::Dropped("too many fragments for one datagram");
        }
        let Some(offset) = IpFragOffset::try_new(frag.offset / 8).ok() else {
            return DefragOutcome::Dropped("fragment offset out of range");
        };
        if entry.buf.add(offset, frag.more, ip.payload).is_err() {
            self.remove(&key);
            self.stats.dropped += 1;
            return DefragOutcome::Dropped("inconsistent fragments");
        }
        if !entry.buf.is_complete() {
            return DefragOutcome::Pending;
        }
        let Some(done) = self.remove(&key) else {
            return DefragOutcome::Pending;
        };
        self.stats.reassembled += 1;
        let payload = done.buf.take_bufs().0;
        match assemble(&done.header, ip.version, ip.proto, &payload) {
            Some(pkt) => DefragOutcome::Complete(pkt),
            None => {
                self.stats.dropped += 1;
                DefragOutcome::Dropped("reassembled datagram too large")
            }
        }
    }
}

/// The fixed part of the header (IPv4 without options, IPv6 without extensions).
fn base_header(packet: &[u8], version: u8) -> Vec<u8> {
    let n = if version == 4 { 20 } else { 40 };
    packet.get(..n).map(<[u8]>::to_vec).unwrap_or_default()
}

/// A whole datagram from a fixed header and the reassembled payload.
fn assemble(header: &[u8], version: u8, proto: u8, payload: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(header.len() + payload.len());
    out.extend_from_slice(header);
    if version == 4 {
        let total = u16::try_from(20 + payload.len()).ok()?;
        let h = out.get_mut(..20)?;
        h[0] = 0x45;
        h[2..4].copy_from_slice(&total.to_be_bytes());
        h[6..8].copy_from_slice(&[0, 0]);
        h[9] = proto;
    } else {
        let len = u16::try_from(payload.len()).ok()?;
        let h = out.get_mut(..40)?;
        h[4..6].copy_from_slice(&len.to_be_bytes());
        h[6] = proto;
    }
    out.extend_from_slice(payload);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::super::ip::parse_ip;
    use super::*;

    fn frag(id: u16, offset8: u16, more: bool, payload: &[u8]) -> Vec<u8> {
        let total = u16::try_from(20 + payload.len()).expect("small");
        let mut p = vec![
            0x45, 0, 0, 0, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ];
        p[2..4].copy_from_slice(&total.to_be_bytes());
        p[4..6].copy_from_slice(&id.to_be_bytes());
        let f = offset8 | if more { 0x2000 } else { 0 };
        p[6..8].copy_from_slice(&f.to_be_bytes());
        p.extend_from_slice(payload);
        p
    }

    fn add(d: &mut Defragmenter, t: i64, p: &[u8]) -> DefragOutcome {
        let ip = parse_ip(p).expect("ip");
        d.add(Timestamp::from_nanos(t), p, &ip)
    }

    #[test]
    fn out_of_order_fragments_reassemble() {
        let mut d = Defragmenter::new(DefragConfig::default());
        let a = frag(7, 0, true, &[1; 16]);
        let b = frag(7, 2, false, &[2; 5]);
        assert!(matches!(add(&mut d, 0, &b), DefragOutcome::Pending));
        match add(&mut d, 1, &a) {
            DefragOutcome::Complete(pkt) => {
                let ip = parse_ip(&pkt).expect("whole");
                assert!(ip.fragment.is_none());
                assert_eq!(ip.payload.len(), 21);
                assert_eq!(ip.ip_len, 41);
                assert_eq!(&ip.payload[16..], &[2; 5]);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(d.stats().reassembled, 1);
    }

    #[test]
    fn never_completed_datagrams_are_bounded() {
        let config = DefragConfig {
            max_datagrams: 8,
            ..DefragConfig::default()
        };
        let mut d = Defragmenter::new(config);
        for id in 0..1000u16 {
            let p = frag(id, 0, true, &[0; 8]);
            assert!(matches!(add(&mut d, 0, &p), DefragOutcome::Pending));
            assert!(d.pending.len() <= 8);
        }
        assert!(d.stats().dropped >= 990);
    }

    #[test]
    fn completed_datagrams_do_not_pile_up() {
        let config = DefragConfig {
            max_datagrams: 8,
            ..DefragConfig::default()
        };
        let mut d = Defragmenter::new(config);
        for id in 0..10_000u16 {
            let _ = add(&mut d, 0, &frag(id, 0, true, &[1; 16]));
            let _ = add(&mut d, 0, &frag(id, 2, false, &[2; 5]));
        }
        assert_eq!(d.stats().reassembled, 10_000);
        assert!(d.arrival.len() <= 17, "{}", d.arrival.len());
    }

    #[test]
    fn stale_datagrams_expire() {
        let mut d = Defragmenter::new(DefragConfig::default());
        let _ = add(&mut d, 0, &frag(1, 0, true, &[0; 8]));
        let _ = add(&mut d, 31_000_000_000, &frag(2, 0, true, &[0; 8]));
        assert_eq!(d.pending.len(), 1);
    }
}
