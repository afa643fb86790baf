//! Per-flow TLS state: records reassembled across segments, handshake messages reassembled
//! across records, the session's facts gathered as Zeek's SSL analyzer does (`ssl_history`,
//! `established` once both sides are encrypted and ciphertext flows), certificates logged as
//! they come. QUIC feeds its CRYPTO-frame handshake messages into the same machinery.

use super::parser::{self, content, hs};
use std::sync::Arc;

use super::{names, TlsRecord, X509Record};
use crate::event::EventKind;
use crate::proto::Ctx;
use crate::tcp::Chunk;
use crate::text::escape_bytes;

/// Record bytes buffered per direction at most (one record and a header).
const MAX_BUFFER: usize = parser::MAX_RECORD + 5;

#[derive(Debug, Default)]
struct Side {
    /// Record bytes not yet complete.
    buf: Vec<u8>,
    /// Handshake bytes not yet a complete message.
    hs: Vec<u8>,
    /// This direction is not TLS (or was lost).
    failed: bool,
    /// Records after a ChangeCipherSpec (or TLS 1.3 application data) are ciphertext.
    encrypted: bool,
    /// A ciphertext record whose body is still arriving: it is skipped, not buffered, and
    /// handled (its content type only) once complete.
    skip: Option<Skip>,
}

/// The rest of a ciphertext record being skipped.
#[derive(Debug)]
struct Skip {
    /// Its content type.
    kind: u8,
    /// Body bytes still to come.
    left: usize,
}

/// TLS state of one flow.
#[derive(Debug)]
pub(crate) struct TlsState {
    sides: [Side; 2],
    rec: TlsRecord,
    /// A hello was parsed (confirms the protocol).
    pub confirmed: bool,
    tls13: bool,
    logged: bool,
    /// The handshake's end was seen and logged: the rest is not looked at.
    pub done: bool,
    /// Memory held beyond the free allowance.
    pub charge: crate::proto::cache::Charge,
}

impl TlsState {
    pub fn new(ctx: &Ctx<'_>, quic: bool) -> Self {
        TlsState {
            sides: [Side::default(), Side::default()],
            rec: TlsRecord::empty(ctx.flow.clone(), ctx.ts, quic),
            confirmed: false,
            tls13: false,
            logged: false,
            done: false,
            charge: crate::proto::cache::Charge::default(),
        }
    }

    /// The session record so far, until the session is logged: the record then goes out
    /// with the event, and what is left here is empty.
    pub fn record(&self) -> &TlsRecord {
        &self.rec
    }

    fn letter(&mut self, d: usize, upper: u8) {
        if self.rec.history.len() < 100 {
            let l = if d == 0 {
                upper
            } else {
                upper.to_ascii_lowercase()
            };
            self.rec.history.push(char::from(l));
        }
    }

    /// A piece of the TCP stream.
    pub fn stream(&mut self, ctx: &mut Ctx<'_>, from_orig: bool, chunk: Chunk<'_>) {
        let d = usize::from(!from_orig);
        if self.done || self.sides[d].failed {
            return;
        }
        let mut data = match chunk {
            Chunk::Data(data) => data,
            Chunk::Gap(_) => {
                self.sides[d].failed = true;
                return;
            }
        };
        if let Some(skip) = self.sides[d].skip.as_mut() {
            let n = skip.left.min(data.len());
            skip.left -= n;
            data = data.get(n..).unwrap_or(&[]);
            if skip.left > 0 {
                return;
            }
            let kind = skip.kind;
            self.sides[d].skip = None;
            self.on_record(ctx, d, kind, &[]);
            if self.done || data.is_empty() {
                return;
            }
        }
        let mut buf = std::mem::take(&mut self.sides[d].buf);
        let held = buf.len()
            + data.len()
            + self.sides[1 - d].buf.len()
            + self.sides[0].hs.len()
            + self.sides[1].hs.len();
        if !self.charge.ensure(held, &mut ctx.cache.budget) {
            self.sides[d].failed = true;
            ctx.anomaly("tls", "memcap");
            return;
        }
        if buf.is_empty() {
            // Nothing held back: the records are read from the segment itself, and only
            // an incomplete one at its end is copied.
            let at = self.records(ctx, d, data);
            if !self.done {
                buf.extend_from_slice(data.get(at..).unwrap_or(&[]));
            }
        } else {
            buf.extend_from_slice(data);
            let at = self.records(ctx, d, &buf);
            buf.drain(..at.min(buf.len()));
        }
        if buf.len() <= MAX_BUFFER && !self.done {
            self.sides[d].buf = buf;
        } else if !self.done {
            self.sides[d].failed = true;
            ctx.anomaly("tls", "record_too_large");
        }
    }

    /// Handles the complete records at the start of `input`; returns the bytes they took.
    fn records(&mut self, ctx: &mut Ctx<'_>, d: usize, input: &[u8]) -> usize {
        let mut at = 0;
        while let Some(h) = input.get(at..).and_then(parser::record_header) {
            let Ok(h) = h else {
                self.sides[d].failed = true;
                ctx.anomaly("tls", "invalid_record_header");
                break;
            };
            let Some(payload) = input.get(at + 5..at + 5 + h.len) else {
                if self.ciphertext(d, h.content_type) {
                    // Never read: the rest of its body is skipped as it arrives.
                    let have = input.len().saturating_sub(at + 5);
                    self.sides[d].skip = Some(Skip {
                        kind: h.content_type,
                        left: h.len.saturating_sub(have),
                    });
                    at = input.len();
                }
                break;
            };
            self.on_record(ctx, d, h.content_type, payload);
            at += 5 + h.len;
            if self.done {
                break;
            }
        }
        at
    }

    /// Whether a record of type `kind` from direction `d` is ciphertext, whose body is
    /// never read (a ChangeCipherSpec is always read). Once true for a direction it stays
    /// true: `encrypted` and `tls13` are never unset.
    fn ciphertext(&self, d: usize, kind: u8) -> bool {
        (self.sides[d].encrypted || (self.tls13 && kind == content::APPDATA))
            && kind != content::CCS
    }

    fn on_record(&mut self, ctx: &mut Ctx<'_>, d: usize, kind: u8, payload: &[u8]) {
        if self.ciphertext(d, kind) {
            self.sides[d].encrypted = true;
            if self.sides[0].encrypted && self.sides[1].encrypted {
                self.rec.established = true;
                self.emit(ctx);
            }
            return;
        }
        match kind {
            content::CCS => {
                self.letter(d, b'I');
                self.sides[d].encrypted = true;
            }
            content::ALERT => {
                for a in payload.chunks_exact(2).take(8) {
                    self.letter(d, b'L');
                    self.rec.last_alert = Some(a[1]);
                }
            }
            content::HEARTBEAT => self.letter(d, b'B'),
            content::HANDSHAKE => {
                let mut hsbuf = std::mem::take(&mut self.sides[d].hs);
                let held = hsbuf.len()
                    + payload.len()
                    + self.sides[0].buf.len()
                    + self.sides[1].buf.len()
                    + self.sides[1 - d].hs.len();
                if !self.charge.ensure(held, &mut ctx.cache.budget) {
                    self.sides[d].failed = true;
                    ctx.anomaly("tls", "memcap");
                    return;
                }
                if hsbuf.is_empty() {
                    // Nothing held back: the messages are read from the record itself, and
                    // only an incomplete one at its end is copied.
                    let Some(at) = self.handshake_messages(ctx, d, payload) else {
                        return;
                    };
                    hsbuf.extend_from_slice(payload.get(at..).unwrap_or(&[]));
                } else {
                    hsbuf.extend_from_slice(payload);
                    let Some(at) = self.handshake_messages(ctx, d, &hsbuf) else {
                        return;
                    };
                    hsbuf.drain(..at.min(hsbuf.len()));
                }
                self.sides[d].hs = hsbuf;
            }
            _ => {}
        }
    }

    /// Handles the complete handshake messages at the start of `input`; returns the bytes
    /// they took, or `None` when a message claims more than a handshake message may hold
    /// (the direction is then given up).
    fn handshake_messages(&mut self, ctx: &mut Ctx<'_>, d: usize, input: &[u8]) -> Option<usize> {
        let mut at = 0;
        while let Some(hdr) = input.get(at..at + 4) {
            let len =
                (usize::from(hdr[1]) << 16) | (usize::from(hdr[2]) << 8) | usize::from(hdr[3]);
            if len > parser::MAX_HANDSHAKE {
                self.sides[d].failed = true;
                ctx.anomaly("tls", "handshake_message_too_large");
                return None;
            }
            let Some(msg) = input.get(at..at + 4 + len) else {
                break;
            };
            self.handshake(ctx, d, msg);
            at += 4 + len;
        }
        Some(at)
    }

    /// One complete handshake message (4-byte header included) from direction `d`
    /// (0: client). QUIC calls this with its CRYPTO data.
    pub fn handshake(&mut self, ctx: &mut Ctx<'_>, d: usize, msg: &[u8]) {
        let Some(&t) = msg.first() else {
            return;
        };
        self.letter(d, names::history_letter(t));
        match t {
            hs::CLIENT_HELLO => {
                if let Some(ch) = parser::parse_client_hello(msg) {
                    self.confirmed = true;
                    if let Some(sni) = ch.sni() {
                        self.rec.server_name = Some(escape_bytes(sni));
                    }
                    let fp = ctx.cache.hellos.fingerprints(&ch, self.rec.quic);
                    self.rec.ja3 = Some(fp.ja3);
                    self.rec.ja3_string = Some(fp.ja3_string);
                    self.rec.ja4 = Some(fp.ja4);
                    self.rec.client_hello = Some(ch);
                    self.inspect(ctx, d);
                }
            }
            hs::SERVER_HELLO => {
                if let Some(sh) = parser::parse_server_hello(msg) {
                    self.confirmed = true;
                    let version = sh.selected_version.unwrap_or(sh.version);
                    self.tls13 = version == 0x0304 || version >> 8 == 0x7f;
                    self.rec.version = Some(version);
                    self.rec.cipher = Some(sh.cipher);
                    if let Some(g) = sh.key_share_group {
                        self.rec.curve = Some(g);
                    }
                    if let Some(p) = &sh.alpn {
                        self.rec.next_protocol = Some(escape_bytes(p));
                    }
                    let client_sid = self
                        .rec
                        .client_hello
                        .as_ref()
                        .map(|c| c.session_id())
                        .unwrap_or(&[]);
                    if sh.psk
                        || (!self.tls13
                            && !client_sid.is_empty()
                            && client_sid == sh.session_id.as_slice())
                    {
                        self.rec.resumed = true;
                    }
                    let (s, h) = parser::ja3s(&sh);
                    self.rec.ja3s = Some(h);
                    self.rec.ja3s_string = Some(s);
                    self.rec.server_hello = Some(sh);
                    self.inspect(ctx, d);
                }
            }
            hs::CERTIFICATE if !self.tls13 => {
                let chain = parser::certificates(msg);
                let client = d == 0;
                for (depth, der) in chain.iter().enumerate() {
                    let (der, info) = ctx.cache.cert(der);
                    ctx.emit(
                        ctx.ts,
                        EventKind::X509(Box::new(X509Record {
                            flow: ctx.flow.clone(),
                            ts: ctx.ts,
                            cert: Arc::clone(&info),
                            depth,
                            host_cert: !client && depth == 0,
                            client_cert: client,
                            der,
                        })),
                    );
                    if client {
                        self.rec.client_certs.push(info);
                    } else {
                        self.rec.certs.push(info);
                    }
                }
                if !client && !chain.is_empty() {
                    self.inspect(ctx, d);
                }
            }
            hs::SERVER_KEY_EXCHANGE => {
                let ecdhe = self
                    .rec
                    .cipher
                    .is_some_and(|c| names::cipher(c).contains("ECDH"));
                if ecdhe {
                    if let Some(c) = msg.get(4..).and_then(parser::ske_curve) {
                        self.rec.curve = Some(c);
                    }
                }
            }
            _ => {}
        }
    }

    /// Runs the rules over the session so far (one transaction), after a message from
    /// direction `d` (0: client).
    fn inspect(&self, ctx: &mut Ctx<'_>, d: usize) {
        use tcheck_rules::Buffer;
        let app = if self.rec.quic { "quic" } else { "tls" };
        if !ctx.inspects(app) {
            return;
        }
        let mut bufs = tcheck_rules::TxBuffers::default();
        let rec = &self.rec;
        if let Some(sni) = rec.client_hello.as_ref().and_then(|c| c.sni()) {
            bufs.push(
                if rec.quic {
                    Buffer::QuicSni
                } else {
                    Buffer::TlsSni
                },
                sni,
            );
        }
        if let Some(h) = &rec.ja3 {
            bufs.push(Buffer::Ja3Hash, h.as_bytes());
        }
        if let Some(h) = &rec.ja4 {
            bufs.push(Buffer::Ja4Hash, h.as_bytes());
        }
        if let Some(h) = &rec.ja3s {
            bufs.push(Buffer::Ja3sHash, h.as_bytes());
        }
        if let Some(c) = rec.certs.first().filter(|c| c.parsed) {
            bufs.push(Buffer::TlsCertSubject, c.subject_eve.as_bytes());
            bufs.push(Buffer::TlsCertIssuer, c.issuer_eve.as_bytes());
            bufs.push(
                Buffer::TlsCertSerial,
                super::log::colon_hex(&c.serial_der, true).into_bytes(),
            );
        }
        if let Some(c) = rec.certs.first() {
            bufs.push(
                Buffer::TlsCertFingerprint,
                super::log::colon_hex(&c.sha1, false).into_bytes(),
            );
        }
        ctx.inspect_tx(app, 0, d == 0, &[], &bufs, &mut || {
            (!rec.quic).then(|| crate::detect::tls_app(rec))
        });
    }

    fn emit(&mut self, ctx: &mut Ctx<'_>) {
        if self.logged {
            return;
        }
        self.logged = true;
        self.done = true;
        // Moved out, not cloned: nothing reads the record once the session is logged, and
        // the clone (hello, certificates, fingerprints) was 22,960 of the TLS parser's
        // 100,239 allocations on the 22 MB benchmark capture.
        let empty = TlsRecord::empty(self.rec.flow.clone(), self.rec.ts, self.rec.quic);
        let rec = std::mem::replace(&mut self.rec, empty).finish();
        ctx.emit(rec.ts, EventKind::Tls(Box::new(rec)));
    }

    /// The flow ends: the session is logged if it was not yet.
    pub fn finish(&mut self, ctx: &mut Ctx<'_>) {
        if self.confirmed || !self.rec.history.is_empty() {
            self.emit(ctx);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fuzzing::Detached;

    /// A ciphertext record spread over several segments is skipped, never buffered, and
    /// counts when its last byte arrives: the session is established then, not when its
    /// header came.
    #[test]
    fn ciphertext_records_are_skipped_until_complete() {
        let mut run = Detached::new(6, 443);
        let mut ctx = run.ctx();
        let mut tls = TlsState::new(&ctx, false);
        let ccs = [content::CCS, 3, 3, 0, 1, 1];
        tls.stream(&mut ctx, false, Chunk::Data(&ccs));
        let mut record = vec![content::APPDATA, 3, 3, 0x27, 0x10];
        record.extend(std::iter::repeat_n(0xaa, 10_000));
        let (first, rest) = record.split_at(3_005);
        let (second, third) = rest.split_at(5_000);
        tls.stream(&mut ctx, false, Chunk::Data(first));
        tls.stream(&mut ctx, false, Chunk::Data(second));
        assert!(tls.sides[1].buf.is_empty());
        assert_eq!(tls.sides[1].skip.as_ref().map(|s| s.left), Some(2_000));
        tls.stream(&mut ctx, true, Chunk::Data(&ccs));
        assert!(!tls.done, "established only once the record is complete");
        tls.stream(&mut ctx, false, Chunk::Data(third));
        assert!(tls.sides[1].skip.is_none());
        assert!(tls.done);
        let logged = run.records(|k| match k {
            EventKind::Tls(t) => Some(&**t),
            _ => None,
        });
        assert_eq!(logged.len(), 1);
        assert!(logged[0].established);
        assert_eq!(logged[0].history, "iI");
    }
}
