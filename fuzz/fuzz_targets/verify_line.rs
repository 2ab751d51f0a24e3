//! `ixi-verifier verify`'s input lines: never a panic; a line either parses into a key, a
//! message and a signature, or gets an error that stays short whatever the line. Parsed keys go
//! to the verifier's key constructors, which must refuse what they cannot use with an error.
#![no_main]

use ixi_cli_common::verify_line::{self, LineKey};
use ixi_verifier::VerifyingKey;
use libfuzzer_sys::fuzz_target;

/// The fixed wording plus at most 100 quoted characters, escaped.
const MAX_ERROR: usize = 400 + 600;

fuzz_target!(|data: &[u8]| {
    match verify_line::parse(data) {
        Ok(line) => {
            let _ = match &line.key {
                LineKey::Ixian(bytes) => VerifyingKey::from_ixian(bytes),
                LineKey::Components { modulus, exponent } => {
                    VerifyingKey::from_components(modulus, exponent)
                }
            };
        }
        Err(error) => assert!(
            error.len() <= MAX_ERROR,
            "an error of {} bytes",
            error.len()
        ),
    }
});
