//! The Ixian RSA public-key layout on arbitrary bytes: never a panic; a key that parses
//! serializes back to exactly the same bytes and parses again to the same key. The verifier's
//! key constructors get the same bytes and must refuse what they cannot use with an error,
//! never a panic, and agree with the layout parser on what is a key at all.
#![no_main]

use ixi_formats::pubkey::RsaPublicKey;
use ixi_verifier::VerifyingKey;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let parsed = RsaPublicKey::parse(data);
    let verifying = VerifyingKey::from_ixian(data);
    let Ok(key) = parsed else {
        assert!(
            verifying.is_err(),
            "the verifier took bytes that are not a key"
        );
        return;
    };
    let bytes = key.to_bytes();
    assert_eq!(bytes, data);
    assert_eq!(RsaPublicKey::parse(&bytes).as_ref(), Ok(&key));
    let _ = VerifyingKey::from_components(&key.modulus, &key.exponent);
});
