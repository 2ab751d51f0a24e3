//! The pow section of the reference vectors: the plain path, then every backend of the matrix.

use ixi_formats::address::Address;
use ixi_formats::difficulty;
use ixi_formats::number::IxiNumber;
use ixi_formats::solution;
use ixi_integration::{bytes, id, section, text};
use ixi_kernels::pow::NonceLayout;
use ixi_kernels::select::test_matrix;
use ixi_miner::backend::{self, BackendKind, CpuFeatures, NonceRange};
use ixi_miner::job::Job;
use num_bigint::BigInt;
use serde_json::Value;

fn raw(case: &Value, key: &str) -> IxiNumber {
    IxiNumber::from_raw(text(case, key).parse::<BigInt>().unwrap())
}

/// The backends to test: `IXI_MINER_BACKEND` forces one (CI runs each), otherwise all this
/// machine supports; unsupported ones are named as skipped (a failure under REQUIRE_SIMD=1).
pub(crate) fn backend_matrix() -> Vec<BackendKind> {
    test_matrix(
        "miner backends",
        "IXI_MINER_BACKEND",
        &CpuFeatures::detect(),
    )
}

struct PowCase {
    prefix: Vec<u8>,
    nonce: Vec<u8>,
    hash: Vec<u8>,
}

fn plain_path(case: &Value) -> PowCase {
    let address = Address::from_bytes(&bytes(case, "recipientAddress")).expect(id(case));
    assert_eq!(
        u64::from(address.version()),
        case["recipientAddressVersion"].as_u64().unwrap(),
        "{}",
        id(case)
    );
    let key = bytes(case, "signingPubKey");
    assert_eq!(
        key.len() > 64,
        case["signingPubKeyHashed"].as_bool().unwrap(),
        "{}",
        id(case)
    );
    let block_num: u64 = text(case, "blockNum").parse().unwrap();
    let prefix = solution::challenge_prefix(
        block_num,
        &bytes(case, "blockHash"),
        address.no_checksum(),
        &key,
    );
    let nonce = bytes(case, "solution");
    let mut challenge = prefix.clone();
    challenge.extend_from_slice(&nonce);
    assert_eq!(challenge, bytes(case, "challengeData"), "{}", id(case));

    let hash = solution::hash_with_prefix(&prefix, &nonce).expect(id(case));
    assert_eq!(hash.to_vec(), bytes(case, "hash"), "{}", id(case));
    assert_eq!(hash[63] >= 0x80, case["hashTopBitSet"].as_bool().unwrap());
    assert_eq!(
        hash[62] == 0 && hash[63] == 0,
        case["minerPrefilterPass"].as_bool().unwrap()
    );
    let d = difficulty::hash_to_difficulty(&hash).expect(id(case));
    assert_eq!(d.to_string(), text(case, "difficulty"), "{}", id(case));
    assert_eq!(
        d.raw().to_string(),
        text(case, "difficultyRaw"),
        "{}",
        id(case)
    );
    let bits = difficulty::hash_to_bits(&hash);
    assert_eq!(format!("{bits:016x}"), text(case, "bits"), "{}", id(case));
    let bd = difficulty::bits_to_difficulty(bits).expect(id(case));
    assert_eq!(bd.to_string(), text(case, "bitsDifficulty"), "{}", id(case));
    assert_eq!(
        bd.raw().to_string(),
        text(case, "bitsDifficultyRaw"),
        "{}",
        id(case)
    );
    for check in case["checks"].as_array().unwrap() {
        let min = raw(check, "minDifficultyRaw");
        assert_eq!(
            difficulty::validate_hash(&hash, &min).unwrap(),
            check["valid"].as_bool().unwrap(),
            "{} min {min}",
            id(case)
        );
    }
    PowCase {
        prefix,
        nonce,
        hash: hash.to_vec(),
    }
}

#[test]
fn pow_vectors_on_the_plain_path() {
    for case in section("pow") {
        plain_path(case);
    }
}

/// Searches exactly the vector's nonce on `kind` at minimum `min`; returns the hit's hash.
fn search_one(kind: BackendKind, c: &PowCase, min: IxiNumber) -> Option<[u8; 64]> {
    let counter_len = c.nonce.len().min(8);
    let mut tail = [0u8; 8];
    tail[8 - counter_len..].copy_from_slice(&c.nonce[c.nonce.len() - counter_len..]);
    let counter = u64::from_be_bytes(tail);
    let layout = NonceLayout::new(c.nonce.clone(), counter_len).unwrap();
    assert_eq!(layout.nonce_for(counter), c.nonce);
    let job = Job::with_layout(1, c.prefix.clone(), min, layout).unwrap();
    let mut b = backend::create_cpu(kind, &CpuFeatures::detect()).unwrap();
    b.load_job(&job).unwrap();
    let mut hits = Vec::new();
    let done = b
        .search(
            NonceRange {
                start: counter,
                count: 1,
            },
            job.min_target(),
            &mut hits,
        )
        .unwrap();
    assert_eq!(done, 1);
    assert!(hits.len() <= 1);
    hits.first().map(|h| {
        assert_eq!(h.counter, counter);
        h.hash
    })
}

#[test]
fn pow_vectors_through_every_backend() {
    let kinds = backend_matrix();
    assert!(!kinds.is_empty());
    for kind in kinds {
        for case in section("pow") {
            let c = plain_path(case);
            let d = raw(case, "difficultyRaw");
            if d.raw() > &BigInt::from(0) {
                let hit = search_one(kind, &c, d.clone());
                assert_eq!(
                    hit.map(|h| h.to_vec()),
                    Some(c.hash.clone()),
                    "{kind} {}",
                    id(case)
                );
                let above = IxiNumber::from_raw(d.raw() + 1);
                assert_eq!(search_one(kind, &c, above), None, "{kind} {}", id(case));
            } else {
                // Difficulty 0 (top bit set) meets no positive minimum.
                assert_eq!(
                    search_one(kind, &c, IxiNumber::from_raw(1)),
                    None,
                    "{kind} {}",
                    id(case)
                );
            }
        }
    }
}
