//! The search kernel per lane width, selected once by a CPU token.
//!
//! [`SearchKernel`] is the single place that maps a token to a lane type; every variant runs the
//! same generic [`search`] loop. The lane types are private to this module
//! and usable only through the token-gated entry points below.

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;

use crate::cpu::{Avx2Token, Avx512Token};
use crate::keccak::f1600;
use crate::pow::{Hit, PreparedJob, SearchLane, Target, search};

/// The token-gated entry points of a SIMD lane type: `search` and `permute`, each calling a
/// private `#[target_feature]` function that runs the generic code with that lane type.
macro_rules! token_entry_points {
    ($lane:ty, $token:ty, $feature:literal) => {
        #[target_feature(enable = $feature)]
        fn search_impl(
            job: &crate::pow::PreparedJob,
            target: &crate::pow::Target,
            start: u64,
            count: u64,
            hits: &mut Vec<crate::pow::Hit>,
        ) -> u64 {
            crate::pow::search::<$lane>(job, target, start, count, hits)
        }

        #[target_feature(enable = $feature)]
        fn permute_impl(states: &mut [[u64; 25]]) {
            super::permute_with::<$lane>(states);
        }

        /// The search with this lane type; see [`crate::pow::search`].
        pub(super) fn search(
            _token: $token,
            job: &crate::pow::PreparedJob,
            target: &crate::pow::Target,
            start: u64,
            count: u64,
            hits: &mut Vec<crate::pow::Hit>,
        ) -> u64 {
            // SAFETY: the token exists only when runtime detection found the feature.
            unsafe { search_impl(job, target, start, count, hits) }
        }

        /// Keccak-f\[1600\] on groups of states with this lane type.
        pub(super) fn permute(_token: $token, states: &mut [[u64; 25]]) {
            // SAFETY: the token exists only when runtime detection found the feature.
            unsafe { permute_impl(states) }
        }
    };
}
use token_entry_points;

/// Permutes `states` `L::LANES` at a time, transposing them into lanes and back.
#[inline(always)]
fn permute_with<L: SearchLane>(states: &mut [[u64; 25]]) {
    for group in states.chunks_exact_mut(L::LANES) {
        let mut column = [0u64; crate::pow::MAX_LANES];
        let mut lanes = [L::splat(0); 25];
        for (k, lane) in lanes.iter_mut().enumerate() {
            for (j, state) in group.iter().enumerate() {
                column[j] = state[k];
            }
            *lane = L::from_lanes(&column[..L::LANES]);
        }
        f1600(&mut lanes);
        for (k, lane) in lanes.into_iter().enumerate() {
            lane.store(&mut column[..L::LANES]);
            for (j, state) in group.iter_mut().enumerate() {
                state[k] = column[j];
            }
        }
    }
}

/// A lane width and the proof that this CPU runs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchKernel {
    /// One state per `u64` lane; every CPU.
    Scalar,
    /// Four states per 256-bit vector.
    Avx2(Avx2Token),
    /// Eight states per 512-bit vector.
    Avx512(Avx512Token),
}

impl SearchKernel {
    /// States searched side by side.
    #[must_use]
    pub fn lanes(&self) -> usize {
        match self {
            SearchKernel::Scalar => 1,
            SearchKernel::Avx2(_) => 4,
            SearchKernel::Avx512(_) => 8,
        }
    }

    /// Searches counters `start .. start + count` of `job`; see [`search`].
    #[must_use]
    pub fn search(
        &self,
        job: &PreparedJob,
        target: &Target,
        start: u64,
        count: u64,
        hits: &mut Vec<Hit>,
    ) -> u64 {
        match *self {
            SearchKernel::Scalar => search::<u64>(job, target, start, count, hits),
            #[cfg(target_arch = "x86_64")]
            SearchKernel::Avx2(token) => avx2::search(token, job, target, start, count, hits),
            #[cfg(target_arch = "x86_64")]
            SearchKernel::Avx512(token) => avx512::search(token, job, target, start, count, hits),
            // Tokens only exist where detection found the feature, i.e. on x86-64.
            #[cfg(not(target_arch = "x86_64"))]
            SearchKernel::Avx2(_) | SearchKernel::Avx512(_) => {
                search::<u64>(job, target, start, count, hits)
            }
        }
    }

    /// Runs Keccak-f\[1600\] on `states` (a multiple of [`SearchKernel::lanes`] of them) with
    /// this kernel's lane type: for tests and benchmarks of the permutation alone.
    ///
    /// # Panics
    /// If `states.len()` is not a multiple of the lane count.
    pub fn permute(&self, states: &mut [[u64; 25]]) {
        assert!(
            states.len().is_multiple_of(self.lanes()),
            "permute needs whole vectors of states"
        );
        match *self {
            SearchKernel::Scalar => states.iter_mut().for_each(crate::keccak::f1600::<u64>),
            #[cfg(target_arch = "x86_64")]
            SearchKernel::Avx2(token) => avx2::permute(token, states),
            #[cfg(target_arch = "x86_64")]
            SearchKernel::Avx512(token) => avx512::permute(token, states),
            #[cfg(not(target_arch = "x86_64"))]
            SearchKernel::Avx2(_) | SearchKernel::Avx512(_) => {
                states.iter_mut().for_each(crate::keccak::f1600::<u64>)
            }
        }
    }
}
