//! One test binary for every cross-crate test (faster to build and link than one per file).

// Test code: a failed expectation is a panic by design.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::expect_fun_call,
    clippy::cast_possible_truncation
)]

mod formats_vectors;
mod mining;
mod pow_vectors;
