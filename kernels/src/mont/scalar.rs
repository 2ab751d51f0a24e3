//! The portable almost-Montgomery arithmetic, one number at a time: the specification the
//! vector kernel follows operation for operation.

use super::{LIMB_BITS, LIMB_MASK, Modulus, reduce_once};

/// `lo52(a·b)` and `hi52(a·b)` of the low 52 bits of `a` and `b`: what IFMA computes.
#[inline(always)]
fn mul52(a: u64, b: u64) -> (u64, u64) {
    let p = u128::from(a & LIMB_MASK) * u128::from(b & LIMB_MASK);
    // Both halves are below 2^52 by construction.
    #[expect(
        clippy::cast_possible_truncation,
        reason = "52-bit halves of a 104-bit product"
    )]
    let (lo, hi) = ((p as u64) & LIMB_MASK, (p >> LIMB_BITS) as u64);
    (lo, hi)
}

/// `a·b·R⁻¹ mod n`, up to one extra `n`: inputs below `2n` in normalized 52-bit limbs, output
/// below `2n` in normalized limbs.
#[must_use]
pub fn amm(a: &[u64], b: &[u64], m: &Modulus) -> Vec<u64> {
    let l = m.limbs();
    let n = m.n();
    // acc[i..] is the running sum after step i; the window slides instead of shifting.
    let mut acc = vec![0u64; 2 * l + 1];
    for i in 0..l {
        let ai = a[i];
        let (lo, hi) = mul52(ai, b[0]);
        acc[i] += lo;
        acc[i + 1] += hi;
        let q = mul52(acc[i], m.n0inv()).0;
        let (lo, hi) = mul52(q, n[0]);
        acc[i] += lo;
        acc[i + 1] += hi;
        for j in 1..l {
            let (lo, hi) = mul52(ai, b[j]);
            let (lo2, hi2) = mul52(q, n[j]);
            acc[i + j] += lo + lo2;
            acc[i + j + 1] += hi + hi2;
        }
        // The low 52 bits of acc[i] are now zero; carry the rest up.
        acc[i + 1] += acc[i] >> LIMB_BITS;
    }
    let mut out = acc[l..2 * l].to_vec();
    normalize(&mut out);
    out
}

/// Carries every limb above 52 bits into the next one.
pub(crate) fn normalize(x: &mut [u64]) {
    let mut carry = 0u64;
    for limb in x.iter_mut() {
        let v = *limb + carry;
        *limb = v & LIMB_MASK;
        carry = v >> LIMB_BITS;
    }
    debug_assert_eq!(carry, 0, "result exceeds the limb count");
}

/// `base^e mod n`, fully reduced (`base < n`, `e >= 1`).
///
/// Square-and-multiply from the top bit of `e`. The base is brought into Montgomery form once;
/// for an odd exponent the last multiplication uses the plain base, which leaves the result in
/// ordinary form and saves a conversion.
#[must_use]
pub fn pow(m: &Modulus, base: &[u64], e: u64) -> Vec<u64> {
    let base_mont = amm(base, m.rr(), m);
    let mut x = base_mont.clone();
    let top = 63 - e.leading_zeros();
    for bit in (0..top).rev() {
        x = amm(&x, &x, m);
        if (e >> bit) & 1 == 1 {
            x = if bit == 0 {
                amm(&x, base, m)
            } else {
                amm(&x, &base_mont, m)
            };
        }
    }
    if e & 1 == 0 || e == 1 {
        let mut one = vec![0u64; m.limbs()];
        one[0] = 1;
        x = amm(&x, &one, m);
    }
    reduce_once(&mut x, m.n());
    x
}
