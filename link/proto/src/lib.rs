//! `ixi-link-proto`: the sans-IO protocol between `ixi-link` and its workers (miners and
//! verifiers).
//!
//! No sockets, no tasks, no clocks:
//! - [`message`]: one struct per message, and the table that gives each its wire code, name
//!   and policy (who sends it, to which workers, in which phase). Its module docs say where a
//!   new message goes: three places.
//! - [`codec`]: versioned frames with explicit size limits, and a push decoder.
//! - [`session`]: one state machine for both ends, which takes bytes and the current time and
//!   hands back frames to send, events and its next deadline.
//!
//! The QUIC transport and the driver that runs a session on a stream live in
//! `ixi-link-transport`; the tests here drive both ends against each other with simulated
//! time.

pub mod codec;
mod error;
pub mod message;
pub mod session;

pub use error::{DecodeError, SendError};
pub use message::{
    ErrorMessage, Heartbeat, Hello, Idle, IdleReason, Job, Message, PROTOCOL_VERSION, RejectReason,
    Role, Solution, SolutionVerdict, Stats, Verdict, VerifyBatch, VerifyItem, VerifyResult,
    Welcome,
};
pub use session::{CloseReason, Event, Session, SessionConfig, Side};
