//! The capture's files: one pcapng file, or a numbered series when rotation is asked for.
//!
//! `capture.pcapng`, then `capture.1.pcapng`, `capture.2.pcapng`… (tcpdump's `-C` numbers
//! its files the same way). Every file starts with its own section and interface blocks, so
//! each one can be read alone. Existing files are never overwritten.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Buffered bytes at most before a write to the file.
const BUFFER_BYTES: usize = 64 << 10;
/// The longest time a captured packet waits in the buffer (what `kill -9` can lose).
pub const FLUSH_EVERY: Duration = Duration::from_millis(200);

/// The files a capture writes.
#[derive(Debug)]
pub struct CaptureFiles {
    base: PathBuf,
    head: Vec<u8>,
    writer: BufWriter<File>,
    /// Bytes in the current file, head included.
    current_bytes: u64,
    /// Packets in the current file.
    current_packets: u64,
    rotate_bytes: Option<u64>,
    paths: Vec<PathBuf>,
    last_flush: Instant,
}

impl CaptureFiles {
    /// Creates `base` and writes `head` (the section and interface blocks) to it; with
    /// `rotate_bytes`, a new file is started before a packet would take the current one past
    /// that size.
    pub fn create(base: &Path, head: Vec<u8>, rotate_bytes: Option<u64>) -> std::io::Result<Self> {
        let writer = open_new(base, &head)?;
        Ok(CaptureFiles {
            base: base.to_path_buf(),
            current_bytes: head.len() as u64,
            head,
            writer,
            current_packets: 0,
            rotate_bytes,
            paths: vec![base.to_path_buf()],
            last_flush: Instant::now(),
        })
    }

    /// Appends one packet block, starting a new file first if the current one is full.
    pub fn write_block(&mut self, block: &[u8]) -> std::io::Result<()> {
        if let Some(limit) = self.rotate_bytes {
            if self.current_packets > 0 && self.current_bytes + block.len() as u64 > limit {
                self.rotate()?;
            }
        }
        crate::pcapng::write_block(&mut self.writer, block)?;
        self.current_bytes += block.len() as u64;
        self.current_packets += 1;
        if self.last_flush.elapsed() >= FLUSH_EVERY {
            self.flush()?;
        }
        Ok(())
    }

    /// Hands buffered blocks to the operating system.
    pub fn flush(&mut self) -> std::io::Result<()> {
        self.last_flush = Instant::now();
        self.writer.flush()
    }

    /// The files written so far, in order.
    pub fn paths(&self) -> &[PathBuf] {
        &self.paths
    }

    fn rotate(&mut self) -> std::io::Result<()> {
        self.flush()?;
        let next = numbered(&self.base, self.paths.len());
        self.writer = open_new(&next, &self.head)?;
        self.paths.push(next);
        self.current_bytes = self.head.len() as u64;
        self.current_packets = 0;
        Ok(())
    }
}

fn open_new(path: &Path, head: &[u8]) -> std::io::Result<BufWriter<File>> {
    let file = OpenOptions::new().write(true).create_new(true).open(path)?;
    let mut w = BufWriter::with_capacity(BUFFER_BYTES, file);
    w.write_all(head)?;
    w.flush()?;
    Ok(w)
}

/// The `n`th file of a series: `base` itself for 0, else `stem.n.ext`.
pub fn numbered(base: &Path, n: usize) -> PathBuf {
    if n == 0 {
        return base.to_path_buf();
    }
    let stem = base
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = match base.extension() {
        Some(ext) => format!("{stem}.{n}.{}", ext.to_string_lossy()),
        None => format!("{stem}.{n}"),
    };
    base.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbering_follows_the_base_name() {
        let b = Path::new("/tmp/x/capture.pcapng");
        assert_eq!(numbered(b, 0), b);
        assert_eq!(numbered(b, 2), Path::new("/tmp/x/capture.2.pcapng"));
        assert_eq!(numbered(Path::new("cap"), 1), Path::new("cap.1"));
    }

    #[test]
    fn rotation_starts_readable_files_and_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("c.pcapng");
        let iface = crate::pcapng::InterfaceInfo {
            linktype: 1,
            snaplen: 65535,
            name: "eth0".into(),
        };
        let head = crate::pcapng::file_head(&iface).unwrap();
        let block = crate::pcapng::packet_block(5, &[0u8; 200], 200).unwrap();
        let limit = head.len() as u64 + 2 * block.len() as u64;
        let mut files = CaptureFiles::create(&base, head.clone(), Some(limit)).unwrap();
        for _ in 0..5 {
            files.write_block(&block).unwrap();
        }
        files.flush().unwrap();
        let paths = files.paths().to_vec();
        assert_eq!(paths.len(), 3);
        let mut total = 0;
        for p in &paths {
            let mut src = tcheck_engine::FileSource::open(p).unwrap();
            let mut buf = Vec::new();
            use tcheck_engine::PacketSource;
            while src.read_packet(&mut buf).unwrap().is_some() {
                total += 1;
            }
        }
        assert_eq!(total, 5);
        let again = CaptureFiles::create(&base, head, None);
        assert_eq!(again.unwrap_err().kind(), std::io::ErrorKind::AlreadyExists);
    }
}
