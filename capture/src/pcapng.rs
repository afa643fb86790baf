//! Writing pcapng: one section, one interface, enhanced packet blocks.
//!
//! Blocks are serialised by `pcap-parser` (the crate that reads them back) and written
//! whole: the buffered writer never splits a block across two writes, so a file cut short by a
//! crash or `kill -9` ends on a block boundary, or at worst in the last block, which readers
//! (ours, tshark's) skip with a warning.

use std::borrow::Cow;
use std::io::Write;

use pcap_parser::pcapng::{
    EnhancedPacketBlock, InterfaceDescriptionBlock, OptionCode, PcapNGOption, SectionHeaderBlock,
};
use pcap_parser::{Linktype, ToVec};

/// Timestamps are written in microseconds (`if_tsresol` 6), as libpcap delivers them.
const TSRESOL_MICROS: u8 = 6;

/// What a capture file says about its interface.
#[derive(Clone, Debug)]
pub struct InterfaceInfo {
    /// The link type (`LINKTYPE_*`).
    pub linktype: i32,
    /// The snapshot length.
    pub snaplen: u32,
    /// The interface's name.
    pub name: String,
}

/// The bytes of a section header and an interface description: the head of every file.
pub fn file_head(iface: &InterfaceInfo) -> Result<Vec<u8>, String> {
    let app = concat!("tcheck ", env!("CARGO_PKG_VERSION"));
    let mut shb = SectionHeaderBlock {
        block_type: 0,
        block_len1: 0,
        bom: 0,
        major_version: 1,
        minor_version: 0,
        section_len: -1,
        options: vec![option(OptionCode::ShbUserAppl, app.as_bytes())],
        block_len2: 0,
    };
    let mut idb = InterfaceDescriptionBlock {
        block_type: 0,
        block_len1: 0,
        linktype: Linktype(iface.linktype),
        reserved: 0,
        snaplen: iface.snaplen,
        options: vec![option(OptionCode::IfName, iface.name.as_bytes())],
        block_len2: 0,
        if_tsresol: TSRESOL_MICROS,
        if_tsoffset: 0,
    };
    let mut head = shb.to_vec().map_err(|e| format!("{e:?}"))?;
    head.extend(idb.to_vec().map_err(|e| format!("{e:?}"))?);
    Ok(head)
}

/// The bytes of one enhanced packet block: `micros` since the epoch, the captured bytes and
/// the length on the wire.
pub fn packet_block(micros: u64, data: &[u8], orig_len: u32) -> Result<Vec<u8>, String> {
    let caplen = u32::try_from(data.len()).map_err(|_| "packet too large".to_string())?;
    let mut epb = EnhancedPacketBlock {
        block_type: 0,
        block_len1: 0,
        if_id: 0,
        ts_high: (micros >> 32) as u32,
        ts_low: micros as u32,
        caplen,
        origlen: orig_len,
        data,
        options: Vec::new(),
        block_len2: 0,
    };
    epb.to_vec().map_err(|e| format!("{e:?}"))
}

fn option<'a>(code: OptionCode, value: &'a [u8]) -> PcapNGOption<'a> {
    PcapNGOption {
        code,
        len: value.len() as u16,
        value: Cow::Borrowed(value),
    }
}

/// Writes `block` whole to `out`.
pub fn write_block(out: &mut impl Write, block: &[u8]) -> std::io::Result<()> {
    out.write_all(block)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tcheck_engine::{FileSource, PacketSource};

    #[test]
    fn written_file_reads_back_with_the_engine() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.pcapng");
        let iface = InterfaceInfo {
            linktype: 1,
            snaplen: 65535,
            name: "veth0".into(),
        };
        let mut bytes = file_head(&iface).unwrap();
        let frame: Vec<u8> = (0u8..61).collect();
        bytes.extend(packet_block(1_700_000_000_123_456, &frame, 70).unwrap());
        bytes.extend(packet_block(1_700_000_001_000_001, &frame[..14], 14).unwrap());
        std::fs::write(&path, &bytes).unwrap();

        let mut src = FileSource::open(&path).unwrap();
        let mut buf = Vec::new();
        let a = src.read_packet(&mut buf).unwrap().unwrap();
        assert_eq!(a.caplen, 61);
        assert_eq!(a.orig_len, 70);
        assert_eq!(a.link.0, 1);
        assert_eq!(a.ts.secs(), 1_700_000_000);
        assert_eq!(a.ts.subsec_nanos(), 123_456_000);
        assert_eq!(buf, frame);
        let b = src.read_packet(&mut buf).unwrap().unwrap();
        assert_eq!(b.caplen, 14);
        assert_eq!(b.ts.subsec_nanos(), 1_000);
        assert!(src.read_packet(&mut buf).unwrap().is_none());
        assert!(src.take_warnings().is_empty());
    }

    #[test]
    fn a_file_cut_inside_a_block_reads_up_to_the_cut() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cut.pcapng");
        let iface = InterfaceInfo {
            linktype: 1,
            snaplen: 65535,
            name: "eth0".into(),
        };
        let mut bytes = file_head(&iface).unwrap();
        let frame = [0xAAu8; 100];
        for i in 0..3 {
            bytes.extend(packet_block(1_000_000 * i, &frame, 100).unwrap());
        }
        bytes.truncate(bytes.len() - 30);
        std::fs::write(&path, &bytes).unwrap();
        let mut src = FileSource::open(&path).unwrap();
        let mut buf = Vec::new();
        let mut n = 0;
        while src.read_packet(&mut buf).unwrap().is_some() {
            n += 1;
        }
        assert_eq!(n, 2);
    }
}
