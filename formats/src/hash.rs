//! The hash compositions the reference uses (`Crypto` and `CryptoManager.lib`).

use sha2::{Digest as _, Sha512};
use sha3::Sha3_512;

/// SHA3-512 (FIPS 202) of `data`.
#[must_use]
pub fn sha3_512(data: &[u8]) -> [u8; 64] {
    Sha3_512::digest(data).into()
}

/// `sha3_512sq(x) = SHA3-512(SHA3-512(x))`, the signer-PoW hash.
#[must_use]
pub fn sha3_512sq(data: &[u8]) -> [u8; 64] {
    sha3_512(&sha3_512(data))
}

/// SHA-512 applied twice (`Crypto.sha512sq`).
#[must_use]
pub fn sha512sq(data: &[u8]) -> [u8; 64] {
    Sha512::digest(Sha512::digest(data)).into()
}

/// SHA-512 applied four times (`Crypto.sha512qu`), used by v0 addresses.
#[must_use]
pub fn sha512qu(data: &[u8]) -> [u8; 64] {
    sha512sq(&sha512sq(data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha3_512sq_of_empty_matches_the_reference_unit_test() {
        // Pinned by Ixian-Core UnitTests/TestCrypto.cs.
        let h = sha3_512sq(b"");
        assert_eq!(h[..4], [0x05, 0x7f, 0x75, 0x39]);
        assert_eq!(h[60..], [0xca, 0x9b, 0x26, 0xa8]);
    }
}
