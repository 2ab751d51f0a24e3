//! Modular exponentiation: the scalar 52-bit path and the IFMA kernel against `num-bigint`.

// Test code: a failed expectation is a panic by design.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_possible_truncation
)]

use ixi_kernels::cpu::{CpuFeatures, skip_simd_test};
use ixi_kernels::mont::{
    Modulus, PowBatch, PowKernel, from_limbs, limbs_from_be_bytes_into, limbs_to_be_bytes_into,
    to_limbs,
};
use ixi_test_keys::{random_below, random_odd_modulus};
use num_bigint::BigUint;
use rand::{Rng as _, RngCore as _};

fn kernels() -> Vec<PowKernel> {
    let mut out = vec![PowKernel::Scalar];
    match CpuFeatures::detect().ifma() {
        Some(t) => out.push(PowKernel::Ifma(t)),
        None => skip_simd_test("IFMA Montgomery kernel", "AVX-512F with AVX-512 IFMA"),
    }
    out
}

fn check(bits: u64, count: usize, exponent: u64) {
    let mut rng = rand::rng();
    let ns: Vec<BigUint> = (0..count)
        .map(|_| random_odd_modulus(&mut rng, bits))
        .collect();
    let moduli: Vec<Modulus> = ns
        .iter()
        .map(|n| Modulus::from_be_bytes(&n.to_bytes_be()).unwrap())
        .collect();
    let refs: Vec<&Modulus> = moduli.iter().collect();
    let mut plain = Vec::new();
    let mut bases = Vec::new();
    for (i, n) in ns.iter().enumerate() {
        // Edge bases: 0, 1, n-1; otherwise random below n.
        let b = match i {
            0 => BigUint::ZERO,
            1 => BigUint::from(1u8),
            2 => n - 1u8,
            _ => random_below(&mut rng, n),
        };
        bases.push(to_limbs(&b, moduli[i].limbs()));
        plain.push(b);
    }
    let base_refs: Vec<&[u64]> = bases.iter().map(Vec::as_slice).collect();
    let batch = PowBatch {
        moduli: &refs,
        bases: &base_refs,
        exponent,
    };
    for kernel in kernels() {
        let got = kernel.pow(&batch);
        for (i, (g, n)) in got.iter().zip(&ns).enumerate() {
            let want = plain[i].modpow(&BigUint::from(exponent), n);
            assert_eq!(
                from_limbs(g),
                want,
                "{kernel:?} bits {bits} e {exponent} lane {i}"
            );
        }
    }
}

#[test]
fn every_key_size_and_common_exponents() {
    for bits in [1024u64, 2048, 3072, 4096] {
        for e in [65537u64, 3, 1, 2] {
            check(bits, 8, e);
        }
    }
}

#[test]
fn ragged_batches_and_odd_sizes() {
    let mut rng = rand::rng();
    for count in 1..=8 {
        let bits = rng.random_range(600..4200);
        check(bits, count, rng.random_range(1..u64::MAX));
    }
    check(8192, 3, 65537);
    check(4097, 8, 65537);
    check(2047, 5, 17);
}

/// The vector kernel's block structure changes with the limb count (low blocks, high blocks, the
/// square's last block, tiny moduli with a single block per half): the largest modulus of every
/// limb count, where `R > 4n` is tightest, and one just above the previous count.
#[test]
fn every_limb_count() {
    for limbs in (8..=160u64).step_by(8) {
        let top = (52 * limbs - 2).min(8192);
        check(top, 8, 65537);
        check(top.saturating_sub(52 * 8 - 1).max(3), 3, 3);
    }
}

#[test]
fn byte_and_limb_conversions_agree_with_bigint() {
    for len in [1usize, 7, 64, 255, 256, 511, 512] {
        let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
        let v = BigUint::from_bytes_be(&bytes);
        let limbs = ixi_kernels::mont::limbs_for_bits(len * 8);
        let mut l = vec![0u64; limbs];
        limbs_from_be_bytes_into(&bytes, &mut l);
        assert_eq!(l, to_limbs(&v, limbs));
        let mut back = vec![0u8; len];
        limbs_to_be_bytes_into(&l, &mut back);
        assert_eq!(back, bytes);
    }
}

/// Random lengths and limb counts, including counts too small (high bits dropped) and too
/// large (zero limbs above), against the bigint conversions.
#[test]
fn random_byte_and_limb_conversions() {
    let mut rng = rand::rng();
    for _ in 0..2000 {
        let len = rng.random_range(0..600);
        let mut bytes = vec![0u8; len];
        rng.fill_bytes(&mut bytes);
        let v = BigUint::from_bytes_be(&bytes);
        let limbs = rng.random_range(0..100);
        let mut l = vec![0u64; limbs];
        limbs_from_be_bytes_into(&bytes, &mut l);
        assert_eq!(l, to_limbs(&v, limbs), "len {len} limbs {limbs}");
        let out_len = rng.random_range(0..600);
        let mut back = vec![0u8; out_len];
        limbs_to_be_bytes_into(&l, &mut back);
        let kept = from_limbs(&l);
        let modulus = BigUint::from(1u8) << (8 * out_len);
        let mut want = (kept % modulus).to_bytes_be();
        if want == [0] {
            want.clear();
        }
        let mut padded = vec![0u8; out_len - want.len()];
        padded.extend_from_slice(&want);
        assert_eq!(back, padded, "limbs {limbs} out {out_len}");
    }
}

#[test]
fn modulus_preparation() {
    assert!(Modulus::from_be_bytes(&[0x10, 0x00]).is_err(), "even");
    assert!(Modulus::from_be_bytes(&[]).is_err(), "zero");
    let m = Modulus::from_be_bytes(&[0xff; 512]).unwrap();
    assert_eq!(m.bits(), 4096);
    assert_eq!(m.limbs(), 80);
    let m = Modulus::from_be_bytes(&[0xff; 256]).unwrap();
    assert_eq!(m.limbs(), 40);
}
