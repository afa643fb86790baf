//! One direction of a TCP stream put back in order.
//!
//! Positions are offsets in the sender's sequence space relative to its initial sequence
//! number, so the first data byte after the SYN is at 1 and wrap-around does not exist here.
//! In-order data is handed on without a copy; only segments that arrive ahead of a hole are
//! buffered, within a per-stream limit and a budget shared by all the streams of a shard.
//!
//! Overlap policy: **first wins**. Bytes already received (delivered or buffered) are never
//! replaced by a later segment that covers them differently; the later copy only fills holes.
//! This is Zeek's behaviour (it reports the difference as `rexmit_inconsistency`) and
//! Suricata's `first` policy.
//!
//! Holes are only declared when the receiver acknowledges data past them (Zeek's
//! `content_gap`): the missing length is counted as missed bytes, the application parser is
//! told of the gap, and buffered data after it flows again.

use std::collections::BTreeMap;

/// What a stream hands to its consumer.
#[derive(Debug, PartialEq, Eq)]
pub enum Chunk<'a> {
    /// Contiguous bytes, in order.
    Data(&'a [u8]),
    /// This many bytes are missing here and will never come.
    Gap(u64),
}

/// Limits of one stream.
#[derive(Clone, Copy, Debug)]
pub struct StreamLimits {
    /// Bytes handed to the parser at most (Suricata's `stream.reassembly.depth`); 0 means no
    /// limit.
    pub depth: u64,
    /// Out-of-order bytes buffered at most for this stream.
    pub max_buffered: usize,
}

/// What one buffered segment costs besides its bytes and their rounding (its tree entry, and
/// the smallest allocations' rounding), charged to the limits so that a flood of tiny
/// segments is bounded like a few large ones.
pub const SEGMENT_OVERHEAD: usize = 96;

/// What a buffered segment of `len` bytes is charged: its bytes, a quarter more for the
/// allocator's rounding up to a size class, and [`SEGMENT_OVERHEAD`]. Above 64 bytes
/// mimalloc (and jemalloc) have four classes per doubling, so a block is at most a quarter
/// larger than asked for (a 1,448-byte segment takes mimalloc's 1,536-byte class). Charged
/// its bytes and the overhead only, a capture of out-of-order full-size segments held 1.05×
/// the memcap.
pub fn segment_cost(len: usize) -> usize {
    len.saturating_add(len / 4).saturating_add(SEGMENT_OVERHEAD)
}

/// Memory shared by the streams of one shard: the budget for out-of-order bytes.
#[derive(Debug)]
pub struct MemBudget {
    /// Bytes currently buffered.
    pub used: usize,
    /// The most that may be buffered.
    pub cap: usize,
    /// Segments refused because the budget or a stream limit was exhausted.
    pub refused: u64,
}

impl MemBudget {
    /// A budget of `cap` bytes.
    pub fn new(cap: usize) -> Self {
        MemBudget {
            used: 0,
            cap,
            refused: 0,
        }
    }
}

/// One direction of a stream.
#[derive(Debug, Default)]
pub struct Reassembler {
    /// Position of the next byte to hand on.
    next: u64,
    /// Segments ahead of `next`, by start position; they never overlap each other.
    ahead: BTreeMap<u64, Vec<u8>>,
    buffered: usize,
    /// Bytes handed on so far.
    delivered: u64,
    /// Bytes declared missing (Zeek's `missed_bytes` for this direction).
    missed: u64,
    /// Number of holes declared.
    gaps: u32,
    /// The depth was reached: nothing more is delivered or buffered.
    depth_reached: bool,
}

impl Reassembler {
    /// A stream whose next expected byte is at `next` (1 after a SYN).
    pub fn new(next: u64) -> Self {
        Reassembler {
            next,
            ..Reassembler::default()
        }
    }

    /// Position of the next byte expected.
    pub fn next(&self) -> u64 {
        self.next
    }

    /// Bytes declared missing.
    pub fn missed(&self) -> u64 {
        self.missed
    }

    /// Holes declared.
    pub fn gaps(&self) -> u32 {
        self.gaps
    }

    /// Bytes handed on.
    pub fn delivered(&self) -> u64 {
        self.delivered
    }

    /// Whether the depth limit stopped delivery.
    pub fn depth_reached(&self) -> bool {
        self.depth_reached
    }

    /// What the segments buffered ahead of a hole are charged ([`segment_cost`] each).
    pub fn buffered(&self) -> usize {
        self.buffered
    }

    /// How many of `len` bytes may still be delivered under the depth limit.
    fn allowance(&mut self, limits: &StreamLimits, len: u64) -> u64 {
        if limits.depth == 0 {
            return len;
        }
        let left = limits.depth.saturating_sub(self.delivered);
        if left < len {
            self.depth_reached = true;
        }
        left.min(len)
    }

    fn emit(&mut self, limits: &StreamLimits, data: &[u8], out: &mut dyn FnMut(Chunk<'_>)) {
        let n = self.allowance(limits, data.len() as u64);
        let n = usize::try_from(n).unwrap_or(usize::MAX).min(data.len());
        if let Some(d) = data.get(..n) {
            if !d.is_empty() {
                out(Chunk::Data(d));
            }
        }
        self.delivered += n as u64;
        self.next += data.len() as u64;
    }

    /// A segment of `data` starting at position `pos`.
    pub fn segment(
        &mut self,
        pos: u64,
        data: &[u8],
        limits: &StreamLimits,
        budget: &mut MemBudget,
        out: &mut dyn FnMut(Chunk<'_>),
    ) {
        let end = pos.saturating_add(data.len() as u64);
        if data.is_empty() || end <= self.next {
            return; // nothing new: a retransmission of what was handed on
        }
        if pos <= self.next {
            let skip = usize::try_from(self.next - pos).unwrap_or(usize::MAX);
            if let Some(fresh) = data.get(skip..) {
                self.emit(limits, fresh, out);
            }
            self.drain(limits, budget, out);
            return;
        }
        if self.depth_reached
            || (limits.depth != 0 && pos.saturating_sub(self.next) >= limits.depth)
        {
            return;
        }
        self.store(pos, data, limits, budget);
    }

    /// Buffers the parts of `[pos, pos+len)` not already held (first wins).
    fn store(&mut self, pos: u64, data: &[u8], limits: &StreamLimits, budget: &mut MemBudget) {
        let end = pos + data.len() as u64;
        let mut cursor = pos;
        // Pieces of the new segment that fall in holes between held segments.
        let mut pieces: Vec<(u64, u64)> = Vec::new();
        let start_key = self
            .ahead
            .range(..=pos)
            .next_back()
            .map(|(k, _)| *k)
            .unwrap_or(pos);
        for (&k, v) in self.ahead.range(start_key..) {
            let kend = k + v.len() as u64;
            if k >= end {
                break;
            }
            if kend <= cursor {
                continue;
            }
            if k > cursor {
                pieces.push((cursor, k.min(end)));
            }
            cursor = cursor.max(kend);
            if cursor >= end {
                break;
            }
        }
        if cursor < end {
            pieces.push((cursor, end));
        }
        for (a, b) in pieces {
            let len = usize::try_from(b - a).unwrap_or(usize::MAX);
            let cost = segment_cost(len);
            if self.buffered + cost > limits.max_buffered || budget.used + cost > budget.cap {
                budget.refused += 1;
                continue;
            }
            let from = usize::try_from(a - pos).unwrap_or(usize::MAX);
            if let Some(bytes) = data.get(from..from.saturating_add(len)) {
                self.ahead.insert(a, bytes.to_vec());
                self.buffered += cost;
                budget.used += cost;
            }
        }
    }

    /// Hands on buffered segments that have become contiguous.
    fn drain(
        &mut self,
        limits: &StreamLimits,
        budget: &mut MemBudget,
        out: &mut dyn FnMut(Chunk<'_>),
    ) {
        while let Some(entry) = self.ahead.first_entry() {
            let k = *entry.key();
            if k > self.next {
                break;
            }
            let v = entry.remove();
            let cost = segment_cost(v.len());
            self.buffered = self.buffered.saturating_sub(cost);
            budget.used = budget.used.saturating_sub(cost);
            let end = k + v.len() as u64;
            if end > self.next {
                let skip = usize::try_from(self.next - k).unwrap_or(usize::MAX);
                if let Some(fresh) = v.get(skip..) {
                    self.emit(limits, fresh, out);
                }
            }
        }
    }

    /// The receiver acknowledged everything before `pos`: a hole before it is declared a
    /// gap, and what follows flows again. Returns the bytes declared missing.
    pub fn acked(
        &mut self,
        pos: u64,
        limits: &StreamLimits,
        budget: &mut MemBudget,
        out: &mut dyn FnMut(Chunk<'_>),
    ) -> u64 {
        let mut missing = 0;
        while self.next < pos {
            let hole_end = match self.ahead.first_key_value() {
                Some((&k, _)) if k < pos => k,
                _ => pos,
            };
            if hole_end > self.next {
                let len = hole_end - self.next;
                missing += len;
                self.gaps = self.gaps.saturating_add(1);
                self.next = hole_end;
                out(Chunk::Gap(len));
            }
            self.drain(limits, budget, out);
        }
        self.missed += missing;
        missing
    }

    /// Hands on whatever is buffered, holes included (end of the connection). Holes found
    /// here were never acknowledged, so they are reported to the parser but not counted as
    /// missed bytes.
    pub fn flush(
        &mut self,
        limits: &StreamLimits,
        budget: &mut MemBudget,
        out: &mut dyn FnMut(Chunk<'_>),
    ) {
        while let Some((&k, _)) = self.ahead.first_key_value() {
            if k > self.next {
                out(Chunk::Gap(k - self.next));
                self.next = k;
            }
            self.drain(limits, budget, out);
        }
    }

    /// Frees the buffer (the flow is gone).
    pub fn release(&mut self, budget: &mut MemBudget) {
        budget.used = budget.used.saturating_sub(self.buffered);
        self.buffered = 0;
        self.ahead.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: StreamLimits = StreamLimits {
        depth: 0,
        max_buffered: 1 << 20,
    };

    #[derive(Default)]
    struct Sink {
        data: Vec<u8>,
        gaps: Vec<u64>,
    }

    fn run(r: &mut Reassembler, b: &mut MemBudget, pos: u64, d: &[u8], s: &mut Sink) {
        r.segment(pos, d, &LIMITS, b, &mut |c| match c {
            Chunk::Data(x) => s.data.extend_from_slice(x),
            Chunk::Gap(n) => s.gaps.push(n),
        });
    }

    #[test]
    fn in_order_and_out_of_order() {
        let mut r = Reassembler::new(1);
        let mut b = MemBudget::new(1 << 20);
        let mut s = Sink::default();
        run(&mut r, &mut b, 6, b"world", &mut s);
        assert_eq!(s.data, b"");
        assert_eq!(b.used, segment_cost(5));
        run(&mut r, &mut b, 1, b"hello", &mut s);
        assert_eq!(s.data, b"helloworld");
        assert_eq!(b.used, 0);
        run(&mut r, &mut b, 3, b"llowo", &mut s);
        assert_eq!(s.data, b"helloworld");
    }

    #[test]
    fn first_wins_on_overlap() {
        let mut r = Reassembler::new(1);
        let mut b = MemBudget::new(1 << 20);
        let mut s = Sink::default();
        run(&mut r, &mut b, 5, b"AAAA", &mut s);
        run(&mut r, &mut b, 3, b"bbbbbbbbbb", &mut s);
        run(&mut r, &mut b, 1, b"cc", &mut s);
        assert_eq!(s.data, b"ccbbAAAAbbbb");
    }

    #[test]
    fn acked_hole_becomes_a_gap() {
        let mut r = Reassembler::new(1);
        let mut b = MemBudget::new(1 << 20);
        let mut s = Sink::default();
        run(&mut r, &mut b, 1, b"ab", &mut s);
        run(&mut r, &mut b, 10, b"xyz", &mut s);
        let missing = r.acked(13, &LIMITS, &mut b, &mut |c| match c {
            Chunk::Data(x) => s.data.extend_from_slice(x),
            Chunk::Gap(n) => s.gaps.push(n),
        });
        assert_eq!(missing, 7);
        assert_eq!(s.gaps, vec![7]);
        assert_eq!(s.data, b"abxyz");
        assert_eq!(r.next(), 13);
        assert_eq!(r.missed(), 7);
    }

    #[test]
    fn depth_limits_delivery_and_buffering() {
        let limits = StreamLimits {
            depth: 4,
            max_buffered: 100,
        };
        let mut r = Reassembler::new(1);
        let mut b = MemBudget::new(100);
        let mut got = Vec::new();
        r.segment(1, b"abcdef", &limits, &mut b, &mut |c| {
            if let Chunk::Data(x) = c {
                got.extend_from_slice(x)
            }
        });
        assert_eq!(got, b"abcd");
        assert!(r.depth_reached());
        r.segment(100, b"zz", &limits, &mut b, &mut |_| {});
        assert_eq!(b.used, 0);
    }

    #[test]
    fn budget_bounds_a_never_filled_hole() {
        let mut r = Reassembler::new(1);
        let mut b = MemBudget::new(1000);
        for i in 0..10_000u64 {
            r.segment(100 + i * 10, &[0; 10], &LIMITS, &mut b, &mut |_| {});
        }
        assert!(b.used <= 1000);
        assert_eq!(r.buffered(), b.used);
        assert!(b.refused > 0);
        r.release(&mut b);
        assert_eq!(b.used, 0);
    }
}
