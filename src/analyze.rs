//! `tcheck analyze`: run the engine over a capture, write the requested logs, print a summary.

use std::borrow::Cow;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;
use tcheck_engine::output::eve::{DnsEveOptions, EveOptions};
use tcheck_engine::output::{EveWriter, Fanout, ZeekLogs};
use tcheck_engine::verdict::{
    self, CaptureInfo, Lang, Level, LiveDetection, LiveWatch, Observations, Report, Settings,
};
use tcheck_engine::{analyze, Config, FileSource, PacketSource, Summary};

/// Options of `tcheck analyze`.
#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    /// The capture to analyse (pcap or pcapng), or a DNS service's query log (AdGuard Home
    /// `querylog.json`, Pi-hole `pihole-FTL.db`, NextDNS CSV export) for a DNS-only analysis.
    capture: PathBuf,
    /// What to run and what to write.
    #[command(flatten)]
    opts: AnalysisOpts,
}

/// What an analysis runs and writes, whatever its packets come from (a file or a live
/// capture).
#[derive(Clone, Debug, Args)]
pub struct AnalysisOpts {
    /// Write Zeek-style logs (JSON lines) into this directory.
    #[arg(long, value_name = "DIR")]
    logs: Option<PathBuf>,
    /// Write Suricata-compatible EVE JSON to this file.
    #[arg(long, value_name = "FILE")]
    eve: Option<PathBuf>,
    /// Print the summary as JSON instead of text.
    #[arg(long)]
    json: bool,
    /// Worker threads (default: one per core).
    #[arg(long, value_name = "N", default_value_t = 0)]
    threads: usize,
    /// Live flows kept at most (the least recently active are evicted beyond).
    #[arg(long, value_name = "N")]
    max_flows: Option<usize>,
    /// Bytes of each TCP direction handed to the dissectors (0: no limit).
    #[arg(long, value_name = "BYTES")]
    stream_depth: Option<u64>,
    /// Out-of-order TCP bytes buffered across all streams at most.
    #[arg(long, value_name = "BYTES")]
    stream_memcap: Option<usize>,
    /// Dissect TCP connections picked up without their handshake (Suricata's midstream).
    #[arg(long)]
    midstream: bool,
    /// EVE event types to write, comma-separated (default: all).
    #[arg(long, value_name = "TYPES", value_delimiter = ',')]
    eve_types: Option<Vec<String>>,
    /// EVE DNS format: 3 (default) or 2.
    #[arg(long, value_name = "2|3", default_value_t = 3, value_parser = clap::value_parser!(u8).range(2..=3))]
    eve_dns_version: u8,
    /// EVE TLS fields to print, comma-separated, as Suricata's `tls.custom` (e.g.
    /// `subject,issuer,sni,client_handshake`); default: Suricata's default set.
    #[arg(long, value_name = "FIELDS", value_delimiter = ',')]
    eve_tls_custom: Option<Vec<String>>,
    /// Print MAC addresses in EVE (`ether`), as Suricata's `ethernet: yes`.
    #[arg(long)]
    eve_ethernet: bool,
    /// Print each flow's Community ID in EVE, with this seed (usually 0).
    #[arg(long, value_name = "SEED")]
    eve_community_id: Option<u16>,
    /// EVE DNS: do not log requests (Suricata's `requests: no`).
    #[arg(long)]
    eve_dns_no_requests: bool,
    /// EVE DNS: do not log responses (Suricata's `responses: no`).
    #[arg(long)]
    eve_dns_no_responses: bool,
    /// EVE DNS: log only messages asking for these record types, comma-separated
    /// (Suricata's `types:` names: a, aaaa, mx, txt, ...).
    #[arg(long, value_name = "TYPES", value_delimiter = ',')]
    eve_dns_types: Option<Vec<String>>,
    /// EVE DNS: answer formats, comma-separated: `detailed` (the `answers` list), `grouped`
    /// (data by record type); default and empty: both.
    #[arg(long, value_name = "FORMATS", value_delimiter = ',')]
    eve_dns_formats: Option<Vec<String>>,
    /// Suricata rule files to run (repeatable; rules that cannot be loaded are listed on
    /// stderr and skipped).
    #[arg(long = "rules", value_name = "FILE", num_args = 1..)]
    rules: Vec<PathBuf>,
    /// Set a rule variable, e.g. `HOME_NET=[10.0.0.0/8]` or `HTTP_PORTS=80` (repeatable).
    #[arg(long = "var", value_name = "NAME=VALUE")]
    vars: Vec<String>,
    /// A `classification.config` for alert categories and severities (default: Suricata's).
    #[arg(long, value_name = "FILE")]
    classification: Option<PathBuf>,
    /// IPS simulation: `drop` rules report `blocked` and stop inspection of their flow.
    #[arg(long)]
    ips: bool,
    /// EVE alerts carry the packet that matched (`packet`, `packet_info`).
    #[arg(long)]
    eve_alert_packet: bool,
    /// EVE alerts carry the payload that matched (`payload`, `stream`).
    #[arg(long)]
    eve_alert_payload: bool,
    /// Indicator files to match (TinyCheck feed, Echap CSV, STIX 2.1, MISP, plain list;
    /// repeatable), added to the bundled feeds.
    #[arg(long = "iocs", value_name = "FILE", num_args = 1..)]
    iocs: Vec<PathBuf>,
    /// Whitelist files (TinyCheck whitelist or plain list; repeatable): they silence
    /// heuristics on a host, never an indicator.
    #[arg(long = "whitelist", value_name = "FILE", num_args = 1..)]
    whitelist: Vec<PathBuf>,
    /// Do not use the bundled indicator feeds and whitelist.
    #[arg(long)]
    no_default_iocs: bool,
    /// Write the report (verdict, alerts, device, connections) to this file: JSON for a
    /// `.json` name, a self-contained HTML page for `.html` (repeatable).
    #[arg(long, value_name = "OUT.json|OUT.html")]
    report: Vec<PathBuf>,
    /// The access point's SSID (reported if the phone sends it in clear text).
    #[arg(long, value_name = "NAME")]
    ssid: Option<String>,
    /// The device's name, as its owner knows it (repeatable).
    #[arg(long = "device-name", value_name = "NAME")]
    device_names: Vec<String>,
    /// Switch a heuristic off, by id (repeatable): nonstandard_port, self_signed,
    /// unresolved_ip, uncommon_port, free_ca, cleartext_http, beaconing, upload,
    /// several_alerts.
    #[arg(long = "no-heuristic", value_name = "ID")]
    no_heuristics: Vec<String>,
    /// DNS-only analysis: keep the queries of this client address only (query logs hold
    /// every device of the network).
    #[arg(long, value_name = "ADDR")]
    dns_client: Option<std::net::IpAddr>,
    /// The indicator database (default: $TCHECK_DB, else $XDG_DATA_HOME/tcheck/tcheck.db,
    /// used when it exists; without one, the bundled feeds). The analysis and its report
    /// are stored in it.
    #[command(flatten)]
    db: crate::db_cmd::DbArg,
    /// A configuration file (TOML) whose `[heuristics]` table sets the heuristics'
    /// thresholds and switches (see docs/tcheck.example.toml).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Language of the verdict and the report: en, fr, es, de, it, pt, ru.
    #[arg(long, value_name = "CODE", default_value = "en", value_parser = parse_lang)]
    lang: String,
}

impl AnalysisOpts {
    /// The same options, writing the Zeek-style logs into `logs` and, unless an EVE file
    /// was asked for elsewhere, the EVE file there too.
    pub fn with_logs(&self, logs: &Path) -> Self {
        AnalysisOpts {
            logs: Some(logs.to_path_buf()),
            eve: Some(self.eve.clone().unwrap_or_else(|| logs.join("eve.json"))),
            ..self.clone()
        }
    }

    /// Where the Zeek-style logs go, if anywhere.
    pub fn logs_dir(&self) -> Option<&Path> {
        self.logs.as_deref()
    }

    /// The configuration file given with `--config`, if any.
    pub fn config_file(&self) -> Option<&Path> {
        self.config.as_deref()
    }

    /// The report's language code.
    pub fn language(&self) -> &str {
        &self.lang
    }

    /// Sets the report's language (a code of [`Lang`]).
    pub fn set_language(&mut self, code: &str) {
        self.lang = code.to_string();
    }

    /// The indicator database option.
    pub fn db(&self) -> &crate::db_cmd::DbArg {
        &self.db
    }
}

fn parse_lang(code: &str) -> std::result::Result<String, String> {
    match Lang::get(code) {
        Some(l) => Ok(l.code().to_string()),
        None => Err(format!(
            "no report language `{code}` (available: {})",
            tcheck_engine::verdict::lang::codes()
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// Loads the rules of `args` (if any) into a detection for the engine; rule errors go to
/// stderr, one line each.
pub fn load_detection(
    rules: &[PathBuf],
    feed_rules: &[(String, String)],
    vars: &[String],
    classification: Option<&PathBuf>,
    ips: bool,
) -> Result<Option<std::sync::Arc<tcheck_engine::detect::Detection>>> {
    if rules.is_empty() && feed_rules.is_empty() {
        return Ok(None);
    }
    let mut files = crate::rules_cmd::read_rule_files(rules)?;
    files.extend(feed_rules.iter().cloned());
    let mut v = tcheck_rules::Vars::default();
    crate::rules_cmd::apply_vars(&mut v, vars)?;
    let (set, report) = tcheck_rules::RuleSet::load(&files, &v);
    let mut err = std::io::stderr().lock();
    for e in &report.errors {
        writeln!(err, "tcheck: rule skipped: {e}")?;
    }
    if !report.errors.is_empty() {
        writeln!(
            err,
            "tcheck: {} rules loaded, {} skipped",
            set.len(),
            report.errors.len()
        )?;
    }
    let classes = match classification {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| path.display().to_string())?;
            let (classes, errors) = tcheck_rules::Classifications::parse(&text);
            for (line, why) in errors {
                writeln!(err, "tcheck: {}:{line}: {why}", path.display())?;
            }
            classes
        }
        None => tcheck_rules::Classifications::default_set(),
    };
    Ok(Some(std::sync::Arc::new(
        tcheck_engine::detect::Detection::new(set, &classes, ips),
    )))
}

/// The EVE DNS options of `args`, as Suricata reads its `eve-log.types.dns` settings: record
/// type names it does not know select nothing, an empty or unknown format list means all.
fn dns_eve_options(args: &AnalysisOpts) -> Result<DnsEveOptions> {
    let mut opts = DnsEveOptions {
        version: args.eve_dns_version,
        requests: !args.eve_dns_no_requests,
        responses: !args.eve_dns_no_responses,
        ..DnsEveOptions::default()
    };
    if let Some(names) = &args.eve_dns_types {
        let mut types = std::collections::BTreeSet::new();
        for name in names.iter().filter(|n| !n.trim().is_empty()) {
            match DnsEveOptions::rrtype_by_name(name) {
                Some(t) => {
                    types.insert(t);
                }
                None => writeln!(
                    std::io::stderr().lock(),
                    "tcheck: --eve-dns-types: unknown record type {name:?}, ignored"
                )?,
            }
        }
        opts.types = Some(types);
    }
    if let Some(formats) = &args.eve_dns_formats {
        let detailed = formats
            .iter()
            .any(|f| f.trim().eq_ignore_ascii_case("detailed"));
        let grouped = formats
            .iter()
            .any(|f| f.trim().eq_ignore_ascii_case("grouped"));
        if detailed || grouped {
            opts.detailed = detailed;
            opts.grouped = grouped;
        }
    }
    Ok(opts)
}

/// Inputs larger than this get a progress bar (when stderr is a terminal).
const PROGRESS_MIN_BYTES: u64 = 32 << 20;

pub fn run(args: &AnalyzeArgs) -> Result<ExitCode> {
    if let Some(kind) = crate::dnslog::detect(&args.capture)? {
        return run_dns_log(&args.capture, &args.opts, kind);
    }
    let mut source = FileSource::open(&args.capture).map_err(anyhow::Error::from)?;
    run_source(&args.capture, &mut source, &args.opts, None)
}

/// Reports what a live capture shows as it happens.
pub type OnDetection = Box<dyn FnMut(&LiveDetection) + Send>;

/// Analyses what `source` yields (read from, or being written to, `input`), writes the logs
/// and reports `args` asks for and prints the verdict. With `live`, indicators are also
/// matched as events arrive and each new detection is handed to it; the input file is then
/// hashed once the source is exhausted, rather than alongside.
///
/// For a command whose process ends when this returns: what the analysis worked with is
/// left for the exit to take back whole ([`LiveHooks::process_ends`]).
pub fn run_source(
    input: &Path,
    source: &mut (dyn PacketSource + Send),
    args: &AnalysisOpts,
    live: Option<OnDetection>,
) -> Result<ExitCode> {
    let hooks = LiveHooks {
        on_detect: live,
        sinks: Vec::new(),
        process_ends: true,
    };
    let (summary, report) = analyse_source(input, source, args, hooks)?;
    // Buffered: the standard output flushes at every line, which cost a system call for
    // each of thousands of alerts and pretty-printed JSON lines.
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if args.json {
        let mut v = serde_json::to_value(&summary)?;
        if let Some(o) = v.as_object_mut() {
            o.insert("report".into(), serde_json::to_value(&report)?);
        }
        serde_json::to_writer_pretty(&mut out, &v)?;
        writeln!(out)?;
    } else {
        print_verdict(&mut out, &report)?;
        print_text(&mut out, &summary, input)?;
    }
    out.flush()?;
    // Left for the exit, as what the analysis worked with (see `LiveHooks::process_ends`).
    std::mem::forget(summary);
    std::mem::forget(report);
    Ok(ExitCode::SUCCESS)
}

/// What an analysis can be given besides its options: a handler for indicators seen while
/// it runs, more event sinks (a user interface's live view), and whether the process ends
/// with it.
#[derive(Default)]
pub struct LiveHooks {
    /// Called for each indicator the moment the traffic reveals it.
    pub on_detect: Option<OnDetection>,
    /// Further sinks, handed every event.
    pub sinks: Vec<Box<dyn tcheck_engine::output::EventSink + Send>>,
    /// The process ends once the analysis is reported (a command, not the server): the
    /// observations, indicators and rules are then not freed one allocation at a time but
    /// left for the exit to take back whole. With two threads, where most of that memory
    /// was allocated by another thread, freeing it took 10 to 19 ms of 0.42 to 0.50 s on
    /// the benchmark capture (three medians of 15 to 25 runs, timed in turn), after
    /// everything else was done.
    pub process_ends: bool,
}

/// Runs the analysis of [`run_source`] and writes the outputs `args` asks for; returns the
/// summary and the report instead of printing them.
pub fn analyse_source(
    input: &Path,
    source: &mut (dyn PacketSource + Send),
    args: &AnalysisOpts,
    hooks: LiveHooks,
) -> Result<(Summary, Report)> {
    let LiveHooks {
        on_detect: live,
        sinks: mut extra_sinks,
        process_ends,
    } = hooks;
    let mut config = Config {
        threads: args.threads,
        ..Config::default()
    };
    if let Some(n) = args.max_flows {
        config.flow.max_flows = n;
    }
    if let Some(d) = args.stream_depth {
        config.stream.limits.depth = d;
    }
    if let Some(m) = args.stream_memcap {
        config.stream.memcap = m;
    }
    config.stream.midstream = args.midstream;
    // Zeek's DNS transactions and decoded HTTP response bodies feed Zeek's logs only (EVE
    // writes a body's length as sent); a sink of a user interface may read them.
    let zeek_records_read = args.logs.is_some() || !extra_sinks.is_empty();
    config.dns_transactions = zeek_records_read;
    config.http_response_decoding = zeek_records_read;
    let (indicators, mut store) = crate::indicators::load(
        args.no_default_iocs,
        Some(&args.db),
        &args.iocs,
        &args.whitelist,
    )?;
    for r in &args.report {
        report_format(r)?;
    }
    let settings = settings(args)?;
    config.detection = load_detection(
        &args.rules,
        &indicators.rules,
        &args.vars,
        args.classification.as_ref(),
        args.ips,
    )?
    .map(|mut d| {
        if let Some(det) = std::sync::Arc::get_mut(&mut d) {
            det.log_packet = args.eve_alert_packet;
            det.log_payload = args.eve_alert_payload;
        }
        d
    });
    let mut logs = match &args.logs {
        Some(dir) => Some(ZeekLogs::create(dir, &config.local_nets)?),
        None => None,
    };
    let mut eve = match &args.eve {
        Some(path) => Some(EveWriter::create_with(
            path,
            EveOptions {
                types: args
                    .eve_types
                    .as_ref()
                    .map(|t| t.iter().map(|s| s.trim().to_string()).collect()),
                dns: dns_eve_options(args)?,
                tls_custom: args.eve_tls_custom.clone(),
                ethernet: args.eve_ethernet,
                community_id: args.eve_community_id,
            },
        )?),
        None => None,
    };
    // The capture's hash, for reports, read alongside the analysis.
    let want_hash = !args.report.is_empty() || args.json || store.is_some();
    let hasher = (want_hash && live.is_none()).then(|| {
        let path = input.to_path_buf();
        std::thread::spawn(move || file_sha256(&path))
    });
    let mut summary = Summary::default();
    let mut observations = Observations::with_identity(&args.device_names, args.ssid.as_deref());
    let mut watch = live.map(|on_detect| LiveWatch::new(indicators.iocs.clone(), on_detect));
    let stats = {
        let mut sinks = Fanout::new();
        sinks.push(&mut summary);
        sinks.push(&mut observations);
        if let Some(w) = watch.as_mut() {
            sinks.push(w);
        }
        for extra in extra_sinks.iter_mut() {
            sinks.push(extra.as_mut());
        }
        if let Some(l) = logs.as_mut() {
            sinks.push(l);
        }
        if let Some(e) = eve.as_mut() {
            sinks.push(e);
        }
        let bar = progress_bar(source.total_size());
        let mut progress = |pos: u64, _total: Option<u64>| {
            if let Some(b) = &bar {
                b.set_position(pos);
            }
        };
        let stats = analyze(source, &config, &mut sinks, &mut progress)
            .with_context(|| input.display().to_string())?;
        if let Some(b) = bar {
            b.finish_and_clear();
        }
        stats
    };
    summary.add_run(&stats);
    let capture = CaptureInfo {
        file: input.display().to_string(),
        sha256: match hasher {
            Some(h) => h
                .join()
                .map_err(|_| anyhow::anyhow!("the hashing thread panicked"))??,
            None if want_hash => file_sha256(input)?,
            None => String::new(),
        },
        packets: summary.packets,
        bytes: summary.bytes,
        start: summary.start.clone(),
        end: summary.end.clone(),
    };
    let report = on_threads(args.threads, || {
        verdict::assess(
            &observations,
            &indicators.iocs,
            &indicators.whitelist,
            &settings,
            capture,
        )
    })?;
    write_reports(args, &report, store.as_mut())?;
    if process_ends {
        // Nothing here holds a file or a connection: the sinks were finished, the files
        // and the database are dropped as usual.
        std::mem::forget(observations);
        std::mem::forget(indicators);
        std::mem::forget(config);
    }
    Ok((summary, report))
}

/// Runs `f` on as many threads as the analysis ran on (`threads`; 0: one per core): on the
/// calling thread alone for one, otherwise installed in a rayon pool.
fn on_threads<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> Result<T> {
    if threads == 1 {
        return Ok(f());
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("cannot start the report's threads")?;
    Ok(pool.install(f))
}

/// The heuristics' settings: the configuration file's, then the options.
fn settings(args: &AnalysisOpts) -> Result<Settings> {
    let mut s = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| path.display().to_string())?;
            Settings::from_toml(&path.display().to_string(), &text).map_err(anyhow::Error::msg)?
        }
        None => Settings::default(),
    };
    s.disabled.extend(args.no_heuristics.iter().cloned());
    s.device_names = args.device_names.clone();
    s.lang = Lang::get(&args.lang).unwrap_or_default();
    Ok(s)
}

/// Writes the reports `--report` asks for, and stores the analysis in the database in use.
fn write_reports(
    args: &AnalysisOpts,
    report: &Report,
    store: Option<&mut tcheck_store::Store>,
) -> Result<()> {
    if let Some(s) = store {
        s.save_analysis(
            &report.capture.file,
            &report.capture.sha256,
            report.verdict.level,
            &serde_json::to_string(report)?,
        )?;
    }
    for path in &args.report {
        let bytes = if report_format(path)? {
            crate::report_html::render(report).into_bytes()
        } else {
            serde_json::to_vec_pretty(report)?
        };
        std::fs::write(path, bytes).with_context(|| path.display().to_string())?;
    }
    Ok(())
}

/// A DNS-only analysis: a query log instead of a capture.
fn run_dns_log(
    input: &Path,
    args: &AnalysisOpts,
    kind: crate::dnslog::LogKind,
) -> Result<ExitCode> {
    for r in &args.report {
        report_format(r)?;
    }
    let (indicators, mut store) = crate::indicators::load(
        args.no_default_iocs,
        Some(&args.db),
        &args.iocs,
        &args.whitelist,
    )?;
    let entries = crate::dnslog::read(input, kind)?;
    let mut obs = Observations::default();
    obs.add_dns_log(&entries, args.dns_client);
    let clients: std::collections::BTreeSet<_> = entries.iter().filter_map(|e| e.client).collect();
    let iso = |t: tcheck_engine::Timestamp| t.iso_seconds();
    let capture = CaptureInfo {
        file: input.display().to_string(),
        sha256: file_sha256(input)?,
        packets: 0,
        bytes: std::fs::metadata(input).map_or(0, |m| m.len()),
        start: obs.span.map(|(a, _)| iso(a)),
        end: obs.span.map(|(_, b)| iso(b)),
    };
    let mut report = verdict::assess(
        &obs,
        &indicators.iocs,
        &indicators.whitelist,
        &settings(args)?,
        capture,
    );
    verdict::note_dns_only(&mut report);
    write_reports(args, &report, store.as_mut())?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if args.json {
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
    } else {
        print_verdict(&mut out, &report)?;
        writeln!(out, "DNS log: {}", input.display())?;
        writeln!(
            out,
            "  {} queries from {} client(s){}, {} distinct names",
            entries.len(),
            clients.len(),
            args.dns_client
                .map(|c| format!(" (kept: {c})"))
                .unwrap_or_default(),
            obs.names.len()
        )?;
        writeln!(out, "  DNS only: connections and traffic were not seen.")?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// Whether a report path asks for HTML (`.html`/`.htm`) rather than JSON (`.json`).
fn report_format(path: &Path) -> Result<bool> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("json") => Ok(false),
        Some("html" | "htm") => Ok(true),
        _ => anyhow::bail!(
            "{}: a report is written as JSON (OUT.json) or HTML (OUT.html)",
            path.display()
        ),
    }
}

/// SHA-256 of a file, hex, read in blocks.
fn file_sha256(path: &Path) -> Result<String> {
    use sha2::Digest;
    use std::io::Read;
    let mut f = std::fs::File::open(path).with_context(|| path.display().to_string())?;
    let mut h = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f
            .read(&mut buf)
            .with_context(|| path.display().to_string())?;
        if n == 0 {
            break;
        }
        h.update(buf.get(..n).unwrap_or(&[]));
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// The verdict and the alerts, first thing on the terminal.
fn print_verdict(out: &mut impl Write, r: &Report) -> Result<()> {
    let lang = Lang::get(&r.language).unwrap_or_default();
    writeln!(
        out,
        "{}: {}",
        lang.t("text.verdict"),
        sanitize(&r.verdict.summary)
    )?;
    let high = lang.t("level.high").to_uppercase();
    let moderate = lang.t("level.moderate").to_uppercase();
    for a in &r.alerts {
        let level = match a.level {
            Level::High => &high,
            Level::Moderate => &moderate,
            Level::Low => lang.t("level.low"),
        };
        let title = sanitize(&a.title);
        match (a.domain.as_deref().or(a.sni.as_deref()), a.ip) {
            (Some(name), _) => writeln!(out, "  [{level}] {title} {}", sanitize(name))?,
            (None, Some(ip)) => writeln!(out, "  [{level}] {title} {ip}")?,
            (None, None) => writeln!(out, "  [{level}] {title} ")?,
        }
    }
    writeln!(out)?;
    Ok(())
}

fn progress_bar(total: Option<u64>) -> Option<indicatif::ProgressBar> {
    let total = total?;
    if total < PROGRESS_MIN_BYTES || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(total);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{bar:40} {bytes}/{total_bytes} ({bytes_per_sec}, {eta} left)",
    ) {
        bar.set_style(style);
    }
    Some(bar)
}

fn print_text(out: &mut impl Write, s: &Summary, input: &Path) -> Result<()> {
    writeln!(out, "Capture: {}", input.display())?;
    writeln!(out, "  {} packets, {} bytes", s.packets, s.bytes)?;
    if let (Some(a), Some(b)) = (&s.start, &s.end) {
        writeln!(out, "  from {a} to {b}")?;
    }
    let flows: u64 = s.flows_by_proto.values().sum();
    writeln!(out, "Flows: {flows}")?;
    for (p, n) in &s.flows_by_proto {
        writeln!(out, "  {p:<20} {n}")?;
    }
    writeln!(out, "Services:")?;
    for (p, n) in &s.flows_by_service {
        writeln!(out, "  {p:<20} {n}")?;
    }
    if !s.names.is_empty() {
        let mut names: Vec<(&String, &u64)> = s.names.iter().collect();
        names.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        writeln!(out, "Names contacted: {}", names.len())?;
        for (name, n) in names.iter().take(25) {
            writeln!(out, "  {:<50} {n}", sanitize(name))?;
        }
        if names.len() > 25 {
            writeln!(out, "  ... and {} more (see --json)", names.len() - 25)?;
        }
    }
    if !s.alerts.is_empty() {
        let total: u64 = s.alerts.values().map(|a| a.count).sum();
        writeln!(out, "Alerts: {total}")?;
        let mut alerts: Vec<_> = s.alerts.iter().collect();
        alerts.sort_by(|a, b| {
            a.1.severity
                .cmp(&b.1.severity)
                .then(b.1.count.cmp(&a.1.count))
        });
        for (sid, a) in alerts {
            writeln!(
                out,
                "  [{}] sid {sid}: {} ({} times; {})",
                a.severity,
                sanitize(&a.msg),
                a.count,
                a.peers.join(", ")
            )?;
        }
    }
    if !s.anomalies.is_empty() || !s.warnings.is_empty() {
        writeln!(out, "Anomalies:")?;
        for (what, n) in &s.anomalies {
            writeln!(out, "  {what}: {n}")?;
        }
        for w in &s.warnings {
            writeln!(out, "  capture: {w}")?;
        }
    }
    Ok(())
}

/// Names come from traffic (and devices, radios): keep terminal control characters out.
/// Each control character (`char::is_control`) becomes `?`; a text without one, nearly
/// every text, is borrowed as it is.
pub fn sanitize(s: &str) -> Cow<'_, str> {
    if !s.chars().any(char::is_control) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(
        s.chars()
            .map(|c| if c.is_control() { '?' } else { c })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::sanitize;

    /// What `sanitize` must give: every control character as `?`.
    fn reference(s: &str) -> String {
        s.chars()
            .map(|c| if c.is_control() { '?' } else { c })
            .collect()
    }

    #[test]
    fn sanitize_replaces_exactly_the_control_characters() {
        // Every character up to U+07FF (all one- and two-byte encodings, so every byte
        // that follows 0xC2), and some longer ones, alone and between other characters.
        let chars = (0u32..0x800)
            .chain([0x2028, 0x202e, 0xfeff, 0xfffd, 0x1f600])
            .filter_map(char::from_u32);
        for c in chars {
            for s in [
                c.to_string(),
                format!("a{c}"),
                format!("{c}b"),
                format!("é{c}\u{85}"),
            ] {
                assert_eq!(sanitize(&s), reference(&s), "{:?}", s);
            }
        }
        assert!(matches!(
            sanitize("www.example.org"),
            std::borrow::Cow::Borrowed(_)
        ));
        assert_eq!(sanitize("a\u{1b}[2Jb\u{9b}c"), "a?[2Jb?c");
    }
}
