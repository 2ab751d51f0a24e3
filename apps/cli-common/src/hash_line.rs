//! `ixi-miner hash`'s line protocol (here, outside the binary, so that a fuzz target reaches it): one JSON object in, one JSON object out.
//!
//! In: `{"blockNum": "decimal", "blockHash": hex, "recipientAddress": hex (addressNoChecksum),
//! "signingPubKey": hex, "solution": hex}` (the names of the reference vectors' pow section).
//! Out: `{"hash", "difficulty", "difficultyRaw", "bits"}` or `{"error": "..."}`.

use crate::engine::short;
use crate::lines::json_object;
use ixi_formats::address::Address;
use ixi_formats::difficulty;
use ixi_formats::solution;
use serde_json::{Map, Value, json};

/// Answers one input line. Never panics; every failure is an `{"error": ...}` object, which
/// quotes at most 100 characters of the input.
#[must_use]
pub fn answer(line: &str) -> Value {
    match compute(line) {
        Ok(v) => v,
        Err(message) => json!({ "error": message }),
    }
}

fn compute(line: &str) -> Result<Value, String> {
    let obj = &json_object(
        line,
        "expected a JSON object with blockNum, blockHash, recipientAddress, signingPubKey, solution",
    )?;
    let block_num = block_num(obj)?;
    let block_hash = hex_field(obj, "blockHash")?;
    let address_bytes = hex_field(obj, "recipientAddress")?;
    let address =
        Address::from_bytes(&address_bytes).map_err(|e| format!("recipientAddress: {e}"))?;
    let key = hex_field(obj, "signingPubKey")?;
    let nonce = hex_field(obj, "solution")?;
    let prefix = solution::challenge_prefix(block_num, &block_hash, address.no_checksum(), &key);
    let hash = solution::hash_with_prefix(&prefix, &nonce).map_err(|e| format!("solution: {e}"))?;
    let d = difficulty::hash_to_difficulty(&hash).map_err(|e| format!("difficulty: {e}"))?;
    Ok(json!({
        "hash": hex::encode(hash),
        "difficulty": d.to_string(),
        "difficultyRaw": d.raw().to_string(),
        "bits": format!("{:016x}", difficulty::hash_to_bits(&hash)),
    }))
}

fn field<'a>(obj: &'a Map<String, Value>, name: &str) -> Result<&'a Value, String> {
    obj.get(name).ok_or_else(|| format!("missing field {name}"))
}

fn hex_field(obj: &Map<String, Value>, name: &str) -> Result<Vec<u8>, String> {
    let text = field(obj, name)?
        .as_str()
        .ok_or_else(|| format!("{name}: expected a hex string"))?;
    hex::decode(text).map_err(|e| format!("{name}: invalid hex: {e}"))
}

fn block_num(obj: &Map<String, Value>) -> Result<u64, String> {
    match field(obj, "blockNum")? {
        Value::String(s) => s.trim().parse::<u64>().map_err(|e| {
            format!(
                "blockNum: {:?} is not an unsigned 64-bit decimal: {e}",
                short(s)
            )
        }),
        Value::Number(n) => n.as_u64().ok_or_else(|| {
            format!(
                "blockNum: {} is not an unsigned 64-bit integer",
                short(&n.to_string())
            )
        }),
        _ => Err("blockNum: expected a decimal string".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_lines_get_errors_naming_the_problem() {
        let cases = [
            ("", "empty line"),
            ("not json", "invalid JSON"),
            ("[1]", "expected a JSON object"),
            (r#"{"blockNum":"1"}"#, "missing field blockHash"),
            (
                r#"{"blockNum":"-1","blockHash":"","recipientAddress":"","signingPubKey":"","solution":""}"#,
                "blockNum",
            ),
            (
                r#"{"blockNum":"1","blockHash":"zz","recipientAddress":"","signingPubKey":"","solution":""}"#,
                "blockHash: invalid hex",
            ),
        ];
        for (line, want) in cases {
            let got = answer(line);
            let msg = got["error"].as_str().unwrap_or_default();
            assert!(msg.contains(want), "{line:?} -> {got}");
        }
    }
}
