//! Eight Keccak states per 512-bit vector (AVX-512 Foundation): ternary logic for theta's
//! parities and chi, native 64-bit rotates.
//!
//! Two schedules of the same instructions, each a search variant:
//!
//! - `avx512` ([`ternary_theta`]): theta's `D[x] = C[x-1] ^ rotl(C[x+1], 1)` folded into each
//!   lane's three-input XOR, 90 operations a round; the ten values `C` and `rotl(C, 1)` stay live
//!   through the round, so it spills about five registers a round. One round per loop iteration.
//!   Fastest on Intel (Emerald Rapids), where the two 512-bit ports bound the round.
//! - `avx512-d` ([`explicit_d`]): `D` computed once per column and XORed in, 95 operations a round
//!   but five fewer live values (about two spills a round) and fewer register moves, two rounds per
//!   loop iteration: the shape of XKCP's `KeccakP-1600-times8`. About 4% slower on Intel; kept for
//!   CPUs where spills and moves cost more than operations (a candidate for AMD Zen 4).

use core::arch::x86_64::{
    __m512i, _mm512_add_epi64, _mm512_cmple_epu64_mask, _mm512_loadu_si512, _mm512_rol_epi64,
    _mm512_set1_epi64, _mm512_storeu_si512, _mm512_ternarylogic_epi64, _mm512_xor_si512,
};

use crate::keccak::Lane;
use crate::pow::SearchLane;

/// One lane of eight states; `EXPLICIT_D` selects the schedule (see the module notes). Values
/// exist only inside functions compiled with `avx512f` and reached through an
/// [`Avx512Token`](crate::cpu::Avx512Token).
#[derive(Clone, Copy)]
#[repr(transparent)]
struct Avx512Lane<const EXPLICIT_D: bool>(__m512i);

// SAFETY (for every `unsafe` block in these impls): `Avx512Lane` is private to this module and
// only used by `search_impl` and `permute_impl`, which carry `#[target_feature(enable =
// "avx512f")]` and are called only with an `Avx512Token`, which exists only when runtime
// detection found AVX-512F. The intrinsics below need nothing beyond AVX-512F.
impl<const EXPLICIT_D: bool> Lane for Avx512Lane<EXPLICIT_D> {
    const LANES: usize = 8;
    const TWO_ROUNDS_PER_ITERATION: bool = EXPLICIT_D;

    super::ternary_logic_ops!(
        set1: _mm512_set1_epi64,
        xor: _mm512_xor_si512,
        rol: _mm512_rol_epi64,
        ternary: _mm512_ternarylogic_epi64
    );

    #[inline(always)]
    fn theta(a: Self, c_left: Self, r_right: Self, d: Self) -> Self {
        if EXPLICIT_D {
            a.xor(d)
        } else {
            // 0x96 is the truth table of a ^ b ^ c.
            // SAFETY: see the impl comment.
            Self(unsafe { _mm512_ternarylogic_epi64::<0x96>(a.0, c_left.0, r_right.0) })
        }
    }
}

impl<const EXPLICIT_D: bool> SearchLane for Avx512Lane<EXPLICIT_D> {
    super::vector_io!(
        load: _mm512_loadu_si512,
        store: _mm512_storeu_si512,
        add: _mm512_add_epi64,
        cmple: _mm512_cmple_epu64_mask
    );
}

super::token_entry_points!(
    ternary_theta,
    Avx512Lane<false>,
    crate::cpu::Avx512Token,
    "avx512f"
);
super::token_entry_points!(
    explicit_d,
    Avx512Lane<true>,
    crate::cpu::Avx512Token,
    "avx512f"
);
