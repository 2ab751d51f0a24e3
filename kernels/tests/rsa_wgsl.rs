//! The WGSL RSA kernel without a GPU: naga validates both generated variants with exactly the
//! capabilities the host requests, the per-key constants agree with `num-bigint`, and the CPU
//! model of the shader's arithmetic agrees with `BigUint::modpow` and with the PKCS#1 encoding
//! built by hand.

// Test code: a failed expectation is a panic by design.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::cast_possible_truncation
)]

use ixi_kernels::rsa_wgsl::{
    self, GpuInputError, GpuItem, GpuKey, GpuKeyError, GpuParams, Variant, Verdict, model,
};
use naga::valid::Capabilities;
use num_bigint::BigUint;
use rand::Rng as _;

use crate::support::{self, Case, validate};

/// What the host requests for a variant: nothing for `U32`, `SHADER_INT64` for `U64`.
fn requested(variant: Variant) -> Capabilities {
    if variant.needs_int64() {
        Capabilities::SHADER_INT64
    } else {
        Capabilities::empty()
    }
}

#[test]
fn naga_validates_both_variants_with_the_capabilities_requested() {
    for variant in Variant::ALL {
        validate(variant.source(), requested(variant))
            .unwrap_or_else(|e| panic!("{variant:?}: {e}"));
    }
    assert!(
        validate(Variant::U64.source(), Capabilities::empty()).is_err(),
        "the u64 variant must not pass without SHADER_INT64"
    );
    assert!(
        !Variant::U32.source().contains("u64"),
        "the portable variant uses no 64-bit integer"
    );
}

/// A Rust struct's size and its fields' names and offsets, in the order given.
macro_rules! layout {
    ($ty:ident { $($field:ident),+ $(,)? }) => {
        (
            size_of::<$ty>(),
            vec![$((stringify!($field), std::mem::offset_of!($ty, $field))),+],
        )
    };
}

/// The WGSL structs have the Rust structs' sizes and field offsets (naga's layouter).
#[test]
fn wgsl_structs_mirror_the_rust_layouts() {
    for variant in Variant::ALL {
        let module = validate(variant.source(), requested(variant)).unwrap();
        let mut layouter = naga::proc::Layouter::default();
        layouter.update(module.to_ctx()).unwrap();
        let mut seen = 0;
        for (handle, ty) in module.types.iter() {
            let naga::TypeInner::Struct { members, span } = &ty.inner else {
                continue;
            };
            let offsets: Vec<(String, u32)> = members
                .iter()
                .map(|m| (m.name.clone().unwrap(), m.offset))
                .collect();
            let (size, want): (usize, Vec<(&str, usize)>) = match ty.name.as_deref() {
                Some("Key") => layout!(GpuKey {
                    n0inv,
                    bytes,
                    limbs,
                    threads,
                    n,
                    rr
                }),
                Some("Item") => layout!(GpuItem { key, digest }),
                Some("Params") => layout!(GpuParams {
                    first,
                    count,
                    threads,
                    limbs,
                    exponent_lo,
                    exponent_hi,
                    signature_words,
                    signature_offset
                }),
                other => panic!("unexpected struct {other:?}"),
            };
            seen += 1;
            assert_eq!(*span as usize, size, "{:?} size", ty.name);
            assert_eq!(
                layouter[handle].size as usize, size,
                "{:?} layout size",
                ty.name
            );
            let want: Vec<(String, u32)> = want
                .into_iter()
                .map(|(n, o)| (n.to_owned(), o as u32))
                .collect();
            assert_eq!(offsets, want, "{:?} fields", ty.name);
        }
        assert_eq!(seen, 3, "{variant:?}: Key, Item and Params");
    }
}

/// naga does not check that barriers sit in uniform control flow; this does, on the generated
/// text: no barrier and no call of a function with one (`amm`) inside a block whose condition
/// depends on the invocation, and no early return in those functions.
#[test]
fn barriers_are_in_uniform_control_flow() {
    const PER_INVOCATION: [&str; 11] = [
        "lane",
        "invocation",
        "lead",
        "first",
        "live",
        "local_index",
        "has_up",
        "slot",
        "index",
        "item",
        "key",
    ];
    for variant in Variant::ALL {
        let source = variant.source();
        let mut stack: Vec<bool> = Vec::new();
        let mut function = String::new();
        let mut barriers = 0;
        for (number, line) in source.lines().enumerate() {
            let code = line.split("//").next().unwrap().trim();
            if let Some(rest) = code.strip_prefix("fn ") {
                function = rest.split('(').next().unwrap().to_owned();
            }
            let uniform_here = stack.iter().all(|&u| u);
            if code.contains("workgroupBarrier()")
                || (code.contains("amm(") && !code.starts_with("fn "))
            {
                barriers += 1;
                assert!(
                    uniform_here,
                    "{variant:?} line {}: `{code}` in non-uniform control flow",
                    number + 1
                );
            }
            if matches!(function.as_str(), "amm" | "run") {
                assert!(
                    !code.starts_with("return"),
                    "{variant:?}: early return in {function}"
                );
            }
            if code.starts_with('}') {
                let popped = stack.pop().expect("balanced braces");
                if code.contains('{') {
                    // `} else {`: the same condition.
                    stack.push(popped);
                }
                continue;
            }
            if code.ends_with('{') {
                let is_condition = ["if ", "if(", "for ", "for(", "while ", "switch "]
                    .iter()
                    .any(|k| code.starts_with(k));
                let depends = is_condition
                    && code
                        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                        .any(|word| PER_INVOCATION.contains(&word));
                stack.push(!depends);
            }
        }
        assert!(stack.is_empty(), "{variant:?}: unbalanced braces");
        assert!(
            barriers > variant.slice_limbs(),
            "{variant:?}: found only {barriers} barriers"
        );
    }
}

#[test]
fn key_constants_agree_with_bigint() {
    let mut rng = support::rng("key_constants");
    for variant in Variant::ALL {
        let w = variant.limb_bits() as usize;
        let mut sizes: Vec<u64> = vec![2, 3, 17, 752, 1024, 2047, 2048, 3072, 4095, 4096];
        sizes.extend((0..20).map(|_| rng.random_range(2..=4096)));
        for bits in sizes {
            let n = support::random_odd_modulus(&mut rng, bits);
            let mut be = vec![0u8; 3];
            be.extend(n.to_bytes_be());
            let key = GpuKey::from_modulus_be(variant, &be).unwrap();
            let l = key.limbs as usize;
            assert_eq!(key.modulus(), n);
            assert_eq!(key.bytes as u64, bits.div_ceil(8));
            assert!(key.threads.is_power_of_two());
            assert_eq!(l, key.threads as usize * variant.slice_limbs());
            assert!(w * l >= bits as usize + 2, "R > 4n");
            assert!(
                key.threads == 1 || w * (l / 2) < bits as usize + 2,
                "the smallest power-of-two thread count"
            );
            let modulus_w = BigUint::from(1u8) << w;
            assert_eq!(
                (BigUint::from(key.n0inv) * &n + 1u8) % &modulus_w,
                BigUint::ZERO,
                "n0' = -n^-1 mod 2^w"
            );
            assert!(key.n0inv < 1 << w);
            let r = BigUint::from(1u8) << (w * l);
            assert_eq!(BigUint::from_slice(&key.rr), (&r * &r) % &n, "R^2 mod n");
        }
        for (bits, threads) in [(2048, [8, 4]), (4096, [16, 8])] {
            let n = support::random_odd_modulus(&mut rng, bits);
            let key = GpuKey::from_modulus_be(variant, &n.to_bytes_be()).unwrap();
            let want = if variant == Variant::U32 {
                threads[0]
            } else {
                threads[1]
            };
            assert_eq!(key.threads, want, "{variant:?} {bits}");
        }
        assert_eq!(
            GpuKey::from_modulus_be(variant, &[0x10, 0x00]),
            Err(GpuKeyError::Even)
        );
        assert_eq!(
            GpuKey::from_modulus_be(variant, &[]),
            Err(GpuKeyError::Size(0))
        );
        assert_eq!(
            GpuKey::from_modulus_be(variant, &[1]),
            Err(GpuKeyError::Size(1))
        );
        let mut too_big = vec![0xffu8; 513];
        too_big[0] = 1;
        assert_eq!(
            GpuKey::from_modulus_be(variant, &too_big),
            Err(GpuKeyError::Size(4097))
        );
    }
}

#[test]
fn signature_slots_digests_and_params() {
    let mut rng = support::rng("signature_slots");
    let n = support::random_odd_modulus(&mut rng, 2045);
    let key = GpuKey::from_modulus_be(Variant::U32, &n.to_bytes_be()).unwrap();
    assert_eq!(key.bytes, 256);
    let mut slot = vec![7u32; 70];
    let s = support::random_below(&mut rng, &n);
    let mut sig = vec![0u8; 256 - s.to_bytes_be().len()];
    sig.extend(s.to_bytes_be());
    key.load_signature(&sig, &mut slot).unwrap();
    assert_eq!(BigUint::from_slice(&slot), s);
    assert_eq!(rsa_wgsl::words_to_be_bytes(&slot, 256), sig);
    let n_minus_1 = (&n - 1u8).to_bytes_be();
    key.load_signature(&n_minus_1, &mut slot).unwrap();
    assert_eq!(
        key.load_signature(&n.to_bytes_be(), &mut slot),
        Err(GpuInputError::SignatureRange)
    );
    assert_eq!(slot, vec![0; 70], "a rejected signature leaves a zero slot");
    assert_eq!(
        key.load_signature(&[0xff; 256], &mut slot),
        Err(GpuInputError::SignatureRange)
    );
    assert_eq!(
        key.load_signature(&sig[1..], &mut slot),
        Err(GpuInputError::SignatureLength {
            got: 255,
            want: 256
        })
    );
    assert_eq!(
        key.load_signature(&sig, &mut slot[..63]),
        Err(GpuInputError::SlotTooShort { got: 63, want: 64 })
    );
    let digest = support::sha512(b"abc");
    let words = rsa_wgsl::digest_words(&digest);
    assert_eq!(BigUint::from_slice(&words), BigUint::from_bytes_be(&digest));
    let mut info = vec![0u8];
    info.extend_from_slice(&rsa_wgsl::SHA512_DIGEST_INFO);
    assert_eq!(
        BigUint::from_slice(&rsa_wgsl::digest_info_words()),
        BigUint::from_bytes_be(&info)
    );
    let p = GpuParams::new(&key, 5, 9, 0x1_0000_0003, 64, 320).unwrap();
    assert_eq!(
        (p.exponent_lo, p.exponent_hi, p.exponent()),
        (3, 1, 0x1_0000_0003)
    );
    assert_eq!((p.threads, p.limbs), (key.threads, key.limbs));
    assert_eq!(p.items_per_workgroup(64), 64 / key.threads);
    assert_eq!(
        GpuParams::new(&key, 0, 1, 0, 64, 0),
        Err(GpuInputError::ZeroExponent)
    );
    assert_eq!(
        GpuParams::new(&key, 0, 1, 3, 63, 0),
        Err(GpuInputError::SlotTooShort { got: 63, want: 64 })
    );
    for v in [Verdict::Valid, Verdict::Invalid, Verdict::KeyMismatch] {
        assert_eq!(Verdict::from_word(v.word()), Some(v));
    }
    assert_eq!(Verdict::from_word(0), None);
    assert_eq!(Verdict::from_word(1), None);
}

/// The model's `s^e mod n` against `modpow` for one modulus and several bases.
fn check_model(variant: Variant, n: &BigUint, e: u64, bases: &[BigUint]) {
    let key = GpuKey::from_modulus_be(variant, &n.to_bytes_be()).unwrap();
    for s in bases {
        let mut slot = vec![0u32; key.signature_words()];
        let mut sig = vec![0u8; key.bytes as usize - s.to_bytes_be().len().min(key.bytes as usize)];
        sig.extend(s.to_bytes_be());
        if s == &BigUint::ZERO {
            sig = vec![0u8; key.bytes as usize];
        }
        key.load_signature(&sig, &mut slot).unwrap();
        let got = model::exponentiate(variant, &key, &slot, e)
            .unwrap_or_else(|err| panic!("{variant:?} {} bits e {e}: {err}", n.bits()));
        assert_eq!(
            BigUint::from_slice(&got),
            s.modpow(&BigUint::from(e), n),
            "{variant:?} {} bits e {e} s {s:x} n {n:x}",
            n.bits()
        );
    }
}

/// Edge bases and exponents on 2048 and 4096 bits, extreme moduli (all ones, just above a
/// power of two), random odd sizes and 64-bit exponents.
#[test]
fn model_equals_modpow() {
    let mut rng = support::rng("model_equals_modpow");
    let mut count = 0;
    for variant in Variant::ALL {
        for bits in [2048u64, 4096] {
            let mut moduli = vec![
                (BigUint::from(1u8) << bits) - 1u8,
                (BigUint::from(1u8) << (bits - 1)) + 1u8,
            ];
            moduli.extend((0..2).map(|_| support::random_odd_modulus(&mut rng, bits)));
            for n in &moduli {
                for e in [65537u64, 3, 1, 2, u64::MAX] {
                    let mut bases = vec![BigUint::ZERO, BigUint::from(1u8), n - 1u8, n - 2u8];
                    bases.push(support::random_below(&mut rng, n));
                    if e != u64::MAX {
                        bases.push(support::random_below(&mut rng, n));
                    }
                    count += bases.len();
                    check_model(variant, n, e, &bases);
                }
            }
        }
        for _ in 0..60 {
            let bits = rng.random_range(2..=4096);
            let n = support::random_odd_modulus(&mut rng, bits);
            let e = match rng.random_range(0..4) {
                0 => rng.random(),
                1 => rng.random_range(1..1 << 20),
                _ => 65537,
            };
            let bases: Vec<BigUint> = (0..3)
                .map(|_| support::random_below(&mut rng, &n))
                .collect();
            count += bases.len();
            check_model(variant, &n, e, &bases);
        }
        // Many random e = 65537 items on the two sizes that matter.
        for bits in [2048u64, 4096] {
            let reps = if bits == 2048 { 40 } else { 12 };
            for _ in 0..reps {
                let n = support::random_odd_modulus(&mut rng, bits);
                let bases: Vec<BigUint> = (0..10)
                    .map(|_| support::random_below(&mut rng, &n))
                    .collect();
                count += bases.len();
                check_model(variant, &n, 65537, &bases);
            }
        }
    }
    eprintln!("model_equals_modpow: {count} exponentiations");
    assert!(count > 1500);
}

/// The model's verdict on one case, with the host's checks (length, `s < n`) first.
fn model_verdict(variant: Variant, case: &Case) -> bool {
    let Ok(key) = GpuKey::from_modulus_be(variant, &case.modulus.to_bytes_be()) else {
        panic!("{}: key rejected", case.label);
    };
    let mut slot = vec![0u32; key.signature_words()];
    if key.load_signature(&case.signature, &mut slot).is_err() {
        return false;
    }
    let digest = rsa_wgsl::digest_words(&case.digest);
    match model::verify(variant, &key, &slot, &digest, case.exponent) {
        Ok(Verdict::Valid) => true,
        Ok(Verdict::Invalid) => false,
        other => panic!("{}: {other:?}", case.label),
    }
}

#[test]
fn model_verdicts_equal_the_plain_path() {
    let mut rng = support::rng("model_verdicts");
    let keys: Vec<(BigUint, BigUint, u64)> = [
        (1024u64, 3u64),
        (1024, 65537),
        (2048, 17),
        (1536, 0xffff_ffff_ffff_fffd),
    ]
    .iter()
    .map(|&(bits, e)| {
        let (n, d) = ixi_test_keys::rsa_key(&mut rng, bits, &BigUint::from(e));
        (n, d, e)
    })
    .collect();
    let mut cases = support::wycheproof_cases();
    cases.extend(support::reference_cases());
    cases.extend(support::made_up_cases(&mut rng, &keys, 60));
    // e = 1: the encoding itself is a valid signature, on any odd modulus.
    for bits in [752u64, 1000, 2048, 4096] {
        let n = support::random_odd_modulus(&mut rng, bits);
        let digest = support::sha512(&bits.to_le_bytes());
        let em = support::encoded_message(bits.div_ceil(8) as usize, &digest).unwrap();
        if BigUint::from_bytes_be(&em) < n {
            cases.push(Case::new(format!("e = 1, {bits} bits"), n, 1, digest, em));
        }
    }
    let valid = cases.iter().filter(|c| c.valid).count();
    assert!(
        valid > 50 && valid < cases.len() - 100,
        "{valid} of {} valid",
        cases.len()
    );
    for variant in Variant::ALL {
        for case in &cases {
            assert_eq!(
                model_verdict(variant, case),
                case.valid,
                "{variant:?}: {}",
                case.label
            );
        }
    }
}
