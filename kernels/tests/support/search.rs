//! The PoW search's plain path and its comparison with a kernel, shared by the `pow` and `simd`
//! tests: the `sha3` crate's SHA3-512 twice over the whole message, nothing of this crate's.

use std::ops::Range;

use ixi_formats::difficulty::acceptance_bound;
use ixi_formats::number::IxiNumber;
use ixi_kernels::pow::{NonceLayout, PreparedJob, Target};
use ixi_kernels::simd::SearchKernel;
use proptest::prelude::*;
use sha3::{Digest, Sha3_512};

/// `sha3_512(sha3_512(prefix || nonce))` on the plain path.
pub(crate) fn plain(prefix: &[u8], nonce: &[u8]) -> [u8; 64] {
    let inner = Sha3_512::new()
        .chain_update(prefix)
        .chain_update(nonce)
        .finalize();
    Sha3_512::digest(inner).into()
}

/// The target of minimum difficulty `raw`; 1 accepts every non-negative hash.
pub(crate) fn target_of(raw: u64) -> Target {
    Target::from_bound(&acceptance_bound(&IxiNumber::from_raw(raw)).unwrap())
}

/// Runs `kernel` over the range and compares with the plain path, hit for hit, and the
/// attempts it counts with the counters of the range inside the counter space.
pub(crate) fn check(
    kernel: SearchKernel,
    prefix: &[u8],
    layout: &NonceLayout,
    target: &Target,
    start: u64,
    count: u64,
) {
    let job = PreparedJob::new(prefix, layout);
    let mut hits = Vec::new();
    let done = kernel.search(&job, target, start, count, &mut hits);
    let in_space: Vec<u64> = (0..count)
        .map_while(|i| start.checked_add(i))
        .take_while(|&c| c <= layout.max_counter())
        .collect();
    assert_eq!(done, in_space.len() as u64, "{kernel:?}: attempts");
    let want: Vec<(u64, [u8; 64])> = in_space
        .iter()
        .map(|&c| (c, plain(prefix, &layout.nonce_for(c))))
        .filter(|(_, h)| target.accepts(h))
        .collect();
    let got: Vec<(u64, [u8; 64])> = hits.iter().map(|h| (h.counter, h.hash)).collect();
    assert_eq!(
        got,
        want,
        "{kernel:?}: prefix {} nonce {} counter {} start {start} count {count}",
        prefix.len(),
        layout.nonce_len(),
        layout.counter_len()
    );
}

/// A random search range: a prefix of a length in `prefix_lens`, a nonce of 1..=64 bytes with
/// 1..=8 counter bytes (at most the nonce's), a start in the counter space and a count in
/// `counts`.
pub(crate) fn search_case(
    prefix_lens: Range<usize>,
    counts: Range<u64>,
) -> impl Strategy<Value = (Vec<u8>, NonceLayout, u64, u64)> {
    (
        proptest::collection::vec(any::<u8>(), prefix_lens),
        proptest::collection::vec(any::<u8>(), 1..=64),
        1usize..=8,
        any::<u64>(),
        counts,
    )
        .prop_map(|(prefix, template, counter_len, start, count)| {
            let counter_len = counter_len.min(template.len());
            let layout = NonceLayout::new(template, counter_len).unwrap();
            let start = start & layout.max_counter();
            (prefix, layout, start, count)
        })
}
