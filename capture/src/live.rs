//! A live capture as a packet source: libpcap on an interface, each packet written to the
//! capture files and handed to the engine in the same step.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tcheck_engine::source::SourceWarning;
use tcheck_engine::{LinkType, PacketMeta, PacketSource, Poll, Timestamp};

use crate::files::CaptureFiles;
use crate::pcapng::{file_head, packet_block, InterfaceInfo};

/// How long the source waits for a packet before it reports itself idle (and the engine
/// hands out what it holds).
const POLL_MS: i32 = 100;

/// What to capture and where to write it.
#[derive(Clone, Debug)]
pub struct CaptureOptions {
    /// The interface (`wlan1`, `eth1`, `veth-box`…).
    pub interface: String,
    /// The capture file (pcapng); rotated files are numbered after it.
    pub out: PathBuf,
    /// A capture filter in libpcap's syntax (`not port 22`…), if any.
    pub filter: Option<String>,
    /// Bytes kept of each packet.
    pub snaplen: i32,
    /// Promiscuous mode (not needed on the access point's own interface).
    pub promisc: bool,
    /// Stop after this long.
    pub max_duration: Option<Duration>,
    /// Stop once this many bytes of packets were captured.
    pub max_bytes: Option<u64>,
    /// Start a new file before one would exceed this size.
    pub rotate_bytes: Option<u64>,
}

impl CaptureOptions {
    /// Options to capture everything on `interface` into `out`, without limits.
    pub fn new(interface: impl Into<String>, out: impl Into<PathBuf>) -> Self {
        CaptureOptions {
            interface: interface.into(),
            out: out.into(),
            filter: None,
            snaplen: 262_144,
            promisc: false,
            max_duration: None,
            max_bytes: None,
            rotate_bytes: None,
        }
    }
}

/// Counters a user interface can read while the capture runs (from any thread).
#[derive(Debug, Default)]
pub struct Counters {
    /// Packets captured.
    pub packets: AtomicU64,
    /// Bytes captured (as on the wire).
    pub bytes: AtomicU64,
    /// Packets the kernel dropped because the capture did not keep up.
    pub dropped: AtomicU64,
    /// Packets the interface dropped.
    pub if_dropped: AtomicU64,
}

/// A snapshot of [`Counters`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CounterValues {
    /// Packets captured.
    pub packets: u64,
    /// Bytes captured.
    pub bytes: u64,
    /// Packets dropped by the kernel.
    pub dropped: u64,
    /// Packets dropped by the interface.
    pub if_dropped: u64,
}

impl Counters {
    /// The current values.
    pub fn get(&self) -> CounterValues {
        CounterValues {
            packets: self.packets.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            if_dropped: self.if_dropped.load(Ordering::Relaxed),
        }
    }
}

/// Why a capture ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndReason {
    /// Stopped through its [`StopHandle`].
    Stopped,
    /// The duration limit was reached.
    Duration,
    /// The size limit was reached.
    Size,
    /// The interface went away or stopped delivering.
    InterfaceGone,
}

/// Stops a running capture from another thread (or a signal handler's flag).
#[derive(Clone, Debug, Default)]
pub struct StopHandle(Arc<AtomicBool>);

impl StopHandle {
    /// Asks the capture to stop; it ends within one poll interval (100 ms).
    pub fn stop(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// The flag itself, for `signal_hook::flag::register` and the like.
    pub fn flag(&self) -> Arc<AtomicBool> {
        self.0.clone()
    }

    fn is_set(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Errors opening a capture.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// libpcap refused the interface (missing, down, no permission).
    #[error("capture on {interface}: {message}")]
    Open {
        /// The interface.
        interface: String,
        /// libpcap's message.
        message: String,
    },
    /// The capture filter does not compile.
    #[error("capture filter {filter:?}: {message}")]
    Filter {
        /// The filter.
        filter: String,
        /// libpcap's message.
        message: String,
    },
    /// The capture file cannot be created.
    #[error("{}: {cause}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        cause: std::io::Error,
    },
}

/// A running live capture: a [`PacketSource`] for the engine.
pub struct LiveCapture {
    cap: pcap::Capture<pcap::Active>,
    interface: String,
    link: LinkType,
    files: CaptureFiles,
    options: CaptureOptions,
    started: Instant,
    stop: StopHandle,
    counters: Arc<Counters>,
    ended: Option<EndReason>,
    warnings: Vec<SourceWarning>,
}

impl std::fmt::Debug for LiveCapture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveCapture")
            .field("interface", &self.interface)
            .field("link", &self.link)
            .field("files", &self.files.paths())
            .field("ended", &self.ended)
            .finish()
    }
}

impl LiveCapture {
    /// Opens the interface, compiles the filter and creates the first file.
    pub fn open(options: CaptureOptions) -> Result<Self, CaptureError> {
        let open_err = |e: pcap::Error| CaptureError::Open {
            interface: options.interface.clone(),
            message: e.to_string(),
        };
        let mut cap = pcap::Capture::from_device(options.interface.as_str())
            .map_err(open_err)?
            .promisc(options.promisc)
            .snaplen(options.snaplen)
            .timeout(POLL_MS)
            .immediate_mode(true)
            .open()
            .and_then(|c| c.setnonblock())
            .map_err(open_err)?;
        if let Some(f) = &options.filter {
            cap.filter(f, true).map_err(|e| CaptureError::Filter {
                filter: f.clone(),
                message: e.to_string(),
            })?;
        }
        let linktype = cap.get_datalink().0;
        let head = file_head(&InterfaceInfo {
            linktype,
            snaplen: u32::try_from(options.snaplen).unwrap_or(262_144),
            name: options.interface.clone(),
        })
        .map_err(|message| CaptureError::Open {
            interface: options.interface.clone(),
            message,
        })?;
        let files =
            CaptureFiles::create(&options.out, head, options.rotate_bytes).map_err(|cause| {
                CaptureError::File {
                    path: options.out.clone(),
                    cause,
                }
            })?;
        Ok(LiveCapture {
            cap,
            interface: options.interface.clone(),
            link: LinkType(u32::try_from(linktype).unwrap_or(0)),
            files,
            options,
            started: Instant::now(),
            stop: StopHandle::default(),
            counters: Arc::new(Counters::default()),
            ended: None,
            warnings: Vec::new(),
        })
    }

    /// A handle that stops the capture.
    pub fn stop_handle(&self) -> StopHandle {
        self.stop.clone()
    }

    /// The live counters.
    pub fn counters(&self) -> Arc<Counters> {
        self.counters.clone()
    }

    /// The files written so far.
    pub fn files(&self) -> &[PathBuf] {
        self.files.paths()
    }

    /// Why the capture ended, once it has.
    pub fn ended(&self) -> Option<EndReason> {
        self.ended
    }

    fn limit_reached(&self) -> Option<EndReason> {
        if self.stop.is_set() {
            return Some(EndReason::Stopped);
        }
        if let Some(d) = self.options.max_duration {
            if self.started.elapsed() >= d {
                return Some(EndReason::Duration);
            }
        }
        if let Some(b) = self.options.max_bytes {
            if self.counters.bytes.load(Ordering::Relaxed) >= b {
                return Some(EndReason::Size);
            }
        }
        None
    }

    fn end(&mut self, why: EndReason) -> tcheck_engine::Result<Poll> {
        if self.ended.is_none() {
            self.ended = Some(why);
            self.update_drops();
            self.files.flush().map_err(|e| self.file_error(e))?;
        }
        Ok(Poll::End)
    }

    /// Waits up to one poll interval for the capture to have something to read.
    fn wait_readable(&self) -> tcheck_engine::Result<bool> {
        let mut fds = [rustix::event::PollFd::new(
            &self.cap,
            rustix::event::PollFlags::IN,
        )];
        let timeout = rustix::event::Timespec {
            tv_sec: 0,
            tv_nsec: i64::from(POLL_MS) * 1_000_000,
        };
        match rustix::event::poll(&mut fds, Some(&timeout)) {
            Ok(n) => Ok(n > 0),
            Err(rustix::io::Errno::INTR) => Ok(false),
            Err(e) => Err(tcheck_engine::Error::Source(format!(
                "capture on {}: {e}",
                self.interface
            ))),
        }
    }

    fn update_drops(&mut self) {
        if let Ok(s) = self.cap.stats() {
            self.counters
                .dropped
                .store(u64::from(s.dropped), Ordering::Relaxed);
            self.counters
                .if_dropped
                .store(u64::from(s.if_dropped), Ordering::Relaxed);
        }
    }

    fn file_error(&self, e: std::io::Error) -> tcheck_engine::Error {
        tcheck_engine::Error::Output {
            path: self.files.paths().last().cloned().unwrap_or_default(),
            cause: e,
        }
    }
}

impl PacketSource for LiveCapture {
    fn read_packet(&mut self, buf: &mut Vec<u8>) -> tcheck_engine::Result<Option<PacketMeta>> {
        tcheck_engine::source::read_by_polling(self, buf)
    }

    fn is_live(&self) -> bool {
        true
    }

    fn poll_packet(&mut self, buf: &mut Vec<u8>) -> tcheck_engine::Result<Poll> {
        if self.ended.is_some() {
            return Ok(Poll::End);
        }
        if let Some(why) = self.limit_reached() {
            return self.end(why);
        }
        // Non-blocking reads, and a poll on the capture's descriptor between them: libpcap's
        // own read timeout does not fire on Linux while no packet arrives, and an idle phone
        // must not hold a stop request or a detection back.
        let (meta, block) = loop {
            match self.cap.next_packet() {
                Ok(p) => {
                    // `time_t` is 32 bits wide on armhf (older Raspberry Pi OS), 64 elsewhere.
                    #[allow(clippy::useless_conversion)]
                    let secs = i64::from(p.header.ts.tv_sec);
                    #[allow(clippy::useless_conversion)]
                    let micros = i64::from(p.header.ts.tv_usec).clamp(0, 999_999);
                    let stamp = u64::try_from(secs)
                        .unwrap_or(0)
                        .saturating_mul(1_000_000)
                        .saturating_add(micros as u64);
                    let meta = PacketMeta {
                        ts: Timestamp::from_parts(secs, (micros * 1_000) as u32),
                        link: self.link,
                        caplen: u32::try_from(p.data.len()).unwrap_or(u32::MAX),
                        orig_len: p.header.len,
                        interface: 0,
                    };
                    let block = packet_block(stamp, p.data, p.header.len)
                        .map_err(tcheck_engine::Error::Source)?;
                    buf.extend_from_slice(p.data);
                    break (meta, block);
                }
                Err(pcap::Error::TimeoutExpired) => {
                    if !self.wait_readable()? {
                        self.update_drops();
                        self.files.flush().map_err(|e| self.file_error(e))?;
                        return Ok(Poll::Idle);
                    }
                    if let Some(why) = self.limit_reached() {
                        return self.end(why);
                    }
                }
                Err(pcap::Error::NoMorePackets) => return self.end(EndReason::InterfaceGone),
                Err(e) => {
                    self.warnings.push(SourceWarning {
                        offset: self.counters.bytes.load(Ordering::Relaxed),
                        message: format!("capture on {} stopped: {e}", self.interface),
                    });
                    return self.end(EndReason::InterfaceGone);
                }
            }
        };
        self.files
            .write_block(&block)
            .map_err(|e| self.file_error(e))?;
        self.counters.packets.fetch_add(1, Ordering::Relaxed);
        self.counters
            .bytes
            .fetch_add(u64::from(meta.orig_len), Ordering::Relaxed);
        Ok(Poll::Packet(meta))
    }

    fn take_warnings(&mut self) -> Vec<SourceWarning> {
        std::mem::take(&mut self.warnings)
    }

    fn position(&self) -> u64 {
        self.counters.bytes.load(Ordering::Relaxed)
    }
}
