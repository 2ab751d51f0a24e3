//! Helpers shared by the integration tests: the reference vectors and the backend matrix.

use std::path::PathBuf;
use std::sync::OnceLock;

use serde_json::Value;

/// Path of the repository's copy of the reference vectors.
#[must_use]
pub fn vectors_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/ixian-reference.json")
}

/// The reference vectors, parsed once. A missing or unparsable file fails the test.
///
/// # Panics
/// If the file is missing or not JSON.
#[must_use]
pub fn vectors() -> &'static Value {
    static V: OnceLock<Value> = OnceLock::new();
    V.get_or_init(|| {
        let path = vectors_path();
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("reference vectors {} missing: {e}", path.display()));
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("reference vectors {} unparsable: {e}", path.display()))
    })
}

/// One section's cases. An absent or empty section fails the test.
///
/// # Panics
/// If the section is absent or empty.
#[must_use]
pub fn section(name: &str) -> &'static [Value] {
    let cases = vectors()[name]
        .as_array()
        .unwrap_or_else(|| panic!("vector section {name} missing"));
    assert!(!cases.is_empty(), "vector section {name} is empty");
    cases
}

/// A string field of a case.
///
/// # Panics
/// If the field is absent or not a string.
#[must_use]
pub fn text<'a>(case: &'a Value, key: &str) -> &'a str {
    case[key]
        .as_str()
        .unwrap_or_else(|| panic!("{}: field {key} missing or not a string", id(case)))
}

/// A hex field of a case, decoded.
///
/// # Panics
/// If the field is absent or not hex.
#[must_use]
pub fn bytes(case: &Value, key: &str) -> Vec<u8> {
    hex_decode(text(case, key)).unwrap_or_else(|| panic!("{}: field {key} not hex", id(case)))
}

/// The case's id, for messages.
#[must_use]
pub fn id(case: &Value) -> &str {
    case["id"].as_str().unwrap_or("<no id>")
}

fn hex_decode(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Checks one step of a case whose result is either `key` (a value) or `error_key` (the .NET
/// exception the reference throws). Returns the value for later steps, `None` after an error.
///
/// # Panics
/// On a mismatch, or when the case has neither key.
pub fn expect_step(
    case: &Value,
    key: &str,
    error_key: &str,
    got: Result<String, &'static str>,
) -> Option<String> {
    let want_value = case.get(key).and_then(Value::as_str);
    let want_error = case.get(error_key).and_then(Value::as_str);
    match (got, want_value, want_error) {
        (Ok(v), Some(w), None) => {
            assert_eq!(v, w, "{}: {key}", id(case));
            Some(v)
        }
        (Err(e), None, Some(w)) => {
            assert_eq!(e, w, "{}: {error_key}", id(case));
            None
        }
        (got, w, we) => panic!(
            "{}: {key}/{error_key}: got {got:?}, expected value {w:?} or error {we:?}",
            id(case)
        ),
    }
}
