//! `ixi-link-transport`: the authenticated QUIC transport between `ixi-link` and its workers.
//!
//! Both ends are authenticated by pinned keys, with no certificate authority:
//! - [`identity`]: each side has a key and a self-signed certificate in its data directory; its
//!   [`Pin`] is the SHA-256 of the certificate's public key (SubjectPublicKeyInfo).
//! - [`private_fs`]: the data directory and its files, owner-only whatever the umask, never
//!   written through a symbolic link.
//! - [`tls`]: the link serves only workers whose pins it has authorized, and a worker connects
//!   only to the pin it was given. TLS 1.3 only, no 0-RTT.
//! - [`transport`]: QUIC endpoints with keep-alives well inside the idle timeout, one
//!   bidirectional stream per session carrying `ixi-link-proto` frames, and the close codes.
//! - [`driver`]: runs a protocol session on that stream; the link and its workers differ only
//!   in their [`SessionOwner`].
//!
//! The protocol itself (messages, session state machines) is sans-IO in `ixi-link-proto`; the
//! link server and the worker client build on this crate.

pub mod driver;
pub mod identity;
pub mod private_fs;
pub mod tls;
pub mod transport;

pub use driver::{SessionEnd, SessionOwner, drive};
pub use identity::{AuthorizedPins, Identity, Pin};
pub use quinn::Connection;
pub use transport::{CloseCode, TransportError};
