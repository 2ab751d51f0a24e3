//! IxiVarInt (`Ixian-Core Utils/IxiVarInt.cs`).
//!
//! One type byte, then a little-endian payload:
//!
//! | type byte | unsigned reader | signed reader |
//! |---|---|---|
//! | `< 0xf8` | the value itself | the value itself |
//! | `f8` / `f9` / `fa` | error | minus a u16 / u32 / u64 magnitude |
//! | `fc` / `fd` / `fe` | u16 / u32 / u64 | u16 / u32 / u64 (must fit i64) |
//! | `fb`, `ff` | error | error |
//!
//! Writers produce the minimal form; readers accept non-minimal forms (`fc0500` is 5), exactly as
//! the reference does. Negative numbers are sign and magnitude, not two's complement.

/// Why a varint could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VarIntError {
    /// The input ended before the value did (the reference's `TryRead…` returns false).
    #[error("truncated varint: need {needed} bytes, have {available}")]
    Truncated {
        /// Bytes the type byte announces, including itself.
        needed: usize,
        /// Bytes that were available.
        available: usize,
    },
    /// A type byte this reader does not accept (the reference returns false).
    #[error("unknown varint type byte 0x{0:02x}")]
    UnknownType(u8),
    /// The value does not fit a signed 64-bit integer (the reference throws `OverflowException`).
    #[error("varint value does not fit a signed 64-bit integer")]
    Overflow,
}

/// Longest encoding: a type byte and 8 payload bytes.
pub const MAX_LEN: usize = 9;

/// Appends the minimal unsigned encoding of `value` (`GetIxiVarIntBytes(ulong)`).
pub fn write_u64(value: u64, out: &mut Vec<u8>) {
    write_magnitude(value, 0xfc, out);
}

/// Appends the minimal signed encoding of `value` (`GetIxiVarIntBytes(long)`).
pub fn write_i64(value: i64, out: &mut Vec<u8>) {
    // unsigned_abs maps i64::MIN to 2^63, as the reference's ToUlongAbs does.
    let magnitude = value.unsigned_abs();
    if value < 0 {
        write_magnitude_sized(magnitude, 0xf8, out);
    } else {
        write_magnitude(magnitude, 0xfc, out);
    }
}

/// The unsigned encoding of `value` as a new vector.
#[must_use]
pub fn u64_bytes(value: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(MAX_LEN);
    write_u64(value, &mut out);
    out
}

/// The signed encoding of `value` as a new vector.
#[must_use]
pub fn i64_bytes(value: i64) -> Vec<u8> {
    let mut out = Vec::with_capacity(MAX_LEN);
    write_i64(value, &mut out);
    out
}

fn write_magnitude(value: u64, base_type: u8, out: &mut Vec<u8>) {
    if value < 0xf8 {
        #[expect(clippy::cast_possible_truncation, reason = "value < 0xf8 fits a byte")]
        let byte = value as u8;
        out.push(byte);
    } else {
        write_magnitude_sized(value, base_type, out);
    }
}

/// Writes `value` with a size class: `base_type` for u16, `+1` for u32, `+2` for u64.
fn write_magnitude_sized(value: u64, base_type: u8, out: &mut Vec<u8>) {
    if let Ok(v) = u16::try_from(value) {
        out.push(base_type);
        out.extend_from_slice(&v.to_le_bytes());
    } else if let Ok(v) = u32::try_from(value) {
        out.push(base_type + 1);
        out.extend_from_slice(&v.to_le_bytes());
    } else {
        out.push(base_type + 2);
        out.extend_from_slice(&value.to_le_bytes());
    }
}

/// Reads the little-endian payload of `len` bytes after the type byte.
fn payload(input: &[u8], len: usize) -> Result<u64, VarIntError> {
    let needed = 1 + len;
    let bytes = input.get(1..needed).ok_or(VarIntError::Truncated {
        needed,
        available: input.len(),
    })?;
    let mut buf = [0u8; 8];
    buf[..len].copy_from_slice(bytes);
    Ok(u64::from_le_bytes(buf))
}

/// Reads an unsigned varint from the start of `input` (`TryReadIxiVarUInt`).
///
/// Returns the value and the number of bytes read.
///
/// # Errors
/// [`VarIntError::Truncated`] for short input, [`VarIntError::UnknownType`] for `f8..=fb` and `ff`.
pub fn read_u64(input: &[u8]) -> Result<(u64, usize), VarIntError> {
    let &ty = input.first().ok_or(VarIntError::Truncated {
        needed: 1,
        available: 0,
    })?;
    let len = match ty {
        0..0xf8 => return Ok((u64::from(ty), 1)),
        0xfc => 2,
        0xfd => 4,
        0xfe => 8,
        _ => return Err(VarIntError::UnknownType(ty)),
    };
    Ok((payload(input, len)?, 1 + len))
}

/// Reads a signed varint from the start of `input` (`TryReadIxiVarInt`).
///
/// Returns the value and the number of bytes read.
///
/// # Errors
/// [`VarIntError::Truncated`] for short input, [`VarIntError::UnknownType`] for `fb` and `ff`,
/// [`VarIntError::Overflow`] for a magnitude outside `i64`.
pub fn read_i64(input: &[u8]) -> Result<(i64, usize), VarIntError> {
    let &ty = input.first().ok_or(VarIntError::Truncated {
        needed: 1,
        available: 0,
    })?;
    let (len, negative) = match ty {
        0..0xf8 => return Ok((i64::from(ty), 1)),
        0xf8 => (2, true),
        0xf9 => (4, true),
        0xfa => (8, true),
        0xfc => (2, false),
        0xfd => (4, false),
        0xfe => (8, false),
        _ => return Err(VarIntError::UnknownType(ty)),
    };
    let magnitude = payload(input, len)?;
    let value = if negative {
        // 0 - 2^63 is i64::MIN; anything larger overflows.
        0i64.checked_sub_unsigned(magnitude)
    } else {
        i64::try_from(magnitude).ok()
    };
    value.map(|v| (v, 1 + len)).ok_or(VarIntError::Overflow)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn unsigned_round_trips(v in any::<u64>()) {
            let bytes = u64_bytes(v);
            prop_assert_eq!(read_u64(&bytes), Ok((v, bytes.len())));
        }

        #[test]
        fn signed_round_trips(v in any::<i64>()) {
            let bytes = i64_bytes(v);
            prop_assert_eq!(read_i64(&bytes), Ok((v, bytes.len())));
        }

        #[test]
        fn non_negative_signed_and_unsigned_agree(v in 0..=i64::MAX) {
            prop_assert_eq!(i64_bytes(v), u64_bytes(v.unsigned_abs()));
        }

        #[test]
        fn readers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..12)) {
            let _ = read_u64(&bytes);
            let _ = read_i64(&bytes);
        }
    }

    #[test]
    fn truncation_names_the_lengths() {
        assert_eq!(
            read_u64(&[0xfd, 1, 2]),
            Err(VarIntError::Truncated {
                needed: 5,
                available: 3
            })
        );
        assert!(matches!(read_u64(&[]), Err(VarIntError::Truncated { .. })));
    }

    #[test]
    fn i64_min_round_trips_through_the_fa_form() {
        assert_eq!(i64_bytes(i64::MIN), [0xfa, 0, 0, 0, 0, 0, 0, 0, 0x80]);
    }
}
