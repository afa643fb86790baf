//! Packet sources: where packets come from.
//!
//! A [`PacketSource`] hands out packets one at a time, appending each packet's bytes to a
//! buffer the caller owns, so that a chunk of packets lives in one allocation and nothing is
//! copied twice. The engine reads from any source; [`FileSource`] reads pcap and pcapng files
//! in a streaming fashion (a bounded buffer, never the whole file). Live capture implements the
//! same trait in the `tcheck-capture` crate.

mod file;

pub use file::FileSource;

use crate::time::Timestamp;

/// The link-layer type of a packet, as numbered by tcpdump.org (`LINKTYPE_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LinkType(pub u32);

impl LinkType {
    /// BSD loopback: a 4-byte address family in host byte order.
    pub const NULL: LinkType = LinkType(0);
    /// Ethernet II / 802.3.
    pub const ETHERNET: LinkType = LinkType(1);
    /// Raw IP, version taken from the first nibble.
    pub const RAW: LinkType = LinkType(101);
    /// OpenBSD loopback: a 4-byte address family in network byte order.
    pub const LOOP: LinkType = LinkType(108);
    /// Linux "cooked" capture, version 1.
    pub const LINUX_SLL: LinkType = LinkType(113);
    /// Raw IPv4.
    pub const IPV4: LinkType = LinkType(228);
    /// Raw IPv6.
    pub const IPV6: LinkType = LinkType(229);
    /// Linux "cooked" capture, version 2.
    pub const LINUX_SLL2: LinkType = LinkType(276);
    /// DLT_RAW as some systems number it (OpenBSD).
    pub const RAW_ALT: LinkType = LinkType(12);
    /// DLT_RAW as some systems number it (BSD/OS).
    pub const RAW_ALT2: LinkType = LinkType(14);
}

/// What a source says about one packet; its bytes were appended to the caller's buffer.
#[derive(Clone, Copy, Debug)]
pub struct PacketMeta {
    /// When the packet was captured.
    pub ts: Timestamp,
    /// Its link-layer type.
    pub link: LinkType,
    /// How many bytes were captured (and appended).
    pub caplen: u32,
    /// Its length on the wire.
    pub orig_len: u32,
    /// The capture interface (pcapng), 0 otherwise.
    pub interface: u32,
}

/// A problem met while reading, which did not stop the reading (or stopped it cleanly at
/// the last good packet).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceWarning {
    /// Byte offset in the capture where the problem is.
    pub offset: u64,
    /// What is wrong, in words.
    pub message: String,
}

/// The longest a live source's packets wait in the engine's batch.
pub const LIVE_BATCH_MAX: std::time::Duration = std::time::Duration::from_millis(250);

/// `read_packet` for a source that implements [`PacketSource::poll_packet`]: polls until a
/// packet or the end.
pub fn read_by_polling(
    source: &mut (impl PacketSource + ?Sized),
    buf: &mut Vec<u8>,
) -> crate::Result<Option<PacketMeta>> {
    loop {
        match source.poll_packet(buf)? {
            Poll::Packet(meta) => return Ok(Some(meta)),
            Poll::Idle => continue,
            Poll::End => return Ok(None),
        }
    }
}

/// What [`PacketSource::poll_packet`] found.
#[derive(Clone, Copy, Debug)]
pub enum Poll {
    /// A packet, whose bytes were appended to the buffer.
    Packet(PacketMeta),
    /// Nothing arrived for a while (live sources only); more may come.
    Idle,
    /// The source is exhausted.
    End,
}

/// A producer of packets.
pub trait PacketSource {
    /// Appends the next packet's bytes to `buf` and returns what is known of it, or `None`
    /// at the end. An unreadable tail is not an error: the source stops there and records a
    /// warning.
    fn read_packet(&mut self, buf: &mut Vec<u8>) -> crate::Result<Option<PacketMeta>>;

    /// Like [`PacketSource::read_packet`], but a live source may answer
    /// [`Poll::Idle`] when no packet arrived within its poll interval: the engine then hands
    /// out what it holds, so that events (and detections) appear while capturing rather than
    /// when a batch fills. Files never idle; the default reads a packet.
    fn poll_packet(&mut self, buf: &mut Vec<u8>) -> crate::Result<Poll> {
        Ok(match self.read_packet(buf)? {
            Some(meta) => Poll::Packet(meta),
            None => Poll::End,
        })
    }

    /// Whether packets arrive in real time (a live capture, a paced replay). The engine then
    /// hands out what it holds at least every [`LIVE_BATCH_MAX`], so that events appear
    /// while a busy interface would otherwise keep filling a batch.
    fn is_live(&self) -> bool {
        false
    }

    /// Warnings recorded since the last call.
    fn take_warnings(&mut self) -> Vec<SourceWarning>;

    /// How many bytes of the input were consumed so far (for progress reports).
    fn position(&self) -> u64;

    /// The input's total size, when known (for progress reports).
    fn total_size(&self) -> Option<u64> {
        None
    }
}
