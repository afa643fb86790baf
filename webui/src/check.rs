//! One check at a time: the access point (or a replayed capture), the capture, the analysis
//! while capturing, the report. The kiosk's pages only ever show a [`Snapshot`] of it; every
//! change is pushed to them as one.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde::Serialize;
use tcheck_apctl::{AccessPoint, ApConfig, Credentials};
use tcheck_capture::{CaptureOptions, Counters, LiveCapture, StopHandle};
use tcheck_engine::event::{Event, EventKind};
use tcheck_engine::output::EventSink;
use tcheck_engine::verdict::LiveDetection;
use tcheck_engine::PacketSource;
use tokio::sync::broadcast;

use crate::replay::ReplaySource;

/// Names shown as "contacted just now".
const RECENT_NAMES: usize = 12;
/// Detections kept for the screen (the report has them all).
const SHOWN_DETECTIONS: usize = 50;

/// What runs the analysis: the command line's pipeline (indicators, rules, heuristics,
/// report), handed to the server by the binary.
pub trait Analyzer: Send + Sync {
    /// Analyses `source` (written to `input`), calling `on_detect` for each indicator as it
    /// appears and handing every event to `sink`, and writing the Zeek-style logs and the EVE
    /// file into the directory `logs` (they go into the saved archive); returns the report.
    fn analyze(
        &self,
        input: &Path,
        logs: &Path,
        source: &mut (dyn PacketSource + Send),
        on_detect: Box<dyn FnMut(&LiveDetection) + Send>,
        sink: Box<dyn EventSink + Send>,
    ) -> Result<Outcome, String>;
}

/// A finished analysis.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The report (see docs/report.schema.json).
    pub report: serde_json::Value,
    /// The same, as a self-contained HTML page.
    pub html: String,
}

/// Where the phone's packets come from.
#[derive(Clone, Debug)]
pub enum SourceMode {
    /// The real thing: the access point and a live capture on its interface.
    Live(Box<ApConfig>),
    /// A capture file replayed at a given speed (no access point).
    Replay {
        /// The capture.
        file: PathBuf,
        /// Times its own pace.
        speed: f64,
    },
}

/// The steps of a check, as the kiosk shows them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Nothing running: the home screen.
    Idle,
    /// The network is being set up.
    Starting,
    /// The network is up; waiting for the phone.
    Joining,
    /// The phone is connected and its traffic recorded and analysed.
    Capturing,
    /// The capture ended; the report is being written.
    Analysing,
    /// The report is ready.
    Report,
    /// Something failed; see [`ErrorView`].
    Error,
}

/// A failure, in the kiosk's words: the text keys of what happened and what to do, and the
/// technical detail for whoever maintains the box.
#[derive(Clone, Debug, Serialize)]
pub struct ErrorView {
    /// Text key of what happened (`error.ap`, `error.capture`, `error.analysis`).
    pub what: &'static str,
    /// Text key of the advice.
    pub advice: &'static str,
    /// The technical message.
    pub detail: String,
}

/// The phone, as the network saw it.
#[derive(Clone, Debug, Default, Serialize)]
pub struct DeviceView {
    /// The name it gave DHCP.
    pub name: Option<String>,
    /// Its MAC address.
    pub mac: Option<String>,
    /// Its address.
    pub ip: Option<String>,
}

/// An indicator seen during the capture.
#[derive(Clone, Debug, Serialize)]
pub struct DetectionView {
    /// What the traffic showed.
    pub value: String,
    /// Where (DNS query, TLS server name…).
    pub seen: &'static str,
    /// What the indicator stands for (stalkerware, spyware…).
    pub tag: String,
    /// The app or family, when known.
    pub app: Option<String>,
    /// The indicator's source.
    pub source: String,
}

/// Everything the kiosk shows.
#[derive(Clone, Debug, Serialize)]
pub struct Snapshot {
    /// The step.
    pub phase: Phase,
    /// The phone connects by cable (no network name or password).
    pub wired: bool,
    /// No internet for the phone.
    pub offline: bool,
    /// The network's name.
    pub ssid: Option<String>,
    /// Its password.
    pub password: Option<String>,
    /// The phone, once connected.
    pub device: Option<DeviceView>,
    /// Seconds since the phone connected.
    pub elapsed_secs: u64,
    /// Packets recorded.
    pub packets: u64,
    /// Bytes recorded.
    pub bytes: u64,
    /// Names contacted lately, newest first.
    pub names: Vec<String>,
    /// Indicators seen so far.
    pub detections: Vec<DetectionView>,
    /// The report, once ready.
    pub report: Option<serde_json::Value>,
    /// The failure, in the error phase.
    pub error: Option<ErrorView>,
}

#[derive(Debug)]
struct State {
    phase: Phase,
    offline: bool,
    creds: Option<Credentials>,
    device: Option<DeviceView>,
    connected_at: Option<Instant>,
    counters: Option<Arc<Counters>>,
    names: VecDeque<String>,
    detections: Vec<DetectionView>,
    report: Option<Outcome>,
    error: Option<ErrorView>,
    stop: Option<StopHandle>,
    capture: Option<PathBuf>,
    /// The check's logs directory (Zeek-style logs, EVE).
    logs: Option<PathBuf>,
    /// Stopped before the phone joined: back to the start, nothing kept.
    cancelled: bool,
}

impl State {
    fn new() -> Self {
        State {
            phase: Phase::Idle,
            offline: false,
            creds: None,
            device: None,
            connected_at: None,
            counters: None,
            names: VecDeque::new(),
            detections: Vec::new(),
            report: None,
            error: None,
            stop: None,
            capture: None,
            logs: None,
            cancelled: false,
        }
    }
}

/// Why a request on the check was refused.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// A check is already running (or its report not yet cleared).
    #[error("a check is already running")]
    Busy,
    /// Nothing to stop, save or clear.
    #[error("no check in that state")]
    NoCheck,
}

/// The check controller, shared by the server's handlers.
pub struct Controller {
    state: Mutex<State>,
    updates: broadcast::Sender<String>,
    mode: SourceMode,
    analyzer: Arc<dyn Analyzer>,
    data_dir: PathBuf,
    max_duration: Duration,
    /// Captures and logs stay on the box after a save or a new check (the operator's
    /// choice, `[kiosk] keep_captures`); otherwise they are deleted.
    keep_captures: bool,
    /// A save to the USB key is running: the check's files must stay as they are.
    saving: AtomicBool,
    finished: AtomicBool,
    /// A check's thread is still running (its access point may still be coming down): a new
    /// check must wait, or the old one's cleanup would remove the new one's rules.
    running: AtomicBool,
}

impl std::fmt::Debug for Controller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Controller")
            .field("mode", &self.mode)
            .field("data_dir", &self.data_dir)
            .finish()
    }
}

impl Controller {
    /// A controller that keeps captures and reports under `data_dir`; with `keep_captures`,
    /// they are not deleted after a save or a new check.
    pub fn new(
        mode: SourceMode,
        analyzer: Arc<dyn Analyzer>,
        data_dir: PathBuf,
        max_duration: Duration,
        keep_captures: bool,
    ) -> Arc<Self> {
        let (updates, _) = broadcast::channel(64);
        Arc::new(Controller {
            state: Mutex::new(State::new()),
            updates,
            mode,
            analyzer,
            data_dir,
            max_duration,
            keep_captures,
            saving: AtomicBool::new(false),
            finished: AtomicBool::new(false),
            running: AtomicBool::new(false),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves the state readable: recover it.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Updates as JSON snapshots.
    pub fn subscribe(&self) -> broadcast::Receiver<String> {
        self.updates.subscribe()
    }

    /// What the kiosk shows now.
    pub fn snapshot(&self) -> Snapshot {
        let s = self.lock();
        let counts = s.counters.as_ref().map(|c| c.get()).unwrap_or_default();
        Snapshot {
            phase: s.phase,
            wired: matches!(&self.mode, SourceMode::Live(c) if c.mode == tcheck_apctl::Mode::Ethernet),
            offline: s.offline,
            ssid: s.creds.as_ref().map(|c| c.ssid.clone()),
            password: s.creds.as_ref().map(|c| c.password.clone()),
            device: s.device.clone(),
            elapsed_secs: s.connected_at.map_or(0, |t| t.elapsed().as_secs()),
            packets: counts.packets,
            bytes: counts.bytes,
            names: s.names.iter().cloned().collect(),
            detections: s.detections.clone(),
            report: s.report.as_ref().map(|o| o.report.clone()),
            error: s.error.clone(),
        }
    }

    /// The QR payload of the network, while there is one.
    pub fn qr_payload(&self) -> Option<String> {
        self.lock().creds.as_ref().map(Credentials::qr_payload)
    }

    /// The report as HTML, once ready.
    pub fn report_html(&self) -> Option<String> {
        self.lock().report.as_ref().map(|o| o.html.clone())
    }

    /// The report as JSON, once ready.
    pub fn report_json(&self) -> Option<serde_json::Value> {
        self.lock().report.as_ref().map(|o| o.report.clone())
    }

    /// Writes the finished check's archive (report as JSON and HTML, capture), encrypted
    /// with `passphrase` if given, to the USB key plugged in; then deletes the capture
    /// from the box (a live one: a replayed file is the operator's). Returns where it went.
    pub fn save_to_usb(&self, passphrase: Option<&str>) -> Result<String, String> {
        // One save at a time, and no new check while it runs (it reads the files).
        if self.saving.swap(true, Ordering::SeqCst) {
            return Err("a save is already running".into());
        }
        let _saving = ClearOnDrop(&self.saving);
        let (outcome, capture, logs) = {
            let s = self.lock();
            if s.phase != Phase::Report {
                return Err("no finished check to save".into());
            }
            (s.report.clone(), s.capture.clone(), s.logs.clone())
        };
        let Some(outcome) = outcome else {
            return Err("no report".into());
        };
        let keys = crate::save::usb_keys()?;
        let key = match keys.as_slice() {
            [] => return Err("no USB key".into()),
            [one] => one.clone(),
            _ => return Err("several USB keys: leave only one plugged in".into()),
        };
        let json = serde_json::to_vec_pretty(&outcome.report).map_err(|e| e.to_string())?;
        let contents = crate::save::Contents {
            report_json: Some(&json),
            report_html: Some(outcome.html.as_bytes()),
            capture: capture.as_deref(),
            logs: logs.as_deref(),
        };
        let tmp = self
            .data_dir
            .join(format!(".save-{}.zip", std::process::id()));
        let _ = std::fs::remove_file(&tmp);
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(|e| format!("{}: {e}", tmp.display()))?;
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let result = crate::save::write_archive(file, &contents, passphrase)
            .and_then(|f| f.sync_all().map_err(|e| e.to_string()))
            .and_then(|()| {
                crate::save::save_to_key(&key.device, &tmp, &format!("tcheck-{stamp}.zip"))
            });
        let _ = std::fs::remove_file(&tmp);
        let written = result?;
        if !self.keep_captures {
            let mut s = self.lock();
            // Only the files just saved (the check cannot have changed meanwhile, but a
            // deletion is checked twice).
            if s.capture == capture && s.logs == logs {
                s.capture = None;
                s.logs = None;
                drop(s);
                self.discard(capture, logs);
            }
        }
        Ok(written)
    }

    /// The capture file of the last check, once it ended.
    pub fn capture_file(&self) -> Option<PathBuf> {
        let s = self.lock();
        if s.phase == Phase::Report {
            s.capture.clone()
        } else {
            None
        }
    }

    fn publish(&self) {
        if let Ok(json) = serde_json::to_string(&self.snapshot()) {
            let _ = self.updates.send(json);
        }
    }

    fn fail(&self, what: &'static str, advice: &'static str, detail: String) {
        {
            let mut s = self.lock();
            s.phase = Phase::Error;
            s.error = Some(ErrorView {
                what,
                advice,
                detail,
            });
            s.stop = None;
        }
        self.publish();
    }

    /// Starts a check (from the home screen, the report or an error).
    pub fn start(self: &Arc<Self>, offline: bool) -> Result<(), CheckError> {
        if self.running.swap(true, Ordering::SeqCst) {
            return Err(CheckError::Busy);
        }
        if self.saving.load(Ordering::SeqCst) {
            self.running.store(false, Ordering::SeqCst);
            return Err(CheckError::Busy);
        }
        let (capture, logs) = {
            let mut s = self.lock();
            if !matches!(s.phase, Phase::Idle | Phase::Error) {
                self.running.store(false, Ordering::SeqCst);
                return Err(CheckError::Busy);
            }
            // A failed check's files go as at a reset.
            let files = (s.capture.take(), s.logs.take());
            *s = State::new();
            s.phase = Phase::Starting;
            s.offline = offline;
            files
        };
        if !self.keep_captures {
            self.discard(capture, logs);
        }
        self.publish();
        let me = self.clone();
        std::thread::Builder::new()
            .name("tcheck-check".into())
            .spawn(move || {
                me.clone().run(offline);
                me.running.store(false, Ordering::SeqCst);
            })
            .map_err(|_| {
                self.running.store(false, Ordering::SeqCst);
                CheckError::Busy
            })?;
        Ok(())
    }

    /// Ends the capture; the report follows.
    pub fn stop(&self) -> Result<(), CheckError> {
        let stop = {
            let mut s = self.lock();
            if !matches!(s.phase, Phase::Joining | Phase::Capturing | Phase::Starting) {
                return Err(CheckError::NoCheck);
            }
            match s.phase {
                Phase::Capturing => s.phase = Phase::Analysing,
                _ => s.cancelled = true,
            }
            s.stop.clone()
        };
        if let Some(h) = stop {
            h.stop();
        }
        self.publish();
        Ok(())
    }

    /// Clears the finished check: its capture file and logs are deleted (unless captures
    /// are kept), and its report.
    pub fn reset(&self) -> Result<(), CheckError> {
        if self.saving.load(Ordering::SeqCst) {
            return Err(CheckError::Busy);
        }
        let (capture, logs) = {
            let mut s = self.lock();
            if !matches!(s.phase, Phase::Report | Phase::Error) {
                return Err(CheckError::NoCheck);
            }
            let files = (s.capture.take(), s.logs.take());
            *s = State::new();
            files
        };
        if !self.keep_captures {
            self.discard(capture, logs);
        }
        self.publish();
        Ok(())
    }

    /// Deletes a check's files: its logs, and its capture unless it was a replayed file
    /// (the operator's, not the check's).
    fn discard(&self, capture: Option<PathBuf>, logs: Option<PathBuf>) {
        if let (Some(p), SourceMode::Live(_)) = (capture, &self.mode) {
            let _ = std::fs::remove_file(p);
        }
        if let Some(d) = logs {
            let _ = std::fs::remove_dir_all(d);
        }
    }

    /// Pushes the counters every second while a check runs (the kiosk's clock and
    /// sparkline), until the controller is dropped.
    pub fn tick(self: &Arc<Self>) {
        let weak = Arc::downgrade(self);
        let _ = std::thread::Builder::new()
            .name("tcheck-tick".into())
            .spawn(move || loop {
                std::thread::sleep(Duration::from_secs(1));
                let Some(me) = weak.upgrade() else { return };
                if me.finished.load(Ordering::SeqCst) {
                    return;
                }
                if matches!(me.lock().phase, Phase::Capturing | Phase::Joining) {
                    me.publish();
                }
            });
    }

    fn run(self: Arc<Self>, offline: bool) {
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        if let Err(e) = std::fs::create_dir_all(&self.data_dir) {
            return self.fail(
                "error.capture",
                "error.capture_advice",
                format!("{}: {e}", self.data_dir.display()),
            );
        }
        let path = self.data_dir.join(format!("check-{stamp}.pcapng"));
        match self.mode.clone() {
            SourceMode::Live(config) => self.run_live(*config, offline, path),
            SourceMode::Replay { file, speed } => self.run_replay(&file, speed),
        }
    }

    fn run_live(self: &Arc<Self>, mut config: ApConfig, offline: bool, path: PathBuf) {
        config.offline |= offline;
        // The capture may use the disk's free space but a reserve (the database, the logs,
        // the system): checked before the access point starts.
        let max_bytes = match free_bytes(&self.data_dir).and_then(capture_budget) {
            Ok(b) => b,
            Err(e) => return self.fail("error.capture", "error.capture_advice", e),
        };
        let ap = match AccessPoint::start(config.clone()) {
            Ok(ap) => ap,
            Err(e) => return self.fail("error.ap", "error.ap_advice", e.to_string()),
        };
        let options = CaptureOptions {
            max_duration: Some(self.max_duration),
            max_bytes: Some(max_bytes),
            ..CaptureOptions::new(&config.interface, &path)
        };
        let mut capture = match LiveCapture::open(options) {
            Ok(c) => c,
            Err(e) => return self.fail("error.capture", "error.capture_advice", e.to_string()),
        };
        {
            let mut s = self.lock();
            s.creds = ap.credentials().cloned();
            s.counters = Some(capture.counters());
            s.stop = Some(capture.stop_handle());
            s.capture = Some(path.clone());
            s.phase = Phase::Joining;
        }
        self.publish();
        // The phone joins when DHCP (or the neighbour table) sees it.
        let watcher = {
            let me = self.clone();
            let config = config.clone();
            std::thread::spawn(move || loop {
                if !matches!(me.lock().phase, Phase::Joining) {
                    return;
                }
                if let Some(c) = tcheck_apctl::clients(&config).into_iter().next() {
                    me.connected(DeviceView {
                        name: c.hostname,
                        mac: Some(c.mac),
                        ip: Some(c.ip.to_string()),
                    });
                    return;
                }
                std::thread::sleep(Duration::from_millis(300));
            })
        };
        self.analyse(&path, &mut capture);
        drop(ap);
        let _ = watcher.join();
    }

    fn run_replay(self: &Arc<Self>, file: &Path, speed: f64) {
        let mut replay = match ReplaySource::open(file, speed) {
            Ok(r) => r,
            Err(e) => return self.fail("error.capture", "error.capture_advice", e.to_string()),
        };
        let creds = Credentials::generate(&["Wi-Fi".to_string()]).ok();
        {
            let mut s = self.lock();
            s.creds = creds;
            s.counters = Some(replay.counters());
            s.stop = Some(replay.stop_handle());
            s.capture = Some(file.to_path_buf());
            s.phase = Phase::Joining;
        }
        self.publish();
        // A replayed phone "joins" after a moment, so that the joining screen shows.
        std::thread::sleep(Duration::from_millis(1500));
        if self.lock().phase == Phase::Joining {
            self.connected(DeviceView::default());
        }
        self.analyse(file, &mut replay);
    }

    fn connected(&self, device: DeviceView) {
        {
            let mut s = self.lock();
            if s.phase != Phase::Joining {
                return;
            }
            s.device = Some(device);
            s.connected_at = Some(Instant::now());
            s.phase = Phase::Capturing;
        }
        self.publish();
    }

    fn analyse(self: &Arc<Self>, input: &Path, source: &mut (dyn PacketSource + Send)) {
        let on_detect = {
            let me = Arc::downgrade(self);
            Box::new(move |d: &LiveDetection| {
                if let Some(me) = me.upgrade() {
                    me.detected(d);
                }
            })
        };
        let sink = Box::new(LiveView {
            controller: Arc::downgrade(self),
        });
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        let logs = self.data_dir.join(format!("logs-{stamp}"));
        if let Err(e) = std::fs::create_dir_all(&logs) {
            let why = format!("{}: {e}", logs.display());
            return self.fail("error.analysis", "error.analysis_advice", why);
        }
        self.lock().logs = Some(logs.clone());
        let result = self.analyzer.analyze(input, &logs, source, on_detect, sink);
        let cancelled = self.lock().cancelled;
        if cancelled {
            // Stopped before the phone joined: nothing is kept, whatever the setting.
            let (capture, logs) = {
                let mut s = self.lock();
                let files = (s.capture.take(), s.logs.take());
                *s = State::new();
                files
            };
            self.discard(capture, logs);
            self.publish();
            return;
        }
        match result {
            Ok(outcome) => {
                {
                    let mut s = self.lock();
                    s.report = Some(outcome);
                    s.phase = Phase::Report;
                    s.stop = None;
                }
                self.publish();
            }
            Err(e) => self.fail("error.analysis", "error.analysis_advice", e),
        }
    }

    fn detected(&self, d: &LiveDetection) {
        {
            let mut s = self.lock();
            if s.detections.len() >= SHOWN_DETECTIONS {
                return;
            }
            s.detections.push(DetectionView {
                value: d.value.clone(),
                seen: d.seen.label(),
                tag: d.ioc.tag.clone(),
                app: d.ioc.app.clone(),
                source: d.ioc.source.clone(),
            });
        }
        self.publish();
    }

    fn name_seen(&self, name: &str) {
        let mut s = self.lock();
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        if name.is_empty() || s.names.front() == Some(&name) {
            return;
        }
        s.names.retain(|n| *n != name);
        s.names.push_front(name);
        s.names.truncate(RECENT_NAMES);
    }

    fn dhcp_name(&self, name: &str) {
        let mut s = self.lock();
        let device = s.device.get_or_insert_with(DeviceView::default);
        if device.name.is_none() {
            device.name = Some(name.to_string());
        }
    }
}

impl Drop for Controller {
    fn drop(&mut self) {
        self.finished.store(true, Ordering::SeqCst);
    }
}

/// The sink that feeds the kiosk's live view: names contacted, the phone's DHCP name.
struct LiveView {
    controller: std::sync::Weak<Controller>,
}

impl EventSink for LiveView {
    fn event(&mut self, event: &Event) -> tcheck_engine::Result<()> {
        let Some(c) = self.controller.upgrade() else {
            return Ok(());
        };
        match &event.kind {
            EventKind::DnsMessage(m) if !m.message.questions.is_empty() => {
                for q in &m.message.questions {
                    c.name_seen(&q.name);
                }
            }
            EventKind::Tls(t) => {
                if let Some(n) = &t.server_name {
                    c.name_seen(n);
                }
            }
            EventKind::Http(h) => {
                if let Some(n) = &h.host {
                    c.name_seen(&tcheck_engine::ioc::host_of(n));
                }
            }
            EventKind::Dhcp(d) => {
                if let Some(n) = &d.message.host_name {
                    let name: String = String::from_utf8_lossy(n)
                        .chars()
                        .filter(|c| !c.is_control())
                        .take(64)
                        .collect();
                    if !name.is_empty() {
                        c.dhcp_name(&name);
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// Clears a flag when dropped.
struct ClearOnDrop<'a>(&'a AtomicBool);

impl Drop for ClearOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

/// Free space left on the disk for everything but a capture.
const DISK_RESERVE: u64 = 256 << 20;
/// The smallest capture worth starting: a few minutes of a phone's traffic.
const MIN_CAPTURE: u64 = 32 << 20;

/// Bytes available to an unprivileged writer on the filesystem of `dir`.
pub fn free_bytes(dir: &Path) -> Result<u64, String> {
    let st = rustix::fs::statvfs(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok(st.f_bavail.saturating_mul(st.f_frsize))
}

/// How large a capture may grow with `free` bytes free: half of what is left above
/// [`DISK_RESERVE`] (the other half for its logs and the archive a save builds beside it,
/// which barely compresses encrypted traffic), or an error when that is less than
/// [`MIN_CAPTURE`].
fn capture_budget(free: u64) -> Result<u64, String> {
    let budget = free.saturating_sub(DISK_RESERVE) / 2;
    if budget < MIN_CAPTURE {
        return Err(format!(
            "the disk is nearly full ({} MiB free): delete old captures or reports first",
            free >> 20
        ));
    }
    Ok(budget)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_capture_leaves_the_reserve_free() {
        assert_eq!(
            capture_budget(10 << 30),
            Ok(((10 << 30) - DISK_RESERVE) / 2)
        );
        assert_eq!(
            capture_budget(DISK_RESERVE + 2 * MIN_CAPTURE),
            Ok(MIN_CAPTURE)
        );
        let refused = capture_budget(DISK_RESERVE + 2 * MIN_CAPTURE - 1).unwrap_err();
        assert!(refused.contains("nearly full"), "{refused}");
        assert!(capture_budget(0).is_err());
        let dir = tempfile::tempdir().unwrap();
        assert!(free_bytes(dir.path()).unwrap() > 0);
    }

    /// Reads the packets and writes one log file: the controller's handling of a check's
    /// files is what is under test, not the analysis.
    struct CountingAnalyzer;

    impl Analyzer for CountingAnalyzer {
        fn analyze(
            &self,
            _input: &Path,
            logs: &Path,
            source: &mut (dyn PacketSource + Send),
            _on_detect: Box<dyn FnMut(&LiveDetection) + Send>,
            _sink: Box<dyn EventSink + Send>,
        ) -> Result<Outcome, String> {
            let (mut packets, mut buf) = (0u64, Vec::new());
            loop {
                buf.clear();
                match source.poll_packet(&mut buf) {
                    Ok(tcheck_engine::source::Poll::Packet(_)) => packets += 1,
                    Ok(tcheck_engine::source::Poll::Idle) => {}
                    Ok(tcheck_engine::source::Poll::End) => break,
                    Err(e) => return Err(e.to_string()),
                }
            }
            std::fs::write(logs.join("conn.log"), format!("{packets}\n"))
                .map_err(|e| e.to_string())?;
            Ok(Outcome {
                report: serde_json::json!({ "packets": packets }),
                html: String::new(),
            })
        }
    }

    fn finished_check(data: &Path, keep_captures: bool) -> Arc<Controller> {
        let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/sample/sample.pcap");
        let ctrl = Controller::new(
            SourceMode::Replay {
                file: sample,
                speed: 1000.0,
            },
            Arc::new(CountingAnalyzer),
            data.to_path_buf(),
            Duration::from_secs(60),
            keep_captures,
        );
        ctrl.start(false).unwrap();
        // The replay waits, like a quiet phone, once its packets are out: stopped then.
        let wait_for = |phase: Phase| {
            let deadline = std::time::Instant::now() + Duration::from_secs(30);
            while ctrl.snapshot().phase != phase {
                assert!(
                    std::time::Instant::now() < deadline,
                    "{:?}",
                    ctrl.snapshot().phase
                );
                std::thread::sleep(Duration::from_millis(20));
            }
        };
        wait_for(Phase::Capturing);
        ctrl.stop().unwrap();
        wait_for(Phase::Report);
        ctrl
    }

    fn logs_dirs(data: &Path) -> usize {
        std::fs::read_dir(data)
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("logs-"))
            .count()
    }

    /// While a save reads the check's files, "New check" is refused and nothing is deleted.
    #[test]
    fn no_new_check_while_a_save_runs() {
        let data = tempfile::tempdir().unwrap();
        let ctrl = finished_check(data.path(), false);
        ctrl.saving.store(true, Ordering::SeqCst);
        assert!(matches!(ctrl.reset(), Err(CheckError::Busy)));
        assert_eq!(logs_dirs(data.path()), 1);
        ctrl.saving.store(false, Ordering::SeqCst);
        ctrl.reset().unwrap();
        assert_eq!(logs_dirs(data.path()), 0);
    }

    #[test]
    fn a_new_check_deletes_the_logs_unless_captures_are_kept() {
        for keep in [false, true] {
            let data = tempfile::tempdir().unwrap();
            let ctrl = finished_check(data.path(), keep);
            assert_eq!(logs_dirs(data.path()), 1);
            ctrl.reset().unwrap();
            assert_eq!(
                logs_dirs(data.path()),
                usize::from(keep),
                "keep_captures = {keep}"
            );
        }
    }
}
