//! Errors: typed for keys, opaque for signatures.

use ixi_formats::pubkey::KeyError;

/// Why a public key cannot verify anything (the reference then answers `false`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyRejected {
    /// Not the Ixian key layout.
    #[error("malformed public key: {0}")]
    Malformed(#[from] KeyError),
    /// A zero modulus or one above 16384 bits (OpenSSL's limit).
    #[error("modulus of {0} bits is outside 1..=16384")]
    ModulusSize(usize),
    /// Too small to hold a PKCS#1 v1.5 SHA-512 encoding (94 bytes).
    #[error("modulus of {0} bytes is too small for a SHA-512 signature (94 bytes needed)")]
    ModulusTooSmall(usize),
    /// An even modulus (OpenSSL's Montgomery exponentiation refuses it).
    #[error("modulus is even")]
    EvenModulus,
    /// `e >= n`, or over 64 bits with a modulus above 3072 bits (OpenSSL's checks).
    #[error("public exponent is not acceptable for this modulus")]
    BadExponent,
}

/// A signature that does not verify. Deliberately detail-free.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("signature verification failed")]
pub struct VerifyError;

/// The items of a batch that did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} of the batch's signatures did not verify", failed.len())]
pub struct BatchError {
    /// Indices of the failing items, ascending.
    pub failed: Vec<usize>,
}
