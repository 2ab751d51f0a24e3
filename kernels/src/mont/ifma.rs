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

/// `a·b·R⁻¹ mod n` (up to one extra `n`) for eight lanes; `acc` is scratch of `2L + 2` vectors.
///
/// Two rows (`a_i` and `a_{i+1}`) per pass: both reduction factors are found first, then every
/// accumulator position takes its eight partial products with `b[j]` and `n[j]` loaded once
/// (their two predecessors stay in registers). The factors are the one-row algorithm's, so the
/// result is bit-identical to [`super::scalar::amm`].
#[target_feature(enable = "avx512f,avx512ifma")]
#[allow(clippy::many_single_char_names)]
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
    while i + 1 < l && l >= 3 {
        let (a0, a1) = (a[i], a[i + 1]);
        // Row i at position i.
        let t = _mm512_madd52lo_epu64(acc[i], a0, b[0]);
        let q0 = _mm512_madd52lo_epu64(zero, t, n0inv);
        let t = _mm512_madd52lo_epu64(t, q0, n[0]);
        // Position i+1: row i's contributions, then row i+1's factor.
        let mut u = _mm512_add_epi64(acc[i + 1], _mm512_srli_epi64::<52>(t));
        u = _mm512_madd52hi_epu64(u, a0, b[0]);
        u = _mm512_madd52hi_epu64(u, q0, n[0]);
        u = _mm512_madd52lo_epu64(u, a0, b[1]);
        u = _mm512_madd52lo_epu64(u, q0, n[1]);
        u = _mm512_madd52lo_epu64(u, a1, b[0]);
        let q1 = _mm512_madd52lo_epu64(zero, u, n0inv);
        let u = _mm512_madd52lo_epu64(u, q1, n[0]);
        acc[i + 2] = _mm512_add_epi64(acc[i + 2], _mm512_srli_epi64::<52>(u));
        // Positions i+j, 2 <= j < L: row i with b/n[j], [j-1]; row i+1 with [j-1], [j-2].
        // One accumulator chain per position (the out-of-order window overlaps positions), two
        // positions per iteration so the rolling operands need no register moves.
        let (mut b1, mut b2, mut n1, mut n2) = (b[1], b[0], n[1], n[0]);
        let mut j = 2;
        while j + 1 < l {
            let (bj, nj, bk, nk) = (b[j], n[j], b[j + 1], n[j + 1]);
            let mut x = acc[i + j];
            x = _mm512_madd52lo_epu64(x, a0, bj);
            x = _mm512_madd52lo_epu64(x, q0, nj);
            x = _mm512_madd52hi_epu64(x, a0, b1);
            x = _mm512_madd52hi_epu64(x, q0, n1);
            x = _mm512_madd52lo_epu64(x, a1, b1);
            x = _mm512_madd52lo_epu64(x, q1, n1);
            x = _mm512_madd52hi_epu64(x, a1, b2);
            x = _mm512_madd52hi_epu64(x, q1, n2);
            acc[i + j] = x;
            let mut y = acc[i + j + 1];
            y = _mm512_madd52lo_epu64(y, a0, bk);
            y = _mm512_madd52lo_epu64(y, q0, nk);
            y = _mm512_madd52hi_epu64(y, a0, bj);
            y = _mm512_madd52hi_epu64(y, q0, nj);
            y = _mm512_madd52lo_epu64(y, a1, bj);
            y = _mm512_madd52lo_epu64(y, q1, nj);
            y = _mm512_madd52hi_epu64(y, a1, b1);
            y = _mm512_madd52hi_epu64(y, q1, n1);
            acc[i + j + 1] = y;
            (b2, b1, n2, n1) = (bj, bk, nj, nk);
            j += 2;
        }
        if j < l {
            let (bj, nj) = (b[j], n[j]);
            let mut x = acc[i + j];
            x = _mm512_madd52lo_epu64(x, a0, bj);
            x = _mm512_madd52lo_epu64(x, q0, nj);
            x = _mm512_madd52hi_epu64(x, a0, b1);
            x = _mm512_madd52hi_epu64(x, q0, n1);
            x = _mm512_madd52lo_epu64(x, a1, b1);
            x = _mm512_madd52lo_epu64(x, q1, n1);
            x = _mm512_madd52hi_epu64(x, a1, b2);
            x = _mm512_madd52hi_epu64(x, q1, n2);
            acc[i + j] = x;
            (b2, b1, n2, n1) = (b1, bj, n1, nj);
        }
        // Position i+L: row i's last high halves, row i+1's last low and second-last high.
        let mut x = acc[i + l];
        x = _mm512_madd52hi_epu64(x, a0, b1);
        x = _mm512_madd52hi_epu64(x, q0, n1);
        x = _mm512_madd52lo_epu64(x, a1, b1);
        x = _mm512_madd52lo_epu64(x, q1, n1);
        x = _mm512_madd52hi_epu64(x, a1, b2);
        x = _mm512_madd52hi_epu64(x, q1, n2);
        acc[i + l] = x;
        // Position i+L+1: row i+1's last high halves.
        let mut x = acc[i + l + 1];
        x = _mm512_madd52hi_epu64(x, a1, b1);
        x = _mm512_madd52hi_epu64(x, q1, n1);
        acc[i + l + 1] = x;
        i += 2;
    }
    // A last single row when L is odd (or tiny).
    while i < l {
        let ai = a[i];
        let t = _mm512_madd52lo_epu64(acc[i], ai, b[0]);
        let q = _mm512_madd52lo_epu64(zero, t, n0inv);
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
    let mut out = Vec::with_capacity(limbs);
    let mut column = [0u64; 8];
    for j in 0..limbs {
        for (k, c) in column.iter_mut().enumerate() {
            *c = numbers(if k < count { k } else { 0 })[j];
        }
        // SAFETY: `column` is 8 u64 = 64 bytes, the size of the unaligned load.
        out.push(unsafe { _mm512_loadu_si512(column.as_ptr().cast()) });
    }
    out
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
        amm8(&x, &x, &n, n0inv, &mut acc, &mut y);
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
