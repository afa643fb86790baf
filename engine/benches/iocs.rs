//! The cost of matching with many indicators: 100,000 domain indicators (the shared feeds'
//! 3,000-odd real ones plus synthetic ones up to 100k) and 100,000 addresses and networks,
//! against the names and addresses a phone produces.
//!
//! - `iocs/match_domain`: the names of the shared feeds (hits) and as many unrelated
//!   five-label names (misses), each looked up with all its parents.
//! - `iocs/match_ip`: addresses inside and outside 50,000 networks of mixed lengths and
//!   50,000 addresses.
//! - `iocs/build`: indexing the 200,000 indicators.
//!
//! Run: `cargo bench -p tcheck-engine --bench iocs` (needs `../../shared/feeds`, or
//! `$TCHECK_SHARED`).

#![allow(clippy::expect_used)]

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use tcheck_engine::ioc::import::{read, Format};
use tcheck_engine::ioc::{normalise, Ioc, IocKind, IocSet};

fn shared() -> PathBuf {
    std::env::var_os("TCHECK_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared")))
}

fn ioc(kind: IocKind, value: &str) -> Ioc {
    Ioc {
        kind,
        value: normalise(kind, value).expect("valid"),
        tag: "stalkerware".into(),
        app: None,
        tlp: None,
        source: "bench".into(),
    }
}

/// The real feeds, then synthetic domains, networks and addresses up to the counts.
fn indicators() -> Vec<Ioc> {
    let mut all = Vec::new();
    for rel in ["tinycheck/iocs.json", "echap/network.csv"] {
        let path = shared().join("feeds").join(rel);
        let data = std::fs::read(&path).expect("the shared feeds");
        let f = Format::detect(rel, &data);
        all.extend(read(f, rel, &data, "stalkerware").expect("feed").iocs);
    }
    let domains = all.iter().filter(|i| i.kind == IocKind::Domain).count();
    for i in domains..100_000 {
        all.push(ioc(
            IocKind::Domain,
            &format!("host{i}.spy{}.example", i % 977),
        ));
    }
    for i in 0..50_000u32 {
        let a = Ipv4Addr::from(0x2d00_0000 + i * 256);
        all.push(ioc(IocKind::Cidr, &format!("{a}/{}", 16 + i % 17)));
        all.push(ioc(
            IocKind::Ip,
            &Ipv4Addr::from(0x5000_0000 + i * 7).to_string(),
        ));
    }
    all
}

fn bench(c: &mut Criterion) {
    let iocs = indicators();
    let set = IocSet::new(iocs.clone());
    let mut names: Vec<String> = iocs
        .iter()
        .filter(|i| i.kind == IocKind::Domain)
        .take(1000)
        .map(|i| format!("cdn.{}", i.value))
        .collect();
    names.extend((0..1000).map(|i| format!("a{i}.b.c.notlisted{i}.com")));
    let mut g = c.benchmark_group("iocs");
    g.throughput(Throughput::Elements(names.len() as u64));
    g.bench_function("match_domain", |b| {
        b.iter(|| {
            names
                .iter()
                .map(|n| set.match_domain(black_box(n)).len())
                .sum::<usize>()
        })
    });
    let addrs: Vec<IpAddr> = (0..2000u32)
        .map(|i| IpAddr::V4(Ipv4Addr::from(0x2d00_0000 + i * 97_003)))
        .collect();
    g.throughput(Throughput::Elements(addrs.len() as u64));
    g.bench_function("match_ip", |b| {
        b.iter(|| {
            addrs
                .iter()
                .map(|a| set.match_ip(black_box(*a)).len())
                .sum::<usize>()
        })
    });
    g.throughput(Throughput::Elements(iocs.len() as u64));
    g.sample_size(10);
    g.bench_function("build", |b| {
        b.iter(|| IocSet::new(black_box(iocs.clone())).len())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
