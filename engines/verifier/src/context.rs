//! The two places an Ixian node verifies RSA signatures.

use ixi_formats::hash::sha3_512sq;

use crate::backend::verify_one_scalar;
use crate::key::VerifyingKey;

/// The message of a v10+ block signature: `sha3_512sq(blockChecksum ‖ solution)`, signed with
/// the solution's RSA-2048 signing key (`Block.verifySignature`).
#[must_use]
pub fn block_signature_message(block_checksum: &[u8], solution: &[u8]) -> [u8; 64] {
    let mut data = Vec::with_capacity(block_checksum.len() + solution.len());
    data.extend_from_slice(block_checksum);
    data.extend_from_slice(solution);
    sha3_512sq(&data)
}

/// Verifies a block signature: `signing_pub_key` is the solution's key in the Ixian layout.
/// A key that does not parse fails, as in the reference.
#[must_use]
pub fn verify_block_signature(
    signing_pub_key: &[u8],
    block_checksum: &[u8],
    solution: &[u8],
    signature: &[u8],
) -> bool {
    VerifyingKey::from_ixian(signing_pub_key).is_ok_and(|key| {
        let message = block_signature_message(block_checksum, solution);
        verify_one_scalar(&key, &message, signature)
    })
}

/// Verifies a transaction signature: the message is the transaction's checksum, the key the
/// sender's wallet key in the Ixian layout (`Transaction.verifySignature`).
#[must_use]
pub fn verify_transaction(wallet_pub_key: &[u8], checksum: &[u8], signature: &[u8]) -> bool {
    VerifyingKey::from_ixian(wallet_pub_key)
        .is_ok_and(|key| verify_one_scalar(&key, checksum, signature))
}
