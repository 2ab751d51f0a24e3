//! The backends against each other and against the exact specification, on generated keys:
//! valid signatures, corrupted ones, s >= n, wrong lengths, exponent 3, mixed key sizes and
//! ragged batch ends; one bad item in a batch flags exactly that item.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize, PublicKeyComponents};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA512};
use ixi_verifier::{Batch, VerifyingKey};
use num_bigint::BigUint;
use rand::Rng as _;

/// Signs a message with a test key's private half.
type SignFn = Box<dyn Fn(&[u8]) -> Vec<u8>>;

struct Signer {
    key: VerifyingKey,
    sign: SignFn,
}

fn aws_signer(size: KeySize) -> Signer {
    let pair = KeyPair::generate(size).unwrap();
    let components: PublicKeyComponents<Vec<u8>> = pair.public_key().into();
    let key = VerifyingKey::from_components(&components.n, &components.e).unwrap();
    let sign = Box::new(move |m: &[u8]| {
        let mut sig = vec![0u8; pair.public_modulus_len()];
        pair.sign(&RSA_PKCS1_SHA512, &SystemRandom::new(), m, &mut sig)
            .unwrap();
        sig
    });
    Signer { key, sign }
}

fn own_signer(bits: u64, e: u32) -> Signer {
    let k = crate::common::TestKey::generate(bits, u64::from(e));
    let key = k.verifying_key();
    Signer {
        key,
        sign: Box::new(move |m| k.sign(m)),
    }
}

/// Variants of a valid signature and whether each must verify.
fn variants(s: &Signer, message: &[u8]) -> Vec<(Vec<u8>, Vec<u8>, bool)> {
    let sig = (s.sign)(message);
    let k = sig.len();
    let mut out = vec![(message.to_vec(), sig.clone(), true)];
    let mut flipped = sig.clone();
    let bit = rand::rng().random_range(0..k * 8);
    flipped[bit / 8] ^= 1 << (bit % 8);
    out.push((message.to_vec(), flipped, false));
    let mut other = message.to_vec();
    other.push(0x42);
    out.push((other, sig.clone(), false));
    out.push((message.to_vec(), s.key.modulus().to_vec(), false)); // s == n
    let above = BigUint::from_bytes_be(&sig) + BigUint::from_bytes_be(s.key.modulus());
    out.push((message.to_vec(), above.to_bytes_be(), false)); // s + n, one byte longer
    out.push((message.to_vec(), sig[1..].to_vec(), false)); // too short
    let mut padded = vec![0u8];
    padded.extend_from_slice(&sig);
    out.push((message.to_vec(), padded, false)); // too long
    out.push((message.to_vec(), vec![0u8; k], false));
    out
}

#[test]
fn backends_agree_with_the_specification_on_generated_keys() {
    let signers = [
        aws_signer(KeySize::Rsa2048),
        aws_signer(KeySize::Rsa2048),
        aws_signer(KeySize::Rsa4096),
        aws_signer(KeySize::Rsa3072),
        own_signer(2048, 3),
        own_signer(1024, 3),
        own_signer(1024, 65537),
    ];
    let mut items = Vec::new();
    for (i, s) in signers.iter().enumerate() {
        for len in [0usize, 1, 44, 64, 333] {
            for (m, sig, want) in variants(s, &crate::common::random_bytes(len)) {
                items.push((i, m, sig, want));
            }
        }
    }
    // Shuffle so that every vector mixes keys, sizes and exponents, with a ragged end.
    for i in (1..items.len()).rev() {
        let j = rand::rng().random_range(0..=i);
        items.swap(i, j);
    }
    items.truncate(items.len() - 3);
    let backends = crate::common::backends();
    for b in &backends {
        let mut batch = Batch::new();
        for (i, m, sig, _) in &items {
            batch.push(&signers[*i].key, m, sig);
        }
        let got = batch.verdicts(b.as_ref());
        for (n, ((i, m, sig, want), got)) in items.iter().zip(&got).enumerate() {
            let key = &signers[*i].key;
            let exact = key.verify_exact_vartime(m, sig);
            assert_eq!(exact, *want, "specification, item {n}");
            assert_eq!(
                got,
                want,
                "{} item {n} ({} bits, e {:?})",
                b.name(),
                key.bits(),
                key.exponent()
            );
        }
    }
}

#[test]
fn one_bad_item_flags_exactly_that_item() {
    let s = aws_signer(KeySize::Rsa2048);
    let messages: Vec<Vec<u8>> = (0..21).map(|i| vec![i; 40]).collect();
    let mut sigs: Vec<Vec<u8>> = messages.iter().map(|m| (s.sign)(m)).collect();
    sigs[13][100] ^= 0x80;
    for b in crate::common::backends() {
        let mut batch = Batch::new();
        for (m, sig) in messages.iter().zip(&sigs) {
            batch.push(&s.key, m, sig);
        }
        let err = batch.verify_all(b.as_ref()).unwrap_err();
        assert_eq!(err.failed, vec![13], "{}", b.name());
    }
}

#[test]
fn exponent_three_keys_on_every_path() {
    let s = own_signer(2048, 3);
    assert_eq!(s.key.exponent(), &[3]);
    let m = b"exponent three";
    let sig = (s.sign)(m);
    for b in crate::common::backends() {
        let mut batch = Batch::new();
        for _ in 0..9 {
            batch.push(&s.key, m, &sig);
        }
        assert!(
            batch.verdicts(b.as_ref()).iter().all(|&ok| ok),
            "{}",
            b.name()
        );
    }
}
