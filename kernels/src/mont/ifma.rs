//! Eight almost-Montgomery exponentiations at once with AVX-512 IFMA: lane `k` of every vector
//! belongs to number `k`, with its own modulus. Operation for operation this is
//! [`super::scalar`]: `vpmadd52luq`/`vpmadd52huq` add the low/high 52 bits of a 52×52-bit
//! product to a 64-bit accumulator, exactly `mul52` there.

use core::arch::x86_64::{
    __m512i, _mm512_add_epi64, _mm512_loadu_si512, _mm512_madd52hi_epu64, _mm512_madd52lo_epu64,
    _mm512_setzero_si512, _mm512_srli_epi64, _mm512_storeu_si512,
};

use super::{LIMB_BITS, LIMB_MASK, PowBatch, reduce_once};
use crate::cpu::IfmaToken;

/// Position `i + j` of a two-row multiplication pass: row `i` (`a0`, `q0`) with `b/n[j]` and
/// `b/n[j-1]`, row `i+1` (`a1`, `q1`) with `b/n[j-1]` and `b/n[j-2]`.
#[target_feature(enable = "avx512f,avx512ifma")]
#[inline]
fn mul_position(
    mut x: __m512i,
    (a0, q0, a1, q1): (__m512i, __m512i, __m512i, __m512i),
    (bj, nj): (__m512i, __m512i),
    (b1, n1): (__m512i, __m512i),
    (b2, n2): (__m512i, __m512i),
) -> __m512i {
    x = _mm512_madd52lo_epu64(x, a0, bj);
    x = _mm512_madd52lo_epu64(x, q0, nj);
    x = _mm512_madd52hi_epu64(x, a0, b1);
    x = _mm512_madd52hi_epu64(x, q0, n1);
    x = _mm512_madd52lo_epu64(x, a1, b1);
    x = _mm512_madd52lo_epu64(x, q1, n1);
    x = _mm512_madd52hi_epu64(x, a1, b2);
    _mm512_madd52hi_epu64(x, q1, n2)
}

/// The head of a two-row multiplication pass at row `i`: both reduction factors, from
/// positions `i` and `i+1` (final once the previous pass wrote them). Carries position `i+1`
/// into `i+2`.
#[target_feature(enable = "avx512f,avx512ifma")]
#[inline]
fn mul_head(
    acc: &mut [__m512i],
    i: usize,
    (a0, a1): (__m512i, __m512i),
    (b, n): (&[__m512i], &[__m512i]),
    n0inv: __m512i,
) -> (__m512i, __m512i) {
    let zero = _mm512_setzero_si512();
    let t = _mm512_madd52lo_epu64(acc[i], a0, b[0]);
    let q0 = _mm512_madd52lo_epu64(zero, t, n0inv);
    let t = _mm512_madd52lo_epu64(t, q0, n[0]);
    // The low 52 bits of t are zero now: carry the rest.
    let mut u = _mm512_add_epi64(acc[i + 1], _mm512_srli_epi64::<52>(t));
    u = _mm512_madd52hi_epu64(u, a0, b[0]);
    u = _mm512_madd52hi_epu64(u, q0, n[0]);
    u = _mm512_madd52lo_epu64(u, a0, b[1]);
    u = _mm512_madd52lo_epu64(u, q0, n[1]);
    u = _mm512_madd52lo_epu64(u, a1, b[0]);
    let q1 = _mm512_madd52lo_epu64(zero, u, n0inv);
    let u = _mm512_madd52lo_epu64(u, q1, n[0]);
    acc[i + 2] = _mm512_add_epi64(acc[i + 2], _mm512_srli_epi64::<52>(u));
    (q0, q1)
}

/// One row `i` of a multiplication, alone (an odd last row, or tiny moduli).
#[target_feature(enable = "avx512f,avx512ifma")]
#[inline]
fn mul_single_row(
    acc: &mut [__m512i],
    i: usize,
    ai: __m512i,
    (b, n): (&[__m512i], &[__m512i]),
    n0inv: __m512i,
) {
    let l = n.len();
    let t = _mm512_madd52lo_epu64(acc[i], ai, b[0]);
    let q = _mm512_madd52lo_epu64(_mm512_setzero_si512(), t, n0inv);
    let t = _mm512_madd52lo_epu64(t, q, n[0]);
    acc[i + 1] = _mm512_add_epi64(acc[i + 1], _mm512_srli_epi64::<52>(t));
    for j in 1..l {
        let mut x = acc[i + j];
        x = _mm512_madd52lo_epu64(x, ai, b[j]);
        x = _mm512_madd52lo_epu64(x, q, n[j]);
        x = _mm512_madd52hi_epu64(x, ai, b[j - 1]);
        x = _mm512_madd52hi_epu64(x, q, n[j - 1]);
        acc[i + j] = x;
    }
    let mut x = acc[i + l];
    x = _mm512_madd52hi_epu64(x, ai, b[l - 1]);
    x = _mm512_madd52hi_epu64(x, q, n[l - 1]);
    acc[i + l] = x;
}

/// `a·b·R⁻¹ mod n` (up to one extra `n`) for eight lanes; `acc` is scratch of `2L + 2` vectors.
///
/// Two rows (`a_i`, `a_{i+1}`) per pass: every accumulator position takes its eight partial
/// products with `b[j]`, `n[j]` loaded once (their predecessors stay in registers), as one
/// dependency chain; positions are independent, so the out-of-order window overlaps them.
/// The next pass's reduction factors depend only on this pass's first two positions, so they
/// are computed right after them (software pipelining) instead of stalling the pass start.
/// The factors are the one-row algorithm's, so the result is bit-identical to
/// [`super::scalar::amm`].
#[target_feature(enable = "avx512f,avx512ifma")]
fn amm8(
    a: &[__m512i],
    b: &[__m512i],
    n: &[__m512i],
    n0inv: __m512i,
    acc: &mut [__m512i],
    out: &mut [__m512i],
) {
    let l = n.len();
    let (a, b) = (&a[..l], &b[..l]);
    let acc = &mut acc[..2 * l + 2];
    let zero = _mm512_setzero_si512();
    acc.fill(zero);
    let mut i = 0;
    if l >= 4 {
        let mut factors = mul_head(acc, 0, (a[0], a[1]), (b, n), n0inv);
        while i + 1 < l {
            let (q0, q1) = factors;
            let rows = (a[i], q0, a[i + 1], q1);
            acc[i + 2] = mul_position(acc[i + 2], rows, (b[2], n[2]), (b[1], n[1]), (b[0], n[0]));
            acc[i + 3] = mul_position(acc[i + 3], rows, (b[3], n[3]), (b[2], n[2]), (b[1], n[1]));
            if i + 3 < l {
                factors = mul_head(acc, i + 2, (a[i + 2], a[i + 3]), (b, n), n0inv);
            }
            let (mut b1, mut n1, mut b2, mut n2) = (b[3], n[3], b[2], n[2]);
            let mut j = 4;
            while j + 1 < l {
                let (bj, nj, bk, nk) = (b[j], n[j], b[j + 1], n[j + 1]);
                acc[i + j] = mul_position(acc[i + j], rows, (bj, nj), (b1, n1), (b2, n2));
                acc[i + j + 1] = mul_position(acc[i + j + 1], rows, (bk, nk), (bj, nj), (b1, n1));
                (b2, n2, b1, n1) = (bj, nj, bk, nk);
                j += 2;
            }
            if j < l {
                let (bj, nj) = (b[j], n[j]);
                acc[i + j] = mul_position(acc[i + j], rows, (bj, nj), (b1, n1), (b2, n2));
                (b2, n2, b1, n1) = (b1, n1, bj, nj);
            }
            // Position i+L: row i's last high halves, row i+1's last low and second-last high
            // (zero operands for the terms that do not exist); i+L+1: row i+1's last high halves.
            acc[i + l] = mul_position(acc[i + l], rows, (zero, zero), (b1, n1), (b2, n2));
            let mut x = acc[i + l + 1];
            x = _mm512_madd52hi_epu64(x, a[i + 1], b1);
            x = _mm512_madd52hi_epu64(x, q1, n1);
            acc[i + l + 1] = x;
            i += 2;
        }
    }
    while i < l {
        mul_single_row(acc, i, a[i], (b, n), n0inv);
        i += 1;
    }
    out[..l].copy_from_slice(&acc[l..2 * l]);
    normalize8(&mut out[..l]);
}

/// Position `i + j` of a two-row reduction pass: `q0` with `n[j]`, `n[j-1]`; `q1` with `n[j-1]`,
/// `n[j-2]`.
#[target_feature(enable = "avx512f,avx512ifma")]
#[inline]
fn reduce_position(
    mut x: __m512i,
    (q0, q1): (__m512i, __m512i),
    nj: __m512i,
    n1: __m512i,
    n2: __m512i,
) -> __m512i {
    x = _mm512_madd52lo_epu64(x, q0, nj);
    x = _mm512_madd52hi_epu64(x, q0, n1);
    x = _mm512_madd52lo_epu64(x, q1, n1);
    _mm512_madd52hi_epu64(x, q1, n2)
}

/// The head of a two-row reduction pass at row `i` (as [`mul_head`], without `a·b`).
#[target_feature(enable = "avx512f,avx512ifma")]
#[inline]
fn reduce_head(acc: &mut [__m512i], i: usize, n: &[__m512i], n0inv: __m512i) -> (__m512i, __m512i) {
    let zero = _mm512_setzero_si512();
    let q0 = _mm512_madd52lo_epu64(zero, acc[i], n0inv);
    let t = _mm512_madd52lo_epu64(acc[i], q0, n[0]);
    let mut u = _mm512_add_epi64(acc[i + 1], _mm512_srli_epi64::<52>(t));
    u = _mm512_madd52hi_epu64(u, q0, n[0]);
    u = _mm512_madd52lo_epu64(u, q0, n[1]);
    let q1 = _mm512_madd52lo_epu64(zero, u, n0inv);
    let u = _mm512_madd52lo_epu64(u, q1, n[0]);
    acc[i + 2] = _mm512_add_epi64(acc[i + 2], _mm512_srli_epi64::<52>(u));
    (q0, q1)
}

/// `a²·R⁻¹ mod n` (up to one extra `n`) for eight lanes; `acc` is scratch of `2L + 2` vectors.
///
/// The square first (each cross product once, the sum doubled, then the squares of the limbs),
/// then the reduction, two rows per pass. About `3L²` multiply-adds instead of [`amm8`]'s `4L²`.
/// The reduction factor `Q` is the unique one below `R`, so the result equals `amm8(a, a)`
/// exactly. Accumulators stay below `(6L + 4)·2^52 < 2^62` for `L <= 160`.
#[target_feature(enable = "avx512f,avx512ifma")]
fn ams8(a: &[__m512i], n: &[__m512i], n0inv: __m512i, acc: &mut [__m512i], out: &mut [__m512i]) {
    let l = n.len();
    let a = &a[..l];
    let acc = &mut acc[..2 * l + 2];
    let zero = _mm512_setzero_si512();
    acc.fill(zero);
    // Cross products a_i a_j, i < j. Two rows per pass: position i+m takes lo(a_i a_m) +
    // hi(a_i a_{m-1}) + lo(a_{i+1} a_{m-1}) + hi(a_{i+1} a_{m-2}), for the terms with j > i.
    let mut i = 0;
    while i + 4 <= l {
        let (a0, a1) = (a[i], a[i + 1]);
        acc[2 * i + 1] = _mm512_madd52lo_epu64(acc[2 * i + 1], a0, a[i + 1]);
        let mut x = _mm512_madd52lo_epu64(acc[2 * i + 2], a0, a[i + 2]);
        acc[2 * i + 2] = _mm512_madd52hi_epu64(x, a0, a[i + 1]);
        x = _mm512_madd52lo_epu64(acc[2 * i + 3], a0, a[i + 3]);
        x = _mm512_madd52hi_epu64(x, a0, a[i + 2]);
        acc[2 * i + 3] = _mm512_madd52lo_epu64(x, a1, a[i + 2]);
        // Positions i+4..i+L-1, with a_m, a_{m-1}, a_{m-2} from windows of a (memory operands,
        // no bounds checks, no register shuffling).
        for (x, w) in acc[2 * i + 4..i + l].iter_mut().zip(a[i + 2..].windows(3)) {
            let (am2, am1, am) = (w[0], w[1], w[2]);
            let mut v = _mm512_madd52lo_epu64(*x, a0, am);
            v = _mm512_madd52hi_epu64(v, a0, am1);
            v = _mm512_madd52lo_epu64(v, a1, am1);
            *x = _mm512_madd52hi_epu64(v, a1, am2);
        }
        let (p1, p2) = (a[l - 1], a[l - 2]);
        let mut x = _mm512_madd52hi_epu64(acc[i + l], a0, p1);
        x = _mm512_madd52lo_epu64(x, a1, p1);
        acc[i + l] = _mm512_madd52hi_epu64(x, a1, p2);
        acc[i + l + 1] = _mm512_madd52hi_epu64(acc[i + l + 1], a1, p1);
        i += 2;
    }
    // The last rows one at a time: position i+j takes lo(a_i a_j) + hi(a_i a_{j-1}).
    while i + 1 < l {
        let ai = a[i];
        acc[2 * i + 1] = _mm512_madd52lo_epu64(acc[2 * i + 1], ai, a[i + 1]);
        let mut prev = a[i + 1];
        for j in i + 2..l {
            let aj = a[j];
            let x = _mm512_madd52lo_epu64(acc[i + j], ai, aj);
            acc[i + j] = _mm512_madd52hi_epu64(x, ai, prev);
            prev = aj;
        }
        acc[i + l] = _mm512_madd52hi_epu64(acc[i + l], ai, prev);
        i += 1;
    }
    // Double the cross products, add the squares a_i².
    for i in 0..l {
        let ai = a[i];
        let lo = _mm512_add_epi64(acc[2 * i], acc[2 * i]);
        acc[2 * i] = _mm512_madd52lo_epu64(lo, ai, ai);
        let hi = _mm512_add_epi64(acc[2 * i + 1], acc[2 * i + 1]);
        acc[2 * i + 1] = _mm512_madd52hi_epu64(hi, ai, ai);
    }
    // Reduction, two rows per pass, pipelined as in amm8, without the a·b terms.
    let mut i = 0;
    if l >= 4 {
        let mut factors = reduce_head(acc, 0, n, n0inv);
        while i + 1 < l {
            let qs = factors;
            acc[i + 2] = reduce_position(acc[i + 2], qs, n[2], n[1], n[0]);
            acc[i + 3] = reduce_position(acc[i + 3], qs, n[3], n[2], n[1]);
            if i + 3 < l {
                factors = reduce_head(acc, i + 2, n, n0inv);
            }
            for (x, w) in acc[i + 4..i + l].iter_mut().zip(n[2..].windows(3)) {
                *x = reduce_position(*x, qs, w[2], w[1], w[0]);
            }
            let (n1, n2) = (n[l - 1], n[l - 2]);
            acc[i + l] = reduce_position(acc[i + l], qs, zero, n1, n2);
            acc[i + l + 1] = _mm512_madd52hi_epu64(acc[i + l + 1], qs.1, n1);
            i += 2;
        }
    }
    while i < l {
        let q = _mm512_madd52lo_epu64(zero, acc[i], n0inv);
        let t = _mm512_madd52lo_epu64(acc[i], q, n[0]);
        acc[i + 1] = _mm512_add_epi64(acc[i + 1], _mm512_srli_epi64::<52>(t));
        for j in 1..l {
            let x = _mm512_madd52lo_epu64(acc[i + j], q, n[j]);
            acc[i + j] = _mm512_madd52hi_epu64(x, q, n[j - 1]);
        }
        acc[i + l] = _mm512_madd52hi_epu64(acc[i + l], q, n[l - 1]);
        i += 1;
    }
    out[..l].copy_from_slice(&acc[l..2 * l]);
    normalize8(&mut out[..l]);
}

/// Carries every limb above 52 bits into the next one, in every lane.
#[target_feature(enable = "avx512f")]
fn normalize8(x: &mut [__m512i]) {
    let mask = limb_mask_vector();
    let mut carry = _mm512_setzero_si512();
    for limb in x.iter_mut() {
        let v = _mm512_add_epi64(*limb, carry);
        *limb = core::arch::x86_64::_mm512_and_si512(v, mask);
        carry = _mm512_srli_epi64::<52>(v);
    }
}

#[target_feature(enable = "avx512f")]
fn limb_mask_vector() -> __m512i {
    // LIMB_MASK < 2^63: the cast keeps the bit pattern.
    #[expect(clippy::cast_possible_wrap, reason = "bit pattern below 2^63")]
    let m = LIMB_MASK as i64;
    core::arch::x86_64::_mm512_set1_epi64(m)
}

/// Lane-interleaves up to eight `limbs`-long numbers; missing lanes repeat lane 0.
#[target_feature(enable = "avx512f")]
fn interleave<'a>(
    numbers: impl Fn(usize) -> &'a [u64],
    count: usize,
    limbs: usize,
) -> Vec<__m512i> {
    let rows: [&[u64]; 8] =
        std::array::from_fn(|k| &numbers(if k < count { k } else { 0 })[..limbs]);
    (0..limbs)
        .map(|j| {
            let column: [u64; 8] = std::array::from_fn(|k| rows[k][j]);
            // SAFETY: `column` is 8 u64 = 64 bytes, the size of the unaligned load.
            unsafe { _mm512_loadu_si512(column.as_ptr().cast()) }
        })
        .collect()
}

#[target_feature(enable = "avx512f,avx512ifma")]
fn pow8_impl(batch: &PowBatch<'_>) -> Vec<Vec<u64>> {
    let count = batch.moduli.len();
    let l = batch.moduli[0].limbs();
    let n = interleave(|k| batch.moduli[k].n(), count, l);
    let rr = interleave(|k| batch.moduli[k].rr(), count, l);
    let base = interleave(|k| &batch.bases[k][..], count, l);
    let n0: Vec<u64> = (0..8)
        .map(|k| batch.moduli[if k < count { k } else { 0 }].n0inv())
        .collect();
    // SAFETY: `n0` holds 8 u64 = 64 bytes, the size of the unaligned load.
    let n0inv = unsafe { _mm512_loadu_si512(n0.as_ptr().cast()) };

    let zero = _mm512_setzero_si512();
    let mut acc = vec![zero; 2 * l + 2];
    let mut base_mont = vec![zero; l];
    amm8(&base, &rr, &n, n0inv, &mut acc, &mut base_mont);
    let mut x = base_mont.clone();
    let mut y = vec![zero; l];
    let e = batch.exponent;
    let top = 63 - e.leading_zeros();
    for bit in (0..top).rev() {
        ams8(&x, &n, n0inv, &mut acc, &mut y);
        std::mem::swap(&mut x, &mut y);
        if (e >> bit) & 1 == 1 {
            let factor = if bit == 0 { &base } else { &base_mont };
            amm8(&x, factor, &n, n0inv, &mut acc, &mut y);
            std::mem::swap(&mut x, &mut y);
        }
    }
    if e & 1 == 0 || e == 1 {
        let mut one = vec![zero; l];
        one[0] = core::arch::x86_64::_mm512_set1_epi64(1);
        amm8(&x, &one, &n, n0inv, &mut acc, &mut y);
        std::mem::swap(&mut x, &mut y);
    }

    let mut lanes = vec![vec![0u64; l]; count];
    let mut column = [0u64; 8];
    for (j, v) in x.iter().enumerate() {
        // SAFETY: `column` is 8 u64 = 64 bytes, the size of the unaligned store.
        unsafe { _mm512_storeu_si512(column.as_mut_ptr().cast(), *v) };
        for (k, lane) in lanes.iter_mut().enumerate() {
            lane[j] = column[k];
        }
    }
    for (k, lane) in lanes.iter_mut().enumerate() {
        reduce_once(lane, batch.moduli[k].n());
    }
    debug_assert!(lanes.iter().flatten().all(|&l| l >> LIMB_BITS == 0));
    lanes
}

/// Computes a [`PowBatch`] of up to eight exponentiations.
pub(super) fn pow8(_token: IfmaToken, batch: &PowBatch<'_>) -> Vec<Vec<u64>> {
    // SAFETY: the token exists only when runtime detection found AVX-512F and AVX-512 IFMA.
    unsafe { pow8_impl(batch) }
}
