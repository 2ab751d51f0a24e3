//! IxiVarInt, IxiNumber and difficulty parsing on arbitrary bytes. Besides "never a panic":
//! - a varint read back from its minimal encoding gives the same value;
//! - an IxiNumber printed and parsed again is the same number; its byte form round-trips;
//! - the exact acceptance bound a search compares hashes with (`acceptance_bound`) agrees with
//!   the reference-shaped `hash_to_difficulty(hash) >= min` for every 64-byte hash and minimum;
//! - `difficulty_to_hash` gives a hash whose difficulty is at least the one asked for.
#![no_main]

use ixi_formats::difficulty::{
    DifficultyError, acceptance_bound, bits_to_difficulty, bits_to_hash, difficulty_to_bits,
    difficulty_to_hash, hash_to_bits, hash_to_difficulty,
};
use ixi_formats::number::IxiNumber;
use ixi_formats::varint;
use libfuzzer_sys::fuzz_target;
use num_bigint::BigUint;

fn varints(data: &[u8]) {
    if let Ok((v, n)) = varint::read_u64(data) {
        assert!((1..=varint::MAX_LEN).contains(&n));
        assert_eq!(
            varint::read_u64(&varint::u64_bytes(v)),
            Ok((v, varint::u64_bytes(v).len()))
        );
    }
    if let Ok((v, n)) = varint::read_i64(data) {
        assert!((1..=varint::MAX_LEN).contains(&n));
        assert_eq!(
            varint::read_i64(&varint::i64_bytes(v)),
            Ok((v, varint::i64_bytes(v).len()))
        );
    }
}

fn numbers(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(n) = text.parse::<IxiNumber>() {
        let shown = n.to_string();
        assert_eq!(shown.parse::<IxiNumber>().as_ref(), Ok(&n), "{shown}");
    }
    if let Ok(n) = IxiNumber::from_le_bytes(data) {
        assert_eq!(IxiNumber::from_le_bytes(&n.to_le_bytes()).as_ref(), Ok(&n));
        let _ = difficulty_to_bits(&n);
    }
}

fn difficulty(data: &[u8]) {
    // A 64-byte hash, then a minimum difficulty's little-endian raw bytes.
    if data.len() < 64 {
        let _ = hash_to_difficulty(data);
        let _ = hash_to_bits(data);
        return;
    }
    let (hash, min) = data.split_at(64);
    let _ = hash_to_bits(hash);
    let meets = match hash_to_difficulty(hash) {
        Ok(d) => Some(d),
        Err(DifficultyError::ZeroHash) => None,
        Err(e) => panic!("a 64-byte hash must have a difficulty: {e}"),
    };
    if let Ok(min) = IxiNumber::from_le_bytes(min) {
        if let Ok(bound) = acceptance_bound(&min) {
            let h = BigUint::from_bytes_le(hash);
            let within = h >= BigUint::from(1u8) && h <= BigUint::from_bytes_le(&bound);
            let reference = meets.as_ref().is_some_and(|d| *d >= min);
            assert_eq!(within, reference, "hash {hash:02x?} min {min}");
        }
        if let Ok(target) = difficulty_to_hash(&min)
            && let Ok(d) = hash_to_difficulty(&target)
        {
            assert!(d >= min, "difficulty_to_hash({min}) has difficulty {d}");
        }
    }
    let bits = u64::from_le_bytes(hash[..8].try_into().unwrap_or_default());
    let _ = bits_to_hash(bits);
    let _ = bits_to_difficulty(bits);
}

fuzz_target!(|data: &[u8]| {
    match data.split_first() {
        Some((0, rest)) => varints(rest),
        Some((1, rest)) => numbers(rest),
        Some((_, rest)) => difficulty(rest),
        None => {}
    }
});
