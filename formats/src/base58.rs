//! Bitcoin-alphabet Base58 (`Utils/Base58CheckEncoding.cs` without its own checksum: Ixian
//! addresses carry theirs inside the encoded bytes).

const ALPHABET: &[u8; 58] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/// Why text is not Base58.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Base58Error {
    /// A character outside the alphabet, at the given position.
    #[error("invalid base58 character {character:?} at position {position}")]
    InvalidCharacter {
        /// The character.
        character: char,
        /// Its index in the text.
        position: usize,
    },
}

/// Encodes `bytes`; each leading zero byte becomes a leading `1`.
#[must_use]
pub fn encode(bytes: &[u8]) -> String {
    let zeros = bytes.iter().take_while(|&&b| b == 0).count();
    // Base-58 digits, least significant first.
    let mut digits: Vec<u8> = Vec::with_capacity(bytes.len() * 138 / 100 + 1);
    for &byte in &bytes[zeros..] {
        let mut carry = u32::from(byte);
        for d in &mut digits {
            carry += u32::from(*d) << 8;
            // carry % 58 < 58: fits a byte.
            *d = (carry % 58) as u8;
            carry /= 58;
        }
        while carry > 0 {
            digits.push((carry % 58) as u8);
            carry /= 58;
        }
    }
    let mut out = String::with_capacity(zeros + digits.len());
    out.extend(std::iter::repeat_n('1', zeros));
    out.extend(
        digits
            .iter()
            .rev()
            .map(|&d| char::from(ALPHABET[usize::from(d)])),
    );
    out
}

/// Each character's digit, or `NOT_A_DIGIT`.
const DIGITS: [u8; 128] = {
    let mut table = [NOT_A_DIGIT; 128];
    let mut i = 0;
    while i < ALPHABET.len() {
        #[expect(clippy::cast_possible_truncation, reason = "i < 58")]
        let digit = i as u8;
        table[ALPHABET[i] as usize] = digit;
        i += 1;
    }
    table
};
const NOT_A_DIGIT: u8 = 0xff;
/// Digits taken at once: 58^10 < 2^59, so a 64-bit limb times it fits 128 bits.
const DIGITS_PER_STEP: usize = 10;

/// `limbs = limbs * scale + value`, the limbs least significant first.
fn multiply_add(limbs: &mut Vec<u64>, scale: u64, value: u64) {
    let mut carry = u128::from(value);
    for limb in limbs.iter_mut() {
        let t = u128::from(*limb) * u128::from(scale) + carry;
        #[expect(clippy::cast_possible_truncation, reason = "the low 64 bits")]
        let low = t as u64;
        *limb = low;
        carry = t >> 64;
    }
    if carry > 0 {
        #[expect(clippy::cast_possible_truncation, reason = "carry < 2^64")]
        limbs.push(carry as u64);
    }
}

/// Decodes Base58 text; each leading `1` becomes a leading zero byte.
///
/// Ten digits at a time into 64-bit limbs: a 720-character wallet key (transactions carry them)
/// takes about 50 times fewer steps than a digit at a time into bytes.
///
/// # Errors
/// [`Base58Error::InvalidCharacter`] naming the first character outside the alphabet.
pub fn decode(text: &str) -> Result<Vec<u8>, Base58Error> {
    let ones = text.bytes().take_while(|&b| b == b'1').count();
    // The number, least significant limb first.
    let mut limbs: Vec<u64> = Vec::with_capacity(text.len() * 733 / 1000 / 8 + 1);
    let (mut chunk, mut chunk_scale, mut chunk_len) = (0u64, 1u64, 0usize);
    for (position, character) in text.chars().enumerate().skip(ones) {
        let digit = u32::from(character)
            .try_into()
            .ok()
            .and_then(|c: usize| DIGITS.get(c).copied())
            .filter(|&d| d != NOT_A_DIGIT)
            .ok_or(Base58Error::InvalidCharacter {
                character,
                position,
            })?;
        chunk = chunk * 58 + u64::from(digit);
        chunk_scale *= 58;
        chunk_len += 1;
        if chunk_len == DIGITS_PER_STEP {
            multiply_add(&mut limbs, chunk_scale, chunk);
            (chunk, chunk_scale, chunk_len) = (0, 1, 0);
        }
    }
    if chunk_len > 0 {
        multiply_add(&mut limbs, chunk_scale, chunk);
    }
    let mut out = vec![0u8; ones];
    let big_endian = limbs.iter().rev().flat_map(|limb| limb.to_be_bytes());
    out.extend(big_endian.skip_while(|&b| b == 0));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            prop_assert_eq!(decode(&encode(&bytes)).unwrap(), bytes);
        }
    }

    #[test]
    fn known_values() {
        assert_eq!(encode(b""), "");
        assert_eq!(encode(&[0, 0, 1]), "112");
        assert_eq!(encode(b"hello world"), "StV1DL6CwTryKyV");
        assert!(matches!(
            decode("12O"),
            Err(Base58Error::InvalidCharacter {
                character: 'O',
                position: 2
            })
        ));
    }

    /// The plain path: a digit at a time into base-256 bytes (the definition).
    fn decode_plain(text: &str) -> Option<Vec<u8>> {
        let ones = text.bytes().take_while(|&b| b == b'1').count();
        let mut bytes: Vec<u8> = Vec::new();
        for character in text.chars().skip(ones) {
            let mut carry =
                u32::try_from(ALPHABET.iter().position(|&a| char::from(a) == character)?).ok()?;
            for b in &mut bytes {
                carry += u32::from(*b) * 58;
                *b = (carry & 0xff) as u8;
                carry >>= 8;
            }
            while carry > 0 {
                bytes.push((carry & 0xff) as u8);
                carry >>= 8;
            }
        }
        let mut out = vec![0u8; ones];
        out.extend(bytes.iter().rev());
        Some(out)
    }

    proptest! {
        #[test]
        fn decodes_as_the_plain_path(text in "[1-9A-HJ-NP-Za-km-z]{0,800}") {
            prop_assert_eq!(decode(&text).ok(), decode_plain(&text));
        }

        #[test]
        fn round_trips_long_keys(bytes in proptest::collection::vec(any::<u8>(), 500..=530)) {
            prop_assert_eq!(decode(&encode(&bytes)).unwrap(), bytes);
        }
    }

    #[test]
    fn rejects_characters_outside_the_alphabet_by_position() {
        for (text, character, position) in [
            ("1l", 'l', 1),
            ("abcé", 'é', 3),
            ("0", '0', 0),
            ("11I", 'I', 2),
        ] {
            assert_eq!(
                decode(text),
                Err(Base58Error::InvalidCharacter {
                    character,
                    position
                }),
                "{text}"
            );
        }
        assert_eq!(decode("111").unwrap(), vec![0, 0, 0]);
        assert_eq!(decode("").unwrap(), Vec::<u8>::new());
    }
}
