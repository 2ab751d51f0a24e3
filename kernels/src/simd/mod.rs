//! The search kernel per lane width, selected once by a CPU token.
//!
//! [`SearchKernel`] is the single place that maps a token to a lane type; every variant runs the
//! same generic [`search`] loop. The lane types are private to this module
//! and usable only through the token-gated entry points below.

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
#[cfg(target_arch = "x86_64")]
mod avx512_ymm;

use crate::cpu::{Avx2Token, Avx512Token, Avx512VlToken, CpuFeatures};
use crate::keccak::f1600;
use crate::pow::{Hit, PreparedJob, SearchLane, Target, search};

/// The token-gated entry points of one lane type, in a module `$module` of their own: `search`
/// and `permute`, each calling a private `#[target_feature]` function that runs the generic code
/// with that lane type.
macro_rules! token_entry_points {
    ($module:ident, $lane:ty, $token:ty, $feature:literal) => {
        pub(super) mod $module {
            #[allow(clippy::wildcard_imports, reason = "the parent's private lane type")]
            use super::*;

            crate::simd::token_entry_points!(
                @gated $token, $feature, crate::pow::search::<$lane>,
                /// The search with this lane type; see [`crate::pow::search`].
                search(
                    job: &crate::pow::PreparedJob,
                    target: &crate::pow::Target,
                    start: u64,
                    count: u64,
                    hits: &mut Vec<crate::pow::Hit>,
                ) -> u64
            );

            crate::simd::token_entry_points!(
                @gated $token, $feature, crate::simd::permute_with::<$lane>,
                /// Keccak-f\[1600\] on groups of states with this lane type.
                permute(states: &mut [[u64; 25]],) -> ()
            );
        }
    };
    // `$name`, taking the token, runs `$generic` compiled with `$feature`.
    (
        @gated $token:ty, $feature:literal, $generic:path,
        #[doc = $doc:literal]
        $name:ident($($arg:ident: $ty:ty,)+) -> $ret:ty
    ) => {
        #[doc = $doc]
        pub(in crate::simd) fn $name(_token: $token, $($arg: $ty),+) -> $ret {
            #[target_feature(enable = $feature)]
            fn gated($($arg: $ty),+) -> $ret {
                $generic($($arg),+)
            }
            // SAFETY: the token exists only when runtime detection found the feature.
            unsafe { gated($($arg),+) }
        }
    };
}
use token_entry_points;

/// The [`SearchLane`] loads, stores and additions of a vector lane type from its intrinsics:
/// `$load`/`$store` unaligned, `$add` on 64-bit elements; with `$cmple` (AVX-512's unsigned
/// compare into a mask) also `le_mask`. Expands inside the lane type's `impl SearchLane`, whose
/// SAFETY comment covers these blocks: the lane type only exists inside functions compiled with
/// the features its intrinsics need.
macro_rules! vector_io {
    (load: $load:ident, store: $store:ident, add: $add:ident $(, cmple: $cmple:ident)?) => {
        #[inline(always)]
        fn from_lanes(values: &[u64]) -> Self {
            assert!(values.len() >= <Self as crate::keccak::Lane>::LANES);
            // SAFETY: see the impl comment; the assert keeps the unaligned load in bounds.
            Self(unsafe { $load(values.as_ptr().cast()) })
        }

        #[inline(always)]
        fn store(self, out: &mut [u64]) {
            assert!(out.len() >= <Self as crate::keccak::Lane>::LANES);
            // SAFETY: see the impl comment; the assert keeps the unaligned store in bounds.
            unsafe { $store(out.as_mut_ptr().cast(), self.0) }
        }

        #[inline(always)]
        fn add(self, other: Self) -> Self {
            // SAFETY: see the impl comment.
            Self(unsafe { $add(self.0, other.0) })
        }

        $(
            #[inline(always)]
            fn le_mask(self, bound: u64) -> u64 {
                let bound = <Self as crate::keccak::Lane>::splat(bound);
                // SAFETY: see the impl comment.
                u64::from(unsafe { $cmple(self.0, bound.0) })
            }
        )?
    };
}
use vector_io;

/// The [`Lane`](crate::keccak::Lane) operations that AVX-512 (on 512- or 256-bit registers)
/// spells alike, from its intrinsics: `$set1` broadcast, `$xor`, `$rol` rotate, `$ternary`
/// three-input logic for chi and the column parities. Expands inside the lane type's
/// `impl Lane`, whose SAFETY comment covers these blocks.
macro_rules! ternary_logic_ops {
    (set1: $set1:ident, xor: $xor:ident, rol: $rol:ident, ternary: $ternary:ident) => {
        #[inline(always)]
        fn splat(value: u64) -> Self {
            // Bit-for-bit reinterpretation of the lane value.
            #[expect(clippy::cast_possible_wrap, reason = "bit pattern, not a number")]
            let v = value as i64;
            // SAFETY: see the impl comment.
            Self(unsafe { $set1(v) })
        }

        #[inline(always)]
        fn xor(self, other: Self) -> Self {
            // SAFETY: see the impl comment.
            Self(unsafe { $xor(self.0, other.0) })
        }

        #[inline(always)]
        fn rotl<const N: i32>(self) -> Self {
            // SAFETY: see the impl comment.
            Self(unsafe { $rol::<N>(self.0) })
        }

        #[inline(always)]
        fn chi(a: Self, b: Self, c: Self) -> Self {
            // 0xD2 is the truth table of a ^ (!b & c).
            // SAFETY: see the impl comment.
            Self(unsafe { $ternary::<0xD2>(a.0, b.0, c.0) })
        }

        #[inline(always)]
        fn xor5(a: Self, b: Self, c: Self, d: Self, e: Self) -> Self {
            // 0x96 is the truth table of a ^ b ^ c.
            // SAFETY: see the impl comment.
            unsafe {
                let abc = $ternary::<0x96>(a.0, b.0, c.0);
                Self($ternary::<0x96>(abc, d.0, e.0))
            }
        }
    };
}
use ternary_logic_ops;

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

/// A kernel variant (lane type) and the proof that this CPU runs it.
///
/// Every variant computes the same hashes; they differ only in speed, and which is fastest
/// differs between microarchitectures (512-bit vectors on Intel; 256-bit AVX-512 may do as well
/// or better on AMD Zen 4, which splits 512-bit operations into two halves), so a caller may
/// measure the variants of [`SearchKernel::all`] and keep the fastest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchKernel {
    /// One state per `u64` lane; every CPU.
    Scalar,
    /// Four states per 256-bit vector (AVX2).
    Avx2(Avx2Token),
    /// Eight states per 512-bit vector (AVX-512F), theta's `D` folded into three-input XORs.
    Avx512(Avx512Token),
    /// Eight states per 512-bit vector (AVX-512F), theta's `D` computed per column: more
    /// operations, fewer spills and register moves.
    Avx512ExplicitD(Avx512Token),
    /// Four states per 256-bit vector with AVX-512's ternary logic and rotates (AVX-512VL).
    Avx512Ymm(Avx512VlToken),
}

/// `$body` with `$m` naming the module of `$kernel`'s lane type and `$token` bound to its token;
/// `$scalar` for [`SearchKernel::Scalar`].
macro_rules! dispatch {
    ($kernel:expr, |$m:ident, $token:ident| $body:expr, scalar => $scalar:expr) => {
        dispatch!(@arms $kernel, $m, $token, $body, $scalar,
            Avx2 => avx2::entry,
            Avx512 => avx512::ternary_theta,
            Avx512ExplicitD => avx512::explicit_d,
            Avx512Ymm => avx512_ymm::entry)
    };
    (@arms $kernel:expr, $m:ident, $token:ident, $body:expr, $scalar:expr,
        $($variant:ident => $module:ident::$entry:ident),+) => {
        match $kernel {
            SearchKernel::Scalar => $scalar,
            $(
                #[cfg(target_arch = "x86_64")]
                SearchKernel::$variant($token) => {
                    use $module::$entry as $m;
                    $body
                }
            )+
            // Tokens only exist where detection found the feature, i.e. on x86-64.
            #[cfg(not(target_arch = "x86_64"))]
            _ => $scalar,
        }
    };
}

impl SearchKernel {
    /// Every variant this CPU runs: the scalar one first, then the rest in the order `auto`
    /// would try them without measuring (fastest first on the machines measured so far).
    #[must_use]
    pub fn all(features: &CpuFeatures) -> Vec<SearchKernel> {
        let mut out = vec![SearchKernel::Scalar];
        if let Some(t) = features.avx512() {
            out.extend([SearchKernel::Avx512(t), SearchKernel::Avx512ExplicitD(t)]);
        }
        out.extend(features.avx512vl().map(SearchKernel::Avx512Ymm));
        out.extend(features.avx2().map(SearchKernel::Avx2));
        out
    }

    /// The variant's stable name: `scalar`, `avx2`, `avx512`, `avx512-d` or `avx512-ymm`.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            SearchKernel::Scalar => "scalar",
            SearchKernel::Avx2(_) => "avx2",
            SearchKernel::Avx512(_) => "avx512",
            SearchKernel::Avx512ExplicitD(_) => "avx512-d",
            SearchKernel::Avx512Ymm(_) => "avx512-ymm",
        }
    }

    /// States searched side by side.
    #[must_use]
    pub fn lanes(&self) -> usize {
        match self {
            SearchKernel::Scalar => 1,
            SearchKernel::Avx2(_) | SearchKernel::Avx512Ymm(_) => 4,
            SearchKernel::Avx512(_) | SearchKernel::Avx512ExplicitD(_) => 8,
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
        dispatch!(*self, |m, token| m::search(token, job, target, start, count, hits),
            scalar => search::<u64>(job, target, start, count, hits))
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
        dispatch!(*self, |m, token| m::permute(token, states),
            scalar => states.iter_mut().for_each(f1600::<u64>))
    }
}
