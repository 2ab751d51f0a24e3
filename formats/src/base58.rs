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

/// Decodes Base58 text; each leading `1` becomes a leading zero byte.
///
/// # Errors
/// [`Base58Error::InvalidCharacter`] naming the first character outside the alphabet.
pub fn decode(text: &str) -> Result<Vec<u8>, Base58Error> {
    let ones = text.bytes().take_while(|&b| b == b'1').count();
    // Base-256 bytes, least significant first.
    let mut bytes: Vec<u8> = Vec::with_capacity(text.len());
    for (position, character) in text.chars().enumerate().skip(ones) {
        let value = ALPHABET
            .iter()
            .position(|&a| char::from(a) == character)
            .ok_or(Base58Error::InvalidCharacter {
                character,
                position,
            })?;
        #[expect(
            clippy::cast_possible_truncation,
            reason = "an alphabet index is below 58"
        )]
        let mut carry = value as u32;
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
}
