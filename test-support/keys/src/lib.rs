//! Random big integers and RSA keys for the kernel and verifier tests: keys of exponents and
//! sizes aws-lc does not generate (e = 3, a 64-bit or an 89-bit exponent, 768 or 1008 bits) by
//! Miller-Rabin over `num-bigint`, and random moduli and bases. Everything comes from the
//! caller's random generator (a seeded one makes a failure replayable).
//!
//! A crate of its own, below `ixi-test-support`, so that the tests of the low layers (kernels,
//! verifier) build no link stack.

use num_bigint::BigUint;
use rand::Rng;

/// Primes below 100 but 2: a candidate divisible by one is not tried with Miller-Rabin.
const SMALL_PRIMES: [u32; 24] = [
    3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97,
];

/// Miller-Rabin rounds: a composite passes all of them with probability below 4^-24.
const ROUNDS: usize = 24;

/// A uniform number below `2^bits`.
///
/// # Panics
/// `bits` beyond this machine's address space.
pub fn random_bits<R: Rng + ?Sized>(rng: &mut R, bits: u64) -> BigUint {
    let mut bytes = vec![0u8; usize::try_from(bits.div_ceil(8)).unwrap()];
    rng.fill_bytes(&mut bytes);
    BigUint::from_bytes_be(&bytes) >> (bytes.len() as u64 * 8 - bits)
}

/// A number below `n` (non-zero), uniform up to a bias below 2^-64.
pub fn random_below<R: Rng + ?Sized>(rng: &mut R, n: &BigUint) -> BigUint {
    random_bits(rng, n.bits() + 64) % n
}

/// An odd number of exactly `bits` bits (at least 1).
pub fn random_odd_modulus<R: Rng + ?Sized>(rng: &mut R, bits: u64) -> BigUint {
    let mut n = random_bits(rng, bits);
    n.set_bit(bits - 1, true);
    n.set_bit(0, true);
    n
}

/// Whether odd `n` is prime, up to Miller-Rabin's error over [`ROUNDS`] random bases.
fn probably_prime<R: Rng + ?Sized>(rng: &mut R, n: &BigUint) -> bool {
    for p in SMALL_PRIMES {
        if (n % p) == BigUint::ZERO {
            return n == &BigUint::from(p);
        }
    }
    let one = BigUint::from(1u8);
    let n1 = n - &one;
    let s = n1.trailing_zeros().unwrap_or(0);
    let d = &n1 >> s;
    'bases: for _ in 0..ROUNDS {
        let a = random_bits(rng, n.bits() + 64) % (n - 3u8) + 2u8;
        let mut x = a.modpow(&d, n);
        if x == one || x == n1 {
            continue;
        }
        for _ in 1..s {
            x = x.modpow(&BigUint::from(2u8), n);
            if x == n1 {
                continue 'bases;
            }
        }
        return false;
    }
    true
}

/// A prime of exactly `bits` bits, its top two bits set (so that two of them make a modulus
/// of exactly `2 · bits` bits), with `e` invertible modulo `p - 1`.
fn random_prime<R: Rng + ?Sized>(rng: &mut R, bits: u64, e: &BigUint) -> BigUint {
    loop {
        let mut p = random_bits(rng, bits);
        p.set_bit(bits - 1, true);
        p.set_bit(bits - 2, true);
        p.set_bit(0, true);
        if probably_prime(rng, &p) && e.modinv(&(&p - 1u8)).is_some() {
            return p;
        }
    }
}

/// An RSA key of exactly `bits` bits (even) with public exponent `e`: `(n, d)`.
pub fn rsa_key<R: Rng + ?Sized>(rng: &mut R, bits: u64, e: &BigUint) -> (BigUint, BigUint) {
    loop {
        let (p, q) = (
            random_prime(rng, bits / 2, e),
            random_prime(rng, bits / 2, e),
        );
        if p == q {
            continue;
        }
        let n = &p * &q;
        let phi = (&p - 1u8) * (&q - 1u8);
        if n.bits() == bits
            && let Some(d) = e.modinv(&phi)
        {
            return (n, d);
        }
    }
}
