//! Replays the committed cargo-fuzz corpus (`fuzz/corpus/<target>/`) through the matching
//! `tcheck_engine::fuzzing` entry point, so that every input the fuzzers kept, and every crash
//! fixed since, stays fixed in a plain `cargo test`.
//!
//! Inputs that still crash the engine wait in `fuzz/regressions/<target>/` (see
//! `fuzz/README.md`); the ignored test `regressions_do_not_panic` replays them, and each file
//! moves into the corpus once its bug is fixed.

mod common;

use std::error::Error;
use std::fs;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};

type Target = (&'static str, fn(&[u8]));

/// Every fuzz target and the entry point it calls (`fuzz/fuzz_targets/<name>.rs`).
const TARGETS: [Target; 8] = [
    ("capture", tcheck_engine::fuzzing::capture),
    ("packet", tcheck_engine::fuzzing::packet),
    ("dns", tcheck_engine::fuzzing::dns),
    ("tls", tcheck_engine::fuzzing::tls),
    ("http", tcheck_engine::fuzzing::http),
    ("quic", tcheck_engine::fuzzing::quic),
    ("dhcp", tcheck_engine::fuzzing::dhcp),
    ("iocs", tcheck_engine::fuzzing::iocs),
];

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("fuzz")
}

/// The files of `dir`, sorted by name so that failures are reported in a stable order.
fn files(dir: &Path) -> Result<Vec<PathBuf>, Box<dyn Error>> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))? {
        let path = entry?.path();
        if path.is_file() {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

/// Runs `f` on every file of `dir`; returns how many ran and the ones that panicked.
fn replay(dir: &Path, f: fn(&[u8])) -> Result<(usize, Vec<String>), Box<dyn Error>> {
    let inputs = files(dir)?;
    let mut failed = Vec::new();
    for path in &inputs {
        let data = fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        if panic::catch_unwind(AssertUnwindSafe(|| f(&data))).is_err() {
            failed.push(path.display().to_string());
        }
    }
    Ok((inputs.len(), failed))
}

#[test]
fn corpus_replays_without_panic() -> Result<(), Box<dyn Error>> {
    let root = fuzz_dir().join("corpus");
    let mut failed = Vec::new();
    for (name, f) in TARGETS {
        let dir = root.join(name);
        assert!(
            dir.is_dir(),
            "{}: missing corpus directory of fuzz target {name}",
            dir.display()
        );
        let (ran, bad) = replay(&dir, f)?;
        assert!(
            ran > 0,
            "{}: corpus of fuzz target {name} is empty",
            dir.display()
        );
        eprintln!("fuzz corpus {name}: {ran} inputs replayed");
        failed.extend(bad);
    }
    assert!(
        failed.is_empty(),
        "{} corpus input(s) panicked:\n{}",
        failed.len(),
        failed.join("\n")
    );
    Ok(())
}

/// One thread and two give the same EVE lines, and as many events, on every input of the
/// `capture` corpus: captures the fuzzer kept for the paths they reach, many of them
/// truncated, malformed or hostile. Each input fits in one chunk of two threads, so this
/// holds the shards run in parallel and the lines rendered by the workers against one
/// thread; the pipeline of several chunks is held by the runs of several batches in
/// `properties.rs`. (Made to run each shard's packets backwards on two threads, 783 inputs
/// differ.)
#[test]
fn capture_corpus_is_independent_of_threads() -> Result<(), Box<dyn Error>> {
    let dir = fuzz_dir().join("corpus").join("capture");
    let inputs = files(&dir)?;
    let mut analysed = 0;
    let mut differ = Vec::new();
    for path in &inputs {
        let data = fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let outputs =
            |threads| common::try_run_engine(&data, threads).map(|c| (c.eve, c.events.len()));
        let (one, two) = (outputs(1), outputs(2));
        if one.is_some() {
            analysed += 1;
        }
        if one != two {
            differ.push(path.display().to_string());
        }
    }
    eprintln!(
        "capture corpus: {} inputs, {analysed} analysed on 1 and 2 threads",
        inputs.len()
    );
    assert!(
        analysed * 2 > inputs.len(),
        "{}: most of the corpus should be captures",
        dir.display()
    );
    assert!(
        differ.is_empty(),
        "{} input(s) differ between 1 and 2 threads:\n{}",
        differ.len(),
        differ.join("\n")
    );
    Ok(())
}

/// Every fuzz target has a corpus directory, and no directory is there without a target.
#[test]
fn corpus_directories_match_targets() -> Result<(), Box<dyn Error>> {
    let root = fuzz_dir().join("corpus");
    let mut dirs: Vec<String> = Vec::new();
    for entry in fs::read_dir(&root).map_err(|e| format!("{}: {e}", root.display()))? {
        let entry = entry?;
        if entry.path().is_dir() {
            dirs.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    dirs.sort();
    let mut names: Vec<String> = TARGETS.iter().map(|(n, _)| (*n).to_owned()).collect();
    names.sort();
    assert_eq!(dirs, names, "{}: corpus directories", root.display());
    Ok(())
}

/// The inputs that crashed a fuzzer and whose bug is not fixed yet. Ignored until then: run
/// with `cargo test -p tcheck-engine --test fuzz_corpus -- --ignored`. Some of them abort the
/// process (a failed unsafe precondition check cannot unwind), so run it in a debug build to
/// see which.
#[test]
#[ignore = "inputs of open bugs, see fuzz/README.md"]
fn regressions_do_not_panic() -> Result<(), Box<dyn Error>> {
    let root = fuzz_dir().join("regressions");
    let mut failed = Vec::new();
    for (name, f) in TARGETS {
        let dir = root.join(name);
        if dir.is_dir() {
            failed.extend(replay(&dir, f)?.1);
        }
    }
    assert!(
        failed.is_empty(),
        "{} regression input(s) panicked:\n{}",
        failed.len(),
        failed.join("\n")
    );
    Ok(())
}
