//! Helpers shared by the verifier's tests: the backend matrix and test keys.

use ixi_kernels::cpu::CpuFeatures;
use ixi_kernels::select::test_matrix;
use ixi_verifier::backend::{self, BackendKind, IfmaBackend, VerifyBackend};
use num_bigint::BigUint;
use rand::RngCore as _;

fn pool() -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap()
}

/// Every backend this machine runs, plus the IFMA backend's grouping with the portable kernel
/// (so the routing is tested everywhere). `IXI_VERIFIER_BACKEND` forces one (CI runs each);
/// a backend this CPU lacks fails the test under `REQUIRE_SIMD=1`.
pub(crate) fn backends() -> Vec<Box<dyn VerifyBackend>> {
    let features = CpuFeatures::detect();
    let kinds = test_matrix::<BackendKind>("verifier backends", "IXI_VERIFIER_BACKEND", &features);
    let mut out: Vec<Box<dyn VerifyBackend>> = Vec::new();
    if std::env::var_os("IXI_VERIFIER_BACKEND").is_none() {
        out.push(Box::new(IfmaBackend::portable(pool())));
    }
    out.extend(
        kinds
            .into_iter()
            .map(|kind| backend::create(kind, &features, 2).unwrap()),
    );
    out
}

pub(crate) fn random_bytes(len: usize) -> Vec<u8> {
    let mut v = vec![0u8; len];
    rand::rng().fill_bytes(&mut v);
    v
}

/// An RSA key made here (for exponents aws-lc does not generate): modulus, exponent, private
/// exponent.
pub(crate) struct TestKey {
    pub(crate) n: BigUint,
    pub(crate) e: BigUint,
    pub(crate) d: BigUint,
}

const SMALL_PRIMES: [u32; 24] = [
    3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97,
];

fn probably_prime(p: &BigUint) -> bool {
    if SMALL_PRIMES.iter().any(|&s| (p % s) == BigUint::ZERO) {
        return false;
    }
    let one = BigUint::from(1u8);
    let p1 = p - &one;
    let s = p1.trailing_zeros().unwrap_or(0);
    let d = &p1 >> s;
    'witness: for _ in 0..16 {
        let a = BigUint::from_bytes_be(&random_bytes(p.to_bytes_be().len())) % (p - 3u8) + 2u8;
        let mut x = a.modpow(&d, p);
        if x == one || x == p1 {
            continue;
        }
        for _ in 1..s {
            x = x.modpow(&BigUint::from(2u8), p);
            if x == p1 {
                continue 'witness;
            }
        }
        return false;
    }
    true
}

fn random_prime(bits: u64, e: u32) -> BigUint {
    loop {
        let mut p = BigUint::from_bytes_be(&random_bytes(usize::try_from(bits / 8).unwrap()));
        p.set_bit(bits - 1, true);
        p.set_bit(bits - 2, true);
        p.set_bit(0, true);
        // gcd(e, p-1) = 1 for a prime e: p-1 not divisible by e.
        if (&p - 1u8) % e != BigUint::ZERO && probably_prime(&p) {
            return p;
        }
    }
}

impl TestKey {
    /// A `bits`-bit key with the prime exponent `e`.
    pub(crate) fn generate(bits: u64, e: u32) -> Self {
        let p = random_prime(bits / 2, e);
        let q = random_prime(bits / 2, e);
        let n = &p * &q;
        let phi = (&p - 1u8) * (&q - 1u8);
        let e_big = BigUint::from(e);
        let d = e_big.modinv(&phi).unwrap();
        Self { n, e: e_big, d }
    }

    /// The PKCS#1 v1.5 SHA-512 signature of `message`.
    pub(crate) fn sign(&self, message: &[u8]) -> Vec<u8> {
        let k = self.n.to_bytes_be().len();
        let em = ixi_verifier::padding::encoded_message(k, message).unwrap();
        let s = BigUint::from_bytes_be(&em)
            .modpow(&self.d, &self.n)
            .to_bytes_be();
        let mut out = vec![0u8; k];
        out[k - s.len()..].copy_from_slice(&s);
        out
    }
}
