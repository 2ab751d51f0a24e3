//! `ixi-link-proto`: the sans-IO protocol between `ixi-link` and its workers (miners and
//! verifiers).
//!
//! No sockets, no tasks, no clocks: [`codec`] turns [`Message`]s into versioned frames and
//! back, with explicit size limits; [`session`] holds the two state machines, which take bytes
//! and the current time and hand back frames to send, events and their next deadline. The
//! QUIC transport lives in `ixi-node-link`, which drives these with real sockets and time; the
//! tests here drive both sides against each other with simulated time.
//!
//! Frame: `"IXL"` magic, protocol version, message type, flags (0), payload length (u32 LE),
//! payload. Payload fields are little-endian integers and length-prefixed byte strings, each
//! with its own limit; a frame above [`codec::MAX_PAYLOAD`] is refused before it is buffered.

pub mod codec;
mod error;
mod message;
pub mod session;

pub use error::DecodeError;
pub use message::{
    IdleReason, Message, PROTOCOL_VERSION, RejectReason, Role, SolutionVerdict, VerifyItem,
};
