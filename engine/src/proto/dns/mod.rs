//! DNS over UDP and TCP, mDNS, LLMNR and NetBIOS name service.

pub mod log;
pub mod parser;
pub(crate) mod state;

use crate::event::FlowId;
use crate::time::Timestamp;

pub(crate) use state::DnsState;

/// The port of NetBIOS name service, which Zeek parses as DNS with NetBIOS conventions.
pub const NETBIOS_PORT: u16 = 137;

/// Whether a flow is NetBIOS name service (its responder's port is 137) rather than DNS.
pub fn is_netbios(flow: &FlowId) -> bool {
    flow.resp.port == NETBIOS_PORT
}

/// One answer as Zeek logs it: its text and TTL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZeekAnswer {
    /// Zeek's rendering (`1.2.3.4`, `name`, `TXT 5 hello`, `RRSIG 1 signer`...).
    pub text: String,
    /// Time to live in seconds.
    pub ttl: u32,
}

/// A DNS transaction as Zeek's `dns.log` has it.
#[derive(Clone, Debug)]
pub struct DnsRecord {
    /// The flow.
    pub flow: FlowId,
    /// Time of the first message of the transaction.
    pub ts: Timestamp,
    /// Transaction id.
    pub trans_id: u16,
    /// Time from query to first answer, in nanoseconds.
    pub rtt: Option<i64>,
    /// The name queried.
    pub query: Option<String>,
    /// Query class.
    pub qclass: Option<u16>,
    /// Query type.
    pub qtype: Option<u16>,
    /// Response code.
    pub rcode: Option<u8>,
    /// Authoritative answer.
    pub aa: bool,
    /// Truncated.
    pub tc: bool,
    /// Recursion desired.
    pub rd: bool,
    /// Recursion available.
    pub ra: bool,
    /// The Z bits (Z, AD, CD).
    pub z: u8,
    /// Answers, in order.
    pub answers: Vec<ZeekAnswer>,
    /// The server replied without any record.
    pub rejected: bool,
    /// Operation code.
    pub opcode: u8,
    /// NetBIOS name service (names and opcodes read the NetBIOS way).
    pub netbios: bool,
    /// A query was seen.
    pub saw_query: bool,
    /// A reply was seen.
    pub saw_reply: bool,
}

/// One DNS message, as Suricata logs it (a request or a response event).
#[derive(Clone, Debug)]
pub struct DnsMessageRecord {
    /// The flow.
    pub flow: FlowId,
    /// Sent by the originator.
    pub from_orig: bool,
    /// Suricata's transaction number within the flow: every message is a transaction of its
    /// own, numbered from 0 in the order the messages were parsed.
    pub tx_id: u64,
    /// The parsed message.
    pub message: parser::Message,
}
