//! Ixian addresses (`Ixian-Core Address/Address.cs`), derived from a public key.
//!
//! | version | bytes (no checksum) |
//! |---|---|
//! | v0 | `[0] ‖ sha512qu(pub[off..])[..32]`, `off` 0 for the 523-byte legacy key, else 5 |
//! | v1 | `[1] ‖ sha512sq(pub[1..])[..44]` |
//! | v2 | `[2] ‖ sha3_512sq(pub)[..44]` |
//!
//! The checksum is `sha512sq(address)[..3]`; the text form is Base58 of address ‖ checksum.

use std::fmt;

use crate::base58;
use crate::hash::{sha3_512sq, sha512qu, sha512sq};
use crate::pubkey::LEGACY_PUBLIC_LEN;

/// Why bytes or text are not an address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AddressError {
    /// An empty public key.
    #[error("empty public key")]
    EmptyKey,
    /// A public key too short for its version's derivation.
    #[error("public key of {0} bytes is too short to derive an address")]
    KeyTooShort(usize),
    /// A version byte this implementation does not know.
    #[error("unsupported address version {0}")]
    UnsupportedVersion(u8),
    /// Address bytes of a length no version has.
    #[error("address of {0} bytes: expected 33 or 45 (36 or 48 with checksum)")]
    BadLength(usize),
    /// A version byte that does not match the address length.
    #[error("address version {version} does not match its length {length}")]
    VersionLengthMismatch {
        /// The version byte.
        version: u8,
        /// The length without checksum.
        length: usize,
    },
    /// The 3-byte checksum does not match.
    #[error("address checksum mismatch")]
    BadChecksum,
    /// The text is not Base58.
    #[error(transparent)]
    Base58(#[from] base58::Base58Error),
}

/// Length of a v0 address without its checksum.
pub const V0_LEN: usize = 33;
/// Length of a v1/v2 address without its checksum.
pub const V1_LEN: usize = 45;
/// Length of the checksum.
pub const CHECKSUM_LEN: usize = 3;

/// An address without its checksum (`addressNoChecksum`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Address {
    bytes: Vec<u8>,
}

fn expected_len(version: u8) -> Result<usize, AddressError> {
    match version {
        0 => Ok(V0_LEN),
        1 | 2 => Ok(V1_LEN),
        v => Err(AddressError::UnsupportedVersion(v)),
    }
}

impl Address {
    /// Derives the address of a public key in the Ixian layout.
    ///
    /// # Errors
    /// [`AddressError::EmptyKey`], [`AddressError::KeyTooShort`], or
    /// [`AddressError::UnsupportedVersion`] for a version byte above 2.
    pub fn from_public_key(key: &[u8]) -> Result<Self, AddressError> {
        let &first = key.first().ok_or(AddressError::EmptyKey)?;
        let version = if key.len() == LEGACY_PUBLIC_LEN {
            0
        } else {
            first
        };
        let mut bytes = Vec::with_capacity(expected_len(version)?);
        bytes.push(version);
        match version {
            0 => {
                let offset = if key.len() == LEGACY_PUBLIC_LEN { 0 } else { 5 };
                let body = key
                    .get(offset..)
                    .ok_or(AddressError::KeyTooShort(key.len()))?;
                bytes.extend_from_slice(&sha512qu(body)[..V0_LEN - 1]);
            }
            1 => bytes.extend_from_slice(&sha512sq(&key[1..])[..V1_LEN - 1]),
            _ => bytes.extend_from_slice(&sha3_512sq(key)[..V1_LEN - 1]),
        }
        Ok(Self { bytes })
    }

    /// Reads address bytes, with (checked) or without a checksum.
    ///
    /// # Errors
    /// [`AddressError::BadLength`], [`AddressError::VersionLengthMismatch`],
    /// [`AddressError::UnsupportedVersion`] or [`AddressError::BadChecksum`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, AddressError> {
        let (body, checksum) = match bytes.len() {
            V0_LEN | V1_LEN => (bytes, None),
            n if n == V0_LEN + CHECKSUM_LEN || n == V1_LEN + CHECKSUM_LEN => {
                let (body, sum) = bytes.split_at(n - CHECKSUM_LEN);
                (body, Some(sum))
            }
            n => return Err(AddressError::BadLength(n)),
        };
        let version = body[0];
        if expected_len(version)? != body.len() {
            return Err(AddressError::VersionLengthMismatch {
                version,
                length: body.len(),
            });
        }
        let address = Self {
            bytes: body.to_vec(),
        };
        if checksum.is_some_and(|sum| sum != address.checksum()) {
            return Err(AddressError::BadChecksum);
        }
        Ok(address)
    }

    /// Parses the Base58 text form and checks its checksum.
    ///
    /// # Errors
    /// As [`Address::from_bytes`], or [`AddressError::Base58`].
    pub fn from_base58(text: &str) -> Result<Self, AddressError> {
        let bytes = base58::decode(text)?;
        if bytes.len() != V0_LEN + CHECKSUM_LEN && bytes.len() != V1_LEN + CHECKSUM_LEN {
            return Err(AddressError::BadLength(bytes.len()));
        }
        Self::from_bytes(&bytes)
    }

    /// The version byte.
    #[must_use]
    pub fn version(&self) -> u8 {
        self.bytes[0]
    }

    /// The address without checksum, as the PoW challenge uses it.
    #[must_use]
    pub fn no_checksum(&self) -> &[u8] {
        &self.bytes
    }

    /// `sha512sq(address)[..3]`.
    #[must_use]
    pub fn checksum(&self) -> [u8; CHECKSUM_LEN] {
        let h = sha512sq(&self.bytes);
        [h[0], h[1], h[2]]
    }

    /// The address followed by its checksum.
    #[must_use]
    pub fn with_checksum(&self) -> Vec<u8> {
        let mut out = self.bytes.clone();
        out.extend_from_slice(&self.checksum());
        out
    }
}

impl fmt::Display for Address {
    /// The Base58 text form (`Address.ToString()`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&base58::encode(&self.with_checksum()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trip_and_checksum_check() {
        let key = crate::pubkey::RsaPublicKey::new(2, vec![0x99; 256], vec![1, 0, 1]).to_bytes();
        let addr = Address::from_public_key(&key).unwrap();
        assert_eq!(addr.version(), 2);
        assert_eq!(addr.no_checksum().len(), V1_LEN);
        let text = addr.to_string();
        assert_eq!(Address::from_base58(&text).unwrap(), addr);
        let mut bad = addr.with_checksum();
        bad[46] ^= 1;
        assert_eq!(Address::from_bytes(&bad), Err(AddressError::BadChecksum));
    }

    #[test]
    fn unknown_version_and_lengths_are_errors() {
        assert_eq!(
            Address::from_public_key(&[3, 0, 0]),
            Err(AddressError::UnsupportedVersion(3))
        );
        assert_eq!(Address::from_public_key(&[]), Err(AddressError::EmptyKey));
        assert_eq!(
            Address::from_public_key(&[0, 1]),
            Err(AddressError::KeyTooShort(2))
        );
        assert_eq!(
            Address::from_bytes(&[1; 10]),
            Err(AddressError::BadLength(10))
        );
    }
}
