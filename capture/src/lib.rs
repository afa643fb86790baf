//! Live capture for tcheck.
//!
//! [`LiveCapture`] opens an interface with libpcap (the `pcap` crate), writes every packet
//! to pcapng files ([`files`]: one file, or a numbered series with rotation) and hands the same
//! packets to the engine as a [`tcheck_engine::PacketSource`], so that events and detections
//! appear while the capture runs. Files are flushed at least every
//! [`files::FLUSH_EVERY`], and blocks are written whole: a capture killed with `kill -9`
//! leaves a file the engine and tshark read up to its last flush.
//!
//! The capture ends when its [`StopHandle`] is used, at its duration or size limit, or when
//! the interface goes away; [`Counters`] can be read from other threads meanwhile.

pub mod files;
mod live;
pub mod pcapng;

pub use live::{
    CaptureError, CaptureOptions, CounterValues, Counters, EndReason, LiveCapture, StopHandle,
};
