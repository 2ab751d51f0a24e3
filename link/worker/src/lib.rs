//! `ixi-link-worker`: the worker side of the ixi link.
//!
//! - [`client`]: the connection to the link: connect to its pin, run the session, reconnect
//!   forever with capped backoff, queue solutions across drops.
//! - [`miner`]: the search engine ([`ixi_miner`]) working for a link: jobs in, solutions out.
//! - [`verifier`]: the verification engine ([`ixi_verifier`]) working for a link: batches in,
//!   one verdict per item out.
//!
//! The engines themselves know nothing of the network; this crate is where they meet it.

pub mod client;
pub mod miner;
pub mod verifier;
