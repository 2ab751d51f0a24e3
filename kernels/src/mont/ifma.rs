//! Eight almost-Montgomery exponentiations at once with AVX-512 IFMA: lane `k` of every vector
//! belongs to number `k`, with its own modulus. `vpmadd52luq`/`vpmadd52huq` add the low/high
//! 52 bits of a 52×52-bit product to a 64-bit accumulator, exactly `mul52` in [`super::scalar`].
//!
//! # Why product scanning in registers
//!
//! The scalar code scans operands: row `i` adds `a_i·b + q_i·n` to an accumulator array. In
//! vectors that array lives in memory, every product is a load, a multiply-add and a store on
//! one long dependency chain, and the core runs at about half its multiply-add rate.
//!
//! Here the product is built column by column instead, [`BLOCK`] columns at a time, with the
//! block's sums in registers: separate low-half and high-half accumulators, so every *step*
//! (one row `i` against a window of `BLOCK + 1` limbs of the other operand) adds one product to
//! each of sixteen independent chains, and nothing is stored until the block is done. The
//! Montgomery reduction is interleaved (Koç's product-scanning form): once a block of the low
//! half has all its products, its reduction factors `q` are computed one column after another
//! (the *triangle*), and later blocks add `q_i·n` like any other row. The factors are the
//! unique ones the row-wise algorithm finds too, so the result is the same number.
//!
//! The limb count is a multiple of [`BLOCK`] (see [`super::limbs_for_bits`]), so blocks never
//! straddle the middle of the product. Rows that only partly reach a block (near the diagonal,
//! near the top limb) are *edge steps* whose valid columns are const generics, so every edge
//! instance compiles to exactly its products.

use core::arch::x86_64::{
    __m512i, _mm512_add_epi64, _mm512_and_si512, _mm512_loadu_si512, _mm512_madd52hi_epu64,
    _mm512_madd52lo_epu64, _mm512_set1_epi64, _mm512_setzero_si512, _mm512_srli_epi64,
    _mm512_storeu_si512,
};

use super::{BLOCK, LIMB_MASK, PowBatch, reduce_once};
use crate::cpu::IfmaToken;

type V = __m512i;

/// Columns per block; also the zero padding on each side of a stored number.
const W: usize = BLOCK;

/// The sums of one block of `W` columns: low halves and high halves apart.
struct Columns {
    lo: [V; W],
    hi: [V; W],
}

impl Columns {
    #[target_feature(enable = "avx512f")]
    fn zero() -> Self {
        let z = _mm512_setzero_si512();
        Self {
            lo: [z; W],
            hi: [z; W],
        }
    }

    /// Column `c`'s sum.
    #[target_feature(enable = "avx512f")]
    #[inline]
    fn sum(&self, c: usize) -> V {
        _mm512_add_epi64(self.lo[c], self.hi[c])
    }
}

/// The `W + 1` limbs of a padded number starting at `start`: the window one step reads.
#[inline]
fn window(padded: &[V], start: usize) -> &[V; W + 1] {
    match padded[start..].first_chunk() {
        Some(w) => w,
        None => panic!("window past the padded number"),
    }
}

/// One step: row value `x` against `w`, where `w[m]` is limb `k0 - 1 - i + m` of the other
/// operand. Column `c` takes `lo(x·w[c+1])` for `LO_FROM <= c < LO_TO` and `hi(x·w[c])` for
/// `HI_FROM <= c < HI_TO`; the bounds are constants, so only those products are emitted.
#[target_feature(enable = "avx512f,avx512ifma")]
#[inline]
fn step<const LO_FROM: usize, const LO_TO: usize, const HI_FROM: usize, const HI_TO: usize>(
    acc: &mut Columns,
    x: V,
    w: &[V; W + 1],
) {
    for c in 0..W {
        if LO_FROM <= c && c < LO_TO {
            acc.lo[c] = _mm512_madd52lo_epu64(acc.lo[c], x, w[c + 1]);
        }
        if HI_FROM <= c && c < HI_TO {
            acc.hi[c] = _mm512_madd52hi_epu64(acc.hi[c], x, w[c]);
        }
    }
}

/// Rows `rows` of `xs` (limbs, unpadded), each against `y` (padded) in full, for the block at
/// column `k0`.
#[target_feature(enable = "avx512f,avx512ifma")]
#[inline]
fn full_rows(acc: &mut Columns, xs: &[V], y: &[V], k0: usize, rows: core::ops::Range<usize>) {
    for i in rows {
        step::<0, W, 0, W>(acc, xs[i], window(y, W + k0 - 1 - i));
    }
}

/// Expands `$body` once per listed constant, bound to `$s`.
macro_rules! unrolled {
    ($s:ident in [$($v:literal)*] $body:block) => {
        $( { const $s: usize = $v; $body } )*
    };
}

// The edge steps are macros, not functions: the column sums must stay in registers, and
// `#[inline(always)]` is not allowed on `#[target_feature]` functions.

/// Rows `k0 .. k0 + W` of a general product in a low block: row `k0 + t` reaches columns
/// `c >= t` (low halves) and `c >= t + 1` (high halves).
macro_rules! lower_edge {
    ($acc:expr, $xs:expr, $y:expr, $k0:expr) => {
        unrolled!(T in [0 1 2 3 4 5 6 7] {
            step::<T, W, { T + 1 }, W>($acc, $xs[$k0 + T], window($y, W - 1 - T));
        })
    };
}

/// Rows `u .. u + W` (`u = k0 - L`) in a high block: row `u + s` reaches columns `c < s` (low
/// halves) and `c <= s` (high halves), since the other operand ends at limb `L - 1`.
macro_rules! upper_edge {
    ($acc:expr, $xs:expr, $y:expr, $l:expr, $u:expr) => {
        unrolled!(S in [0 1 2 3 4 5 6 7] {
            step::<0, S, 0, { S + 1 }>($acc, $xs[$u + S], window($y, W + $l - 1 - S));
        })
    };
}

/// Rows `h .. h + W/2` (`h = k0/2`) of a square's cross products (pairs `i < j` only): row
/// `h + t` reaches columns `c >= 2t + 1` (low) and `c >= 2t + 2` (high).
macro_rules! diagonal_edge {
    ($acc:expr, $a:expr, $ap:expr, $h:expr) => {
        unrolled!(T in [0 1 2 3] {
            step::<{ 2 * T + 1 }, W, { 2 * T + 2 }, W>(
                $acc, $a[$h + T], window($ap, W + $h - 1 - T),
            );
        })
    };
}

/// The cross products of a square's last block (`k0 = 2L - W`), where the diagonal and the top
/// limb both cut every row `L - W + s`.
macro_rules! last_square_block {
    ($acc:expr, $a:expr, $ap:expr, $l:expr) => {
        unrolled!(S in [0 1 2 3 4 5 6 7] {
            step::<
                { (2 * S + 1).saturating_sub(W) },
                S,
                { (2 * S + 2).saturating_sub(W) },
                { S + 1 },
            >($acc, $a[$l - W + S], window($ap, W + $l - 1 - S));
        })
    };
}

/// Doubles a square block's cross products and adds the squares `a_m²` that land in it.
#[target_feature(enable = "avx512f,avx512ifma")]
#[inline]
fn double_and_add_squares(acc: &mut Columns, a: &[V], k0: usize) {
    let zero = _mm512_setzero_si512();
    for c in 0..W {
        let s = acc.sum(c);
        acc.lo[c] = _mm512_add_epi64(s, s);
        acc.hi[c] = zero;
    }
    for m in 0..W / 2 {
        let x = a[k0 / 2 + m];
        acc.lo[2 * m] = _mm512_madd52lo_epu64(acc.lo[2 * m], x, x);
        acc.hi[2 * m + 1] = _mm512_madd52hi_epu64(acc.hi[2 * m + 1], x, x);
    }
}

/// Completes a low block: column by column, the reduction factor `q` that clears it, its
/// products with `n` added to the block's later columns, the carry passed on. Returns the carry
/// into the next block.
#[target_feature(enable = "avx512f,avx512ifma")]
#[inline]
fn triangle(acc: &mut Columns, mut carry: V, n: &[V; W], n0inv: V, q: &mut [V]) -> V {
    let zero = _mm512_setzero_si512();
    for c in 0..W {
        let t = _mm512_add_epi64(acc.sum(c), carry);
        let qc = _mm512_madd52lo_epu64(zero, t, n0inv);
        // The low 52 bits of t + lo(q·n0) are zero by the choice of q: carry the rest.
        carry = _mm512_srli_epi64::<52>(_mm512_madd52lo_epu64(t, qc, n[0]));
        q[c] = qc;
        for d in c + 1..W {
            acc.lo[d] = _mm512_madd52lo_epu64(acc.lo[d], qc, n[d - c]);
            acc.hi[d] = _mm512_madd52hi_epu64(acc.hi[d], qc, n[d - c - 1]);
        }
    }
    carry
}

/// `a·b·R⁻¹ mod n` (up to one extra `n`) for eight lanes, or `a²·R⁻¹` when `SQUARE` (then `b`
/// is ignored). `a`, `b`, `n` and `out` are padded numbers (`W` zero vectors, `L` limbs, `W`
/// zero vectors) with normalized limbs; `q` is scratch of `L` vectors. Only `out`'s limbs are
/// written.
#[target_feature(enable = "avx512f,avx512ifma")]
fn mont_mul<const SQUARE: bool>(a: &[V], b: &[V], n: &[V], n0inv: V, q: &mut [V], out: &mut [V]) {
    let l = n.len() - 2 * W;
    let limbs = &a[W..W + l];
    let y = if SQUARE { a } else { b };
    let n_low: &[V; W] = match n[W..].first_chunk() {
        Some(low) => low,
        None => panic!("modulus shorter than one block"),
    };
    let mut carry = _mm512_setzero_si512();
    // The low half: every column is cleared by its reduction factor.
    for k0 in (0..l).step_by(W) {
        let mut acc = Columns::zero();
        if SQUARE {
            full_rows(&mut acc, limbs, y, k0, 0..k0 / 2);
            diagonal_edge!(&mut acc, limbs, y, k0 / 2);
            double_and_add_squares(&mut acc, limbs, k0);
        } else {
            full_rows(&mut acc, limbs, y, k0, 0..k0);
            lower_edge!(&mut acc, limbs, y, k0);
        }
        // Oldest factors first: only the last rows wait for the previous triangle.
        full_rows(&mut acc, q, n, k0, 0..k0);
        carry = triangle(&mut acc, carry, n_low, n0inv, &mut q[k0..k0 + W]);
    }
    // The high half is the result (below 2n < R), stored unnormalized, then carried once.
    for k0 in (l..2 * l).step_by(W) {
        let u = k0 - l;
        let mut acc = Columns::zero();
        if SQUARE {
            if k0 + W == 2 * l {
                last_square_block!(&mut acc, limbs, y, l);
            } else {
                upper_edge!(&mut acc, limbs, y, l, u);
                full_rows(&mut acc, limbs, y, k0, u + W..k0 / 2);
                diagonal_edge!(&mut acc, limbs, y, k0 / 2);
            }
            double_and_add_squares(&mut acc, limbs, k0);
        } else {
            upper_edge!(&mut acc, limbs, y, l, u);
            full_rows(&mut acc, limbs, y, k0, u + W..l);
        }
        upper_edge!(&mut acc, q, n, l, u);
        full_rows(&mut acc, q, n, k0, u + W..l);
        for c in 0..W {
            out[W + u + c] = acc.sum(c);
        }
        out[W + u] = _mm512_add_epi64(out[W + u], carry);
        carry = _mm512_setzero_si512();
    }
    normalize8(&mut out[W..W + l]);
}

/// Carries every limb above 52 bits into the next one, in every lane.
#[target_feature(enable = "avx512f")]
fn normalize8(x: &mut [V]) {
    // LIMB_MASK < 2^63: the cast keeps the bit pattern.
    #[expect(clippy::cast_possible_wrap, reason = "bit pattern below 2^63")]
    let mask = _mm512_set1_epi64(LIMB_MASK as i64);
    let mut carry = _mm512_setzero_si512();
    for limb in x.iter_mut() {
        let v = _mm512_add_epi64(*limb, carry);
        *limb = _mm512_and_si512(v, mask);
        carry = _mm512_srli_epi64::<52>(v);
    }
}

/// Lane-interleaves up to eight `limbs`-long numbers into `out` (a padded number); missing
/// lanes repeat lane 0.
#[target_feature(enable = "avx512f")]
fn interleave<'a>(numbers: impl Fn(usize) -> &'a [u64], count: usize, out: &mut [V]) {
    let limbs = out.len() - 2 * W;
    let rows: [&[u64]; 8] =
        std::array::from_fn(|k| &numbers(if k < count { k } else { 0 })[..limbs]);
    for (j, v) in out[W..W + limbs].iter_mut().enumerate() {
        let column: [u64; 8] = std::array::from_fn(|k| rows[k][j]);
        // SAFETY: `column` is 8 u64 = 64 bytes, the size of the unaligned load.
        *v = unsafe { _mm512_loadu_si512(column.as_ptr().cast()) };
    }
}

#[target_feature(enable = "avx512f,avx512ifma")]
fn pow8_impl(batch: &PowBatch<'_>, out: &mut [u64]) {
    let count = batch.moduli.len();
    let l = batch.moduli[0].limbs();
    let p = l + 2 * W;
    let zero = _mm512_setzero_si512();
    // One allocation: seven padded numbers and the factors.
    let mut scratch = vec![zero; 7 * p + l];
    let (n, rest) = scratch.split_at_mut(p);
    let (rr, rest) = rest.split_at_mut(p);
    let (base, rest) = rest.split_at_mut(p);
    let (base_mont, rest) = rest.split_at_mut(p);
    let (mut x, rest) = rest.split_at_mut(p);
    let (mut y, rest) = rest.split_at_mut(p);
    let (one, q) = rest.split_at_mut(p);
    interleave(|k| batch.moduli[k].n(), count, n);
    interleave(|k| batch.moduli[k].rr(), count, rr);
    interleave(|k| batch.bases[k], count, base);
    let n0: [u64; 8] = std::array::from_fn(|k| batch.moduli[if k < count { k } else { 0 }].n0inv());
    // SAFETY: `n0` holds 8 u64 = 64 bytes, the size of the unaligned load.
    let n0inv = unsafe { _mm512_loadu_si512(n0.as_ptr().cast()) };

    mont_mul::<false>(base, rr, n, n0inv, q, base_mont);
    x.copy_from_slice(base_mont);
    let e = batch.exponent;
    let top = 63 - e.leading_zeros();
    for bit in (0..top).rev() {
        mont_mul::<true>(x, x, n, n0inv, q, y);
        std::mem::swap(&mut x, &mut y);
        if (e >> bit) & 1 == 1 {
            // The plain base on the last bit leaves the result out of Montgomery form.
            let factor = if bit == 0 { &*base } else { &*base_mont };
            mont_mul::<false>(x, factor, n, n0inv, q, y);
            std::mem::swap(&mut x, &mut y);
        }
    }
    if e & 1 == 0 || e == 1 {
        one[W] = _mm512_set1_epi64(1);
        mont_mul::<false>(x, one, n, n0inv, q, y);
        std::mem::swap(&mut x, &mut y);
    }

    let mut column = [0u64; 8];
    for (j, v) in x[W..W + l].iter().enumerate() {
        // SAFETY: `column` is 8 u64 = 64 bytes, the size of the unaligned store.
        unsafe { _mm512_storeu_si512(column.as_mut_ptr().cast(), *v) };
        for (k, lane) in out.chunks_exact_mut(l).enumerate() {
            lane[j] = column[k];
        }
    }
    for (k, lane) in out.chunks_exact_mut(l).enumerate() {
        reduce_once(lane, batch.moduli[k].n());
    }
}

/// Computes a [`PowBatch`] of up to eight exponentiations into `out` (`L` limbs per number).
pub(super) fn pow8(_token: IfmaToken, batch: &PowBatch<'_>, out: &mut [u64]) {
    // SAFETY: the token exists only when runtime detection found AVX-512F and AVX-512 IFMA.
    unsafe { pow8_impl(batch, out) }
}
