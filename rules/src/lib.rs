//! # tcheck-rules
//!
//! The Suricata-subset rule language of tcheck: parsing rule files (with clear errors naming
//! the file, line and sid of each rule refused), compiling them into groups with
//! Aho-Corasick prefilters, and matching packets and application-layer transactions.
//!
//! ## What is supported
//! Actions `alert`, `pass`, `drop`, `reject`; protocols `ip tcp udp icmp dns tls http quic
//! dhcp`; addresses and ports with variables, negation, lists, ranges, CIDR and IPv6; `->`
//! and `<>`. Keywords: `msg sid rev gid classtype priority reference metadata`, `content`
//! (`nocase depth offset distance within fast_pattern startswith endswith`, negation,
//! `|hex|`), `isdataat`, `pcre` (translated to the `regex` crate when it means the same, else
//! refused), `flow`, `flowbits`, `dsize bsize urilen ip_proto itype icode ttl byte_test`,
//! `threshold detection_filter`, sticky buffers (`dns.query`, `tls.*`, `ja3.hash`,
//! `ja3s.hash`, `ja4.hash`, `quic.sni`, `http.*`, `file.data`) and their older modifier
//! forms, `dotprefix`. Anything else makes its rule fail to load, with the keyword named.
//!
//! ## Limits
//! Rules and options are bounded in size; relative matching backtracks at most a fixed
//! number of steps per inspection; regular expressions have compile-size limits.

#![deny(missing_docs)]

pub mod buffers;
pub mod classification;
pub mod compile;
pub mod content;
pub mod detect;
pub mod error;
pub mod header;
pub(crate) mod index;
pub mod lexer;
pub mod pcre;
pub mod profile;
pub mod rule;
pub mod threshold;
pub mod vars;

pub use buffers::Buffer;
pub use classification::Classifications;
pub use compile::{LoadReport, RuleSet};
pub use detect::{FlowState, Hit, PacketFacts, TxBuffers};
pub use error::RuleError;
pub use header::Action;
pub use rule::Rule;
pub use threshold::ThresholdState;
pub use vars::Vars;
