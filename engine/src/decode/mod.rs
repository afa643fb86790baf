//! Decoding packets: link layer, IP, fragment reassembly, tunnels, transport.
//!
//! [`link`] finds the IP header in a frame; [`ip`] parses IP and the transport header;
//! [`defrag`] reassembles fragmented datagrams within limits; [`tunnel`] strips IP-in-IP and
//! GRE encapsulation so that the inner flow is the one analysed.

pub mod defrag;
pub mod ip;
pub mod link;
pub mod tunnel;

pub use defrag::{DefragConfig, DefragOutcome, DefragStats, Defragmenter};
pub use ip::{parse_ip, parse_transport, IpPacket, TcpSegment, Transport};
pub use link::{decode_link, L2Info, LinkOutcome};
