//! One search batch of the mining code path per backend, against the plain double SHA3-512 of
//! the `sha3` crate without midstate.

use std::hint::black_box;

use criterion::{Criterion, Throughput};
use ixi_formats::difficulty;
use ixi_formats::number::IxiNumber;
use ixi_kernels::pow::PreparedJob;
use ixi_kernels::simd::SearchKernel;
use ixi_miner::backend::{self, CpuFeatures, NonceRange};
use ixi_miner::job::{Job, NonceConfig};
use sha3::{Digest as _, Sha3_512};

const BATCH: u64 = 4096;

pub(crate) fn search_batch(c: &mut Criterion) {
    let mut group = c.benchmark_group("pow_search");
    group.throughput(Throughput::Elements(BATCH));
    group.sample_size(20);
    // A v1-address challenge: 5-byte block number, 64-byte hash, 45-byte address, 64-byte key.
    let prefix: Vec<u8> = (0..178u8).collect();
    let unreachable = IxiNumber::from_raw(difficulty::max_target() * 100_000_000u32);
    let job = Job::new(0, prefix.clone(), unreachable, &NonceConfig::default())
        .unwrap_or_else(|e| panic!("bench job: {e}"));
    let features = CpuFeatures::detect();
    for kind in backend::available(&features) {
        let mut b = backend::create_cpu(kind, &features).unwrap_or_else(|e| panic!("{kind}: {e}"));
        b.load_job(&job).unwrap_or_else(|e| panic!("{kind}: {e}"));
        let mut hits = Vec::new();
        let mut start = 0u64;
        group.bench_function(format!("{kind} backend"), |bench| {
            bench.iter(|| {
                start += BATCH;
                b.search(
                    NonceRange {
                        start,
                        count: BATCH,
                    },
                    job.min_target(),
                    &mut hits,
                )
            });
        });
    }
    // Every kernel variant, including those no backend kind names yet, on the same job.
    let prepared = PreparedJob::new(job.prefix(), job.layout());
    for kernel in SearchKernel::all(&features) {
        let mut hits = Vec::new();
        let mut start = 0u64;
        group.bench_function(format!("{} kernel", kernel.name()), |bench| {
            bench.iter(|| {
                start += BATCH;
                kernel.search(&prepared, job.min_target(), start, BATCH, &mut hits)
            });
        });
    }
    let mut message = prefix;
    message.extend_from_slice(&[0u8; 32]);
    group.bench_function("baseline: sha3 crate double SHA3-512", |bench| {
        bench.iter(|| {
            let n = message.len();
            let mut sink = 0u8;
            for counter in 0..BATCH {
                message[n - 8..].copy_from_slice(&counter.to_be_bytes());
                sink ^= Sha3_512::digest(Sha3_512::digest(&message))[0];
            }
            black_box(sink)
        });
    });
    group.finish();
}
