//! The eight-lane SHA-512 against the `sha2` crate.

// Test code: a failed expectation is a panic by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![cfg(target_arch = "x86_64")]

use ixi_kernels::cpu::{CpuFeatures, skip_simd_test};
use ixi_kernels::sha512::digest8;
use rand::{Rng as _, RngCore as _};
use sha2::{Digest as _, Sha512};

fn check(messages: &[Vec<u8>]) {
    let Some(token) = CpuFeatures::detect().avx512() else {
        skip_simd_test("SHA-512 in AVX-512 lanes", "AVX-512F");
        return;
    };
    let refs: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
    let mut out = vec![[0u8; 64]; refs.len()];
    digest8(token, &refs, &mut out);
    for (m, d) in messages.iter().zip(&out) {
        assert_eq!(d[..], Sha512::digest(m)[..], "length {}", m.len());
    }
}

/// Every length across the padding boundaries (111/112 bytes, whole blocks), one per lane.
#[test]
fn every_length_up_to_three_blocks() {
    let mut rng = rand::rng();
    let all: Vec<Vec<u8>> = (0..=400)
        .map(|len| {
            let mut m = vec![0u8; len];
            rng.fill_bytes(&mut m);
            m
        })
        .collect();
    for group in all.chunks(8) {
        check(group);
    }
}

/// Ragged batches: 1 to 8 messages of mixed lengths, so lanes finish at different blocks.
#[test]
fn ragged_batches() {
    let mut rng = rand::rng();
    for _ in 0..200 {
        let count = rng.random_range(1..=8);
        let messages: Vec<Vec<u8>> = (0..count)
            .map(|_| {
                let mut m = vec![0u8; rng.random_range(0..700)];
                rng.fill_bytes(&mut m);
                m
            })
            .collect();
        check(&messages);
    }
}
