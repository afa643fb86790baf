//! A source that fails in the middle of a run: the run reports the error, and the events of
//! every packet read before it reach the sink, whatever the thread count. A sink that fails
//! stops the run with its error, unfinished, whatever the thread count.

use tcheck_engine::output::eve::{EveRenderer, RenderedEve};
use tcheck_engine::output::EventSink;
use tcheck_engine::{
    analyze, Config, Error, Event, EventKind, LinkType, PacketMeta, PacketSource, Timestamp,
};

/// One UDP packet from 10.0.x.y:40000 to 192.0.2.1:9999 (raw IPv4), a flow of its own.
fn packet(n: u32) -> Vec<u8> {
    let [_, _, hi, lo] = n.to_be_bytes();
    let mut p = vec![
        0x45, 0, 0, 32, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, hi, lo, 192, 0, 2, 1,
    ];
    let sum = checksum(&p);
    p[10..12].copy_from_slice(&sum.to_be_bytes());
    // UDP, no checksum, four bytes of payload.
    p.extend_from_slice(&[0x9c, 0x40, 0x27, 0x0f, 0, 12, 0, 0, b'p', b'i', b'n', b'g']);
    p
}

fn checksum(header: &[u8]) -> u16 {
    let mut sum: u32 = header
        .chunks(2)
        .map(|w| u32::from(u16::from_be_bytes([w[0], w.get(1).copied().unwrap_or(0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Yields `good` packets a second apart, then fails.
struct FailingSource {
    next: u32,
    good: u32,
}

impl PacketSource for FailingSource {
    fn read_packet(&mut self, buf: &mut Vec<u8>) -> tcheck_engine::Result<Option<PacketMeta>> {
        if self.next == self.good {
            return Err(Error::Io {
                path: "failing-source".into(),
                cause: std::io::Error::other("the disk went away"),
            });
        }
        let p = packet(self.next);
        buf.extend_from_slice(&p);
        let meta = PacketMeta {
            ts: Timestamp::from_nanos(
                1_700_000_000_000_000_000 + i64::from(self.next) * 1_000_000_000,
            ),
            link: LinkType::RAW,
            caplen: p.len() as u32,
            orig_len: p.len() as u32,
            interface: 0,
        };
        self.next += 1;
        Ok(Some(meta))
    }

    fn take_warnings(&mut self) -> Vec<tcheck_engine::source::SourceWarning> {
        Vec::new()
    }

    fn position(&self) -> u64 {
        u64::from(self.next)
    }
}

/// Counts the connection events it is handed, and the EVE lines the workers rendered for it
/// (it asks for them, as the EVE writer does: the workers then render a chunk's lines while
/// they process the next chunk).
#[derive(Default)]
struct Flows {
    conns: usize,
    lines: usize,
    renderer: EveRenderer,
}

impl EventSink for Flows {
    fn event(&mut self, event: &Event) -> tcheck_engine::Result<()> {
        if matches!(event.kind, EventKind::Conn(_)) {
            self.conns += 1;
        }
        Ok(())
    }

    fn eve_renderer(&self) -> Option<&EveRenderer> {
        Some(&self.renderer)
    }

    fn batch(&mut self, events: &[Event], eve: Option<&RenderedEve>) -> tcheck_engine::Result<()> {
        if let Some(rendered) = eve {
            self.lines += rendered
                .runs
                .iter()
                .map(|run| run.iter().filter(|&&b| b == b'\n').count())
                .sum::<usize>();
        }
        for e in events {
            self.event(e)?;
        }
        Ok(())
    }
}

/// Runs a source that fails after 40,000 packets (a batch holds 16,384, so the error comes
/// while the third batch is read) on `threads` threads into `sink`; returns the error's
/// text (empty if the run succeeded).
fn run_into(threads: usize, sink: &mut (dyn EventSink + Send)) -> String {
    let mut source = FailingSource {
        next: 0,
        good: 40_000,
    };
    let config = Config {
        threads,
        ..Config::default()
    };
    analyze(&mut source, &config, sink, &mut |_, _| {})
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default()
}

/// [`run_into`] a [`Flows`] sink; returns the sink and the error's text.
fn run(threads: usize) -> (Flows, String) {
    let mut sink = Flows::default();
    let error = run_into(threads, &mut sink);
    (sink, error)
}

/// A read error ends the input: every packet read before it is analysed and every flow
/// ends, as at the end of a capture, whatever the thread count; then the run returns the
/// error. Before, two threads dropped the batch that was being read (and, before that, the
/// batch whose EVE lines were not rendered yet: 16,323 connections of 32,707 were handed
/// out), and one thread the chunk that was being read; neither ended the live flows.
#[test]
fn a_read_error_ends_the_input_after_what_was_read_before_it() {
    for threads in [1, 2, 3] {
        let (sink, error) = run(threads);
        assert!(
            error.contains("the disk went away"),
            "{threads} threads: {error:?}"
        );
        // One flow per packet, each ended by a sweep or by the end of the input.
        assert_eq!(sink.conns, 40_000, "{threads} threads");
        // Each connection's `flow` line, rendered by the workers (one thread: by the sink).
        if threads > 1 {
            assert_eq!(sink.lines, sink.conns, "{threads} threads");
        }
    }
}

/// Fails at its second batch; notes whether it was finished.
#[derive(Default)]
struct FailingSink {
    batches: usize,
    finished: bool,
}

impl EventSink for FailingSink {
    fn event(&mut self, _: &Event) -> tcheck_engine::Result<()> {
        Ok(())
    }

    fn batch(&mut self, _: &[Event], _: Option<&RenderedEve>) -> tcheck_engine::Result<()> {
        self.batches += 1;
        if self.batches == 2 {
            return Err(Error::Io {
                path: "failing-sink".into(),
                cause: std::io::Error::other("the output disk is full"),
            });
        }
        Ok(())
    }

    fn finish(&mut self) -> tcheck_engine::Result<()> {
        self.finished = true;
        Ok(())
    }
}

/// An error of the sink stops the run with that error, and the sink is not finished, whatever
/// the thread count (one thread finished it after the read-error change, several did not).
#[test]
fn a_sink_error_is_returned_and_the_sink_is_not_finished() {
    for threads in [1, 2, 3] {
        let mut sink = FailingSink::default();
        let error = run_into(threads, &mut sink);
        assert!(
            error.contains("the output disk is full"),
            "{threads} threads: {error:?}"
        );
        assert!(!sink.finished, "{threads} threads");
    }
}
