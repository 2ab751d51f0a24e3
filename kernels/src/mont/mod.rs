//! Modular exponentiation for RSA verification: Montgomery arithmetic over 52-bit limbs.
//!
//! Numbers are little-endian arrays of 52-bit limbs held in 64-bit words. With `L` limbs,
//! `R = 2^(52·L)` and `L` chosen so that `R > 4n`, the *almost Montgomery multiplication*
//! `amm(a, b) = a·b·R⁻¹ mod n`, up to one extra `n`, maps inputs below `2n` to an output below
//! `2n` without a conditional subtraction per step; only the final result is fully reduced.
//!
//! Inside a multiplication the 64-bit accumulators take up to four 52-bit partial products per
//! outer step and are carried only once at the end: with at most `L + 1 <= 161` steps they stay
//! below `161 · 2^54 < 2^62`.
//!
//! `L` is always a multiple of [`BLOCK`]: the vector kernel works in blocks of that many columns
//! and never has to split one. A larger `R` changes nothing else (`R > 4n` still holds).
//!
//! [`scalar`] is the portable implementation (one number at a time, row by row); `ifma` computes
//! the same numbers for eight moduli at once on AVX-512 IFMA, whose `vpmadd52luq`/`vpmadd52huq`
//! compute the low and high 52 bits of a 52×52-bit product, column by column with the sums in
//! registers. Its column sums take at most `4L` halves (products and reduction terms) and a
//! carry, below `640 · 2^52 < 2^62` for `L <= 160`.

pub mod scalar;

#[cfg(target_arch = "x86_64")]
mod ifma;

use num_bigint::BigUint;
use num_traits::{One as _, Zero as _};

use crate::cpu::IfmaToken;

/// Bits per limb.
pub const LIMB_BITS: u32 = 52;
/// `2^52 - 1`.
pub const LIMB_MASK: u64 = (1 << LIMB_BITS) - 1;
/// Largest modulus supported, in bits (limb counts up to 160 keep the accumulators exact).
pub const MAX_MODULUS_BITS: usize = 8192;
/// Limb counts are multiples of this: the vector kernel's column block.
pub const BLOCK: usize = 8;

/// Why a modulus cannot be prepared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ModulusError {
    /// Montgomery arithmetic needs an odd modulus.
    #[error("modulus is even")]
    Even,
    /// Below 3 or above [`MAX_MODULUS_BITS`].
    #[error("modulus of {0} bits is outside 2..=8192")]
    Size(usize),
}

/// A modulus with its Montgomery constants, computed once per key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Modulus {
    /// `n` in `limbs` 52-bit limbs.
    n: Vec<u64>,
    /// `-n⁻¹ mod 2^52`.
    n0inv: u64,
    /// `R² mod n` in 52-bit limbs.
    rr: Vec<u64>,
    bits: usize,
}

/// Limbs used for a modulus of `bits` bits: the smallest multiple `L` of [`BLOCK`] with
/// `52·L >= bits + 2`, so that `R > 4n`.
#[must_use]
pub fn limbs_for_bits(bits: usize) -> usize {
    (bits + 2)
        .div_ceil(LIMB_BITS as usize)
        .next_multiple_of(BLOCK)
}

/// `value` as exactly `limbs` 52-bit limbs (higher bits dropped).
#[must_use]
pub fn to_limbs(value: &BigUint, limbs: usize) -> Vec<u64> {
    let mut out = vec![0u64; limbs];
    let digits = value.to_u64_digits();
    for (i, limb) in out.iter_mut().enumerate() {
        let bit = i * LIMB_BITS as usize;
        let (word, shift) = (bit / 64, bit % 64);
        let lo = digits.get(word).copied().unwrap_or(0) >> shift;
        let hi = if shift > 64 - LIMB_BITS as usize {
            digits.get(word + 1).copied().unwrap_or(0) << (64 - shift)
        } else {
            0
        };
        *limb = (lo | hi) & LIMB_MASK;
    }
    out
}

/// A big-endian byte string as exactly `out.len()` 52-bit limbs (higher bits dropped), written
/// into `out`.
pub fn limbs_from_be_bytes_into(bytes: &[u8], out: &mut [u64]) {
    let len = bytes.len();
    for (i, limb) in out.iter_mut().enumerate() {
        // Limb i starts at bit 52i: one 8-byte big-endian read ending at its lowest byte.
        let bit = i * LIMB_BITS as usize;
        let (low_byte, shift) = (bit / 8, bit % 8);
        let word = if low_byte + 8 <= len {
            let mut w = [0u8; 8];
            w.copy_from_slice(&bytes[len - low_byte - 8..len - low_byte]);
            u64::from_be_bytes(w)
        } else {
            // The top limbs: the bytes that exist, zeros above.
            (0..8).rev().fold(0u64, |acc, k| {
                let byte = len
                    .checked_sub(low_byte + k + 1)
                    .map_or(0, |index| bytes[index]);
                (acc << 8) | u64::from(byte)
            })
        };
        *limb = (word >> shift) & LIMB_MASK;
    }
}

/// Normalized 52-bit `limbs` as `out.len()` big-endian bytes (higher bits dropped), written into
/// `out`.
pub fn limbs_to_be_bytes_into(limbs: &[u64], out: &mut [u8]) {
    // The 64 bits from bit `bit` on: at most three limbs.
    let word_at = |bit: usize| {
        let (j, off) = (bit / LIMB_BITS as usize, bit % LIMB_BITS as usize);
        let limb = |k: usize| limbs.get(k).copied().unwrap_or(0);
        let mut word = (limb(j) >> off) | (limb(j + 1) << (LIMB_BITS as usize - off));
        if off > 2 * LIMB_BITS as usize - 64 {
            word |= limb(j + 2) << (2 * LIMB_BITS as usize - off);
        }
        word
    };
    let mut words = out.rchunks_exact_mut(8);
    let mut bit = 0;
    for chunk in words.by_ref() {
        chunk.copy_from_slice(&word_at(bit).to_be_bytes());
        bit += 64;
    }
    let top = word_at(bit).to_le_bytes();
    for (byte, &value) in words.into_remainder().iter_mut().rev().zip(&top) {
        *byte = value;
    }
}

/// A modulus given big-endian (leading zeros allowed) and its bit length, if it is odd and of
/// 2..=`max_bits` bits; else the caller's error, `size(bits)` or `even`.
pub(crate) fn odd_modulus<E>(
    be: &[u8],
    max_bits: usize,
    size: impl FnOnce(usize) -> E,
    even: E,
) -> Result<(BigUint, usize), E> {
    let n = BigUint::from_bytes_be(be);
    let bits = usize::try_from(n.bits()).unwrap_or(usize::MAX);
    if !(2..=max_bits).contains(&bits) {
        return Err(size(bits));
    }
    if !n.bit(0) {
        return Err(even);
    }
    Ok((n, bits))
}

/// The value of 52-bit `limbs` (each below 2^52).
#[must_use]
pub fn from_limbs(limbs: &[u64]) -> BigUint {
    limbs.iter().rev().fold(BigUint::zero(), |acc, &l| {
        (acc << LIMB_BITS) + BigUint::from(l)
    })
}

impl Modulus {
    /// Prepares an odd modulus given big-endian.
    ///
    /// # Errors
    /// [`ModulusError::Even`], or [`ModulusError::Size`] outside 2..=8192 bits.
    pub fn from_be_bytes(n: &[u8]) -> Result<Self, ModulusError> {
        let (n, bits) = odd_modulus(n, MAX_MODULUS_BITS, ModulusError::Size, ModulusError::Even)?;
        let limbs = limbs_for_bits(bits);
        // -n^-1 mod 2^52 by Newton iteration: x <- x(2 - n x) doubles the correct bits.
        let n0 = n.to_u64_digits()[0];
        let mut inv: u64 = 1;
        for _ in 0..6 {
            inv = inv.wrapping_mul(2u64.wrapping_sub(n0.wrapping_mul(inv)));
        }
        let n0inv = inv.wrapping_neg() & LIMB_MASK;
        let r2 = (BigUint::one() << (2 * LIMB_BITS as usize * limbs)) % &n;
        Ok(Self {
            n: to_limbs(&n, limbs),
            n0inv,
            rr: to_limbs(&r2, limbs),
            bits,
        })
    }

    /// Limb count `L`.
    #[must_use]
    pub fn limbs(&self) -> usize {
        self.n.len()
    }

    /// Modulus size in bits.
    #[must_use]
    pub fn bits(&self) -> usize {
        self.bits
    }

    /// `n` in 52-bit limbs.
    #[must_use]
    pub fn n(&self) -> &[u64] {
        &self.n
    }

    /// `-n⁻¹ mod 2^52`.
    #[must_use]
    pub fn n0inv(&self) -> u64 {
        self.n0inv
    }

    /// `R² mod n` in 52-bit limbs.
    #[must_use]
    pub fn rr(&self) -> &[u64] {
        &self.rr
    }
}

/// Up to eight exponentiations `base^e mod n` with one shared exponent and limb count, each
/// with its own modulus: what one AVX-512 vector computes at once.
#[derive(Debug)]
pub struct PowBatch<'a> {
    /// The moduli (1 to 8, all with the same limb count).
    pub moduli: &'a [&'a Modulus],
    /// The bases, one per modulus, each below its modulus, in 52-bit limbs.
    pub bases: &'a [&'a [u64]],
    /// The shared exponent (at least 1).
    pub exponent: u64,
}

/// How to compute a [`PowBatch`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PowKernel {
    /// One number at a time, portable.
    Scalar,
    /// Eight numbers per vector with AVX-512 IFMA.
    Ifma(IfmaToken),
}

impl PowKernel {
    /// Computes `bases[i]^exponent mod moduli[i]`, fully reduced, as 52-bit limbs.
    ///
    /// # Panics
    /// As [`PowKernel::pow_into`].
    #[must_use]
    pub fn pow(&self, batch: &PowBatch<'_>) -> Vec<Vec<u64>> {
        let limbs = batch.moduli.first().map_or(0, |m| m.limbs());
        let mut flat = vec![0u64; batch.moduli.len() * limbs];
        // Checks the batch first: past it, `limbs` is a modulus's limb count, at least 8.
        self.pow_into(batch, &mut flat);
        flat.chunks_exact(limbs).map(<[u64]>::to_vec).collect()
    }

    /// Computes `bases[i]^exponent mod moduli[i]`, fully reduced, into
    /// `out[i·L .. (i+1)·L]` (`L` limbs each): no allocation per number.
    ///
    /// # Panics
    /// If the batch is empty or larger than 8, the limb counts differ, a base has the wrong
    /// length, the exponent is 0, or `out` is not `count · L` long.
    pub fn pow_into(&self, batch: &PowBatch<'_>, out: &mut [u64]) {
        let count = batch.moduli.len();
        assert!((1..=8).contains(&count), "1 to 8 exponentiations per batch");
        assert_eq!(batch.bases.len(), count, "one base per modulus");
        assert!(batch.exponent >= 1, "exponent must be at least 1");
        let limbs = batch.moduli[0].limbs();
        assert!(
            batch.moduli.iter().all(|m| m.limbs() == limbs)
                && batch.bases.iter().all(|b| b.len() == limbs),
            "one limb count per batch"
        );
        assert_eq!(out.len(), count * limbs, "one result per modulus");
        match *self {
            PowKernel::Scalar => {
                for ((m, b), o) in batch
                    .moduli
                    .iter()
                    .zip(batch.bases)
                    .zip(out.chunks_exact_mut(limbs))
                {
                    o.copy_from_slice(&scalar::pow(m, b, batch.exponent));
                }
            }
            #[cfg(target_arch = "x86_64")]
            PowKernel::Ifma(token) => ifma::pow8(token, batch, out),
            #[cfg(not(target_arch = "x86_64"))]
            PowKernel::Ifma(_) => PowKernel::Scalar.pow_into(batch, out),
        }
    }
}

/// `x - n` if `x >= n` (both 52-bit limbs, `x < 2n`), making the result fully reduced.
pub(crate) fn reduce_once(x: &mut [u64], n: &[u64]) {
    // x >= n, compared from the most significant limb.
    let ge = x
        .iter()
        .rev()
        .zip(n.iter().rev())
        .find(|(a, b)| a != b)
        .is_none_or(|(a, b)| a > b);
    if ge {
        let mut borrow = 0u64;
        for (a, &b) in x.iter_mut().zip(n) {
            let v = a.wrapping_sub(b).wrapping_sub(borrow);
            *a = v & LIMB_MASK;
            borrow = v >> 63;
        }
    }
}
