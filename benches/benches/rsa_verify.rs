//! RSA PKCS#1 v1.5 SHA-512 verification per backend and key size, on the reference vectors'
//! valid signatures (RSA-4096 wallet keys, RSA-2048 signer keys), 256 per batch.

use criterion::{Criterion, Throughput};
use ixi_kernels::cpu::CpuFeatures;
use ixi_kernels::select::BackendKind as _;
use ixi_verifier::backend::{self, BackendKind};
use ixi_verifier::{Batch, VerifyingKey};
use serde_json::Value;

const BATCH: usize = 256;

fn samples(section: &str, key: &str, message: &str) -> Vec<(VerifyingKey, Vec<u8>, Vec<u8>)> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/data/ixian-reference.json"
    );
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
    let hex =
        |c: &Value, k: &str| hex::decode(c[k].as_str().unwrap_or_default()).unwrap_or_default();
    v[section]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["expected"] == true)
        .filter_map(|c| {
            let key = VerifyingKey::from_ixian(&hex(c, key)).ok()?;
            Some((key, hex(c, message), hex(c, "signature")))
        })
        .collect()
}

pub(crate) fn verify_batch(c: &mut Criterion) {
    let features = CpuFeatures::detect();
    let sets = [
        (
            "RSA-2048",
            samples("block_signatures", "signingPubKey", "verifiedInput"),
        ),
        ("RSA-4096", samples("rsa", "publicKey", "input")),
    ];
    for (size, samples) in &sets {
        assert!(!samples.is_empty(), "{size}: no samples");
        let mut group = c.benchmark_group(format!("rsa_verify/{size}"));
        group.throughput(Throughput::Elements(BATCH as u64));
        group.sample_size(10);
        for kind in BackendKind::ALL {
            if kind.unsupported_reason(&features).is_some() {
                continue;
            }
            let backend =
                backend::create(kind, &features, 1).unwrap_or_else(|e| panic!("{kind}: {e}"));
            let mut batch = Batch::new();
            for (key, message, signature) in samples.iter().cycle().take(BATCH) {
                batch.push(key, message, signature);
            }
            assert!(batch.verdicts(backend.as_ref()).iter().all(|&ok| ok));
            group.bench_function(format!("{kind}, 1 thread"), |b| {
                b.iter(|| batch.verdicts(backend.as_ref()));
            });
        }
        group.finish();
    }
}
