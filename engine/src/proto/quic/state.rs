//! Per-flow QUIC state: the Initial packets of both sides decrypted, their CRYPTO frames put
//! back in order, and the TLS handshake messages inside handed to the TLS machinery (so a QUIC
//! connection gets its `ssl.log` row: server name, cipher, curve).

use std::collections::BTreeMap;

use super::parser::{self, InitialKeys, PacketType};
use super::QuicRecord;
use crate::event::EventKind;
use crate::proto::tls::TlsState;
use crate::proto::Ctx;

/// Crypto-stream bytes assembled per direction at most.
const MAX_CRYPTO: u64 = 64 * 1024;
/// History letters kept at most.
const MAX_HISTORY: usize = 100;

/// One direction's crypto stream.
#[derive(Debug, Default)]
struct CryptoStream {
    /// Bytes in order from offset 0 not yet consumed as handshake messages.
    ready: Vec<u8>,
    /// Offset of the end of `ready` in the stream.
    next: u64,
    /// Pieces ahead of `next`.
    ahead: BTreeMap<u64, Vec<u8>>,
}

impl CryptoStream {
    fn add(&mut self, offset: u64, data: &[u8]) {
        let end = offset.saturating_add(data.len() as u64);
        if end <= self.next || end > MAX_CRYPTO {
            return;
        }
        if offset > self.next {
            self.ahead.entry(offset).or_insert_with(|| data.to_vec());
            return;
        }
        let skip = usize::try_from(self.next - offset).unwrap_or(usize::MAX);
        if let Some(fresh) = data.get(skip..) {
            self.ready.extend_from_slice(fresh);
            self.next = end;
        }
        while let Some(entry) = self.ahead.first_entry() {
            let k = *entry.key();
            if k > self.next {
                break;
            }
            let v = entry.remove();
            let vend = k + v.len() as u64;
            if vend > self.next {
                let skip = usize::try_from(self.next - k).unwrap_or(usize::MAX);
                if let Some(fresh) = v.get(skip..) {
                    self.ready.extend_from_slice(fresh);
                    self.next = vend;
                }
            }
        }
    }

    /// Bytes held.
    fn held(&self) -> usize {
        self.ready.len() + self.ahead.values().map(Vec::len).sum::<usize>()
    }

    /// Takes the complete handshake messages available.
    fn messages(&mut self) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut at = 0;
        while let Some(h) = self.ready.get(at..at + 4) {
            let len = (usize::from(h[1]) << 16) | (usize::from(h[2]) << 8) | usize::from(h[3]);
            let Some(m) = self.ready.get(at..at + 4 + len) else {
                break;
            };
            out.push(m.to_vec());
            at += 4 + len;
        }
        self.ready.drain(..at.min(self.ready.len()));
        out
    }
}

/// QUIC state of one flow.
#[derive(Debug)]
pub(crate) struct QuicState {
    rec: QuicRecord,
    keys: [Option<InitialKeys>; 2],
    crypto: [CryptoStream; 2],
    tls: TlsState,
    /// An Initial packet decrypted (confirms the protocol).
    pub confirmed: bool,
    /// The server sent a Retry: the client's next Initial uses new keys.
    retried: bool,
    /// Memory held beyond the free allowance.
    pub charge: crate::proto::cache::Charge,
    /// An Initial that did not decrypt was reported.
    undecryptable: bool,
}

/// Whether a datagram opening a UDP flow looks like a QUIC client Initial.
pub fn looks_like_initial(payload: &[u8]) -> bool {
    match parser::long_header(payload) {
        Some((h, _)) => h.kind == PacketType::Initial && parser::known_version(h.version),
        None => false,
    }
}

impl QuicState {
    pub fn new(ctx: &Ctx<'_>) -> Self {
        QuicState {
            rec: QuicRecord::empty(ctx.flow.clone(), ctx.ts),
            keys: [None, None],
            crypto: [CryptoStream::default(), CryptoStream::default()],
            tls: TlsState::new(ctx, true),
            confirmed: false,
            retried: false,
            charge: crate::proto::cache::Charge::default(),
            undecryptable: false,
        }
    }

    /// Whether the TLS handshake inside was recognised.
    pub fn tls_confirmed(&self) -> bool {
        self.tls.confirmed
    }

    fn letter(&mut self, d: usize, upper: u8) {
        if self.rec.history.len() < MAX_HISTORY {
            let l = if d == 0 {
                upper
            } else {
                upper.to_ascii_lowercase()
            };
            self.rec.history.push(char::from(l));
        }
    }

    /// A UDP datagram (possibly several coalesced packets).
    pub fn datagram(&mut self, ctx: &mut Ctx<'_>, from_orig: bool, payload: &[u8]) {
        let d = usize::from(!from_orig);
        let mut rest = payload;
        let mut packets = 0;
        while let Some(&first) = rest.first() {
            packets += 1;
            if packets > 16 {
                break;
            }
            if first & 0x80 == 0 {
                self.letter(d, b'O');
                break;
            }
            let Some((h, next)) = parser::long_header(rest) else {
                break;
            };
            if !parser::known_version(h.version) {
                self.letter(d, b'U');
                break;
            }
            match h.kind {
                PacketType::Initial => {
                    self.letter(d, b'I');
                    self.initial(ctx, d, &h);
                }
                PacketType::Handshake => self.letter(d, b'H'),
                PacketType::ZeroRtt => self.letter(d, b'Z'),
                PacketType::Retry => {
                    self.letter(d, b'R');
                    self.retried = true;
                }
            }
            rest = next;
        }
    }

    fn initial(&mut self, ctx: &mut Ctx<'_>, d: usize, h: &parser::LongHeader<'_>) {
        if d == 0 && (self.rec.client_initial_dcid.is_none() || self.retried) {
            if self.rec.client_initial_dcid.is_none() {
                self.rec.client_initial_dcid = Some(h.dcid.to_vec());
                self.rec.client_scid = Some(h.scid.to_vec());
                self.rec.version = Some(h.version);
            }
            self.retried = false;
            self.keys = [
                InitialKeys::derive(h.version, h.dcid, true),
                InitialKeys::derive(h.version, h.dcid, false),
            ];
        }
        if d == 1 && self.rec.server_scid.is_none() {
            self.rec.server_scid = Some(h.scid.to_vec());
        }
        let Some(plain) = self.keys[d].as_ref().and_then(|k| k.open(h)) else {
            if !self.undecryptable {
                self.undecryptable = true;
                ctx.anomaly("quic", "initial_not_decryptable");
            }
            return;
        };
        self.confirmed = true;
        let frames = parser::frames(&plain);
        for f in &frames.crypto {
            let held = self.crypto[0].held() + self.crypto[1].held() + f.data.len();
            if !self.charge.ensure(held, &mut ctx.cache.budget) {
                return;
            }
            self.crypto[d].add(f.offset, &f.data);
        }
        for msg in self.crypto[d].messages() {
            let hello = matches!(msg.first(), Some(1) | Some(2));
            self.tls.handshake(ctx, d, &msg);
            if hello {
                self.letter(d, b'S');
                let t = self.tls.record();
                if d == 0 {
                    self.rec.server_name.clone_from(&t.server_name);
                    self.rec.client_protocol = t
                        .client_hello
                        .as_ref()
                        .and_then(|c| c.alpn().next())
                        .map(crate::text::escape_bytes);
                    self.rec.ja3.clone_from(&t.ja3);
                    self.rec.ja3_string.clone_from(&t.ja3_string);
                    self.rec.ja4.clone_from(&t.ja4);
                } else {
                    self.rec.ja3s.clone_from(&t.ja3s);
                    self.rec.ja3s_string.clone_from(&t.ja3s_string);
                }
            }
        }
        if frames.close {
            self.letter(d, b'C');
        }
    }

    /// The flow ends: the QUIC and TLS records are logged.
    pub fn finish(&mut self, ctx: &mut Ctx<'_>) {
        if !self.confirmed {
            return;
        }
        self.tls.finish(ctx);
        let rec = self.rec.clone();
        ctx.emit(rec.ts, EventKind::Quic(Box::new(rec)));
    }
}
