//! Every formats section of the reference vectors: ixivarint, ixivarint_decode, ixinumber,
//! rsa_key_serialization, addresses, hash_to_difficulty, difficulty_to_bits, bits_to_difficulty.

use ixi_formats::address::Address;
use ixi_formats::difficulty::{self, DifficultyError};
use ixi_formats::number::IxiNumber;
use ixi_formats::pubkey::{KeyHeader, RsaPublicKey};
use ixi_formats::varint::{self, VarIntError};
use ixi_integration::{bytes, expect_step, id, section, text};
use num_bigint::BigInt;
use serde_json::Value;

/// The .NET exception the reference throws where this implementation errs.
fn exception(e: DifficultyError) -> &'static str {
    match e {
        DifficultyError::EmptyHash => "ArgumentException",
        DifficultyError::HashTooLarge => "OverflowException",
        DifficultyError::ZeroHash => "DivideByZeroException",
        DifficultyError::NegativeDifficulty | DifficultyError::BitsTooHigh => {
            "ArgumentOutOfRangeException"
        }
        _ => "unmapped error",
    }
}

fn number(text: &str) -> IxiNumber {
    IxiNumber::from_raw(text.parse::<BigInt>().expect("decimal integer"))
}

fn bits_hex(bits: u64) -> String {
    format!("{bits:016x}")
}

fn parse_bits(case: &Value, key: &str) -> u64 {
    u64::from_str_radix(text(case, key), 16).expect("16 hex digits")
}

/// A difficulty as the reference writes it at `key`, and its raw value at `{key}Raw`.
pub(crate) fn assert_difficulty(case: &Value, key: &str, d: &IxiNumber) {
    assert_eq!(d.to_string(), text(case, key), "{}", id(case));
    assert_raw(case, key, d);
}

fn assert_raw(case: &Value, key: &str, d: &IxiNumber) {
    assert_eq!(
        d.raw().to_string(),
        text(case, &format!("{key}Raw")),
        "{}",
        id(case)
    );
}

/// [`expect_step`] for a difficulty (at `key`, or the exception at `error_key`), and where it
/// is one, its raw value at `{key}Raw`.
fn expect_difficulty(
    case: &Value,
    key: &str,
    error_key: &str,
    got: Result<IxiNumber, &'static str>,
) -> Option<IxiNumber> {
    expect_step(case, key, error_key, got.clone().map(|d| d.to_string()))?;
    let d = got.ok()?;
    assert_raw(case, key, &d);
    Some(d)
}

#[test]
fn ixivarint_encodings() {
    for case in section("ixivarint") {
        let want = bytes(case, "encoded");
        let value = text(case, "value");
        let encoded = match text(case, "type") {
            "u64" => varint::u64_bytes(value.parse().unwrap()),
            "i64" => varint::i64_bytes(value.parse().unwrap()),
            other => panic!("{}: unknown type {other}", id(case)),
        };
        assert_eq!(encoded, want, "{}", id(case));
        // Every writer output reads back.
        let read = match text(case, "type") {
            "u64" => varint::read_u64(&want).map(|(v, n)| (v.to_string(), n)),
            _ => varint::read_i64(&want).map(|(v, n)| (v.to_string(), n)),
        };
        assert_eq!(read, Ok((value.to_owned(), want.len())), "{}", id(case));
    }
}

#[test]
fn ixivarint_decoding() {
    for case in section("ixivarint_decode") {
        let input = bytes(case, "input");
        let got = match text(case, "reader") {
            "TryReadIxiVarUInt" => varint::read_u64(&input).map(|(v, n)| (v.to_string(), n)),
            "TryReadIxiVarInt" => varint::read_i64(&input).map(|(v, n)| (v.to_string(), n)),
            other => panic!("{}: unknown reader {other}", id(case)),
        };
        let ok = case["ok"].as_bool().expect("ok flag");
        if ok {
            let n = usize::try_from(case["bytesRead"].as_u64().unwrap()).unwrap();
            assert_eq!(got, Ok((text(case, "value").to_owned(), n)), "{}", id(case));
        } else {
            let err = got.expect_err(id(case));
            match case.get("exception").and_then(Value::as_str) {
                Some("OverflowException") => assert_eq!(err, VarIntError::Overflow, "{}", id(case)),
                Some(other) => panic!("{}: unknown exception {other}", id(case)),
                None => assert_ne!(err, VarIntError::Overflow, "{}", id(case)),
            }
        }
    }
}

#[test]
fn ixinumber_constructors_and_text() {
    for case in section("ixinumber") {
        let input = text(case, "input");
        let constructor = text(case, "constructor");
        let n = if constructor.contains("string") {
            input.parse::<IxiNumber>().expect(id(case))
        } else if constructor.contains("raw") {
            number(input)
        } else if constructor.contains("10^8") {
            IxiNumber::from_whole(input.parse::<BigInt>().unwrap())
        } else {
            panic!("{}: unknown constructor {constructor}", id(case));
        };
        assert_eq!(n.raw().to_string(), text(case, "raw"), "{}", id(case));
        assert_eq!(n.to_string(), text(case, "toString"), "{}", id(case));
    }
}

#[test]
fn rsa_key_layout() {
    for case in section("rsa_key_serialization") {
        let serialized = bytes(case, "ixianPublicKey");
        let modulus = bytes(case, "modulus");
        let exponent = bytes(case, "exponent");
        let built = match case["headerVersionByte"].as_u64() {
            Some(v) => RsaPublicKey::new(u8::try_from(v).unwrap(), modulus, exponent),
            None => RsaPublicKey {
                header: KeyHeader::Legacy,
                modulus,
                exponent,
            },
        };
        assert_eq!(built.to_bytes(), serialized, "{}", id(case));
        let parsed = RsaPublicKey::parse(&serialized).expect(id(case));
        assert_eq!(parsed, built, "{}", id(case));
        assert_eq!(serialized.len() as u64, case["length"].as_u64().unwrap());
        assert_eq!(
            parsed.modulus_bits() as u64,
            case["keyBits"].as_u64().unwrap(),
            "{}",
            id(case)
        );
        let mut trailing = serialized.clone();
        trailing.push(0);
        assert!(RsaPublicKey::parse(&trailing).is_err(), "{}", id(case));
    }
}

#[test]
fn addresses_from_public_keys() {
    for case in section("addresses") {
        // Cases without a public key (constants such as ConsensusConfig addresses) still check
        // every form they give against each other.
        let address = match case.get("publicKey").and_then(Value::as_str) {
            Some(_) => Address::from_public_key(&bytes(case, "publicKey")).expect(id(case)),
            None => Address::from_base58(text(case, "base58")).expect(id(case)),
        };
        let mut checked = 0;
        if let Some(version) = case.get("version").and_then(Value::as_u64) {
            assert_eq!(u64::from(address.version()), version, "{}", id(case));
            checked += 1;
        }
        if case.get("addressNoChecksum").is_some() {
            assert_eq!(
                address.no_checksum(),
                bytes(case, "addressNoChecksum"),
                "{}",
                id(case)
            );
            checked += 1;
        }
        if case.get("addressWithChecksum").is_some() {
            let with = bytes(case, "addressWithChecksum");
            assert_eq!(address.with_checksum(), with, "{}", id(case));
            assert_eq!(Address::from_bytes(&with).unwrap(), address, "{}", id(case));
            checked += 1;
        }
        if case.get("base58").is_some() {
            assert_eq!(address.to_string(), text(case, "base58"), "{}", id(case));
            assert_eq!(Address::from_base58(text(case, "base58")).unwrap(), address);
            checked += 1;
        }
        assert!(checked >= 2, "{}: nothing to compare", id(case));
    }
}

/// The `checks` of a case: `validateHash(hash, min)` or the exception it throws.
fn check_validations(case: &Value, hash: &[u8]) {
    let checks = case["checks"].as_array().expect("checks");
    assert!(!checks.is_empty(), "{}: no checks", id(case));
    for check in checks {
        let min = number(text(check, "minDifficultyRaw"));
        let got = difficulty::validate_hash(hash, &min);
        match (check.get("valid").and_then(Value::as_bool), got) {
            (Some(want), Ok(v)) => assert_eq!(v, want, "{} min {min}", id(case)),
            (None, Err(e)) => assert_eq!(exception(e), text(check, "error"), "{}", id(case)),
            (want, got) => panic!("{}: min {min}: want {want:?}, got {got:?}", id(case)),
        }
    }
}

#[test]
fn hash_to_difficulty_cases() {
    for case in section("hash_to_difficulty") {
        let hash = bytes(case, "hash");
        assert_eq!(hash.len() as u64, case["length"].as_u64().unwrap());
        let d = difficulty::hash_to_difficulty(&hash).map_err(exception);
        expect_difficulty(case, "difficulty", "difficultyError", d);
        let bits = difficulty::hash_to_bits(&hash);
        assert_eq!(bits_hex(bits), text(case, "bits"), "{}", id(case));
        let bd = difficulty::bits_to_difficulty(bits).map_err(exception);
        expect_difficulty(case, "bitsDifficulty", "bitsDifficultyError", bd);
        check_validations(case, &hash);
    }
}

fn parse_input(case: &Value) -> IxiNumber {
    let input = text(case, "input");
    let (kind, value) = input.split_once(':').expect("kind:value input");
    match kind {
        "raw" => number(value),
        "int" => IxiNumber::from_whole(value.parse::<BigInt>().unwrap()),
        "str" => value.parse().expect(id(case)),
        other => panic!("{}: unknown input kind {other}", id(case)),
    }
}

#[test]
fn difficulty_to_bits_cases() {
    for case in section("difficulty_to_bits") {
        let d = parse_input(case);
        assert_difficulty(case, "difficulty", &d);

        let target = difficulty::difficulty_to_hash(&d).map_err(exception);
        expect_step(
            case,
            "difficultyToHash",
            "difficultyToHashError",
            target.clone().map(hex::encode),
        );
        let bits = difficulty::difficulty_to_bits(&d).map_err(exception);
        expect_step(case, "bits", "bitsError", bits.map(bits_hex));
        let Ok(target) = target else { continue };
        let back = difficulty::hash_to_difficulty(&target).map_err(exception);
        expect_step(
            case,
            "hashToDifficultyOfTarget",
            "hashToDifficultyOfTargetError",
            back.map(|d| d.to_string()),
        );
        let Ok(bits) = bits else { continue };
        let to_hash = difficulty::bits_to_hash(bits).map_err(exception);
        expect_step(
            case,
            "bitsToHash",
            "bitsToHashError",
            to_hash.map(hex::encode),
        );
        let bd = difficulty::bits_to_difficulty(bits).map_err(exception);
        if let Some(bd) = expect_difficulty(case, "bitsToDifficulty", "bitsToDifficultyError", bd) {
            // Bits are lossy upward: never below the exact difficulty.
            assert!(number(&bd.raw().to_string()) >= d, "{}", id(case));
        }
    }
}

#[test]
fn bits_to_difficulty_cases() {
    for case in section("bits_to_difficulty") {
        let bits = parse_bits(case, "bits");
        let hash = difficulty::bits_to_hash(bits).map_err(exception);
        if let Some(h) = expect_step(
            case,
            "bitsToHash",
            "bitsToHashError",
            hash.clone().map(hex::encode),
        ) {
            let h = hex::decode(h).unwrap();
            assert_eq!(
                bits_hex(difficulty::hash_to_bits(&h)),
                text(case, "hashToBitsOfThatHash"),
                "{}",
                id(case)
            );
        }
        let d = difficulty::bits_to_difficulty(bits).map_err(exception);
        if let Some(d) = expect_difficulty(case, "difficulty", "difficultyError", d) {
            let again = difficulty::difficulty_to_bits(&d).map_err(exception);
            expect_step(
                case,
                "difficultyToBitsOfThatDifficulty",
                "difficultyToBitsOfThatDifficultyError",
                again.map(bits_hex),
            );
        } else {
            // The composition throws where its first step throws.
            assert_eq!(
                text(case, "difficultyToBitsOfThatDifficultyError"),
                text(case, "difficultyError"),
                "{}",
                id(case)
            );
        }
    }
}
