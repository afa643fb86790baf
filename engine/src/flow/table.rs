//! A shard's flow table: lookup, creation, reuse, timeouts and eviction under a cap.
//!
//! Flows are split over a fixed number of shards by a symmetric hash of their key; each shard
//! is processed by one worker at a time, and shards never share state, so the outcome does
//! not depend on the number of threads. Limits (flows, stream memory) are per shard: the
//! configured totals divided by the number of shards.

use hashbrown::hash_map::Entry;
use hashbrown::HashMap;

use super::key::{mix64, table_hasher, FlowKey, TableHasher, TableKey};
use super::{Flow, FlowOutput};
use crate::config::{Config, SEC};
use crate::event::{EndReason, Event};
use crate::packet::PacketRecord;
use crate::tcp::MemBudget;
use crate::time::Timestamp;

/// Number of shards. Fixed, so that limits and outputs do not depend on the thread count.
pub(crate) const SHARDS: usize = 32;

/// Counters of a shard's flow table.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FlowStats {
    /// Flows created.
    pub created: u64,
    /// Flows ended by inactivity.
    pub timed_out: u64,
    /// Flows evicted because the table was full.
    pub evicted: u64,
    /// Flows ended because a new connection reused their 5-tuple.
    pub reused: u64,
    /// Most flows live at once.
    pub peak_live: u64,
    /// Out-of-order TCP segments refused for lack of buffer memory.
    pub stream_refused: u64,
    /// Parser buffers refused for lack of application-layer memory.
    pub app_refused: u64,
}

impl FlowStats {
    /// Adds another shard's counters.
    pub fn add(&mut self, o: &FlowStats) {
        self.created += o.created;
        self.timed_out += o.timed_out;
        self.evicted += o.evicted;
        self.reused += o.reused;
        self.peak_live += o.peak_live;
        self.stream_refused += o.stream_refused;
        self.app_refused += o.app_refused;
    }
}

/// One shard.
#[derive(Debug)]
pub(crate) struct Shard {
    /// The live flows, boxed: the table keeps twice as many slots as flows once flows come
    /// and go (hashbrown grows rather than rehash in place past half full), and a slot of
    /// key and box is 56 bytes where key and flow took 384.
    flows: HashMap<TableKey, Box<Flow>, TableHasher>,
    budget: MemBudget,
    max_flows: usize,
    /// Events produced since the last drain.
    pub events: Vec<Event>,
    pub stats: FlowStats,
    /// When timeouts were last swept.
    last_sweep: Option<Timestamp>,
    cache: crate::proto::cache::Cache,
}

/// A flow id: stable within a run (key and first packet), 51 bits like Suricata's.
fn flow_id(key: &FlowKey, first_packet: u64) -> u64 {
    mix64(key.stable_hash() ^ mix64(first_packet)) & ((1 << 51) - 1)
}

impl Shard {
    /// A shard of a run whose shards share the certificates parsed in `certs`.
    pub fn new(config: &Config, certs: crate::proto::cache::SharedCerts) -> Self {
        Shard {
            flows: HashMap::with_hasher(table_hasher()),
            budget: MemBudget::new((config.stream.memcap / SHARDS).max(64 * 1024)),
            max_flows: (config.flow.max_flows / SHARDS).max(16),
            events: Vec::new(),
            stats: FlowStats::default(),
            last_sweep: None,
            cache: {
                let budget = (config.app_memcap / SHARDS).max(64 * 1024);
                let mut cache = crate::proto::cache::Cache::with_budget(budget, certs);
                cache.no_dns_transactions = !config.dns_transactions;
                cache.no_response_decoding = !config.http_response_decoding;
                cache
            },
        }
    }

    /// Runs one packet.
    pub fn packet(&mut self, pkt: &PacketRecord, arena: &[u8], config: &Config) {
        if pkt.transport_invalid {
            if let Some(detection) = config.detection.as_deref() {
                let id = flow_id(&pkt.key, pkt.index);
                self.events
                    .extend(crate::detect::flowless_packet(detection, pkt, arena, id));
            }
            return;
        }
        // A full table makes room first, unless the packet belongs to a flow it holds.
        if self.flows.len() >= self.max_flows && !self.flows.contains_key(&TableKey(pkt.key)) {
            self.evict(pkt.index, config);
        }
        let live_before = self.flows.len();
        let mut out = FlowOutput {
            events: &mut self.events,
            cache: &mut self.cache,
            order_packet: pkt.index,
        };
        // One look-up: the packet's flow, ended and started afresh when it timed out or the
        // packet reuses its 5-tuple, created when new.
        let flow = match self.flows.entry(TableKey(pkt.key)) {
            Entry::Occupied(slot) => {
                let ending = slot.get().ending(pkt, config);
                let flow = slot.into_mut();
                if let Some(reason) = ending {
                    match reason {
                        EndReason::Reused => self.stats.reused += 1,
                        _ => self.stats.timed_out += 1,
                    }
                    self.stats.created += 1;
                    let fresh = Flow::new(pkt, flow_id(&pkt.key, pkt.index), config);
                    let old = std::mem::replace(&mut **flow, fresh);
                    old.finish(reason, config, &mut self.budget, &mut out);
                }
                flow
            }
            Entry::Vacant(slot) => {
                self.stats.created += 1;
                self.stats.peak_live = self.stats.peak_live.max(live_before as u64 + 1);
                slot.insert(Box::new(Flow::new(
                    pkt,
                    flow_id(&pkt.key, pkt.index),
                    config,
                )))
            }
        };
        flow.packet(pkt, arena, config, &mut self.budget, &mut out);
        self.stats.stream_refused = self.budget.refused;
        self.stats.app_refused = self.cache.budget.refused;
    }

    /// Makes room: ends the least recently active tenth of the table. The choice depends only
    /// on the flows' times and ids, never on hash order.
    fn evict(&mut self, order_packet: u64, config: &Config) {
        let mut by_age: Vec<(Timestamp, u64, FlowKey)> = self
            .flows
            .iter()
            .map(|(k, f)| (f.last, f.id.id, k.0))
            .collect();
        by_age.sort_unstable_by_key(|(t, id, _)| (*t, *id));
        let n = (self.max_flows / 10).max(1);
        self.end_flows(
            by_age.into_iter().take(n).map(|(_, _, k)| k),
            EndReason::Evicted,
            order_packet,
            config,
        );
    }

    fn end_flows(
        &mut self,
        keys: impl Iterator<Item = FlowKey>,
        reason: EndReason,
        order_packet: u64,
        config: &Config,
    ) {
        let mut ended: Vec<Box<Flow>> = keys
            .filter_map(|k| self.flows.remove(&TableKey(k)))
            .collect();
        ended.sort_unstable_by_key(|f| f.id.id);
        for flow in ended {
            match reason {
                EndReason::Evicted => self.stats.evicted += 1,
                EndReason::Timeout => self.stats.timed_out += 1,
                _ => {}
            }
            let mut out = FlowOutput {
                events: &mut self.events,
                cache: &mut self.cache,
                order_packet,
            };
            (*flow).finish(reason, config, &mut self.budget, &mut out);
        }
    }

    /// Ends flows idle past their timeout at time `now` (at most once per second of capture
    /// time). Their events carry `order_packet`, the number of the batch's last packet, and
    /// sort after that packet's own ([`crate::event::EventOrder::swept`]).
    pub fn sweep(&mut self, now: Timestamp, order_packet: u64, config: &Config) {
        if let Some(last) = self.last_sweep {
            if now.nanos_since(last) < SEC {
                return;
            }
        }
        self.last_sweep = Some(now);
        let idle: Vec<FlowKey> = self
            .flows
            .iter()
            .filter(|(_, f)| now.nanos_since(f.last) > f.timeout_nanos(config))
            .map(|(k, _)| k.0)
            .collect();
        let first = self.events.len();
        self.end_flows(idle.into_iter(), EndReason::Timeout, order_packet, config);
        for e in self.events.get_mut(first..).unwrap_or_default() {
            e.order.swept = true;
        }
    }

    /// Ends every flow (end of the capture).
    pub fn finish(&mut self, order_packet: u64, config: &Config) {
        let all: Vec<FlowKey> = self.flows.keys().map(|k| k.0).collect();
        self.end_flows(all.into_iter(), EndReason::Shutdown, order_packet, config);
    }

    /// Live flows.
    #[allow(dead_code)]
    pub fn live(&self) -> usize {
        self.flows.len()
    }
}
