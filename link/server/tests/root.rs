//! ixi-link-server tests: the sans-IO core, the node gateway against an HTTP stand-in, and the
//! link end to end over QUIC.

// Test code: a failed expectation is a panic by design.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_possible_truncation,
    clippy::panic,
    missing_docs,
    unreachable_pub
)]

mod core;
mod gateway;
mod link;
mod support;
