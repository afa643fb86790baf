//! A tolerant DNS message parser (RFC 1035 and successors), zero-copy where it can be.
//!
//! Every resource-record type is accepted: known ones are decoded, unknown ones kept as raw
//! bytes. Names are decompressed with loop protection (a pointer must point before itself,
//! at most [`MAX_POINTERS`] jumps, at most [`MAX_NAME_LEN`] bytes). A record that cannot be
//! decoded ends the parse of its section with an anomaly flag; what came before is kept.
//! Only a message shorter than its 12-byte header is an error.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use smallvec::SmallVec;

use crate::proto::byte_strings::ByteStrings;

/// Pointer jumps allowed while reading one name.
pub const MAX_POINTERS: usize = 32;
/// Longest name kept, in bytes of its text form.
pub const MAX_NAME_LEN: usize = 1024;
/// Records decoded per section at most (the rest is skipped and flagged).
pub const MAX_RECORDS: usize = 512;

/// Oddities found while parsing, as flags.
pub mod anomaly {
    /// A name's compression pointer points forward or loops.
    pub const NAME_LOOP: u16 = 1 << 0;
    /// A name is longer than allowed.
    pub const NAME_TOO_LONG: u16 = 1 << 1;
    /// The message ends in the middle of a record.
    pub const TRUNCATED: u16 = 1 << 2;
    /// More records than decoded.
    pub const TOO_MANY_RECORDS: u16 = 1 << 3;
    /// A record's data does not match its type's layout.
    pub const BAD_RDATA: u16 = 1 << 4;
    /// A label uses the reserved 0x40/0x80 length bits.
    pub const BAD_LABEL: u16 = 1 << 5;
    /// Bytes after the last record.
    pub const TRAILING_DATA: u16 = 1 << 6;

    /// A name for the first flag set, for anomaly reports.
    pub fn name(flags: u16) -> &'static str {
        [
            (NAME_LOOP, "name_pointer_loop"),
            (NAME_TOO_LONG, "name_too_long"),
            (TRUNCATED, "truncated_message"),
            (TOO_MANY_RECORDS, "too_many_records"),
            (BAD_RDATA, "malformed_record_data"),
            (BAD_LABEL, "invalid_label_type"),
            (TRAILING_DATA, "trailing_data"),
        ]
        .iter()
        .find(|(f, _)| flags & f != 0)
        .map_or("malformed_message", |(_, n)| n)
    }
}

/// The fixed header.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Header {
    /// Transaction id.
    pub id: u16,
    /// The raw flags word.
    pub flags: u16,
    /// Question count announced.
    pub qdcount: u16,
    /// Answer count announced.
    pub ancount: u16,
    /// Authority count announced.
    pub nscount: u16,
    /// Additional count announced.
    pub arcount: u16,
}

impl Header {
    /// A response.
    pub fn qr(&self) -> bool {
        self.flags & 0x8000 != 0
    }
    /// Operation code.
    pub fn opcode(&self) -> u8 {
        ((self.flags >> 11) & 0xf) as u8
    }
    /// Authoritative answer.
    pub fn aa(&self) -> bool {
        self.flags & 0x0400 != 0
    }
    /// Truncated.
    pub fn tc(&self) -> bool {
        self.flags & 0x0200 != 0
    }
    /// Recursion desired.
    pub fn rd(&self) -> bool {
        self.flags & 0x0100 != 0
    }
    /// Recursion available.
    pub fn ra(&self) -> bool {
        self.flags & 0x0080 != 0
    }
    /// The three bits after RA (Z, AD, CD), as Zeek's `Z`.
    pub fn z(&self) -> u8 {
        ((self.flags >> 4) & 0x7) as u8
    }
    /// Authentic data.
    pub fn ad(&self) -> bool {
        self.flags & 0x0020 != 0
    }
    /// Checking disabled.
    pub fn cd(&self) -> bool {
        self.flags & 0x0010 != 0
    }
    /// Response code (low 4 bits).
    pub fn rcode(&self) -> u8 {
        (self.flags & 0xf) as u8
    }
}

/// A name's text (labels joined by dots, what is not printable escaped as `\xNN`, Zeek's
/// rendering), shared by the records of a message that point to it: a response's answers
/// usually repeat the question's name through a compression pointer, and they share its
/// text instead of each holding a copy.
#[derive(Clone, PartialEq, Eq)]
pub struct Name(Arc<str>);

impl std::ops::Deref for Name {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Name {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&*self.0, f)
    }
}

impl std::fmt::Display for Name {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for Name {
    fn from(s: &str) -> Self {
        Name(Arc::from(s))
    }
}

impl From<String> for Name {
    fn from(s: String) -> Self {
        Name(Arc::from(s))
    }
}

impl PartialEq<&str> for Name {
    fn eq(&self, other: &&str) -> bool {
        *self.0 == **other
    }
}

/// A question.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Question {
    /// The name asked for.
    pub name: Name,
    /// Type asked for.
    pub qtype: u16,
    /// Class (mDNS puts the unicast-response bit in the top bit).
    pub qclass: u16,
}

/// Record types with a name.
pub mod rtype {
    /// Address.
    pub const A: u16 = 1;
    /// Name server.
    pub const NS: u16 = 2;
    /// Canonical name.
    pub const CNAME: u16 = 5;
    /// Start of authority.
    pub const SOA: u16 = 6;
    /// Pointer.
    pub const PTR: u16 = 12;
    /// Host information.
    pub const HINFO: u16 = 13;
    /// Mail exchange.
    pub const MX: u16 = 15;
    /// Text.
    pub const TXT: u16 = 16;
    /// IPv6 address.
    pub const AAAA: u16 = 28;
    /// Service locator.
    pub const SRV: u16 = 33;
    /// Delegation name.
    pub const DNAME: u16 = 39;
    /// EDNS pseudo-record.
    pub const OPT: u16 = 41;
    /// Delegation signer.
    pub const DS: u16 = 43;
    /// Signature.
    pub const RRSIG: u16 = 46;
    /// Next secure.
    pub const NSEC: u16 = 47;
    /// DNS key.
    pub const DNSKEY: u16 = 48;
    /// Next secure v3.
    pub const NSEC3: u16 = 50;
    /// Service binding.
    pub const SVCB: u16 = 64;
    /// HTTPS service binding.
    pub const HTTPS: u16 = 65;
    /// Sender policy framework (obsolete).
    pub const SPF: u16 = 99;
    /// Transaction key.
    pub const TKEY: u16 = 249;
    /// Transaction signature.
    pub const TSIG: u16 = 250;
    /// Certification authority authorization.
    pub const CAA: u16 = 257;
}

/// Decoded record data.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RData {
    /// IPv4 address.
    A(Ipv4Addr),
    /// IPv6 address.
    Aaaa(Ipv6Addr),
    /// A name (CNAME, NS, PTR, DNAME).
    Name(Name),
    /// Mail exchange.
    Mx {
        /// Preference.
        preference: u16,
        /// The exchange.
        exchange: Name,
    },
    /// Character strings (TXT, SPF).
    Txt(CharStrings),
    /// Start of authority.
    Soa {
        /// Primary name server.
        mname: Name,
        /// Mailbox of the responsible person.
        rname: Name,
        /// Serial.
        serial: u32,
        /// Refresh interval.
        refresh: u32,
        /// Retry interval.
        retry: u32,
        /// Expiry.
        expire: u32,
        /// Minimum TTL.
        minimum: u32,
    },
    /// Service locator.
    Srv {
        /// Priority.
        priority: u16,
        /// Weight.
        weight: u16,
        /// Port.
        port: u16,
        /// Target host.
        target: Name,
    },
    /// Signature.
    Rrsig {
        /// Type covered.
        type_covered: u16,
        /// Algorithm.
        algorithm: u8,
        /// Signer.
        signer: Name,
    },
    /// DNS key.
    Dnskey {
        /// Flags.
        flags: u16,
        /// Algorithm.
        algorithm: u8,
    },
    /// Delegation signer.
    Ds {
        /// Key tag.
        key_tag: u16,
        /// Algorithm.
        algorithm: u8,
        /// Digest type.
        digest_type: u8,
    },
    /// Next secure.
    Nsec {
        /// Next owner name.
        next: Name,
    },
    /// Host information.
    Hinfo {
        /// CPU.
        cpu: Vec<u8>,
        /// Operating system.
        os: Vec<u8>,
    },
    /// Service binding (SVCB, HTTPS).
    Svcb {
        /// Priority (0: alias form).
        priority: u16,
        /// Target name.
        target: Name,
        /// Parameters, key and raw value.
        params: Vec<(u16, Vec<u8>)>,
    },
    /// Certification authority authorization.
    Caa {
        /// Flags.
        flags: u8,
        /// Property tag.
        tag: Vec<u8>,
        /// Value.
        value: Vec<u8>,
    },
    /// Any other type, raw.
    Raw(Vec<u8>),
}

/// Which section a record came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Section {
    /// Answers.
    Answer,
    /// Authority.
    Authority,
    /// Additional.
    Additional,
}

/// A resource record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// Owner name.
    pub name: Name,
    /// Type.
    pub rtype: u16,
    /// Class.
    pub class: u16,
    /// Time to live.
    pub ttl: u32,
    /// Data.
    pub rdata: RData,
    /// Section.
    pub section: Section,
}

/// EDNS (the OPT pseudo-record).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edns {
    /// Requestor's UDP payload size.
    pub udp_size: u16,
    /// Upper bits of the extended response code.
    pub ext_rcode: u8,
    /// EDNS version.
    pub version: u8,
    /// DNSSEC OK.
    pub dnssec_ok: bool,
    /// Options, code and raw value (cookie: 10, client subnet: 8, padding: 12...).
    pub options: Vec<(u16, Vec<u8>)>,
}

/// A parsed message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// Header.
    pub header: Header,
    /// Questions.
    pub questions: Questions,
    /// Answer, authority and additional records, in order (OPT excluded).
    pub records: Vec<Record>,
    /// EDNS, when an OPT record was present.
    pub edns: Option<Edns>,
    /// Oddities found ([`anomaly`] flags).
    pub anomalies: u16,
}

/// The questions of a message, read as a slice: nearly always one, kept in the message
/// itself rather than in an allocation of its own.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Questions(SmallVec<[Question; 1]>);

impl Questions {
    /// No questions, with room for `n`.
    fn with_capacity(n: usize) -> Self {
        Questions(SmallVec::with_capacity(n))
    }

    /// Appends a question.
    fn push(&mut self, q: Question) {
        self.0.push(q);
    }
}

impl std::ops::Deref for Questions {
    type Target = [Question];

    fn deref(&self) -> &[Question] {
        &self.0
    }
}

impl std::fmt::Debug for Questions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.0.iter()).finish()
    }
}

impl FromIterator<Question> for Questions {
    fn from_iter<I: IntoIterator<Item = Question>>(iter: I) -> Self {
        Questions(iter.into_iter().collect())
    }
}

impl<'a> IntoIterator for &'a Questions {
    type Item = &'a Question;
    type IntoIter = std::slice::Iter<'a, Question>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl Message {
    /// Records of one section.
    pub fn section(&self, s: Section) -> impl Iterator<Item = &Record> {
        self.records.iter().filter(move |r| r.section == s)
    }
}

/// The message is shorter than a DNS header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TooShort;

fn be16(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([s[0], s[1]]))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

/// Appends a label to a name's text, escaping what is not printable (Zeek's rendering):
/// only ASCII is ever written, so the name is text once complete.
fn push_label(out: &mut Vec<u8>, label: &[u8]) {
    if out.is_empty() {
        // Room for most names at once rather than a doubling per label (the buffer is kept
        // between names and messages, so this allocates once per thread).
        out.reserve(64);
    } else {
        out.push(b'.');
    }
    let printable = |b: u8| b.is_ascii_graphic() || b == b' ';
    // The common case: a label of printable ASCII, copied as it is.
    if label.iter().all(|&b| printable(b)) {
        out.extend_from_slice(label);
        return;
    }
    for &b in label {
        if printable(b) {
            out.push(b);
        } else {
            out.extend_from_slice(b"\\x");
            out.push(crate::output::HEX_DIGITS[usize::from(b >> 4)]);
            out.push(crate::output::HEX_DIGITS[usize::from(b & 15)]);
        }
    }
}

/// Reads the names of one message, sharing the text of a name that a later one points to.
struct Names<'m, 't> {
    /// The message.
    msg: &'m [u8],
    /// The text of the name being read.
    text: &'t mut Vec<u8>,
    /// Names read so far, by the position they start at, with the pointer jumps their
    /// reading took: the first [`SHARED_NAMES`] only (a lookup is a scan).
    read: [Option<(usize, usize, Name)>; SHARED_NAMES],
}

/// Names of a message remembered for sharing.
const SHARED_NAMES: usize = 16;

thread_local! {
    /// The text of the name being read, kept between messages for its capacity.
    static NAME_TEXT: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl<'m, 't> Names<'m, 't> {
    fn new(msg: &'m [u8], text: &'t mut Vec<u8>) -> Self {
        Names {
            msg,
            text,
            read: [const { None }; SHARED_NAMES],
        }
    }

    /// Reads the (possibly compressed) name at `pos`; returns it and the position after it
    /// in the original byte stream. A name that is only a pointer to a name read before
    /// shares that name's text: reading it again would give the same text, as the jumps
    /// from there are the same, plus this one (see [`read_name`]).
    fn read(&mut self, pos: usize, flags: &mut u16) -> Option<(Name, usize)> {
        // The name is only a pointer, backwards (forward ones are refused by `read_name`).
        let target = match self.msg.get(pos) {
            Some(len) if len & 0xc0 == 0xc0 => Some(usize::from(be16(self.msg, pos)? & 0x3fff)),
            _ => None,
        }
        .filter(|&t| t < pos);
        if let Some(target) = target {
            let known = self
                .read
                .iter()
                .map_while(Option::as_ref)
                .find(|(at, jumps, _)| *at == target && *jumps < MAX_POINTERS);
            if let Some((_, _, name)) = known {
                return Some((name.clone(), pos + 2));
            }
        }
        self.text.clear();
        let (after, jumps) = read_name(self.msg, pos, flags, self.text)?;
        // ASCII by construction (`push_label`), so never the lossy copy. `from_utf8_lossy`
        // alone is slower on valid text: 538.9M against 533.7M instructions for a whole run
        // on bench-r16 (callgrind).
        let name = Name(match std::str::from_utf8(self.text) {
            Ok(text) => Arc::from(text),
            Err(_) => Arc::from(String::from_utf8_lossy(self.text)),
        });
        self.remember(pos, jumps, &name);
        if let Some(target) = target {
            // The name at the target is this name, read with one jump less.
            self.remember(target, jumps - 1, &name);
        }
        Some((name, after))
    }

    /// Keeps `name`, read at `at` with `jumps` jumps, for the names that point to it, if
    /// there is room.
    fn remember(&mut self, at: usize, jumps: usize, name: &Name) {
        if let Some(free) = self.read.iter_mut().find(|slot| slot.is_none()) {
            *free = Some((at, jumps, name.clone()));
        }
    }
}

/// Reads a (possibly compressed) name at `pos` of `msg` into `name` (empty); returns the
/// position after it in the original byte stream and the pointer jumps it took.
fn read_name(
    msg: &[u8],
    pos: usize,
    flags: &mut u16,
    name: &mut Vec<u8>,
) -> Option<(usize, usize)> {
    let mut at = pos;
    let mut end_after: Option<usize> = None;
    let mut jumps = 0;
    // Every pointer must go strictly backwards from the smallest position visited so far,
    // which rules out loops.
    let mut floor = pos;
    loop {
        let len = *msg.get(at)?;
        match len & 0xc0 {
            0x00 => {
                if len == 0 {
                    return Some((end_after.unwrap_or(at + 1), jumps));
                }
                let l = usize::from(len);
                let label = msg.get(at + 1..at + 1 + l)?;
                if name.len() + l + 1 > MAX_NAME_LEN {
                    *flags |= anomaly::NAME_TOO_LONG;
                    return None;
                }
                push_label(name, label);
                at += 1 + l;
            }
            0xc0 => {
                let target = usize::from(be16(msg, at)? & 0x3fff);
                if end_after.is_none() {
                    end_after = Some(at + 2);
                }
                jumps += 1;
                if target >= floor || jumps > MAX_POINTERS {
                    *flags |= anomaly::NAME_LOOP;
                    return None;
                }
                floor = target;
                at = target;
            }
            _ => {
                *flags |= anomaly::BAD_LABEL;
                return None;
            }
        }
    }
}

/// Character strings kept at most per record (more are dropped).
const MAX_CHAR_STRINGS: usize = 257;

/// The character strings of a TXT or SPF record, in their wire form (each a length byte and
/// its bytes) in one buffer: a record costs one allocation, however many strings it has.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CharStrings {
    /// Length-prefixed strings, each checked to fit when the record was read.
    wire: Vec<u8>,
}

impl CharStrings {
    /// The strings, in order.
    pub fn iter(&self) -> ByteStrings<'_> {
        ByteStrings::new(&self.wire)
    }

    /// Whether the record has no string.
    pub fn is_empty(&self) -> bool {
        self.wire.is_empty()
    }
}

impl<'a> IntoIterator for &'a CharStrings {
    type Item = &'a [u8];
    type IntoIter = ByteStrings<'a>;

    fn into_iter(self) -> ByteStrings<'a> {
        self.iter()
    }
}

/// The character strings of `data`, or `None` when one runs past its end. Past
/// [`MAX_CHAR_STRINGS`], the rest is dropped.
fn char_strings(data: &[u8]) -> Option<CharStrings> {
    Some(CharStrings {
        wire: data.get(..char_strings_end(data)?)?.to_vec(),
    })
}

/// Where the character strings of `data` end: after the last, or after the
/// [`MAX_CHAR_STRINGS`]th; `None` when one before that runs past the end of `data`.
fn char_strings_end(data: &[u8]) -> Option<usize> {
    let (count, end) = ByteStrings::new(data)
        .take(MAX_CHAR_STRINGS)
        .fold((0, 0), |(count, end), s| (count + 1, end + 1 + s.len()));
    (count == MAX_CHAR_STRINGS || end == data.len()).then_some(end)
}

fn rdata(
    names: &mut Names<'_, '_>,
    rtype: u16,
    start: usize,
    len: usize,
    flags: &mut u16,
) -> Option<RData> {
    let msg = names.msg;
    let data = msg.get(start..start + len)?;
    let mut name_at = |at: usize, flags: &mut u16| names.read(start + at, flags).map(|(n, _)| n);
    Some(match rtype {
        rtype::A if len == 4 => RData::A(Ipv4Addr::new(data[0], data[1], data[2], data[3])),
        rtype::AAAA if len == 16 => {
            let mut a = [0u8; 16];
            a.copy_from_slice(data);
            RData::Aaaa(Ipv6Addr::from(a))
        }
        rtype::CNAME | rtype::NS | rtype::PTR | rtype::DNAME => RData::Name(name_at(0, flags)?),
        rtype::MX => RData::Mx {
            preference: be16(data, 0)?,
            exchange: name_at(2, flags)?,
        },
        rtype::TXT | rtype::SPF => RData::Txt(char_strings(data)?),
        rtype::SOA => {
            let (mname, next) = names.read(start, flags)?;
            let (rname, next) = names.read(next, flags)?;
            RData::Soa {
                mname,
                rname,
                serial: be32(msg, next)?,
                refresh: be32(msg, next + 4)?,
                retry: be32(msg, next + 8)?,
                expire: be32(msg, next + 12)?,
                minimum: be32(msg, next + 16)?,
            }
        }
        rtype::SRV => RData::Srv {
            priority: be16(data, 0)?,
            weight: be16(data, 2)?,
            port: be16(data, 4)?,
            target: name_at(6, flags)?,
        },
        rtype::RRSIG => RData::Rrsig {
            type_covered: be16(data, 0)?,
            algorithm: *data.get(2)?,
            signer: name_at(18, flags)?,
        },
        rtype::DNSKEY => RData::Dnskey {
            flags: be16(data, 0)?,
            algorithm: *data.get(3)?,
        },
        rtype::DS => RData::Ds {
            key_tag: be16(data, 0)?,
            algorithm: *data.get(2)?,
            digest_type: *data.get(3)?,
        },
        rtype::NSEC => RData::Nsec {
            next: name_at(0, flags)?,
        },
        rtype::HINFO => {
            let mut it = ByteStrings::new(data.get(..char_strings_end(data)?)?);
            RData::Hinfo {
                cpu: it.next().unwrap_or_default().to_vec(),
                os: it.next().unwrap_or_default().to_vec(),
            }
        }
        rtype::SVCB | rtype::HTTPS => {
            let priority = be16(data, 0)?;
            let (target, after) = names.read(start + 2, flags)?;
            let mut params = Vec::new();
            let mut at = after - start;
            while at + 4 <= len && params.len() < 64 {
                let key = be16(data, at)?;
                let vlen = usize::from(be16(data, at + 2)?);
                let v = data.get(at + 4..at + 4 + vlen)?;
                params.push((key, v.to_vec()));
                at += 4 + vlen;
            }
            RData::Svcb {
                priority,
                target,
                params,
            }
        }
        rtype::CAA => {
            let flags_b = *data.first()?;
            let tlen = usize::from(*data.get(1)?);
            let tag = data.get(2..2 + tlen)?.to_vec();
            let value = data.get(2 + tlen..)?.to_vec();
            RData::Caa {
                flags: flags_b,
                tag,
                value,
            }
        }
        _ => RData::Raw(data.to_vec()),
    })
}

/// Parses one DNS message.
pub fn parse(msg: &[u8]) -> Result<Message, TooShort> {
    NAME_TEXT.with_borrow_mut(|text| parse_with(msg, text))
}

/// [`parse`], reading names into `text`.
fn parse_with(msg: &[u8], text: &mut Vec<u8>) -> Result<Message, TooShort> {
    let header = Header {
        id: be16(msg, 0).ok_or(TooShort)?,
        flags: be16(msg, 2).ok_or(TooShort)?,
        qdcount: be16(msg, 4).ok_or(TooShort)?,
        ancount: be16(msg, 6).ok_or(TooShort)?,
        nscount: be16(msg, 8).ok_or(TooShort)?,
        arcount: be16(msg, 10).ok_or(TooShort)?,
    };
    // Room for every question and record the header announces, as far as the message's
    // length allows (a question takes 5 bytes at least, a record 11), instead of growing
    // the lists record by record (the parser's instructions on the 22 MB benchmark capture:
    // 45.2M before, 44.3M after).
    let room = msg.len().saturating_sub(12);
    let announced_records =
        usize::from(header.ancount) + usize::from(header.nscount) + usize::from(header.arcount);
    let mut m = Message {
        header,
        questions: Questions::with_capacity(
            usize::from(header.qdcount).min(MAX_RECORDS).min(room / 5),
        ),
        records: Vec::with_capacity(announced_records.min(3 * MAX_RECORDS).min(room / 11)),
        edns: None,
        anomalies: 0,
    };
    let mut names = Names::new(msg, text);
    let mut pos = 12;
    for i in 0..header.qdcount {
        if usize::from(i) >= MAX_RECORDS {
            m.anomalies |= anomaly::TOO_MANY_RECORDS;
            return Ok(m);
        }
        let parsed = names.read(pos, &mut m.anomalies).and_then(|(name, after)| {
            Some((name, be16(msg, after)?, be16(msg, after + 2)?, after + 4))
        });
        let Some((name, qtype, qclass, after)) = parsed else {
            m.anomalies |= anomaly::TRUNCATED;
            return Ok(m);
        };
        m.questions.push(Question {
            name,
            qtype,
            qclass,
        });
        pos = after;
    }
    let sections = [
        (Section::Answer, header.ancount),
        (Section::Authority, header.nscount),
        (Section::Additional, header.arcount),
    ];
    for (section, count) in sections {
        for i in 0..count {
            if usize::from(i) >= MAX_RECORDS {
                m.anomalies |= anomaly::TOO_MANY_RECORDS;
                return Ok(m);
            }
            match read_record(&mut names, pos, section, &mut m) {
                Some(next) => pos = next,
                None => {
                    m.anomalies |= anomaly::TRUNCATED;
                    return Ok(m);
                }
            }
        }
    }
    if pos < msg.len() {
        m.anomalies |= anomaly::TRAILING_DATA;
    }
    Ok(m)
}

/// Whether `data` can be the start of a DNS-over-TCP message (its 2-byte length, then the
/// message), to find message boundaries again after a gap in the stream.
///
/// The length must hold a header and two bytes at least for every record the header
/// announces; a message present in full must parse without damage (its names and records
/// read to the end); one that is not yet complete is judged by its header alone.
pub fn probe_tcp(data: &[u8]) -> bool {
    let Some(len) = be16(data, 0).map(usize::from) else {
        return false;
    };
    let body = data.get(2..).unwrap_or_default();
    let body = body.get(..len).unwrap_or(body);
    let Ok(msg) = parse(body) else {
        // Not even a header yet: nothing tells against it.
        return len >= 12 && body.len() < 12;
    };
    let h = msg.header;
    let records = [h.qdcount, h.ancount, h.nscount, h.arcount]
        .iter()
        .map(|&n| usize::from(n))
        .sum::<usize>();
    if len < 12 || 2 * records > len - 12 {
        return false;
    }
    if body.len() < len {
        return true;
    }
    let damage = anomaly::NAME_LOOP
        | anomaly::NAME_TOO_LONG
        | anomaly::TRUNCATED
        | anomaly::BAD_LABEL
        | anomaly::TRAILING_DATA;
    msg.anomalies & damage == 0
}

/// Reads the record at `pos` into `m`; returns the position after it.
fn read_record(
    names: &mut Names<'_, '_>,
    pos: usize,
    section: Section,
    m: &mut Message,
) -> Option<usize> {
    let msg = names.msg;
    let (name, after) = names.read(pos, &mut m.anomalies)?;
    let rt = be16(msg, after)?;
    let class = be16(msg, after + 2)?;
    let ttl = be32(msg, after + 4)?;
    let rdlen = usize::from(be16(msg, after + 8)?);
    let start = after + 10;
    let end = start + rdlen;
    if end > msg.len() {
        return None;
    }
    if rt == rtype::OPT {
        let mut options = Vec::new();
        let mut at = start;
        while at + 4 <= end && options.len() < 64 {
            let code = be16(msg, at)?;
            let olen = usize::from(be16(msg, at + 2)?);
            let v = msg.get(at + 4..(at + 4 + olen).min(end))?;
            options.push((code, v.to_vec()));
            at += 4 + olen;
        }
        m.edns = Some(Edns {
            udp_size: class,
            ext_rcode: (ttl >> 24) as u8,
            version: (ttl >> 16) as u8,
            dnssec_ok: ttl & 0x8000 != 0,
            options,
        });
        return Some(end);
    }
    let data = match rdata(names, rt, start, rdlen, &mut m.anomalies) {
        Some(d) => d,
        None => {
            m.anomalies |= anomaly::BAD_RDATA;
            RData::Raw(msg.get(start..end)?.to_vec())
        }
    };
    m.records.push(Record {
        name,
        rtype: rt,
        class,
        ttl,
        rdata: data,
        section,
    });
    Some(end)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A response for www.example.com: CNAME to a.example.com, A 1.2.3.4, HTTPS record.
    fn sample() -> Vec<u8> {
        let mut m = vec![0x12, 0x34, 0x81, 0x80, 0, 1, 0, 3, 0, 0, 0, 1];
        m.extend_from_slice(b"\x03www\x07example\x03com\x00\x00\x01\x00\x01");
        // CNAME -> a.<example.com at offset 16>
        m.extend_from_slice(&[
            0xc0, 12, 0, 5, 0, 1, 0, 0, 0x0e, 0x10, 0, 4, 1, b'a', 0xc0, 16,
        ]);
        // A 1.2.3.4 for a.example.com (the CNAME target at offset 45)
        m.extend_from_slice(&[0xc0, 45, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 1, 2, 3, 4]);
        // HTTPS 1 . alpn=h2
        m.extend_from_slice(&[
            0xc0, 12, 0, 65, 0, 1, 0, 0, 0, 60, 0, 10, 0, 1, 0, 0, 1, 0, 3, 2,
        ]);
        m.extend_from_slice(b"h2");
        // OPT udp 1232, DO
        m.extend_from_slice(&[0, 0, 41, 0x04, 0xd0, 0, 0, 0x80, 0, 0, 0]);
        m
    }

    #[test]
    fn parses_answers_https_and_edns() {
        let msg = parse(&sample()).expect("parses");
        assert_eq!(msg.header.id, 0x1234);
        assert!(msg.header.qr() && msg.header.rd() && msg.header.ra());
        assert_eq!(msg.questions[0].name, "www.example.com");
        assert_eq!(msg.records[0].rdata, RData::Name("a.example.com".into()));
        assert_eq!(msg.records[1].name, "a.example.com");
        assert_eq!(msg.records[1].rdata, RData::A(Ipv4Addr::new(1, 2, 3, 4)));
        match &msg.records[2].rdata {
            RData::Svcb {
                priority,
                target,
                params,
            } => {
                assert_eq!(*priority, 1);
                assert_eq!(*target, "");
                assert_eq!(params, &vec![(1, vec![2, b'h', b'2'])]);
            }
            other => panic!("{other:?}"),
        }
        let edns = msg.edns.expect("edns");
        assert_eq!(edns.udp_size, 1232);
        assert!(edns.dnssec_ok);
        assert_eq!(msg.anomalies, 0);
    }

    #[test]
    fn pointer_loops_are_refused() {
        // question name is a pointer to itself
        let m = [0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1];
        let msg = parse(&m).expect("header ok");
        assert!(msg.questions.is_empty());
        assert_ne!(msg.anomalies & anomaly::NAME_LOOP, 0);
        // two pointers pointing at each other
        let m = [
            0, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0xc0, 16, 0, 1, 0xc0, 12, 0, 1,
        ];
        let msg = parse(&m).expect("header ok");
        assert_ne!(msg.anomalies & anomaly::NAME_LOOP, 0);
    }

    #[test]
    fn unknown_types_are_kept_raw() {
        let mut m = vec![0, 1, 0x80, 0, 0, 0, 0, 1, 0, 0, 0, 0];
        m.extend_from_slice(&[0, 0xff, 0x01, 0, 1, 0, 0, 0, 1, 0, 3, 7, 8, 9]);
        let msg = parse(&m).expect("parses");
        assert_eq!(msg.records[0].rtype, 0xff01);
        assert_eq!(msg.records[0].rdata, RData::Raw(vec![7, 8, 9]));
    }

    #[test]
    fn truncation_keeps_what_was_read() {
        let full = sample();
        for n in 12..full.len() {
            let msg = parse(&full[..n]).expect("header ok");
            assert!(msg.records.len() <= 3);
        }
        assert!(parse(&full[..11]).is_err());
    }

    #[test]
    fn tcp_probe_finds_message_starts() {
        let msg = sample();
        let mut framed = u16::try_from(msg.len())
            .expect("short")
            .to_be_bytes()
            .to_vec();
        framed.extend_from_slice(&msg);
        assert!(probe_tcp(&framed));
        // Incomplete: judged by the header.
        assert!(probe_tcp(&framed[..20]));
        assert!(probe_tcp(&framed[..5]));
        // The middle of a message, a length too short for its header, nothing at all.
        assert!(!probe_tcp(&framed[7..]));
        assert!(!probe_tcp(&[0, 5, 1, 2, 3, 4, 5]));
        assert!(!probe_tcp(&[0]));
        // Records announced that cannot fit.
        let mut big = framed.clone();
        big[8] = 0xff;
        assert!(!probe_tcp(&big));
    }

    #[test]
    fn non_printable_labels_are_escaped() {
        let mut out = Vec::new();
        push_label(&mut out, b"a\x00b");
        push_label(&mut out, b"\xff\x7f c");
        assert_eq!(
            String::from_utf8(out).as_deref(),
            Ok("a\\x00b.\\xff\\x7f c")
        );
    }

    /// A response: the question `www.example.com`, then `answers` A records whose names
    /// are pointers to it.
    fn response_with_pointers(answers: u8) -> Vec<u8> {
        let mut m = vec![0, 1, 0x81, 0x80, 0, 1, 0, answers, 0, 0, 0, 0];
        m.extend_from_slice(b"\x03www\x07example\x03com\x00\x00\x01\x00\x01");
        for i in 0..answers {
            m.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, i]);
        }
        m
    }

    #[test]
    fn answers_pointing_to_the_question_share_its_name() {
        let msg = parse(&response_with_pointers(3)).expect("parses");
        assert_eq!(msg.anomalies, 0);
        assert_eq!(msg.records.len(), 3);
        for r in &msg.records {
            assert_eq!(r.name, "www.example.com");
            assert!(Arc::ptr_eq(&r.name.0, &msg.questions[0].name.0));
        }
    }

    #[test]
    fn a_shared_name_keeps_the_jump_limit() {
        // `a` at 12, then pointers, each to the one before: the name at the k-th pointer
        // takes k jumps.
        let mut m = vec![0; 12];
        m.extend_from_slice(b"\x01a\x00");
        let mut at = 12u16;
        let mut pointers = Vec::new();
        for _ in 0..=MAX_POINTERS {
            pointers.push(m.len());
            m.extend_from_slice(&(0xc000 | at).to_be_bytes());
            at = u16::try_from(m.len() - 2).expect("short");
        }
        let mut text = Vec::new();
        let mut names = Names::new(&m, &mut text);
        let mut flags = 0;
        let last_allowed = pointers[MAX_POINTERS - 1];
        let (name, after) = names.read(last_allowed, &mut flags).expect("32 jumps");
        assert_eq!((name, after, flags), ("a".into(), last_allowed + 2, 0));
        // One jump more, through the name just read: refused, as without sharing.
        assert!(names.read(pointers[MAX_POINTERS], &mut flags).is_none());
        assert_eq!(flags, anomaly::NAME_LOOP);
        let mut alone = 0;
        assert!(read_name(&m, pointers[MAX_POINTERS], &mut alone, &mut Vec::new()).is_none());
        assert_eq!(alone, anomaly::NAME_LOOP);
    }

    #[test]
    fn character_strings_are_read_in_order_and_bounded() {
        let strings = |s: &CharStrings| -> Vec<Vec<u8>> { s.iter().map(<[u8]>::to_vec).collect() };
        let s = char_strings(b"\x02hi\x00\x03abc").unwrap_or_default();
        assert_eq!(strings(&s), [b"hi".to_vec(), Vec::new(), b"abc".to_vec()]);
        assert!(!s.is_empty());
        assert!(char_strings(b"").is_some_and(|s| s.is_empty()));
        // A string running past the record's end spoils the record.
        assert_eq!(char_strings(b"\x02hi\x05ab"), None);
        // Past the 257th string the rest is dropped, even a string that runs past the end.
        let mut many = b"\x01x".repeat(MAX_CHAR_STRINGS);
        many.extend_from_slice(b"\x09ab");
        let kept = char_strings(&many).unwrap_or_default();
        assert_eq!(kept.iter().count(), MAX_CHAR_STRINGS);
        assert!(kept.iter().all(|s| s == b"x"));
    }
}
