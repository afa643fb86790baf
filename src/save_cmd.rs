//! `tcheck save`: a check's archive (report as JSON and HTML, the capture), optionally
//! encrypted, to a file or a USB key.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::Args;
use tcheck_engine::FileSource;
use tcheck_webui::save::{self, Contents};

use crate::analyze::{analyse_source, AnalysisOpts, LiveHooks};

/// Options of `tcheck save`.
#[derive(Debug, Args)]
pub struct SaveArgs {
    /// The capture to analyse and save with its report.
    capture: PathBuf,
    /// Write the archive (ZIP) to this file.
    #[arg(long, value_name = "FILE.zip", conflicts_with = "usb")]
    out: Option<PathBuf>,
    /// Write the archive to the USB key plugged in (mounted, written, unmounted).
    #[arg(long)]
    usb: bool,
    /// The key's device, when several are plugged in (e.g. /dev/sdb1).
    #[arg(long, value_name = "DEVICE", requires = "usb")]
    device: Option<String>,
    /// Encrypt the archive (AES-256) with the passphrase in this file's first line.
    #[arg(long, value_name = "FILE")]
    passphrase_file: Option<PathBuf>,
    /// Delete the capture once the archive is written.
    #[arg(long)]
    delete_capture: bool,
    /// The analysis (indicators, rules, language…).
    #[command(flatten)]
    analysis: AnalysisOpts,
}

/// Runs `tcheck save`.
pub fn run(args: &SaveArgs) -> Result<ExitCode> {
    if args.out.is_none() && !args.usb {
        bail!("say where: --out FILE.zip or --usb");
    }
    let passphrase = match &args.passphrase_file {
        Some(p) => Some(
            std::fs::read_to_string(p)
                .with_context(|| p.display().to_string())?
                .lines()
                .next()
                .unwrap_or("")
                .to_string(),
        ),
        None => None,
    };
    // The archive holds the logs: those asked for with --logs, else a temporary directory
    // of them (with the EVE file), removed once the archive is written.
    let scratch_logs = match args.analysis.logs_dir() {
        Some(_) => None,
        None => Some(ScratchDir::new("logs")?),
    };
    let analysis = match &scratch_logs {
        Some(d) => args.analysis.with_logs(&d.0),
        None => args.analysis.clone(),
    };
    let mut source = FileSource::open(&args.capture).map_err(anyhow::Error::from)?;
    let (_, report) = analyse_source(&args.capture, &mut source, &analysis, LiveHooks::default())?;
    let json = serde_json::to_vec_pretty(&report)?;
    let html = crate::report_html::render(&report);
    let contents = Contents {
        report_json: Some(&json),
        report_html: Some(html.as_bytes()),
        capture: Some(&args.capture),
        logs: analysis.logs_dir(),
    };
    let stamp = tcheck_engine::Timestamp::from_parts(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0)),
        0,
    )
    .iso_seconds()
    .replace([':', '+'], "-");
    let name = format!("tcheck-{stamp}.zip");
    let written = match &args.out {
        Some(out) => {
            let file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(out)
                .with_context(|| out.display().to_string())?;
            save::write_archive(file, &contents, passphrase.as_deref())
                .map_err(anyhow::Error::msg)?
                .sync_all()?;
            out.display().to_string()
        }
        None => {
            let device = match &args.device {
                Some(d) => d.clone(),
                None => {
                    let keys = save::usb_keys().map_err(anyhow::Error::msg)?;
                    match keys.as_slice() {
                        [] => bail!("no USB key found: plug one in (FAT, exFAT, ext4 or NTFS)"),
                        [one] => one.device.clone(),
                        many => bail!(
                            "several USB keys: choose one with --device ({})",
                            many.iter()
                                .map(|k| k.device.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    }
                }
            };
            let tmp = std::env::temp_dir().join(format!("tcheck-save-{}.zip", std::process::id()));
            let _ = std::fs::remove_file(&tmp);
            let file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&tmp)
                .with_context(|| tmp.display().to_string())?;
            let result = save::write_archive(file, &contents, passphrase.as_deref())
                .and_then(|f| f.sync_all().map_err(|e| e.to_string()))
                .and_then(|()| save::save_to_key(&device, &tmp, &name));
            let _ = std::fs::remove_file(&tmp);
            result.map_err(anyhow::Error::msg)?
        }
    };
    println!(
        "saved {written}{}",
        if passphrase.is_some() {
            " (encrypted)"
        } else {
            ""
        }
    );
    if args.delete_capture {
        std::fs::remove_file(&args.capture).with_context(|| args.capture.display().to_string())?;
        println!("deleted {}", args.capture.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// A directory of its own under the temporary directory, removed when dropped.
struct ScratchDir(PathBuf);

impl ScratchDir {
    /// A new directory (never one that exists), readable by its owner only.
    fn new(what: &str) -> Result<Self> {
        use std::os::unix::fs::DirBuilderExt;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir =
            std::env::temp_dir().join(format!("tcheck-save-{what}-{}-{nanos}", std::process::id()));
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&dir)
            .with_context(|| dir.display().to_string())?;
        Ok(ScratchDir(dir))
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
