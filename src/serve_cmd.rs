//! `tcheck serve`: the kiosk (and, later, the admin backend) on the box.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use ipnet::IpNet;
use tcheck_apctl::ApConfig;
use tcheck_engine::output::EventSink;
use tcheck_engine::verdict::LiveDetection;
use tcheck_engine::PacketSource;
use tcheck_webui::admin::AdminConfig;
use tcheck_webui::kiosk_config::KioskConfig;
use tcheck_webui::{AdminListen, Analyzer, Controller, Outcome, ServerConfig, SourceMode};

use crate::analyze::{analyse_source, AnalysisOpts, LiveHooks};

/// Options of `tcheck serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The address to listen on.
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Where captures and reports are kept (default: $TCHECK_DATA, else
    /// $XDG_DATA_HOME/tcheck/checks).
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// Replay this capture instead of running the access point (demonstrations, training,
    /// tests).
    #[arg(long, value_name = "CAPTURE")]
    replay: Option<PathBuf>,
    /// Replay speed, times the capture's own pace.
    #[arg(long, value_name = "X", default_value_t = 1.0)]
    replay_speed: f64,
    /// A network besides the box itself that may use the kiosk (repeatable; added to
    /// `[kiosk] networks`); the phone's network never may.
    #[arg(long = "kiosk-network", value_name = "CIDR")]
    kiosk_networks: Vec<IpNet>,
    /// Serve the admin backend (HTTPS) on this address too, e.g. `0.0.0.0:8443`.
    #[arg(long, value_name = "ADDR:PORT", requires_all = ["tls_cert", "tls_key"])]
    admin_listen: Option<SocketAddr>,
    /// The admin backend's certificate (PEM; `tcheck admin cert` makes one).
    #[arg(long, value_name = "FILE")]
    tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM).
    #[arg(long, value_name = "FILE")]
    tls_key: Option<PathBuf>,
    /// After each check, leave its EVE JSON (`check-TIME.eve.json`) and its report (one JSON
    /// line, `check-TIME.report.json`) in this directory, complete when they appear, for a
    /// shipper such as Vector or Filebeat (see install/vector.toml).
    #[arg(long, value_name = "DIR")]
    spool: Option<PathBuf>,
    /// The longest capture, in minutes (default: `[kiosk] max_minutes`, else 30).
    #[arg(long, value_name = "MIN")]
    max_minutes: Option<u64>,
    /// The analysis (indicators, rules, heuristics, language); `--config FILE` also sets
    /// the access point (`[ap]`).
    #[command(flatten)]
    analysis: AnalysisOpts,
}

/// The command line's analysis, for the kiosk's checks.
struct Pipeline {
    opts: AnalysisOpts,
    spool: Option<PathBuf>,
}

/// Renames `from` to `to`: files appear in the spool complete or not at all.
fn publish(from: &Path, to: &Path) -> std::result::Result<(), String> {
    std::fs::rename(from, to).map_err(|e| format!("{}: {e}", to.display()))
}

impl Analyzer for Pipeline {
    fn analyze(
        &self,
        input: &Path,
        logs: &Path,
        source: &mut (dyn PacketSource + Send),
        on_detect: Box<dyn FnMut(&LiveDetection) + Send>,
        sink: Box<dyn EventSink + Send>,
    ) -> std::result::Result<Outcome, String> {
        let mut sinks: Vec<Box<dyn EventSink + Send>> = vec![sink];
        let spooled = match &self.spool {
            Some(dir) => {
                std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
                let stamp = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis());
                let base = dir.join(format!("check-{stamp}"));
                let eve_part = base.with_extension("eve.json.part");
                let eve = tcheck_engine::output::EveWriter::create_with(
                    &eve_part,
                    tcheck_engine::output::eve::EveOptions::default(),
                )
                .map_err(|e| e.to_string())?;
                sinks.push(Box::new(eve));
                Some((base, eve_part))
            }
            None => None,
        };
        let hooks = LiveHooks {
            on_detect: Some(on_detect),
            sinks,
            process_ends: false,
        };
        let opts = self.opts.with_logs(logs);
        let (_, report) =
            analyse_source(input, source, &opts, hooks).map_err(|e| format!("{e:#}"))?;
        let json = serde_json::to_value(&report).map_err(|e| e.to_string())?;
        if let Some((base, eve_part)) = spooled {
            publish(&eve_part, &base.with_extension("eve.json"))?;
            let report_part = base.with_extension("report.json.part");
            let mut line = serde_json::to_string(&json).map_err(|e| e.to_string())?;
            line.push('\n');
            std::fs::write(&report_part, line)
                .map_err(|e| format!("{}: {e}", report_part.display()))?;
            publish(&report_part, &base.with_extension("report.json"))?;
        }
        Ok(Outcome {
            report: json,
            html: crate::report_html::render(&report),
        })
    }
}

/// Feeds as `tcheck feeds` manages them.
struct CliFeeds;

impl tcheck_webui::admin::Feeds for CliFeeds {
    fn add(
        &self,
        store: &mut tcheck_store::Store,
        name: &str,
        url: &str,
        whitelist: bool,
    ) -> std::result::Result<(), String> {
        crate::feeds_cmd::add_feed(store, name, url, whitelist).map_err(|e| format!("{e:#}"))
    }

    fn update(
        &self,
        store: &mut tcheck_store::Store,
        names: &[String],
    ) -> std::result::Result<tcheck_webui::admin::FeedResults, String> {
        crate::feeds_cmd::update_feeds(store, names, Duration::from_secs(60))
            .map_err(|e| format!("{e:#}"))
    }
}

fn data_dir(arg: Option<&Path>) -> PathBuf {
    if let Some(d) = arg {
        return d.to_path_buf();
    }
    if let Some(d) = std::env::var_os("TCHECK_DATA") {
        return PathBuf::from(d);
    }
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("tcheck/checks")
}

/// Runs `tcheck serve`.
pub fn run(mut args: ServeArgs) -> Result<ExitCode> {
    let (ap, kiosk) = match args.analysis.config_file() {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| path.display().to_string())?;
            let name = path.display().to_string();
            (
                ApConfig::from_toml(&name, &text).map_err(anyhow::Error::msg)?,
                KioskConfig::from_toml(&name, &text).map_err(anyhow::Error::msg)?,
            )
        }
        None => (ApConfig::default(), KioskConfig::default()),
    };
    // The file's language unless --lang chose another than the default.
    if args.analysis.language() == "en" {
        args.analysis.set_language(&kiosk.language);
    }
    let mut kiosk_networks = kiosk.networks.clone();
    kiosk_networks.extend(args.kiosk_networks.iter().copied());
    if let Some(r) = &args.replay {
        // Refuse a file that is not a capture now, not at the first check.
        tcheck_engine::FileSource::open(r).map_err(anyhow::Error::from)?;
    }
    let config = ServerConfig {
        listen: args.listen,
        kiosk_networks,
        denied_networks: vec![IpNet::V4(ap.subnet.trunc())],
        language: args.analysis.language().to_string(),
        uplink: ap.uplink.is_some().then(|| ap.clone()),
        host_names: tcheck_webui::http::box_names(&kiosk.host_names),
    };
    let mode = match &args.replay {
        Some(file) => SourceMode::Replay {
            file: file.clone(),
            speed: args.replay_speed,
        },
        None => SourceMode::Live(Box::new(ap)),
    };
    let admin = match (&args.admin_listen, &args.tls_cert, &args.tls_key) {
        (Some(listen), Some(cert), Some(key)) => {
            // The backend edits the database the checks use: make sure it exists.
            let db = args.analysis.db().path()?;
            args.analysis.db().open()?;
            Some(AdminListen {
                listen: *listen,
                cert: cert.clone(),
                key: key.clone(),
                config: AdminConfig {
                    db,
                    config_file: args.analysis.config_file().map(Path::to_path_buf),
                    denied_networks: config.denied_networks.clone(),
                    host_names: config.host_names.clone(),
                    feeds: Arc::new(CliFeeds),
                },
            })
        }
        _ => None,
    };
    let data = data_dir(args.data.as_deref());
    let max = Duration::from_secs(args.max_minutes.unwrap_or(kiosk.max_minutes).max(1) * 60);
    let ctrl = Controller::new(
        mode,
        Arc::new(Pipeline {
            opts: args.analysis,
            spool: args.spool,
        }),
        data,
        max,
        kiosk.keep_captures,
    );
    tcheck_webui::serve_blocking(ctrl, config, admin, |addr, admin| {
        println!("tcheck: serving the kiosk on http://{addr}/");
        if let Some(a) = admin {
            println!("tcheck: serving the admin backend on https://{a}/admin");
        }
    })
    .context("the web server")?;
    Ok(ExitCode::SUCCESS)
}
