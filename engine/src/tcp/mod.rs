//! TCP: the connection state machine and sequence accounting ([`session`]) and stream
//! reassembly ([`reassembly`]).

pub mod reassembly;
pub mod session;

pub use reassembly::{Chunk, MemBudget, Reassembler, StreamLimits};
pub use session::{EndpointState, TcpSession, Verdict};
