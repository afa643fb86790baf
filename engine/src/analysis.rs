//! The analysis driver: reads a source in batches, shards packets by flow, runs the shards
//! (in parallel when there is more than one thread), and hands the events to a sink in an
//! order that does not depend on the thread count.
//!
//! A batch is a fixed number of packets (or bytes), so its boundaries depend on the input
//! only. It is read and run a chunk at a time, so that the packets are still in the cache
//! when they are run: with one thread, the caller's thread reads a chunk and runs it; with
//! several, the reader fills chunk *n + 1* while the workers run chunk *n*. At the end of a
//! batch every shard sweeps its idle flows. Each chunk's events are sorted by
//! [`crate::event::EventOrder`] and written; they sort before the next chunk's, as an event
//! carries the number of the packet that produced it, and the sweep's carry the number of
//! the batch's last packet and sort after that packet's own (so it does not matter whether
//! the sweep falls in that packet's chunk or in an empty one after it, as when the input
//! ends right after a full chunk). With several threads, the sink runs as a task of the
//! workers, a chunk behind; a sink that writes EVE has each chunk's lines rendered by the
//! workers (in runs of consecutive events, so the order is kept) while they run the next
//! chunk, and only writes them a chunk later (a live source's chunk is rendered and
//! written at once).

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
/// Room for the packet that takes a chunk past its size in bytes (a full snap length).
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

/// A chunk of a batch: its packets' bytes and their decoded records.
struct Chunk {
    arena: Vec<u8>,
    records: Vec<PacketRecord>,
    /// Number of the last packet read from the input so far (up to this chunk's end).
    last_index: u64,
    /// Time of the last packet of the batch read so far (none when the batch has none).
    last_ts: Option<Timestamp>,
    /// Whether the batch ends with this chunk: the shards sweep after running it.
    ends_batch: bool,
    eof: bool,
}

impl Chunk {
    /// An empty chunk with room for a full one (`size`): growing them packet by packet
    /// copied their bytes over and over at the start of a run.
    fn new(size: ChunkSize) -> Self {
        Chunk {
            arena: Vec::with_capacity(size.bytes + BATCH_SLACK),
            records: Vec::with_capacity(size.packets),
            last_index: 0,
            last_ts: None,
            ends_batch: false,
            eof: false,
        }
    }

    fn clear(&mut self) {
        self.arena.clear();
        self.records.clear();
        self.ends_batch = false;
        self.eof = false;
    }

    /// The time and number of the batch's last packet, when the batch ends with this chunk
    /// and has packets: where the shards sweep their idle flows.
    fn sweep_at(&self) -> Option<(Timestamp, u64)> {
        self.last_ts
            .filter(|_| self.ends_batch)
            .map(|ts| (ts, self.last_index))
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

/// How far the batch being read stands. A batch is read in chunks, each run as soon as it
/// is read (with several threads, while the next is read), so that the packets are still
/// in the cache; the batch (what is swept together) stays the same whatever the thread
/// count and the chunk size.
struct Fill {
    /// Packets of the batch read so far.
    packets: usize,
    /// Arena bytes of the batch's chunks already handed out.
    bytes: usize,
    /// Time of the batch's last packet read so far.
    last_ts: Option<Timestamp>,
    /// Whether the batch ended with the last chunk read: the next chunk starts a new one.
    ended: bool,
    started: std::time::Instant,
}

/// How much a chunk holds at most.
#[derive(Clone, Copy, Debug)]
struct ChunkSize {
    packets: usize,
    bytes: usize,
}

/// A chunk on one thread: read, then run at once, on the same core.
const CHUNK_IN_TURN: ChunkSize = ChunkSize {
    packets: 256,
    bytes: 256 << 10,
};

/// A chunk on several threads: read by one worker while the others run the chunk before,
/// then run by them all. Larger than on one thread, as each chunk costs the workers a
/// hand-over; small enough that the packets are still in the cache when they are run
/// (chunks took 14 % off two threads' time against whole batches of 16 MiB read ahead:
/// `benches/README.md`).
const CHUNK_PARALLEL: ChunkSize = ChunkSize {
    packets: 2_048,
    bytes: 2 << 20,
};

impl Reader<'_> {
    /// Starts reading a batch.
    fn begin(&self) -> Fill {
        Fill {
            packets: 0,
            bytes: 0,
            last_ts: None,
            ended: false,
            started: std::time::Instant::now(),
        }
    }

    /// Reads the next chunk (`size` at most) of the batch `fill` describes into `chunk`
    /// (emptied first), starting a new batch when the last chunk ended one. The batch ends
    /// with the chunk (`chunk.ends_batch`) when it is full, when the input ended, failed or
    /// has nothing new, or when a live source's batch has lasted
    /// [`crate::source::LIVE_BATCH_MAX`].
    fn fill_chunk(&mut self, chunk: &mut Chunk, fill: &mut Fill, size: ChunkSize) {
        if fill.ended {
            *fill = self.begin();
        }
        chunk.clear();
        let live = self.source.is_live();
        let mut more = false;
        let mut n = 0;
        while fill.packets < BATCH_PACKETS && fill.bytes + chunk.arena.len() < BATCH_BYTES {
            if n >= size.packets || chunk.arena.len() >= size.bytes {
                more = true;
                break;
            }
            if live && fill.packets > 0 && fill.started.elapsed() >= crate::source::LIVE_BATCH_MAX {
                break;
            }
            let start = chunk.arena.len();
            let meta = match self.source.poll_packet(&mut chunk.arena) {
                Ok(Poll::Packet(meta)) => meta,
                // A live source with nothing new: hand out what the batch holds.
                Ok(Poll::Idle) => break,
                Ok(Poll::End) => {
                    chunk.eof = true;
                    break;
                }
                Err(e) => {
                    chunk.arena.truncate(start);
                    self.failed = Some(e);
                    chunk.eof = true;
                    break;
                }
            };
            n += 1;
            fill.packets += 1;
            self.next_index += 1;
            fill.last_ts = Some(meta.ts);
            if let Some(rec) = self
                .decoder
                .decode(&meta, self.next_index, &mut chunk.arena, start)
            {
                chunk.records.push(rec);
            }
        }
        fill.bytes += chunk.arena.len();
        // An empty chunk (end of input, or a live source with nothing new) still knows where
        // the input stands, so the end of the run numbers its events after the last packet.
        chunk.last_index = self.next_index;
        chunk.last_ts = fill.last_ts;
        chunk.ends_batch = !more;
        fill.ended = !more;
        self.warnings.extend(self.source.take_warnings());
    }
}

/// Runs `shards` over `chunk` in parallel on the current rayon pool, sweeps them when the
/// chunk ends its batch, and returns the chunk's events, sorted.
fn process(
    shards: &mut [Shard],
    parts: &mut [Vec<u32>],
    chunk: &Chunk,
    config: &Config,
) -> Vec<Event> {
    for p in parts.iter_mut() {
        p.clear();
    }
    for (i, r) in chunk.records.iter().enumerate() {
        let s = r.key.shard(SHARDS);
        if let (Some(part), Ok(i)) = (parts.get_mut(s), u32::try_from(i)) {
            part.push(i);
        }
    }
    let arena = &chunk.arena;
    let records = &chunk.records;
    let sweep = chunk.sweep_at();
    shards
        .par_iter_mut()
        .zip(parts.par_iter())
        .for_each(|(shard, idx)| {
            for &i in idx {
                if let Some(r) = records.get(i as usize) {
                    shard.packet(r, arena, config);
                }
            }
            if let Some((ts, last_index)) = sweep {
                shard.sweep(ts, last_index, config);
            }
        });
    collect(shards)
}

/// Runs the packets of `chunk` in the order they came, on the caller's thread: each goes
/// to its flow's shard, as with several threads, so that a shard sees the same packets in
/// the same order. Sweeps the shards when the chunk ends its batch, and returns the
/// chunk's events, sorted.
fn process_in_turn(shards: &mut [Shard], chunk: &Chunk, config: &Config) -> Vec<Event> {
    for r in &chunk.records {
        let s = r.key.shard(SHARDS);
        if let Some(shard) = shards.get_mut(s) {
            shard.packet(r, &chunk.arena, config);
        }
    }
    if let Some((ts, last_index)) = chunk.sweep_at() {
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
/// each chunk with the bytes consumed and the total, when known.
///
/// A read error ends the input: the packets read before it are analysed and their flows
/// ended as at the end of a capture, the sink is finished, and the error is returned. An
/// error of the sink stops the run at once, without finishing the sink.
///
/// With more than one thread, the whole run (the chunk loop too) is on the workers, and
/// `progress` is called on one of them; the sink runs as a task of the workers, a chunk
/// behind them, and two behind when they render its EVE lines (a chunk's lines are
/// rendered while the next chunk is processed, and written while the one after is). With
/// one thread everything runs on the caller's.
pub fn analyze(
    source: &mut (dyn PacketSource + Send),
    config: &Config,
    sink: &mut (dyn EventSink + Send),
    progress: &mut (dyn FnMut(u64, Option<u64>) + Send),
) -> Result<RunStats> {
    let threads = if config.threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        config.threads
    };
    // The workers render the EVE lines (with several threads); the sink only writes them.
    let eve = sink.eve_renderer().cloned();
    let mut deliver = |events: &[Event], eve: Option<&RenderedEve>| sink.batch(events, eve);
    if threads == 1 {
        // Everything on the caller's thread: no pool, and every event is freed by the
        // thread that allocated it (a free from another thread costs the allocator more).
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
    // The chunk loop runs on a worker too: from the caller's thread, each chunk would be
    // handed to the pool and its end handed back, which put the caller to sleep and woke it
    // once per chunk (two threads: 1,477-2,275 context switches a run, against 618-627).
    let (stats, failed) = pool.install(|| {
        run(
            source,
            config,
            Some(Parallel {
                pool: &pool,
                eve: eve.as_ref(),
            }),
            threads,
            progress,
            &mut deliver,
        )
    })?;
    sink.finish()?;
    failed.map_or(Ok(stats), Err)
}

/// Drops each of `items` on the worker of `pool` that `worker_of` names (each when it next
/// looks for work), and those it names none (or no worker of the pool) here.
fn drop_on_workers<T: Send + 'static>(
    pool: &rayon::ThreadPool,
    items: Vec<T>,
    worker_of: impl Fn(&T) -> Option<usize>,
) {
    if items.is_empty() {
        return;
    }
    let workers = pool.current_num_threads();
    let mut by_worker: Vec<Vec<T>> = (0..workers)
        .map(|_| Vec::with_capacity(items.len() / workers + 1))
        .collect();
    for item in items {
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

/// A chunk's events and their rendered EVE lines, on their way to the sink.
type Delivered = (Vec<Event>, Option<RenderedEve>);

/// What hands a chunk's events, and their EVE lines when rendered, to the sink.
type Deliver<'a> = dyn FnMut(&[Event], Option<&RenderedEve>) -> Result<()> + Send + 'a;

/// A chunk the sink has written: its line buffers are kept in `spare` for the next chunks'
/// lines, and its events freed on the workers of `pool` that made them (a free from another
/// thread than the allocating one costs the allocator more), or here without a pool.
fn retire(pool: Option<&rayon::ThreadPool>, (events, eve): Delivered, spare: &mut Vec<Vec<u8>>) {
    if let Some(rendered) = eve {
        rendered.recycle(spare);
    }
    match pool {
        Some(pool) => drop_on_workers(pool, events, Event::worker),
        None => drop(events),
    }
}

/// Hands a chunk to the sink on the current thread, then retires it (see [`retire`]).
fn write_now(
    deliver: &mut Deliver<'_>,
    pool: Option<&rayon::ThreadPool>,
    chunk: Delivered,
    spare: &mut Vec<Vec<u8>>,
) -> Result<()> {
    deliver(&chunk.0, chunk.1.as_ref())?;
    retire(pool, chunk, spare);
    Ok(())
}

/// What a run on several threads has: the workers, and the renderer they write EVE lines
/// with (when the sink writes EVE).
struct Parallel<'a> {
    pool: &'a rayon::ThreadPool,
    eve: Option<&'a EveRenderer>,
}

/// The chunk loop: reads, processes and hands each chunk's sorted events to `deliver`.
/// When `parallel`, the reader fills the next chunk while the pool's workers process the
/// current one, render the EVE lines of the one before and hand the one before that to
/// `deliver` (for a live source, each chunk is rendered and handed on at once, on the
/// thread running this loop), and each frees the events it made of the chunks written;
/// otherwise everything runs in turn on the caller's thread. Returns the run's figures and the read
/// error that ended the input, if one did; an error of `deliver` (the sink's) is returned
/// at once.
fn run(
    source: &mut (dyn PacketSource + Send),
    config: &Config,
    parallel: Option<Parallel<'_>>,
    threads: usize,
    progress: &mut (dyn FnMut(u64, Option<u64>) + Send),
    deliver: &mut Deliver<'_>,
) -> Result<(RunStats, Option<Error>)> {
    let pool = parallel.as_ref().map(|p| p.pool);
    let eve = parallel.as_ref().and_then(|p| p.eve);
    let render = |events: &[Event], spare: &mut Vec<Vec<u8>>| match (pool, eve) {
        (Some(pool), Some(renderer)) => {
            Some(pool.install(|| RenderedEve::render(renderer, events, spare)))
        }
        _ => None,
    };
    // The buffers of EVE lines the sink has written, for the next chunks' lines.
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
    // With several threads, a chunk's events wait: their EVE lines are rendered while the
    // workers process the next chunk, and the sink writes them while the workers process
    // the one after (without EVE, the next). Not for a live source: its events (and
    // detections) would wait for more chunks to be read.
    let behind = pool.is_some() && !reader.source.is_live();
    let mut unrendered: Option<Vec<Event>> = None;
    let mut unwritten: Option<Delivered> = None;
    // Several threads read a chunk ahead, while the workers run the one before; one thread
    // reads a chunk, then runs it.
    let size = if pool.is_some() {
        CHUNK_PARALLEL
    } else {
        CHUNK_IN_TURN
    };
    let mut fill = reader.begin();
    let mut current = Chunk::new(size);
    reader.fill_chunk(&mut current, &mut fill, size);
    let mut next = pool.map(|_| Chunk::new(size));
    loop {
        let done = current.eof;
        let mut events = match (pool, next.as_mut()) {
            (Some(pool), Some(next)) => {
                let fill_next = || {
                    if !done {
                        reader.fill_chunk(next, &mut fill, size);
                    }
                };
                let before = unrendered.take();
                let to_write = unwritten.take();
                let spare = &mut spare_runs;
                let sink = &mut *deliver;
                let (((), (events, rendered)), written) = pool.install(|| {
                    rayon::join(
                        || {
                            rayon::join(fill_next, || {
                                rayon::join(
                                    || process(&mut shards, &mut parts, &current, config),
                                    || before.as_deref().and_then(|events| render(events, spare)),
                                )
                            })
                        },
                        || {
                            to_write.map(|(events, eve)| {
                                let result = sink(&events, eve.as_ref());
                                ((events, eve), result)
                            })
                        },
                    )
                });
                if let Some((delivered, result)) = written {
                    result?;
                    retire(Some(pool), delivered, &mut spare_runs);
                }
                if let Some(before) = before {
                    unwritten = Some((before, rendered));
                }
                if !done {
                    std::mem::swap(&mut current, next);
                }
                events
            }
            _ => process_in_turn(&mut shards, &current, config),
        };
        screen(&mut events);
        match (behind, eve) {
            (true, Some(_)) => unrendered = Some(events),
            (true, None) => unwritten = Some((events, None)),
            (false, _) => {
                let rendered = render(&events, &mut spare_runs);
                write_now(deliver, pool, (events, rendered), &mut spare_runs)?;
            }
        }
        progress(reader.source.position(), reader.source.total_size());
        if done {
            break;
        }
        if pool.is_none() {
            reader.fill_chunk(&mut current, &mut fill, size);
        }
    }
    // The chunks held back go out, in order.
    if let Some(chunk) = unwritten.take() {
        write_now(deliver, pool, chunk, &mut spare_runs)?;
    }
    if let Some(events) = unrendered.take() {
        let rendered = render(&events, &mut spare_runs);
        write_now(deliver, pool, (events, rendered), &mut spare_runs)?;
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
    write_now(deliver, pool, (events, rendered), &mut spare_runs)?;
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
        drop_on_workers(&pool, batches.into_iter().flatten().collect(), |m| m.worker);
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
