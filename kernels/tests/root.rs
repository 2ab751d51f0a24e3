//! Every integration test of `ixi-kernels`, in one test binary (one link against wgpu and naga
//! instead of seven).

// Test code: a failed expectation is a panic by design.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::cast_possible_truncation
)]

mod mont;
mod pow;
mod rsa_gpu;
mod rsa_wgsl;
mod sha512;
mod simd;
mod support;
mod wgsl;
