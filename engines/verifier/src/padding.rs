//! The PKCS#1 v1.5 encoding with SHA-512 (RFC 8017 §9.2), as OpenSSL compares it.

use sha2::{Digest as _, Sha512};

/// DER of `DigestInfo { AlgorithmIdentifier { id-sha512, NULL }, OCTET STRING (64) }` up to
/// the digest, and the shortest encoding (`00 01`, eight `FF`, `00`, the DigestInfo, the
/// digest): one definition, shared with the GPU kernel that builds the same encoding.
pub use ixi_kernels::rsa_wgsl::{MIN_ENCODED_LEN, SHA512_DIGEST_INFO};

/// The only encoded message a `k`-byte modulus accepts for `message`, or `None` if `k` is too
/// small to hold one.
#[must_use]
pub fn encoded_message(k: usize, message: &[u8]) -> Option<Vec<u8>> {
    if k < MIN_ENCODED_LEN {
        return None;
    }
    let digest = Sha512::digest(message);
    let mut em = vec![0xffu8; k];
    em[0] = 0x00;
    em[1] = 0x01;
    let t_start = k - SHA512_DIGEST_INFO.len() - 64;
    em[t_start - 1] = 0x00;
    em[t_start..k - 64].copy_from_slice(&SHA512_DIGEST_INFO);
    em[k - 64..].copy_from_slice(&digest);
    Some(em)
}

/// Whether `candidate` (`s^e mod n` as `k` bytes) is the encoding of `message`: the same verdict
/// as comparing with [`encoded_message`], without building it.
#[must_use]
pub fn is_encoding_of(candidate: &[u8], message: &[u8]) -> bool {
    is_encoding_of_digest(candidate, &Sha512::digest(message).into())
}

/// Whether `candidate` is the encoding of a message whose SHA-512 is `digest`: for callers
/// that hash many messages at once.
#[must_use]
pub fn is_encoding_of_digest(candidate: &[u8], digest: &[u8; 64]) -> bool {
    let k = candidate.len();
    if k < MIN_ENCODED_LEN {
        return false;
    }
    let t_start = k - SHA512_DIGEST_INFO.len() - 64;
    candidate[0] == 0x00
        && candidate[1] == 0x01
        && all_ff(&candidate[2..t_start - 1])
        && candidate[t_start - 1] == 0x00
        && candidate[t_start..k - 64] == SHA512_DIGEST_INFO
        && candidate[k - 64..] == digest[..]
}

/// Whether every byte is `0xff`. A reduction without an early exit, which the compiler turns
/// into wide ANDs: the run is most of the encoding, and a byte loop was a visible cost.
fn all_ff(bytes: &[u8]) -> bool {
    bytes.iter().fold(0xffu8, |acc, &b| acc & b) == 0xff
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout() {
        let em = encoded_message(256, b"abc").unwrap();
        assert_eq!(em.len(), 256);
        assert_eq!(em[..2], [0, 1]);
        assert!(em[2..256 - 84].iter().all(|&b| b == 0xff));
        assert_eq!(em[256 - 84], 0);
        assert_eq!(em[256 - 83..256 - 64], SHA512_DIGEST_INFO);
        assert!(encoded_message(MIN_ENCODED_LEN - 1, b"").is_none());
        assert!(encoded_message(MIN_ENCODED_LEN, b"").is_some());
    }

    #[test]
    fn in_place_check_agrees_with_the_encoding() {
        for k in [MIN_ENCODED_LEN, 128, 256, 512] {
            let em = encoded_message(k, b"msg").unwrap();
            assert!(is_encoding_of(&em, b"msg"));
            assert!(!is_encoding_of(&em, b"msh"));
            for i in 0..k {
                let mut bad = em.clone();
                bad[i] ^= 0x01;
                assert!(!is_encoding_of(&bad, b"msg"), "k {k} byte {i}");
            }
        }
        assert!(!is_encoding_of(&[0u8; 93], b""));
    }
}
