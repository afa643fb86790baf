//! `tcheck rules check FILE...`: validates rule files, prints the counts of loaded and failed
//! rules and the unsupported keywords by frequency; exits non-zero if any rule failed.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use tcheck_rules::{RuleSet, Vars};

/// `tcheck rules ...`
#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Validate rule files.
    Check(CheckArgs),
}

/// Options of `tcheck rules check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Rule files.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Print `{"loaded", "failed", "unsupported", "errors"}` as JSON.
    #[arg(long)]
    json: bool,
    /// Set an address or port variable, e.g. `HOME_NET=[10.0.0.0/8]` (repeatable).
    #[arg(long = "var", value_name = "NAME=VALUE")]
    vars: Vec<String>,
}

/// Reads rule files as (name, text).
pub fn read_rule_files(files: &[PathBuf]) -> Result<Vec<(String, String)>> {
    files
        .iter()
        .map(|f| {
            let bytes = std::fs::read(f).with_context(|| f.display().to_string())?;
            Ok((
                f.display().to_string(),
                String::from_utf8_lossy(&bytes).into_owned(),
            ))
        })
        .collect()
}

/// Applies `--var NAME=VALUE` settings: a value in brackets or with an address is an
/// address group, one of digits and `:`/`,` a port group.
pub fn apply_vars(vars: &mut Vars, settings: &[String]) -> Result<()> {
    for s in settings {
        let (name, value) = s
            .split_once('=')
            .with_context(|| format!("--var {s}: expected NAME=VALUE"))?;
        let name = name.trim().trim_start_matches('$');
        if vars.ports.contains_key(name) || name.ends_with("_PORTS") {
            vars.set_port(name, value.trim());
        } else {
            vars.set_address(name, value.trim());
        }
    }
    Ok(())
}

/// Runs `tcheck rules ...`.
pub fn run(cmd: &RulesCommand) -> Result<ExitCode> {
    match cmd {
        RulesCommand::Check(args) => check(args),
    }
}

fn check(args: &CheckArgs) -> Result<ExitCode> {
    let files = read_rule_files(&args.files)?;
    let mut vars = Vars::default();
    apply_vars(&mut vars, &args.vars)?;
    let started = std::time::Instant::now();
    let (set, report) = RuleSet::load(&files, &vars);
    let elapsed = started.elapsed();
    let mut out = std::io::stdout().lock();
    let mut by_freq: Vec<(&String, &usize)> = report.unsupported.iter().collect();
    by_freq.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    if args.json {
        let unsupported: serde_json::Map<String, serde_json::Value> = by_freq
            .iter()
            .map(|(k, v)| ((*k).clone(), serde_json::Value::from(**v)))
            .collect();
        let v = serde_json::json!({
            "loaded": set.len(),
            "failed": report.errors.len(),
            "unsupported": unsupported,
            "errors": report.errors.iter().map(|e| e.to_string()).collect::<Vec<_>>(),
        });
        serde_json::to_writer_pretty(&mut out, &v)?;
        writeln!(out)?;
    } else {
        for e in &report.errors {
            writeln!(out, "{e}")?;
        }
        writeln!(
            out,
            "{} rules loaded, {} failed ({} ms)",
            set.len(),
            report.errors.len(),
            elapsed.as_millis()
        )?;
        if !by_freq.is_empty() {
            writeln!(out, "unsupported keywords:")?;
            for (k, n) in by_freq {
                writeln!(out, "  {n:>6}  {k}")?;
            }
        }
    }
    Ok(if report.errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
