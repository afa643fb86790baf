//! A TCP connection as Zeek's TCP analyzer sees it: the endpoint state machine, sequence
//! accounting (sizes from sequence numbers, so unseen but acknowledged data still counts),
//! the history letters and the two reassembled streams.
//!
//! The state machine, the size rules, what counts as a retransmission and the `conn_state`
//! codes follow Zeek's documented behaviour, so that `conn.log` agrees with Zeek's on the same
//! packets.

use super::reassembly::{Chunk, MemBudget, Reassembler, StreamLimits};
use crate::decode::ip::{tcp_flags, TcpSegment};
use crate::flow::history::{History, Mark, Scaled};

/// Sequence jumps larger than this are not trusted (Zeek's `TOO_LARGE_SEQ_DELTA`).
const TOO_LARGE_SEQ_DELTA: i32 = 1_048_576;

/// The state of one endpoint, as in Zeek.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum EndpointState {
    /// Nothing seen from it.
    #[default]
    Inactive,
    /// It sent a SYN.
    SynSent,
    /// It sent a SYN-ACK as the originator.
    SynAckSent,
    /// Seen mid-stream, without a SYN.
    Partial,
    /// Established.
    Established,
    /// It sent a FIN.
    Closed,
    /// It sent a RST.
    Reset,
}

/// Signed difference of two sequence numbers.
fn seq_delta(a: u32, b: u32) -> i32 {
    a.wrapping_sub(b) as i32
}

/// One side of the connection.
#[derive(Debug, Default)]
struct Side {
    state: EndpointState,
    prev_state: EndpointState,
    start_seq: u32,
    last_seq: u32,
    ack_seq: u32,
    /// `last_seq` and `ack_seq` as offsets from `start_seq` without wrap-around.
    last_rel: u64,
    ack_rel: u64,
    fin_count: u32,
    rst_count: u32,
    /// Offset of the FIN (the end of the data), once one was seen.
    fin_rel: Option<u64>,
    hist_last_syn: u32,
    hist_last_fin: u32,
    hist_last_rst: u32,
    rxmit: Scaled,
    zero_window: Scaled,
    gap: Scaled,
    stream: Reassembler,
}

impl Side {
    fn set_state(&mut self, s: EndpointState) {
        self.prev_state = self.state;
        self.state = s;
    }

    fn init_seqs(&mut self, start: u32, last: u32) {
        self.start_seq = start;
        self.ack_seq = start;
        self.last_seq = last;
        self.ack_rel = 0;
        self.last_rel = u64::from(last.wrapping_sub(start));
        self.fin_rel = None;
        self.stream = Reassembler::new(1);
    }

    /// Offset of `seq` relative to the start, using the last known position to resolve wraps.
    fn rel(&self, seq: u32) -> Option<u64> {
        let r = self.last_rel as i64 + i64::from(seq_delta(seq, self.last_seq));
        u64::try_from(r).ok()
    }

    fn update_last_seq(&mut self, last: u32) {
        let d = seq_delta(last, self.last_seq);
        self.last_rel = (self.last_rel as i64 + i64::from(d)).max(0) as u64;
        self.last_seq = last;
    }

    fn no_data_acked(&self) -> bool {
        self.ack_seq == self.start_seq || self.ack_seq == self.start_seq.wrapping_add(1)
    }

    /// Bytes sent, from sequence numbers (Zeek's `TCP_Endpoint::Size`).
    fn size(&self, peer_state: EndpointState) -> u64 {
        if self.prev_state == EndpointState::SynSent
            && self.state == EndpointState::Reset
            && peer_state == EndpointState::Inactive
            && !self.no_data_acked()
        {
            return 0;
        }
        let mut size = self.last_rel.max(self.ack_rel);
        size = size.saturating_sub(1); // the SYN
        if self.fin_count > 0 && size > 0 {
            size -= 1; // the FIN
        }
        size
    }
}

/// A TCP connection.
#[derive(Debug, Default)]
pub struct TcpSession {
    /// Originator (0) and responder (1).
    sides: [Side; 2],
    /// Each side has closed (FIN or RST processed).
    did_close: [bool; 2],
}

/// What a packet did to the connection.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Verdict {
    /// The packet closed a direction (FIN or RST).
    pub closed: bool,
}

fn idx(orig: bool) -> usize {
    if orig {
        0
    } else {
        1
    }
}

impl TcpSession {
    /// The state of the originator (`orig`) or responder.
    pub fn state(&self, orig: bool) -> EndpointState {
        self.sides[idx(orig)].state
    }

    /// Bytes the originator (`orig`) or responder sent, from sequence numbers.
    pub fn size(&self, orig: bool) -> u64 {
        let peer = self.sides[idx(!orig)].state;
        self.sides[idx(orig)].size(peer)
    }

    /// Bytes missed in acknowledged holes, both directions.
    pub fn missed_bytes(&self) -> u64 {
        self.sides[0].stream.missed() + self.sides[1].stream.missed()
    }

    /// Whether the stream of `orig`'s direction hit the depth limit.
    pub fn depth_reached(&self, orig: bool) -> bool {
        self.sides[idx(orig)].stream.depth_reached()
    }

    /// Swaps originator and responder.
    pub fn flip(&mut self) {
        self.sides.swap(0, 1);
        self.did_close.swap(0, 1);
    }

    /// Whether both sides have closed: later packets no longer extend the connection's
    /// duration (Zeek's `did_close`).
    pub fn both_closed(&self) -> bool {
        self.did_close[0] && self.did_close[1]
    }

    /// Whether both directions are over (FIN or RST), as Zeek's `IsClosed`.
    fn is_closed(&self) -> bool {
        let done = |s: &Side| matches!(s.state, EndpointState::Closed | EndpointState::Reset);
        let [o, r] = &self.sides;
        (done(o) && done(r)) || (o.state == EndpointState::Reset || r.state == EndpointState::Reset)
    }

    /// Whether this SYN starts a new connection on the same 5-tuple (Zeek's `IsReuse`).
    pub fn is_reuse(&self, from_orig: bool, seg: &TcpSegment<'_>) -> bool {
        if !seg.has(tcp_flags::SYN) {
            return false;
        }
        let mut side = &self.sides[idx(from_orig)];
        if seg.has(tcp_flags::ACK) {
            if self.sides[0].state != EndpointState::Inactive {
                return false;
            }
            side = &self.sides[1];
        }
        if !self.is_closed() {
            return false;
        }
        seg.seq != side.start_seq
    }

    /// Processes one segment from the originator (`from_orig`) or responder. Stream data and
    /// gaps are handed to `out` with their direction (true: from the originator).
    pub fn packet(
        &mut self,
        from_orig: bool,
        seg: &TcpSegment<'_>,
        history: &mut History,
        limits: &StreamLimits,
        budget: &mut MemBudget,
        out: &mut dyn FnMut(bool, Chunk<'_>),
    ) -> Verdict {
        let syn = seg.has(tcp_flags::SYN);
        let fin = seg.has(tcp_flags::FIN);
        let rst = seg.has(tcp_flags::RST);
        let ack = seg.has(tcp_flags::ACK);
        let len = seg
            .len
            .max(u32::try_from(seg.payload.len()).unwrap_or(u32::MAX));
        let seg_len = len + u32::from(syn) + u32::from(fin);
        let base_seq = seg.seq;
        let one_past = base_seq.wrapping_add(seg_len);

        let (me, peer) = {
            let [o, r] = &mut self.sides;
            if from_orig {
                (o, r)
            } else {
                (r, o)
            }
        };

        init_side(me, syn, base_seq, one_past);
        let rel_seq = base_seq.wrapping_sub(me.start_seq);
        update_history(history, from_orig, me, syn, fin, rst, ack, rel_seq, len);
        if seg.window == 0 && !syn && !fin && !rst && me.zero_window.bump() {
            history.add(from_orig, b'W');
        }
        if fin {
            me.fin_count = me.fin_count.saturating_add(1);
        }
        if rst {
            me.rst_count = me.rst_count.saturating_add(1);
        }
        if ack && peer.state != EndpointState::Inactive {
            let d = seq_delta(seg.ack, peer.ack_seq);
            if !(seg.ack == 0 && d > TOO_LARGE_SEQ_DELTA) && d > 0 {
                peer.ack_seq = seg.ack;
                peer.ack_rel = (peer.ack_rel as i64 + i64::from(d)).max(0) as u64;
            }
        }
        let delta_last = update_last_seq(me, history, from_orig, one_past, syn, fin, rst, len);
        let verdict = update_state(me, peer, from_orig, syn, fin, rst, ack, len, delta_last);
        if verdict.closed {
            self.did_close[idx(from_orig)] = true;
        }
        if fin {
            // The FIN sits after the segment's data.
            let data_start = if syn { 1 } else { 0 };
            if let Some(r) = me.rel(base_seq.wrapping_add(data_start)) {
                me.fin_rel = Some(r + u64::from(len));
            }
        }

        // Data of this segment.
        if len > 0 && me.state != EndpointState::Inactive {
            let data_seq = base_seq.wrapping_add(u32::from(syn));
            if let Some(pos) = me.rel(data_seq) {
                me.stream
                    .segment(pos, seg.payload, limits, budget, &mut |c| out(from_orig, c));
            }
        }

        // The acknowledgement may reveal a hole in the peer's stream.
        if ack && !matches!(peer.state, EndpointState::Inactive) {
            if let Some(mut pos) = peer.rel(seg.ack) {
                if let Some(f) = peer.fin_rel {
                    pos = pos.min(f);
                }
                if pos > peer.stream.next() && pos <= peer.last_rel.max(peer.ack_rel) + 1 {
                    let peer_is_orig = !from_orig;
                    let missing = peer
                        .stream
                        .acked(pos, limits, budget, &mut |c| out(peer_is_orig, c));
                    if missing > 0 && peer.gap.bump() {
                        history.add(peer_is_orig, b'G');
                    }
                }
            }
        }
        verdict
    }

    /// End of the connection: hand on what is still buffered, holes reported as gaps.
    pub fn finish(
        &mut self,
        limits: &StreamLimits,
        budget: &mut MemBudget,
        out: &mut dyn FnMut(bool, Chunk<'_>),
    ) {
        for (i, side) in self.sides.iter_mut().enumerate() {
            let orig = i == 0;
            side.stream.flush(limits, budget, &mut |c| out(orig, c));
            side.stream.release(budget);
        }
    }

    /// Zeek's `conn_state` code.
    pub fn conn_state(&self, history: &History) -> &'static str {
        use EndpointState::*;
        let os = self.sides[0].state;
        let rs = self.sides[1].state;
        let o_inactive = matches!(os, Inactive | Partial);
        let r_inactive = matches!(rs, Inactive | Partial);
        if rs == Reset {
            if matches!(os, SynSent | SynAckSent)
                || (os == Reset && self.size(true) == 0 && self.size(false) == 0)
            {
                "REJ"
            } else if o_inactive {
                "RSTRH"
            } else {
                "RSTR"
            }
        } else if os == Reset {
            if r_inactive {
                if rst_after_syn_only(history.as_str()) {
                    "RSTOS0"
                } else {
                    "OTH"
                }
            } else {
                "RSTO"
            }
        } else if rs == Closed && os == Closed {
            "SF"
        } else if os == Closed {
            if r_inactive {
                "SH"
            } else {
                "S2"
            }
        } else if rs == Closed {
            if o_inactive {
                "SHR"
            } else {
                "S3"
            }
        } else if os == SynSent && rs == Inactive {
            "S0"
        } else if os == Established && rs == Established {
            "S1"
        } else {
            "OTH"
        }
    }
}

/// Zeek's `/\^?S[^HAFGIQ]*R.*/` on the history: a SYN, then a RST with nothing in between
/// that shows an established connection.
fn rst_after_syn_only(h: &str) -> bool {
    let h = h.strip_prefix('^').unwrap_or(h);
    let Some(rest) = h.strip_prefix('S') else {
        return false;
    };
    for c in rest.chars() {
        match c {
            'R' => return true,
            'H' | 'A' | 'F' | 'G' | 'I' | 'Q' => return false,
            _ => {}
        }
    }
    false
}

/// Zeek's `init_endpoint`: sequence numbers on an endpoint's first packet, or on a SYN that
/// restarts it.
fn init_side(me: &mut Side, syn: bool, base_seq: u32, one_past: u32) {
    use EndpointState::*;
    match me.state {
        Inactive => {
            if syn {
                me.init_seqs(base_seq, one_past);
            } else {
                // Partial connection: number as though a SYN had been seen.
                me.init_seqs(base_seq.wrapping_sub(1), base_seq);
            }
        }
        SynSent | SynAckSent => {
            if syn && base_seq != me.start_seq {
                me.init_seqs(base_seq, one_past);
            }
        }
        Established | Partial => {
            if syn {
                me.init_seqs(base_seq, one_past);
            }
        }
        Reset => {
            if syn && me.prev_state == Inactive {
                me.init_seqs(base_seq, one_past);
            }
        }
        Closed => {}
    }
}

#[allow(clippy::too_many_arguments)]
fn update_history(
    h: &mut History,
    orig: bool,
    me: &mut Side,
    syn: bool,
    fin: bool,
    rst: bool,
    ack: bool,
    rel_seq: u32,
    len: u32,
) {
    let bits = u32::from(syn) + u32::from(fin) + u32::from(rst);
    if bits > 1 {
        if fin && rst {
            h.check(orig, Mark::FinRst);
        } else {
            h.check(orig, Mark::MultiFlag);
        }
    } else if bits == 1 {
        if syn {
            let mark = if ack { Mark::SynAck } else { Mark::Syn };
            if h.check(orig, mark) && rel_seq != me.hist_last_syn {
                h.add(orig, if ack { b'H' } else { b'S' });
            }
            me.hist_last_syn = rel_seq;
        }
        if fin {
            let at = rel_seq.wrapping_add(len);
            if h.check(orig, Mark::Fin) && at != me.hist_last_fin {
                h.add(orig, b'F');
            }
            me.hist_last_fin = at;
        }
        if rst {
            if h.check(orig, Mark::Rst) && rel_seq != me.hist_last_rst {
                h.add(orig, b'R');
            }
            me.hist_last_rst = rel_seq;
        }
    } else if len > 0 {
        h.check(orig, Mark::Data);
    } else if ack {
        h.check(orig, Mark::Ack);
    }
}

/// Zeek's `update_last_seq`; counts retransmissions (`T`).
#[allow(clippy::too_many_arguments)]
fn update_last_seq(
    me: &mut Side,
    h: &mut History,
    orig: bool,
    last: u32,
    syn: bool,
    fin: bool,
    rst: bool,
    len: u32,
) -> i32 {
    let delta = seq_delta(last, me.last_seq);
    if (syn || rst) && !(-TOO_LARGE_SEQ_DELTA..=TOO_LARGE_SEQ_DELTA).contains(&delta) {
        // untrusted jump
    } else if fin && me.last_seq == me.start_seq.wrapping_add(1) {
        me.update_last_seq(last);
    } else if me.state == EndpointState::Reset {
        // nothing after a RST is trusted
    } else if delta > 0 {
        me.update_last_seq(last);
    } else if len > 0 && me.rxmit.bump() {
        h.add(orig, b'T');
    }
    delta
}

/// Zeek's endpoint state machine.
#[allow(clippy::too_many_arguments)]
fn update_state(
    me: &mut Side,
    peer: &mut Side,
    from_orig: bool,
    syn: bool,
    fin: bool,
    rst: bool,
    ack: bool,
    len: u32,
    _delta_last: i32,
) -> Verdict {
    use EndpointState::*;
    let mut v = Verdict::default();
    match me.state {
        Inactive => {
            if syn {
                if from_orig {
                    me.set_state(if ack { SynAckSent } else { SynSent });
                } else {
                    if peer.state == SynSent {
                        peer.set_state(Established);
                    }
                    me.set_state(Established);
                }
            }
            if fin {
                me.set_state(Closed);
                v.closed = true;
            }
            if rst {
                me.set_state(Reset);
                v.closed = true;
            }
            if me.state == Inactive {
                let eccentric_ack = !from_orig && len == 0 && peer.state == SynSent;
                if !eccentric_ack {
                    me.set_state(Partial);
                }
            }
        }
        SynSent | SynAckSent => {
            if fin {
                me.set_state(Closed);
                v.closed = true;
            }
            if rst {
                me.set_state(Reset);
                v.closed = true;
            }
        }
        Established | Partial => {
            if syn && me.state == Partial && peer.state == Inactive && !ack {
                me.set_state(SynSent);
            }
            if fin && !rst {
                me.set_state(Closed);
                if peer.state == Reset && peer.prev_state == Closed {
                    peer.set_state(Closed);
                }
                v.closed = true;
            }
            if rst {
                me.set_state(Reset);
                v.closed = true;
            }
        }
        Closed => {
            if rst && peer.state != Closed {
                me.set_state(Reset);
                v.closed = true;
            }
        }
        Reset => {}
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: StreamLimits = StreamLimits {
        depth: 0,
        max_buffered: 1 << 20,
    };

    struct Conn {
        tcp: TcpSession,
        h: History,
        b: MemBudget,
        data: [Vec<u8>; 2],
    }

    impl Conn {
        fn new() -> Self {
            Conn {
                tcp: TcpSession::default(),
                h: History::default(),
                b: MemBudget::new(1 << 20),
                data: [Vec::new(), Vec::new()],
            }
        }
        fn pkt(&mut self, orig: bool, flags: u8, seq: u32, ack: u32, payload: &[u8]) {
            let seg = TcpSegment {
                sport: 1,
                dport: 2,
                seq,
                ack,
                flags,
                window: 1000,
                payload,
                len: u32::try_from(payload.len()).unwrap_or(0),
            };
            let data = &mut self.data;
            self.tcp.packet(
                orig,
                &seg,
                &mut self.h,
                &LIMITS,
                &mut self.b,
                &mut |o, c| {
                    if let Chunk::Data(d) = c {
                        data[usize::from(!o)].extend_from_slice(d)
                    }
                },
            );
        }
    }

    use tcp_flags::{ACK, FIN, PSH, RST, SYN};

    #[test]
    fn full_handshake_data_and_close() {
        let mut c = Conn::new();
        c.pkt(true, SYN, 100, 0, b"");
        c.pkt(false, SYN | ACK, 500, 101, b"");
        c.pkt(true, ACK, 101, 501, b"");
        c.pkt(true, ACK | PSH, 101, 501, b"GET /");
        c.pkt(false, ACK | PSH, 501, 106, b"HTTP/1.1 200");
        c.pkt(true, FIN | ACK, 106, 513, b"");
        c.pkt(false, FIN | ACK, 513, 107, b"");
        c.pkt(true, ACK, 107, 514, b"");
        assert_eq!(c.h.as_str(), "ShADdFf");
        assert_eq!(c.tcp.conn_state(&c.h), "SF");
        assert_eq!(c.tcp.size(true), 5);
        assert_eq!(c.tcp.size(false), 12);
        assert_eq!(c.data[0], b"GET /");
        assert_eq!(c.data[1], b"HTTP/1.1 200");
        assert_eq!(c.tcp.missed_bytes(), 0);
    }

    #[test]
    fn unanswered_syn_is_s0_and_rejected_is_rej() {
        let mut c = Conn::new();
        c.pkt(true, SYN, 1, 0, b"");
        assert_eq!(c.tcp.conn_state(&c.h), "S0");
        c.pkt(false, RST | ACK, 0, 2, b"");
        assert_eq!(c.tcp.conn_state(&c.h), "REJ");
        assert_eq!(c.h.as_str(), "Sr");
    }

    #[test]
    fn retransmission_is_t() {
        let mut c = Conn::new();
        c.pkt(true, SYN, 1, 0, b"");
        c.pkt(false, SYN | ACK, 9, 2, b"");
        c.pkt(true, ACK, 2, 10, b"abc");
        c.pkt(true, ACK, 2, 10, b"abc");
        assert_eq!(c.h.as_str(), "ShDT");
        assert_eq!(c.data[0], b"abc");
    }

    #[test]
    fn acked_unseen_data_counts_as_size_and_missed() {
        let mut c = Conn::new();
        c.pkt(true, SYN, 1, 0, b"");
        c.pkt(false, SYN | ACK, 9, 2, b"");
        c.pkt(true, ACK, 2, 10, b"");
        // the responder's 100 bytes are never seen, but acknowledged
        c.pkt(true, ACK, 2, 110, b"");
        assert_eq!(c.tcp.size(false), 100);
        assert_eq!(c.tcp.missed_bytes(), 100);
        assert!(c.h.as_str().contains('g'));
    }

    #[test]
    fn rst_after_syn_only() {
        assert!(super::rst_after_syn_only("SR"));
        assert!(super::rst_after_syn_only("^SdR"));
        assert!(super::rst_after_syn_only("ShR"));
        assert!(!super::rst_after_syn_only("SAR"));
        assert!(!super::rst_after_syn_only("DR"));
    }
}
