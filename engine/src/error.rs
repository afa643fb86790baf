//! The engine's error type.

use std::path::PathBuf;

/// Everything that can stop the engine. Problems inside traffic are never errors: they are
/// counted and reported as anomalies (see [`crate::event::AnomalyRecord`]); an error means the input or
/// output as a whole could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The capture file could not be opened or read.
    #[error("{}: {cause}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        cause: std::io::Error,
    },
    /// The file is empty.
    #[error("{}: empty file, not a capture", path.display())]
    EmptyCapture {
        /// The file.
        path: PathBuf,
    },
    /// The file starts with neither a pcap nor a pcapng header.
    #[error("{}: not a pcap or pcapng capture ({detail})", path.display())]
    NotACapture {
        /// The file.
        path: PathBuf,
        /// What was found instead.
        detail: String,
    },
    /// An output could not be written.
    #[error("{}: cannot write: {cause}", path.display())]
    Output {
        /// The output file or directory.
        path: PathBuf,
        /// What the operating system said.
        cause: std::io::Error,
    },
    /// A packet source other than a file (a live capture) failed; the message names it.
    #[error("{0}")]
    Source(String),
    /// A configuration value is out of range.
    #[error("invalid configuration: {0}")]
    Config(String),
}

/// The engine's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
