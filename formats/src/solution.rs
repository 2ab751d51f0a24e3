//! The signer-PoW solution (`Ixian-Core Pow/SignerPowSolution.cs`): its challenge data, its hash
//! and its network form.
//!
//! ```text
//! challenge prefix = varint(blockNum) ‖ blockHash ‖ addressNoChecksum ‖ pubKeyPart
//! hash             = sha3_512sq(challenge prefix ‖ nonce)          nonce: 1..=64 bytes
//! pubKeyPart       = sha3_512sq(signingPubKey) if it is longer than 64 bytes, else the key itself
//! network form     = varint(blockNum) ‖ varint(len) ‖ nonce ‖ varint(len) ‖ signingPubKey
//! ```

use std::borrow::Cow;

use crate::hash::sha3_512sq;
use crate::varint::{self, VarIntError};

/// Why a nonce or a solution's network form is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SolutionError {
    /// A nonce outside 1..=64 bytes (`solutionToHash` returns null; the node rejects it).
    #[error("nonce of {0} bytes: must be 1 to 64 bytes")]
    NonceLength(usize),
    /// A signing key over 300 bytes in the network form.
    #[error("signing key of {0} bytes: at most 300 bytes")]
    SigningKeyTooLong(u64),
    /// A length or block number that is not a valid varint.
    #[error("invalid varint in {field}: {source}")]
    VarInt {
        /// The field being read.
        field: &'static str,
        /// What was wrong.
        source: VarIntError,
    },
    /// The input ended inside a field.
    #[error("solution truncated in {0}")]
    Truncated(&'static str),
}

/// Longest nonce the network accepts.
pub const MAX_NONCE_LEN: usize = 64;
/// Longest signing key the network form accepts.
pub const MAX_SIGNING_KEY_LEN: usize = 300;
/// A key longer than this enters the challenge as its `sha3_512sq`.
pub const RAW_KEY_MAX_LEN: usize = 64;

/// `pubKeyPart`: the key hashed with `sha3_512sq` when longer than 64 bytes, else as is.
#[must_use]
pub fn pub_key_part(signing_pub_key: &[u8]) -> Cow<'_, [u8]> {
    if signing_pub_key.len() > RAW_KEY_MAX_LEN {
        Cow::Owned(sha3_512sq(signing_pub_key).to_vec())
    } else {
        Cow::Borrowed(signing_pub_key)
    }
}

/// The challenge prefix a nonce is appended to: exactly what the node's `getSigningChallenge`
/// returns (there with the key already hashed).
#[must_use]
pub fn challenge_prefix(
    block_num: u64,
    block_hash: &[u8],
    address_no_checksum: &[u8],
    signing_pub_key: &[u8],
) -> Vec<u8> {
    let key_part = pub_key_part(signing_pub_key);
    let mut out = Vec::with_capacity(
        varint::MAX_LEN + block_hash.len() + address_no_checksum.len() + key_part.len(),
    );
    varint::write_u64(block_num, &mut out);
    out.extend_from_slice(block_hash);
    out.extend_from_slice(address_no_checksum);
    out.extend_from_slice(&key_part);
    out
}

/// Checks the nonce length rule of `solutionToHash`.
///
/// # Errors
/// [`SolutionError::NonceLength`] outside 1..=64 bytes.
pub fn check_nonce_len(len: usize) -> Result<(), SolutionError> {
    if (1..=MAX_NONCE_LEN).contains(&len) {
        Ok(())
    } else {
        Err(SolutionError::NonceLength(len))
    }
}

/// `sha3_512sq(prefix ‖ nonce)`, the plain reference path with no midstate.
///
/// # Errors
/// [`SolutionError::NonceLength`] outside 1..=64 bytes.
pub fn hash_with_prefix(prefix: &[u8], nonce: &[u8]) -> Result<[u8; 64], SolutionError> {
    check_nonce_len(nonce.len())?;
    let mut data = Vec::with_capacity(prefix.len() + nonce.len());
    data.extend_from_slice(prefix);
    data.extend_from_slice(nonce);
    Ok(sha3_512sq(&data))
}

/// A signer-PoW solution as it travels between nodes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SignerPowSolution {
    /// The block whose hash the challenge uses.
    pub block_num: u64,
    /// The nonce.
    pub nonce: Vec<u8>,
    /// The signing public key (or its 64-byte hash in the compacted form).
    pub signing_pub_key: Vec<u8>,
}

impl SignerPowSolution {
    /// The network form (`getBytes`); `compacted` replaces a key over 64 bytes by its hash.
    ///
    /// # Panics
    /// Never: lengths of in-memory slices always fit an `i64`.
    #[must_use]
    pub fn to_bytes(&self, compacted: bool) -> Vec<u8> {
        let key: Cow<'_, [u8]> = if compacted {
            pub_key_part(&self.signing_pub_key)
        } else {
            Cow::Borrowed(&self.signing_pub_key)
        };
        let mut out = Vec::with_capacity(3 * varint::MAX_LEN + self.nonce.len() + key.len());
        varint::write_u64(self.block_num, &mut out);
        for field in [&self.nonce[..], &key[..]] {
            // The reference writes lengths as `int` through the signed writer; for lengths it
            // produces the same bytes as the unsigned one.
            #[allow(clippy::expect_used)]
            let len = i64::try_from(field.len()).expect("slice length fits i64");
            varint::write_i64(len, &mut out);
            out.extend_from_slice(field);
        }
        out
    }

    /// Parses the network form; returns the solution and the bytes read.
    ///
    /// Stricter than the reference's `BinaryReader`, which returns short arrays for truncated
    /// fields: truncation is an error here. A zero-length nonce parses, as in the reference, but
    /// has no hash ([`hash_with_prefix`] rejects it).
    ///
    /// # Errors
    /// [`SolutionError`] naming the field that is invalid, too long or truncated.
    pub fn from_bytes(bytes: &[u8]) -> Result<(Self, usize), SolutionError> {
        let mut pos = 0;
        let read_varint = |pos: &mut usize, field| {
            let (v, n) = varint::read_u64(&bytes[*pos..])
                .map_err(|source| SolutionError::VarInt { field, source })?;
            *pos += n;
            Ok::<u64, SolutionError>(v)
        };
        let block_num = read_varint(&mut pos, "block number")?;
        let nonce_len = read_varint(&mut pos, "nonce length")?;
        if nonce_len > MAX_NONCE_LEN as u64 {
            return Err(SolutionError::NonceLength(
                usize::try_from(nonce_len).unwrap_or(usize::MAX),
            ));
        }
        let take = |pos: &mut usize, len: u64, field| {
            let len = usize::try_from(len).map_err(|_| SolutionError::Truncated(field))?;
            let end = pos
                .checked_add(len)
                .ok_or(SolutionError::Truncated(field))?;
            let slice = bytes
                .get(*pos..end)
                .ok_or(SolutionError::Truncated(field))?;
            *pos = end;
            Ok::<Vec<u8>, SolutionError>(slice.to_vec())
        };
        let nonce = take(&mut pos, nonce_len, "nonce")?;
        let key_len = read_varint(&mut pos, "signing key length")?;
        if key_len > MAX_SIGNING_KEY_LEN as u64 {
            return Err(SolutionError::SigningKeyTooLong(key_len));
        }
        let signing_pub_key = take(&mut pos, key_len, "signing key")?;
        Ok((
            Self {
                block_num,
                nonce,
                signing_pub_key,
            },
            pos,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn network_form_round_trips(
            block_num in any::<u64>(),
            nonce in proptest::collection::vec(any::<u8>(), 0..=64),
            key in proptest::collection::vec(any::<u8>(), 0..=300),
        ) {
            let s = SignerPowSolution { block_num, nonce, signing_pub_key: key };
            let bytes = s.to_bytes(false);
            prop_assert_eq!(SignerPowSolution::from_bytes(&bytes), Ok((s, bytes.len())));
        }

        #[test]
        fn parser_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
            let _ = SignerPowSolution::from_bytes(&bytes);
        }
    }

    #[test]
    fn compacted_form_hashes_long_keys() {
        let s = SignerPowSolution {
            block_num: 7,
            nonce: vec![1, 2],
            signing_pub_key: vec![9; 272],
        };
        let compact = s.to_bytes(true);
        let (parsed, _) = SignerPowSolution::from_bytes(&compact).unwrap();
        assert_eq!(parsed.signing_pub_key, sha3_512sq(&[9; 272]));
    }

    #[test]
    fn limits_are_enforced() {
        assert_eq!(check_nonce_len(0), Err(SolutionError::NonceLength(0)));
        assert_eq!(check_nonce_len(65), Err(SolutionError::NonceLength(65)));
        let too_long = [0x05, 65];
        assert_eq!(
            SignerPowSolution::from_bytes(&too_long),
            Err(SolutionError::NonceLength(65))
        );
    }
}
