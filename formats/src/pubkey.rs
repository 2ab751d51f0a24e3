//! The Ixian RSA public-key layout (`BouncyCastle.rsaKeyToBytes` / `rsaKeyFromBytes`).
//!
//! ```text
//! [u8 address version][i32 LE 0]                 header, absent in the 523-byte legacy form
//! [i32 LE len][modulus, big-endian]
//! [i32 LE len][exponent, big-endian]
//! ```
//!
//! Sizes: 528 bytes for RSA-4096 v0/v1 wallet keys, 272 for RSA-2048 v2 signer keys, 523 for the
//! legacy header-less RSA-4096 key. The reference parses anything after the exponent as private
//! fields, so bytes left over make a *public* key invalid.

/// Why bytes are not an Ixian RSA public key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The input ended inside the named field.
    #[error("public key truncated in {field}: need {needed} bytes, have {available}")]
    Truncated {
        /// The field being read.
        field: &'static str,
        /// Bytes the field needs.
        needed: usize,
        /// Bytes that were left.
        available: usize,
    },
    /// A negative length prefix.
    #[error("public key {field} has a negative length {length}")]
    NegativeLength {
        /// The field whose prefix is negative.
        field: &'static str,
        /// The length read.
        length: i32,
    },
    /// An empty modulus or exponent.
    #[error("public key {0} is empty")]
    EmptyField(&'static str),
    /// Bytes after the exponent (the reference reads them as private-key fields and fails).
    #[error("public key has {0} trailing bytes after the exponent")]
    TrailingBytes(usize),
}

/// Length of the header-less legacy RSA-4096 public key.
pub const LEGACY_PUBLIC_LEN: usize = 523;
/// Length of the header-less legacy RSA-4096 private key (never a valid public key).
pub const LEGACY_PRIVATE_LEN: usize = 2339;

/// The header in front of the modulus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyHeader {
    /// Address version byte and the (ignored) 32-bit key version.
    Versioned {
        /// Byte 0: the address version the key derives.
        address_version: u8,
        /// The int32 after it; written as 0, ignored on read.
        key_version: i32,
    },
    /// The 523-byte legacy form without a header.
    Legacy,
}

/// An RSA public key as the Ixian layout carries it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RsaPublicKey {
    /// The header.
    pub header: KeyHeader,
    /// The modulus, big-endian, as stored (no leading zero byte is added or removed).
    pub modulus: Vec<u8>,
    /// The public exponent, big-endian (`01 00 01` for every key the reference generates).
    pub exponent: Vec<u8>,
}

struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], KeyError> {
        if self.rest.len() < n {
            return Err(KeyError::Truncated {
                field,
                needed: n,
                available: self.rest.len(),
            });
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    fn i32_le(&mut self, field: &'static str) -> Result<i32, KeyError> {
        let bytes = self.take(4, field)?;
        Ok(i32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
    }

    fn length_prefixed(&mut self, field: &'static str) -> Result<&'a [u8], KeyError> {
        let length = self.i32_le(field)?;
        let n = usize::try_from(length).map_err(|_| KeyError::NegativeLength { field, length })?;
        let bytes = self.take(n, field)?;
        if bytes.is_empty() {
            return Err(KeyError::EmptyField(field));
        }
        Ok(bytes)
    }
}

impl RsaPublicKey {
    /// Builds a versioned key (`rsaKeyToBytes` with the given address version).
    #[must_use]
    pub fn new(address_version: u8, modulus: Vec<u8>, exponent: Vec<u8>) -> Self {
        Self {
            header: KeyHeader::Versioned {
                address_version,
                key_version: 0,
            },
            modulus,
            exponent,
        }
    }

    /// Parses the Ixian layout; any length is read by the layout's own prefixes, with the
    /// reference's rule that exactly 523 and 2339 bytes mean the header-less legacy form.
    ///
    /// # Errors
    /// [`KeyError`] naming the field that is truncated, negative, empty, or the trailing bytes.
    pub fn parse(bytes: &[u8]) -> Result<Self, KeyError> {
        let mut r = Reader { rest: bytes };
        let header = if bytes.len() == LEGACY_PUBLIC_LEN || bytes.len() == LEGACY_PRIVATE_LEN {
            KeyHeader::Legacy
        } else {
            let address_version = r.take(1, "address version")?[0];
            let key_version = r.i32_le("key version")?;
            KeyHeader::Versioned {
                address_version,
                key_version,
            }
        };
        let modulus = r.length_prefixed("modulus")?.to_vec();
        let exponent = r.length_prefixed("exponent")?.to_vec();
        if !r.rest.is_empty() {
            return Err(KeyError::TrailingBytes(r.rest.len()));
        }
        Ok(Self {
            header,
            modulus,
            exponent,
        })
    }

    /// Serializes in the Ixian layout.
    ///
    /// # Panics
    /// Never for real keys: a field longer than `i32::MAX` bytes cannot be length-prefixed.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(13 + self.modulus.len() + self.exponent.len());
        if let KeyHeader::Versioned {
            address_version,
            key_version,
        } = self.header
        {
            out.push(address_version);
            out.extend_from_slice(&key_version.to_le_bytes());
        }
        for field in [&self.modulus, &self.exponent] {
            #[allow(clippy::expect_used)]
            let len = i32::try_from(field.len()).expect("RSA field longer than i32::MAX bytes");
            out.extend_from_slice(&len.to_le_bytes());
            out.extend_from_slice(field);
        }
        out
    }

    /// The modulus size in bits, ignoring leading zero bytes.
    #[must_use]
    pub fn modulus_bits(&self) -> usize {
        bit_length_be(&self.modulus)
    }
}

/// A big-endian unsigned integer without its leading zero bytes (empty for zero).
#[must_use]
pub fn trim_leading_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    &bytes[first..]
}

/// The bit length of a big-endian unsigned integer (0 for zero).
#[must_use]
pub fn bit_length_be(bytes: &[u8]) -> usize {
    let trimmed = trim_leading_zeros(bytes);
    match trimmed.first() {
        Some(&top) => trimmed.len() * 8 - top.leading_zeros() as usize,
        None => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> RsaPublicKey {
        RsaPublicKey::new(2, vec![0xc5; 256], vec![1, 0, 1])
    }

    #[test]
    fn round_trip_and_size() {
        let key = sample();
        let bytes = key.to_bytes();
        assert_eq!(bytes.len(), 272);
        assert_eq!(RsaPublicKey::parse(&bytes).unwrap(), key);
        assert_eq!(key.modulus_bits(), 2048);
    }

    #[test]
    fn bit_lengths_of_big_endian_integers() {
        assert_eq!(bit_length_be(&[]), 0);
        assert_eq!(bit_length_be(&[0, 0]), 0);
        assert_eq!(bit_length_be(&[0, 1]), 1);
        assert_eq!(bit_length_be(&[0, 0x80, 0]), 16);
        assert_eq!(trim_leading_zeros(&[0, 0, 5, 0]), &[5, 0]);
    }

    #[test]
    fn trailing_bytes_are_rejected() {
        let mut bytes = sample().to_bytes();
        bytes.push(0);
        assert_eq!(RsaPublicKey::parse(&bytes), Err(KeyError::TrailingBytes(1)));
    }

    #[test]
    fn every_truncation_is_an_error() {
        let bytes = sample().to_bytes();
        for cut in 0..bytes.len() {
            assert!(RsaPublicKey::parse(&bytes[..cut]).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn negative_length_is_named() {
        let mut bytes = sample().to_bytes();
        bytes[5..9].copy_from_slice(&(-1i32).to_le_bytes());
        assert!(matches!(
            RsaPublicKey::parse(&bytes),
            Err(KeyError::NegativeLength {
                field: "modulus",
                ..
            })
        ));
    }
}
