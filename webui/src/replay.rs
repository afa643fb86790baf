//! A capture file replayed as if it were live, for demonstrations, training and tests where
//! no access point exists: packets come at the pace of their timestamps (sped up), the
//! counters move, and after the last packet the source waits, like an interface with a
//! quiet phone, until the check is stopped.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tcheck_capture::{Counters, StopHandle};
use tcheck_engine::source::SourceWarning;
use tcheck_engine::{FileSource, PacketMeta, PacketSource, Poll, Timestamp};

/// The longest pause between two replayed packets, whatever their timestamps say.
const MAX_GAP: Duration = Duration::from_millis(500);
/// How long the source waits before it reports itself idle.
const IDLE_POLL: Duration = Duration::from_millis(100);

/// A capture file replayed at `speed` times its own pace.
pub struct ReplaySource {
    file: FileSource,
    speed: f64,
    started: Option<(Instant, Timestamp)>,
    stop: StopHandle,
    counters: Arc<Counters>,
    exhausted: bool,
    /// A packet read but not yet due, and its bytes.
    pending: Option<PacketMeta>,
    scratch: Vec<u8>,
}

impl std::fmt::Debug for ReplaySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplaySource")
            .field("speed", &self.speed)
            .field("exhausted", &self.exhausted)
            .finish()
    }
}

impl ReplaySource {
    /// Opens `path` for a replay at `speed` (1.0: real time).
    pub fn open(path: &Path, speed: f64) -> tcheck_engine::Result<Self> {
        Ok(ReplaySource {
            file: FileSource::open(path)?,
            speed: if speed.is_finite() && speed > 0.0 {
                speed
            } else {
                1.0
            },
            started: None,
            stop: StopHandle::default(),
            counters: Arc::new(Counters::default()),
            exhausted: false,
            pending: None,
            scratch: Vec::new(),
        })
    }

    /// A handle that ends the replay.
    pub fn stop_handle(&self) -> StopHandle {
        self.stop.clone()
    }

    /// The replay's counters.
    pub fn counters(&self) -> Arc<Counters> {
        self.counters.clone()
    }

    fn stopped(&self) -> bool {
        self.stop.flag().load(Ordering::SeqCst)
    }
}

impl PacketSource for ReplaySource {
    fn read_packet(&mut self, buf: &mut Vec<u8>) -> tcheck_engine::Result<Option<PacketMeta>> {
        tcheck_engine::source::read_by_polling(self, buf)
    }

    fn is_live(&self) -> bool {
        true
    }

    fn poll_packet(&mut self, buf: &mut Vec<u8>) -> tcheck_engine::Result<Poll> {
        if self.stopped() {
            return Ok(Poll::End);
        }
        if self.exhausted {
            std::thread::sleep(IDLE_POLL);
            return Ok(Poll::Idle);
        }
        let meta = match self.pending {
            Some(m) => m,
            None => {
                self.scratch.clear();
                let Some(m) = self.file.read_packet(&mut self.scratch)? else {
                    self.exhausted = true;
                    return Ok(Poll::Idle);
                };
                self.pending = Some(m);
                m
            }
        };
        let (wall, first) = *self.started.get_or_insert((Instant::now(), meta.ts));
        let due =
            Duration::from_secs_f64((meta.ts.nanos_since(first).max(0) as f64 / 1e9) / self.speed);
        let now = wall.elapsed();
        if due > now + IDLE_POLL {
            std::thread::sleep(IDLE_POLL);
            if due - now > MAX_GAP {
                // A long silence in the file: move the clock on rather than wait it out.
                let earlier = wall.checked_sub(due - now - MAX_GAP).unwrap_or(wall);
                self.started = Some((earlier, first));
            }
            return Ok(Poll::Idle);
        }
        if due > now {
            std::thread::sleep(due - now);
        }
        self.pending = None;
        buf.extend_from_slice(&self.scratch);
        self.counters.packets.fetch_add(1, Ordering::Relaxed);
        self.counters
            .bytes
            .fetch_add(u64::from(meta.orig_len), Ordering::Relaxed);
        Ok(Poll::Packet(meta))
    }

    fn take_warnings(&mut self) -> Vec<SourceWarning> {
        self.file.take_warnings()
    }

    fn position(&self) -> u64 {
        self.file.position()
    }
}
