//! `ixi-miner hash`'s input: arbitrary bytes read as lines with the command's line bound, each
//! line answered. Never a panic; every answer is one JSON object, either the hash result or an
//! `error` that quotes at most 100 characters of input (so it stays short whatever the line).
#![no_main]

use ixi_cli_common::hash_line;
use ixi_cli_common::lines::{BoundedLines, Line};
use libfuzzer_sys::fuzz_target;

/// The longest error message a line may get: the fixed wording plus 100 quoted characters,
/// each at most 6 bytes once escaped.
const MAX_ERROR: usize = 400 + 600;

fuzz_target!(|data: &[u8]| {
    // A small line bound, so that the fuzzer reaches the too-long path with small inputs.
    for line in BoundedLines::new(data, 512) {
        let Ok(line) = line else { return };
        let Line::Complete(bytes) = line else {
            continue;
        };
        let answer = hash_line::answer(&String::from_utf8_lossy(&bytes));
        let object = answer.as_object().expect("an answer is a JSON object");
        match object.get("error") {
            Some(error) => {
                let error = error.as_str().expect("an error is a string");
                assert!(
                    error.len() <= MAX_ERROR,
                    "an error of {} bytes",
                    error.len()
                );
            }
            None => {
                for field in ["hash", "difficulty", "difficultyRaw", "bits"] {
                    assert!(object.contains_key(field), "{field} missing from {answer}");
                }
            }
        }
    }
});
