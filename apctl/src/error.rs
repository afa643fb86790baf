//! What can go wrong with the access point, in words a support person can act on.

use std::path::{Path, PathBuf};

/// An access-point error. Messages quote the program's own words where it gave any.
#[derive(Debug, thiserror::Error)]
pub enum ApError {
    /// The settings are invalid.
    #[error("{0}")]
    Config(String),
    /// A program could not be started at all.
    #[error("cannot start {name} ({}): {cause}", program.display())]
    Spawn {
        /// What it is (hostapd, dnsmasq…).
        name: String,
        /// The program.
        program: PathBuf,
        /// What the system said.
        cause: std::io::Error,
    },
    /// A program did not get ready in time.
    #[error("{name} was not ready after {secs} s; it said: {said}")]
    NotReady {
        /// The program.
        name: String,
        /// The time allowed.
        secs: u64,
        /// Its last lines.
        said: String,
    },
    /// A program reported a failure.
    #[error("{name} failed: {said}")]
    Failed {
        /// The program.
        name: String,
        /// Its last lines.
        said: String,
    },
    /// A program exited.
    #[error("{name} stopped ({status}): {said}")]
    Exited {
        /// The program.
        name: String,
        /// Its exit status.
        status: String,
        /// Its last lines.
        said: String,
    },
    /// A short command (nft, ip) failed.
    #[error("{command}: {said}")]
    Command {
        /// The command line, for the log (it was run without a shell).
        command: String,
        /// Its standard error.
        said: String,
    },
    /// A file could not be read or written.
    #[error("{}: {cause}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the system said.
        cause: std::io::Error,
    },
    /// The uplink (Wi-Fi join, internet check) failed.
    #[error("{0}")]
    Uplink(String),
}

impl ApError {
    /// An I/O error on `path`.
    pub fn io(path: &Path, cause: std::io::Error) -> Self {
        ApError::Io {
            path: path.to_path_buf(),
            cause,
        }
    }
}
