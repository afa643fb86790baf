//! Per-flow HTTP/1.x state: requests and responses in both directions, pipelining (responses
//! answer requests in order), bodies by Content-Length, chunked encoding or connection
//! close, `100 Continue`, and the switch to a tunnel after `CONNECT` (2xx) or
//! `101 Switching Protocols`.

use std::collections::VecDeque;

use base64::Engine as _;

use super::inspect;
use super::parser::{self, Chunked, Head};
use super::HttpRecord;
use crate::event::EventKind;
use crate::proto::Ctx;
use crate::tcp::Chunk;
use crate::text::escape_bytes;

/// Largest message head accepted.
const MAX_HEAD: usize = 64 * 1024;
/// Transactions waiting for their response, at most.
const MAX_PENDING: usize = 64;
/// Bytes of each body kept for inspection.
pub const BODY_KEEP: usize = 16 * 1024;

/// Headers Zeek reports in `proxied`.
const PROXY_HEADERS: [&str; 7] = [
    "FORWARDED",
    "X-FORWARDED-FOR",
    "X-FORWARDED-FROM",
    "CLIENT-IP",
    "VIA",
    "XROXY-CONNECTION",
    "PROXY-CONNECTION",
];

#[derive(Debug, Default)]
enum Body {
    /// No body in progress.
    #[default]
    None,
    /// This many bytes left.
    Length(u64),
    /// Chunked, with the unconsumed tail of a line.
    Chunked(Chunked, Vec<u8>),
    /// Until the connection closes.
    UntilClose,
}

/// Decompressed bytes counted per body at most (a bound on decompression bombs).
const MAX_INFLATED: u64 = 64 << 20;

/// A body's content decoding (`Content-Encoding: gzip` or `deflate`).
enum Inflate {
    Gzip(flate2::write::GzDecoder<Vec<u8>>),
    Zlib(flate2::write::ZlibDecoder<Vec<u8>>),
}

impl std::fmt::Debug for Inflate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Inflate::Gzip(_) => "Gzip",
            Inflate::Zlib(_) => "Zlib",
        })
    }
}

impl Inflate {
    fn for_head(head: &Head) -> Option<Box<Self>> {
        if head.has_token("content-encoding", "gzip")
            || head.has_token("content-encoding", "x-gzip")
        {
            Some(Box::new(Inflate::Gzip(flate2::write::GzDecoder::new(
                Vec::new(),
            ))))
        } else if head.has_token("content-encoding", "deflate") {
            Some(Box::new(Inflate::Zlib(flate2::write::ZlibDecoder::new(
                Vec::new(),
            ))))
        } else {
            None
        }
    }

    /// Feeds compressed bytes; returns the decompressed ones, or `None` if the data is not
    /// what the header said. The decoder is flushed after each write: flate2's writers
    /// hand a write's output to the inner buffer only at the next write, so without it
    /// a body's last piece came out only at [`Self::finish`], and a body that ends with the
    /// connection (or is cut short) lost it.
    fn feed(&mut self, data: &[u8]) -> Option<Vec<u8>> {
        use std::io::Write;
        let out = match self {
            Inflate::Gzip(d) => {
                d.write_all(data).ok()?;
                d.flush().ok()?;
                std::mem::take(d.get_mut())
            }
            Inflate::Zlib(d) => {
                d.write_all(data).ok()?;
                d.flush().ok()?;
                std::mem::take(d.get_mut())
            }
        };
        Some(out)
    }

    /// Ends the stream: what the decoder still holds.
    fn finish(&mut self) -> Vec<u8> {
        match self {
            Inflate::Gzip(d) => {
                let _ = d.try_finish();
                std::mem::take(d.get_mut())
            }
            Inflate::Zlib(d) => {
                let _ = d.try_finish();
                std::mem::take(d.get_mut())
            }
        }
    }
}

/// One direction of the conversation.
#[derive(Debug, Default)]
struct Side {
    /// Head bytes gathered so far.
    head: Vec<u8>,
    body: Body,
    /// Content decoding of the body in progress.
    inflate: Option<Box<Inflate>>,
    /// Decompressed bytes of the body in progress.
    inflated: u64,
    /// The stream is unusable (gap in a head, oversized head, not HTTP).
    failed: bool,
}

/// A transaction in progress.
#[derive(Debug)]
struct Tx {
    rec: HttpRecord,
    request_done: bool,
    response_done: bool,
    /// The heads as sent, kept for the rules when rules inspect HTTP.
    request_head: Option<Box<Head>>,
    response_head: Option<Box<Head>>,
}

/// What the HTTP state asks of the dispatcher.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Next {
    /// Keep feeding HTTP.
    Continue,
    /// The connection became a tunnel (CONNECT or Upgrade); these bytes of the current piece
    /// already belong to it.
    Tunnel(Vec<u8>),
}

/// HTTP state of one flow.
#[derive(Debug, Default)]
pub(crate) struct HttpState {
    sides: [Side; 2],
    txs: VecDeque<Tx>,
    depth: u32,
    /// A request or response head parsed (confirms the protocol).
    pub confirmed: bool,
    tunnel: bool,
    /// Memory held beyond the free allowance.
    pub charge: crate::proto::cache::Charge,
}

fn lossy_opt(v: Option<&[u8]>) -> Option<String> {
    v.map(escape_bytes)
}

fn basic_user(auth: &[u8]) -> Option<String> {
    let rest = auth
        .strip_prefix(b"Basic ")
        .or_else(|| auth.strip_prefix(b"basic "))?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(rest.trim_ascii())
        .ok()?;
    let user = decoded.split(|b| *b == b':').next()?;
    Some(escape_bytes(user))
}

impl HttpState {
    /// A piece of the stream in one direction.
    pub fn stream(&mut self, ctx: &mut Ctx<'_>, from_orig: bool, chunk: Chunk<'_>) -> Next {
        let d = usize::from(!from_orig);
        match chunk {
            Chunk::Gap(n) => {
                self.gap(d, n);
                Next::Continue
            }
            Chunk::Data(mut data) => {
                while !data.is_empty() && !self.sides[d].failed {
                    if self.tunnel {
                        return Next::Tunnel(data.to_vec());
                    }
                    let used = if matches!(self.sides[d].body, Body::None) {
                        self.head_bytes(ctx, d, data)
                    } else {
                        self.body_bytes(ctx, d, data)
                    };
                    data = data.get(used..).unwrap_or(&[]);
                    if used == 0 {
                        break;
                    }
                }
                if self.tunnel && !data.is_empty() {
                    return Next::Tunnel(data.to_vec());
                }
                Next::Continue
            }
        }
    }

    fn gap(&mut self, d: usize, n: u64) {
        let side = &mut self.sides[d];
        match &mut side.body {
            Body::Length(left) => {
                let skip = n.min(*left);
                *left -= skip;
                self.count_body(d, skip, &[]);
                if self.sides[d].body_is_done() {
                    self.body_finished(d);
                }
            }
            Body::UntilClose => self.count_body(d, n, &[]),
            _ => side.failed = true,
        }
    }

    /// Consumes head bytes; returns how many of `data` were used.
    fn head_bytes(&mut self, ctx: &mut Ctx<'_>, d: usize, data: &[u8]) -> usize {
        let held = self.sides[0].head.len() + self.sides[1].head.len() + data.len();
        if !self.charge.ensure(held, &mut ctx.cache.budget) {
            self.sides[d].failed = true;
            ctx.anomaly("http", "memcap");
            return data.len();
        }
        let side = &mut self.sides[d];
        let before = side.head.len();
        side.head.extend_from_slice(data);
        // Blank lines between messages (some clients send a CRLF after a body) are skipped.
        let lead = side
            .head
            .iter()
            .position(|b| *b != b'\r' && *b != b'\n')
            .unwrap_or(side.head.len());
        let Some(end) = side.head.get(lead..).and_then(parser::head_end) else {
            if side.head.len() > MAX_HEAD {
                side.failed = true;
                ctx.anomaly("http", "head_too_large");
            }
            return data.len();
        };
        let head_bytes = side.head.get(lead..lead + end).unwrap_or(&[]).to_vec();
        side.head.clear();
        let used = (lead + end).saturating_sub(before).min(data.len());
        let head = if d == 0 {
            parser::parse_request(&head_bytes)
        } else {
            parser::parse_response(&head_bytes)
        };
        let Some(head) = head else {
            self.sides[d].failed = true;
            ctx.anomaly("http", "malformed_head");
            return data.len();
        };
        self.confirmed = true;
        if d == 0 {
            self.request(ctx, head);
        } else {
            self.response(ctx, head);
        }
        used.max(1)
    }

    fn request(&mut self, ctx: &mut Ctx<'_>, head: Head) {
        let head_for_inflate = Head {
            headers: head
                .headers
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case(b"content-encoding"))
                .collect(),
            ..Head::default()
        };
        self.depth += 1;
        if self.txs.len() >= MAX_PENDING {
            if let Some(old) = self.txs.pop_front() {
                ctx.emit(old.rec.ts, EventKind::Http(Box::new(old.rec)));
            }
        }
        // Compared in place: an upper-case copy of every header's name cost two allocations
        // a header.
        let proxied: Vec<String> = head
            .headers
            .iter()
            .filter_map(|(n, v)| {
                PROXY_HEADERS
                    .iter()
                    .find(|p| n.eq_ignore_ascii_case(p.as_bytes()))
                    .map(|p| format!("{p} -> {}", escape_bytes(v)))
            })
            .collect();
        let body = if head.has_token("transfer-encoding", "chunked") {
            Body::Chunked(Chunked::default(), Vec::new())
        } else {
            match head.content_length() {
                Some(n) if n > 0 => Body::Length(n),
                _ => Body::None,
            }
        };
        let kept = ctx.inspects("http").then(|| Box::new(head.clone()));
        let rec = HttpRecord {
            flow: ctx.flow.clone(),
            ts: ctx.ts,
            trans_depth: self.depth,
            method: Some(escape_bytes(&head.method)),
            host: lossy_opt(head.header("host")),
            uri: Some(escape_bytes(&head.uri)),
            referrer: lossy_opt(head.header("referer")),
            version: Some(head.version.clone()),
            request_version: Some(head.version.clone()),
            user_agent: lossy_opt(head.header("user-agent")),
            origin: lossy_opt(head.header("origin")),
            username: head.header("authorization").and_then(basic_user),
            proxied,
            request_headers: head.headers,
            ..HttpRecord::empty(ctx.flow.clone(), ctx.ts)
        };
        let no_body = matches!(body, Body::None);
        self.sides[0].inflate = Inflate::for_head(&head_for_inflate);
        self.sides[0].inflated = 0;
        self.txs.push_back(Tx {
            rec,
            request_done: no_body,
            response_done: false,
            request_head: kept,
            response_head: None,
        });
        self.sides[0].body = body;
        self.inspect(ctx, self.txs.len() - 1, true, false);
    }

    /// Runs the rules over transaction `i` after its client (`from_orig`) or server spoke;
    /// `partial_bodies` offers bodies not yet complete (the connection ends).
    fn inspect(&self, ctx: &mut Ctx<'_>, i: usize, from_orig: bool, partial_bodies: bool) {
        use tcheck_rules::Buffer;
        if !ctx.inspects("http") {
            return;
        }
        let Some(tx) = self.txs.get(i) else {
            return;
        };
        let mut bufs = tcheck_rules::TxBuffers::default();
        if let Some(h) = tx.request_head.as_deref() {
            inspect::push_request(&mut bufs, h, from_orig);
        }
        if (tx.request_done || partial_bodies) && !tx.rec.request_body.is_empty() {
            bufs.push(Buffer::HttpRequestBody, tx.rec.request_body.as_slice());
        }
        if !from_orig {
            if let Some(h) = tx.response_head.as_deref() {
                inspect::push_response(&mut bufs, h);
            }
            if (tx.response_done || partial_bodies) && !tx.rec.response_body.is_empty() {
                bufs.push(Buffer::HttpResponseBody, tx.rec.response_body.as_slice());
                bufs.push(Buffer::FileData, tx.rec.response_body.as_slice());
            }
        }
        let id = u64::from(tx.rec.trans_depth.saturating_sub(1));
        ctx.inspect_tx("http", id, from_orig, &[], &bufs, &mut || {
            Some(crate::detect::http_app(&tx.rec))
        });
    }

    /// The transaction a response belongs to: the oldest without a final response.
    fn answering(&mut self) -> Option<&mut Tx> {
        self.txs.iter_mut().find(|t| !t.response_done)
    }

    fn response(&mut self, ctx: &mut Ctx<'_>, head: Head) {
        if self.answering().is_none() {
            // A response without a request (mid-stream pick-up, or a missed request).
            self.depth += 1;
            let mut rec = HttpRecord::empty(ctx.flow.clone(), ctx.ts);
            rec.trans_depth = self.depth;
            self.txs.push_back(Tx {
                rec,
                request_done: true,
                response_done: false,
                request_head: None,
                response_head: None,
            });
        }
        let Some(i) = self.txs.iter().position(|t| !t.response_done) else {
            return;
        };
        let Some(tx) = self.txs.get_mut(i) else {
            return;
        };
        let code = head.status;
        let reason = escape_bytes(&head.reason);
        match &head.status_text {
            Some(text) => tx.rec.status_string = Some(escape_bytes(text)),
            None => tx.rec.status_code = Some(code),
        }
        tx.rec.status_msg = Some(reason.clone());
        tx.rec.version = Some(head.version.clone());
        tx.rec.response_version = Some(head.version.clone());
        if (100..200).contains(&code) {
            tx.rec.info_code = Some(code);
            tx.rec.info_msg = Some(reason);
        }
        let method = tx.rec.method.clone().unwrap_or_default();
        let upgrade = code == 101;
        let connect_ok = method.eq_ignore_ascii_case("CONNECT") && (200..300).contains(&code);
        if (100..200).contains(&code) && !upgrade {
            // Interim response: the final one follows.
            return;
        }
        tx.rec.location = head.header("location").map(escape_bytes);
        let no_body = method.eq_ignore_ascii_case("HEAD")
            || upgrade
            || connect_ok
            || code == 204
            || code == 304
            || (100..200).contains(&code);
        let body = if no_body {
            Body::None
        } else if head.has_token("transfer-encoding", "chunked") {
            Body::Chunked(Chunked::default(), Vec::new())
        } else {
            match head.content_length() {
                Some(0) => Body::None,
                Some(n) => Body::Length(n),
                None => Body::UntilClose,
            }
        };
        if matches!(body, Body::None) {
            tx.response_done = true;
        }
        self.sides[1].inflate = if ctx.cache.no_response_decoding && !ctx.inspects("http") {
            None
        } else {
            Inflate::for_head(&head)
        };
        self.sides[1].inflated = 0;
        self.sides[1].body = body;
        if upgrade || connect_ok {
            self.tunnel = true;
        }
        // The head's headers go to the record: copied when the rules keep the head too.
        if ctx.inspects("http") {
            tx.rec.response_headers = head.headers.clone();
            tx.response_head = Some(Box::new(head));
            self.inspect(ctx, i, false, false);
        } else {
            tx.rec.response_headers = head.headers;
        }
        self.emit_done(ctx);
    }

    /// Consumes body bytes of direction `d`; returns how many were used.
    fn body_bytes(&mut self, ctx: &mut Ctx<'_>, d: usize, data: &[u8]) -> usize {
        let used = match &mut self.sides[d].body {
            Body::None => 0,
            Body::Length(left) => {
                let n = usize::try_from(*left).unwrap_or(usize::MAX).min(data.len());
                *left -= n as u64;
                let piece = &data[..n];
                self.count_body(d, n as u64, piece);
                n
            }
            Body::UntilClose => {
                self.count_body(d, data.len() as u64, data);
                data.len()
            }
            Body::Chunked(state, tail) => {
                let mut buf = std::mem::take(tail);
                let had = buf.len();
                buf.extend_from_slice(data);
                let step = state.feed(&buf);
                let broken = *state == Chunked::Broken;
                let mut pieces = Vec::new();
                for (a, b) in &step.body {
                    if let Some(p) = buf.get(*a..*b) {
                        pieces.push(p.to_vec());
                    }
                }
                let rest = buf.get(step.consumed..).unwrap_or(&[]).to_vec();
                let done = *state == Chunked::Done;
                if rest.len() <= 4096 && !done && !broken {
                    *tail = rest;
                }
                for p in pieces {
                    self.count_body(d, p.len() as u64, &p);
                }
                if broken {
                    self.sides[d].failed = true;
                    ctx.anomaly("http", "malformed_chunked_encoding");
                }
                if done {
                    // Bytes after the end belong to the next message.
                    (step.consumed.saturating_sub(had)).min(data.len())
                } else {
                    data.len()
                }
            }
        };
        if self.sides[d].body_is_done() {
            if let Some(i) = self.body_finished(d) {
                self.inspect(ctx, i, d == 0, false);
            }
            self.emit_done(ctx);
        }
        used
    }

    /// Counts `n` bytes of the body of direction `d` as sent (`bytes`: those of them that
    /// were captured), decoding its content when it is compressed.
    fn count_body(&mut self, d: usize, n: u64, bytes: &[u8]) {
        // Content decoding: lengths and kept bytes are those of the decoded body (as Zeek).
        let mut decoded = None;
        let side = &mut self.sides[d];
        if let Some(inflate) = side.inflate.as_deref_mut() {
            if bytes.len() as u64 != n {
                side.inflate = None; // a gap: the compressed stream cannot go on
            } else if side.inflated < MAX_INFLATED {
                match inflate.feed(bytes) {
                    Some(out) => {
                        side.inflated += out.len() as u64;
                        decoded = Some(out);
                    }
                    None => side.inflate = None,
                }
            } else {
                decoded = Some(Vec::new());
            }
        }
        match &decoded {
            Some(out) => self.add_body(d, n, out.len() as u64, out),
            None => self.add_body(d, n, n, bytes),
        }
    }

    /// Adds to the transaction of direction `d` `sent` bytes of body as sent, which decode
    /// to `n` bytes (`bytes`: those of them at hand), and keeps the first of these.
    fn add_body(&mut self, d: usize, sent: u64, n: u64, bytes: &[u8]) {
        let tx = if d == 0 {
            self.txs.iter_mut().rev().find(|t| !t.request_done)
        } else {
            self.txs.iter_mut().find(|t| !t.response_done)
        };
        let Some(tx) = tx else {
            return;
        };
        let (len, keep) = if d == 0 {
            (&mut tx.rec.request_body_len, &mut tx.rec.request_body)
        } else {
            tx.rec.response_message_len += sent;
            (&mut tx.rec.response_body_len, &mut tx.rec.response_body)
        };
        *len += n;
        let room = BODY_KEEP.saturating_sub(keep.len());
        keep.extend_from_slice(&bytes[..room.min(bytes.len())]);
    }

    /// The body of direction `d` is complete; returns its transaction's index.
    fn body_finished(&mut self, d: usize) -> Option<usize> {
        self.sides[d].body = Body::None;
        if let Some(mut inflate) = self.sides[d].inflate.take() {
            let rest = inflate.finish();
            if !rest.is_empty() {
                // What the decoder still held: decoded bytes, none of them sent now.
                self.add_body(d, 0, rest.len() as u64, &rest);
            }
        }
        let i = if d == 0 {
            self.txs.iter().rposition(|t| !t.request_done)
        } else {
            self.txs.iter().position(|t| !t.response_done)
        };
        let tx = self.txs.get_mut(i?)?;
        if d == 0 {
            tx.request_done = true;
        } else {
            tx.response_done = true;
        }
        i
    }

    /// Emits finished transactions, in order.
    fn emit_done(&mut self, ctx: &mut Ctx<'_>) {
        while self
            .txs
            .front()
            .is_some_and(|t| t.request_done && t.response_done)
        {
            if let Some(tx) = self.txs.pop_front() {
                ctx.emit(tx.rec.ts, EventKind::Http(Box::new(tx.rec.finish())));
            }
        }
    }

    /// The connection ends: a body read until close is complete; everything pending is logged.
    pub fn finish(&mut self, ctx: &mut Ctx<'_>) {
        // A request line the connection's end cut short (`GET /` and no line end) is still
        // a request, as Zeek and Suricata read it at the close.
        let side = &mut self.sides[0];
        if !side.failed && matches!(side.body, Body::None) && !side.head.is_empty() {
            let mut line = std::mem::take(&mut side.head);
            line.extend_from_slice(b"\r\n\r\n");
            if let Some(head) = parser::parse_request(&line) {
                self.confirmed = true;
                self.request(ctx, head);
            }
        }
        // Bodies cut short (or read until the close) are inspected as they are.
        for i in 0..self.txs.len() {
            let (req, resp) = self
                .txs
                .get(i)
                .map_or((false, false), |t| (!t.request_done, !t.response_done));
            if req {
                self.inspect(ctx, i, true, true);
            }
            if resp {
                self.inspect(ctx, i, false, true);
            }
        }
        for tx in self.txs.drain(..) {
            ctx.emit(tx.rec.ts, EventKind::Http(Box::new(tx.rec.finish())));
        }
    }
}

impl Side {
    fn body_is_done(&self) -> bool {
        match &self.body {
            Body::Length(0) => true,
            Body::Chunked(c, _) => *c == Chunked::Done,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fuzzing::Detached;

    /// Zeek's `proxied`: the proxy headers of a request, names in upper case, whatever case
    /// they were sent in; and the response's headers in the record.
    #[test]
    fn proxy_headers_and_response_headers_are_kept() {
        let mut run = Detached::new(6, 80);
        let mut ctx = run.ctx();
        let mut http = HttpState::default();
        let request = b"GET / HTTP/1.1\r\nHost: example.com\r\nx-Forwarded-For: 192.0.2.7\r\n\
            Accept: */*\r\nVia: 1.1 proxy\r\nX-Forwarded-Forx: no\r\n\r\n";
        let response = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nServer: test\r\n\r\n";
        http.stream(&mut ctx, true, Chunk::Data(request));
        http.stream(&mut ctx, false, Chunk::Data(response));
        http.finish(&mut ctx);
        let recs = run.records(|k| match k {
            EventKind::Http(h) => Some(&**h),
            _ => None,
        });
        assert_eq!(recs.len(), 1);
        assert_eq!(
            recs[0].proxied,
            ["X-FORWARDED-FOR -> 192.0.2.7", "VIA -> 1.1 proxy"]
        );
        assert_eq!(recs[0].response_header("server"), Some(&b"test"[..]));
        assert_eq!(recs[0].response_headers.len(), 2);
    }

    /// `plain`, gzipped.
    fn gzip(plain: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(plain).unwrap_or_else(|e| panic!("{e}"));
        gz.finish().unwrap_or_else(|e| panic!("{e}"))
    }

    /// A `GET /` answered by `response`, the connection then closed, on a parser that
    /// decodes response bodies or not; returns the transaction's record.
    fn exchange(response: &[u8], decoding: bool) -> HttpRecord {
        let mut run = Detached::new(6, 80);
        let mut ctx = run.ctx();
        ctx.cache.no_response_decoding = !decoding;
        let mut http = HttpState::default();
        http.stream(
            &mut ctx,
            true,
            Chunk::Data(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"),
        );
        http.stream(&mut ctx, false, Chunk::Data(response));
        http.finish(&mut ctx);
        let recs = run.records(|k| match k {
            EventKind::Http(h) => Some(&**h),
            _ => None,
        });
        assert_eq!(recs.len(), 1);
        recs[0].clone()
    }

    /// A response of `plain` gzipped and sent in two chunks, on a parser that decodes
    /// response bodies or not; returns the gzipped bytes and the transaction's record.
    fn gzip_exchange(plain: &[u8], decoding: bool) -> (Vec<u8>, HttpRecord) {
        let packed = gzip(plain);
        let (first, second) = packed.split_at(packed.len() / 2);
        let mut response = b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n\
            Transfer-Encoding: chunked\r\n\r\n"
            .to_vec();
        for part in [first, second] {
            response.extend_from_slice(format!("{:x}\r\n", part.len()).as_bytes());
            response.extend_from_slice(part);
            response.extend_from_slice(b"\r\n");
        }
        response.extend_from_slice(b"0\r\n\r\n");
        let rec = exchange(&response, decoding);
        (packed, rec)
    }

    /// A gzip body sent in chunks: Zeek's `response_body_len` counts the decompressed bytes,
    /// Suricata's `length` (libhtp's message length) the compressed ones without the chunk
    /// framing; the bytes kept for the rules are decompressed.
    #[test]
    fn a_compressed_body_has_its_length_as_sent_and_as_decoded() {
        let plain = "tcheck ".repeat(500);
        let (packed, rec) = gzip_exchange(plain.as_bytes(), true);
        assert_eq!(rec.response_body_len, plain.len() as u64);
        assert_eq!(rec.response_message_len, packed.len() as u64);
        assert!(plain.as_bytes().starts_with(&rec.response_body));
        assert!(!rec.response_body.is_empty());
    }

    /// A gzip body that ends with the connection, sent in one piece: decoded whole, although
    /// the decoder is never finished (flate2 hands a write's output on only at the next
    /// write or a flush; the body counted 0 bytes before).
    #[test]
    fn a_compressed_body_read_until_close_is_decoded_whole() {
        let plain = "tcheck ".repeat(500);
        let packed = gzip(plain.as_bytes());
        let mut response =
            b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nConnection: close\r\n\r\n".to_vec();
        response.extend_from_slice(&packed);
        let rec = exchange(&response, true);
        assert_eq!(rec.response_body_len, plain.len() as u64);
        assert_eq!(rec.response_message_len, packed.len() as u64);
        assert!(plain.as_bytes().starts_with(&rec.response_body));
        assert!(!rec.response_body.is_empty());
    }

    /// Without response decoding (nothing reads the decoded body), the body is counted and
    /// kept as sent.
    #[test]
    fn without_response_decoding_a_compressed_body_is_kept_as_sent() {
        let plain = "tcheck ".repeat(500);
        let (packed, rec) = gzip_exchange(plain.as_bytes(), false);
        assert_eq!(rec.response_body_len, packed.len() as u64);
        assert_eq!(rec.response_message_len, packed.len() as u64);
        assert!(packed.starts_with(&rec.response_body));
    }
}
