//! `tcheck bench --rules FILE... CAPTURE...`: what a rule set costs. Runs the captures
//! without rules, with them, and with them under profiling, and prints throughput, rule-load
//! time, peak memory and the costliest rules (checks, matches, time share), as Suricata's
//! rule profiling does.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Args;
use serde::Serialize;
use tcheck_engine::detect::Detection;
use tcheck_engine::output::EventSink;
use tcheck_engine::{analyze, Config, Event, EventKind, FileSource};

/// Options of `tcheck bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Captures to run (pcap or pcapng). Captures given after `--rules` are recognised by
    /// their magic number, so `--rules a.rules b.rules cap.pcap` works as written.
    captures: Vec<PathBuf>,
    /// Rule files.
    #[arg(long = "rules", value_name = "FILE", num_args = 1.., required = true)]
    rules: Vec<PathBuf>,
    /// Set a rule variable, e.g. `HOME_NET=[10.0.0.0/8]` (repeatable).
    #[arg(long = "var", value_name = "NAME=VALUE")]
    vars: Vec<String>,
    /// Worker threads (default: one per core).
    #[arg(long, value_name = "N", default_value_t = 0)]
    threads: usize,
    /// Rules listed in the profile.
    #[arg(long, value_name = "N", default_value_t = 20)]
    top: usize,
    /// Skip the profiling run (it times every rule check, so it runs slower).
    #[arg(long)]
    no_profile: bool,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// Counts events and alerts, and keeps nothing.
#[derive(Default)]
struct Counter {
    events: u64,
    alerts: u64,
}

impl EventSink for Counter {
    fn event(&mut self, event: &Event) -> tcheck_engine::Result<()> {
        self.events += 1;
        if matches!(event.kind, EventKind::Alert(_)) {
            self.alerts += 1;
        }
        Ok(())
    }
}

/// One configuration's figures over all captures.
#[derive(Debug, Default, Serialize)]
struct RunFigures {
    seconds: f64,
    mb_per_s: f64,
    packets_per_s: f64,
    /// Peak resident memory of the process during the run, in MiB (Linux).
    peak_rss_mib: Option<f64>,
    events: u64,
    alerts: u64,
}

/// A rule's line of the profile.
#[derive(Debug, Serialize)]
struct ProfileLine {
    sid: u32,
    msg: String,
    checks: u64,
    matches: u64,
    ms: f64,
    share_percent: f64,
}

#[derive(Debug, Serialize)]
struct Report {
    captures: Vec<String>,
    bytes: u64,
    packets: u64,
    threads: usize,
    rules_loaded: usize,
    rules_failed: usize,
    rule_load_seconds: f64,
    no_rules: RunFigures,
    with_rules: RunFigures,
    /// Time with rules over time without, minus one, in percent.
    overhead_percent: f64,
    profile_seconds: Option<f64>,
    /// Time spent checking rules in the profiling run (all threads), in ms.
    profile_rule_ms: Option<f64>,
    profile: Vec<ProfileLine>,
}

/// Resets the kernel's peak-RSS mark of this process (Linux); false where it cannot.
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// The peak RSS since the last reset, in MiB (Linux).
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// Runs every capture with `detection`; returns the figures and the bytes and packets read.
fn run(
    captures: &[PathBuf],
    threads: usize,
    detection: Option<Arc<Detection>>,
) -> Result<(RunFigures, u64, u64)> {
    let config = Config {
        threads,
        detection,
        ..Config::default()
    };
    let reset = reset_peak_rss();
    let mut sink = Counter::default();
    let (mut bytes, mut packets) = (0u64, 0u64);
    let mut elapsed = Duration::ZERO;
    for path in captures {
        let mut source = FileSource::open(path).map_err(anyhow::Error::from)?;
        let started = Instant::now();
        let stats = analyze(&mut source, &config, &mut sink, &mut |_, _| {})
            .with_context(|| path.display().to_string())?;
        elapsed += started.elapsed();
        bytes += stats.decode.bytes;
        packets += stats.decode.packets;
    }
    let secs = elapsed.as_secs_f64().max(1e-9);
    Ok((
        RunFigures {
            seconds: secs,
            mb_per_s: bytes as f64 / 1e6 / secs,
            packets_per_s: packets as f64 / secs,
            peak_rss_mib: if reset { peak_rss_mib() } else { None },
            events: sink.events,
            alerts: sink.alerts,
        },
        bytes,
        packets,
    ))
}

/// Whether the file at `path` starts with a pcap or pcapng magic number.
fn is_capture(path: &Path) -> bool {
    const MAGICS: [[u8; 4]; 5] = [
        [0xd4, 0xc3, 0xb2, 0xa1],
        [0xa1, 0xb2, 0xc3, 0xd4],
        [0x4d, 0x3c, 0xb2, 0xa1],
        [0xa1, 0xb2, 0x3c, 0x4d],
        [0x0a, 0x0d, 0x0d, 0x0a],
    ];
    let mut magic = [0u8; 4];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok()
        && MAGICS.contains(&magic)
}

/// Runs `tcheck bench`.
pub fn run_bench(args: &BenchArgs) -> Result<ExitCode> {
    // `--rules` takes every value up to the next option: the captures written after the rule
    // files land there too, and are told apart by their content.
    let (captures, rules): (Vec<PathBuf>, Vec<PathBuf>) =
        args.rules.iter().cloned().partition(|p| is_capture(p));
    let captures: Vec<PathBuf> = args.captures.iter().cloned().chain(captures).collect();
    if captures.is_empty() {
        bail!("bench: no capture given (pcap or pcapng files, after the rule files)");
    }
    if rules.is_empty() {
        bail!("bench: no rule file given (--rules FILE...)");
    }
    let files = crate::rules_cmd::read_rule_files(&rules)?;
    let mut vars = tcheck_rules::Vars::default();
    crate::rules_cmd::apply_vars(&mut vars, &args.vars)?;
    let classes = tcheck_rules::Classifications::default_set();
    let started = Instant::now();
    let (set, load_report) = tcheck_rules::RuleSet::load(&files, &vars);
    let load_seconds = started.elapsed().as_secs_f64();
    let loaded = set.len();
    let detection = Arc::new(Detection::new(set, &classes, false));

    let (no_rules, bytes, packets) = run(&captures, args.threads, None)?;
    let (with_rules, _, _) = run(&captures, args.threads, Some(detection))?;

    let mut profile = Vec::new();
    let (mut profile_seconds, mut profile_rule_ms) = (None, None);
    if !args.no_profile {
        let (mut set, _) = tcheck_rules::RuleSet::load(&files, &vars);
        set.enable_profiling();
        let detection = Arc::new(Detection::new(set, &classes, false));
        let (figures, _, _) = run(&captures, args.threads, Some(Arc::clone(&detection)))?;
        profile_seconds = Some(figures.seconds);
        let lines = detection.rules().profile();
        let total: u64 = lines.iter().map(|l| l.nanos).sum();
        profile_rule_ms = Some(total as f64 / 1e6);
        profile = lines
            .into_iter()
            .filter(|l| l.checks > 0)
            .take(args.top)
            .map(|l| ProfileLine {
                sid: l.sid,
                ms: l.nanos as f64 / 1e6,
                share_percent: if total > 0 {
                    l.nanos as f64 * 100.0 / total as f64
                } else {
                    0.0
                },
                msg: l.msg,
                checks: l.checks,
                matches: l.matches,
            })
            .collect();
    }
    let report = Report {
        captures: captures.iter().map(|p| p.display().to_string()).collect(),
        bytes,
        packets,
        threads: if args.threads == 0 {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            args.threads
        },
        rules_loaded: loaded,
        rules_failed: load_report.errors.len(),
        rule_load_seconds: load_seconds,
        overhead_percent: (with_rules.seconds / no_rules.seconds - 1.0) * 100.0,
        no_rules,
        with_rules,
        profile_seconds,
        profile_rule_ms,
        profile,
    };
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
    } else {
        print_table(&mut out, &report)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn print_table(out: &mut impl Write, r: &Report) -> Result<()> {
    writeln!(
        out,
        "{} capture(s), {:.1} MB, {} packets, {} thread(s)",
        r.captures.len(),
        r.bytes as f64 / 1e6,
        r.packets,
        r.threads
    )?;
    writeln!(
        out,
        "rules: {} loaded, {} failed, loaded in {:.3} s",
        r.rules_loaded, r.rules_failed, r.rule_load_seconds
    )?;
    writeln!(
        out,
        "{:<12} {:>9} {:>9} {:>12} {:>10} {:>8}",
        "", "seconds", "MB/s", "packets/s", "peak MiB", "alerts"
    )?;
    for (name, f) in [("no rules", &r.no_rules), ("with rules", &r.with_rules)] {
        let peak = f
            .peak_rss_mib
            .map_or_else(|| "-".to_string(), |m| format!("{m:.0}"));
        writeln!(
            out,
            "{:<12} {:>9.3} {:>9.1} {:>12.0} {:>10} {:>8}",
            name, f.seconds, f.mb_per_s, f.packets_per_s, peak, f.alerts
        )?;
    }
    writeln!(out, "rules cost {:+.1}% of the time", r.overhead_percent)?;
    if let (Some(secs), Some(ms)) = (r.profile_seconds, r.profile_rule_ms) {
        writeln!(
            out,
            "\nprofile ({secs:.3} s with timing; {ms:.1} ms checking rules, all threads):"
        )?;
        writeln!(
            out,
            "{:>10} {:>12} {:>10} {:>10} {:>7}  msg",
            "sid", "checks", "matches", "ms", "share"
        )?;
        for l in &r.profile {
            let msg: String = l
                .msg
                .chars()
                .map(|c| if c.is_control() { '?' } else { c })
                .take(60)
                .collect();
            writeln!(
                out,
                "{:>10} {:>12} {:>10} {:>10.2} {:>6.1}%  {}",
                l.sid, l.checks, l.matches, l.ms, l.share_percent, msg
            )?;
        }
    }
    Ok(())
}
