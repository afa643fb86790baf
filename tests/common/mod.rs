//! Helpers shared by the integration tests.

#![allow(dead_code, clippy::expect_used, clippy::unwrap_used, clippy::panic)]

pub mod browser;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The shared test material (`../shared` next to the repository, or `$TCHECK_SHARED`).
pub fn shared() -> PathBuf {
    let p = std::env::var_os("TCHECK_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    assert!(
        p.join("README.md").is_file(),
        "the shared test material is missing at {} (set TCHECK_SHARED)",
        p.display()
    );
    p
}

/// The `tcheck` binary under test.
pub fn tcheck() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tcheck"))
}

/// Runs `tcheck` with `args`; returns its output.
pub fn run(args: &[&std::ffi::OsStr]) -> Output {
    tcheck().args(args).output().expect("tcheck runs")
}

/// Runs `tcheck` with `args` and asserts that it exits with status 0 (its arguments and
/// stderr in the message); returns its output.
pub fn run_ok(args: &[&std::ffi::OsStr]) -> Output {
    let o = run(args);
    assert_eq!(
        o.status.code(),
        Some(0),
        "tcheck {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

/// A temporary directory for one test (`tempfile`'s, named after the test): removed when the
/// test passes, kept (and named on stderr) when it fails, for a look at what the test left
/// there.
#[derive(Debug)]
pub struct TempDir(tempfile::TempDir);

impl std::ops::Deref for TempDir {
    type Target = Path;

    fn deref(&self) -> &Path {
        self.0.path()
    }
}

impl AsRef<Path> for TempDir {
    fn as_ref(&self) -> &Path {
        self.0.path()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.disable_cleanup(true);
            eprintln!("test files kept in {}", self.0.path().display());
        }
    }
}

/// A fresh temporary directory for one test.
pub fn tempdir(name: &str) -> TempDir {
    let d = tempfile::Builder::new()
        .prefix(&format!("tcheck-test-{name}-"))
        .tempdir()
        .expect("temp dir");
    TempDir(d)
}

/// Every capture file below `dir` (`.pcap`, `.pcapng`, `.trace`), sorted.
pub fn captures(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if matches!(
                p.extension().and_then(|x| x.to_str()),
                Some("pcap" | "pcapng" | "trace")
            ) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// JSON lines of a file (missing file: none).
pub fn json_lines(path: &Path) -> Vec<serde_json::Value> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{}: {e}: {l}", path.display())))
        .collect()
}
