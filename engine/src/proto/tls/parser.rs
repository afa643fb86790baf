//! TLS records and handshake messages, with `tls-parser` for the hellos and certificates.
//!
//! Extensions are framed here (type, length, data) so that one malformed extension does not
//! hide the others, then each is decoded with `tls-parser`. The client's fingerprints (JA3,
//! JA4) and the server's (JA3S) are computed from the framed values.

use md5::{Digest as _, Md5};
use sha2::Sha256;
use tls_parser::{parse_tls_message_handshake, TlsMessage, TlsMessageHandshake};

use crate::output::hex;
use crate::proto::byte_strings::ByteStrings;

/// Record content types.
pub mod content {
    /// change_cipher_spec
    pub const CCS: u8 = 20;
    /// alert
    pub const ALERT: u8 = 21;
    /// handshake
    pub const HANDSHAKE: u8 = 22;
    /// application_data
    pub const APPDATA: u8 = 23;
    /// heartbeat
    pub const HEARTBEAT: u8 = 24;
}

/// Handshake message types.
pub mod hs {
    /// client_hello
    pub const CLIENT_HELLO: u8 = 1;
    /// server_hello
    pub const SERVER_HELLO: u8 = 2;
    /// certificate
    pub const CERTIFICATE: u8 = 11;
    /// server_key_exchange
    pub const SERVER_KEY_EXCHANGE: u8 = 12;
}

/// Largest record payload accepted (2^14 plus the expansion TLS allows).
pub const MAX_RECORD: usize = (1 << 14) + 2048;
/// Largest handshake message assembled (certificate chains included).
pub const MAX_HANDSHAKE: usize = 256 * 1024;

/// A record header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordHeader {
    /// Content type.
    pub content_type: u8,
    /// Record-layer version.
    pub version: u16,
    /// Payload length.
    pub len: usize,
}

/// Reads a record header: `None` when fewer than 5 bytes, `Some(Err)` when it is not TLS.
pub fn record_header(b: &[u8]) -> Option<Result<RecordHeader, &'static str>> {
    let h = b.get(..5)?;
    let content_type = h[0];
    let version = u16::from_be_bytes([h[1], h[2]]);
    let len = usize::from(u16::from_be_bytes([h[3], h[4]]));
    if !(20..=24).contains(&content_type) {
        return Some(Err("not a TLS record type"));
    }
    if h[1] != 3 && version != 0xfeff && version != 0xfefd {
        return Some(Err("not a TLS record version"));
    }
    if len > MAX_RECORD {
        return Some(Err("TLS record too long"));
    }
    Some(Ok(RecordHeader {
        content_type,
        version,
        len,
    }))
}

/// Whether `b` starts like a TLS handshake record of the given message type.
pub fn looks_like_hello(b: &[u8], msg_type: u8) -> bool {
    matches!(b, [22, 3, 0..=4, _, _, t, ..] if *t == msg_type)
}

/// GREASE values (RFC 8701): ignored in fingerprints.
pub fn is_grease(v: u16) -> bool {
    v & 0x0f0f == 0x0a0a && (v >> 8) == (v & 0xff)
}

/// Raw extensions: (type, data), in order, the first 256 at most (an extension whose
/// length runs past the block ends the list).
pub fn extensions(b: &[u8]) -> Extensions<'_> {
    Extensions { rest: b, read: 0 }
}

/// The extensions of a block, read as they are asked for: see [`extensions`].
#[derive(Clone, Debug)]
pub struct Extensions<'a> {
    /// The block after the extensions read.
    rest: &'a [u8],
    /// Extensions read.
    read: usize,
}

impl<'a> Iterator for Extensions<'a> {
    type Item = (u16, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let b = self.rest;
        if b.len() < 4 || self.read >= 256 {
            return None;
        }
        let t = u16::from_be_bytes([b[0], b[1]]);
        let l = usize::from(u16::from_be_bytes([b[2], b[3]]));
        let data = b.get(4..4 + l)?;
        self.rest = &b[4 + l..];
        self.read += 1;
        Some((t, data))
    }
}

fn be16s(b: &[u8]) -> impl Iterator<Item = u16> + '_ {
    b.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]]))
}

/// A length-prefixed list inside an extension (1- or 2-byte length).
fn prefixed(b: &[u8], len_bytes: usize) -> &[u8] {
    let n = match len_bytes {
        1 => b.first().map(|x| usize::from(*x)),
        _ => b
            .get(..2)
            .map(|x| usize::from(u16::from_be_bytes([x[0], x[1]]))),
    };
    n.and_then(|n| b.get(len_bytes..len_bytes + n))
        .unwrap_or(&[])
}

/// The protocols of an ALPN extension, [`MAX_ALPN`] at most; a protocol running past the
/// list ends it.
fn alpn_protocols(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    ByteStrings::new(prefixed(data, 2)).take(MAX_ALPN)
}

fn sni_name(data: &[u8]) -> Option<&[u8]> {
    let list = prefixed(data, 2);
    // entries: type(1) len(2) name; the first host_name (type 0) wins
    let mut at = 0;
    while at + 3 <= list.len() {
        let kind = list[at];
        let l = usize::from(u16::from_be_bytes([list[at + 1], list[at + 2]]));
        let name = list.get(at + 3..at + 3 + l)?;
        if kind == 0 {
            return Some(name);
        }
        at += 3 + l;
    }
    None
}

/// ALPN protocols kept per ClientHello at most.
const MAX_ALPN: usize = 32;

/// The lists of 16-bit values of a [`ClientHello`], each a range of its `words`.
#[derive(Clone, Copy)]
enum Words {
    Ciphers,
    ExtensionTypes,
    SupportedVersions,
    Groups,
    SignatureAlgorithms,
    KeyShareGroups,
}

/// The byte strings of a [`ClientHello`], each a range of its `bytes`.
#[derive(Clone, Copy)]
enum Bytes {
    SessionId,
    Compressions,
    PointFormats,
    Sni,
    /// The ALPN protocols, each after a length byte.
    Alpn,
}

/// A ClientHello, with what logs and fingerprints need.
///
/// Its lists live in two buffers, one of 16-bit values and one of bytes, each list a range
/// of one of them: a ClientHello costs two allocations, where a vector per list cost a
/// dozen for every handshake. [`ClientHelloParts`] builds one from its lists.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientHello {
    /// Legacy version field.
    pub version: u16,
    /// An encrypted ClientHello (ECH, type 0xfe0d) was offered.
    pub ech: bool,
    /// The cipher suites, extension types, supported versions, groups, signature
    /// algorithms and key share groups.
    words: Vec<u16>,
    /// Where each list of 16-bit values is in `words`.
    word_ranges: [(u32, u32); 6],
    /// The session id, compressions, point formats, server name and ALPN protocols.
    bytes: Vec<u8>,
    /// Where each byte string is in `bytes`.
    byte_ranges: [(u32, u32); 5],
    /// A server name was sent (it may be empty).
    has_sni: bool,
}

impl ClientHello {
    fn words(&self, list: Words) -> &[u16] {
        self.word_ranges
            .get(list as usize)
            .and_then(|&(a, b)| self.words.get(a as usize..b as usize))
            .unwrap_or_default()
    }

    fn bytes(&self, part: Bytes) -> &[u8] {
        self.byte_ranges
            .get(part as usize)
            .and_then(|&(a, b)| self.bytes.get(a as usize..b as usize))
            .unwrap_or_default()
    }

    /// Appends `values` as list `list` (a list given twice keeps the last).
    fn set_words(&mut self, list: Words, values: impl Iterator<Item = u16>) {
        let start = self.words.len();
        self.words.extend(values);
        if let Some(r) = self.word_ranges.get_mut(list as usize) {
            *r = (to_u32(start), to_u32(self.words.len()));
        }
    }

    /// Appends `b` as byte string `part` (a part given twice keeps the last).
    fn set_bytes<'b>(&mut self, part: Bytes, b: impl IntoIterator<Item = &'b u8>) {
        let start = self.bytes.len();
        self.bytes.extend(b);
        if let Some(r) = self.byte_ranges.get_mut(part as usize) {
            *r = (to_u32(start), to_u32(self.bytes.len()));
        }
    }

    /// Session id.
    pub fn session_id(&self) -> &[u8] {
        self.bytes(Bytes::SessionId)
    }

    /// Cipher suites offered, in order.
    pub fn ciphers(&self) -> &[u16] {
        self.words(Words::Ciphers)
    }

    /// Compression methods.
    pub fn compressions(&self) -> &[u8] {
        self.bytes(Bytes::Compressions)
    }

    /// Extension types, in order.
    pub fn extension_types(&self) -> &[u16] {
        self.words(Words::ExtensionTypes)
    }

    /// Server name (SNI), raw.
    pub fn sni(&self) -> Option<&[u8]> {
        self.has_sni.then(|| self.bytes(Bytes::Sni))
    }

    /// ALPN protocols offered, in order.
    pub fn alpn(&self) -> ByteStrings<'_> {
        ByteStrings::new(self.bytes(Bytes::Alpn))
    }

    /// supported_versions.
    pub fn supported_versions(&self) -> &[u16] {
        self.words(Words::SupportedVersions)
    }

    /// supported_groups (elliptic curves).
    pub fn groups(&self) -> &[u16] {
        self.words(Words::Groups)
    }

    /// ec_point_formats.
    pub fn point_formats(&self) -> &[u8] {
        self.bytes(Bytes::PointFormats)
    }

    /// signature_algorithms, in order.
    pub fn signature_algorithms(&self) -> &[u16] {
        self.words(Words::SignatureAlgorithms)
    }

    /// Groups of the key shares offered.
    pub fn key_share_groups(&self) -> &[u16] {
        self.words(Words::KeyShareGroups)
    }
}

/// A ClientHello's fields as separate lists, to build one with `ClientHello::from`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientHelloParts {
    /// Legacy version field.
    pub version: u16,
    /// Session id.
    pub session_id: Vec<u8>,
    /// Cipher suites offered, in order.
    pub ciphers: Vec<u16>,
    /// Compression methods.
    pub compressions: Vec<u8>,
    /// Extension types, in order.
    pub extension_types: Vec<u16>,
    /// Server name (SNI), raw.
    pub sni: Option<Vec<u8>>,
    /// ALPN protocols offered (each at most 255 bytes; longer ones are cut).
    pub alpn: Vec<Vec<u8>>,
    /// supported_versions.
    pub supported_versions: Vec<u16>,
    /// supported_groups (elliptic curves).
    pub groups: Vec<u16>,
    /// ec_point_formats.
    pub point_formats: Vec<u8>,
    /// signature_algorithms, in order.
    pub signature_algorithms: Vec<u16>,
    /// Groups of the key shares offered.
    pub key_share_groups: Vec<u16>,
    /// An encrypted ClientHello was offered.
    pub ech: bool,
}

impl From<ClientHelloParts> for ClientHello {
    fn from(p: ClientHelloParts) -> Self {
        let mut ch = ClientHello {
            version: p.version,
            ech: p.ech,
            ..ClientHello::default()
        };
        ch.set_bytes(Bytes::SessionId, &p.session_id);
        ch.set_words(Words::Ciphers, p.ciphers.into_iter());
        ch.set_bytes(Bytes::Compressions, &p.compressions);
        ch.set_words(Words::ExtensionTypes, p.extension_types.into_iter());
        if let Some(sni) = &p.sni {
            ch.has_sni = true;
            ch.set_bytes(Bytes::Sni, sni);
        }
        ch.set_bytes(
            Bytes::Alpn,
            &alpn_wire(p.alpn.iter().map(|proto| proto.get(..255).unwrap_or(proto))),
        );
        ch.set_words(Words::SupportedVersions, p.supported_versions.into_iter());
        ch.set_words(Words::Groups, p.groups.into_iter());
        ch.set_bytes(Bytes::PointFormats, &p.point_formats);
        ch.set_words(
            Words::SignatureAlgorithms,
            p.signature_algorithms.into_iter(),
        );
        ch.set_words(Words::KeyShareGroups, p.key_share_groups.into_iter());
        ch
    }
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// ALPN protocols (each at most 255 bytes) in the form [`ClientHello`] keeps them: each
/// after its length byte.
fn alpn_wire<'a>(protocols: impl Iterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut wire = Vec::new();
    for p in protocols {
        wire.push(u8::try_from(p.len()).unwrap_or(u8::MAX));
        wire.extend_from_slice(p);
    }
    wire
}

/// The groups of a key_share extension's entries, in order.
fn key_share_groups(data: &[u8]) -> impl Iterator<Item = u16> + '_ {
    let mut shares = prefixed(data, 2);
    std::iter::from_fn(move || {
        let [g0, g1, l0, l1, ..] = *shares else {
            return None;
        };
        shares = shares
            .get(4 + usize::from(u16::from_be_bytes([l0, l1]))..)
            .unwrap_or(&[]);
        Some(u16::from_be_bytes([g0, g1]))
    })
}

/// A ServerHello (or HelloRetryRequest).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServerHello {
    /// Legacy version field.
    pub version: u16,
    /// The version chosen through supported_versions, if any.
    pub selected_version: Option<u16>,
    /// Session id.
    pub session_id: Vec<u8>,
    /// Cipher suite chosen.
    pub cipher: u16,
    /// Extension types, in order.
    pub extension_types: Vec<u16>,
    /// ALPN protocol chosen.
    pub alpn: Option<Vec<u8>>,
    /// Group of the server's key share (TLS 1.3).
    pub key_share_group: Option<u16>,
    /// The server accepted a pre-shared key (resumption).
    pub psk: bool,
    /// This is a HelloRetryRequest.
    pub retry: bool,
}

/// The random value marking a ServerHello as a HelloRetryRequest.
const HRR_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// Parses a whole handshake message (4-byte header included) holding a ClientHello.
pub fn parse_client_hello(msg: &[u8]) -> Option<ClientHello> {
    let (_, parsed) = parse_tls_message_handshake(msg).ok()?;
    let TlsMessage::Handshake(TlsMessageHandshake::ClientHello(ch)) = parsed else {
        return None;
    };
    let sid = ch.session_id.unwrap_or(&[]);
    let exts = extensions(ch.ext.unwrap_or(&[]));
    // Room for every list at once (an upper bound for each), so that neither buffer grows.
    let (mut words, mut bytes) = (ch.ciphers.len(), sid.len() + ch.comp.len());
    for (t, data) in exts.clone() {
        words += 1;
        match t {
            0 | 16 => bytes += prefixed(data, 2).len(),
            10 | 13 => words += prefixed(data, 2).len() / 2,
            11 => bytes += prefixed(data, 1).len(),
            43 => words += prefixed(data, 1).len() / 2,
            51 => words += (prefixed(data, 2).len() / 4).min(MAX_KEY_SHARES),
            _ => {}
        }
    }
    let mut out = ClientHello {
        version: ch.version.0,
        words: Vec::with_capacity(words),
        bytes: Vec::with_capacity(bytes),
        ..ClientHello::default()
    };
    out.set_bytes(Bytes::SessionId, sid);
    out.set_words(Words::Ciphers, ch.ciphers.iter().map(|c| c.0));
    out.set_bytes(Bytes::Compressions, ch.comp.iter().map(|c| &c.0));
    out.set_words(Words::ExtensionTypes, exts.clone().map(|(t, _)| t));
    // The groups of every key_share extension, in order (a list given twice adds to it).
    out.set_words(
        Words::KeyShareGroups,
        exts.clone()
            .filter(|&(t, _)| t == 51)
            .flat_map(|(_, data)| key_share_groups(data))
            .take(MAX_KEY_SHARES),
    );
    for (t, data) in exts {
        match t {
            0 => {
                if let Some(name) = sni_name(data) {
                    out.has_sni = true;
                    out.set_bytes(Bytes::Sni, name);
                } else {
                    out.has_sni = false;
                }
            }
            10 => out.set_words(Words::Groups, be16s(prefixed(data, 2))),
            11 => out.set_bytes(Bytes::PointFormats, prefixed(data, 1)),
            13 => out.set_words(Words::SignatureAlgorithms, be16s(prefixed(data, 2))),
            16 => {
                // A protocol's length came from one byte: the wire form is the list's.
                let end = alpn_protocols(data).map(|p| 1 + p.len()).sum::<usize>();
                out.set_bytes(
                    Bytes::Alpn,
                    prefixed(data, 2).get(..end).unwrap_or_default(),
                );
            }
            43 => out.set_words(Words::SupportedVersions, be16s(prefixed(data, 1))),
            0xfe0d => out.ech = true,
            _ => {}
        }
    }
    Some(out)
}

/// Key share groups kept per ClientHello at most.
const MAX_KEY_SHARES: usize = 32;

/// Parses a whole handshake message holding a ServerHello (or HelloRetryRequest).
pub fn parse_server_hello(msg: &[u8]) -> Option<ServerHello> {
    if let Ok((_, TlsMessage::Handshake(TlsMessageHandshake::ServerHello(sh)))) =
        parse_tls_message_handshake(msg)
    {
        let mut out = ServerHello {
            version: sh.version.0,
            session_id: sh.session_id.unwrap_or(&[]).to_vec(),
            cipher: sh.cipher.0,
            retry: sh.random == HRR_RANDOM,
            ..ServerHello::default()
        };
        server_extensions(&mut out, sh.ext.unwrap_or(&[]));
        return Some(out);
    }
    // Layout: type(1) len(3) version(2) random(32) sid_len(1) sid cipher(2) comp(1) exts;
    // read by hand when tls-parser declines (draft versions, odd lengths).
    let body = msg.get(4..)?;
    let version = u16::from_be_bytes([*body.first()?, *body.get(1)?]);
    let random = body.get(2..34)?;
    let sid_len = usize::from(*body.get(34)?);
    let session_id = body.get(35..35 + sid_len)?.to_vec();
    let at = 35 + sid_len;
    let cipher = u16::from_be_bytes([*body.get(at)?, *body.get(at + 1)?]);
    let ext_block = prefixed(body.get(at + 3..).unwrap_or(&[]), 2);
    let mut out = ServerHello {
        version,
        session_id,
        cipher,
        retry: random == HRR_RANDOM,
        ..ServerHello::default()
    };
    server_extensions(&mut out, ext_block);
    Some(out)
}

fn server_extensions(out: &mut ServerHello, block: &[u8]) {
    let exts = extensions(block);
    out.extension_types.reserve_exact(exts.clone().count());
    for (t, data) in exts {
        out.extension_types.push(t);
        match t {
            16 => out.alpn = alpn_protocols(data).next().map(<[u8]>::to_vec),
            41 => out.psk = true,
            43 if data.len() == 2 => {
                out.selected_version = Some(u16::from_be_bytes([data[0], data[1]]));
            }
            51 if data.len() >= 2 => {
                out.key_share_group = Some(u16::from_be_bytes([data[0], data[1]]));
            }
            _ => {}
        }
    }
}

/// The curve of an ECDHE ServerKeyExchange (named curve), if it is one.
pub fn ske_curve(params: &[u8]) -> Option<u16> {
    match params {
        [3, a, b, ..] => Some(u16::from_be_bytes([*a, *b])),
        _ => None,
    }
}

/// Certificates of a Certificate message (TLS ≤ 1.2 layout), raw DER.
pub fn certificates(msg: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let Some(body) = msg.get(4..) else {
        return out;
    };
    let total = match body.get(..3) {
        Some(l) => (usize::from(l[0]) << 16) | (usize::from(l[1]) << 8) | usize::from(l[2]),
        None => return out,
    };
    let mut list = body
        .get(3..3 + total)
        .unwrap_or(body.get(3..).unwrap_or(&[]));
    while list.len() >= 3 && out.len() < 16 {
        let l = (usize::from(list[0]) << 16) | (usize::from(list[1]) << 8) | usize::from(list[2]);
        let Some(der) = list.get(3..3 + l) else {
            break;
        };
        out.push(der.to_vec());
        list = &list[3 + l..];
    }
    out
}

/// Appends the decimal numbers of `v`, separated by `-`.
fn push_joined<T: Into<u32> + Copy>(s: &mut String, v: impl Iterator<Item = T>) {
    let mut first = true;
    for x in v {
        if !first {
            s.push('-');
        }
        first = false;
        push_decimal(s, x.into());
    }
}

/// Appends the decimal digits of `n` (fingerprints are computed for every handshake).
fn push_decimal(s: &mut String, n: u32) {
    s.push_str(itoa::Buffer::new().format(n));
}

/// JA3: the string and its MD5.
pub fn ja3(ch: &ClientHello) -> (String, String) {
    let mut s = String::with_capacity(256);
    push_decimal(&mut s, u32::from(ch.version));
    s.push(',');
    push_joined(
        &mut s,
        ch.ciphers().iter().copied().filter(|c| !is_grease(*c)),
    );
    s.push(',');
    push_joined(
        &mut s,
        ch.extension_types()
            .iter()
            .copied()
            .filter(|c| !is_grease(*c)),
    );
    s.push(',');
    push_joined(
        &mut s,
        ch.groups().iter().copied().filter(|c| !is_grease(*c)),
    );
    s.push(',');
    push_joined(&mut s, ch.point_formats().iter().copied());
    let h = hex(&Md5::digest(s.as_bytes()));
    (s, h)
}

/// JA3S: the string and its MD5.
pub fn ja3s(sh: &ServerHello) -> (String, String) {
    let mut s = String::with_capacity(64);
    push_decimal(&mut s, u32::from(sh.version));
    s.push(',');
    push_decimal(&mut s, u32::from(sh.cipher));
    s.push(',');
    push_joined(
        &mut s,
        sh.extension_types
            .iter()
            .copied()
            .filter(|c| !is_grease(*c)),
    );
    let h = hex(&Md5::digest(s.as_bytes()));
    (s, h)
}

/// Lower-case 4-digit hex of each value, comma-separated.
fn push_hex_list(s: &mut String, v: &[u16]) {
    for (i, x) in v.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        crate::output::push_hex(s, &x.to_be_bytes());
    }
}

/// Appends the first 12 hex digits of the SHA-256 of `s`, or twelve zeros for nothing.
fn push_sha256_12(out: &mut String, s: &str) {
    if s.is_empty() {
        out.push_str("000000000000");
    } else {
        let digest = Sha256::digest(s.as_bytes());
        crate::output::push_hex(out, digest.get(..6).unwrap_or(&[]));
    }
}

/// JA4 (FoxIO's TLS client fingerprint); `quic` for ClientHellos carried by QUIC.
pub fn ja4(ch: &ClientHello, quic: bool) -> String {
    let proto = if quic { 'q' } else { 't' };
    let highest = ch
        .supported_versions()
        .iter()
        .copied()
        .filter(|v| !is_grease(*v))
        .max()
        .unwrap_or(ch.version);
    let version = match highest {
        0x0304 => "13",
        0x0303 => "12",
        0x0302 => "11",
        0x0301 => "10",
        0x0300 => "s3",
        0x0002 => "s2",
        0xfeff => "d1",
        0xfefd => "d2",
        0xfefc => "d3",
        _ => "00",
    };
    let sni = if ch.sni().is_some() { 'd' } else { 'i' };
    // One buffer for the three lists hashed, each without GREASE values: the ciphers
    // (sorted), then the extensions (sorted), then the signature algorithms (as sent).
    let mut list: Vec<u16> = Vec::with_capacity(
        ch.ciphers()
            .len()
            .max(ch.extension_types().len())
            .max(ch.signature_algorithms().len()),
    );
    list.extend(ch.ciphers().iter().copied().filter(|c| !is_grease(*c)));
    let exts = ch
        .extension_types()
        .iter()
        .copied()
        .filter(|c| !is_grease(*c));
    let mut out = String::with_capacity(36);
    out.push(proto);
    out.push_str(version);
    out.push(sni);
    for n in [list.len().min(99), exts.clone().count().min(99)] {
        out.push(char::from(b'0' + (n / 10) as u8));
        out.push(char::from(b'0' + (n % 10) as u8));
    }
    match ch.alpn().next() {
        Some(p) if !p.is_empty() => {
            let first = p[0];
            let last = p[p.len() - 1];
            if first.is_ascii_alphanumeric() && last.is_ascii_alphanumeric() {
                out.push(char::from(first));
                out.push(char::from(last));
            } else {
                // Not alphanumeric: the first and last hex digits of the value.
                let h = hex(p);
                out.push_str(h.get(..1).unwrap_or("0"));
                out.push_str(h.get(h.len().saturating_sub(1)..).unwrap_or("0"));
            }
        }
        _ => out.push_str("00"),
    }
    out.push('_');
    // Sorting the numbers sorts their fixed-width hex renderings the same way.
    list.sort_unstable();
    let mut input = String::with_capacity(list.len().max(ch.extension_types().len()) * 5);
    push_hex_list(&mut input, &list);
    push_sha256_12(&mut out, &input);
    out.push('_');
    list.clear();
    list.extend(exts.filter(|e| *e != 0 && *e != 16));
    list.sort_unstable();
    input.clear();
    if !list.is_empty() {
        push_hex_list(&mut input, &list);
        list.clear();
        list.extend(
            ch.signature_algorithms()
                .iter()
                .copied()
                .filter(|s| !is_grease(*s)),
        );
        if !list.is_empty() {
            input.push('_');
            push_hex_list(&mut input, &list);
        }
    }
    push_sha256_12(&mut out, &input);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal ClientHello with SNI "a.io", ALPN h2, supported_versions TLS 1.3 + GREASE.
    fn client_hello() -> Vec<u8> {
        let mut exts = Vec::new();
        // GREASE extension
        exts.extend_from_slice(&[0x0a, 0x0a, 0, 0]);
        // SNI
        exts.extend_from_slice(&[0, 0, 0, 9, 0, 7, 0, 0, 4, b'a', b'.', b'i', b'o']);
        // supported_groups: x25519, secp256r1
        exts.extend_from_slice(&[0, 10, 0, 6, 0, 4, 0, 29, 0, 23]);
        // ec_point_formats: uncompressed
        exts.extend_from_slice(&[0, 11, 0, 2, 1, 0]);
        // signature_algorithms: 0403, 0804
        exts.extend_from_slice(&[0, 13, 0, 6, 0, 4, 4, 3, 8, 4]);
        // ALPN h2
        exts.extend_from_slice(&[0, 16, 0, 5, 0, 3, 2, b'h', b'2']);
        // supported_versions: GREASE, 1.3, 1.2
        exts.extend_from_slice(&[0, 43, 0, 7, 6, 0x1a, 0x1a, 3, 4, 3, 3]);
        let mut body = vec![3, 3];
        body.extend_from_slice(&[0u8; 32]);
        body.push(0); // session id
        body.extend_from_slice(&[0, 6, 0x2a, 0x2a, 0x13, 0x01, 0xc0, 0x2f]); // ciphers with GREASE
        body.extend_from_slice(&[1, 0]); // compression
        body.extend_from_slice(&u16::try_from(exts.len()).expect("small").to_be_bytes());
        body.extend_from_slice(&exts);
        let mut msg = vec![1, 0, 0, 0];
        let l = u32::try_from(body.len()).expect("small").to_be_bytes();
        msg[1..4].copy_from_slice(&l[1..]);
        msg.extend_from_slice(&body);
        msg
    }

    /// A ClientHello built from its lists gives them back, whatever order they were
    /// stored in, and a list left out reads as empty.
    #[test]
    fn client_hello_parts_round_trip() {
        let parts = ClientHelloParts {
            version: 0x0303,
            session_id: vec![7; 32],
            ciphers: vec![0x1301, 0x1302],
            compressions: vec![0],
            extension_types: vec![0, 16, 43],
            sni: Some(b"a.io".to_vec()),
            alpn: vec![b"h2".to_vec(), Vec::new(), b"http/1.1".to_vec()],
            supported_versions: vec![0x0304],
            groups: vec![29, 23],
            point_formats: vec![0],
            signature_algorithms: vec![0x0403],
            key_share_groups: vec![29],
            ech: true,
        };
        let ch = ClientHello::from(parts.clone());
        assert_eq!(ch.version, parts.version);
        assert_eq!(ch.session_id(), parts.session_id);
        assert_eq!(ch.ciphers(), parts.ciphers);
        assert_eq!(ch.compressions(), parts.compressions);
        assert_eq!(ch.extension_types(), parts.extension_types);
        assert_eq!(ch.sni(), parts.sni.as_deref());
        assert_eq!(
            ch.alpn().map(<[u8]>::to_vec).collect::<Vec<_>>(),
            parts.alpn
        );
        assert_eq!(ch.supported_versions(), parts.supported_versions);
        assert_eq!(ch.groups(), parts.groups);
        assert_eq!(ch.point_formats(), parts.point_formats);
        assert_eq!(ch.signature_algorithms(), parts.signature_algorithms);
        assert_eq!(ch.key_share_groups(), parts.key_share_groups);
        assert!(ch.ech);
        let empty = ClientHello::from(ClientHelloParts {
            sni: Some(Vec::new()),
            ..ClientHelloParts::default()
        });
        assert_eq!(
            empty.sni(),
            Some(&b""[..]),
            "an empty server name is still sent"
        );
        assert!(empty.ciphers().is_empty() && empty.alpn().next().is_none());
        assert_eq!(ClientHello::default().sni(), None);
    }

    /// Repeated extensions: the last list of each kind is kept, except the key shares,
    /// which add up (32 at most), as before the lists shared buffers.
    #[test]
    fn repeated_extensions_keep_the_last_list() {
        let mut exts = Vec::new();
        exts.extend_from_slice(&[0, 10, 0, 4, 0, 2, 0, 29]); // groups: 29
        exts.extend_from_slice(&[0, 10, 0, 4, 0, 2, 0, 23]); // groups: 23
        exts.extend_from_slice(&[0, 51, 0, 6, 0, 4, 0, 29, 0, 0]); // key share 29
        exts.extend_from_slice(&[0, 51, 0, 6, 0, 4, 0, 23, 0, 0]); // key share 23
        exts.extend_from_slice(&[0, 16, 0, 5, 0, 3, 2, b'h', b'2']); // ALPN h2
        exts.extend_from_slice(&[0, 16, 0, 4, 0, 2, 1, b'x']); // ALPN x
        let mut body = vec![3, 3];
        body.extend_from_slice(&[0u8; 32]);
        body.push(0);
        body.extend_from_slice(&[0, 2, 0x13, 0x01, 1, 0]);
        body.extend_from_slice(&u16::try_from(exts.len()).unwrap_or(0).to_be_bytes());
        body.extend_from_slice(&exts);
        let mut msg = vec![1, 0, 0, 0];
        let l = u32::try_from(body.len()).unwrap_or(0).to_be_bytes();
        msg[1..4].copy_from_slice(&l[1..]);
        msg.extend_from_slice(&body);
        let ch = parse_client_hello(&msg).unwrap_or_default();
        assert_eq!(ch.extension_types(), [10, 10, 51, 51, 16, 16]);
        assert_eq!(ch.groups(), [23]);
        assert_eq!(ch.key_share_groups(), [29, 23]);
        assert_eq!(ch.alpn().collect::<Vec<_>>(), [b"x"]);
        assert_eq!(ch.ciphers(), [0x1301]);
        assert_eq!(ch.sni(), None);
    }

    #[test]
    fn client_hello_fields_and_fingerprints() {
        let ch = parse_client_hello(&client_hello()).expect("parses");
        assert_eq!(ch.sni(), Some(&b"a.io"[..]));
        assert_eq!(ch.alpn().collect::<Vec<_>>(), [b"h2"]);
        assert_eq!(ch.supported_versions(), [0x1a1a, 0x0304, 0x0303]);
        let (s, h) = ja3(&ch);
        assert_eq!(s, "771,4865-49199,0-10-11-13-16-43,29-23,0");
        assert_eq!(h.len(), 32);
        let j4 = ja4(&ch, false);
        assert!(j4.starts_with("t13d0206h2_"), "{j4}");
        assert_eq!(j4.len(), "t13d0206h2_".len() + 12 + 1 + 12);
        // sha256("1301,c02f") and sha256("000a,000b,000d,002b_0403,0804"), first 12 digits.
        assert_eq!(j4, "t13d0206h2_c1929292aa6b_fb71836bce29");
    }

    #[test]
    fn grease_values() {
        assert!(is_grease(0x0a0a));
        assert!(is_grease(0xfafa));
        assert!(!is_grease(0x0a1a));
        assert!(!is_grease(0x1301));
    }

    #[test]
    fn record_headers() {
        assert!(record_header(&[22, 3, 1, 0]).is_none());
        assert_eq!(
            record_header(&[22, 3, 1, 0, 5]),
            Some(Ok(RecordHeader {
                content_type: 22,
                version: 0x0301,
                len: 5
            }))
        );
        assert!(matches!(record_header(b"GET / HTTP"), Some(Err(_))));
        assert!(matches!(
            record_header(&[23, 3, 3, 0xff, 0xff]),
            Some(Err(_))
        ));
    }

    #[test]
    fn truncated_hellos_do_not_parse() {
        let m = client_hello();
        for n in 0..m.len() {
            let _ = parse_client_hello(&m[..n]);
            let _ = parse_server_hello(&m[..n]);
        }
    }
}
