//! Running and supervising an external program: started directly (never through a
//! shell), its output read line by line (kept, logged, and watched for readiness), stopped
//! with SIGTERM and, after a grace period, SIGKILL.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustix::process::{kill_process, Pid, Signal};

use crate::error::ApError;

/// Output lines kept per program, for error messages and the status page.
const KEPT_LINES: usize = 200;
/// Lines of output quoted in an error.
const QUOTED_LINES: usize = 6;

/// A running program under supervision.
pub struct Supervised {
    name: String,
    child: Child,
    recent: Arc<Mutex<VecDeque<String>>>,
    lines: Receiver<String>,
    exited: Option<ExitStatus>,
}

impl std::fmt::Debug for Supervised {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Supervised")
            .field("name", &self.name)
            .field("pid", &self.child.id())
            .field("exited", &self.exited)
            .finish()
    }
}

impl Supervised {
    /// Starts `program` with `args`; its standard output and error are read line by line,
    /// and appended to `log` when given.
    pub fn spawn(
        name: &str,
        program: &Path,
        args: &[OsString],
        log: Option<&Path>,
    ) -> Result<Self, ApError> {
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| ApError::Spawn {
                name: name.to_string(),
                program: program.to_path_buf(),
                cause: e,
            })?;
        let recent = Arc::new(Mutex::new(VecDeque::with_capacity(KEPT_LINES)));
        let (tx, rx) = mpsc::channel();
        let log_file = match log {
            Some(p) => Some(Arc::new(Mutex::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)
                    .map_err(|e| ApError::io(p, e))?,
            ))),
            None => None,
        };
        if let Some(out) = child.stdout.take() {
            reader(out, recent.clone(), tx.clone(), log_file.clone());
        }
        if let Some(err) = child.stderr.take() {
            reader(err, recent.clone(), tx, log_file);
        }
        Ok(Supervised {
            name: name.to_string(),
            child,
            recent,
            lines: rx,
            exited: None,
        })
    }

    /// The program's name, as errors call it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits until a line of output contains `ready`. A line containing one of `failures`,
    /// an exit, or `timeout` is an error quoting what the program said.
    pub fn wait_ready(
        &mut self,
        ready: &str,
        failures: &[&str],
        timeout: Duration,
    ) -> Result<(), ApError> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(ApError::NotReady {
                    name: self.name.clone(),
                    secs: timeout.as_secs(),
                    said: self.quote(),
                });
            }
            match self
                .lines
                .recv_timeout(left.min(Duration::from_millis(100)))
            {
                Ok(line) => {
                    if line.contains(ready) {
                        return Ok(());
                    }
                    if failures.iter().any(|f| line.contains(f)) {
                        // Let the program finish saying why.
                        std::thread::sleep(Duration::from_millis(100));
                        return Err(ApError::Failed {
                            name: self.name.clone(),
                            said: self.quote(),
                        });
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    self.check_alive()?;
                }
                Err(RecvTimeoutError::Disconnected) => {
                    // Output closed: the program is ending; wait for its status.
                    let _ = self.wait_exit(Duration::from_secs(2));
                    self.check_alive()?;
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
        }
    }

    /// An error if the program has exited, quoting its last lines.
    pub fn check_alive(&mut self) -> Result<(), ApError> {
        if self.exited.is_none() {
            self.exited = self.child.try_wait().map_err(|e| ApError::Failed {
                name: self.name.clone(),
                said: e.to_string(),
            })?;
        }
        match self.exited {
            Some(status) => Err(ApError::Exited {
                name: self.name.clone(),
                status: status.to_string(),
                said: self.quote(),
            }),
            None => Ok(()),
        }
    }

    /// Stops the program: SIGTERM, then SIGKILL after `grace`. Returns once it is gone.
    pub fn stop(&mut self, grace: Duration) {
        if self.exited.is_some() {
            return;
        }
        if let Ok(Some(status)) = self.child.try_wait() {
            self.exited = Some(status);
            return;
        }
        let pid = Pid::from_child(&self.child);
        let _ = kill_process(pid, Signal::TERM);
        if self.wait_exit(grace).is_none() {
            let _ = self.child.kill();
            self.exited = self.child.wait().ok();
        }
    }

    fn wait_exit(&mut self, within: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + within;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                self.exited = Some(status);
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The last lines the program printed.
    pub fn recent(&self) -> Vec<String> {
        self.recent
            .lock()
            .map(|r| r.iter().cloned().collect())
            .unwrap_or_default()
    }

    fn quote(&self) -> String {
        let lines = self.recent();
        let start = lines.len().saturating_sub(QUOTED_LINES);
        let said = lines.get(start..).unwrap_or_default().join(" / ");
        if said.is_empty() {
            "(it printed nothing)".into()
        } else {
            said
        }
    }
}

impl Drop for Supervised {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(2));
    }
}

fn reader(
    stream: impl Read + Send + 'static,
    recent: Arc<Mutex<VecDeque<String>>>,
    tx: Sender<String>,
    log: Option<Arc<Mutex<std::fs::File>>>,
) {
    std::thread::spawn(move || {
        let mut r = BufReader::new(stream);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            // Lines are capped: a program printing without newlines cannot grow this.
            match r.by_ref().take(4096).read_until(b'\n', &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            let line = String::from_utf8_lossy(&buf).trim_end().to_string();
            if let Some(f) = &log {
                if let Ok(mut f) = f.lock() {
                    let _ = writeln!(f, "{line}");
                }
            }
            if let Ok(mut q) = recent.lock() {
                if q.len() == KEPT_LINES {
                    q.pop_front();
                }
                q.push_back(line.clone());
            }
            let _ = tx.send(line);
        }
    });
}

/// Runs a short command to completion (nft, ip, iw) and returns its standard output, or an
/// error quoting its standard error.
pub fn run(program: &Path, args: &[&str]) -> Result<String, ApError> {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| ApError::Spawn {
            name: program.display().to_string(),
            program: program.to_path_buf(),
            cause: e,
        })?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(ApError::Command {
            command: format!("{} {}", program.display(), args.join(" ")),
            said: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        })
    }
}

/// Whether process `pid` is alive and runs `program` (by its command name), so that a
/// stale state file never makes tcheck signal an unrelated process that reused the id.
pub fn is_running(pid: u32, program: &Path) -> bool {
    let Ok(comm) = std::fs::read_to_string(format!("/proc/{pid}/comm")) else {
        return false;
    };
    let want: PathBuf = program.file_name().map(PathBuf::from).unwrap_or_default();
    // The kernel truncates command names to 15 bytes.
    let want = want.to_string_lossy();
    let want = want.get(..want.len().min(15)).unwrap_or("");
    comm.trim() == want
}

/// When process `pid` started, in clock ticks since boot (field 22 of `/proc/PID/stat`).
pub fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces or parentheses:
    // the fields after it follow the last ')'.
    let after = stat.get(stat.rfind(')')? + 1..)?;
    after.split_whitespace().nth(19)?.parse().ok()
}

/// Whether `pid` is still the process that was recorded with `started` (see
/// [`start_time`]); without a recorded time, whether `pid` exists at all.
pub fn is_same_process(pid: u32, started: Option<u64>) -> bool {
    match started {
        Some(t) => start_time(pid) == Some(t),
        None => Path::new(&format!("/proc/{pid}")).exists(),
    }
}

/// Sends SIGTERM, then SIGKILL after `grace`, to a process that is not our child.
pub fn terminate(pid: u32, grace: Duration) {
    let Some(p) = i32::try_from(pid).ok().and_then(Pid::from_raw) else {
        return;
    };
    if kill_process(p, Signal::TERM).is_err() {
        return;
    }
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if !Path::new(&format!("/proc/{pid}")).exists() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = kill_process(p, Signal::KILL);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh() -> PathBuf {
        PathBuf::from("/bin/sh")
    }

    /// A process is known by its pid and start time: the same pid with another start time
    /// (a reused pid) is another process.
    #[test]
    fn a_reused_pid_is_not_the_recorded_process() {
        let me = std::process::id();
        let started = start_time(me).expect("our own start time");
        assert!(is_same_process(me, Some(started)));
        assert!(!is_same_process(me, Some(started + 1)));
        assert!(is_same_process(me, None));
        let mut child = std::process::Command::new("sleep")
            .arg("0.1")
            .spawn()
            .unwrap();
        let pid = child.id();
        let child_started = start_time(pid).unwrap();
        assert!(child_started >= started);
        child.wait().unwrap();
        assert!(
            !is_same_process(pid, Some(child_started)),
            "a reaped child is gone"
        );
        assert_eq!(start_time(u32::MAX), None);
    }

    #[test]
    fn readiness_is_seen_and_stop_ends_the_program() {
        let mut p = Supervised::spawn(
            "stand-in",
            &sh(),
            &[
                "-c".into(),
                "echo 'wlan1: AP-ENABLED'; exec sleep 30".into(),
            ],
            None,
        )
        .unwrap();
        p.wait_ready("AP-ENABLED", &["AP-DISABLED"], Duration::from_secs(5))
            .unwrap();
        let pid = p.pid();
        let t = Instant::now();
        while !is_running(pid, Path::new("/usr/bin/sleep")) {
            assert!(t.elapsed() < Duration::from_secs(5), "sleep never ran");
            std::thread::sleep(Duration::from_millis(10));
        }
        p.stop(Duration::from_secs(2));
        assert!(!is_running(pid, Path::new("sleep")));
        assert!(p.check_alive().is_err());
    }

    #[test]
    fn a_failure_quotes_the_program() {
        let mut p = Supervised::spawn(
            "hostapd",
            &sh(),
            &[
                "-c".into(),
                "echo 'nl80211: Could not configure driver mode'; echo 'wlan1: AP-DISABLED'; exec sleep 30".into(),
            ],
            None,
        )
        .unwrap();
        let e = p
            .wait_ready("AP-ENABLED", &["AP-DISABLED"], Duration::from_secs(5))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("hostapd") && e.contains("Could not configure driver mode"),
            "{e}"
        );
    }

    #[test]
    fn an_exit_and_a_timeout_are_errors() {
        let mut p = Supervised::spawn(
            "dnsmasq",
            &sh(),
            &[
                "-c".into(),
                "echo 'dnsmasq: failed to create listening socket for 10.42.0.1: Address already in use' >&2; exit 2".into(),
            ],
            None,
        )
        .unwrap();
        let e = p
            .wait_ready("started, version", &[], Duration::from_secs(5))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("Address already in use") && e.contains("exit"),
            "{e}"
        );
        let mut q = Supervised::spawn("quiet", &sh(), &["-c".into(), "exec sleep 30".into()], None)
            .unwrap();
        let e = q
            .wait_ready("ready", &[], Duration::from_millis(300))
            .unwrap_err()
            .to_string();
        assert!(e.contains("quiet") && e.contains("not ready"), "{e}");
    }

    #[test]
    fn a_missing_program_is_named() {
        let e = Supervised::spawn("hostapd", Path::new("/nonexistent/hostapd"), &[], None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("/nonexistent/hostapd"), "{e}");
    }
}
