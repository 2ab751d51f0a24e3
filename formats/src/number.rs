//! IxiNumber (`Ixian-Core Utils/IxiNumber.cs`): a signed amount with 8 decimals over an
//! arbitrary-size integer. The *raw* amount is the value times 10^8.

use std::fmt;
use std::str::FromStr;

use num_bigint::BigInt;
use num_integer::Integer as _;
use num_traits::{Signed as _, Zero as _};

/// Decimal places of an IxiNumber.
pub const DECIMALS: usize = 8;

/// 10^8, the raw amount of 1.
#[must_use]
pub fn divisor() -> BigInt {
    BigInt::from(100_000_000u32)
}

/// Why a decimal text is not an IxiNumber.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NumberParseError {
    /// Nothing but white space.
    #[error("empty number")]
    Empty,
    /// A character other than digits, one leading `-` and one `.`.
    #[error("invalid number {0:?}: expected digits with an optional '-' and one '.'")]
    Invalid(String),
}

/// Why raw two's-complement bytes are not an IxiNumber.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NumberBytesError {
    /// The reference throws `ArgumentException` for an empty array.
    #[error("an IxiNumber cannot be built from an empty byte array")]
    Empty,
}

/// An IxiNumber: `amount / 10^8`, compared and stored by its raw `amount`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct IxiNumber {
    amount: BigInt,
}

impl IxiNumber {
    /// From a raw amount (`IxiNumber(BigInteger)`).
    #[must_use]
    pub fn from_raw(amount: impl Into<BigInt>) -> Self {
        Self {
            amount: amount.into(),
        }
    }

    /// From a whole number of units (`IxiNumber(long)`: raw = n * 10^8).
    #[must_use]
    pub fn from_whole(units: impl Into<BigInt>) -> Self {
        Self {
            amount: units.into() * divisor(),
        }
    }

    /// From signed two's-complement little-endian bytes (`IxiNumber(byte[])`).
    ///
    /// # Errors
    /// [`NumberBytesError::Empty`] for an empty slice, as the reference throws.
    pub fn from_le_bytes(bytes: &[u8]) -> Result<Self, NumberBytesError> {
        if bytes.is_empty() {
            return Err(NumberBytesError::Empty);
        }
        Ok(Self::from_raw(BigInt::from_signed_bytes_le(bytes)))
    }

    /// The raw amount (value * 10^8).
    #[must_use]
    pub fn raw(&self) -> &BigInt {
        &self.amount
    }

    /// Minimal two's-complement little-endian bytes (`getBytes`, `BigInteger.ToByteArray`).
    #[must_use]
    pub fn to_le_bytes(&self) -> Vec<u8> {
        self.amount.to_signed_bytes_le()
    }

    /// `a / b` as the reference divides: `(a.raw * 10^8) / b.raw`, truncated toward zero.
    /// `None` when `b` is zero (the reference throws `DivideByZeroException`).
    #[must_use]
    pub fn checked_div(&self, other: &Self) -> Option<Self> {
        if other.amount.is_zero() {
            return None;
        }
        // num-bigint's `/` truncates toward zero, as BigInteger.Divide does.
        Some(Self::from_raw(&self.amount * divisor() / &other.amount))
    }

    /// `a * b` as the reference multiplies: `(a.raw * b.raw) / 10^8`, truncated toward zero.
    #[must_use]
    pub fn mul(&self, other: &Self) -> Self {
        Self::from_raw(&self.amount * &other.amount / divisor())
    }
}

impl FromStr for IxiNumber {
    type Err = NumberParseError;

    /// `IxiNumber(string)`: the fraction is padded or **truncated** to 8 digits.
    ///
    /// Stricter than the reference in one way: text it would reject with a `FormatException`
    /// or silently misread (a second `.`, a second sign) is an error here.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(NumberParseError::Empty);
        }
        let invalid = || NumberParseError::Invalid(text.to_owned());
        let (negative, unsigned) = match trimmed.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, trimmed),
        };
        let (int_part, frac_part) = unsigned.split_once('.').unwrap_or((unsigned, ""));
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(int_part) || !all_digits(frac_part) || int_part.len() + frac_part.len() == 0
        {
            return Err(invalid());
        }
        let mut digits = String::with_capacity(int_part.len() + DECIMALS);
        digits.push_str(int_part);
        let kept = frac_part.get(..DECIMALS).unwrap_or(frac_part);
        digits.push_str(kept);
        digits.extend(std::iter::repeat_n('0', DECIMALS - kept.len()));
        let amount: BigInt = digits.parse().map_err(|_| invalid())?;
        Ok(Self::from_raw(if negative { -amount } else { amount }))
    }
}

impl fmt::Display for IxiNumber {
    /// `ToString()`: `"{int}.{8-digit fraction}"`, with `-` in front of negative amounts.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (int, frac) = self.amount.div_rem(&divisor());
        let sign = if self.amount.is_negative() { "-" } else { "" };
        write!(f, "{sign}{}.{:0>8}", int.abs(), frac.abs().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_print() {
        let cases = [
            ("0", "0", "0.00000000"),
            ("-2.5", "-250000000", "-2.50000000"),
            ("0.000000015", "1", "0.00000001"),
            (".5", "50000000", "0.50000000"),
            (" 7. ", "700000000", "7.00000000"),
            ("-0.00000001", "-1", "-0.00000001"),
        ];
        for (text, raw, shown) in cases {
            let n: IxiNumber = text.parse().unwrap();
            assert_eq!(n.raw().to_string(), raw, "{text}");
            assert_eq!(n.to_string(), shown, "{text}");
        }
    }

    #[test]
    fn bad_text_is_an_error_naming_it() {
        for text in [
            "", "  ", "-", ".", "1.2.3", "--1", "1e5", "+1", "abc", "1 2",
        ] {
            let err = text.parse::<IxiNumber>().unwrap_err();
            assert!(!err.to_string().is_empty(), "{text}");
        }
        assert!(
            "1x".parse::<IxiNumber>()
                .unwrap_err()
                .to_string()
                .contains("1x")
        );
    }

    #[test]
    fn division_truncates_toward_zero() {
        let a = IxiNumber::from_raw(-7);
        let b = IxiNumber::from_whole(2);
        assert_eq!(a.checked_div(&b).unwrap().raw(), &BigInt::from(-3));
        assert!(a.checked_div(&IxiNumber::default()).is_none());
    }
}
