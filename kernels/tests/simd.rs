//! Every SIMD kernel this CPU runs against the scalar path and plain `sha3`.

// Test code: a failed expectation is a panic by design.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_possible_truncation
)]

use ixi_kernels::cpu::{CpuFeatures, skip_simd_test};
use ixi_kernels::pow::{NonceLayout, PreparedJob, Target};
use ixi_kernels::simd::SearchKernel;
use proptest::prelude::*;
use rand::{Rng as _, RngCore as _};

use crate::support::search::{check, plain, search_case, target_of};

/// Every kernel variant this machine runs; the missing features are named as skipped (a
/// failure under `REQUIRE_SIMD=1`).
fn kernels() -> Vec<SearchKernel> {
    let f = CpuFeatures::detect();
    if f.avx2().is_none() {
        skip_simd_test("AVX2 search kernels", "AVX2");
    }
    if f.avx512().is_none() {
        skip_simd_test("AVX-512 search kernels", "AVX-512F");
    }
    if f.avx512vl().is_none() {
        skip_simd_test("AVX-512VL search kernel (avx512-ymm)", "AVX-512VL");
    }
    SearchKernel::all(&f)
}

/// Keccak-f\[1600\] of every variant against RustCrypto's `keccak::f1600`, on three vectors
/// worth of random states.
#[test]
fn permutation_matches_the_keccak_crate_on_random_states() {
    let mut rng = rand::rng();
    for kernel in kernels() {
        let mut states: Vec<[u64; 25]> = (0..3 * kernel.lanes())
            .map(|_| std::array::from_fn(|_| rng.next_u64()))
            .collect();
        let mut want = states.clone();
        want.iter_mut().for_each(keccak::f1600);
        kernel.permute(&mut states);
        assert_eq!(states, want, "{}", kernel.name());
    }
}

#[test]
fn every_variant_has_a_distinct_name_and_the_scalar_one_is_always_there() {
    let all = kernels();
    assert_eq!(all[0], SearchKernel::Scalar);
    let mut names: Vec<&str> = all.iter().map(SearchKernel::name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), all.len(), "{names:?}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn search_matches_plain_sha3((prefix, layout, start, count) in search_case(1..300, 1..50)) {
        for kernel in kernels() {
            check(kernel, &prefix, &layout, &target_of(1), start, count);
        }
    }
}

#[test]
fn every_nonce_length_through_every_kernel() {
    let mut rng = rand::rng();
    for kernel in kernels() {
        for nonce_len in 1..=64usize {
            let prefix_len = rng.random_range(1..250);
            let mut prefix = vec![0u8; prefix_len];
            rng.fill_bytes(&mut prefix);
            let mut template = vec![0u8; nonce_len];
            rng.fill_bytes(&mut template);
            let layout = NonceLayout::new(template, nonce_len.min(8)).unwrap();
            let start = rng.next_u64() & layout.max_counter();
            check(kernel, &prefix, &layout, &target_of(1), start, 37);
        }
    }
}

#[test]
fn a_hit_in_every_lane_position() {
    let prefix = vec![0x42u8; 178];
    let layout = NonceLayout::new(vec![0x17; 32], 8).unwrap();
    let job = PreparedJob::new(&prefix, &layout);
    for kernel in kernels() {
        let lanes = kernel.lanes() as u64;
        for lane in 0..lanes {
            // A search from `base` puts counter base + k in lane k. Take the first base whose
            // lane-`lane` hash is non-negative (negative hashes never hit; covered elsewhere).
            let (base, h) = (0..64u64)
                .map(|j| 1_000_000 + 1000 * j)
                .map(|base| (base, plain(&prefix, &layout.nonce_for(base + lane))))
                .find(|(_, h)| h[63] < 0x80)
                .expect("a non-negative hash among 64 tries");
            // A target equal to this lane's hash: it hits, and so does any smaller hash.
            let target = Target::from_bound(&h);
            check(kernel, &prefix, &layout, &target, base, lanes);
            let mut hits = Vec::new();
            let _ = kernel.search(&job, &target, base, lanes, &mut hits);
            assert!(
                hits.iter().any(|x| x.counter == base + lane),
                "{} lane {lane}",
                kernel.name()
            );
        }
    }
}

#[test]
fn counter_carries_and_ragged_batch_ends() {
    let mut rng = rand::rng();
    for kernel in kernels() {
        for counter_len in 1..=8usize {
            for prefix_len in [60usize, 71, 72, 140, 178, 200] {
                let mut prefix = vec![0u8; prefix_len];
                rng.fill_bytes(&mut prefix);
                let layout = NonceLayout::new(vec![0xa5; 20], counter_len).unwrap();
                // Start just below a carry into every higher counter byte, and at the space end.
                let max = layout.max_counter();
                for start in [0xfdu64, 0xfffd, 0xff_fffd, max - 5, max.saturating_sub(2)] {
                    for count in [1u64, 3, 7, 9, 13] {
                        check(kernel, &prefix, &layout, &target_of(1), start & max, count);
                    }
                }
            }
        }
    }
}

#[test]
fn every_hash_of_many_runs_with_the_easiest_target() {
    // The easiest target accepts every non-negative hash: about half of all counters are hits,
    // so a wrong hash in any lane of any vector shows as a missing hit. 3000 counters from a
    // start inside a run cross a dozen runs of 256 (counters equal but for their last byte),
    // each with a vector straddling two runs. The prefix lengths put the counter's last byte
    // in rate lanes 0 to 8 (every column of the state), with 32-byte nonces.
    let mut rng = rand::rng();
    for prefix_len in [20usize, 60, 84, 113, 140, 150, 178, 185, 200] {
        let mut prefix = vec![0u8; prefix_len];
        rng.fill_bytes(&mut prefix);
        for counter_len in [1usize, 2, 8] {
            let layout = NonceLayout::new(vec![0x5a; 32], counter_len).unwrap();
            let start = (rng.next_u64() & layout.max_counter()) | 0x3b;
            for kernel in kernels() {
                check(kernel, &prefix, &layout, &target_of(1), start, 3000);
            }
        }
    }
}

#[test]
fn realistic_difficulty_finds_the_same_hits() {
    // Difficulty 1000: about one hit per thousand attempts; 20,000 attempts per kernel.
    let mut prefix = vec![0u8; 178];
    rand::rng().fill_bytes(&mut prefix);
    let layout = NonceLayout::new(vec![3; 32], 8).unwrap();
    for kernel in kernels() {
        check(
            kernel,
            &prefix,
            &layout,
            &target_of(100_000_000_000),
            77,
            20_000,
        );
    }
}
