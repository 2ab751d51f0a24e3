//! The signer PoW solution's network form on arbitrary bytes: never a panic; a solution that
//! parses serializes (uncompacted) to the bytes it was read from, unless the input used a
//! non-minimal varint, and parses again to the same solution. The hash of any prefix and nonce
//! is an error for a nonce outside 1..=64 bytes and a 64-byte hash otherwise.
#![no_main]

use ixi_formats::solution::{self, SignerPowSolution, check_nonce_len, hash_with_prefix};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((pow, used)) = SignerPowSolution::from_bytes(data) {
        assert!(used <= data.len());
        let bytes = pow.to_bytes(false);
        let (again, again_used) =
            SignerPowSolution::from_bytes(&bytes).expect("a solution's own bytes parse");
        assert_eq!(again, pow);
        assert_eq!(again_used, bytes.len());
        assert!(bytes.len() <= used, "the minimal form is never longer");
        let _ = pow.to_bytes(true);
    }
    let split = data.first().map_or(0, |&b| usize::from(b)).min(data.len());
    let (prefix, nonce) = data.split_at(split);
    let hashed = hash_with_prefix(prefix, nonce);
    assert_eq!(hashed.is_ok(), check_nonce_len(nonce.len()).is_ok());
    assert_eq!(
        check_nonce_len(nonce.len()).is_ok(),
        (1..=solution::MAX_NONCE_LEN).contains(&nonce.len())
    );
});
