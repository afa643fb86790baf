//! Oddities in traffic are reported as anomaly events, not dropped silently, and never stop
//! the analysis.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::io::Cursor;
use std::path::Path;

use tcheck_engine::output::EventSink;
use tcheck_engine::{analyze, Config, Event, EventKind, FileSource};

#[derive(Default)]
struct Collect(Vec<Event>);

impl EventSink for Collect {
    fn event(&mut self, e: &Event) -> tcheck_engine::Result<()> {
        self.0.push(e.clone());
        Ok(())
    }
}

/// An Ethernet/IPv4/UDP frame from 10.0.0.1:40000 to 10.0.0.2:53 carrying `payload`.
fn udp_frame(payload: &[u8]) -> Vec<u8> {
    let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00];
    let total = (20 + 8 + payload.len()) as u16;
    let mut ip = vec![
        0x45, 0, 0, 0, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
    ];
    ip[2..4].copy_from_slice(&total.to_be_bytes());
    f.extend_from_slice(&ip);
    f.extend_from_slice(&40000u16.to_be_bytes());
    f.extend_from_slice(&53u16.to_be_bytes());
    f.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    f.extend_from_slice(&[0, 0]);
    f.extend_from_slice(payload);
    f
}

fn pcap(frames: &[Vec<u8>]) -> Vec<u8> {
    let mut out = vec![
        0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 1, 0, 0, 0,
    ];
    for (i, f) in frames.iter().enumerate() {
        out.extend_from_slice(&(1_700_000_000u32 + i as u32).to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        out.extend_from_slice(f);
    }
    out
}

fn run(frames: &[Vec<u8>]) -> Vec<Event> {
    let mut src =
        FileSource::from_reader(Path::new("test"), Cursor::new(pcap(frames)), None).expect("pcap");
    let mut sink = Collect::default();
    let config = Config {
        threads: 1,
        ..Config::default()
    };
    analyze(&mut src, &config, &mut sink, &mut |_, _| {}).expect("runs");
    sink.0
}

#[test]
fn a_dns_name_pointer_loop_is_reported_and_the_next_query_still_parsed() {
    // A query whose name is a pointer to itself, then a good query on the same flow.
    let looped = vec![0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1];
    let mut good = vec![0, 2, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    good.extend_from_slice(b"\x07example\x03com\x00\x00\x01\x00\x01");
    let events = run(&[udp_frame(&looped), udp_frame(&good)]);
    let anomalies: Vec<_> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Anomaly(a) => Some((a.layer, a.kind)),
            _ => None,
        })
        .collect();
    assert_eq!(anomalies, vec![("dns", "name_pointer_loop")]);
    let names: Vec<String> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::DnsMessage(m) => m.message.questions.first().map(|q| q.name.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(names, vec!["example.com".to_string()]);
}

#[test]
fn a_datagram_too_short_for_dns_is_reported() {
    let events = run(&[udp_frame(&[0, 1, 2])]);
    assert!(events
        .iter()
        .any(|e| matches!(&e.kind, EventKind::Anomaly(a) if a.kind == "message_too_short")));
}

#[test]
fn without_dns_transactions_only_the_messages_are_built() {
    let mut query = vec![0, 7, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    query.extend_from_slice(b"\x07example\x03com\x00\x00\x01\x00\x01");
    let mut reply = query.clone();
    reply[2] = 0x81;
    reply[3] = 0x80;
    reply[7] = 1;
    reply.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 93, 184, 216, 34]);
    let frames = [udp_frame(&query), udp_frame(&reply)];
    let run_with = |dns_transactions: bool| {
        let mut src = FileSource::from_reader(Path::new("test"), Cursor::new(pcap(&frames)), None)
            .expect("pcap");
        let mut sink = Collect::default();
        let config = Config {
            threads: 1,
            dns_transactions,
            ..Config::default()
        };
        analyze(&mut src, &config, &mut sink, &mut |_, _| {}).expect("runs");
        sink.0
    };
    let count = |events: &[Event], dns: bool| {
        events
            .iter()
            .filter(|e| match &e.kind {
                EventKind::Dns(_) => dns,
                EventKind::DnsMessage(_) => !dns,
                _ => false,
            })
            .count()
    };
    let with = run_with(true);
    let without = run_with(false);
    assert_eq!((count(&with, true), count(&with, false)), (1, 2));
    assert_eq!((count(&without, true), count(&without, false)), (0, 2));
}
