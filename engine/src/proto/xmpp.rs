//! XMPP, as far as STARTTLS: the stream is followed until the server says `<proceed/>` to a
//! client's `<starttls/>`, after which the TLS handshake is dissected (Zeek's service
//! `xmpp,ssl`).

use memchr::memmem;

use crate::tcp::Chunk;

/// Bytes of each direction scanned before giving up on STARTTLS.
const MAX_SCAN: usize = 64 * 1024;

/// Whether a stream's first bytes are XMPP.
pub fn looks_like_xmpp(h: &[u8]) -> bool {
    let t = h.trim_ascii_start();
    t.starts_with(b"<?xml") || t.starts_with(b"<stream:stream")
}

/// XMPP state of one flow.
#[derive(Debug, Default)]
pub(crate) struct XmppState {
    /// Bytes scanned per direction.
    seen: [usize; 2],
    /// The tail of the last piece per direction (a tag may straddle two pieces).
    tail: [Vec<u8>; 2],
    starttls_asked: bool,
    /// The stream opened as XMPP.
    pub confirmed: bool,
}

impl XmppState {
    /// A piece of the stream; returns the bytes that follow the server's `<proceed/>`
    /// (the start of TLS) once STARTTLS succeeded.
    pub fn stream(&mut self, from_orig: bool, chunk: Chunk<'_>) -> Option<Vec<u8>> {
        let d = usize::from(!from_orig);
        let Chunk::Data(data) = chunk else {
            return None;
        };
        if self.seen[d] > MAX_SCAN {
            return None;
        }
        self.seen[d] += data.len();
        let mut window = std::mem::take(&mut self.tail[d]);
        let offset = window.len();
        window.extend_from_slice(data);
        if memmem::find(&window, b"<stream:stream").is_some() {
            self.confirmed = true;
        }
        let mut result = None;
        if from_orig {
            if memmem::find(&window, b"<starttls").is_some() {
                self.starttls_asked = true;
            }
        } else if self.starttls_asked {
            if let Some(i) = memmem::find(&window, b"<proceed") {
                let end = window[i..]
                    .iter()
                    .position(|b| *b == b'>')
                    .map(|e| i + e + 1);
                if let Some(end) = end {
                    let rest = end.saturating_sub(offset);
                    result = Some(data.get(rest..).unwrap_or(&[]).to_vec());
                }
            }
        }
        let keep = window.len().saturating_sub(64);
        self.tail[d] = window.split_off(keep);
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starttls_then_proceed() {
        let mut x = XmppState::default();
        assert!(looks_like_xmpp(b"<?xml version='1.0'?><stream:stream"));
        assert!(x
            .stream(
                true,
                Chunk::Data(b"<?xml version='1.0'?><stream:stream to='a'>")
            )
            .is_none());
        assert!(x.confirmed);
        assert!(x
            .stream(
                true,
                Chunk::Data(b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
            )
            .is_none());
        let rest = x.stream(
            false,
            Chunk::Data(b"<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>\x16\x03"),
        );
        assert_eq!(rest, Some(b"\x16\x03".to_vec()));
    }
}
