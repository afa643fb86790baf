//! Reading pcap and pcapng files with `pcap-parser`, streaming through a bounded buffer.

use std::fs::File;
use std::path::{Path, PathBuf};

use pcap_parser::pcapng::Block;
use pcap_parser::traits::{PcapNGPacketBlock, PcapReaderIterator};
use pcap_parser::{PcapBlockOwned, PcapError};

use super::{LinkType, PacketMeta, PacketSource, SourceWarning};
use crate::error::{Error, Result};
use crate::time::Timestamp;

/// The reader's buffer: the largest record it can hold. Real snap lengths are at most
/// 262,144 bytes; a record that claims more is treated as corrupt.
const BUFFER_CAPACITY: usize = 1 << 20;

/// Bytes asked of the file at a time.
const READ_SIZE: usize = 64 << 10;

/// A reader that reads at most [`READ_SIZE`] bytes at a time. The capture reader would
/// otherwise refill its whole 1 MiB buffer at once, and copy each packet out of it long after
/// the kernel copied it in, when the work in between has pushed it out of the core's cache.
struct ShortReads<R>(R);

impl<R: std::io::Read> std::io::Read for ShortReads<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(READ_SIZE);
        self.0.read(buf.get_mut(..n).unwrap_or_default())
    }
}

/// An interface declared by a pcapng Interface Description Block.
#[derive(Clone, Copy, Debug)]
struct Interface {
    link: LinkType,
    /// Timestamp units per second.
    units_per_sec: u64,
    /// Seconds to add to every timestamp (`if_tsoffset`).
    offset_secs: i64,
}

/// Per-format state of the file being read.
#[derive(Debug)]
enum Format {
    /// Classic pcap: one link type, micro- or nanosecond stamps.
    Legacy { link: LinkType, nanos: bool },
    /// pcapng: the interfaces of the current section.
    Ng { interfaces: Vec<Interface> },
    /// Not known before the first block.
    Unknown,
}

/// A pcap or pcapng file, read in a streaming fashion.
pub struct FileSource {
    path: PathBuf,
    reader: Box<dyn PcapReaderIterator + Send>,
    format: Format,
    size: u64,
    last_ts: Timestamp,
    warnings: Vec<SourceWarning>,
    done: bool,
}

impl std::fmt::Debug for FileSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileSource")
            .field("path", &self.path)
            .field("format", &self.format)
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

impl FileSource {
    /// Opens a pcap or pcapng file. Fails if the file is missing, empty or not a capture.
    pub fn open(path: &Path) -> Result<Self> {
        let io = |source| Error::Io {
            path: path.to_path_buf(),
            cause: source,
        };
        let file = File::open(path).map_err(io)?;
        let meta = file.metadata().map_err(io)?;
        if meta.is_dir() {
            return Err(io(std::io::Error::other("is a directory")));
        }
        if meta.len() == 0 {
            return Err(Error::EmptyCapture {
                path: path.to_path_buf(),
            });
        }
        Self::from_reader(path, file, Some(meta.len()))
    }

    /// Reads a capture from any reader (`name` is used in messages). Fails if the stream does
    /// not start like a capture.
    pub fn from_reader<R: std::io::Read + Send + 'static>(
        name: &Path,
        reader: R,
        size: Option<u64>,
    ) -> Result<Self> {
        let path = name;
        let reader = ShortReads(reader);
        let reader = pcap_parser::create_reader(BUFFER_CAPACITY, reader).map_err(|e| {
            let detail = match e {
                PcapError::Eof => {
                    return Error::EmptyCapture {
                        path: path.to_path_buf(),
                    }
                }
                PcapError::Incomplete(_) | PcapError::UnexpectedEof => {
                    "file too short for a capture header".to_string()
                }
                PcapError::ReadError => "read error".to_string(),
                _ => "unknown magic number".to_string(),
            };
            Error::NotACapture {
                path: path.to_path_buf(),
                detail,
            }
        })?;
        Ok(FileSource {
            path: path.to_path_buf(),
            reader,
            format: Format::Unknown,
            size: size.unwrap_or(0),
            last_ts: Timestamp::ZERO,
            warnings: Vec::new(),
            done: false,
        })
    }

    /// The path this source reads.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn warn(&mut self, message: String) {
        let offset = self.reader.consumed() as u64;
        self.warnings.push(SourceWarning { offset, message });
    }
}

/// What one block of the file amounts to.
enum Step {
    Packet(PacketMeta),
    Skip,
    Warn(String),
}

/// Units per second of a pcapng `if_tsresol` value (`None` if out of range).
fn ts_units(tsresol: u8) -> Option<u64> {
    let exp = u32::from(tsresol & 0x7f);
    if tsresol & 0x80 == 0 {
        10u64.checked_pow(exp)
    } else {
        1u64.checked_shl(exp).filter(|_| exp < 64)
    }
}

fn ng_timestamp(iface: &Interface, high: u32, low: u32) -> Timestamp {
    let units = (u64::from(high) << 32) | u64::from(low);
    let per_sec = iface.units_per_sec.max(1);
    let secs = i64::try_from(units / per_sec).unwrap_or(i64::MAX / 2);
    let frac = u128::from(units % per_sec) * 1_000_000_000 / u128::from(per_sec);
    Timestamp::from_parts(
        secs.saturating_add(iface.offset_secs),
        u32::try_from(frac).unwrap_or(0),
    )
}

fn to_len(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Interprets one block, appending packet bytes to `buf`.
fn handle_block(
    format: &mut Format,
    last_ts: &mut Timestamp,
    block: PcapBlockOwned<'_>,
    buf: &mut Vec<u8>,
) -> Step {
    match block {
        PcapBlockOwned::LegacyHeader(h) => {
            *format = Format::Legacy {
                link: LinkType(u32::try_from(h.network.0).unwrap_or(u32::MAX)),
                nanos: h.is_nanosecond_precision(),
            };
            Step::Skip
        }
        PcapBlockOwned::Legacy(b) => {
            let Format::Legacy { link, nanos } = *format else {
                return Step::Warn("pcap record before the file header".into());
            };
            let frac = if nanos {
                b.ts_usec
            } else {
                b.ts_usec.saturating_mul(1000)
            };
            let ts = Timestamp::from_parts(i64::from(b.ts_sec), frac);
            *last_ts = ts;
            buf.extend_from_slice(b.data);
            Step::Packet(PacketMeta {
                ts,
                link,
                caplen: to_len(b.data.len()),
                orig_len: b.origlen,
                interface: 0,
            })
        }
        PcapBlockOwned::NG(Block::SectionHeader(_)) => {
            *format = Format::Ng {
                interfaces: Vec::new(),
            };
            Step::Skip
        }
        PcapBlockOwned::NG(Block::InterfaceDescription(idb)) => {
            let Format::Ng { interfaces } = format else {
                return Step::Warn("pcapng interface block outside a section".into());
            };
            if interfaces.len() >= 4096 {
                return Step::Warn("more than 4096 pcapng interfaces; ignoring the rest".into());
            }
            let units = ts_units(idb.if_tsresol);
            interfaces.push(Interface {
                link: LinkType(u32::try_from(idb.linktype.0).unwrap_or(u32::MAX)),
                units_per_sec: units.unwrap_or(1_000_000),
                offset_secs: idb.if_tsoffset,
            });
            if units.is_none() {
                return Step::Warn(format!(
                    "pcapng interface {} has an invalid time resolution {:#x}; assuming microseconds",
                    interfaces.len() - 1,
                    idb.if_tsresol
                ));
            }
            Step::Skip
        }
        PcapBlockOwned::NG(Block::EnhancedPacket(epb)) => {
            let Format::Ng { interfaces } = format else {
                return Step::Warn("pcapng packet block outside a section".into());
            };
            let Some(iface) = usize::try_from(epb.if_id)
                .ok()
                .and_then(|i| interfaces.get(i))
            else {
                return Step::Warn(format!(
                    "pcapng packet for undeclared interface {}; skipped",
                    epb.if_id
                ));
            };
            let ts = ng_timestamp(iface, epb.ts_high, epb.ts_low);
            *last_ts = ts;
            // `data` holds the block's padding too; the packet is its first `caplen` bytes.
            let data = epb.packet_data();
            buf.extend_from_slice(data);
            Step::Packet(PacketMeta {
                ts,
                link: iface.link,
                caplen: to_len(data.len()),
                orig_len: epb.origlen,
                interface: epb.if_id,
            })
        }
        PcapBlockOwned::NG(Block::SimplePacket(spb)) => {
            let Format::Ng { interfaces } = format else {
                return Step::Warn("pcapng packet block outside a section".into());
            };
            let Some(iface) = interfaces.first() else {
                return Step::Warn("pcapng simple packet without an interface; skipped".into());
            };
            let data = spb.packet_data();
            buf.extend_from_slice(data);
            Step::Packet(PacketMeta {
                ts: *last_ts,
                link: iface.link,
                caplen: to_len(data.len()),
                orig_len: spb.origlen,
                interface: 0,
            })
        }
        PcapBlockOwned::NG(_) => Step::Skip,
    }
}

impl PacketSource for FileSource {
    fn read_packet(&mut self, buf: &mut Vec<u8>) -> Result<Option<PacketMeta>> {
        // A bound on refills without progress, so a reader that never advances cannot spin.
        let mut stalls = 0u32;
        while !self.done {
            match self.reader.next() {
                Ok((offset, block)) => {
                    stalls = 0;
                    let step = handle_block(&mut self.format, &mut self.last_ts, block, buf);
                    // Without the shift `consume` makes each time half the buffer is
                    // read (a copy of half the file): `refill` moves the partial record
                    // left at the end, once per buffer.
                    self.reader.consume_noshift(offset);
                    match step {
                        Step::Packet(meta) => return Ok(Some(meta)),
                        Step::Skip => {}
                        Step::Warn(w) => self.warn(w),
                    }
                }
                Err(PcapError::Eof) => self.done = true,
                Err(PcapError::Incomplete(_)) => {
                    stalls += 1;
                    if stalls > 64 {
                        self.done = true;
                        self.warn("the reader made no progress; stopping".into());
                    } else if self.reader.refill().is_err() {
                        self.done = true;
                        let source = std::io::Error::other("read failed");
                        return Err(Error::Io {
                            path: self.path.clone(),
                            cause: source,
                        });
                    }
                }
                Err(PcapError::UnexpectedEof) => {
                    self.done = true;
                    self.warn("capture truncated: the last record is incomplete".into());
                }
                Err(PcapError::BufferTooSmall) => {
                    self.done = true;
                    self.warn(format!(
                        "record larger than {} bytes (corrupt length field); stopping here",
                        BUFFER_CAPACITY
                    ));
                }
                Err(PcapError::ReadError) => {
                    self.done = true;
                    let source = std::io::Error::other("read failed");
                    return Err(Error::Io {
                        path: self.path.clone(),
                        cause: source,
                    });
                }
                Err(e) => {
                    self.done = true;
                    let what = match e {
                        PcapError::HeaderNotRecognized => "unrecognised block".to_string(),
                        PcapError::NomError(_, kind) => format!("malformed record ({kind:?})"),
                        PcapError::OwnedNomError(_, kind) => {
                            format!("malformed record ({kind:?})")
                        }
                        _ => "unreadable record".to_string(),
                    };
                    self.warn(format!("{what}; stopping here"));
                }
            }
        }
        Ok(None)
    }

    fn take_warnings(&mut self) -> Vec<SourceWarning> {
        std::mem::take(&mut self.warnings)
    }

    fn position(&self) -> u64 {
        self.reader.consumed() as u64
    }

    fn total_size(&self) -> Option<u64> {
        (self.size > 0).then_some(self.size)
    }
}
