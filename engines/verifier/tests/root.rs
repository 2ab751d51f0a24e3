//! The verifier's tests, one binary: reference vectors and Wycheproof through every backend,
//! and differential runs on generated keys.

// Test code: a failed expectation is a panic by design.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::expect_fun_call,
    clippy::cast_possible_truncation
)]

mod common;
mod differential;
mod vectors;
