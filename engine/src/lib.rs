//! # tcheck-engine
//!
//! The network-forensics engine of tcheck: captures in, events out.
//!
//! ```text
//! PacketSource ──► reader stage ──► shards (rayon) ──► sorted events ──► EventSink
//!  pcap/pcapng      link, IP,         flows, TCP          conn, dns,        Zeek logs,
//!  live capture     defrag, tunnels   reassembly,         ssl, http, ...    EVE JSON, ...
//!                                     dissectors
//! ```
//!
//! The engine works on byte slices and timestamps only: it knows nothing of files beyond
//! [`source::FileSource`], of the web, of terminals or of databases.
//!
//! ## Design and limits
//! - Captures are read in a streaming fashion through a bounded buffer.
//! - Flows are sharded over a fixed number of shards by a symmetric hash of their 5-tuple,
//!   and shards run in parallel; events are ordered by the packet that produced them, so one
//!   thread and many give byte-identical outputs.
//! - Memory is bounded by [`Config`]: live flows, out-of-order stream bytes, stream depth,
//!   fragments in progress, and each parser's own caps. Beyond a limit, data is dropped and
//!   counted, never buffered.
//! - Malformed traffic is never an error: it is counted ([`analysis::RunStats`]) or reported
//!   as an anomaly event, and parsing goes on.

#![deny(missing_docs)]

/// The entries of a hash map sorted by key: what is written or walked in order comes out the
/// same whatever order the map holds them in.
pub(crate) fn sorted_by_key<K: Ord, V, S>(
    map: &std::collections::HashMap<K, V, S>,
) -> Vec<(&K, &V)> {
    let mut entries: Vec<(&K, &V)> = map.iter().collect();
    entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
    entries
}

pub mod analysis;
pub mod config;
pub mod decode;
pub mod detect;
pub mod error;
pub mod event;
pub mod flow;
#[doc(hidden)]
pub mod fuzzing;
pub mod ioc;
pub mod networks;
pub mod output;
pub(crate) mod packet;
pub mod proto;
pub mod source;
pub mod summary;
pub mod tcp;
pub mod text;
pub mod time;
pub mod verdict;

pub use analysis::{analyze, RunStats};
pub use config::Config;
pub use error::{Error, Result};
pub use event::{Event, EventKind};
pub use packet::DecodeStats;
pub use source::{FileSource, LinkType, PacketMeta, PacketSource, Poll};
pub use summary::Summary;
pub use time::Timestamp;
