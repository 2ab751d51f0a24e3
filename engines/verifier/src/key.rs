//! A verifying key, parsed and precomputed once.

use ixi_formats::pubkey::{RsaPublicKey, bit_length_be, trim_leading_zeros};
use ixi_kernels::mont::{MAX_MODULUS_BITS, Modulus};
use num_bigint::BigUint;

use crate::error::KeyRejected;
use crate::padding::MIN_ENCODED_LEN;

/// OpenSSL's largest modulus for RSA operations.
const OPENSSL_MAX_MODULUS_BITS: usize = 16384;
/// Above this modulus size OpenSSL limits the exponent to 64 bits.
const OPENSSL_SMALL_MODULUS_BITS: usize = 3072;

/// An RSA public key ready to verify: the modulus and exponent without leading zeros, and the
/// Montgomery constants of the modulus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyingKey {
    modulus: Vec<u8>,
    exponent: Vec<u8>,
    exponent_u64: Option<u64>,
    bits: usize,
    montgomery: Option<Modulus>,
}

impl VerifyingKey {
    /// A key in the Ixian layout (528-byte v0/v1, 272-byte v2, 523-byte legacy).
    ///
    /// # Errors
    /// [`KeyRejected::Malformed`] for a layout error (trailing bytes included), or as
    /// [`VerifyingKey::from_components`].
    pub fn from_ixian(bytes: &[u8]) -> Result<Self, KeyRejected> {
        let key = RsaPublicKey::parse(bytes)?;
        Self::from_components(&key.modulus, &key.exponent)
    }

    /// A key from its big-endian modulus and exponent (leading zero bytes allowed).
    ///
    /// The checks are OpenSSL's for a public-key operation: a modulus of at most 16384 bits,
    /// odd, `e < n`, and `e` of at most 64 bits above 3072-bit moduli; plus room for a SHA-512
    /// encoding.
    ///
    /// # Errors
    /// [`KeyRejected`] naming the failed check.
    pub fn from_components(modulus: &[u8], exponent: &[u8]) -> Result<Self, KeyRejected> {
        let n = trim_leading_zeros(modulus);
        let e = trim_leading_zeros(exponent);
        let bits = bit_length_be(n);
        if bits == 0 || bits > OPENSSL_MAX_MODULUS_BITS {
            return Err(KeyRejected::ModulusSize(bits));
        }
        let e_bits = bit_length_be(e);
        let e_below_n = e.len() < n.len() || (e.len() == n.len() && e < n);
        if !e_below_n || (bits > OPENSSL_SMALL_MODULUS_BITS && e_bits > 64) {
            return Err(KeyRejected::BadExponent);
        }
        if n.last().is_some_and(|&b| b & 1 == 0) {
            return Err(KeyRejected::EvenModulus);
        }
        if n.len() < MIN_ENCODED_LEN {
            return Err(KeyRejected::ModulusTooSmall(n.len()));
        }
        let exponent_u64 = (e.len() <= 8).then(|| {
            let mut buf = [0u8; 8];
            buf[8 - e.len()..].copy_from_slice(e);
            u64::from_be_bytes(buf)
        });
        let montgomery = if bits <= MAX_MODULUS_BITS {
            Modulus::from_be_bytes(n).ok()
        } else {
            None
        };
        Ok(Self {
            modulus: n.to_vec(),
            exponent: e.to_vec(),
            exponent_u64,
            bits,
            montgomery,
        })
    }

    /// The modulus, big-endian, without leading zeros.
    #[must_use]
    pub fn modulus(&self) -> &[u8] {
        &self.modulus
    }

    /// The public exponent, big-endian, without leading zeros (empty for 0).
    #[must_use]
    pub fn exponent(&self) -> &[u8] {
        &self.exponent
    }

    /// The exponent if it fits 64 bits.
    #[must_use]
    pub fn exponent_u64(&self) -> Option<u64> {
        self.exponent_u64
    }

    /// Modulus size in bits.
    #[must_use]
    pub fn bits(&self) -> usize {
        self.bits
    }

    /// `k`: the modulus length in bytes, the only signature length accepted.
    #[must_use]
    pub fn modulus_len(&self) -> usize {
        self.modulus.len()
    }

    /// The Montgomery form of the modulus (keys up to 8192 bits).
    #[must_use]
    pub fn montgomery(&self) -> Option<&Modulus> {
        self.montgomery.as_ref()
    }

    /// The checks before any arithmetic: exact length, and `s < n`.
    #[must_use]
    pub fn signature_in_range(&self, signature: &[u8]) -> bool {
        // Equal lengths: big-endian byte order is numeric order.
        signature.len() == self.modulus.len() && signature < &self.modulus[..]
    }

    /// The specification itself, on the exact portable path: the signature is in range and
    /// `s^e mod n` is the PKCS#1 v1.5 SHA-512 encoding of `message`. The differential oracle
    /// the fast paths are tested against.
    #[must_use]
    pub fn verify_exact_vartime(&self, message: &[u8], signature: &[u8]) -> bool {
        self.signature_in_range(signature)
            && crate::padding::is_encoding_of(&self.public_op_vartime(signature), message)
    }

    /// `s^e mod n` for a signature in range, as `k` big-endian bytes, on the exact portable
    /// path (arbitrary-size integers).
    #[must_use]
    pub fn public_op_vartime(&self, signature: &[u8]) -> Vec<u8> {
        let s = BigUint::from_bytes_be(signature);
        let n = BigUint::from_bytes_be(&self.modulus);
        let e = BigUint::from_bytes_be(&self.exponent);
        let m = s.modpow(&e, &n).to_bytes_be();
        let mut out = vec![0u8; self.modulus.len()];
        out[self.modulus.len() - m.len()..].copy_from_slice(&m);
        out
    }
}
