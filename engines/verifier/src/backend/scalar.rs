//! One signature at a time: aws-lc-rs where its key rules match OpenSSL's, exact arbitrary-size
//! arithmetic elsewhere. Items are spread over the backend's thread pool.

use aws_lc_rs::signature::{
    RSA_PKCS1_1024_8192_SHA512_FOR_LEGACY_USE_ONLY, RsaPublicKeyComponents,
};
use rayon::prelude::*;

use super::VerifyBackend;
use crate::item::VerifyItem;
use crate::key::VerifyingKey;

/// Whether aws-lc verifies this key as OpenSSL does. AWS-LC (like BoringSSL) takes 1024- to
/// 8192-bit moduli and odd exponents from 3 to 2^33 - 1; OpenSSL takes more (even exponents,
/// larger ones, other sizes), which the exact path covers.
fn aws_lc_takes(key: &VerifyingKey) -> bool {
    (1024..=8192).contains(&key.bits())
        && key
            .exponent_u64()
            .is_some_and(|e| (3..1 << 33).contains(&e) && e & 1 == 1)
}

/// Verifies one item on the scalar path.
pub(crate) fn verify_one_scalar(key: &VerifyingKey, message: &[u8], signature: &[u8]) -> bool {
    if !key.signature_in_range(signature) {
        return false;
    }
    if aws_lc_takes(key) {
        let components = RsaPublicKeyComponents {
            n: key.modulus(),
            e: key.exponent(),
        };
        return components
            .verify(
                &RSA_PKCS1_1024_8192_SHA512_FOR_LEGACY_USE_ONLY,
                message,
                signature,
            )
            .is_ok();
    }
    key.verify_exact_vartime(message, signature)
}

/// The scalar backend.
#[derive(Debug)]
pub struct ScalarBackend {
    pool: rayon::ThreadPool,
}

impl ScalarBackend {
    /// A backend running on `pool`.
    #[must_use]
    pub fn new(pool: rayon::ThreadPool) -> Self {
        Self { pool }
    }
}

impl VerifyBackend for ScalarBackend {
    fn name(&self) -> &'static str {
        "scalar"
    }

    fn verify_batch(&self, items: &[VerifyItem<'_>], ok: &mut [bool]) {
        self.pool.install(|| {
            ok.par_iter_mut().zip(items).for_each(|(verdict, item)| {
                *verdict = verify_one_scalar(item.key, item.message, item.signature);
            });
        });
    }
}
