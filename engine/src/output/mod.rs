//! Writing events: Zeek-style logs (JSON lines, one file per log type) and Suricata's EVE
//! JSON. Each protocol renders its own records (`proto/*/log.rs`); this module owns the
//! files and the dispatch.

pub mod community_id;
pub mod conn;
pub mod eve;
pub(crate) mod json;
pub mod zeek;

pub use eve::EveWriter;
pub use zeek::ZeekLogs;

use crate::event::Event;

/// Something that consumes events in their final order.
pub trait EventSink {
    /// One event.
    fn event(&mut self, event: &Event) -> crate::Result<()>;

    /// The renderer of the EVE lines this sink writes, if it writes EVE. With several
    /// threads the workers render each chunk's events with copies of it, in parallel, and hand the
    /// lines to [`EventSink::batch`]: the sink then only writes them.
    fn eve_renderer(&self) -> Option<&eve::EveRenderer> {
        None
    }

    /// A batch of events, in output order, with their EVE lines when the workers rendered
    /// them (with a copy of this sink's [`EventSink::eve_renderer`]).
    fn batch(&mut self, events: &[Event], eve: Option<&eve::RenderedEve>) -> crate::Result<()> {
        let _ = eve;
        for e in events {
            self.event(e)?;
        }
        Ok(())
    }

    /// No more events: flush.
    fn finish(&mut self) -> crate::Result<()> {
        Ok(())
    }
}

/// Several sinks fed the same events.
#[derive(Default)]
pub struct Fanout<'a> {
    sinks: Vec<&'a mut (dyn EventSink + Send)>,
}

impl std::fmt::Debug for Fanout<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fanout")
            .field("sinks", &self.sinks.len())
            .finish()
    }
}

impl<'a> Fanout<'a> {
    /// No sinks yet.
    pub fn new() -> Self {
        Fanout { sinks: Vec::new() }
    }

    /// Adds a sink.
    pub fn push(&mut self, sink: &'a mut (dyn EventSink + Send)) {
        self.sinks.push(sink);
    }
}

impl EventSink for Fanout<'_> {
    fn event(&mut self, event: &Event) -> crate::Result<()> {
        for s in &mut self.sinks {
            s.event(event)?;
        }
        Ok(())
    }

    /// The renderer of its one EVE sink; none when several sinks write EVE (each would
    /// need lines of its own).
    fn eve_renderer(&self) -> Option<&eve::EveRenderer> {
        let mut renderers = self.sinks.iter().filter_map(|s| s.eve_renderer());
        let first = renderers.next()?;
        renderers.next().is_none().then_some(first)
    }

    /// Each event goes through every sink in turn, as without rendering: sinks that share
    /// state (the kiosk's detections and names) see a batch event by event, together. The
    /// EVE sink, when its lines were rendered, writes them first, whole.
    fn batch(&mut self, events: &[Event], eve: Option<&eve::RenderedEve>) -> crate::Result<()> {
        let writes_eve: Vec<bool> = self
            .sinks
            .iter()
            .map(|s| eve.is_some() && s.eve_renderer().is_some())
            .collect();
        for (s, _) in self.sinks.iter_mut().zip(&writes_eve).filter(|(_, w)| **w) {
            s.batch(events, eve)?;
        }
        for e in events {
            for (s, _) in self.sinks.iter_mut().zip(&writes_eve).filter(|(_, w)| !**w) {
                s.event(e)?;
            }
        }
        Ok(())
    }

    fn finish(&mut self) -> crate::Result<()> {
        for s in &mut self.sinks {
            s.finish()?;
        }
        Ok(())
    }
}

/// Lower-case hex of bytes.
pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    push_hex(&mut s, bytes);
    s
}

/// Appends the lower-case hex of bytes.
pub(crate) fn push_hex(s: &mut String, bytes: &[u8]) {
    for b in bytes {
        s.push(char::from(HEX_DIGITS[usize::from(b >> 4)]));
        s.push(char::from(HEX_DIGITS[usize::from(b & 15)]));
    }
}

/// Lowercase hexadecimal digits, by value.
pub(crate) const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Appends the dotted-quad text of an IPv4 address (what `Display` prints, without the
/// formatting machinery: addresses are printed for every flow and answer).
pub(crate) fn push_ipv4(out: &mut Vec<u8>, a: std::net::Ipv4Addr) {
    // Each octet's digits and a dot come from a table, four bytes at a time, into a stack
    // buffer appended once: a push per digit checked the vector's capacity up to 15 times.
    let mut text = [0u8; 16];
    let mut n = 0;
    for o in a.octets() {
        let (digits, len) = OCTET_TEXT[usize::from(o)];
        if let Some(slot) = text.get_mut(n..n + 4) {
            slot.copy_from_slice(&digits);
        }
        n += len;
    }
    // All 16 bytes, then cut after the last octet's digits: a copy of a fixed size is a
    // move of two words, where one of the text's length was a call to `memcpy`.
    let start = out.len();
    out.extend_from_slice(&text);
    out.truncate(start + n - 1);
}

/// The decimal digits of every byte value followed by a dot, left-aligned in four bytes,
/// and how many of the four are used.
static OCTET_TEXT: [([u8; 4], usize); 256] = {
    let mut table = [([0u8; 4], 0usize); 256];
    let mut v = 0;
    while v < 256 {
        let b = v as u8;
        let (h, t, o) = (b'0' + b / 100, b'0' + (b / 10) % 10, b'0' + b % 10);
        table[v] = match b {
            100.. => ([h, t, o, b'.'], 4),
            10.. => ([t, o, b'.', 0], 3),
            _ => ([o, b'.', 0, 0], 2),
        };
        v += 1;
    }
    table
};

/// The text of an IPv4 address, as `Display` prints it.
pub(crate) fn ipv4_text(a: std::net::Ipv4Addr) -> String {
    // push_ipv4 appends 16 bytes before it cuts them to the text's length.
    let mut out = Vec::with_capacity(16);
    push_ipv4(&mut out, a);
    // Only ASCII digits and dots were written.
    String::from_utf8(out).unwrap_or_default()
}

/// Appends the text of an address, as `Display` prints it: IPv4 by [`push_ipv4`], IPv6 by
/// `Display`.
pub(crate) fn push_ip(out: &mut Vec<u8>, addr: std::net::IpAddr) {
    match addr {
        std::net::IpAddr::V4(a) => push_ipv4(out, a),
        std::net::IpAddr::V6(a) => {
            use std::io::Write as _;
            // Writing to a Vec cannot fail.
            let _ = write!(out, "{a}");
        }
    }
}

/// The text of an address, as `Display` prints it (IPv4 without the formatting machinery).
pub(crate) fn ip_text(addr: std::net::IpAddr) -> String {
    match addr {
        std::net::IpAddr::V4(a) => ipv4_text(a),
        std::net::IpAddr::V6(a) => a.to_string(),
    }
}

/// A MAC address as `aa:bb:cc:dd:ee:ff`.
pub(crate) fn mac(m: &[u8; 6]) -> String {
    let h = hex(m);
    let mut s = String::with_capacity(17);
    for (i, c) in h.chars().enumerate() {
        if i > 0 && i % 2 == 0 {
            s.push(':');
        }
        s.push(c);
    }
    s
}

/// Seconds as Zeek prints intervals and times in JSON (a number with microseconds).
pub(crate) fn secs(nanos: i64) -> f64 {
    // Round to microseconds like Zeek's writers, to keep output stable.
    let micros = (nanos as f64 / 1000.0).round();
    micros / 1_000_000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_hex_and_macs() {
        assert_eq!(hex(&[0, 0xab, 0x10]), "00ab10");
        assert_eq!(mac(&[0, 0xd0, 3, 0x3b, 0xf4, 0]), "00:d0:03:3b:f4:00");
        assert_eq!(secs(1_500_000), 0.0015);
    }

    /// Records which sink saw which event, in order.
    struct Recorder {
        name: char,
        log: std::sync::Arc<std::sync::Mutex<Vec<(char, u64)>>>,
    }

    impl EventSink for Recorder {
        fn event(&mut self, event: &Event) -> crate::Result<()> {
            if let Ok(mut log) = self.log.lock() {
                log.push((self.name, event.pcap_cnt));
            }
            Ok(())
        }
    }

    /// A sink that writes EVE: given rendered lines, it takes the batch whole (logged as
    /// packet 0); otherwise event by event.
    struct EveRecorder {
        renderer: eve::EveRenderer,
        log: std::sync::Arc<std::sync::Mutex<Vec<(char, u64)>>>,
    }

    impl EventSink for EveRecorder {
        fn event(&mut self, event: &Event) -> crate::Result<()> {
            if let Ok(mut log) = self.log.lock() {
                log.push(('e', event.pcap_cnt));
            }
            Ok(())
        }

        fn eve_renderer(&self) -> Option<&eve::EveRenderer> {
            Some(&self.renderer)
        }

        fn batch(
            &mut self,
            events: &[Event],
            rendered: Option<&eve::RenderedEve>,
        ) -> crate::Result<()> {
            if rendered.is_none() {
                for e in events {
                    self.event(e)?;
                }
            } else if let Ok(mut log) = self.log.lock() {
                log.push(('e', 0));
            }
            Ok(())
        }
    }

    /// With or without EVE lines rendered by the workers, a batch goes through the sinks
    /// event by event, each event through all of them in turn; with rendered lines, the
    /// sink that writes EVE takes them first, whole.
    #[test]
    fn a_fanout_interleaves_its_sinks_per_event() {
        let events: Vec<Event> = (1..=3)
            .map(|n| {
                Event::new(
                    crate::event::EventOrder {
                        packet: n,
                        swept: false,
                        flow: 0,
                        seq: 0,
                    },
                    crate::time::Timestamp::ZERO,
                    n,
                    crate::event::EventKind::Anomaly(Box::new(crate::event::AnomalyRecord {
                        flow: None,
                        layer: "decode",
                        kind: "test",
                        addrs: None,
                    })),
                )
            })
            .collect();
        for rendered in [None, Some(eve::RenderedEve::default())] {
            let log = std::sync::Arc::default();
            let mut a = Recorder {
                name: 'a',
                log: std::sync::Arc::clone(&log),
            };
            let mut b = Recorder {
                name: 'b',
                log: std::sync::Arc::clone(&log),
            };
            let mut e = EveRecorder {
                renderer: eve::EveRenderer::default(),
                log: std::sync::Arc::clone(&log),
            };
            let mut fanout = Fanout::new();
            fanout.push(&mut a);
            fanout.push(&mut e);
            fanout.push(&mut b);
            assert!(fanout.eve_renderer().is_some());
            assert!(fanout.batch(&events, rendered.as_ref()).is_ok());
            let seen = log.lock().map(|l| l.clone()).unwrap_or_default();
            let want = match rendered {
                None => vec![
                    ('a', 1),
                    ('e', 1),
                    ('b', 1),
                    ('a', 2),
                    ('e', 2),
                    ('b', 2),
                    ('a', 3),
                    ('e', 3),
                    ('b', 3),
                ],
                Some(_) => vec![
                    ('e', 0),
                    ('a', 1),
                    ('b', 1),
                    ('a', 2),
                    ('b', 2),
                    ('a', 3),
                    ('b', 3),
                ],
            };
            assert_eq!(seen, want);
        }
    }

    #[test]
    fn ipv4_text_is_display() {
        // Every value in every position, beside the others at their shortest and longest.
        for position in 0..4 {
            for v in 0..=255u8 {
                for other in [0u8, 255] {
                    let mut a = [other; 4];
                    a[position] = v;
                    let ip = std::net::Ipv4Addr::from(a);
                    assert_eq!(ipv4_text(ip), ip.to_string());
                }
            }
        }
        for ip in ["192.0.2.1", "2001:db8::1", "::ffff:192.0.2.1", "::"] {
            let ip: std::net::IpAddr = ip.parse().unwrap();
            let mut pushed = Vec::new();
            push_ip(&mut pushed, ip);
            assert_eq!(ip_text(ip), ip.to_string());
            assert_eq!(String::from_utf8(pushed).unwrap(), ip.to_string());
        }
    }
}
