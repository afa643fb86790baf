//! The analysis driver: reads a source in batches, shards packets by flow, runs the shards
//! (in parallel when there is more than one thread), and hands the events to a sink in an
//! order that does not depend on the thread count.
//!
//! A batch is a fixed number of packets (or bytes), so its boundaries depend on the input
//! only. With several threads, the reader fills batch *n + 1* while the workers process batch
//! *n*; with one, the caller's thread reads a batch a chunk at a time and runs each chunk at
//! once, while its packets are still in the cache. At the end of a batch every shard
//! sweeps its idle flows; the events of the batch are then sorted by
//! [`crate::event::EventOrder`] and written. With several threads, a sink that writes EVE
//! has each batch's lines rendered by the workers (in runs of consecutive events, so the
//! order is kept) while they process the next batch (unless the source is live), and its
//! thread only writes them.

use rayon::prelude::*;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::event::Event;
use crate::flow::table::{FlowStats, Shard, SHARDS};
use crate::output::eve::{EveRenderer, RenderedEve};
use crate::output::EventSink;
use crate::packet::{DecodeStats, Decoder, PacketRecord};
use crate::source::{PacketSource, Poll, SourceWarning};
use crate::time::Timestamp;

/// Packets per batch.
const BATCH_PACKETS: usize = 16_384;
/// Captured bytes per batch at most.
const BATCH_BYTES: usize = 16 << 20;
/// Room for the packet that takes a batch past [`BATCH_BYTES`] (a full snap length).
const BATCH_SLACK: usize = 256 << 10;

/// What a run saw, besides its events.
#[derive(Clone, Debug, Default)]
pub struct RunStats {
    /// Reader-stage counters (packets, bytes, malformed packets by reason, fragments).
    pub decode: DecodeStats,
    /// Flow-table counters.
    pub flows: FlowStats,
    /// Problems met while reading the capture.
    pub warnings: Vec<SourceWarning>,
    /// Events written.
    pub events: u64,
    /// Worker threads used.
    pub threads: usize,
}

/// A batch of packets: their bytes and their decoded records.
struct Batch {
    arena: Vec<u8>,
    records: Vec<PacketRecord>,
    /// Number of the last packet read into this batch.
    last_index: u64,
    last_ts: Option<Timestamp>,
    eof: bool,
}

impl Batch {
    /// An empty batch with room for a full one (`packets`, `bytes`): growing them packet by
    /// packet copied their bytes over and over at the start of a run.
    fn new(packets: usize, bytes: usize) -> Self {
        Batch {
            arena: Vec::with_capacity(bytes + BATCH_SLACK),
            records: Vec::with_capacity(packets),
            last_index: 0,
            last_ts: None,
            eof: false,
        }
    }

    fn clear(&mut self) {
        self.arena.clear();
        self.records.clear();
        self.eof = false;
    }
}

/// The reader stage's state.
struct Reader<'s> {
    source: &'s mut (dyn PacketSource + Send),
    decoder: Decoder,
    next_index: u64,
    warnings: Vec<SourceWarning>,
    /// The error that ended the input early. What was read before it is analysed as if the
    /// input had ended there, and the run returns the error once its events are out, so
    /// that what is handed out does not depend on the thread count.
    failed: Option<Error>,
}

/// How far the batch being read stands. One thread reads a batch in chunks, each processed
/// as soon as it is read, so that the packets are still in the cache; the batch (what is
/// swept and sorted together) stays the same whatever the thread count.
struct Fill {
    /// Packets of the batch read so far.
    packets: usize,
    /// Arena bytes of the batch's chunks already handed out.
    bytes: usize,
    started: std::time::Instant,
}

/// Packets per chunk, when a batch is read in chunks.
const CHUNK_PACKETS: usize = 256;
/// Captured bytes per chunk at most, when a batch is read in chunks.
const CHUNK_BYTES: usize = 256 << 10;

impl Reader<'_> {
    /// Starts reading a batch into `batch`.
    fn begin(&self, batch: &mut Batch) -> Fill {
        // An empty batch (end of input, or a live source with nothing new) still knows where
        // the input stands, so the end of the run numbers its events after the last packet.
        batch.last_index = self.next_index;
        batch.last_ts = None;
        Fill {
            packets: 0,
            bytes: 0,
            started: std::time::Instant::now(),
        }
    }

    /// Reads a whole batch into `batch`.
    fn fill(&mut self, batch: &mut Batch) {
        let mut fill = self.begin(batch);
        self.fill_chunk(batch, &mut fill, false);
    }

    /// Reads the next packets of the batch `fill` describes into `batch` (emptied first),
    /// a chunk at most when `chunked`. Returns whether the batch goes on: false when it is
    /// full, or the input ended, failed or has nothing new.
    fn fill_chunk(&mut self, batch: &mut Batch, fill: &mut Fill, chunked: bool) -> bool {
        batch.clear();
        let live = self.source.is_live();
        let mut more = false;
        let mut n = 0;
        while fill.packets < BATCH_PACKETS && fill.bytes + batch.arena.len() < BATCH_BYTES {
            if chunked && (n >= CHUNK_PACKETS || batch.arena.len() >= CHUNK_BYTES) {
                more = true;
                break;
            }
            if live && fill.packets > 0 && fill.started.elapsed() >= crate::source::LIVE_BATCH_MAX {
                break;
            }
            let start = batch.arena.len();
            let meta = match self.source.poll_packet(&mut batch.arena) {
                Ok(Poll::Packet(meta)) => meta,
                // A live source with nothing new: hand out what the batch holds.
                Ok(Poll::Idle) => break,
                Ok(Poll::End) => {
                    batch.eof = true;
                    break;
                }
                Err(e) => {
                    batch.arena.truncate(start);
                    self.failed = Some(e);
                    batch.eof = true;
                    break;
                }
            };
            n += 1;
            fill.packets += 1;
            self.next_index += 1;
            batch.last_index = self.next_index;
            batch.last_ts = Some(meta.ts);
            if let Some(rec) = self
                .decoder
                .decode(&meta, self.next_index, &mut batch.arena, start)
            {
                batch.records.push(rec);
            }
        }
        fill.bytes += batch.arena.len();
        self.warnings.extend(self.source.take_warnings());
        more
    }
}

/// Runs `shards` over `batch` in parallel on the current rayon pool, sweeps them, and
/// returns the batch's events, sorted.
fn process(
    shards: &mut [Shard],
    parts: &mut [Vec<u32>],
    batch: &Batch,
    config: &Config,
) -> Vec<Event> {
    for p in parts.iter_mut() {
        p.clear();
    }
    for (i, r) in batch.records.iter().enumerate() {
        let s = r.key.shard(SHARDS);
        if let (Some(part), Ok(i)) = (parts.get_mut(s), u32::try_from(i)) {
            part.push(i);
        }
    }
    let arena = &batch.arena;
    let records = &batch.records;
    shards
        .par_iter_mut()
        .zip(parts.par_iter())
        .for_each(|(shard, idx)| {
            for &i in idx {
                if let Some(r) = records.get(i as usize) {
                    shard.packet(r, arena, config);
                }
            }
            if let Some(ts) = batch.last_ts {
                shard.sweep(ts, batch.last_index, config);
            }
        });
    collect(shards)
}

/// Runs the packets of `chunk` (part of a batch) in the order they came, on the caller's
/// thread: each goes to its flow's shard, as with several threads, so that a shard sees the
/// same packets in the same order.
fn process_in_turn(shards: &mut [Shard], chunk: &Batch, config: &Config) {
    for r in &chunk.records {
        let s = r.key.shard(SHARDS);
        if let Some(shard) = shards.get_mut(s) {
            shard.packet(r, &chunk.arena, config);
        }
    }
}

/// Sweeps every shard at the end of a batch that ended at packet `last_index`, time `last_ts`
/// (none when the batch was empty), and returns the batch's events, sorted.
fn sweep_and_collect(
    shards: &mut [Shard],
    last_ts: Option<Timestamp>,
    last_index: u64,
    config: &Config,
) -> Vec<Event> {
    if let Some(ts) = last_ts {
        for shard in shards.iter_mut() {
            shard.sweep(ts, last_index, config);
        }
    }
    collect(shards)
}

/// The events the shards hold, taken in shard order (so that events with the same order key
/// keep one order whatever the thread count), and sorted.
fn collect(shards: &mut [Shard]) -> Vec<Event> {
    let total = shards.iter().map(|s| s.events.len()).sum();
    let mut events: Vec<Event> = Vec::with_capacity(total);
    for s in shards.iter_mut() {
        events.append(&mut s.events);
    }
    events.sort_unstable_by_key(|e| e.order);
    events
}

/// Analyses everything `source` yields, handing events to `sink`. `progress` is called after
/// each batch with the bytes consumed and the total, when known.
///
/// A read error ends the input: the packets read before it are analysed and their flows
/// ended as at the end of a capture, the sink is finished, and the error is returned. An
/// error of the sink stops the run at once, without finishing the sink.
///
/// With more than one thread, the sink runs on a thread of its own, a batch behind the
/// workers (two batches queued at most), and two behind when the workers render its EVE
/// lines (a batch's lines are rendered while the next batch is processed); with one thread
/// everything runs on the caller's.
pub fn analyze(
    source: &mut (dyn PacketSource + Send),
    config: &Config,
    sink: &mut (dyn EventSink + Send),
    progress: &mut dyn FnMut(u64, Option<u64>),
) -> Result<RunStats> {
    let threads = if config.threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        config.threads
    };
    if threads == 1 {
        // Everything on the caller's thread: no pool, and every event is freed by the
        // thread that allocated it (a free from another thread costs the allocator more).
        let mut deliver = |events: Vec<Event>, _: Option<RenderedEve>| -> Result<()> {
            sink.batch(&events, None)
        };
        // A sink that failed is not finished; after a read error it is, as at the end of
        // the input, and then the error is returned (as with several threads).
        let (stats, failed) = run(source, config, None, threads, progress, &mut deliver)?;
        sink.finish()?;
        return failed.map_or(Ok(stats), Err);
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("tcheck-worker-{i}"))
        .build()
        .map_err(|e| Error::Config(format!("cannot start {threads} worker threads: {e}")))?;
    // The workers render the EVE lines; the output thread only writes them.
    let eve = sink.eve_renderer().cloned();
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Delivered>(2);
        // Written batches go back to be freed by the workers, each event by the one that
        // made it: a free from another thread costs the allocator more, and the output
        // thread is the one part of the pipeline that does not run in parallel.
        let (spent_tx, spent_rx) = std::sync::mpsc::channel::<Delivered>();
        let writer = std::thread::Builder::new()
            .name("tcheck-output".into())
            .spawn_scoped(scope, move || -> Result<()> {
                for (batch, eve) in rx {
                    sink.batch(&batch, eve.as_ref())?;
                    // The batches written after the batch loop is over stay in the channel
                    // and are freed with it, on the caller's thread.
                    let _ = spent_tx.send((batch, eve));
                }
                sink.finish()
            })
            .map_err(|e| Error::Config(format!("cannot start the output thread: {e}")))?;
        let mut deliver = |events: Vec<Event>, eve: Option<RenderedEve>| -> Result<()> {
            // A closed channel means the writer stopped on an error, which join reports.
            let _ = tx.send((events, eve));
            Ok(())
        };
        let result = run(
            source,
            config,
            Some(Parallel {
                pool: &pool,
                eve: eve.as_ref(),
                spent: &spent_rx,
            }),
            threads,
            progress,
            &mut deliver,
        );
        drop(tx);
        let written = writer
            .join()
            .unwrap_or_else(|_| Err(Error::Config("the output thread panicked".into())));
        let (stats, failed) = result?;
        written?;
        failed.map_or(Ok(stats), Err)
    })
}

/// Drops each item of `batches` on the worker of `pool` that `worker_of` names (each when
/// it next looks for work), and those it names none (or no worker of the pool) here.
fn drop_on_workers<T: Send + 'static>(
    pool: &rayon::ThreadPool,
    batches: Vec<Vec<T>>,
    worker_of: impl Fn(&T) -> Option<usize>,
) {
    if batches.is_empty() {
        return;
    }
    let workers = pool.current_num_threads();
    let total: usize = batches.iter().map(Vec::len).sum();
    let mut by_worker: Vec<Vec<T>> = (0..workers)
        .map(|_| Vec::with_capacity(total / workers + 1))
        .collect();
    for item in batches.into_iter().flatten() {
        if let Some(own) = worker_of(&item).and_then(|w| by_worker.get_mut(w)) {
            own.push(item);
        }
    }
    let by_worker: std::sync::Arc<Vec<std::sync::Mutex<Vec<T>>>> =
        std::sync::Arc::new(by_worker.into_iter().map(std::sync::Mutex::new).collect());
    pool.spawn_broadcast(move |ctx| {
        if let Some(Ok(mut own)) = by_worker.get(ctx.index()).map(|m| m.lock()) {
            drop(std::mem::take(&mut *own));
        }
    });
}

/// A batch's events and their rendered EVE lines, on their way to the sink (and back).
type Delivered = (Vec<Event>, Option<RenderedEve>);

/// What a run on several threads has: the workers, the renderer they write EVE lines with
/// (when the sink writes EVE), and the channel on which the sink hands back the batches it
/// wrote.
struct Parallel<'a> {
    pool: &'a rayon::ThreadPool,
    eve: Option<&'a EveRenderer>,
    spent: &'a std::sync::mpsc::Receiver<Delivered>,
}

/// The batch loop: reads, processes and hands each batch's sorted events to `deliver`.
/// When `parallel`, the reader fills the next batch while the pool's workers process the
/// current one and render the EVE lines of the one before (of the current one, after it,
/// for a live source), and each frees the events it made of the batches the sink has
/// written; otherwise everything runs in turn on the caller's thread. Returns the run's
/// figures and the read error that ended the input, if one did; an error of `deliver`
/// (the sink's) is returned at once.
fn run(
    source: &mut (dyn PacketSource + Send),
    config: &Config,
    parallel: Option<Parallel<'_>>,
    threads: usize,
    progress: &mut dyn FnMut(u64, Option<u64>),
    deliver: &mut dyn FnMut(Vec<Event>, Option<RenderedEve>) -> Result<()>,
) -> Result<(RunStats, Option<Error>)> {
    let pool = parallel.as_ref().map(|p| p.pool);
    let eve = parallel.as_ref().and_then(|p| p.eve);
    let spent = parallel.as_ref().map(|p| p.spent);
    let render = |events: &[Event], spare: &mut Vec<Vec<u8>>| match (pool, eve) {
        (Some(pool), Some(renderer)) => {
            Some(pool.install(|| RenderedEve::render(renderer, events, spare)))
        }
        _ => None,
    };
    // The buffers of EVE lines the sink has written, for the next batches' lines.
    let mut spare_runs: Vec<Vec<u8>> = Vec::new();
    let certs = crate::proto::cache::SharedCerts::default();
    let mut shards: Vec<Shard> = (0..SHARDS)
        .map(|_| Shard::new(config, std::sync::Arc::clone(&certs)))
        .collect();
    let mut parts: Vec<Vec<u32>> = vec![Vec::new(); SHARDS];
    let mut reader = Reader {
        source,
        decoder: Decoder::new(config.defrag),
        next_index: 0,
        warnings: Vec::new(),
        failed: None,
    };
    let mut stats = RunStats {
        threads,
        ..RunStats::default()
    };
    let mut alert_filter = config
        .detection
        .as_ref()
        .map(|_| crate::detect::AlertFilter::default());
    let mut events_written = 0u64;
    // Takes out the alerts that thresholds suppress from a run of sorted events, which then
    // goes to the sink as it stands.
    let mut screen = |events: &mut Vec<Event>| {
        if let Some(f) = alert_filter.as_mut() {
            f.apply(events);
        }
        events_written += events.len() as u64;
    };
    // With several threads and EVE, the events of the batch before, screened, whose lines
    // the workers render while they process the next batch. Not for a live source: its
    // events (and detections) would wait for one more batch to be read.
    let overlap = eve.is_some() && !reader.source.is_live();
    let mut unrendered: Option<Vec<Event>> = None;
    // Several threads read a batch ahead, whole; one reads a chunk at a time.
    let (mut current, mut next) = match pool {
        Some(_) => (
            Batch::new(BATCH_PACKETS, BATCH_BYTES),
            Some(Batch::new(BATCH_PACKETS, BATCH_BYTES)),
        ),
        None => (Batch::new(CHUNK_PACKETS, CHUNK_BYTES), None),
    };
    if pool.is_some() {
        reader.fill(&mut current);
    }
    loop {
        let (events, done) = match pool {
            Some(pool) => {
                let done = current.eof;
                let fill_next = || {
                    if let (false, Some(next)) = (done, next.as_mut()) {
                        reader.fill(next);
                    }
                };
                // The batches the sink has written: their line buffers are kept for the
                // next batches, their events freed on the workers that made them (a free
                // from another thread than the allocating one costs the allocator more).
                let written: Vec<Vec<Event>> = spent
                    .map(|r| {
                        r.try_iter()
                            .map(|(events, eve)| {
                                if let Some(rendered) = eve {
                                    rendered.recycle(&mut spare_runs);
                                }
                                events
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                drop_on_workers(pool, written, Event::worker);
                let before = unrendered.take();
                let ((), (events, rendered)) = pool.install(|| {
                    rayon::join(fill_next, || {
                        rayon::join(
                            || process(&mut shards, &mut parts, &current, config),
                            || {
                                before
                                    .as_deref()
                                    .and_then(|events| render(events, &mut spare_runs))
                            },
                        )
                    })
                });
                if let Some(before) = before {
                    deliver(before, rendered)?;
                }
                (events, done)
            }
            None => {
                // One thread: the batch is read a chunk at a time, and each chunk is run and
                // its events handed out at once. They sort before the next chunk's, as an
                // event carries the number of the packet that produced it; the last chunk's
                // go with the sweep's, which carry the number of the batch's last packet.
                let mut fill = reader.begin(&mut current);
                while reader.fill_chunk(&mut current, &mut fill, true) {
                    process_in_turn(&mut shards, &current, config);
                    let mut events = collect(&mut shards);
                    screen(&mut events);
                    deliver(events, None)?;
                }
                process_in_turn(&mut shards, &current, config);
                let events =
                    sweep_and_collect(&mut shards, current.last_ts, current.last_index, config);
                (events, current.eof)
            }
        };
        let mut events = events;
        screen(&mut events);
        if overlap {
            unrendered = Some(events);
        } else {
            let rendered = render(&events, &mut spare_runs);
            deliver(events, rendered)?;
        }
        progress(reader.source.position(), reader.source.total_size());
        if done {
            break;
        }
        if let Some(next) = next.as_mut() {
            std::mem::swap(&mut current, next);
        }
    }
    // The batch held back goes out.
    if let Some(events) = unrendered.take() {
        let rendered = render(&events, &mut spare_runs);
        deliver(events, rendered)?;
    }
    let end = current.last_index + 1;
    let finish = |s: &mut Shard| {
        s.finish(end, config);
        std::mem::take(&mut s.events)
    };
    let mut events: Vec<Event> = match pool {
        Some(pool) => pool.install(|| shards.par_iter_mut().flat_map_iter(finish).collect()),
        None => shards.iter_mut().flat_map(finish).collect(),
    };
    events.sort_unstable_by_key(|e| e.order);
    screen(&mut events);
    let rendered = render(&events, &mut spare_runs);
    deliver(events, rendered)?;
    stats.events = events_written;
    for s in &shards {
        stats.flows.add(&s.stats);
    }
    stats.decode = reader.decoder.stats.clone();
    stats.warnings = reader.warnings;
    Ok((stats, reader.failed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc::{channel, Sender};

    /// Reports, when dropped, the worker it names and the thread it was dropped on.
    struct Marked {
        worker: Option<usize>,
        dropped: Sender<(Option<usize>, Option<usize>)>,
    }

    impl Drop for Marked {
        fn drop(&mut self) {
            let _ = self
                .dropped
                .send((self.worker, rayon::current_thread_index()));
        }
    }

    /// Each item is dropped on the worker it names; an item naming none, or a worker the
    /// pool does not have, is dropped on the caller's thread, at once.
    #[test]
    fn items_are_dropped_on_the_worker_they_name() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        let (tx, rx) = channel();
        let marked = |worker| Marked {
            worker,
            dropped: tx.clone(),
        };
        let batches: Vec<Vec<Marked>> = (0..4)
            .map(|b| {
                (0..50)
                    .map(|i| {
                        marked(match (b + i) % 5 {
                            3 => None,
                            4 => Some(7),
                            w => Some(w),
                        })
                    })
                    .collect()
            })
            .collect();
        drop_on_workers(&pool, batches, |m| m.worker);
        // The items without a worker of the pool were dropped before the call returned, on
        // the caller's thread. The workers may have dropped some of theirs already.
        let (here, early): (Vec<_>, Vec<_>) = rx.try_iter().partition(|&(_, on)| on.is_none());
        assert_eq!(here.len(), 80);
        assert!(here
            .iter()
            .all(|&(named, _)| named.is_none() || named == Some(7)));
        drop(tx);
        let mut on_workers = 0;
        for (named, on) in early.into_iter().chain(rx.iter()) {
            assert_eq!(named, on, "dropped on another thread than the one it names");
            on_workers += 1;
        }
        assert_eq!(on_workers, 120);
    }
}
