//! Four Keccak states per 256-bit vector with the AVX-512 instructions on 256-bit registers
//! (AVX-512 VL): the same ternary logic and native rotates as [`super::avx512`], in half-width
//! registers.
//!
//! On Intel this loses to 512-bit vectors: there 512-bit operations issue to two ports and
//! 256-bit ones to three (rotates to two), so a round of eight states costs about 60 cycles in
//! 256-bit vectors against 45 in 512-bit ones; it measures 0.75x `avx512`. It is here for AMD
//! Zen 4, which executes each 512-bit operation as two 256-bit halves on the same four 256-bit
//! pipes: there both forms have the same port bound per state, and the 256-bit one trades twice
//! the instructions for operations that finish in one pass. Which schedules better there is for
//! a measurement on that machine to say.

use core::arch::x86_64::{
    __m256i, _mm256_add_epi64, _mm256_cmple_epu64_mask, _mm256_loadu_si256, _mm256_rol_epi64,
    _mm256_set1_epi64x, _mm256_storeu_si256, _mm256_ternarylogic_epi64, _mm256_xor_si256,
};

use crate::keccak::Lane;
use crate::pow::SearchLane;

/// One lane of four states. Values exist only inside functions compiled with `avx512f` and
/// `avx512vl` and reached through an [`Avx512VlToken`](crate::cpu::Avx512VlToken).
#[derive(Clone, Copy)]
#[repr(transparent)]
struct YmmLane(__m256i);

// SAFETY (for every `unsafe` block in these impls): `YmmLane` is private to this module and
// only used by the `search_impl` and `permute_impl` functions below, which carry
// `#[target_feature(enable = "avx512f,avx512vl")]` and are called only with an
// `Avx512VlToken`, which exists only when runtime detection found AVX-512F and AVX-512VL. The
// intrinsics below need nothing beyond those two (and the AVX2 they imply).
impl Lane for YmmLane {
    const LANES: usize = 4;

    super::ternary_logic_ops!(
        set1: _mm256_set1_epi64x,
        xor: _mm256_xor_si256,
        rol: _mm256_rol_epi64,
        ternary: _mm256_ternarylogic_epi64
    );

    #[inline(always)]
    fn theta(a: Self, c_left: Self, r_right: Self, _d: Self) -> Self {
        // 0x96 is the truth table of a ^ b ^ c.
        // SAFETY: see the impl comment.
        Self(unsafe { _mm256_ternarylogic_epi64::<0x96>(a.0, c_left.0, r_right.0) })
    }
}

impl SearchLane for YmmLane {
    super::vector_io!(
        load: _mm256_loadu_si256,
        store: _mm256_storeu_si256,
        add: _mm256_add_epi64,
        cmple: _mm256_cmple_epu64_mask
    );
}

super::token_entry_points!(
    entry,
    YmmLane,
    crate::cpu::Avx512VlToken,
    "avx512f,avx512vl"
);
