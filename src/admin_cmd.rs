//! `tcheck admin`: what the installer (or a support person) sets up for the admin backend.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;

/// `tcheck admin` subcommands.
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Set an admin account's password (read from standard input; there is no default).
    Passwd {
        /// The account's name.
        user: String,
        /// The indicator database, where accounts live.
        #[command(flatten)]
        db: crate::db_cmd::DbArg,
    },
    /// Make a self-signed certificate for the admin backend (existing files are kept).
    Cert {
        /// The certificate to write (PEM).
        #[arg(long, value_name = "FILE")]
        cert: PathBuf,
        /// The private key to write (PEM, readable by its owner only).
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
        /// Names and addresses the certificate is for (repeatable).
        #[arg(long = "name", value_name = "NAME", default_values_t = ["tcheck.local".to_string(), "localhost".to_string()])]
        names: Vec<String>,
    },
}

/// Runs a `tcheck admin` subcommand.
pub fn run(cmd: &AdminCommand) -> Result<ExitCode> {
    match cmd {
        AdminCommand::Passwd { user, db } => {
            if user.is_empty()
                || user.len() > 64
                || user.chars().any(|c| c.is_control() || c.is_whitespace())
            {
                anyhow::bail!("an account name has 1 to 64 characters, no spaces");
            }
            eprint!("new password for {user}: ");
            std::io::stderr().flush()?;
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line)?;
            let password = line.trim_end_matches(['\r', '\n']);
            let hash =
                tcheck_webui::admin::auth::hash_password(password).map_err(anyhow::Error::msg)?;
            db.open()?.account_set(user, &hash)?;
            println!("password set for {user}");
            Ok(ExitCode::SUCCESS)
        }
        AdminCommand::Cert { cert, key, names } => {
            tcheck_webui::tls::generate_self_signed(cert, key, names)
                .map_err(anyhow::Error::msg)?;
            println!(
                "certificate {} and key {} written",
                cert.display(),
                key.display()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}
