//! `tcheck`: tells whether a smartphone talks to stalkerware, spyware or trackers.
//!
//! Subcommands:
//! - `tcheck analyze CAPTURE [--logs DIR] [--eve FILE] [--json] [--threads N] [--rules FILE...]`
//! - `tcheck admin passwd USER`, `tcheck admin cert --cert FILE --key FILE`
//! - `tcheck ap start|stop|status|networks|join|internet [--config FILE] [...]`
//! - `tcheck capture --interface IF --out FILE [--duration TIME] [...analyze options]`
//! - `tcheck doctor [--json]`
//! - `tcheck save CAPTURE (--out FILE.zip | --usb [--device DEV]) [--passphrase-file F]`
//! - `tcheck serve [--listen ADDR:PORT] [--data DIR] [--replay CAPTURE] [--config FILE]`
//! - `tcheck rules check FILE... [--json]`
//! - `tcheck bench --rules FILE... CAPTURE... [--json]`
//! - `tcheck iocs import|export|list|search|add|remove`, `tcheck whitelist ...`

mod admin_cmd;
mod analyze;
mod ap_cmd;
mod bench;
mod capture_cmd;
mod db_cmd;
mod dnslog;
mod doctor;
mod feeds_cmd;
mod indicators;
mod report_html;
mod rules_cmd;
mod save_cmd;
mod serve_cmd;

/// mimalloc: the engine allocates and frees many small records per flow, and glibc's
/// allocator spends a fifth of a run in page faults and arena bookkeeping on that pattern.
/// (Not jemalloc: it breaks on the Raspberry Pi 5's 16 KiB pages.)
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Command line of tcheck.
#[derive(Debug, Parser)]
#[command(
    name = "tcheck",
    version,
    about = "Network forensics for a phone's traffic"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Analyse a capture (pcap or pcapng) and print a summary.
    Analyze(Box<analyze::AnalyzeArgs>),
    /// The admin backend's accounts and certificate.
    #[command(subcommand)]
    Admin(admin_cmd::AdminCommand),
    /// The ephemeral access point: start, stop, status; the uplink's Wi-Fi.
    #[command(subcommand)]
    Ap(ap_cmd::ApCommand),
    /// Capture an interface into pcapng, analysing while capturing.
    Capture(Box<capture_cmd::CaptureArgs>),
    /// What a support person needs to know about this box, and what is wrong, with the fix.
    Doctor(doctor::DoctorArgs),
    /// Save a check's archive (report and capture, optionally encrypted) to a file or a USB key.
    Save(Box<save_cmd::SaveArgs>),
    /// Serve the kiosk: one check at a time, from start to report, in a browser.
    Serve(Box<serve_cmd::ServeArgs>),
    /// Work with Suricata rule files.
    #[command(subcommand)]
    Rules(rules_cmd::RulesCommand),
    /// Measure what a rule set costs on captures, with a per-rule profile.
    Bench(bench::BenchArgs),
    /// The indicator database: import, export, list, search, add, remove.
    #[command(subcommand)]
    Iocs(db_cmd::IocsCommand),
    /// The whitelist in the database: import, list, add, remove.
    #[command(subcommand)]
    Whitelist(db_cmd::WhitelistCommand),
    /// Indicator feeds: add, remove, list, update.
    #[command(subcommand)]
    Feeds(feeds_cmd::FeedsCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Analyze(args) => analyze::run(&args),
        Command::Admin(cmd) => admin_cmd::run(&cmd),
        Command::Ap(cmd) => ap_cmd::run(&cmd),
        Command::Capture(args) => capture_cmd::run(&args),
        Command::Rules(cmd) => rules_cmd::run(&cmd),
        Command::Doctor(args) => doctor::run(&args),
        Command::Save(args) => save_cmd::run(&args),
        Command::Serve(args) => serve_cmd::run(*args),
        Command::Bench(args) => bench::run_bench(&args),
        Command::Iocs(cmd) => db_cmd::run_iocs(&cmd),
        Command::Whitelist(cmd) => db_cmd::run_whitelist(&cmd),
        Command::Feeds(cmd) => feeds_cmd::run(&cmd),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("tcheck: {e:#}");
            ExitCode::from(2)
        }
    }
}
