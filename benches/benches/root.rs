//! Criterion benchmarks of ixi-accel, one binary for all groups.
//!
//! Run with `cargo bench -p ixi-benches --locked`; each group measures its baseline in the
//! same run, so read ratios, not absolute times (this machine's timings are noisy).

#![allow(missing_docs)] // criterion's macros generate undocumented functions

use criterion::{criterion_group, criterion_main};

mod keccak;
mod link;
mod pow_search;
mod rsa_verify;
mod sha512;
mod shadow;

criterion_group!(
    benches,
    keccak::permutation,
    pow_search::search_batch,
    rsa_verify::verify_batch,
    sha512::eight_messages,
    link::codec,
    link::judging,
    shadow::block_1000
);
criterion_main!(benches);
