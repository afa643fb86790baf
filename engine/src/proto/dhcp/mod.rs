//! DHCP: the device's name, vendor class, MAC and address (the phone's name on the report).

pub mod log;
pub mod parser;

use crate::event::FlowId;
use crate::time::Timestamp;

/// One DHCP message (Suricata logs each; Zeek's `dhcp.log` rows join a transaction's
/// messages, which the Zeek writer does).
#[derive(Clone, Debug)]
pub struct DhcpRecord {
    /// The flow that carried it.
    pub flow: FlowId,
    /// When.
    pub ts: Timestamp,
    /// Sent by the flow's originator.
    pub from_orig: bool,
    /// The message.
    pub message: parser::Message,
}
