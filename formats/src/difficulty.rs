//! Difficulty, target and bits (`Ixian-Core Pow/SignerPowSolution.cs`).
//!
//! A hash is read as a **signed little-endian** integer `H`. With `M` the raw amount of
//! `maxTargetHash` (`2^512 - 2^456`), the difficulty's raw amount is `floor(M * 10^8 / H)`; a
//! negative `H` (top bit of the last byte set) has difficulty 0.
//!
//! Bits keep only 7 significant bytes and are lossy: never judge a solution by its bits.

use std::sync::OnceLock;

use num_bigint::{BigInt, Sign};
use num_traits::{One as _, Signed as _, Zero as _};

use crate::number::{IxiNumber, divisor};

/// `maxTargetBits`: the bits of `maxTargetHash`, the highest bits value accepted.
pub const MAX_TARGET_BITS: u64 = 0x39FF_FFFF_FFFF_FFFF;

/// Why a difficulty, hash or bits value has no image (the reference throws).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DifficultyError {
    /// `IxiNumber(byte[])` of an empty hash (`ArgumentException`).
    #[error("empty hash")]
    EmptyHash,
    /// A hash above `maxTargetHash` (`OverflowException("Hash too large")`).
    #[error("hash too large: above maxTargetHash")]
    HashTooLarge,
    /// A zero hash (`DivideByZeroException`).
    #[error("zero hash: division by zero")]
    ZeroHash,
    /// A negative difficulty (`ArgumentOutOfRangeException`).
    #[error("difficulty can't be negative")]
    NegativeDifficulty,
    /// Bits above [`MAX_TARGET_BITS`] (`ArgumentOutOfRangeException`).
    #[error("bits can't be higher than maxTargetBits 0x39ffffffffffffff")]
    BitsTooHigh,
}

/// Why a minimum difficulty cannot be mined.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TargetError {
    /// A minimum of raw 0 or less accepts every hash, even negative ones: not a search.
    #[error("minimum difficulty must be positive, got {0}")]
    NotPositive(IxiNumber),
    /// A minimum above `M * 10^8` whose acceptance bound is 0: no hash can meet it.
    #[error("minimum difficulty {0} is unreachable: no hash can meet it")]
    Unreachable(IxiNumber),
}

/// `M`, the raw amount of `maxTargetHash` (`(2^56 - 1) * 2^456`).
#[must_use]
pub fn max_target() -> &'static BigInt {
    static M: OnceLock<BigInt> = OnceLock::new();
    M.get_or_init(|| (BigInt::from((1u64 << 56) - 1)) << 456)
}

/// `M * 10^8`, the numerator of every difficulty.
fn scaled_max_target() -> &'static BigInt {
    static MS: OnceLock<BigInt> = OnceLock::new();
    MS.get_or_init(|| max_target() * divisor())
}

/// `hashToDifficulty(hash)`.
///
/// # Errors
/// [`DifficultyError::EmptyHash`], [`DifficultyError::HashTooLarge`] (only hashes longer than 64
/// bytes can exceed `M`), [`DifficultyError::ZeroHash`].
pub fn hash_to_difficulty(hash: &[u8]) -> Result<IxiNumber, DifficultyError> {
    if hash.is_empty() {
        return Err(DifficultyError::EmptyHash);
    }
    let h = BigInt::from_signed_bytes_le(hash);
    if h.is_negative() {
        return Ok(IxiNumber::default());
    }
    if &h > max_target() {
        return Err(DifficultyError::HashTooLarge);
    }
    if h.is_zero() {
        return Err(DifficultyError::ZeroHash);
    }
    Ok(IxiNumber::from_raw(scaled_max_target() / h))
}

/// `difficultyToHash(d)`: `floor(M * 10^8 / max(d.raw, 1))` as minimal two's-complement LE bytes.
///
/// # Errors
/// [`DifficultyError::NegativeDifficulty`].
pub fn difficulty_to_hash(difficulty: &IxiNumber) -> Result<Vec<u8>, DifficultyError> {
    if difficulty.raw().is_negative() {
        return Err(DifficultyError::NegativeDifficulty);
    }
    // The reference bumps a raw amount below 1 (only raw 0 here) to raw 1.
    let raw = if difficulty.raw().is_zero() {
        BigInt::one()
    } else {
        difficulty.raw().clone()
    };
    Ok((scaled_max_target() / raw).to_signed_bytes_le())
}

/// `hashToBits(hash)`: a 7-byte mantissa of the most significant non-zero bytes and the byte
/// position of that mantissa in the top byte.
#[must_use]
pub fn hash_to_bits(hash: &[u8]) -> u64 {
    let mut padded = [0u8; 8];
    let hash = if hash.len() < 8 {
        padded[..hash.len()].copy_from_slice(hash);
        &padded[..]
    } else {
        hash
    };
    let len = hash.len();
    let zeroes = hash
        .iter()
        .rev()
        .take(len - 7)
        .take_while(|&&b| b == 0)
        .count();
    let first_pos = len - zeroes - 7;
    let mut bits = [0u8; 8];
    bits[..7].copy_from_slice(&hash[first_pos..first_pos + 7]);
    // The reference stores `(byte)firstPos`: positions past 255 wrap, as there.
    #[expect(
        clippy::cast_possible_truncation,
        reason = "the reference's (byte) cast"
    )]
    let exponent = first_pos as u8;
    bits[7] = exponent;
    u64::from_le_bytes(bits)
}

/// `bitsToHash(bits)`: the 7 mantissa bytes at their position in a zeroed `firstPos + 8` buffer.
///
/// # Errors
/// [`DifficultyError::BitsTooHigh`] above [`MAX_TARGET_BITS`].
pub fn bits_to_hash(bits: u64) -> Result<Vec<u8>, DifficultyError> {
    if bits > MAX_TARGET_BITS {
        return Err(DifficultyError::BitsTooHigh);
    }
    let bytes = bits.to_le_bytes();
    let first_pos = usize::from(bytes[7]);
    let mut hash = vec![0u8; first_pos + 8];
    hash[first_pos..first_pos + 7].copy_from_slice(&bytes[..7]);
    Ok(hash)
}

/// `difficultyToBits(d) = hashToBits(difficultyToHash(d))`.
///
/// # Errors
/// As [`difficulty_to_hash`].
pub fn difficulty_to_bits(difficulty: &IxiNumber) -> Result<u64, DifficultyError> {
    Ok(hash_to_bits(&difficulty_to_hash(difficulty)?))
}

/// `bitsToDifficulty(b) = hashToDifficulty(bitsToHash(b))`.
///
/// # Errors
/// As [`bits_to_hash`] and [`hash_to_difficulty`].
pub fn bits_to_difficulty(bits: u64) -> Result<IxiNumber, DifficultyError> {
    hash_to_difficulty(&bits_to_hash(bits)?)
}

/// `validateHash(hash, min)`: `hashToDifficulty(hash) >= min`.
///
/// # Errors
/// As [`hash_to_difficulty`]; the reference throws where this errs.
pub fn validate_hash(hash: &[u8], min: &IxiNumber) -> Result<bool, DifficultyError> {
    Ok(&hash_to_difficulty(hash)? >= min)
}

/// The exact acceptance bound of a search: a 64-byte hash `H` (unsigned little-endian) meets
/// `min` if and only if `1 <= H <= bound`.
///
/// `bound = min(floor(M * 10^8 / min.raw), 2^511 - 1)`: the first term is the reference's own
/// `difficultyToHash(min)`, and the clamp folds in the sign rule (a negative hash has
/// difficulty 0, below any positive minimum). Returned as 64 little-endian bytes.
///
/// # Errors
/// [`TargetError::NotPositive`] for a raw minimum of 0 or less, [`TargetError::Unreachable`] when
/// the bound is 0.
pub fn acceptance_bound(min: &IxiNumber) -> Result<[u8; 64], TargetError> {
    if !min.raw().is_positive() {
        return Err(TargetError::NotPositive(min.clone()));
    }
    let bound = scaled_max_target() / min.raw();
    if bound.is_zero() {
        return Err(TargetError::Unreachable(min.clone()));
    }
    let max_positive = (BigInt::one() << 511) - 1;
    let bound = bound.min(max_positive);
    let (sign, bytes) = bound.to_bytes_le();
    debug_assert_eq!(sign, Sign::Plus);
    let mut out = [0u8; 64];
    out[..bytes.len()].copy_from_slice(&bytes);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_target_has_difficulty_one_and_max_bits() {
        let mut m = vec![0u8; 57];
        m.extend_from_slice(&[0xff; 7]);
        m.push(0);
        assert_eq!(hash_to_difficulty(&m).unwrap(), IxiNumber::from_whole(1));
        assert_eq!(hash_to_bits(&m), MAX_TARGET_BITS);
    }

    #[test]
    fn bound_matches_the_reference_comparison_at_its_edge() {
        let min = IxiNumber::from_whole(10_000_000);
        let bound = acceptance_bound(&min).unwrap();
        assert!(validate_hash(&bound, &min).unwrap());
        let above = BigInt::from_bytes_le(Sign::Plus, &bound) + BigInt::one();
        let (_, b) = above.to_bytes_le();
        let mut above_bytes = [0u8; 64];
        above_bytes[..b.len()].copy_from_slice(&b);
        assert!(!validate_hash(&above_bytes, &min).unwrap());
    }

    #[test]
    fn bound_errors() {
        assert!(matches!(
            acceptance_bound(&IxiNumber::default()),
            Err(TargetError::NotPositive(_))
        ));
        let huge = IxiNumber::from_raw(scaled_max_target() + 1);
        assert!(matches!(
            acceptance_bound(&huge),
            Err(TargetError::Unreachable(_))
        ));
    }

    #[test]
    fn a_small_minimum_still_rejects_negative_hashes() {
        let bound = acceptance_bound(&IxiNumber::from_raw(1)).unwrap();
        assert_eq!(bound[63], 0x7f);
    }
}
