//! Test helpers shared across the workspace.

// Test support: a failed expectation is a panic by design.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::missing_panics_doc,
    missing_docs
)]

pub mod chain;
pub mod cli;
pub mod flood;
pub mod http;
pub mod load;
pub mod node;
pub mod process;
pub mod udp_relay;
pub mod worker_cli;
