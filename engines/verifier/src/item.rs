//! One signature to check: what the backends take and a batch holds.

use crate::key::VerifyingKey;

/// One signature to check.
#[derive(Debug, Clone, Copy)]
pub struct VerifyItem<'a> {
    /// The signer's key.
    pub key: &'a VerifyingKey,
    /// The signed bytes (hashed with SHA-512 by the scheme).
    pub message: &'a [u8],
    /// The signature.
    pub signature: &'a [u8],
}
