//! QUIC long-header packets and the protection of Initial packets (RFC 9000, 9001, 9369).
//!
//! Initial packets are encrypted with keys anyone can derive from the client's first
//! Destination Connection ID, so a passive observer can read the TLS ClientHello (and the
//! server's ServerHello) they carry. This module parses headers, removes header protection,
//! decrypts with AES-128-GCM, and reads the frames (CRYPTO above all).

use aes::cipher::{BlockEncrypt, KeyInit};
use aes::Aes128;
use aes_gcm::aead::{AeadInPlace, Nonce};
use aes_gcm::Aes128Gcm;
use hkdf::Hkdf;
use sha2::Sha256;

/// QUIC version 1.
pub const V1: u32 = 0x0000_0001;
/// QUIC version 2.
pub const V2: u32 = 0x6b33_43cf;

const SALT_V1: [u8; 20] = [
    0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17, 0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad,
    0xcc, 0xbb, 0x7f, 0x0a,
];
const SALT_V2: [u8; 20] = [
    0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93, 0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb,
    0xf9, 0xbd, 0x2e, 0xd9,
];
/// The salt of the drafts 23-34 (the same as draft-29's).
const SALT_DRAFT29: [u8; 20] = [
    0xaf, 0xbf, 0xec, 0x28, 0x99, 0x93, 0xd2, 0x4c, 0x9e, 0x97, 0x86, 0xf1, 0x9c, 0x61, 0x11, 0xe0,
    0x43, 0x90, 0xa8, 0x99,
];

/// Long-header packet types, normalised to version 1's numbering.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PacketType {
    /// Initial.
    Initial,
    /// 0-RTT.
    ZeroRtt,
    /// Handshake.
    Handshake,
    /// Retry.
    Retry,
}

/// Whether `version` is one whose Initial packets this module can decrypt.
pub fn known_version(version: u32) -> bool {
    version == V1 || version == V2 || (0xff00_0017..=0xff00_0022).contains(&version)
}

/// A long-header packet, header protection still on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LongHeader<'a> {
    /// Version.
    pub version: u32,
    /// Packet type.
    pub kind: PacketType,
    /// Destination connection id.
    pub dcid: &'a [u8],
    /// Source connection id.
    pub scid: &'a [u8],
    /// Token (Initial).
    pub token: &'a [u8],
    /// Offset of the packet number in the packet.
    pub pn_offset: usize,
    /// The whole packet (header and protected payload).
    pub packet: &'a [u8],
}

/// Reads a variable-length integer at the start of `b`: (value, bytes used).
pub fn varint(b: &[u8]) -> Option<(u64, usize)> {
    let first = *b.first()?;
    let len = 1usize << (first >> 6);
    let bytes = b.get(..len)?;
    let mut v = u64::from(first & 0x3f);
    for x in &bytes[1..] {
        v = (v << 8) | u64::from(*x);
    }
    Some((v, len))
}

/// Parses the long header at the start of `datagram`; returns it and the rest of the
/// datagram (coalesced packets). `None` if it is not a long header this module knows.
pub fn long_header(datagram: &[u8]) -> Option<(LongHeader<'_>, &[u8])> {
    let first = *datagram.first()?;
    if first & 0x80 == 0 {
        return None;
    }
    let version = u32::from_be_bytes(datagram.get(1..5)?.try_into().ok()?);
    if version == 0 {
        return None; // version negotiation
    }
    let raw_type = (first >> 4) & 0x3;
    let kind = if version == V2 {
        match raw_type {
            1 => PacketType::Initial,
            2 => PacketType::ZeroRtt,
            3 => PacketType::Handshake,
            _ => PacketType::Retry,
        }
    } else {
        match raw_type {
            0 => PacketType::Initial,
            1 => PacketType::ZeroRtt,
            2 => PacketType::Handshake,
            _ => PacketType::Retry,
        }
    };
    let mut at = 5;
    let dcid_len = usize::from(*datagram.get(at)?);
    let dcid = datagram.get(at + 1..at + 1 + dcid_len)?;
    at += 1 + dcid_len;
    let scid_len = usize::from(*datagram.get(at)?);
    let scid = datagram.get(at + 1..at + 1 + scid_len)?;
    at += 1 + scid_len;
    if dcid_len > 20 || scid_len > 20 {
        return None;
    }
    if kind == PacketType::Retry {
        let h = LongHeader {
            version,
            kind,
            dcid,
            scid,
            token: &[],
            pn_offset: at,
            packet: datagram,
        };
        return Some((h, &[]));
    }
    let mut token: &[u8] = &[];
    if kind == PacketType::Initial {
        let (tlen, n) = varint(datagram.get(at..)?)?;
        at += n;
        let tlen = usize::try_from(tlen).ok()?;
        token = datagram.get(at..at.checked_add(tlen)?)?;
        at += tlen;
    }
    let (len, n) = varint(datagram.get(at..)?)?;
    at += n;
    let end = at.checked_add(usize::try_from(len).ok()?)?;
    let packet = datagram.get(..end)?;
    let h = LongHeader {
        version,
        kind,
        dcid,
        scid,
        token,
        pn_offset: at,
        packet,
    };
    Some((h, datagram.get(end..).unwrap_or(&[])))
}

/// Keys protecting one direction's Initial packets.
#[derive(Clone)]
pub struct InitialKeys {
    key: [u8; 16],
    iv: [u8; 12],
    hp: [u8; 16],
}

impl std::fmt::Debug for InitialKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InitialKeys(..)")
    }
}

/// TLS 1.3's HKDF-Expand-Label with an empty context.
fn expand_label(prk: &Hkdf<Sha256>, label: &str, out: &mut [u8]) -> Option<()> {
    let full = format!("tls13 {label}");
    let mut info = Vec::with_capacity(4 + full.len());
    info.extend_from_slice(&u16::try_from(out.len()).ok()?.to_be_bytes());
    info.push(u8::try_from(full.len()).ok()?);
    info.extend_from_slice(full.as_bytes());
    info.push(0);
    prk.expand(&info, out).ok()
}

impl InitialKeys {
    /// The keys of the client's (`client`) or server's Initial packets of a connection
    /// whose client chose `dcid` first.
    pub fn derive(version: u32, dcid: &[u8], client: bool) -> Option<Self> {
        let salt: &[u8] = match version {
            V1 => &SALT_V1,
            V2 => &SALT_V2,
            v if known_version(v) => &SALT_DRAFT29,
            _ => return None,
        };
        let (initial, _) = Hkdf::<Sha256>::extract(Some(salt), dcid);
        let initial = Hkdf::<Sha256>::from_prk(&initial).ok()?;
        let mut secret = [0u8; 32];
        expand_label(
            &initial,
            if client { "client in" } else { "server in" },
            &mut secret,
        )?;
        let secret = Hkdf::<Sha256>::from_prk(&secret).ok()?;
        let (lk, li, lh) = if version == V2 {
            ("quicv2 key", "quicv2 iv", "quicv2 hp")
        } else {
            ("quic key", "quic iv", "quic hp")
        };
        let mut keys = InitialKeys {
            key: [0; 16],
            iv: [0; 12],
            hp: [0; 16],
        };
        expand_label(&secret, lk, &mut keys.key)?;
        expand_label(&secret, li, &mut keys.iv)?;
        expand_label(&secret, lh, &mut keys.hp)?;
        Some(keys)
    }

    /// Removes header protection and decrypts an Initial packet; returns the plaintext
    /// frames, or `None` if it does not authenticate.
    pub fn open(&self, h: &LongHeader<'_>) -> Option<Vec<u8>> {
        let pkt = h.packet;
        let sample = pkt.get(h.pn_offset + 4..h.pn_offset + 20)?;
        let hp = Aes128::new_from_slice(&self.hp).ok()?;
        let mut block = aes::Block::clone_from_slice(sample);
        hp.encrypt_block(&mut block);
        let first = pkt.first()? ^ (block[0] & 0x0f);
        let pn_len = usize::from(first & 0x03) + 1;
        let mut header = pkt.get(..h.pn_offset + pn_len)?.to_vec();
        header[0] = first;
        let mut pn: u64 = 0;
        for i in 0..pn_len {
            let b = header[h.pn_offset + i] ^ block[1 + i];
            header[h.pn_offset + i] = b;
            pn = (pn << 8) | u64::from(b);
        }
        let mut nonce = self.iv;
        for (i, b) in pn.to_be_bytes().iter().enumerate() {
            nonce[4 + i] ^= b;
        }
        let mut payload = pkt.get(h.pn_offset + pn_len..)?.to_vec();
        if payload.len() < 16 {
            return None;
        }
        let aead = Aes128Gcm::new_from_slice(&self.key).ok()?;
        aead.decrypt_in_place(
            Nonce::<Aes128Gcm>::from_slice(&nonce),
            &header,
            &mut payload,
        )
        .ok()?;
        Some(payload)
    }
}

/// A CRYPTO frame's data and where it belongs in the crypto stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CryptoFrame {
    /// Offset in the crypto stream.
    pub offset: u64,
    /// The data.
    pub data: Vec<u8>,
}

/// What an Initial packet's frames hold.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Frames {
    /// CRYPTO frames.
    pub crypto: Vec<CryptoFrame>,
    /// A CONNECTION_CLOSE frame was present.
    pub close: bool,
}

/// Reads the frames of a decrypted Initial or Handshake payload (only the kinds allowed
/// there); stops at the first it does not know.
pub fn frames(mut p: &[u8]) -> Frames {
    let mut out = Frames::default();
    while let Some(&t) = p.first() {
        match t {
            0x00 | 0x01 => p = &p[1..],
            0x02 | 0x03 => {
                // ACK: largest, delay, range count, first range, ranges, [ECN counts]
                let mut at = 1;
                let mut fields = 4;
                let read = |at: &mut usize| -> Option<u64> {
                    let (v, n) = varint(p.get(*at..)?)?;
                    *at += n;
                    Some(v)
                };
                let mut ranges = 0;
                let mut ok = true;
                for i in 0..fields {
                    match read(&mut at) {
                        Some(v) if i == 2 => ranges = v.min(256),
                        Some(_) => {}
                        None => ok = false,
                    }
                }
                fields = usize::try_from(ranges).unwrap_or(0) * 2 + if t == 0x03 { 3 } else { 0 };
                for _ in 0..fields {
                    if read(&mut at).is_none() {
                        ok = false;
                    }
                }
                if !ok {
                    break;
                }
                p = p.get(at..).unwrap_or(&[]);
            }
            0x06 => {
                let Some((offset, n1)) = varint(&p[1..]) else {
                    break;
                };
                let Some((len, n2)) = p.get(1 + n1..).and_then(varint) else {
                    break;
                };
                let start = 1 + n1 + n2;
                let Some(data) = usize::try_from(len)
                    .ok()
                    .and_then(|l| p.get(start..start + l))
                else {
                    break;
                };
                out.crypto.push(CryptoFrame {
                    offset,
                    data: data.to_vec(),
                });
                p = &p[start + data.len()..];
            }
            0x1c | 0x1d => {
                out.close = true;
                break;
            }
            _ => break,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
            .collect()
    }

    /// RFC 9001, appendix A.1: the keys of DCID 0x8394c8f03e515708.
    #[test]
    fn rfc9001_initial_keys() {
        let dcid = unhex("8394c8f03e515708");
        let c = InitialKeys::derive(V1, &dcid, true).expect("keys");
        assert_eq!(c.key.to_vec(), unhex("1f369613dd76d5467730efcbe3b1a22d"));
        assert_eq!(c.iv.to_vec(), unhex("fa044b2f42a3fd3b46fb255c"));
        assert_eq!(c.hp.to_vec(), unhex("9f50449e04a0e810283a1e9933adedd2"));
        let s = InitialKeys::derive(V1, &dcid, false).expect("keys");
        assert_eq!(s.key.to_vec(), unhex("cf3a5331653c364c88f0f379b6067e37"));
    }

    /// RFC 9369, appendix A.1: version 2 keys for the same DCID.
    #[test]
    fn rfc9369_initial_keys() {
        let dcid = unhex("8394c8f03e515708");
        let c = InitialKeys::derive(V2, &dcid, true).expect("keys");
        assert_eq!(c.key.to_vec(), unhex("8b1a0bc121284290a29e0971b5cd045d"));
        assert_eq!(c.hp.to_vec(), unhex("45b95e15235d6f45a6b19cbcb0294ba9"));
    }

    #[test]
    fn varints() {
        assert_eq!(varint(&[0x25]), Some((37, 1)));
        assert_eq!(varint(&[0x7b, 0xbd]), Some((15293, 2)));
        assert_eq!(varint(&[0x9d, 0x7f, 0x3e, 0x7d]), Some((494_878_333, 4)));
        assert_eq!(varint(&[0xc0]), None);
    }

    #[test]
    fn truncated_headers_are_none() {
        let pkt = unhex("c000000001088394c8f03e5157080000449e");
        for n in 0..pkt.len() {
            assert!(long_header(&pkt[..n]).is_none());
        }
    }
}
