//! The midstate search against the plain `sha3` crate on random inputs.

// Test code: a failed expectation is a panic by design.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::expect_fun_call,
    clippy::cast_possible_truncation
)]

use ixi_formats::difficulty::acceptance_bound;
use ixi_formats::number::IxiNumber;
use ixi_kernels::pow::{NonceLayout, PreparedJob, Target, search};
use ixi_kernels::simd::SearchKernel;
use ixi_kernels::sponge;
use proptest::prelude::*;
use sha3::{Digest, Sha3_512};

use crate::support::search::{check, search_case, target_of};

/// The scalar kernel, i.e. [`search::<u64>`](ixi_kernels::pow::search), over the range
/// against the plain path with the easiest target.
fn check_range(prefix: &[u8], layout: &NonceLayout, start: u64, count: u64) {
    check(
        SearchKernel::Scalar,
        prefix,
        layout,
        &target_of(1),
        start,
        count,
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn sponge_matches_sha3(data in proptest::collection::vec(any::<u8>(), 0..400)) {
        let want: [u8; 64] = Sha3_512::digest(&data).into();
        prop_assert_eq!(sponge::sha3_512(&data), want);
    }

    #[test]
    fn search_matches_plain_sha3((prefix, layout, start, count) in search_case(0..300, 1..40)) {
        check_range(&prefix, &layout, start, count);
    }
}

/// Every nonce length 1..=64 against every placement of the last block boundary that matters.
#[test]
fn every_nonce_length_and_block_position() {
    for nonce_len in 1..=64usize {
        for prefix_len in [0usize, 1, 63, 71, 72, 100, 143, 178, 190, 215] {
            let prefix: Vec<u8> = (0..prefix_len).map(|i| (i * 31 + 7) as u8).collect();
            let template: Vec<u8> = (0..nonce_len).map(|i| (i * 13 + 5) as u8).collect();
            let layout = NonceLayout::new(template, nonce_len.min(8)).unwrap();
            // Cross a carry into a byte before the last block where there is one.
            check_range(&prefix, &layout, 250.min(layout.max_counter()), 12);
        }
    }
}

#[test]
fn counter_space_end_is_respected() {
    let layout = NonceLayout::new(vec![9; 4], 1).unwrap();
    check_range(&[1, 2, 3], &layout, 250, 100);
    let job = PreparedJob::new(&[1, 2, 3], &layout);
    let mut hits = Vec::new();
    assert_eq!(search::<u64>(&job, &target_of(1), 300, 5, &mut hits), 0);
    assert!(hits.is_empty());
}

#[test]
fn midstate_costs_two_permutations_when_the_counter_fits_the_last_block() {
    // 178-byte prefix (v1 address, hashed key, 5-byte block number) + 32-byte nonce.
    let layout = NonceLayout::new(vec![0; 32], 8).unwrap();
    let job = PreparedJob::new(&[0u8; 178], &layout);
    assert_eq!(job.permutations_per_attempt(), 2);
    assert_eq!(job.segment_len(), u64::MAX);
    // A message that fills whole blocks leaves no counter byte in the last block.
    let job = PreparedJob::new(&[0u8; 112], &layout);
    assert_eq!(job.permutations_per_attempt(), 3);
}

#[test]
fn target_accepts_exactly_one_to_t() {
    let bound = acceptance_bound(&IxiNumber::from_whole(10_000_000)).unwrap();
    let t = Target::from_bound(&bound);
    assert!(t.accepts(&bound));
    let mut above = bound;
    // bound + 1 (little-endian increment with carry)
    for b in above.iter_mut() {
        let (v, carry) = b.overflowing_add(1);
        *b = v;
        if !carry {
            break;
        }
    }
    assert!(!t.accepts(&above));
    assert!(!t.accepts(&[0u8; 64]));
    let mut one = [0u8; 64];
    one[0] = 1;
    assert!(t.accepts(&one));
}
