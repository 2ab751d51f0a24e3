//! `ixi-node-link`: the node side of the authenticated QUIC link that miners and verifiers
//! connect to, next to a real Ixian DLT node or on the embedded devnet.
//!
//! Not built yet: this crate reserves its place in the workspace layout. The protocol state
//! machines will live in the sans-IO crate `ixi-link-proto` (no tokio, no quinn, time passed in);
//! this crate will own the quinn endpoint and the node backends.
