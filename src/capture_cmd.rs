//! `tcheck capture`: capture an interface into pcapng and analyse while capturing.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use tcheck_capture::{CaptureOptions, EndReason, LiveCapture};
use tcheck_engine::verdict::LiveDetection;

use crate::analyze::AnalysisOpts;

/// Options of `tcheck capture`.
#[derive(Debug, Args)]
pub struct CaptureArgs {
    /// The interface to capture (the access point's, e.g. `wlan1`, or a wired one).
    #[arg(long, value_name = "IF")]
    interface: String,
    /// The capture file (pcapng; an existing file is never overwritten).
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Stop after this long: seconds, or with a unit (`90s`, `10m`, `1h`).
    #[arg(long, value_name = "TIME", value_parser = parse_duration)]
    duration: Option<Duration>,
    /// A capture filter in libpcap's syntax (e.g. `not port 22`).
    #[arg(long, value_name = "BPF")]
    filter: Option<String>,
    /// Stop once this many megabytes were captured.
    #[arg(long, value_name = "MB")]
    max_size: Option<u64>,
    /// Start a new file (`FILE.1.pcapng`, …) before one exceeds this many megabytes.
    #[arg(long, value_name = "MB")]
    rotate_size: Option<u64>,
    /// Put the interface in promiscuous mode.
    #[arg(long)]
    promisc: bool,
    /// What to run on the packets and what to write.
    #[command(flatten)]
    analysis: AnalysisOpts,
}

/// Parses `90`, `90s`, `10m` or `1h`.
fn parse_duration(s: &str) -> std::result::Result<Duration, String> {
    let s = s.trim();
    let (digits, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("`{s}` is not a duration (e.g. 90, 90s, 10m, 1h)"))?;
    let secs = match unit {
        "s" => n,
        "m" => n.saturating_mul(60),
        "h" => n.saturating_mul(3600),
        _ => return Err(format!("`{s}`: the unit is s, m or h")),
    };
    if secs == 0 {
        return Err("a duration of zero captures nothing".into());
    }
    Ok(Duration::from_secs(secs))
}

/// Runs `tcheck capture`.
pub fn run(args: &CaptureArgs) -> Result<ExitCode> {
    let mb = |n: u64| n.saturating_mul(1 << 20);
    let options = CaptureOptions {
        filter: args.filter.clone(),
        promisc: args.promisc,
        max_duration: args.duration,
        max_bytes: args.max_size.map(mb),
        rotate_bytes: args.rotate_size.map(mb),
        ..CaptureOptions::new(&args.interface, &args.out)
    };
    let mut capture = LiveCapture::open(options)?;
    let stop = capture.stop_handle();
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, stop.flag())
            .with_context(|| format!("cannot handle signal {signal}"))?;
    }
    let counters = capture.counters();
    let mut err = std::io::stderr().lock();
    writeln!(
        err,
        "tcheck: capturing on {} into {} (Ctrl-C stops)",
        args.interface,
        args.out.display()
    )?;
    drop(err);
    let on_detect = Box::new(|d: &LiveDetection| {
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "{}", detection_line(d));
    });
    let code =
        crate::analyze::run_source(&args.out, &mut capture, &args.analysis, Some(on_detect))?;
    let c = counters.get();
    let why = match capture.ended() {
        Some(EndReason::Stopped) => "stopped",
        Some(EndReason::Duration) => "duration reached",
        Some(EndReason::Size) => "size limit reached",
        Some(EndReason::InterfaceGone) => "the interface stopped delivering",
        None => "ended",
    };
    let mut err = std::io::stderr().lock();
    writeln!(
        err,
        "tcheck: capture {why}: {} packets, {} bytes, {} dropped by the kernel, {} by the interface; files: {}",
        c.packets,
        c.bytes,
        c.dropped,
        c.if_dropped,
        capture
            .files()
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    )?;
    Ok(code)
}

/// One line per live detection, with what traffic showed kept printable.
fn detection_line(d: &LiveDetection) -> String {
    let mut what = d.ioc.tag.clone();
    if let Some(app) = &d.ioc.app {
        what = format!("{what} {app}");
    }
    format!(
        "tcheck: detected at {}: {} ({}) matches the {} indicator {} [{}] from {}",
        d.ts.iso_seconds(),
        crate::analyze::sanitize(&d.value),
        d.seen.label(),
        d.ioc.kind,
        crate::analyze::sanitize(&d.ioc.value),
        crate::analyze::sanitize(what.trim()),
        crate::analyze::sanitize(&d.ioc.source)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_units_and_refuse_nonsense() {
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert!(parse_duration("0").is_err());
        assert!(parse_duration("5d").is_err());
        assert!(parse_duration("soon").is_err());
    }
}
