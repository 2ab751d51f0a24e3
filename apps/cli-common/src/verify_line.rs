//! `ixi-verifier verify`'s line protocol: one JSON object with a public key (the Ixian
//! encoding as `publicKey`, or `modulus` and `exponent`), a `message` and a `signature`, all in
//! hex. Here, outside the binary, so that a fuzz target reaches it.

use serde_json::{Map, Value};

/// The key of one line, as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineKey {
    /// `publicKey`: the Ixian encoding.
    Ixian(Vec<u8>),
    /// `modulus` and `exponent`, big-endian.
    Components {
        /// The modulus.
        modulus: Vec<u8>,
        /// The public exponent.
        exponent: Vec<u8>,
    },
}

/// One line, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyLine {
    /// The key the signature is checked with.
    pub key: LineKey,
    /// The signed message.
    pub message: Vec<u8>,
    /// The signature.
    pub signature: Vec<u8>,
}

/// Parses one input line (without its line ending).
///
/// # Errors
/// A message naming the problem, for an `{"error"}` answer; it never quotes the input.
pub fn parse(line: &[u8]) -> Result<VerifyLine, String> {
    let text = std::str::from_utf8(line).map_err(|_| "line is not UTF-8".to_owned())?;
    let text = text.trim();
    if text.is_empty() {
        return Err("empty line: expected a JSON object".into());
    }
    let value: Value = serde_json::from_str(text).map_err(|e| format!("invalid JSON: {e}"))?;
    let obj = value
        .as_object()
        .ok_or("expected a JSON object with a key, message and signature")?;
    let message = hex_field(obj, "message")?;
    let signature = hex_field(obj, "signature")?;
    let key = match (
        obj.get("publicKey"),
        obj.get("modulus"),
        obj.get("exponent"),
    ) {
        (Some(_), None, None) => LineKey::Ixian(hex_field(obj, "publicKey")?),
        (None, Some(_), Some(_)) => LineKey::Components {
            modulus: hex_field(obj, "modulus")?,
            exponent: hex_field(obj, "exponent")?,
        },
        (None, None, None) => return Err("missing key: publicKey, or modulus and exponent".into()),
        _ => {
            return Err("give either publicKey or both modulus and exponent, not a mix".into());
        }
    };
    Ok(VerifyLine {
        key,
        message,
        signature,
    })
}

fn hex_field(obj: &Map<String, Value>, name: &str) -> Result<Vec<u8>, String> {
    let text = obj
        .get(name)
        .ok_or_else(|| format!("missing field {name}"))?
        .as_str()
        .ok_or_else(|| format!("{name}: expected a hex string"))?;
    hex::decode(text).map_err(|e| format!("{name}: invalid hex: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_key_forms_parse_and_mixes_are_refused() {
        let ixian = parse(br#"{"publicKey":"0102","message":"aa","signature":"bb"}"#);
        assert_eq!(
            ixian,
            Ok(VerifyLine {
                key: LineKey::Ixian(vec![1, 2]),
                message: vec![0xaa],
                signature: vec![0xbb],
            })
        );
        let parts = parse(br#"{"modulus":"03","exponent":"010001","message":"","signature":""}"#);
        assert_eq!(
            parts.map(|l| l.key),
            Ok(LineKey::Components {
                modulus: vec![3],
                exponent: vec![1, 0, 1],
            })
        );
        let cases: [(&[u8], &str); 6] = [
            (b"", "empty line"),
            (b"\xff", "not UTF-8"),
            (b"[]", "expected a JSON object"),
            (br#"{"message":"","signature":""}"#, "missing key"),
            (
                br#"{"publicKey":"","modulus":"","message":"","signature":""}"#,
                "not a mix",
            ),
            (
                br#"{"publicKey":"zz","message":"","signature":""}"#,
                "publicKey: invalid hex",
            ),
        ];
        for (line, want) in cases {
            let got = parse(line).expect_err("a malformed line");
            assert!(got.contains(want), "{line:?} -> {got}");
        }
    }
}
