//! `ixi-node-link`: the authenticated QUIC link between `ixi-link` and its workers.
//!
//! Both ends are authenticated by pinned keys, with no certificate authority:
//! - [`identity`]: each side has a key and a self-signed certificate in its data directory; its
//!   [`Pin`] is the SHA-256 of the certificate's public key (SubjectPublicKeyInfo).
//! - [`tls`]: the link serves only workers whose pins it has authorized, and a worker connects
//!   only to the pin it was given. TLS 1.3 only, no 0-RTT.
//! - [`worker`]: the worker's side: reconnect with backoff, queue solutions across drops.
//! - [`transport`]: QUIC endpoints with keep-alives well inside the idle timeout, and one
//!   bidirectional stream per session carrying `ixi-link-proto` frames.
//!
//! The protocol itself (messages, session state machines) is sans-IO in `ixi-link-proto`.

pub mod cli;
pub mod identity;
pub mod tls;
pub mod transport;
pub mod worker;

pub use identity::{AuthorizedPins, Identity, Pin};
